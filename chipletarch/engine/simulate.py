"""`simulate(arch, model, phase, ...)`: one design point, end to end.

    memory fit  ->  Model.operators (per-device OpTable)  ->  compile_design (cached)
                ->  batched kernel calls per op kind       ->  Result

Per op kind (all rows of a kind in one call; no per-operator Python arithmetic):

* GEMM / GROUPED_GEMM: the kernel engineer's GEMM model (`_core.engine.gemm_batch`, tile search,
  waves, L2 blocking). A grouped GEMM (MoE experts: `groups` independent m x n x k GEMMs with
  their own weights) runs as one kernel; it is timed as the m x (groups n) x k GEMM, which has
  the same tiles, weight stream and FLOPs, then held to the roofline of the row's exact bytes
  and FLOPs (see "roofline floor"). Activation inputs that fit in the device's L2 were written
  by the previous op and are read from L2 (the kernel's `l2_warm`), not from memory.
* ATTN_PREFILL / ATTN_DECODE: the kernel's FlashAttention prefill and split-KV decode models
  (`attn_batch`), one descriptor row per table row.
* ELEMENTWISE / REDUCTION / GATHER: the kernel engineer's streaming model
  (`elementwise.elementwise_times`: launch + p-norm of memory and vector time) on the bytes that
  go to memory, held to the L2 read time of inputs still in L2.
* ALL_REDUCE / ALL_GATHER / REDUCE_SCATTER / ALL_TO_ALL / SEND_RECV: the kernel engineer's
  latency-bandwidth model (`_core.engine.comm_batch`), fastest of the algorithms the scope offers;
  bandwidth and latency per `comm_scope` come from the placement (scope 0: D2D path between the
  package's devices; 1: scale-up port; 2: scale-out port), shared by the package's devices.

Multi-die packages: the remote share of every op's memory traffic crosses D2D links
(`placement.read_factor` / `write_factor`); each link is a bandwidth server, and an op lasts at
least launch + its busiest link's bytes / (efficiency x bandwidth). `bound_by` is then `d2d`.

Roofline floor: whatever a model returns, no op finishes faster than its FLOPs at the device's
peak for its compute format, its memory bytes at peak stack bandwidth, its L2 and SRAM bytes at
the machine's L2 and SRAM-fill bandwidth, its D2D bytes at peak link bandwidth or its wire bytes
at peak port bandwidth. Rows lifted to the floor are counted in
`Result.notes` (a kernel that beats its roofline is a model gap to report, not a result).

Latency: the sum of time x repeat over every row (with pp > 1 the table holds every stage's
rows, so the sum is one request's trip through all stages). TTFT (prefill) or TPOT (decode) =
latency; tokens/s = batch x tokens per sequence per step / latency (one batch in flight; no
pipelining of micro-batches across stages).
"""
from __future__ import annotations

import os
from collections import OrderedDict

import numpy as np

from .. import formats as _formats
from .._core import engine as _ce
from ..errors import InfeasibleError, SpecError
from . import fmt as F
from .attention import NATTN
from .elementwise import elementwise_times  # noqa: F401  (kept for importers; simulate uses stream_batch_raw)
from .machine import IDX
from .placement import compile_design
from .result import BOUNDS, Result

_BOUND_NAMES = np.array(BOUNDS, dtype=object)

B_COMPUTE, B_SRAM, B_L2, B_HBM, B_D2D, B_NETWORK, B_OVERHEAD = range(7)
# kernel bound codes (reference.BOUND_NAMES: compute, sram, l2, hbm, overhead, link) -> ours
_KERNEL_BOUND = np.array([B_COMPUTE, B_SRAM, B_L2, B_HBM, B_OVERHEAD, B_D2D], dtype=np.int8)

# OpKind codes (chipletarch.workload.OpKind; the contract in docs/ARCHITECTURE.md)
GEMM, GROUPED_GEMM, ATTN_PREFILL, ATTN_DECODE = 0, 1, 2, 3
ELEMENTWISE, REDUCTION, GATHER = 4, 5, 6
ALL_REDUCE, ALL_GATHER, REDUCE_SCATTER, ALL_TO_ALL, SEND_RECV = 7, 8, 9, 10, 11
KIND_NAMES = ("GEMM", "GROUPED_GEMM", "ATTN_PREFILL", "ATTN_DECODE", "ELEMENTWISE",
              "REDUCTION", "GATHER", "ALL_REDUCE", "ALL_GATHER", "REDUCE_SCATTER", "ALL_TO_ALL",
              "SEND_RECV")
MATRIX_KINDS = (GEMM, GROUPED_GEMM, ATTN_PREFILL, ATTN_DECODE)

PHASES = ("prefill", "decode", "chunked")

_ARCHS: "OrderedDict[str, tuple]" = OrderedDict()
_MODELS: "OrderedDict[str, tuple]" = OrderedDict()


def _mtime(path) -> float | None:
    try:
        return os.stat(path).st_mtime
    except (OSError, TypeError):
        return None


