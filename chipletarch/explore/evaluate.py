"""Evaluate sweep points in batches: architecture variants compiled once, operator rows shared.

A design point = an architecture variant x a workload (model, precision, mapping, batch, input
and output lengths). For every point the sweep runs what `chipletarch.simulate` runs for a
prefill (batch x input_len tokens, empty cache: TTFT) and a decode step (batch x 1 token at
`input_len + output_len/2` cached tokens by default: TPOT), the energy model
(`chipletarch.energy.energy_of`) on both, and the cost model (`package_cost`, `token_cost`).

Why this is fast without a second engine: the engine's per-operator timing is row-independent
(each row of an operator table is timed from its own columns and the placement), so for one
compiled placement the operator rows of *all* points of a chunk that share it are concatenated,
identical rows (same GEMM shape, format, attention shape, bytes, ...) are deduplicated, the
unique rows are timed in one call of the engine's row evaluator, and per-point latency,
bound shares and energy counts are segment sums over the rows. Compilation (graph, placement,
cost, energy coefficients) happens once per architecture variant and per worker; operator tables
and memory-fit figures are memoised per workload. `reference_point` evaluates one point the slow
way (simulate + energy_of + token_cost) and the tests hold the batched path to it.

Timing uses the engine's public row evaluator `chipletarch.engine.evaluate_rows(table,
placement, active=...)`, the very function `simulate` calls, so times, bounds and bytes are the
engine's by construction. Energy is priced by the energy model's own functions, the ones
`energy_of` calls: `chipletarch.energy.op_energy_pj` (matrix/vector/sram/l2 per operator row)
on the engine's ops of the distinct rows, and `chipletarch.energy.resource_energy_pj` (memory
stacks, D2D links, ports) on the engine's per-row resource bytes (`evaluate_rows(...,
resource_rows=True)`: the routing behind `Result.stacks/links/ports`, row by row); both are
linear, so pricing rows and summing equals pricing the sums. This module keeps no energy
formula and no copy of the engine's routing. What it still composes itself: the row
deduplication key `_KEY_COLS` (every column the engine reads), the per-point segment sums and
the deployment scaling energy_of documents (rows x world/pp, resources x world/(pp dpp), static
power x packages x latency); the equality tests and the per-chunk self-check guard those.
"""
from __future__ import annotations

import copy
import math
import traceback
from collections import OrderedDict

import numpy as np

from ..errors import ChipletarchError, SpecError

GIB = float(1 << 30)

# Quantities of an architecture variant that constraints may use (name -> meaning).
ARCH_QUANTITIES = {
    "package_cost_usd": "manufacturing cost of one good package, US$ (package_cost, no NRE)",
    "tdp_w": "package TDP, W (NaN when the spec has none)",
    "max_die_area_mm2": "largest die, mm^2",
    "total_die_area_mm2": "all die instances, mm^2",
    "footprint_mm2": "die footprint on the carrier (stacked dies excluded), mm^2",
    "interposer_area_mm2": "carrier area the cost model uses (given or estimated), mm^2",
    "reticle_mm2": "the technology's largest die (the reticle for interposers), mm^2",
    "memory_gb": "package memory capacity, GB",
    "memory_tb_s": "package memory bandwidth, TB/s",
    "compute_dies": "compute die instances",
    "peak_tflops_bf16": "dense BF16 TFLOP/s of the package (0 when not supported)",
    "world": "ranks of the mapping (tp x pp x dp)",
    "packages": "packages the deployment uses (ceil(world / devices_per_package))",
}

# Metric columns of the results store (name -> meaning); all REAL.
METRICS = {
    "ttft_s": "prefill latency of the batch (batch x input_len tokens), s",
    "tpot_s": "one decode step at the TPOT context, s",
    "tokens_per_s": "decode tokens/s of the deployment (batch / TPOT)",
    "tokens_per_s_per_chip": "tokens/s per package",
    "tokens_per_s_per_user": "tokens/s each sequence sees (1 / TPOT)",
    "request_latency_s": "TTFT + output_len x TPOT, s",
    "tokens_per_s_e2e": "batch x output_len / request_latency_s: generated tokens/s of the "
                        "deployment with the prefill time counted (static batching)",
    "j_per_token": "decode energy per generated token, J (energy model, whole deployment)",
    "j_per_token_prefill": "prefill energy per prompt token, J",
    "power_w": "average package power while decoding, W (energy model)",
    "power_prefill_w": "average package power during the prefill, W (energy model)",
    "package_cost_usd": "manufacturing cost of one good package, US$",
    "system_cost_usd": "packages x package cost, US$",
    "usd_per_mtoken": "$ per million decode tokens (token_cost at the energy model's power)",
    "memory_used_gib": "memory per package at the end of generation, GiB",
    "prefill_bound_share": "share of TTFT in ops bound by prefill_bound",
    "decode_bound_share": "share of TPOT in ops bound by decode_bound",
}
TEXT_METRICS = {
    "prefill_bound": "resource bounding most of TTFT (compute, sram, l2, hbm, d2d, network, "
                     "overhead)",
    "decode_bound": "resource bounding most of TPOT",
}

