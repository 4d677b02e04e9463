"""Elastic scaling over a time-varying trace: re-matched pools per interval vs fixed pools.

A trace (`workloads/traffic/*_trace.yaml`: `interval_s` and a list of intervals, each with
`rate` (requests/s, whole cluster) and mean `isl` / `osl`) is served by one configuration
(mode, mappings, batches): the most efficient design point under the SLOs at the trace's busiest
interval (highest rate x (isl + osl)) among those that keep the targets at every interval's
lengths. Per interval, each instance type serves a rate that depends on the
interval's lengths (`prefill_pool` / `decode_pool` / `colocated_point`, re-evaluated at that mix):

- elastic: pool sizes re-matched every interval, n = ceil(rate / per-instance rate) per pool;
- fixed-peak: pool sizes = the largest each pool needs in any interval, all day;
- fixed-mean: pools sized for the day's average rate and mix (a cheaper static allocation).

Chip-hours = sum over intervals of packages x hours. SLO attainment (fluid model): in an
interval where a pool's capacity c is below the offered rate r, the excess queues without bound
and misses its targets, so the fraction served within SLO is min(1, c / r) over the tighter
pool; an interval whose lengths push the configuration's saturated TTFT or TPOT past a target
counts 0; attainment is request-weighted over the day. Energy (where the instances have it):
per interval each pool serves min(rate, capacity), so an instance is busy that share u of the
interval at its busy power (the steady state's step energy over step time, `steady.py`) and idle
the rest at its static power; `energy_kwh` over the day and `j_per_token` over the output tokens
served. Scaling delays (instance start, KV migration) are not modelled. The study's framework
costs outside the kernels (`framework.py`) apply at every interval: its instances carry the
per-iteration overhead, and the front-end and hand-over latencies add to TTFT.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from .._paths import workloads_dir
from ..errors import SpecError
from .kv import kv_transfer
from .steady import colocated_point, decode_pool, prefill_pool


@dataclass(frozen=True)
class Trace:
    name: str
    interval_s: float
    rate: tuple
    isl: tuple
    osl: tuple
    description: str = ""


def list_traces() -> list:
    return sorted(p.stem for p in (workloads_dir() / "traffic").glob("*_trace.yaml"))


def load_trace(name_or_path) -> Trace:
    """A bundled trace (`list_traces()`, with or without the `_trace` suffix) or a YAML path."""
    p = Path(str(name_or_path))
    if p.suffix.lower() not in (".yaml", ".yml"):
        stem = str(name_or_path)
        stem = stem if stem.endswith("_trace") else stem + "_trace"
        p = workloads_dir() / "traffic" / f"{stem}.yaml"
    if not p.exists():
        raise SpecError(f"unknown trace '{name_or_path}' (bundled: {', '.join(list_traces())})")
    raw = yaml.safe_load(p.read_text())
    if not isinstance(raw, dict) or not isinstance(raw.get("intervals"), list) \
            or not raw["intervals"]:
        raise SpecError(f"{p}: expected a mapping with a non-empty 'intervals' list")
    dt = raw.get("interval_s")
    if not isinstance(dt, (int, float)) or dt <= 0:
        raise SpecError(f"{p}: interval_s must be a positive number of seconds")
    rates, isls, osls = [], [], []
    for i, iv in enumerate(raw["intervals"]):
        for k in ("rate", "isl", "osl"):
            v = iv.get(k) if isinstance(iv, dict) else None
            if not isinstance(v, (int, float)) or v < (0 if k == "rate" else 1):
                raise SpecError(f"{p}: intervals[{i}].{k}: expected a number "
                                f"{'>= 0' if k == 'rate' else '>= 1'}, got {v!r}")
        rates.append(float(iv["rate"]))
        isls.append(float(iv["isl"]))
        osls.append(float(iv["osl"]))
    return Trace(str(raw.get("name", p.stem)), float(dt), tuple(rates), tuple(isls), tuple(osls),
                 str(raw.get("description", "")))


def _busy_w(point, inst):
    """(busy power, idle power) of one instance, W: its step's energy over the step's time and
    its static power; None when the instance has no energy."""
    if point.get("step_j") is None or inst.static_w is None:
        return None, None
    return point["step_j"] / point["step_s"], inst.static_w


def _per_instance_rates(cfg, isl, osl):
    """({pool: (requests/s per instance, packages per instance, busy W, idle W)}, ttft_s,
    tpot_s) of configuration `cfg` at a mix (the powers None without energy). A batch whose KV
    cache does not fit at this mix's lengths is halved until it does (what a server with a fixed
    KV pool does: it admits fewer sequences).
    TTFT / TPOT are the saturated values (rate-matched pools, fully used prefill)."""
    def shrink(fn, b):
        while b >= 1:
            p = fn(b)
            if p is not None:
                return p
            b //= 2
        raise SpecError(f"elastic: no batch fits at ISL {isl:g} / OSL {osl:g}")
    fw = cfg.get("costs")
    fe = fw.frontend_s if fw is not None else 0.0
    if cfg["mode"] == "colocated":
        p = shrink(lambda b: colocated_point(cfg["inst"], isl, osl, b,
                                             max(cfg["chunk"], b + 1), frontend_s=fe),
                   cfg["concurrency"])
        inst = cfg["inst"]
        busy = (p["power_w_per_package"] * p["packages"]
                if p.get("power_w_per_package") is not None and inst.static_w is not None
                else None)
        return ({"instance": (p["requests_per_s"], p["packages"], busy,
                              inst.static_w if busy is not None else None)},
                p["ttft_s"], p["tpot_s"])
    pre = shrink(lambda b: prefill_pool(cfg["pre"], isl, b), cfg["prefill_batch"])
    dec = shrink(lambda b: decode_pool(cfg["dec"], isl, osl, b), cfg["decode_batch"])
    ttft = 1.5 * pre["step_s"] + cfg["kv"](isl) + fe + (fw.handover_s if fw is not None else 0.0)
    return ({"prefill": (pre["requests_per_s"], pre["packages"], *_busy_w(pre, cfg["pre"])),
             "decode": (dec["requests_per_s"], dec["packages"], *_busy_w(dec, cfg["dec"]))},
            ttft, dec["step_s"])


def _evaluate(trace, cfg, counts_fn, ttft_slo, tpot_slo):
    hours = trace.interval_s / 3600.0
    chip_h, offered, served, rows = 0.0, 0.0, 0.0, []
    joules, tokens, has_energy = 0.0, 0.0, True
    for i, (r, L, O) in enumerate(zip(trace.rate, trace.isl, trace.osl)):
        rates, ttft, tpot = _per_instance_rates(cfg, L, O)
        counts = counts_fn(i, rates)
        pk = sum(counts[k] * rates[k][1] for k in rates)
        cap = min(counts[k] * rates[k][0] for k in rates)
        frac = 1.0 if r <= cap else cap / r
        # a configuration that misses its targets at this interval's lengths serves no request
        # within SLO, whatever the pool sizes
        ok = (ttft_slo is None or ttft <= ttft_slo) and (tpot_slo is None or tpot <= tpot_slo)
        frac = frac if ok else 0.0
        chip_h += pk * hours
        offered += r * trace.interval_s
        served += frac * r * trace.interval_s
        # every pool processes what the tighter one passes (min of rate and capacity), busy that
        # share of its instance-time, idle (static power) the rest
        done = min(r, cap)
        watts = 0.0
        for k, (rps, _, busy_w, idle_w) in rates.items():
            if busy_w is None:
                has_energy = False
                break
            if counts[k]:
                u = min(1.0, done / (counts[k] * rps))
                watts += counts[k] * (u * busy_w + (1.0 - u) * idle_w)
        joules += watts * trace.interval_s
        tokens += done * O * trace.interval_s
        rows.append(dict(interval=i, rate=r, isl=L, osl=O, packages=pk, capacity=cap,
                         ttft_s=ttft, tpot_s=tpot, attainment=frac,
                         power_w=watts if has_energy else None,
                         **{f"n_{k}": counts[k] for k in rates}))
    return dict(chip_hours=chip_h, slo_attainment=served / offered if offered else 1.0,
                energy_kwh=joules / 3.6e6 if has_energy else None,
                j_per_token=(joules / tokens if tokens > 0 else math.nan) if has_energy
                else None,
                intervals=rows)


def plan(study_factory, trace: Trace) -> dict:
    """Elastic vs fixed allocations for `trace`. `study_factory(isl, osl)` returns a
    `ServingStudy` (its SLOs, mappings, batches) at the busiest interval's lengths; per mode the
    configuration is its most efficient point there that still meets the targets at every
    interval's lengths (`valid_all_day`; False: none does, the most efficient one is used and
    loses attainment where it misses). Returns {mode: {config, valid_all_day, elastic,
    fixed_peak, fixed_mean}}, each with chip_hours, slo_attainment, energy_kwh and j_per_token
    (None without energy) and per-interval rows."""
    busiest = max(range(len(trace.rate)),
                  key=lambda i: trace.rate[i] * (trace.isl[i] + trace.osl[i]))
    st = study_factory(trace.isl[busiest], trace.osl[busiest])
    by_label = {inst.label: inst for inst in st.instances()}
    feas = dict(zip(("colocated", "disaggregated"), st.feasible()))
    slo = (st.ttft_slo_s, st.tpot_slo_s)

    def make(p):
        if p["mode"] == "colocated":
            return (dict(mode="colocated", inst=by_label[p["mapping"]],
                         concurrency=p["concurrency"], chunk=p["chunk"], costs=st.costs),
                    f"{p['mapping']} concurrency {p['concurrency']} budget {p['chunk']}")
        pre, dec = by_label[p["prefill_mapping"]], by_label[p["decode_mapping"]]
        return (dict(mode="disaggregated", pre=pre, dec=dec, prefill_batch=p["prefill_batch"],
                     decode_batch=p["decode_batch"], costs=st.costs,
                     kv=lambda n: kv_transfer(st.arch, st.model, st.precision, n,
                                              pre.packages, dec.packages).seconds),
                f"prefill {p['prefill_mapping']} b{p['prefill_batch']} / decode "
                f"{p['decode_mapping']} b{p['decode_batch']}")

    def valid_all_day(cfg):
        for L, O in zip(trace.isl, trace.osl):
            try:
                _, ttft, tpot = _per_instance_rates(cfg, L, O)
            except SpecError:
                return False
            if (slo[0] is not None and ttft > slo[0]) or (slo[1] is not None and tpot > slo[1]):
                return False
        return True

    out = {}
    for mode, pts in feas.items():
        if not pts:
            out[mode] = None
            continue
        # the most efficient configuration (at the busiest interval) that keeps its targets at
        # every interval's lengths; if none does, the most efficient one, flagged
        ranked = sorted(pts, key=lambda p: -p["tokens_per_s_per_chip"])
        cfg, desc = make(ranked[0])
        all_day = False
        for p in ranked:
            c, d = make(p)
            if valid_all_day(c):
                cfg, desc, all_day = c, d, True
                break

        def need(i, rates, r=None):
            rr = trace.rate[i] if r is None else r
            return {k: max(1, math.ceil(rr / v[0] - 1e-9)) if rr > 0 else 0
                    for k, v in rates.items()}

        ela = _evaluate(trace, cfg, need, *slo)
        peak = {k: max(iv[f"n_{k}"] for iv in ela["intervals"])
                for k in _per_instance_rates(cfg, trace.isl[0], trace.osl[0])[0]}
        fpk = _evaluate(trace, cfg, lambda i, rates: peak, *slo)
        n = len(trace.rate)
        tot = sum(trace.rate)
        mean_r = tot / n
        mean_L = sum(r * x for r, x in zip(trace.rate, trace.isl)) / tot if tot else trace.isl[0]
        mean_O = sum(r * x for r, x in zip(trace.rate, trace.osl)) / tot if tot else trace.osl[0]
        mean_counts = {k: max(1, math.ceil(mean_r / v[0]))
                       for k, v in _per_instance_rates(cfg, mean_L, mean_O)[0].items()}
        fmn = _evaluate(trace, cfg, lambda i, rates: mean_counts, *slo)
        out[mode] = dict(config=desc, framework=st.framework, valid_all_day=all_day,
                         elastic=ela, fixed_peak=fpk, fixed_mean=fmn)
    return out