def _cached(cache, key, path_of, load):
    """Name -> object, reloaded when the file behind it changes (a notebook editing a YAML
    between calls must not see a stale design)."""
    hit = cache.get(key)
    if hit is not None and _mtime(hit[0]) == hit[1]:
        return hit[2]
    obj = load(key)
    path = path_of(key, obj)
    cache[key] = (path, _mtime(path), obj)
    if len(cache) > 32:
        cache.popitem(last=False)
    return obj


def _resolve_arch(arch):
    if isinstance(arch, str):
        from ..arch import load_architecture
        from ..arch.loader import architecture_path
        return _cached(_ARCHS, arch, lambda k, _o: str(architecture_path(k)), load_architecture)
    if not hasattr(arch, "compute_die_instances") or not hasattr(arch, "to_graph"):
        raise SpecError(f"simulate: arch must be an Architecture or a name, got "
                        f"{type(arch).__name__}")
    return arch


def _resolve_model(model):
    from ..workload import Model, load_model
    if isinstance(model, Model):
        return model
    if isinstance(model, str):
        return _cached(_MODELS, model, lambda _k, o: getattr(o, "source", None), load_model)
    raise SpecError(f"simulate: model must be a Model or a name, got {type(model).__name__}")


class _Devices:
    """What `check_memory_fit` duck-types: the package's capacity and its ranks (devices).
    A package without memory stacks holds the model in its compute dies' SRAM (`capacity`)."""

    def __init__(self, arch, n, capacity=None):
        self.memory_capacity_bytes = arch.memory_capacity_bytes if capacity is None else capacity
        self._n = n

    def compute_die_instances(self):
        return [(f"device{i}", None) for i in range(self._n)]


_FITS: "OrderedDict[tuple, tuple]" = OrderedDict()


def _memory_fit(model, arch, dpp, mapping, precision, utilization, fit_kw,
                capacity=None) -> None:
    """The workload's check_memory_fit, memoised: its answer depends only on the model, the
    package capacity, the devices per package and the point, and a sweep asks it repeatedly."""
    from ..workload import check_memory_fit

    try:
        cap = float(arch.memory_capacity_bytes if capacity is None else capacity)
        key = (id(model), cap, dpp, mapping, precision,
               utilization, tuple(sorted(fit_kw.items())))
        hash(key)
    except TypeError:          # an unhashable precision object: no memo
        key = None
    if key is not None:
        hit = _FITS.get(key)
        if hit is not None and hit[0] is model:
            if hit[1] is not None:
                raise InfeasibleError(hit[1])
            return
    msg = None
    try:
        check_memory_fit(model, _Devices(arch, dpp, capacity), mapping, precision=precision,
                         memory_utilization=utilization, **fit_kw)
    except InfeasibleError as exc:
        msg = str(exc)
    if key is not None:
        _FITS[key] = (model, msg)
        if len(_FITS) > 1024:
            _FITS.popitem(last=False)
    if msg is not None:
        raise InfeasibleError(msg)


# ----------------------------------------------------------------------------- format tables
_NFORMATS = len(_formats.FORMATS)
_FMT_NAMES = tuple(_formats.format_by_index(i).name for i in range(_NFORMATS))
_FMT_DESC = np.stack([F.descriptor(n) for n in _FMT_NAMES])      # [format index, NFMT]


def _compute_bits(fmt_idx: np.ndarray) -> np.ndarray:
    return _FMT_DESC[fmt_idx, F.BITS]


def _rate_class(fmt_idx: np.ndarray) -> np.ndarray:
    """Which matrix rate a compute format uses: 0 tf32/fp32, 1 16-bit, 2 8-bit, 3 6-bit, 4 4-bit
    (the kernel's `select_macs`)."""
    bits = _compute_bits(fmt_idx)
    return np.select([bits >= 32, bits >= 16, bits >= 8, bits >= 6], [0, 1, 2, 3], default=4)


def _matrix_rates(mach: np.ndarray) -> np.ndarray:
    """Dense matrix FLOP/s of the device per rate class, with the kernel's fallback (a 6/4-bit
    format the die lacks runs at its 8-bit rate)."""
    m8 = mach[IDX["macs_8"]]
    macs = np.array([mach[IDX["macs_32"]], mach[IDX["macs_16"]], m8,
                     mach[IDX["macs_6"]] or m8, mach[IDX["macs_4"]] or m8])
    return 2.0 * macs * mach[IDX["cores"]] * mach[IDX["clock_hz"]]