# Columns of an OpTable that decide an operator row's time and counts (row dedup key).
_KEY_COLS = ("kind", "m", "n", "k", "groups", "batch", "q_len", "kv_len", "heads", "kv_heads",
             "qk_head_dim", "v_head_dim", "causal", "window", "flops", "weight_bytes",
             "act_in_bytes", "act_out_bytes", "kv_read_bytes", "kv_write_bytes", "weight_fmt",
             "act_fmt", "kv_fmt", "compute_fmt", "comm_bytes", "comm_group", "comm_scope")
_INPUT_KEYS = ("model", "precision", "tp", "pp", "ep", "dp", "attention_dp",
               "devices_per_package", "batch", "input_len", "output_len")


class _LRU(OrderedDict):
    def __init__(self, size):
        super().__init__()
        self.size = size

    def get_or(self, key, make):
        hit = OrderedDict.get(self, key, _LRU)
        if hit is not _LRU:
            self.move_to_end(key)
            return hit
        v = make()
        self[key] = v
        if len(self) > self.size:
            self.popitem(last=False)
        return v


# ----------------------------------------------------------------------------- per architecture
class ArchVariant:
    """One architecture variant: the Architecture (or why it is invalid), its cost, energy
    coefficients and placements per devices_per_package, all computed once."""

    def __init__(self, arch=None, error: str | None = None, derived: dict | None = None):
        self.arch = arch
        self.error = error
        self.derived = derived or {}
        self._q = None
        self._placements = {}
        self._cost = None
        self._energy = None
        self._usd = None
        if arch is not None:
            port = getattr(arch, "scale_up", None)
            self.sup = int(getattr(port, "domain_size", 0) or 8)
            self.capacity = float(arch.memory_capacity_bytes)
            if self.capacity == 0.0:
                # no memory stacks (Simba): the model lives in the compute dies' SRAM, whose
                # capacity simulate's memory check uses too (engine placement, memory_kind "sram")
                from ..engine.placement import compile_design
                pl = compile_design(arch, 1)
                if pl.memory_kind == "sram":
                    self.capacity = float(pl.stack_capacity.sum())
        else:
            self.sup = self.capacity = None

    def quantities(self) -> dict:
        if self._q is None:
            a = self.arch
            q = {}
            tech = a.technology
            q["tdp_w"] = float(a.tdp_w) if a.tdp_w is not None else math.nan
            q["max_die_area_mm2"] = max((d.area_mm2 or 0.0) for d in a.dies)
            q["total_die_area_mm2"] = float(a.total_die_area_mm2)
            q["footprint_mm2"] = float(a.footprint_die_area_mm2)
            q["reticle_mm2"] = float(tech.max_die_area_mm2)
            q["memory_gb"] = a.memory_capacity_bytes / 1e9
            q["memory_tb_s"] = a.memory_bandwidth_bytes_per_s / 1e12
            q["compute_dies"] = len(a.compute_die_instances())
            try:
                q["peak_tflops_bf16"] = a.peak_flops("bf16") / 1e12
            except ChipletarchError:
                q["peak_tflops_bf16"] = 0.0
            pc, err = self.cost()
            q["package_cost_usd"] = pc.total if pc is not None else math.nan
            carrier = None
            if pc is not None:
                carrier = next((it.get("area_mm2") for it in pc.items
                                if it.get("category") == "carrier"), None)
            q["interposer_area_mm2"] = float(carrier if carrier is not None
                                             else (a.interposer_area_mm2 or 0.0))
            self._q = q
        return self._q

    def cost(self):
        """(PackageCost or None, error message or None)."""
        if self._cost is None:
            from ..cost import package_cost
            try:
                self._cost = (package_cost(self.arch), None)
            except ChipletarchError as exc:
                self._cost = (None, str(exc).splitlines()[0])
        return self._cost

    def token_cost_coeffs(self):
        """(a, b, tdp): $/Mtoken = (a + b (power - 1)) / tokens_per_s_per_package (see
        token_cost_fn), or None without a cost."""
        fn = self.token_cost_fn()
        return None if fn is None else fn.coeffs

    def token_cost_fn(self):
        """usd(tokens_per_s_per_package, power_w) -> $ per million tokens, or None without a
        cost. token_cost is (capex/h + opex/h(power)) / tokens per hour with opex linear in the
        power, so two calls per variant give it exactly (the tests compare with token_cost)."""
        if self._usd is None:
            from ..cost import token_cost
            pc, _ = self.cost()
            usd = False
            if pc is not None:
                try:
                    a = token_cost(pc, 1.0, power_w=1.0).usd_per_million_tokens
                    b = token_cost(pc, 1.0, power_w=2.0).usd_per_million_tokens - a
                except ChipletarchError:
                    a = None
                if a is not None:
                    usd = _usd_fn(a, b, self.arch.tdp_w)
            self._usd = usd
        return self._usd or None

    def placement(self, dpp: int):
        pl = self._placements.get(dpp)
        if pl is None:
            from ..engine.placement import compile_design
            try:
                pl = compile_design(self.arch, dpp)
            except ChipletarchError as exc:
                pl = exc
            self._placements[dpp] = pl
        return pl

    def energy(self):
        """The energy model's coefficients of this variant (`energy.coefficients_of`), or an
        error string (no energy figures: e.g. a compute die without a process node)."""
        if self._energy is None:
            from ..energy import coefficients_of
            try:
                self._energy = coefficients_of(self.arch)
            except ChipletarchError as exc:
                self._energy = str(exc).splitlines()[0]
        return self._energy


