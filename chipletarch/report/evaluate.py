"""Evaluate a report config: every design x workload through the engine, energy and cost models.

Nothing here computes a figure of its own: latency comes from `chipletarch.simulate`, energy from
`chipletarch.energy.energy_of`, cost from `chipletarch.cost.package_cost` / `token_cost`, quantisation
error from `chipletarch.formats.mx_error_stats` on the standard samples of `chipletarch formats`,
serving frontiers from `chipletarch.serving.ServingStudy` and sweep frontiers from
`chipletarch.explore`. This module only decides which points to ask for and keeps the answers
(and any refusal, verbatim) for the renderer.

The point definition is the sweep evaluator's (`chipletarch.explore.reference_point`): TTFT is the
prefill of `batch` x `input_len` tokens, TPOT one decode step at `input_len + output_len / 2`
cached tokens, $/Mtoken is `token_cost` of decode tokens/s per package at the energy model's
average package power.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ChipletarchError, InfeasibleError, SpecError
from .config import ReportConfig, WorkloadSpec

__all__ = ["PointResult", "DesignInfo", "ReportData", "evaluate_config", "precision_accuracy",
           "risk_band", "RISK_BANDS"]

# Screening bands for the worst SQNR over the standard samples (dB). These are a reading aid, not
# a model-accuracy prediction: ~6 dB per bit, so 25 dB is about what 8-bit floats keep on
# heavy-tailed data and 15 dB is where 4-bit formats land once a block holds an outlier.
# Whether a model tolerates a format has to be measured on the model (perplexity / task scores).
RISK_BANDS = ((25.0, "low"), (15.0, "moderate"), (-math.inf, "high"))


def risk_band(sqnr_db: float) -> str:
    for lo, name in RISK_BANDS:
        if sqnr_db >= lo:
            return name
    return "high"


@dataclass
class DesignInfo:
    name: str                 # label used in the report (architecture name)
    arch: object | None       # Architecture, None if it did not load
    error: str = ""
    cost: object | None = None          # PackageCost
    drawing_png: bytes | None = None


@dataclass
class PointResult:
    design: str
    workload: WorkloadSpec
    mapping: dict | None = None
    packages: int = 0
    prefill: object | None = None       # Result
    decode: object | None = None        # Result
    e_prefill: object | None = None     # EnergyReport
    e_decode: object | None = None
    token_cost: object | None = None    # TokenCost
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.decode is not None and self.prefill is not None

    @property
    def tokens_per_s_per_chip(self) -> float:
        return self.decode.tokens_per_s / self.packages

    @property
    def tokens_per_s_per_user(self) -> float:
        return 1.0 / self.decode.tpot_s


@dataclass
class ReportData:
    config: ReportConfig
    designs: list = field(default_factory=list)        # DesignInfo
    points: list = field(default_factory=list)         # PointResult, designs x workloads
    accuracy: dict = field(default_factory=dict)       # precision -> list of format rows
    serving: dict = field(default_factory=dict)        # design -> {co, dis, gains, error}
    sweep: dict | None = None                          # {data, front, columns, manifest, counts}

    def point(self, design: str, workload_label: str) -> PointResult | None:
        for p in self.points:
            if p.design == design and p.workload.label == workload_label:
                return p
        return None


def _internal(layer: str, exc: Exception) -> str:
    """Text for an unexpected exception inside a model. The report keeps going so the other
    points are still shown, but says plainly that this is a bug, not an infeasible design."""
    return (f"internal error in the {layer} ({type(exc).__name__}: {exc}); this is a bug in "
            f"chipletarch, not a property of the design — please report it")


# ----------------------------------------------------------------------------- designs
def _load_design(ref: str, base_dir: str):
    from ..arch import load_architecture, list_architectures
    if ref in list_architectures():
        return load_architecture(ref)
    p = Path(ref)
    if not p.is_absolute():
        p = Path(base_dir) / p
    if p.is_file():
        return load_architecture(p)
    return load_architecture(ref)     # raises the loader's own message


def _candidate_tps(arch):
    port = getattr(arch, "scale_up", None)
    dom = int(getattr(port, "domain_size", 0) or 8)
    tp, out = 1, []
    while tp <= dom:
        out.append(tp)
        tp *= 2
    return out


def _simulate_pair(arch, w: WorkloadSpec, mapping: dict):
    from ..engine import simulate
    kw = dict(precision=w.precision, **mapping)
    pre = simulate(arch, w.model, "prefill", batch=w.batch, seq_len=w.input_len, **kw)
    dec = simulate(arch, w.model, "decode", batch=w.batch, seq_len=1,
                   context_len=w.decode_context, **kw)
    return pre, dec


def evaluate_point(design: DesignInfo, w: WorkloadSpec, economics: dict) -> PointResult:
    """Simulate one design x workload (prefill and decode), then energy and $/Mtoken."""
    from ..cost import token_cost
    from ..energy import energy_of
    pr = PointResult(design=design.name, workload=w)
    if design.arch is None:
        pr.error = f"design did not load: {design.error}"
        return pr
    arch = design.arch
    m = w.mapping_for(design.name)
    tried = []
    if m == "auto":
        # smallest tensor-parallel degree (within the scale-up domain) whose memory check passes
        cands = [{"tp": tp} for tp in _candidate_tps(arch)]
    else:
        cands = [dict(m)]
    last = None
    for cand in cands:
        try:
            pr.prefill, pr.decode = _simulate_pair(arch, w, cand)
            pr.mapping = cand
            break
        except InfeasibleError as exc:
            tried.append(cand)
            last = exc
        except ChipletarchError as exc:
            last = exc
            break
        except Exception as exc:    # noqa: BLE001 - see _internal
            last = _internal("engine", exc)
            break
    if pr.decode is None:
        what = "auto mapping (tp " + ", ".join(str(c["tp"]) for c in tried) + ")" \
            if m == "auto" and tried else f"mapping {m}"
        pr.error = f"{what}: {last}"
        return pr
    mp = pr.decode.mapping
    world = mp["tp"] * mp["pp"] * mp["dp"]
    pr.packages = -(-world // pr.decode.devices_per_package)
    try:
        pr.e_prefill = energy_of(pr.prefill, arch)
        pr.e_decode = energy_of(pr.decode, arch)
    except ChipletarchError as exc:
        pr.error = f"energy model: {exc}"
        return pr
    except Exception as exc:    # noqa: BLE001 - a model bug must show in the report, not kill it
        pr.error = _internal("energy model", exc)
        return pr
    if design.cost is not None:
        try:
            pr.token_cost = token_cost(design.cost, pr.tokens_per_s_per_chip,
                                       power_w=pr.e_decode.average_power_w, **economics)
        except ChipletarchError as exc:
            pr.error = f"token cost: {exc}"
    return pr


# ----------------------------------------------------------------------------- accuracy
_ACC_CACHE: dict = {}


def _format_sqnr(fmt: str) -> dict:
    """SQNR (dB) of a round trip through `fmt` on the standard samples of `chipletarch formats`
    (Gaussian, Laplace, Student-t3, each with and without one 32-sigma outlier per 32 values;
    with outliers the SQNR is of the other values). Smaller samples than the CLI (16 x 1024) so a
    report stays fast; the figures agree with `chipletarch formats` to a few tenths of a dB."""
    if fmt in _ACC_CACHE:
        return _ACC_CACHE[fmt]
    from ..formats import get_format
    from ..formats_commands import samples
    from ..mx import mx_error_stats
    f = get_format(fmt)
    out = {}
    for (dist, outl), (x, inl) in samples(rows=16, cols=1024, seed=0).items():
        out[dist + ("+outlier" if outl else "")] = mx_error_stats(x, f, where=inl)["sqnr_db"]
    _ACC_CACHE[fmt] = out
    return out


def precision_accuracy(precision: str) -> list:
    """One row per tensor role of the precision preset: role, format, bits/element, SQNR per
    sample, worst SQNR and its screening band (RISK_BANDS)."""
    from ..formats import get_format, get_precision
    p = get_precision(precision)
    rows = []
    for role in ("weights", "activations", "kv_cache"):
        fmt = getattr(p, role)
        f = get_format(fmt)
        s = _format_sqnr(f.name)
        worst_key = min(s, key=s.get)
        rows.append({"role": role, "format": f.name, "bits_per_element": f.bits_per_element,
                     "sqnr": s, "gaussian_db": s["gaussian"], "worst_db": s[worst_key],
                     "worst_sample": worst_key, "band": risk_band(s[worst_key])})
    return rows


# ----------------------------------------------------------------------------- serving / sweep
def _serving(design: DesignInfo, cfg: ReportConfig) -> dict:
    from ..serving import ServingStudy
    from ..serving.study import _traffic_lengths
    s = cfg.serving
    w = next(x for x in cfg.workloads if x.label == s.workload)
    try:
        isl, osl = _traffic_lengths(s.traffic, s.isl, s.osl)
        st = ServingStudy(design.arch, w.model, w.precision, isl, osl,
                          ttft_slo_s=None if s.ttft_slo_ms is None else s.ttft_slo_ms / 1e3,
                          tpot_slo_s=None if s.tpot_slo_ms is None else s.tpot_slo_ms / 1e3,
                          batches=tuple(s.batches), chunks=tuple(s.chunks),
                          prefill_batches=tuple(s.prefill_batches), max_tp=s.max_tp,
                          framework=s.framework)
        co, dis = st.frontiers()
        levels = [10, 20, 50, 100, 200]
        return {"co": co, "dis": dis, "gains": st.gains(levels), "best": st.best(),
                "isl": isl, "osl": osl, "error": ""}
    except ChipletarchError as exc:
        return {"co": [], "dis": [], "gains": [], "best": {}, "error": str(exc)}
    except Exception as exc:    # noqa: BLE001 - see _internal
        return {"co": [], "dis": [], "gains": [], "best": {}, "error": _internal("serving model", exc)}


def _sweep(cfg: ReportConfig) -> dict:
    from ..explore import Store, frontier
    s = cfg.sweep
    p = Path(s.store)
    if not p.is_absolute():
        p = Path(cfg.base_dir) / p
    st = Store.open(p, readonly=True)
    try:
        cols = st.columns
        for c in (s.x, s.y):
            if c not in cols:
                raise SpecError(f"sweep store {p}: no column {c!r} (have: {', '.join(cols)})")
        counts = st.status_counts()
        data = st.read(None, where="status = 'ok'")
        reasons = st.prune_reasons(5)
        manifest = dict(st.manifest)
    finally:
        st.close()
    n = len(data.get("idx", []))
    xs = np.asarray(data[s.x], dtype=np.float64) if n else np.zeros(0)
    ys = np.asarray(data[s.y], dtype=np.float64) if n else np.zeros(0)
    fin = np.isfinite(xs) & np.isfinite(ys)
    sub = {k: np.asarray(v)[fin] for k, v in data.items()}
    front = frontier(sub, [s.x, s.y], list(s.maximize)) if fin.any() else np.zeros(0, int)
    return {"path": str(p), "data": sub, "front": front, "columns": cols, "counts": counts,
            "reasons": reasons, "manifest": manifest, "n_ok": n}


# ----------------------------------------------------------------------------- all
def evaluate_config(cfg: ReportConfig, progress=None) -> ReportData:
    """Run every point of `cfg`. Refusals (a design that does not load, a model that fits no
    mapping, an unsupported option) are kept as text for the report, never hidden."""
    from ..cost import package_cost
    say = progress or (lambda msg: None)
    data = ReportData(config=cfg)
    for ref in cfg.designs:
        try:
            a = _load_design(ref, cfg.base_dir)
            info = DesignInfo(name=a.name, arch=a)
        except ChipletarchError as exc:
            info = DesignInfo(name=Path(ref).stem, arch=None, error=str(exc))
        if info.arch is not None:
            try:
                info.cost = package_cost(info.arch, volume=cfg.volume)
            except ChipletarchError as exc:
                info.error = f"cost model: {exc}"
            except Exception as exc:    # noqa: BLE001 - see _internal
                info.error = _internal("cost model", exc)
        data.designs.append(info)
    names = [d.name for d in data.designs]
    if len(set(names)) != len(names):
        raise SpecError("report: two designs have the same name "
                        f"({', '.join(sorted({n for n in names if names.count(n) > 1}))}); "
                        "give the variants distinct `name:` fields")
    for w in cfg.workloads:
        for d in data.designs:
            say(f"simulating {d.name} x {w.label}")
            data.points.append(evaluate_point(d, w, cfg.economics))
        if w.precision not in data.accuracy:
            try:
                data.accuracy[w.precision] = precision_accuracy(w.precision)
            except ChipletarchError as exc:
                data.accuracy[w.precision] = str(exc)
    if cfg.serving is not None:
        for d in data.designs:
            if d.arch is None:
                continue
            say(f"serving frontiers on {d.name}")
            data.serving[d.name] = _serving(d, cfg)
    if cfg.sweep is not None:
        say(f"reading sweep store {cfg.sweep.store}")
        data.sweep = _sweep(cfg)
    return data