def _gemm_descriptors(cf, af, wf, act_quant=None):
    """Descriptor table and row index for GEMM rows: the compute format's descriptor with the
    activation (A) and weight (B) bytes per element of the formats actually stored, and the
    run-time activation quantisation of `act_quant` (as `gemm.gemm_time`'s argument)."""
    keys = cf.astype(np.int64) * (_NFORMATS * _NFORMATS) + af * _NFORMATS + wf
    uniq, rows = np.unique(keys, return_inverse=True)
    c, rest = np.divmod(uniq, _NFORMATS * _NFORMATS)
    a, w = np.divmod(rest, _NFORMATS)
    desc = _FMT_DESC[c].copy()
    desc[:, F.A_BYTES] = np.where(a == c, desc[:, F.A_BYTES], _FMT_DESC[a, F.A_BYTES])
    desc[:, F.B_BYTES] = np.where(w == c, desc[:, F.B_BYTES], _FMT_DESC[w, F.B_BYTES])
    # act_quant None: the GEMM API's serving default (gemm._descriptor): per-tensor FP8/INT8
    # activation scales are static, but the cast is its own kernel before the GEMM (launch +
    # 16-bit read + 8-bit write, QUANT_STATIC); block-scaled formats quantise activations at run
    # time (charged by the kernel). True: the dynamic per-tensor path (amax + cast) instead;
    # False: no quantisation anywhere.
    if act_quant is False:
        desc[:, F.QUANT] = F.QUANT_NONE
    elif act_quant is None:
        desc[:, F.QUANT] = np.where(desc[:, F.QUANT] == F.QUANT_TENSOR, F.QUANT_STATIC,
                                    desc[:, F.QUANT])
    return np.ascontiguousarray(desc), rows.astype(np.int64)


def _attention_descriptors(t, idx) -> np.ndarray:
    """float64[len(idx), NATTN] rows in the layout of attention.attention_descriptor."""
    cf = t.compute_fmt[idx].astype(np.int64)
    kf = t.kv_fmt[idx].astype(np.int64)
    dc, dk = _FMT_DESC[cf], _FMT_DESC[kf]
    bits = np.where(dc[:, F.BITS] >= 16, 16.0, 8.0)
    a = np.empty((len(idx), NATTN), dtype=np.float64)
    a[:, 0] = (t.kind[idx] == ATTN_DECODE).astype(np.float64)
    a[:, 1] = t.batch[idx]
    a[:, 2] = t.q_len[idx]
    a[:, 3] = t.kv_len[idx]          # keys attended per sequence, the new ones included
    a[:, 4] = t.heads[idx]
    a[:, 5] = t.kv_heads[idx]
    a[:, 6] = t.qk_head_dim[idx]
    a[:, 7] = t.v_head_dim[idx]
    a[:, 8] = t.window[idx]
    a[:, 9] = t.causal[idx]
    a[:, 10] = bits
    a[:, 11] = np.where(bits < 16, np.minimum(dc[:, F.ELEM_BYTES], 2.0), 2.0)
    a[:, 12] = dk[:, F.A_BYTES]
    a[:, 13] = (dk[:, F.ELEM_BYTES] < dc[:, F.ELEM_BYTES]).astype(np.float64)
    return a


# ----------------------------------------------------------------------------- collectives
# op-table kind -> kernel collective op code (collectives.OPS) and algorithm codes (ALGOS).
# Every algorithm the scope offers is evaluated and the fastest kept (what NCCL's tuner and
# TensorRT-LLM's custom all-reduce do): ring and tree everywhere, 'direct' one-shot
# peer-to-peer only on scope 1 (a switched scale-up domain such as NVSwitch; D2D rings and
# scale-out NICs have no all-to-all fabric).
_COMM_OP = {ALL_REDUCE: 0, ALL_GATHER: 1, REDUCE_SCATTER: 2, ALL_TO_ALL: 3, SEND_RECV: 4}
ALG_RING, ALG_TREE, ALG_DIRECT = 0, 1, 2