def _usd_fn(a, b, tdp):
    def usd(tps, power):
        if power is None or not math.isfinite(power):
            if tdp is None:
                return math.nan
            power = tdp
        return (a + b * (power - 1.0)) / tps
    usd.coeffs = (a, b, tdp)
    return usd


# ----------------------------------------------------------------------------- evaluator
class Evaluator:
    """Evaluates points of one spec; holds the per-process caches. `evaluate(indices)` returns
    one record (dict) per point, in order."""

    def __init__(self, spec, self_check: bool = True):
        import yaml
        self.self_check = self_check

        from ..arch.loader import architecture_path
        self.spec = spec
        # The base as the user wrote it (unset fields left to the catalog), so that an axis on
        # memory[0].generation or a process also moves the figures the catalog fills in.
        try:
            path = spec.base_file or architecture_path(spec.base_name)
            with open(path, encoding="utf-8") as fh:
                self.base_raw = yaml.safe_load(fh)
        except (SpecError, OSError):
            self.base_raw = spec.base.to_dict()
        self._derived_names = sorted(set().union(*[e.names for _, e in spec.derived])
                                     - {"base"}) if spec.derived else []
        self._arch_names = [a.name for a in spec.arch_axes]
        self._archs = _LRU(256)
        self._mappings = {}
        self._fit = _LRU(200_000)
        self._tables = _LRU(20_000)
        self._rowsets = _LRU(64)
        self._table_ids = {}
        self._wl_names = [a.name for a in spec.workload_axes]
        from .store import store_columns
        # every record starts with every store column (None = empty): rows are then built
        # with one itemgetter per record
        self._template = dict.fromkeys(store_columns(spec))
        self._pre = [c for c in spec.constraints if not c.post]
        self._post = [c for c in spec.constraints if c.post]
        names = [a.name for a in spec.axes]
        # an architecture variant is decided by the architecture axes and by any workload axis
        # a derived field reads
        self._arch_cols = [j for j, a in enumerate(spec.axes)
                           if a.is_arch or a.name in self._derived_names]
        self._wl_cols = [names.index(n) for n in self._wl_names]
        self._wls = {}
        self._wprep = _LRU(100_000)
        self._models = {}
        self._traffic = {}
        # serving mode (a `serving:` block): one evaluate_config call per point, on the
        # variants of this evaluator's cache (explore/serving.py)
        self.serving = None
        if getattr(spec, "serving", None) is not None:
            from .serving import ServingPoints
            self.serving = ServingPoints(self)

    # ------------------------------------------------------------------ inputs
    def workload_of(self, values: dict) -> dict:
        w = dict(self.spec.workload)
        for a in self.spec.axes:
            if not a.is_arch:
                w[a.name] = values[a.name]
        if w.get("traffic"):
            t = self._traffic.get(w["traffic"])
            if t is None:
                from ..workload import load_traffic
                t = self._traffic[w["traffic"]] = load_traffic(w["traffic"])
            w["input_len"] = max(1, int(round(t.isl.mean)))
            w["output_len"] = max(1, int(round(t.osl.mean)))
        w["_inputs"] = {k: w[k] for k in _INPUT_KEYS}
        return w

    def arch_variant(self, values: dict, wl: dict) -> ArchVariant:
        key = tuple([values[n] for n in self._arch_names]
                    + [values.get(n, wl.get(n)) for n in self._derived_names])
        return self._archs.get_or(key, lambda: self._build_arch(values, wl))

    def _build_arch(self, values, wl) -> ArchVariant:
        from ..arch import Architecture
        from .spec import format_path
        d = copy.deepcopy(self.base_raw)
        derived = {}
        try:
            for a in self.spec.arch_axes:
                _set_raw(d, a.path, values[a.name])
            ns = dict(wl)
            ns.update(values)
            ns["base"] = self.spec.base
            for parts, e in self.spec.derived:
                v = e(ns)
                if isinstance(v, float) and not math.isfinite(v):
                    raise SpecError(f"derived {format_path(parts)} = {v}")
                derived[_column_name(format_path(parts))] = v
                _set_raw(d, parts, v)
            arch = Architecture.from_dict(d)
        except SpecError as exc:
            msg = " ".join(str(exc).split())
            return ArchVariant(None, _arch_reason(msg), derived)
        return ArchVariant(arch, None, derived)

    def _model(self, name):
        m = self._models.get(name)
        if m is None:
            from ..workload import load_model
            m = self._models[name] = load_model(name)
        return m

    def _mapping(self, wl, arch):
        from ..workload import Mapping
        port = getattr(arch, "scale_up", None)
        sup = int(getattr(port, "domain_size", 0) or 8)
        key = (wl["model"], wl["tp"], wl["pp"], wl["ep"], wl["dp"], wl["attention_dp"],
               wl["devices_per_package"], sup)
        hit = self._mappings.get(key)
        if hit is None:
            try:
                m = Mapping(tp=wl["tp"], pp=wl["pp"], ep=wl["ep"], dp=wl["dp"],
                            attention_dp=wl["attention_dp"],
                            dies_per_package=wl["devices_per_package"], scaleup_packages=sup)
                m.validate(self._model(wl["model"]).config)
                hit = (m, None)
            except ChipletarchError as exc:
                hit = (None, "mapping: " + " ".join(str(exc).split()))
            self._mappings[key] = hit
        return hit

    def _contexts(self, wl):
        isl, osl = wl["input_len"], wl["output_len"]
        mode = self.spec.options["tpot_context"]
        ctx = isl + (osl // 2 if mode == "mid" else osl - 1 if mode == "end" else 0)
        return isl, ctx

    def _memory_need(self, wl, mapping):
        """Bytes per package the deployment needs (max over the prefill and the last decode
        step), from the workload's check_memory_fit with an unbounded capacity (memoised: it
        does not depend on the architecture beyond ranks per package)."""
        key = (wl["model"], wl["precision"], mapping, wl["batch"], wl["input_len"],
               wl["output_len"])

        def make():
            from ..workload import check_memory_fit
            mdl = self._model(wl["model"])
            probe = _Probe(mapping.dies_per_package)
            try:
                pre = check_memory_fit(mdl, probe, mapping, batch=wl["batch"], context_len=0,
                                       precision=wl["precision"], phase="prefill",
                                       seq_len=wl["input_len"])
                dec = check_memory_fit(mdl, probe, mapping, batch=wl["batch"],
                                       context_len=wl["input_len"] + wl["output_len"] - 1,
                                       precision=wl["precision"], phase="decode", seq_len=1)
            except ChipletarchError as exc:
                return " ".join(str(exc).split())
            return max(pre.total, dec.total)
        return self._fit.get_or(key, make)

    def _table(self, wl, mapping, phase, ctx):
        key = (wl["model"], wl["precision"], mapping, phase, wl["batch"],
               wl["input_len"] if phase == "prefill" else 1, 0 if phase == "prefill" else ctx)

        def make():
            mdl = self._model(wl["model"])
            return mdl.operators(phase, wl["batch"], key[5], key[6], wl["precision"], mapping)
        return key, self._tables.get_or(key, make)

    # ------------------------------------------------------------------ main entry
    def evaluate(self, indices) -> list:
        """Records for points `indices` (list of dicts: inputs, status, reason, metrics)."""
        if self.serving is not None:
            return self.serving.evaluate(indices)
        spec = self.spec
        idx_arr = np.asarray(list(indices) if not isinstance(indices, np.ndarray) else indices,
                             dtype=np.int64)
        raw = spec.raw_columns(idx_arr)
        values_list = spec.values_from_raw(raw)
        # points sharing an architecture variant / a workload are found in one pass over the
        # raw sample matrix, not by hashing every point's values
        akey = self._row_ids(raw, self._arch_cols)
        wkey = self._row_ids(raw, self._wl_cols)
        self._chunk_arch, self._chunk_wl = {}, {}
        records = []
        groups: dict = {}     # (id(variant), dpp, active) -> (variant, dpp, active, [(rec, prep)])
        for idx, values, ak, wk in zip(idx_arr.tolist(), values_list, akey.tolist(),
                                       wkey.tolist()):
            rec = self._template.copy()
            rec["idx"] = idx
            rec.update(values)
            try:
                self._prepare(rec, values, groups, ak, wk)
            except Exception as exc:  # noqa: BLE001  (a bug: recorded, never silently dropped)
                rec["status"], rec["reason"] = failure_status(exc)
            records.append(rec)
        for variant, dpp, active, items in groups.values():
            try:
                self._evaluate_group(variant, dpp, active, items)
            except Exception as exc:  # noqa: BLE001  (recorded for every point of the group)
                status = failure_status(exc)
                for it in items:
                    it[0]["status"], it[0]["reason"] = status
            if self._post:
                self._post_constraints(variant, items)
        if self.self_check and groups:
            self._self_check(groups, records)
        return records

    def _self_check(self, groups, records):
        """Recompute one evaluated point of the chunk with the engine's own entry points
        (simulate for both phases, energy_of) and compare: the batched path reuses the engine's
        row evaluator but re-derives per-point sums and energy, so a change in the engine that
        this module does not follow must not pass silently. On disagreement every evaluated
        point of the chunk becomes status 'error' with the figures."""
        from ..energy import energy_of
        from ..engine.simulate import simulate
        for v, dpp, active, items in groups.values():
            for rec, wp in items:
                if rec.get("status") not in ("ok", "pruned") or rec.get("tpot_s") is None:
                    continue
                wl = wp.wl
                _, ctx = self._contexts(wl)
                kw = dict(precision=wl["precision"], mapping=wp.mapping, check_memory=False)
                mdl = self._model(wl["model"])
                pre = simulate(v.arch, mdl, "prefill", batch=wl["batch"],
                               seq_len=wl["input_len"], **kw)
                dec = simulate(v.arch, mdl, "decode", batch=wl["batch"], seq_len=1,
                               context_len=ctx, **kw)
                want = {"ttft_s": pre.latency_s, "tpot_s": dec.latency_s}
                if rec.get("j_per_token") is not None:
                    e = energy_of(dec, v.arch)
                    want["j_per_token"] = sum(e.components.values()) / dec.tokens_per_step
                bad = {k: (rec[k], w) for k, w in want.items()
                       if not math.isclose(rec[k], w, rel_tol=1e-6, abs_tol=0.0)}
                if bad:
                    why = ("self-check failed: the batched evaluator disagrees with simulate/"
                           "energy_of at point " + str(rec["idx"]) + ": " +
                           ", ".join(f"{k} {a!r} vs {b!r}" for k, (a, b) in bad.items()) +
                           " (the engine changed under chipletarch.explore; please report)")
                    for r in records:
                        if r.get("status") in ("ok", "pruned") and r.get("tpot_s") is not None:
                            r["status"], r["reason"] = "error", why
                return

    def _post_constraints(self, v, items):
        """Constraints on metrics: a failing point keeps its metrics, status pruned."""
        q = v.quantities()
        base = self.spec.base
        for rec, wp in items:
            if rec.get("status") != "ok":
                continue
            ns = dict(q)
            ns.update(wp.wl)
            ns.update(rec)
            ns.update(world=wp.world, packages=wp.packages, base=base, arch=v.arch)
            apply_metric_constraints(rec, ns, self._post)

    def _row_ids(self, raw, cols) -> np.ndarray:
        """Integer id per point for the columns `cols` of the raw sample matrix (equal values,
        equal ids). Discrete axes hold value indices: a mixed-radix code is exact and cheap."""
        if not cols:
            return np.zeros(raw.shape[0], dtype=np.int64)
        axes = self.spec.axes
        if all(axes[j].discrete for j in cols):
            code = np.zeros(raw.shape[0], dtype=np.int64)
            for j in cols:
                code = code * len(axes[j].values) + raw[:, j].astype(np.int64)
            return code
        _, inv = np.unique(raw[:, cols], axis=0, return_inverse=True)
        return inv.ravel().astype(np.int64)

    def _prepare(self, rec, values, groups, ak, wk):
        spec = self.spec
        # everything that depends on the workload alone (and the scale-up domain the mapping
        # needs) is resolved once per distinct workload: mapping check, memory need, tables
        wl = self._chunk_wl.get(wk)
        if wl is None:
            wkey = tuple([values[n] for n in self._wl_names])
            wl = self._wls.get(wkey)
            if wl is None:
                wl = self._wls[wkey] = self.workload_of(values)
            wl["_key"] = wkey
            self._chunk_wl[wk] = wl
        wkey = wl["_key"]
        v = self._chunk_arch.get(ak)
        if v is None:
            v = self._chunk_arch[ak] = self.arch_variant(values, wl)
        rec.update(wl["_inputs"])
        if v.derived:
            rec.update(v.derived)
        if v.error:
            rec["status"], rec["reason"] = "pruned", v.error
            return
        arch = v.arch
        q = v.quantities()
        rec["package_cost_usd"] = q["package_cost_usd"]
        wp = self._wprep.get((wkey, v.sup))
        if wp is None:
            wp = self._wprep[(wkey, v.sup)] = _WorkloadPrep(self, wl, arch)
        if wp.why is not None:
            rec["status"], rec["reason"] = "pruned", wp.why
            return
        dpp = wl["devices_per_package"]
        pl = v.placement(dpp)
        if isinstance(pl, Exception):
            rec["status"], rec["reason"] = "pruned", "placement: " + " ".join(str(pl).split())
            return
        if self._pre:
            ns = dict(q)
            ns.update(wl)
            ns.update(values)
            ns.update(world=wp.world, packages=wp.packages, base=spec.base, arch=arch)
            if apply_spec_constraints(rec, ns, self._pre):
                return
        if wp.mem_why is not None:
            rec["status"], rec["reason"] = "pruned", wp.mem_why
            return
        need = wp.need
        cap = v.capacity * spec.options["memory_utilization"]
        rec["memory_used_gib"] = need / GIB
        if need > cap:
            rec["status"] = "pruned"
            rec["reason"] = (f"memory: needs {need / GIB:.1f} GiB per package, has "
                             f"{cap / GIB:.1f} GiB")
            return
        if wp.tables is None:
            wp.load_tables()
        active = min(dpp, wp.world)     # ranks fill the first package's devices in order
        g = groups.get((id(v), dpp, active))
        if g is None:
            g = groups[(id(v), dpp, active)] = (v, dpp, active, [])
        g[3].append((rec, wp))

    def _evaluate_group(self, v, dpp, active, items):
        """Time every point of one (architecture variant, devices_per_package) group: one
        engine call over the group's distinct operator rows, then the metrics as array
        arithmetic over its points."""
        from ..engine.simulate import evaluate_rows
        pl = v.placement(dpp)
        tabs: dict = {}
        for _, wp in items:
            t = wp.tables
            if t[0] not in tabs:
                tabs[t[0]] = t[1]
            if t[2] not in tabs:
                tabs[t[2]] = t[3]
        keys = tuple(sorted(tabs))      # integer ids: the same set gives the same key
        pos = {k: i for i, k in enumerate(keys)}
        # the same workload set recurs for every architecture variant of a grid: concatenating
        # and deduplicating its rows is done once
        rows = self._rowsets.get_or(keys, lambda: _RowSet(tuple(tabs[k] for k in keys)))
        res = evaluate_rows(rows.unique, pl, active=active, resource_rows=True)
        per = rows.per_table(res, v.energy())
        wps = [wp for _, wp in items]
        P = np.fromiter((pos[wp.tables[0]] for wp in wps), np.int64, len(wps))
        D = np.fromiter((pos[wp.tables[2]] for wp in wps), np.int64, len(wps))
        batch, isl, osl, pp, world, packages = (
            np.array([wp.scalars[j] for wp in wps], dtype=np.float64) for j in range(6))
        lat = per["latency"]
        ttft, tpot = lat[P], lat[D]
        cols = {"ttft_s": ttft, "tpot_s": tpot}
        with np.errstate(divide="ignore", invalid="ignore"):
            tps = np.where(tpot > 0, batch / tpot, np.nan)
            cols["tokens_per_s"] = tps
            cols["tokens_per_s_per_chip"] = tps / packages
            cols["tokens_per_s_per_user"] = np.where(tpot > 0, 1.0 / tpot, np.nan)
            cols["request_latency_s"] = req = ttft + osl * tpot
            cols["tokens_per_s_e2e"] = np.where(req > 0, batch * osl / req, np.nan)
            cols["prefill_bound_share"] = per["bound_share"][P]
            cols["decode_bound_share"] = per["bound_share"][D]
            cols["system_cost_usd"] = v.quantities()["package_cost_usd"] * packages
            e = per["energy"]
            power = None
            if e is not None:
                static = e.static_total_w * packages
                dev_m, pkg_m = world / pp, world / (pp * dpp)
                j_dec = per["e_dev"][D] * dev_m + per["e_pkg"][D] * pkg_m + static * tpot
                j_pre = per["e_dev"][P] * dev_m + per["e_pkg"][P] * pkg_m + static * ttft
                cols["j_per_token"] = j_dec / batch
                cols["j_per_token_prefill"] = j_pre / (batch * isl)
                power = np.where(tpot > 0, j_dec / (packages * tpot), np.nan)
                cols["power_w"] = power
                cols["power_prefill_w"] = np.where(ttft > 0, j_pre / (packages * ttft), np.nan)
            usd = v.token_cost_coeffs()
            if usd is not None:
                a, b, tdp = usd
                pw = power if power is not None else np.full(len(wps), np.nan)
                pw = np.where(np.isfinite(pw), pw, np.nan if tdp is None else tdp)
                cols["usd_per_mtoken"] = np.where(tps > 0, (a + b * (pw - 1.0)) /
                                                  (tps / packages), np.nan)
        names = list(cols)
        bnames = per["bound_names"]
        pb = [bnames[i] for i in per["bound_idx"][P].tolist()]
        db = [bnames[i] for i in per["bound_idx"][D].tolist()]
        lists = [cols[n].tolist() for n in names]
        names += ["prefill_bound", "decode_bound", "status", "reason"]
        oks = ["ok"] * len(wps)
        nones = [None] * len(wps)
        for (rec, _), *vals in zip(items, *lists, pb, db, oks, nones):
            rec.update(zip(names, vals))


def failure_status(exc: BaseException) -> tuple:
    """(status, reason) of a point whose evaluation raised: 'infeasible' with the message for a
    ChipletarchError (the engine or the spec refused it), else 'error' with the exception and the
    end of its traceback (a bug: recorded, never silently dropped). Call inside the except."""
    if isinstance(exc, ChipletarchError):
        return "infeasible", " ".join(str(exc).split())
    return "error", (f"{type(exc).__name__}: {exc} | "
                     + traceback.format_exc(limit=3).replace("\n", " ")[-400:])


def _constraint_failed(c) -> str:
    return f"constraint {c.name}: {c.require.text}" + (f" ({c.reason})" if c.reason else "")


def apply_spec_constraints(rec: dict, ns: dict, constraints) -> bool:
    """Check the constraints that read the spec only (before evaluation; `ns`: the names they may
    read): the first that fails marks the point pruned with its reason. True when pruned."""
    for c in constraints:
        if not c.require(ns):
            rec["status"], rec["reason"] = "pruned", _constraint_failed(c)
            return True
    return False


def apply_metric_constraints(rec: dict, ns: dict, constraints) -> None:
    """Check the constraints that read metrics on one evaluated point (`ns`: the names they may
    read): the first that fails marks the point pruned with its reason; its metrics stay."""
    for c in constraints:
        try:
            ok = c.require(ns)
        except SpecError as exc:      # e.g. a metric the energy model left empty
            rec["status"] = "pruned"
            rec["reason"] = f"constraint {c.name}: cannot evaluate ({exc})"
            return
        if not ok:
            rec["status"], rec["reason"] = "pruned", _constraint_failed(c)
            return


class _WorkloadPrep:
    """Per (workload, scale-up domain): the mapping or why it is invalid, the memory need or why
    it cannot be computed, and (on first use) the prefill and decode operator tables."""

    __slots__ = ("ev", "wl", "mapping", "why", "mem_why", "need", "world", "packages",
                 "tables", "scalars")

    def __init__(self, ev, wl, arch):
        self.ev, self.wl = ev, wl
        self.tables = None
        self.mem_why = None
        self.need = None
        self.mapping, self.why = ev._mapping(wl, arch)
        if self.mapping is None:
            return
        self.world = self.mapping.world
        self.packages = -(-self.world // wl["devices_per_package"])
        self.scalars = (wl["batch"], wl["input_len"], wl["output_len"], wl["pp"], self.world,
                        self.packages)
        need = ev._memory_need(wl, self.mapping)
        if isinstance(need, str):
            self.mem_why = "memory: " + need
        else:
            self.need = need

    def load_tables(self):
        ev, wl = self.ev, self.wl
        _, ctx = ev._contexts(wl)
        pkey, ptab = ev._table(wl, self.mapping, "prefill", ctx)
        dkey, dtab = ev._table(wl, self.mapping, "decode", ctx)
        # small integer ids stand for the table keys (hashing a key hashes its Mapping)
        ids = ev._table_ids
        self.tables = (ids.setdefault(pkey, len(ids)), ptab, ids.setdefault(dkey, len(ids)),
                       dtab)


class _Probe:
    """What check_memory_fit duck-types, with room for anything: the sweep compares the usage
    with each variant's capacity itself (the usage does not depend on the capacity)."""

    memory_capacity_bytes = math.inf

    def __init__(self, n):
        self._n = n

    def compute_die_instances(self):
        return [(f"device{i}", None) for i in range(self._n)]


def _column_name(text: str) -> str:
    """A field path as a column name: dies[0].area_mm2 -> dies_0_area_mm2 (store columns)."""
    import re
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_]", "_", text)).strip("_")


def _set_raw(d, parts, value):
    obj = d
    for p in parts[:-1]:
        try:
            obj = obj[p]
        except (KeyError, IndexError, TypeError):
            from .spec import format_path
            raise SpecError(f"field path {format_path(parts)}: '{p}' is not in the base YAML "
                            f"(set it there first)") from None
    obj[parts[-1]] = value


def _arch_reason(msg: str) -> str:
    """Category prefix for an invalid variant (the schema's own message follows)."""
    low = msg.lower()
    if "reticle" in low:
        return "reticle: " + msg
    if "interposer" in low:
        return "interposer: " + msg
    return "invalid architecture: " + msg


class _RowSet:
    """The operator rows of several tables, concatenated and deduplicated.

    `unique` is an OpTable of the distinct rows (first occurrence keeps its name); `inv` maps
    every concatenated row to its unique row; `starts` are the table offsets."""

    def __init__(self, tables):
        from ..workload import OpTable
        from ..workload.optable import COLUMN_NAMES
        self.tables = tables
        lens = np.array([len(t) for t in tables], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
        self.lens = lens
        cat = {c: np.concatenate([t.columns[c] for t in tables]) for c in COLUMN_NAMES}
        key = np.stack([cat[c].astype(np.float64) for c in _KEY_COLS], axis=1)
        key = np.ascontiguousarray(key)
        view = key.view(np.dtype((np.void, key.dtype.itemsize * key.shape[1]))).ravel()
        _, first, inv = np.unique(view, return_index=True, return_inverse=True)
        self.inv = inv.ravel()
        self.repeat = cat["repeat"].astype(np.float64)
        uniq = {c: cat[c][first] for c in COLUMN_NAMES}
        uniq["repeat"] = np.ones(len(first), dtype=np.int64)
        self.unique = OpTable(uniq)
        self.n = len(self.inv)

    def per_table(self, res, energy) -> dict:
        """Per-table latency, bound shares and energy from `evaluate_rows(self.unique, ...,
        resource_rows=True)`; `energy` is ArchVariant.energy() (coefficients, pJ/MAC by format
        index) or an error string (no energy figures)."""
        from ..energy import op_energy_pj, resource_energy_pj
        from ..engine.result import BOUNDS
        ops = res["ops"]
        inv = self.inv
        time = np.asarray(ops["time_s"])[inv]
        total = time * self.repeat
        seg = np.repeat(np.arange(len(self.tables)), self.lens)
        latency = np.bincount(seg, weights=total, minlength=len(self.tables))
        bmap = {b: i for i, b in enumerate(BOUNDS)}
        bcode = np.array([bmap[b] for b in ops["bound_by"]], dtype=np.int64)[inv]
        share = np.bincount(seg * len(BOUNDS) + bcode, weights=total,
                            minlength=len(self.tables) * len(BOUNDS)).reshape(-1, len(BOUNDS))
        bidx = share.argmax(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            bshare = share[np.arange(len(bidx)), bidx] / latency
        out = {"latency": latency, "bound_idx": bidx, "bound_share": bshare,
               "bound_names": BOUNDS, "energy": None}
        if not isinstance(energy, str):
            co = energy
            # the energy model's own pricing, per distinct row: its per-op terms (one device)
            # and its stack / link / port terms on the engine's per-row resource bytes (one
            # package); energy_of prices a Result's ops and per-resource sums with the same two
            dev = sum(op_energy_pj(co, ops).values())
            st, ln, pt = resource_energy_pj(co, **res["resource_rows"])
            pkg = np.zeros(len(dev))
            for part in (st, ln, pt):
                for v in part.values():
                    pkg = pkg + v
            out["e_dev"] = np.bincount(seg, weights=dev[inv] * self.repeat * 1e-12,
                                       minlength=len(self.tables))
            out["e_pkg"] = np.bincount(seg, weights=pkg[inv] * self.repeat * 1e-12,
                                       minlength=len(self.tables))
            out["energy"] = co
        return out


# ----------------------------------------------------------------------------- reference
def reference_point(spec, i: int) -> dict:
    """Point `i` evaluated the slow way: simulate (prefill and decode), energy_of, token_cost.

    Used by the tests to hold the batched path to the engine's own entry points. For a serving
    spec: `chipletarch.serving.evaluate_config`'s own result for the point (its keys)."""
    from ..cost import package_cost, token_cost
    from ..energy import energy_of
    from ..engine.simulate import simulate
    ev = Evaluator(spec)
    values = spec.point(i)
    if ev.serving is not None:
        # a serving point: evaluate_config with the traffic profile's name, as a user calls it
        from ..serving import evaluate_config
        wl = ev.serving.workload_of(values)
        v = ev.arch_variant(values, wl)
        if v.error:
            return {"status": "pruned", "reason": v.error}
        kw = ev.serving.call_args(wl)
        if wl.get("traffic"):
            kw["traffic"] = wl["traffic"]
        return evaluate_config(v.arch, wl["model"], **kw)
    wl = ev.workload_of(values)
    v = ev.arch_variant(values, wl)
    if v.error:
        return {"status": "pruned", "reason": v.error}
    mapping, why = ev._mapping(wl, v.arch)
    if mapping is None:
        return {"status": "pruned", "reason": why}
    isl, ctx = ev._contexts(wl)
    kw = dict(precision=wl["precision"], mapping=mapping, check_memory=False)
    pre = simulate(v.arch, wl["model"], "prefill", batch=wl["batch"], seq_len=isl, **kw)
    dec = simulate(v.arch, wl["model"], "decode", batch=wl["batch"], seq_len=1,
                   context_len=ctx, **kw)
    ep = energy_of(pre, v.arch)
    ed = energy_of(dec, v.arch)
    pc = package_cost(v.arch)
    packages = -(-mapping.world // mapping.dies_per_package)
    tps = dec.tokens_per_s
    return {"status": "ok", "ttft_s": pre.latency_s, "tpot_s": dec.latency_s,
            "tokens_per_s": tps, "tokens_per_s_per_chip": tps / packages,
            "j_per_token": sum(ed.components.values()) / dec.tokens_per_step,
            "j_per_token_prefill": sum(ep.components.values()) / pre.tokens_per_step,
            "power_w": ed.average_power_w, "power_prefill_w": ep.average_power_w,
            "package_cost_usd": pc.total,
            "usd_per_mtoken": token_cost(pc, tps / packages,
                                         power_w=ed.average_power_w).usd_per_million_tokens,
            "decode_bound": max(dec.bound_share().items(), key=lambda kv: kv[1])[0],
            "prefill_bound": max(pre.bound_share().items(), key=lambda kv: kv[1])[0]}


__all__ = ["Evaluator", "ArchVariant", "reference_point", "ARCH_QUANTITIES", "METRICS",
           "TEXT_METRICS"]
