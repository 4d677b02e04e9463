"""Serving studies on the engine: enumerate mappings and batches, build co-located and
disaggregated design points, frontiers and gains; `evaluate_point` for sweeps.

Mappings tried per instance (`candidate_mappings`): TP of 1, 2, 4, ... packages up to the
scale-up domain (and `max_tp`), each package one device whatever its die count (as serving
stacks see a multi-die GPU); MoE models also with experts spread (ep = tp) and with
DP-attention + EP (ep = tp = attention_dp, the DeepSeek/SGLang layout). Mappings whose weights
do not fit, or that the model's shapes cannot split, are skipped. Everything here is memoised
through one `SimLatency` per (arch, model, precision, mapping).

`framework` ('none' | 'trtllm' | 'vllm' | 'sglang' | a `FrameworkCosts`; default
`framework.DEFAULT_FRAMEWORK`) adds that serving framework's costs outside the kernels to every
point: the per-iteration overhead on each instance's phase latency, the front-end and
disaggregated hand-over latencies on TTFT (`framework.py`, docs/SERVING.md). Results carry
the framework's name (`framework`) so a figure says what it includes.
"""
from __future__ import annotations

import functools

from dataclasses import dataclass, field

import numpy as np

from ..errors import InfeasibleError, SpecError
from .framework import DEFAULT_FRAMEWORK, framework_costs
from .kv import kv_transfer
from .latency import Instance, SimLatency
from .steady import (colocated_point, disaggregated_point, gain_table, meets, pareto)

DEFAULT_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
DEFAULT_CHUNKS = (512, 1024, 2048, 4096, 8192, 16384)
DEFAULT_PREFILL_BATCHES = (1, 2, 4, 8)
DEFAULT_LEVELS = (10, 20, 30, 50, 75, 100, 150, 200, 300)

_INSTANCES: dict = {}


def _instance(arch, model, precision, mapping) -> Instance:
    key = (id(arch), id(model), str(precision), mapping)
    inst = _INSTANCES.get(key)
    if inst is None:
        s = SimLatency(arch, model, precision, mapping)
        inst = Instance(latency=s, packages=s.packages, label=s.label(), fits=s.fits)
        inst.sim = s
        _INSTANCES[key] = inst
        if len(_INSTANCES) > 256:
            _INSTANCES.pop(next(iter(_INSTANCES)))
    return inst


def _resolve(arch, model):
    from ..engine.simulate import _resolve_arch, _resolve_model
    return _resolve_arch(arch), _resolve_model(model)


def candidate_mappings(arch, model, precision="bf16", max_tp: int | None = None,
                       context: int = 2048) -> list:
    """Mappings worth trying for one instance (see module docstring), each fitting its weights
    and one sequence of `context` tokens."""
    from ..workload import Mapping
    a, m = _resolve(arch, model)
    dom = int(getattr(getattr(a, "scale_up", None), "domain_size", 1) or 1)
    limit = min(max_tp or 64, dom)
    out = []
    tp = 1
    while tp <= limit:
        variants = [dict(tp=tp)]
        if getattr(m.config, "num_experts", 0) or getattr(m, "is_moe", False):
            if tp > 1:
                variants += [dict(tp=tp, ep=tp), dict(tp=tp, ep=tp, attention_dp=tp)]
        for v in variants:
            try:
                # a package is one device (a GPU, whatever its die count): TP counts packages
                mp = Mapping(dies_per_package=1, scaleup_packages=dom, **v)
                mp.validate(m.config)
            except (InfeasibleError, SpecError):
                continue
            inst = _instance(a, m, precision, mp)
            if inst.fits(1, context):
                out.append(mp)
        tp *= 2
    return out