# ----------------------------------------------------------------------------- the engine
def simulate(arch, model, phase: str = "prefill", batch: int = 1, seq_len: int | None = None,
             context_len: int = 0, precision="bf16", mapping=None, *, tp: int = 1, pp: int = 1,
             ep: int = 1, dp: int = 1, attention_dp: int = 1,
             devices_per_package: int | None = None, chunk_context_len: int = 0,
             check_memory: bool = True, memory_utilization: float = 1.0,
             act_quant: bool | None = None) -> Result:
    """Simulate one design point and return a `Result`.

    arch: Architecture or bundled name; model: Model or bundled name.
    phase: 'prefill' (batch sequences of seq_len new tokens after context_len cached ones),
    'decode' (one step: batch sequences add seq_len tokens, default 1, to context_len cached
    ones), 'chunked' (a seq_len-token prefill chunk after chunk_context_len cached tokens riding
    with a decode batch at context_len).
    precision: preset name (bf16, fp8, mxfp4, w4a16, ...), a Precision, or None (checkpoint).
    mapping: a workload `Mapping`; its dies_per_package is read as devices per package (ranks a
    package holds). Without one, tp/pp/ep/dp/attention_dp build it, with devices_per_package
    (default 1: the whole package is one device) and the scale-up domain of the architecture.
    check_memory: run the workload's memory-fit check first (InfeasibleError with its message).
    act_quant: run-time activation quantisation before GEMMs, as `gemm_time`'s argument: None
    (serving default: per-tensor FP8/INT8 scales static, block-scaled formats quantised at run
    time), True (dynamic per-tensor quantisation charged too, as the measured torch flow),
    False (none).
    """
    from ..workload import Mapping

    if phase not in PHASES:
        raise SpecError(f"simulate: phase must be one of {', '.join(PHASES)}, got {phase!r}")
    if seq_len is None:
        if phase == "decode":
            seq_len = 1
        else:
            raise SpecError(f"simulate: phase {phase!r} needs seq_len (new tokens per sequence"
                            f"{' in the chunk' if phase == 'chunked' else ''})")
    a = _resolve_arch(arch)
    mdl = _resolve_model(model)
    if mapping is None:
        port = getattr(a, "scale_up", None)
        sup = int(getattr(port, "domain_size", 0) or 8)
        mapping = Mapping(tp=tp, pp=pp, ep=ep, dp=dp, attention_dp=attention_dp,
                          dies_per_package=int(devices_per_package or 1), scaleup_packages=sup)
    else:
        if not isinstance(mapping, Mapping):
            raise SpecError(f"simulate: mapping must be a workload Mapping, got "
                            f"{type(mapping).__name__}")
        if devices_per_package is not None and devices_per_package != mapping.dies_per_package:
            raise SpecError(f"simulate: devices_per_package={devices_per_package} disagrees with "
                            f"mapping.dies_per_package={mapping.dies_per_package}")
    dpp = mapping.dies_per_package
    mapping.validate(mdl.config)
    if precision is None:
        prec_name = "checkpoint"             # the model's native formats
    else:
        prec_name = precision if isinstance(precision, str) else \
            getattr(precision, "name", str(precision))

    pl = compile_design(a, dpp)
    if check_memory:
        if phase == "chunked":
            fit_kw = dict(phase="prefill", batch=batch + 1, seq_len=seq_len,
                          context_len=max(context_len, chunk_context_len))
        else:
            fit_kw = dict(phase=phase, batch=batch, seq_len=seq_len, context_len=context_len)
        _memory_fit(mdl, a, dpp, mapping, precision, memory_utilization, fit_kw,
                    float(pl.stack_capacity.sum()) if pl.memory_kind == "sram" else None)

    t = mdl.operators(phase, batch, seq_len, context_len, precision, mapping,
                      chunk_context_len=chunk_context_len)
    if act_quant not in (None, True, False):
        raise SpecError(f"simulate: act_quant must be None, True or False, got {act_quant!r}")
    # ranks fill packages in order: the first package holds min(devices, world) of them
    res = evaluate_rows(t, pl, act_quant, active=min(dpp, mapping.world))
    lat = float(res["total"].sum())
    if phase == "chunked":
        tokens = batch + seq_len
    else:
        tokens = batch * seq_len
    notes = res["notes"]
    missing = sorted(set(res["macs"]) - set(pl.peak_flops))
    if missing:
        notes.append(f"compute format(s) {', '.join(missing)} not native on "
                     f"{pl.device_dies[0][0]}: timed at the kernel's fallback rate (6/4-bit at "
                     f"the 8-bit rate; 16-bit on an 8-bit-only die at half of it)")
    return Result(
        arch=a.name, model=mdl.name, phase=phase, batch=int(batch), seq_len=int(seq_len),
        context_len=int(context_len), precision=str(prec_name),
        mapping=dict(tp=mapping.tp, pp=mapping.pp, ep=mapping.ep, dp=mapping.dp,
                     attention_dp=mapping.attention_dp,
                     scaleup_packages=mapping.scaleup_packages),
        devices_per_package=dpp, latency_s=lat,
        ttft_s=lat if phase == "prefill" else None,
        tpot_s=lat if phase in ("decode", "chunked") else None,
        tokens_per_s=tokens / lat if lat > 0 else 0.0, tokens_per_step=int(tokens),
        ops=res["ops"], stacks=res["stacks"], links=res["links"], ports=res["ports"],
        macs_by_format=res["macs"], vector_flops=res["vector_flops"],
        peak_flops=dict(pl.peak_flops), hbm_bandwidth_bytes_per_s=pl.hbm_bw, notes=notes)


