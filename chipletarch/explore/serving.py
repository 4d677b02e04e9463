"""Serving points in a sweep: each point is one fixed serving configuration evaluated by the
public serving API (`chipletarch.serving.evaluate_config`) on the point's architecture variant.

A spec with a top-level `serving:` block (docs/SWEEPS.md, "Serving sweeps") switches the sweep
from its one-batch-in-flight evaluation (`evaluate.Evaluator`) to this mode: the workload keys
`model precision tp ep attention_dp pp traffic input_len output_len` and the serving keys of
`SERVING_DEFAULTS` (mode, framework, concurrency, chunk, prefill/decode mappings and batches,
max_packages, SLOs) become the arguments of one `evaluate_config` call per point; every key may
be fixed in `serving:` / `workload:` or swept as an axis, next to architecture axes (paths) and
derived fields. The architecture variants come from the Evaluator's variant cache, so the
serving layer's memoised engine calls (one `SimLatency` per architecture object and mapping)
are shared by every point of a variant, and a point whose call arguments repeat (a knob the
mode ignores) is answered from a small memo.

This module composes no serving arithmetic: what it stores is what `evaluate_config` returns
(the tests compare field by field), plus the package cost of the variant (`cost.package_cost`,
as the batched sweep) and `usd_per_mtoken` from `cost.token_cost` at the serving point's
simulated average package power (`power_w`, the energy model composed over the steady state:
serving/steady.py), or at the package TDP where the point has no energy. Status: `ok` when
the configuration fits and meets the SLOs; `pruned` when the KV cache does not fit (`memory:
...`, no metrics), when an SLO is missed (`slo: ...`, metrics kept, `feasible` 0) or when a
metric constraint fails (metrics kept), as the batched sweep does for its metric constraints.
"""
from __future__ import annotations

import math
from collections import OrderedDict

from ..errors import ChipletarchError
from .evaluate import apply_metric_constraints, apply_spec_constraints, failure_status

# Serving keys (the arguments of evaluate_config beyond the workload's) and their defaults:
# evaluate_config's own, except `framework`, whose default is serving's DEFAULT_FRAMEWORK
# (filled in by the spec loader so that the stored spec names it).
SERVING_DEFAULTS = {
    "mode": "disaggregated",          # colocated | disaggregated
    "framework": None,                # none | trtllm | vllm | sglang (None: DEFAULT_FRAMEWORK)
    "concurrency": 64,                # co-located: requests in the instance
    "chunk": 8192,                    # co-located: token budget per iteration
    "prefill_tp": None, "prefill_ep": None, "prefill_attention_dp": None,   # None: tp, ep, adp
    "prefill_batch": 1,               # disaggregated: prompts per prefill batch
    "decode_tp": None, "decode_ep": None, "decode_attention_dp": None,
    "decode_batch": 64,               # disaggregated: sequences per decode instance
    "max_packages": None,             # None: fluid rate matching; N: integer pools within N
    "ttft_slo_ms": None,              # None: no target
    "tpot_slo_ms": None,
}
SERVING_KEYS = tuple(SERVING_DEFAULTS)
SERVING_MODES = ("colocated", "disaggregated")
SERVING_INT_KEYS = ("concurrency", "chunk", "prefill_tp", "prefill_ep", "prefill_attention_dp",
                    "prefill_batch", "decode_tp", "decode_ep", "decode_attention_dp",
                    "decode_batch", "max_packages")
SERVING_OPTIONAL = ("framework", "prefill_tp", "prefill_ep", "prefill_attention_dp",
                    "decode_tp", "decode_ep", "decode_attention_dp", "max_packages",
                    "ttft_slo_ms", "tpot_slo_ms")
# keys each mode reads (the others are ignored by evaluate_config for that mode)
_MODE_KEYS = {
    "colocated": ("concurrency", "chunk"),
    "disaggregated": ("prefill_tp", "prefill_ep", "prefill_attention_dp", "prefill_batch",
                      "decode_tp", "decode_ep", "decode_attention_dp", "decode_batch",
                      "max_packages"),
}
# workload keys a serving point uses (stored as input columns); `batch` is the shorthand for
# concurrency = decode_batch; dp and devices_per_package have no meaning here (a package is one
# device, as the serving layer counts it)
_MEMO_VARIANTS = 256
SERVING_WORKLOAD = ("model", "precision", "traffic", "tp", "ep", "attention_dp", "pp",
                    "input_len", "output_len")