@dataclass
class ServingStudy:
    """Co-located and disaggregated design points for one (arch, model, precision, ISL, OSL).

    `points()` -> (colocated, disaggregated) lists of design-point dicts (all, SLO or not);
    `frontiers()` -> Pareto frontiers of the points meeting the TTFT target (TPOT sets the
    interactivity axis itself); `gains(levels)` -> per interactivity level, the best tokens/s per
    chip of each mode and their ratio. `max_packages` None: disaggregated pools rate-matched in
    the fluid limit; else integer pools within that many packages. `framework`: the serving
    framework whose costs outside the kernels every point includes (module docstring); `costs`
    is its `FrameworkCosts`."""

    arch: object
    model: object
    precision: str = "bf16"
    isl: float = 1024
    osl: float = 1024
    ttft_slo_s: float | None = None
    tpot_slo_s: float | None = None
    mappings: list | None = None
    batches: tuple = DEFAULT_BATCHES
    chunks: tuple = DEFAULT_CHUNKS
    prefill_batches: tuple = DEFAULT_PREFILL_BATCHES
    max_packages: int | None = None
    max_tp: int | None = None
    framework: object = DEFAULT_FRAMEWORK
    _pts: tuple | None = field(default=None, repr=False)

    def __post_init__(self):
        self.costs = framework_costs(self.framework)
        self.framework = self.costs.name
        self.arch, self.model = _resolve(self.arch, self.model)
        if self.mappings is None:
            self.mappings = candidate_mappings(self.arch, self.model, self.precision,
                                               self.max_tp, int(self.isl + self.osl))
        if not self.mappings:
            raise InfeasibleError(f"{self.model.name} on {self.arch.name} ({self.precision}): no "
                                  f"mapping fits its weights and one sequence of "
                                  f"{int(self.isl + self.osl)} tokens")

    def instances(self) -> list:
        """One instance per mapping, with the framework's per-iteration overhead."""
        return [self.costs.apply(_instance(self.arch, self.model, self.precision, mp))
                for mp in self.mappings]

    def points(self) -> tuple:
        if self._pts is not None:
            return self._pts
        insts = self.instances()
        co = []
        for inst in insts:
            for b in self.batches:
                if not inst.fits(b, int(self.isl + self.osl)):
                    break
                for c in self.chunks:
                    if c <= b:
                        continue
                    p = colocated_point(inst, self.isl, self.osl, b, c,
                                        frontend_s=self.costs.frontend_s)
                    if p is not None:
                        co.append(p)
        pre = [(inst, pb) for inst in insts for pb in self.prefill_batches
               if inst.fits(pb, int(self.isl))]
        dec = [(inst, b) for inst in insts for b in self.batches
               if inst.fits(b, int(self.isl + self.osl))]
        dis = []
        for pi, pb in pre:
            for di, db in dec:
                kv = kv_transfer(self.arch, self.model, self.precision, self.isl,
                                 pi.packages, di.packages)
                # the decode instance receives over all its packages' ports
                ingress = kv.bytes / (kv.bandwidth_bytes_per_s
                                      / min(pi.packages, di.packages) * di.packages)
                p = disaggregated_point(pi, di, self.isl, self.osl, pb, db, kv.seconds,
                                        self.max_packages, kv_ingress_s=ingress,
                                        frontend_s=self.costs.frontend_s,
                                        handover_s=self.costs.handover_s,
                                        kv_energy_j=kv.energy_j)
                if p is not None:
                    dis.append(p)
        self._pts = (co, dis)
        return self._pts

    def feasible(self) -> tuple:
        co, dis = self.points()
        f = lambda p: meets(p, self.ttft_slo_s, self.tpot_slo_s)  # noqa: E731
        return [p for p in co if f(p)], [p for p in dis if f(p)]

    def frontiers(self) -> tuple:
        """Pareto frontiers (co-located, disaggregated) of the points meeting the TTFT target
        (the TPOT target cuts the x axis at 1 / tpot_slo)."""
        co, dis = self.points()
        f = lambda p: meets(p, self.ttft_slo_s, None)  # noqa: E731
        return pareto([p for p in co if f(p)]), pareto([p for p in dis if f(p)])

    def gains(self, levels=DEFAULT_LEVELS) -> list:
        c, d = self.frontiers()
        return gain_table(c, d, levels)

    def best(self) -> dict:
        """Highest tokens/s per chip of each mode under both targets (None if none meets)."""
        co, dis = self.feasible()
        pick = lambda ps: max(ps, key=lambda p: p["tokens_per_s_per_chip"]) if ps else None  # noqa
        return dict(colocated=pick(co), disaggregated=pick(dis))