class _Prep:
    """Everything `evaluate_rows` needs from an OpTable that does not depend on the architecture:
    kind masks, index arrays, kernel descriptors, collective buffer sizes, report columns.
    Op tables are memoised and read-only, so this is cached per table (`_prepare`)."""

    def __init__(self, t, act_quant=None):
        kind = np.asarray(t.kind, dtype=np.int64)
        self.n = n = len(kind)
        self.kind = kind
        self.rep = np.asarray(t.repeat, dtype=np.float64)
        self.is_gemm = (kind == GEMM) | (kind == GROUPED_GEMM)
        self.is_attn = (kind == ATTN_PREFILL) | (kind == ATTN_DECODE)
        self.is_vec = (kind == ELEMENTWISE) | (kind == REDUCTION) | (kind == GATHER)
        self.is_comm = kind >= ALL_REDUCE
        self.is_mat = self.is_gemm | self.is_attn
        self.act_in = np.asarray(t.act_in_bytes, dtype=np.float64)
        self.base_reads = np.asarray(t.weight_bytes + t.kv_read_bytes, dtype=np.float64)
        self.writes = np.asarray(t.act_out_bytes + t.kv_write_bytes, dtype=np.float64)
        self.flops = np.asarray(t.flops, dtype=np.float64)
        self.cf = np.asarray(t.compute_fmt, dtype=np.int64)
        self.rate_class = _rate_class(self.cf)
        self.scope = np.asarray(t.comm_scope, dtype=np.int64)
        # GEMM rows: a grouped GEMM is the m x (groups n) x k kernel (see the module docstring)
        gi = np.flatnonzero(self.is_gemm)
        self.gi = gi
        if len(gi):
            self.g_desc, self.g_rows = _gemm_descriptors(t.compute_fmt[gi], t.act_fmt[gi],
                                                         t.weight_fmt[gi], act_quant)
            self.g_m = np.ascontiguousarray(t.m[gi], dtype=np.int64)
            self.g_n = np.ascontiguousarray(t.n[gi] * np.maximum(t.groups[gi], 1), dtype=np.int64)
            self.g_k = np.ascontiguousarray(t.k[gi], dtype=np.int64)
            # the kernel's own compulsory operand bytes (A, B, C once each), to turn its traffic
            # into a re-fetch ratio for the row's exact bytes
            dr = self.g_desc[self.g_rows]
            self.g_abytes = self.g_m * self.g_k * dr[:, F.A_BYTES]
            self.g_bbytes = self.g_n * self.g_k * dr[:, F.B_BYTES]
            self.g_cbytes = self.g_m * self.g_n * dr[:, F.C_BYTES]
        self.ai = np.flatnonzero(self.is_attn)
        if len(self.ai):
            self.a_desc = np.ascontiguousarray(_attention_descriptors(t, self.ai))
        self.vi = np.flatnonzero(self.is_vec)
        self.v_flops = np.ascontiguousarray(self.flops[self.vi])
        self.v_zero = np.zeros(len(self.vi))
        ci = np.flatnonzero(self.is_comm)
        self.ci = ci
        if len(ci):
            ck = kind[ci]
            cn = np.maximum(np.asarray(t.comm_group[ci], dtype=np.float64), 1.0)
            cb = np.asarray(t.comm_bytes[ci], dtype=np.float64)
            self.c_scope = self.scope[ci]
            self.c_op = np.ascontiguousarray([_COMM_OP[int(k)] for k in ck], dtype=np.int64)
            # the kernel wants the rank's whole buffer: all-gather output, all-to-all send
            # buffer including its own share (the op table holds the shard / the bytes to others)
            self.c_nbytes = np.ascontiguousarray(np.select(
                [ck == ALL_GATHER, ck == ALL_TO_ALL],
                [cb * cn, cb * cn / np.maximum(cn - 1.0, 1.0)], default=cb))
            self.c_ranks = np.ascontiguousarray(cn)
            self.c_bus = np.select(
                [ck == ALL_REDUCE, (ck == ALL_GATHER) | (ck == REDUCE_SCATTER) | (ck == ALL_TO_ALL)],
                [2.0 * (cn - 1.0) / cn * self.c_nbytes, (cn - 1.0) / cn * self.c_nbytes],
                default=self.c_nbytes)
            self.c_active = (cn > 1.0) & (self.c_nbytes > 0)
            self.c_bus = np.where(self.c_active, self.c_bus, 0.0)
            self.c_direct = self.c_scope == 1
            self.c_algs = {a: np.full(len(ci), a, dtype=np.int64)
                           for a in (ALG_RING, ALG_TREE, ALG_DIRECT)}
        # report columns
        self.names = np.asarray(t.name, dtype=object)
        self.op_class = np.asarray(t.op_class, dtype=object)
        self.kind_names = np.array(KIND_NAMES, dtype=object)[kind]
        self.stage = np.asarray(t.stage, dtype=np.int64)
        self.repeat = np.asarray(t.repeat, dtype=np.int64)
        self.fmt_names = np.array(_FMT_NAMES, dtype=object)[self.cf]
        macs = {}
        for f in np.unique(self.cf[self.is_mat]):
            sel = self.is_mat & (self.cf == f)
            macs[_FMT_NAMES[f]] = float((self.flops[sel] * self.rep[sel]).sum() / 2.0)
        self.macs = macs
        self.vector_flops = float((self.flops[~self.is_mat] * self.rep[~self.is_mat]).sum())


_PREP: "OrderedDict[int, tuple]" = OrderedDict()


def _prepare(t, act_quant=None) -> _Prep:
    key = (id(t), act_quant)
    hit = _PREP.get(key)
    if hit is not None and hit[0] is t:
        return hit[1]
    p = _Prep(t, act_quant)
    _PREP[key] = (t, p)            # holding t keeps its id from being reused while cached
    if len(_PREP) > 256:
        _PREP.popitem(last=False)
    return p