SERVING_UNUSED_WORKLOAD = ("dp", "devices_per_package")

# Metric columns of a serving store (REAL unless listed in SERVING_INT_METRICS / TEXT).
SERVING_METRICS = {
    "ttft_s": "time to first token, s (ttft_ms / 1e3)",
    "tpot_s": "time per output token, s (tpot_ms / 1e3)",
    "ttft_ms": "evaluate_config's ttft_ms (front-end, queueing, KV hand-over included)",
    "tpot_ms": "evaluate_config's tpot_ms",
    "tokens_per_s": "output tokens/s of the instance (co-located) or of the rate-matched pools",
    "tokens_per_s_per_chip": "output tokens/s per package",
    "tokens_per_s_per_user": "1 / TPOT",
    "requests_per_s": "requests/s served",
    "packages": "packages of the deployment (disaggregated, fluid: n_p P_p + P_d per decode "
                "instance, may be fractional)",
    "isl": "mean prompt length, tokens (the traffic profile's, or input_len)",
    "osl": "mean output length, tokens",
    "decode_sequences": "decode sequences per step (co-located: B_d of the steady state; "
                        "disaggregated: decode_batch)",
    "prefill_tokens_per_step": "co-located: prompt tokens per iteration",
    "step_s": "co-located: one mixed iteration, s",
    "prefill_packages": "disaggregated: packages per prefill instance",
    "decode_packages": "disaggregated: packages per decode instance",
    "prefill_instances": "disaggregated: prefill instances (fluid: per decode instance)",
    "decode_instances": "disaggregated: decode instances",
    "prefill_decode_ratio": "disaggregated: fluid prefill:decode instance ratio",
    "prefill_step_s": "disaggregated: one prefill batch, s",
    "decode_step_s": "disaggregated: one decode step, s",
    "kv_transfer_s": "disaggregated: KV hand-over time per request, s",
    "kv_ingress_utilization": "disaggregated: share of the decode instance's ingress the KV "
                              "hand-over uses",
    "frontend_s": "framework front-end latency per request in TTFT, s",
    "handover_s": "framework disaggregated hand-over latency in TTFT, s",
    "package_cost_usd": "manufacturing cost of one good package, US$",
    "system_cost_usd": "packages x package cost, US$",
    "j_per_token": "J per output token of the whole deployment, the prompt's prefill included "
                   "(energy model composed over the steady state, host overhead at static "
                   "power)",
    "power_w": "average package power over the steady state, W (evaluate_config's "
               "power_w_per_package)",
    "usd_per_mtoken": "$ per million output tokens (token_cost at tokens/s per chip and power_w; "
                      "the package TDP where power_w is missing)",
    "feasible": "1: fits and meets the SLOs (evaluate_config's feasible); 0: not",
    "kv_bound": "disaggregated: 1 when the KV hand-over link caps the decode rate",
}
SERVING_INT_METRICS = ("feasible", "kv_bound")
SERVING_TEXT_METRICS = {
    "mapping": "co-located: the instance's mapping (tp4, tp8ep8, ...)",
    "prefill_mapping": "disaggregated: the prefill instance's mapping",
    "decode_mapping": "disaggregated: the decode instance's mapping",
}
# evaluate_config result key -> column (keys equal to an input are not copied again)
_RESULT_COLUMNS = {k: k for k in SERVING_METRICS if k not in
                   ("ttft_s", "tpot_s", "package_cost_usd", "system_cost_usd", "usd_per_mtoken",
                    "decode_sequences")}
_RESULT_COLUMNS.pop("power_w")
_RESULT_COLUMNS["decode_batch"] = "decode_sequences"
_RESULT_COLUMNS["power_w_per_package"] = "power_w"
_RESULT_COLUMNS.update({k: k for k in SERVING_TEXT_METRICS})


def serving_input_columns() -> tuple:
    return SERVING_WORKLOAD + SERVING_KEYS


