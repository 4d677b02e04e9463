"""The report config: designs x workloads (+ optional serving frontiers and a sweep store).

A config is a small YAML file (`examples/report.yaml` is a ready one):

    title: Llama-3.1 serving on three packages       # optional
    designs: [h100-sxm, b200, my_package.yaml]       # bundled names or paths (relative to this file)
    workloads:
      - name: 70b-fp8                                # optional label (default model/precision)
        model: llama3.1-70b
        precision: fp8                               # preset (bf16, fp8, mxfp4, w4a16, ...)
        batch: 16
        input_len: 2048                              # prefill of batch x input_len -> TTFT
        output_len: 256                              # decode step at input_len + output_len/2 -> TPOT
        mapping: auto                                # or {tp: 8, pp: 1, ep: 1, dp: 1, ...}
        mappings: {b200: {tp: 4}}                    # optional per-design overrides
    economics: {utilisation: 0.6}                    # chipletarch.cost.Economics fields
    volume: 1.0e6                                    # packages built (NRE amortised); null: leave out
    roofline: [decode]                               # phases that get roofline plots
    serving:                                         # optional: serving Pareto frontiers
      workload: 70b-fp8                              # which workload's model/precision (default: first)
      traffic: chat                                  # profile, or isl: / osl:
      ttft_slo_ms: 2000
      max_tp: 8
      framework: vllm                                # costs outside the kernels: none | trtllm | vllm | sglang
    sweep:                                           # optional: Pareto of a results store
      store: study.sqlite
      x: tokens_per_s_per_user
      y: usd_per_mtoken
      maximize: [true, false]

The same point definition as the sweep evaluator (chipletarch.explore): TTFT = prefill of
`batch` sequences of `input_len` tokens on an empty cache; TPOT = one decode step of `batch`
sequences at `input_len + output_len / 2` cached tokens (the mean context over the generation).

Why a separate small schema and not the sweep spec: a report compares a handful of named points
side by side, with per-design mappings; a sweep spec describes a grid. Every error names the key
path and, where the YAML has one, its line.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import SpecError

__all__ = ["ReportConfig", "WorkloadSpec", "ServingSpec", "SweepSpec", "load_report_config",
           "config_from_dict", "MAPPING_KEYS"]

MAPPING_KEYS = ("tp", "pp", "ep", "dp", "attention_dp", "devices_per_package")
_PHASES = ("prefill", "decode")


@dataclass(frozen=True)
class WorkloadSpec:
    """One workload of the report (see the module docstring for the meaning of each field)."""

    model: str
    precision: str = "bf16"
    batch: int = 1
    input_len: int = 1024
    output_len: int = 256
    mapping: object = "auto"              # "auto" or {tp, pp, ep, dp, attention_dp, devices_per_package}
    mappings: dict = field(default_factory=dict)   # design name -> mapping dict
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or f"{Path(self.model).stem} {self.precision} b{self.batch}"

    @property
    def decode_context(self) -> int:
        return int(self.input_len + self.output_len // 2)

    def mapping_for(self, design: str):
        return self.mappings.get(design, self.mapping)


@dataclass(frozen=True)
class ServingSpec:
    workload: str = ""
    traffic: str | None = None
    isl: float | None = None
    osl: float | None = None
    ttft_slo_ms: float | None = None
    tpot_slo_ms: float | None = None
    max_tp: int | None = 8
    batches: tuple = (1, 4, 16, 64, 256)
    chunks: tuple = (512, 2048, 8192)
    prefill_batches: tuple = (1, 4)
    framework: str = "vllm"       # chipletarch.serving.DEFAULT_FRAMEWORK (test_serving_framework)


@dataclass(frozen=True)
class SweepSpec:
    store: str
    x: str = "tokens_per_s_per_user"
    y: str = "tokens_per_s_per_chip"
    maximize: tuple = (True, True)
    top: int = 10


@dataclass(frozen=True)
class ReportConfig:
    title: str = "chipletarch design report"
    designs: tuple = ()
    workloads: tuple = ()
    economics: dict = field(default_factory=dict)
    volume: float | None = None
    roofline: tuple = ("decode",)
    serving: ServingSpec | None = None
    sweep: SweepSpec | None = None
    source: str = ""                      # the config text, echoed in the report
    base_dir: str = "."


# ----------------------------------------------------------------------------- parsing
class _Lines:
    """Line numbers of YAML key paths (from the composed node tree) for error messages."""

    def __init__(self, text: str):
        try:
            self.root = yaml.compose(text)
        except yaml.YAMLError:
            self.root = None

    def line(self, path: tuple) -> int | None:
        node = self.root
        for p in path:
            if isinstance(node, yaml.MappingNode):
                nxt = [v for k, v in node.value if k.value == p]
                if not nxt:
                    return node.start_mark.line + 1
                node = nxt[0]
            elif isinstance(node, yaml.SequenceNode) and isinstance(p, int) and p < len(node.value):
                node = node.value[p]
            else:
                break
        return node.start_mark.line + 1 if node is not None else None


def _err(where: str, lines: _Lines | None, path: tuple, msg: str) -> SpecError:
    ptxt = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p)
                   for i, p in enumerate(path))
    ln = lines.line(path) if lines is not None else None
    loc = f"{where}:{ln}" if ln else where
    return SpecError(f"{loc}: {ptxt or '(top)'}: {msg}")


def _check_keys(d, allowed, where, lines, path):
    if not isinstance(d, dict):
        raise _err(where, lines, path, f"expected a mapping, got {type(d).__name__}")
    for k in d:
        if k not in allowed:
            import difflib
            near = difflib.get_close_matches(str(k), allowed, n=1)
            hint = f" — did you mean '{near[0]}'?" if near else f" (allowed: {', '.join(allowed)})"
            raise _err(where, lines, path + (k,), f"unknown key '{k}'{hint}")


def _pos_int(v, where, lines, path):
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise _err(where, lines, path, f"expected a positive integer, got {v!r}")
    return int(v)


def _number(v, where, lines, path, positive=True):
    """A number; also a numeric string, because PyYAML (YAML 1.1) reads `1.0e6` (no sign after
    the e) as a string, a trap the user should not have to know about."""
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            pass
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (positive and not v > 0):
        raise _err(where, lines, path, f"expected a {'positive ' if positive else ''}number, "
                                       f"got {v!r}")
    return v


def _mapping(v, where, lines, path):
    if v is None or v == "auto":
        return "auto"
    _check_keys(v, MAPPING_KEYS, where, lines, path)
    return {k: _pos_int(x, where, lines, path + (k,)) for k, x in v.items()}


def config_from_dict(d: dict, *, where: str = "<config>", text: str = "",
                     base_dir: str | Path = ".") -> ReportConfig:
    """Validate a parsed config dict (see the module docstring) into a `ReportConfig`."""
    lines = _Lines(text) if text else None
    top = ("title", "designs", "workloads", "economics", "volume", "roofline", "serving", "sweep")
    _check_keys(d, top, where, lines, ())
    sweep = None
    if d.get("sweep") is not None:
        s = d["sweep"]
        if isinstance(s, str):
            s = {"store": s}
        _check_keys(s, ("store", "x", "y", "maximize", "top"), where, lines, ("sweep",))
        if "store" not in s:
            raise _err(where, lines, ("sweep",), "needs 'store' (path of a sweep results store)")
        mx = s.get("maximize", [True, True])
        if not (isinstance(mx, (list, tuple)) and len(mx) == 2 and all(isinstance(b, bool) for b in mx)):
            raise _err(where, lines, ("sweep", "maximize"), "expected two booleans [x, y]")
        sweep = SweepSpec(store=str(s["store"]), x=str(s.get("x", "tokens_per_s_per_user")),
                          y=str(s.get("y", "tokens_per_s_per_chip")), maximize=tuple(mx),
                          top=_pos_int(s.get("top", 10), where, lines, ("sweep", "top")))
    designs = d.get("designs") or []
    if isinstance(designs, str):
        designs = [designs]
    if not isinstance(designs, list):
        raise _err(where, lines, ("designs",), "expected a list of architecture names or paths")
    workloads = d.get("workloads") or []
    if not isinstance(workloads, list):
        raise _err(where, lines, ("workloads",), "expected a list of workloads")
    if bool(designs) != bool(workloads):
        raise _err(where, lines, ("workloads" if designs else "designs",),
                   "designs and workloads go together: give both")
    if not sweep and not designs:
        raise _err(where, lines, (), "needs 'designs' and 'workloads' (or a 'sweep' store)")
    wl_keys = tuple(f.name for f in dataclasses.fields(WorkloadSpec))
    wls = []
    for i, w in enumerate(workloads):
        p = ("workloads", i)
        _check_keys(w, wl_keys, where, lines, p)
        if "model" not in w:
            raise _err(where, lines, p, "needs 'model' (bundled name or YAML path)")
        kw = {"model": str(w["model"]), "precision": str(w.get("precision", "bf16")),
              "name": str(w.get("name", ""))}
        for k in ("batch", "input_len", "output_len"):
            if k in w:
                kw[k] = _pos_int(w[k], where, lines, p + (k,))
        kw["mapping"] = _mapping(w.get("mapping", "auto"), where, lines, p + ("mapping",))
        per = w.get("mappings") or {}
        if not isinstance(per, dict):
            raise _err(where, lines, p + ("mappings",), "expected {design: {tp: ..}}")
        kw["mappings"] = {str(k): _mapping(v, where, lines, p + ("mappings", k))
                          for k, v in per.items()}
        wls.append(WorkloadSpec(**kw))
    labels = [w.label for w in wls]
    dup = {x for x in labels if labels.count(x) > 1}
    if dup:
        raise _err(where, lines, ("workloads",), f"two workloads are labelled {sorted(dup)[0]!r}: "
                                                 f"give each a distinct 'name'")
    econ = d.get("economics") or {}
    from ..cost import Economics
    allowed = tuple(f.name for f in dataclasses.fields(Economics) if f.name != "volume")
    _check_keys(econ, allowed, where, lines, ("economics",))
    econ = {k: (None if v is None else _number(v, where, lines, ("economics", k), positive=False))
            for k, v in econ.items()}
    roof = d.get("roofline", ["decode"])
    roof = [roof] if isinstance(roof, str) else list(roof or [])
    for i, ph in enumerate(roof):
        if ph not in _PHASES:
            raise _err(where, lines, ("roofline", i), f"phase must be prefill or decode, got {ph!r}")
    serving = None
    if d.get("serving") is not None:
        s = d["serving"]
        keys = tuple(f.name for f in dataclasses.fields(ServingSpec))
        _check_keys(s, keys, where, lines, ("serving",))
        wname = str(s.get("workload", labels[0] if labels else ""))
        if wname not in labels:
            raise _err(where, lines, ("serving", "workload"),
                       f"no workload labelled {wname!r} (have: {', '.join(labels)})")
        if s.get("traffic") is None and (s.get("isl") is None or s.get("osl") is None):
            raise _err(where, lines, ("serving",), "give 'traffic' (a profile) or both 'isl' and 'osl'")
        kw = {k: s[k] for k in keys if k in s}
        kw["workload"] = wname
        for k in ("isl", "osl", "ttft_slo_ms", "tpot_slo_ms"):
            if kw.get(k) is not None:
                kw[k] = _number(kw[k], where, lines, ("serving", k))
        if kw.get("max_tp") is not None:
            kw["max_tp"] = _pos_int(kw["max_tp"], where, lines, ("serving", "max_tp"))
        for k in ("batches", "chunks", "prefill_batches"):
            if k in kw:
                kw[k] = tuple(_pos_int(x, where, lines, ("serving", k, j)) for j, x in enumerate(kw[k]))
        if "framework" in kw:
            from ..serving.framework import FRAMEWORKS
            if str(kw["framework"]) not in FRAMEWORKS:
                raise _err(where, lines, ("serving", "framework"),
                           f"must be one of {', '.join(FRAMEWORKS)}, got {kw['framework']!r}")
            kw["framework"] = str(kw["framework"])
        serving = ServingSpec(**kw)
    vol = d.get("volume")
    if vol is not None:
        vol = _number(vol, where, lines, ("volume",))
    return ReportConfig(title=str(d.get("title") or "chipletarch design report"),
                        designs=tuple(str(x) for x in designs), workloads=tuple(wls),
                        economics=dict(econ), volume=None if vol is None else float(vol),
                        roofline=tuple(dict.fromkeys(roof)), serving=serving, sweep=sweep,
                        source=text or yaml.safe_dump(d, sort_keys=False, allow_unicode=True),
                        base_dir=str(base_dir))


def load_report_config(path) -> ReportConfig:
    """Read a report config YAML file; or, given a sweep results store (SQLite), a config that
    reports that store alone."""
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"{p}: no such file")
    with open(p, "rb") as fh:
        head = fh.read(16)
    if head.startswith(b"SQLite format 3"):
        return ReportConfig(title=f"sweep {p.name}", sweep=SweepSpec(store=str(p)),
                            base_dir=str(p.parent))
    text = p.read_text(encoding="utf-8")
    try:
        d = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"{p}: not valid YAML ({exc})") from None
    if not isinstance(d, dict):
        raise SpecError(f"{p}: a report config is a mapping (title, designs, workloads, ...)")
    return config_from_dict(d, where=str(p), text=text, base_dir=p.parent)