def evaluate_rows(table, placement, act_quant=None, active=None, resource_rows=False) -> dict:
    """Time every row of an OpTable on a compiled placement: the engine's row evaluator.

    This is the one code path behind `simulate` (which calls it once per point and wraps the
    answer in a `Result`) and behind the batched sweep (`chipletarch.explore`, which calls it on
    the deduplicated rows of many points' tables). Each row is timed from its own columns and
    the placement only, so rows may be concatenated, deduplicated and sliced freely; the
    per-resource sums below, however, are over the whole table as given (× `repeat`).

    table: `chipletarch.workload.OpTable` (read-only; its preparation is cached per table).
    placement: `compile_design(arch, devices_per_package)`.
    act_quant: None / True / False, as `simulate`'s argument.
    active: devices of the package that run (the first ones; default all): a mapping with
    fewer ranks than devices leaves the others, their stacks and their traffic idle
    (`simulate` passes min(devices_per_package, mapping.world)).
    resource_rows: also return the per-row bytes behind the per-resource sums (the sweep prices
    them per row with `energy.resource_energy_pj`; `simulate` leaves them out).

    Returns a dict:
      ops: the `Result.ops` columns, one entry per table row (per device, per execution):
        name, op_class, kind, stage, repeat, time_s, total_time_s, bound_by, flops,
        hbm_bytes, l2_bytes, sram_bytes, d2d_bytes, network_bytes, tflops, compute_fmt,
        hbm_bytes_compulsory, l2_bytes_compulsory, sram_bytes_compulsory.
      total: float64[N], time_s × repeat (latency = total.sum()).
      stacks / links / ports: the `Result` per-resource dicts (package-wide: bytes,
        bandwidth_bytes_per_s, utilization, ...), summed over the table × repeat.
      macs: MACs per compute format (matrix rows × repeat); vector_flops; notes (list of str).
      resource_rows (only when asked): {"stacks", "links", "ports"} -> {name: float64[N]}, the
        package-wide bytes one execution of each row puts on that stack / link (both
        directions) / port, with the same routing as the sums: Σ rows × repeat = the sums' bytes.
    Raises InfeasibleError when a collective needs a path the package lacks.
    """
    t, pl = table, placement
    P = _prepare(t, act_quant)
    dpp = pl.devices_per_package
    active = dpp if active is None else max(1, min(int(active), dpp))
    if active == dpp:
        rfac, wfac = pl.read_factor, pl.write_factor
    else:
        rfac = pl.read_factor_by_device[:active].sum(axis=0)
        wfac = pl.write_factor_by_device[:active].sum(axis=0)
    mach = pl.machine
    n = P.n
    time = np.zeros(n)
    bound = np.full(n, B_OVERHEAD, dtype=np.int8)
    launch = mach[IDX["launch_s"]]
    per_s = mach[IDX["cores"]] * mach[IDX["clock_hz"]]

    # ---- bytes per level (compulsory). Activation inputs that fit the device L2 were just
    # written by the previous op and come from L2 (attention's kernel reads Q from memory).
    act_in = P.act_in
    warm = (act_in <= mach[IDX["l2_bytes"]]) & ~P.is_attn
    warm_in = np.where(warm, act_in, 0.0)
    reads = P.base_reads + (act_in - warm_in)
    writes = P.writes
    hbm = reads + writes
    l2 = hbm + warm_in
    sram = np.where(P.is_comm, 0.0, l2)

    # ---- GEMM and grouped GEMM: one batched kernel call per L2 warmth
    # The kernel also reports its traffic (memory bytes with panel re-fetch and the activation
    # quantisation pass; L2 -> SRAM bytes with every tile's re-read): the row's compulsory
    # bytes scale by the kernel's traffic / its own compulsory bytes (the ratio carries to a
    # grouped GEMM's exact expected bytes).
    gi = P.gi
    hbm_ratio = np.ones(n)
    l2_ratio = np.ones(n)
    if len(gi):
        gw = warm[gi]
        for w, sel in ((0, np.flatnonzero(~gw)), (1, np.flatnonzero(gw))):
            if not len(sel):
                continue
            ot = np.empty(len(sel))
            ob = np.empty(len(sel), dtype=np.int8)
            otr = np.empty((len(sel), 2))
            _ce.gemm_batch(mach, P.g_m[sel], P.g_n[sel], P.g_k[sel], P.g_desc,
                           P.g_rows[sel], ot, ob, w, otr)
            time[gi[sel]] = ot
            bound[gi[sel]] = _KERNEL_BOUND[ob]
            a_b, b_b, c_b = P.g_abytes[sel], P.g_bbytes[sel], P.g_cbytes[sel]
            a_mem = np.where((a_b <= mach[IDX["l2_bytes"]]) if w else False, 0.0, a_b)
            comp_mem = a_mem + b_b + c_b
            comp_l2 = a_b + b_b + c_b
            with np.errstate(divide="ignore", invalid="ignore"):
                hbm_ratio[gi[sel]] = np.where(comp_mem > 0, np.maximum(
                    1.0, otr[:, 0] / comp_mem), 1.0)
                l2_ratio[gi[sel]] = np.where(comp_l2 > 0, np.maximum(
                    1.0, (otr[:, 1] + c_b) / comp_l2), 1.0)

    # ---- attention
    ai = P.ai
    if len(ai):
        ot = np.empty(len(ai))
        ob = np.empty(len(ai), dtype=np.int8)
        # the RoPE / KV-append pre-pass of the measured attention op is the table's own rope and
        # kv_cache_write rows: the attention kernel here is timed without it
        _ce.attn_batch(mach, P.a_desc, ot, ob, 0)
        time[ai] = ot
        bound[ai] = _KERNEL_BOUND[ob]

    # ---- memory-bound vector ops: the kernel engineer's streaming model on the memory bytes,
    # held to the L2 read time of inputs that are still in L2
    # (one unchecked Cython loop, `stream_batch_raw`: the arrays are built here, non-negative and
    # of equal length; it equals elementwise_times held to the L2 read time, see
    # tests/test_simulate_core.py)
    vi = P.vi
    if len(vi):
        ot = np.empty(len(vi))
        ob = np.empty(len(vi), dtype=np.int8)
        _ce.stream_batch_raw(mach, reads[vi], writes[vi], P.v_flops, P.v_zero, warm_in[vi],
                             ot, ob)
        time[vi] = ot
        bound[vi] = _KERNEL_BOUND[ob]

    # ---- collectives over the scope's links (the fastest algorithm the scope offers)
    net = np.zeros(n)
    d2d_comm = np.zeros(n)
    ci = P.ci
    if len(ci):
        bw = pl.scope_bw[P.c_scope]
        if np.any((bw <= 0) & P.c_active):
            bad = sorted({("d2d", "scale_up", "scale_out")[s]
                          for s in P.c_scope[(bw <= 0) & P.c_active]})
            raise InfeasibleError(f"{pl.arch_name}: the mapping needs collectives over "
                                  f"{', '.join(bad)} but the package has no such path")
        lat = pl.scope_latency[P.c_scope]
        s0 = P.c_scope == 0
        if pl.rings and s0.any():
            # scope 0: the ring of the collective's own group size (dispatch per distinct size)
            bw, lat = bw.copy(), lat.copy()
            for size in np.unique(P.c_ranks[s0]):
                ring = pl.rings.get(int(size))
                if ring is not None:
                    sel = s0 & (P.c_ranks == size)
                    bw[sel], lat[sel] = ring[0], ring[1]
        bw = np.ascontiguousarray(np.where(bw > 0, bw, 1.0))
        lat = np.ascontiguousarray(lat)
        best_t = np.full(len(ci), np.inf)
        best_b = np.zeros(len(ci), dtype=np.int8)
        for alg in (ALG_RING, ALG_TREE, ALG_DIRECT):
            ok = P.c_direct if alg == ALG_DIRECT else None
            if ok is not None and not ok.any():
                continue
            ot = np.empty(len(ci))
            ob = np.empty(len(ci), dtype=np.int8)
            _ce.comm_batch(mach, P.c_op, P.c_algs[alg], P.c_nbytes, P.c_ranks, bw, lat, ot, ob)
            better = ot < best_t if ok is None else ok & (ot < best_t)
            best_t = np.where(better, ot, best_t)
            best_b = np.where(better, ob, best_b)
        time[ci] = np.where(P.c_active, best_t, 0.0)
        bound[ci] = np.where(best_b == 4, B_OVERHEAD,         # kernel code 4 = overhead
                             np.where(P.c_scope == 0, B_D2D, B_NETWORK))
        net[ci] = np.where(P.c_scope > 0, P.c_bus, 0.0)
        d2d_comm[ci] = np.where(P.c_scope == 0, P.c_bus, 0.0)

    # ---- remote memory share over D2D links: every (link, direction) is a bandwidth server
    nl = len(pl.links)
    if nl:
        link_dir_bytes = np.outer(reads, rfac) + np.outer(writes, wfac)
        if dpp > 1 and len(ci) and d2d_comm.any():
            # scope-0 collectives: each device sends its bus bytes to its ring neighbour
            for size in np.unique(P.c_ranks[P.c_scope == 0]):
                ring = pl.rings.get(int(size))
                fac = ring[2] if ring is not None else pl.ring_factor
                sel = np.zeros(n, dtype=bool)
                sel[ci[(P.c_scope == 0) & (P.c_ranks == size)]] = True
                link_dir_bytes += np.outer(np.where(sel, d2d_comm, 0.0), fac)
        dir_bw = pl.link_dir_bw()
        busiest = (link_dir_bytes / dir_bw).max(axis=1)       # seconds at peak
        body = busiest / mach[IDX["eff_link"]]
        t_link = launch + body
        lifted = (t_link > time) & ~P.is_comm   # a collective's own model paces its link
        time = np.where(lifted, t_link, time)
        bound = np.where(lifted, np.where(body >= launch, B_D2D, B_OVERHEAD),
                         bound).astype(np.int8)
        d2d = np.where(P.is_comm, d2d_comm, link_dir_bytes.sum(axis=1) / active)
    else:
        busiest = np.zeros(n)
        d2d = d2d_comm

    # traffic columns: compulsory bytes x the kernel's re-fetch ratio (GEMM rows; 1 elsewhere).
    # D2D links carry the compulsory bytes (above): re-fetch is served by the die's own L2 /
    # stacks in the interleave model, and the link model predates re-fetch reporting.
    hbm_t = hbm * hbm_ratio
    l2_t = l2 * l2_ratio
    sram_t = sram * l2_ratio

    # ---- roofline floor: no op faster than any resource it uses allows at peak (traffic bytes)
    peak = np.where(P.is_mat, _matrix_rates(mach)[P.rate_class], mach[IDX["vec_flops"]] * per_s)
    port_bw = pl.scope_bw[P.scope]
    port_bw = np.where(port_bw > 0, port_bw, np.inf)
    f_flop, f_mem, f_wire = P.flops / peak, hbm_t / mach[IDX["hbm_bw"]], (net + d2d_comm) / port_bw
    f_l2 = l2_t / mach[IDX["l2_bw"]]
    f_sram = sram_t / (mach[IDX["smem_bw"]] * per_s)
    floor = np.maximum(np.maximum(np.maximum(f_flop, f_mem), np.maximum(busiest, f_wire)),
                       np.maximum(f_l2, f_sram))
    low = time < floor * (1.0 - 1e-12)
    notes = []
    if low.any():
        which = np.stack([f_flop, f_mem, busiest, f_wire, f_l2, f_sram]).argmax(axis=0)
        fb = np.array([B_COMPUTE, B_HBM, B_D2D, B_NETWORK, B_L2, B_SRAM], dtype=np.int8)[which]
        time = np.where(low, floor, time)
        bound = np.where(low, fb, bound).astype(np.int8)
        names = P.names[low]
        notes.append(f"{int(low.sum())} op(s) ({', '.join(map(str, names[:4]))}"
                     f"{', ...' if len(names) > 4 else ''}) came out faster than their roofline "
                     f"in the kernel model and were held to it")

    total = time * P.rep
    with np.errstate(divide="ignore", invalid="ignore"):
        tflops = np.where(time > 0, P.flops / time / 1e12, 0.0)
    ops = {
        "name": P.names, "op_class": P.op_class, "kind": P.kind_names, "stage": P.stage,
        "repeat": P.repeat, "time_s": time, "total_time_s": total,
        "bound_by": _BOUND_NAMES[bound], "flops": P.flops, "hbm_bytes": hbm_t, "l2_bytes": l2_t,
        "sram_bytes": sram_t, "d2d_bytes": d2d, "network_bytes": net, "tflops": tflops,
        "compute_fmt": P.fmt_names,
        "hbm_bytes_compulsory": hbm, "l2_bytes_compulsory": l2, "sram_bytes_compulsory": sram,
    }

    # ---- per-resource totals (package-wide; every device runs the table)
    latency = float(total.sum())
    inv = 1.0 / latency if latency > 0 else 0.0
    hbm_tot = float(hbm_t @ P.rep)
    stack_route = pl.stack_share * (pl.stack_device < active)   # idle devices' stacks: 0
    sb = hbm_tot * stack_route
    su = sb / pl.stack_bw * inv
    stacks = {s: dict(bytes=float(sb[i]), bandwidth_bytes_per_s=float(pl.stack_bw[i]),
                      utilization=float(su[i]), device=int(pl.stack_device[i]),
                      kind=pl.memory_kind)
              for i, s in enumerate(pl.stacks)}
    links = {}
    if nl:
        per_dir = (P.rep @ link_dir_bytes).reshape(-1, 2)
        lb = per_dir.sum(axis=1)
        lu = per_dir.max(axis=1) / pl.link_bw * inv
        links = {name: dict(bytes=float(lb[j]), bandwidth_bytes_per_s=float(pl.link_bw[j]),
                            utilization=float(lu[j]), ends=list(pl.link_ends[j]))
                 for j, name in enumerate(pl.links)}
    ports = {}
    for s, key in ((1, "scale_up"), (2, "scale_out")):
        b = float((net * P.rep)[P.scope == s].sum()) * active
        bw = float(pl.scope_bw[s]) * dpp
        ports[key] = dict(bytes=b, bandwidth_bytes_per_s=bw,
                          utilization=b / bw * inv if bw > 0 else 0.0, label=pl.scope_label[s])
    out = dict(ops=ops, total=total, stacks=stacks, links=links, ports=ports, macs=P.macs,
               vector_flops=P.vector_flops, notes=notes)
    if resource_rows:
        # the routing of the sums above, row by row (every active device runs the row)
        sr = np.outer(hbm_t, stack_route)
        lr = link_dir_bytes[:, 0::2] + link_dir_bytes[:, 1::2] if nl else np.zeros((n, 0))
        out["resource_rows"] = {
            "stacks": {s: sr[:, i] for i, s in enumerate(pl.stacks)},
            "links": {name: lr[:, j] for j, name in enumerate(pl.links)},
            "ports": {key: np.where(P.scope == s, net, 0.0) * active
                      for s, key in ((1, "scale_up"), (2, "scale_out"))}}
    return out


# the former private name, kept for callers written before evaluate_rows was public
_evaluate = evaluate_rows

__all__ = ["simulate", "evaluate_rows", "KIND_NAMES", "PHASES"]