class ServingPoints:
    """The serving evaluation of one Evaluator (its spec has `serving`): `evaluate(indices)`
    returns one record per point, like `Evaluator.evaluate`."""

    def __init__(self, ev):
        self.ev = ev
        self.spec = ev.spec
        # per variant (LRU, as many as the evaluator's variant cache): id(variant) -> (variant,
        # {call key: result}); holding the variant keeps its id from being reused
        self._memo: OrderedDict = OrderedDict()
        self._mappings: dict = {}
        self._wls: dict = {}
        self.calls = 0                # evaluate_config calls (the rest came from the memo)

    # ------------------------------------------------------------------ inputs
    def workload_of(self, values: dict) -> dict:
        spec = self.spec
        w = self.ev.workload_of(values)          # workload keys, axes, traffic lengths
        for k in SERVING_KEYS:
            if k not in values:
                w[k] = spec.serving[k]
        if spec.serving_batch:                   # `batch` given: concurrency = decode_batch
            w["concurrency"] = w["decode_batch"] = w["batch"]
        w["_inputs"] = {k: w[k] for k in serving_input_columns()}
        return w

    def call_args(self, wl: dict) -> dict:
        """Keyword arguments of evaluate_config (besides arch and model) for a workload."""
        kw = dict(mode=wl["mode"], precision=wl["precision"], tp=wl["tp"], ep=wl["ep"],
                  attention_dp=wl["attention_dp"], pp=wl["pp"], framework=wl["framework"],
                  ttft_slo_ms=wl["ttft_slo_ms"], tpot_slo_ms=wl["tpot_slo_ms"])
        for k in _MODE_KEYS["colocated"] + _MODE_KEYS["disaggregated"]:
            kw[k] = wl[k]
        if wl.get("traffic"):
            # the profile object the evaluator loaded once (evaluate_config takes a name or a
            # profile and reads its means; a name would re-parse its YAML on every call, ~95 %
            # of a warm call)
            kw["traffic"] = self.ev._traffic[wl["traffic"]]
        else:
            kw["isl"], kw["osl"] = wl["input_len"], wl["output_len"]
        return kw

    def _memo_key(self, wl: dict, kw: dict) -> tuple:
        ignored = _MODE_KEYS["disaggregated" if wl["mode"] == "colocated" else "colocated"]
        ignored += ("traffic",)
        return (wl["model"], wl["traffic"]) + tuple((k, v) for k, v in kw.items()
                                                    if k not in ignored)

    def _check_mappings(self, wl, arch):
        """The instance mappings evaluate_config builds, validated on the model the same way
        (Mapping(..., dies_per_package=1, scale-up domain).validate): None or why not."""
        from ..workload import Mapping
        dom = int(getattr(getattr(arch, "scale_up", None), "domain_size", 0) or 8)
        if wl["mode"] == "colocated":
            insts = [(wl["tp"], wl["ep"], wl["attention_dp"])]
        else:
            insts = [(wl[f"{r}_tp"] or wl["tp"], wl[f"{r}_ep"] or wl["ep"],
                      wl[f"{r}_attention_dp"] or wl["attention_dp"])
                     for r in ("prefill", "decode")]
        for tp, ep, adp in insts:
            key = (wl["model"], tp, ep, adp, wl["pp"], dom)
            why = self._mappings.get(key, False)
            if why is False:
                try:
                    Mapping(tp=int(tp), ep=int(ep), attention_dp=int(adp), pp=int(wl["pp"]),
                            dies_per_package=1, scaleup_packages=dom).validate(
                                self.ev._model(wl["model"]).config)
                    why = None
                except ChipletarchError as exc:
                    why = "mapping: " + " ".join(str(exc).split())
                self._mappings[key] = why
            if why is not None:
                return why
        return None

    # ------------------------------------------------------------------ main entry
    def evaluate(self, indices) -> list:
        import numpy as np
        spec = self.spec
        idx_arr = np.asarray(list(indices) if not isinstance(indices, np.ndarray) else indices,
                             dtype=np.int64)
        raw = spec.raw_columns(idx_arr)
        values_list = spec.values_from_raw(raw)
        records = []
        template = self.ev._template
        for idx, values in zip(idx_arr.tolist(), values_list):
            rec = template.copy()
            rec["idx"] = idx
            rec.update(values)
            try:
                self._point(rec, values)
            except Exception as exc:  # noqa: BLE001  (a bug: recorded, never silently dropped)
                rec["status"], rec["reason"] = failure_status(exc)
            records.append(rec)
        return records

    def _point(self, rec, values):
        ev, spec = self.ev, self.spec
        key = tuple(values[a.name] for a in spec.axes if not a.is_arch)
        wl = self._wls.get(key)
        if wl is None:
            if len(self._wls) > 100_000:
                self._wls.clear()
            wl = self._wls[key] = self.workload_of(values)
        rec.update(wl["_inputs"])
        v = ev.arch_variant(values, wl)
        if v.derived:
            rec.update(v.derived)
        if v.error:
            rec["status"], rec["reason"] = "pruned", v.error
            return
        arch = v.arch
        q = v.quantities()
        pc = q["package_cost_usd"]
        rec["package_cost_usd"] = pc
        if ev._pre:
            ns = dict(q)
            ns.update(wl)
            ns.update(values)
            ns.update(base=spec.base, arch=arch)
            if apply_spec_constraints(rec, ns, ev._pre):
                return
        why = self._check_mappings(wl, arch)
        if why is not None:
            rec["status"], rec["reason"] = "pruned", why
            return
        kw = self.call_args(wl)
        memo = self._memo.get(id(v))
        if memo is None or memo[0] is not v:
            memo = self._memo[id(v)] = (v, {})
            if len(self._memo) > _MEMO_VARIANTS:
                self._memo.popitem(last=False)
        else:
            self._memo.move_to_end(id(v))
        mkey = self._memo_key(wl, kw)
        d = memo[1].get(mkey)
        if d is None:
            from ..serving import evaluate_config
            self.calls += 1
            d = evaluate_config(arch, wl["model"], **kw)
            memo[1][mkey] = d
        rec["feasible"] = int(bool(d.get("feasible")))
        if "ttft_ms" not in d:       # evaluate_config: the KV cache or activations do not fit
            rec["status"] = "pruned"
            rec["reason"] = "memory: " + str(d.get("reason", "does not fit")) + \
                " (serving: weights + KV of the batch at ISL + OSL within 90 % of package memory)"
            return
        for k, col in _RESULT_COLUMNS.items():
            if k in d:
                val = d[k]
                rec[col] = int(val) if isinstance(val, bool) else val
        rec["ttft_s"] = d["ttft_ms"] / 1e3
        rec["tpot_s"] = d["tpot_ms"] / 1e3
        packages = d.get("packages")
        if packages is not None and pc is not None and math.isfinite(pc):
            rec["system_cost_usd"] = pc * packages
        usd = v.token_cost_fn()
        tpc = d.get("tokens_per_s_per_chip")
        if usd is not None and tpc is not None and tpc > 0:
            # at the simulated average package power; usd falls back to the TDP without one
            rec["usd_per_mtoken"] = usd(tpc, d.get("power_w_per_package"))
        if not d.get("feasible"):
            rec["status"] = "pruned"
            rec["reason"] = _slo_reason(d, wl)
            return
        rec["status"], rec["reason"] = "ok", None
        if ev._post:
            ns = dict(q)
            ns.update(wl)
            ns.update(rec)
            ns.update(base=spec.base, arch=arch)
            apply_metric_constraints(rec, ns, ev._post)


def _slo_reason(d, wl) -> str:
    """Which targets a point misses (evaluate_config's `meets`: value <= target)."""
    miss = []
    for what, key, slo in (("TTFT", "ttft_ms", wl["ttft_slo_ms"]),
                           ("TPOT", "tpot_ms", wl["tpot_slo_ms"])):
        if slo is not None and not d[key] <= slo:
            miss.append(f"{what} {d[key]:.1f} ms > {key[:-3]}_slo_ms {slo:g}")
    return "slo: " + (", ".join(miss) if miss else "not met")


__all__ = ["SERVING_DEFAULTS", "SERVING_KEYS", "SERVING_METRICS", "SERVING_TEXT_METRICS",
           "SERVING_MODES", "ServingPoints"]