@functools.lru_cache(maxsize=64)
def _bundled_traffic_means(name: str) -> tuple:
    # a bundled profile is package data and does not change while the process runs; parsing
    # its YAML was ~1 ms, most of a memoised evaluate_config call (YAML paths are re-read)
    from ..workload import load_traffic
    t = load_traffic(name)
    return float(t.isl.mean), float(t.osl.mean)


def _traffic_lengths(traffic, isl, osl):
    if traffic is not None:
        from ..workload import load_traffic
        if hasattr(traffic, "isl") and hasattr(traffic.isl, "mean"):
            return float(traffic.isl.mean), float(traffic.osl.mean)
        if isinstance(traffic, str) and not traffic.lower().endswith((".yaml", ".yml")):
            return _bundled_traffic_means(traffic)
        t = load_traffic(traffic)
        return float(t.isl.mean), float(t.osl.mean)
    if isl is None or osl is None:
        raise SpecError("serving: give a traffic profile or both isl and osl")
    return float(isl), float(osl)


def evaluate_point(arch, model, traffic=None, mode="disaggregated", *, isl=None, osl=None,
                   precision="bf16", ttft_slo_ms=None, tpot_slo_ms=None, max_tp=None,
                   max_packages=None, batches=DEFAULT_BATCHES, chunks=DEFAULT_CHUNKS,
                   prefill_batches=DEFAULT_PREFILL_BATCHES, framework=DEFAULT_FRAMEWORK) -> dict:
    """One sweep point: the best serving configuration of `mode` ('colocated' |
    'disaggregated' | 'both') for (arch, model, traffic or isl/osl, precision) under the SLOs,
    with `framework`'s costs outside the kernels (module docstring; the result's `framework`
    key names it).

    Returns a flat dict of numbers and strings (for a results store): `tokens_per_s_per_chip`,
    `tokens_per_s_per_user`, `ttft_ms`, `tpot_ms`, `packages`, `j_per_token`,
    `power_w_per_package` (energy model, steady.py), the chosen mapping / batch /
    chunk or pool sizes, `feasible` (False: no configuration meets the SLOs; metrics nan), and for
    'both' the prefix `colocated_` / `disaggregated_` on each and `disagg_gain`."""
    L, O = _traffic_lengths(traffic, isl, osl)
    st = ServingStudy(arch, model, precision, L, O,
                      ttft_slo_s=None if ttft_slo_ms is None else ttft_slo_ms / 1e3,
                      tpot_slo_s=None if tpot_slo_ms is None else tpot_slo_ms / 1e3,
                      batches=tuple(batches), chunks=tuple(chunks),
                      prefill_batches=tuple(prefill_batches), max_packages=max_packages,
                      max_tp=max_tp, framework=framework)
    best = st.best()

    def flat(p):
        if p is None:
            return dict(feasible=False, tokens_per_s_per_chip=float("nan"),
                        tokens_per_s_per_user=float("nan"), ttft_ms=float("nan"),
                        tpot_ms=float("nan"), packages=float("nan"),
                        j_per_token=float("nan"), power_w_per_package=float("nan"))
        d = dict(feasible=True, ttft_ms=p["ttft_s"] * 1e3, tpot_ms=p["tpot_s"] * 1e3)
        for k, v in p.items():
            if k in ("ttft_s", "tpot_s"):
                continue
            d[k] = v
        return d

    base = dict(arch=st.arch.name, model=st.model.name, precision=str(precision), isl=L,
                osl=O, framework=st.framework)
    if mode in ("colocated", "disaggregated"):
        return {**base, **flat(best[mode])}
    if mode != "both":
        raise SpecError(f"evaluate_point: mode must be colocated, disaggregated or both, got "
                        f"{mode!r}")
    out = dict(base)
    for m in ("colocated", "disaggregated"):
        for k, v in flat(best[m]).items():
            out[f"{m}_{k}"] = v
    c, d = out["colocated_tokens_per_s_per_chip"], out["disaggregated_tokens_per_s_per_chip"]
    out["disagg_gain"] = d / c if np.isfinite(c) and np.isfinite(d) and c > 0 else float("nan")
    return out


def _mapping_for(arch, tp=1, ep=1, attention_dp=1, pp=1):
    from ..workload import Mapping
    dom = int(getattr(getattr(arch, "scale_up", None), "domain_size", 0) or 8)
    return Mapping(tp=int(tp), ep=int(ep), attention_dp=int(attention_dp), pp=int(pp),
                   dies_per_package=1, scaleup_packages=dom)


def evaluate_config(arch, model, traffic=None, mode="disaggregated", *, isl=None, osl=None,
                    precision="bf16", tp=1, ep=1, attention_dp=1, pp=1, concurrency=64,
                    chunk=8192, prefill_tp=None, prefill_ep=None, prefill_attention_dp=None,
                    prefill_batch=1, decode_tp=None, decode_ep=None, decode_attention_dp=None,
                    decode_batch=64, max_packages=None, ttft_slo_ms=None,
                    tpot_slo_ms=None, framework=DEFAULT_FRAMEWORK) -> dict:
    """One fixed serving configuration, no search (milliseconds once the engine calls are
    memoised): every argument can be a sweep axis.

    'colocated': one instance of (tp, ep, attention_dp, pp) at `concurrency` with a `chunk`-token
    budget. 'disaggregated': prefill instances of (prefill_tp, prefill_ep, ...; default the
    shared tp/ep/attention_dp) running batches of `prefill_batch` prompts, decode instances of
    (decode_tp, ...) holding `decode_batch` sequences, rate-matched (fluid, or integer pools
    within `max_packages`), KV hand-over on the network. `framework`: whose costs outside the
    kernels are included (module docstring). Returns the design point's keys (with
    `j_per_token`, J per output token of the whole deployment, prefill included, and
    `power_w_per_package`, the steady state's average package power, from the energy model:
    steady.py) plus `ttft_ms`, `tpot_ms`, `feasible` (memory fits and the SLOs, when given, are
    met), `framework`, and `tdp_exceeded`: whether that average power is above the package's
    `tdp_w` (None where either is unknown; a flag only: the point is not throttled)."""
    L, O = _traffic_lengths(traffic, isl, osl)
    a, m = _resolve(arch, model)
    fw = framework_costs(framework)

    def inst(t, e, d):
        mp = _mapping_for(a, t, e, d, pp)
        mp.validate(m.config)
        return fw.apply(_instance(a, m, precision, mp))

    base = dict(arch=a.name, model=m.name, precision=str(precision), isl=L, osl=O, mode=mode,
                framework=fw.name)
    if mode == "colocated":
        p = colocated_point(inst(tp, ep, attention_dp), L, O, concurrency, chunk,
                            frontend_s=fw.frontend_s)
    elif mode == "disaggregated":
        pi = inst(prefill_tp or tp, prefill_ep or ep, prefill_attention_dp or attention_dp)
        di = inst(decode_tp or tp, decode_ep or ep, decode_attention_dp or attention_dp)
        kv = kv_transfer(a, m, precision, L, pi.packages, di.packages)
        ingress = kv.bytes / (kv.bandwidth_bytes_per_s / min(pi.packages, di.packages)
                              * di.packages)
        p = disaggregated_point(pi, di, L, O, prefill_batch, decode_batch, kv.seconds,
                                max_packages, kv_ingress_s=ingress, frontend_s=fw.frontend_s,
                                handover_s=fw.handover_s, kv_energy_j=kv.energy_j)
    else:
        raise SpecError(f"evaluate_config: mode must be colocated or disaggregated, got {mode!r}")
    if p is None:
        return {**base, "feasible": False, "reason": "KV cache or activations do not fit"}
    ok = meets(p, None if ttft_slo_ms is None else ttft_slo_ms / 1e3,
               None if tpot_slo_ms is None else tpot_slo_ms / 1e3)
    out = {**base, **{k: v for k, v in p.items() if k not in ("ttft_s", "tpot_s", "mode")}}
    out.update(ttft_ms=p["ttft_s"] * 1e3, tpot_ms=p["tpot_s"] * 1e3, feasible=bool(ok),
               tdp_exceeded=_over_tdp(a, p.get("power_w_per_package")))
    return out


def _over_tdp(arch, power_w):
    """Average package power above the package TDP? None when either is unknown."""
    tdp = getattr(arch, "tdp_w", None)
    if tdp is None or power_w is None:
        return None
    return bool(power_w > float(tdp))
