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
peak for its compute format, its memory bytes at peak stack bandwidth, its D2D bytes at peak link
bandwidth or its wire bytes at peak port bandwidth. Rows lifted to the floor are counted in
`Result.notes` (a kernel that beats its roofline is a model gap to report, not a result).

Latency: the sum of time x repeat over every row (with pp > 1 the table holds every stage's
rows, so the sum is one request's trip through all stages). TTFT (prefill) or TPOT (decode) =
latency; tokens/s = batch x tokens per sequence per step / latency (one batch in flight; no
pipelining of micro-batches across stages).
"""
from __future__ import annotations

import dataclasses
import math
from collections import OrderedDict

import numpy as np

from .. import formats as _formats
from .._core import engine as _ce
from ..errors import InfeasibleError, SpecError
from . import fmt as F
from .attention import NATTN
from .elementwise import elementwise_times
from .machine import IDX
from .placement import compile_design
from .result import BOUNDS, Result

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

_ARCHS: "OrderedDict[str, object]" = OrderedDict()


# ----------------------------------------------------------------------------- inputs
def _resolve_arch(arch):
    if isinstance(arch, str):
        hit = _ARCHS.get(arch)
        if hit is None:
            from ..arch import load_architecture
            hit = load_architecture(arch)
            _ARCHS[arch] = hit
            if len(_ARCHS) > 32:
                _ARCHS.popitem(last=False)
        return hit
    if not hasattr(arch, "compute_die_instances") or not hasattr(arch, "to_graph"):
        raise SpecError(f"simulate: arch must be an Architecture or a name, got "
                        f"{type(arch).__name__}")
    return arch


def _resolve_model(model):
    from ..workload import Model, load_model
    if isinstance(model, Model):
        return model
    if isinstance(model, str):
        return load_model(model)
    raise SpecError(f"simulate: model must be a Model or a name, got {type(model).__name__}")


class _Devices:
    """What `check_memory_fit` duck-types: the package's capacity and its ranks (devices)."""

    def __init__(self, arch, n):
        self.memory_capacity_bytes = arch.memory_capacity_bytes
        self._n = n

    def compute_die_instances(self):
        return [(f"device{i}", None) for i in range(self._n)]


# ----------------------------------------------------------------------------- format tables
_NFORMATS = len(_formats.FORMATS)
_FMT_NAMES = tuple(_formats.format_by_index(i).name for i in range(_NFORMATS))
_FMT_DESC = np.stack([F.descriptor(n) for n in _FMT_NAMES])      # [format index, NFMT]


def _compute_bits(fmt_idx: np.ndarray) -> np.ndarray:
    return _FMT_DESC[fmt_idx, F.BITS]


def _matrix_peak(mach: np.ndarray, fmt_idx: np.ndarray) -> np.ndarray:
    """Dense matrix FLOP/s of the device per row's compute format, with the kernel's fallback
    (a 6/4-bit format the die lacks runs at its 8-bit rate)."""
    bits = _compute_bits(fmt_idx)
    m8 = mach[IDX["macs_8"]]
    m6 = mach[IDX["macs_6"]] or m8
    m4 = mach[IDX["macs_4"]] or m8
    macs = np.select([bits >= 32, bits >= 16, bits >= 8, bits >= 6],
                     [mach[IDX["macs_32"]], mach[IDX["macs_16"]], m8, m6], default=m4)
    return 2.0 * macs * mach[IDX["cores"]] * mach[IDX["clock_hz"]]


def _gemm_descriptors(cf, af, wf):
    """Descriptor table and row index for GEMM rows: the compute format's descriptor with the
    activation (A) and weight (B) bytes per element of the formats actually stored."""
    keys = cf.astype(np.int64) * (_NFORMATS * _NFORMATS) + af * _NFORMATS + wf
    uniq, rows = np.unique(keys, return_inverse=True)
    c, rest = np.divmod(uniq, _NFORMATS * _NFORMATS)
    a, w = np.divmod(rest, _NFORMATS)
    desc = _FMT_DESC[c].copy()
    desc[:, F.A_BYTES] = np.where(a == c, desc[:, F.A_BYTES], _FMT_DESC[a, F.A_BYTES])
    desc[:, F.B_BYTES] = np.where(w == c, desc[:, F.B_BYTES], _FMT_DESC[w, F.B_BYTES])
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
# op-table kind -> kernel collective op code (collectives.OPS) and algorithm codes (ALGOS)
_COMM_OP = {ALL_REDUCE: 0, ALL_GATHER: 1, REDUCE_SCATTER: 2, ALL_TO_ALL: 3, SEND_RECV: 4}
ALG_RING, ALG_TREE, ALG_DIRECT = 0, 1, 2


def _collective_times(mach, kind, comm_bytes, ranks, bw, lat, scope):
    """Seconds, bus bytes per rank on the wire, and latency-bound flags of collectives, with the
    kernel engineer's model (`_core.engine.comm_batch`). Every algorithm the scope offers is
    evaluated and the fastest kept (what NCCL's tuner and TensorRT-LLM's custom all-reduce
    do): ring and tree everywhere, 'direct' one-shot peer-to-peer only on scope 1 (a switched
    scale-up domain such as NVSwitch; D2D rings and scale-out NICs have no all-to-all fabric).

    `comm_bytes` follows the op-table contract (all-reduce the full tensor, all-gather the shard
    a rank contributes, reduce-scatter the full input, all-to-all the bytes sent to other
    ranks, send/recv the bytes sent); the kernel wants the rank's whole buffer (all-gather
    output, all-to-all send buffer including its own share), converted here."""
    n = np.maximum(ranks.astype(np.float64), 1.0)
    op = np.array([_COMM_OP[int(k)] for k in kind], dtype=np.int64) if len(kind) else \
        np.zeros(0, dtype=np.int64)
    nbytes = np.select([kind == ALL_GATHER, kind == ALL_TO_ALL],
                       [comm_bytes * n, comm_bytes * n / np.maximum(n - 1.0, 1.0)],
                       default=comm_bytes).astype(np.float64)
    bus = np.select([kind == ALL_REDUCE, (kind == ALL_GATHER) | (kind == REDUCE_SCATTER)
                     | (kind == ALL_TO_ALL)],
                    [2.0 * (n - 1.0) / n * nbytes, (n - 1.0) / n * nbytes], default=nbytes)
    active = (n > 1.0) & (nbytes > 0)
    bw_safe = np.ascontiguousarray(np.where(bw > 0, bw, 1.0), dtype=np.float64)
    lat = np.ascontiguousarray(lat, dtype=np.float64)
    best_t = np.full(len(kind), np.inf)
    best_b = np.zeros(len(kind), dtype=np.int8)
    for alg in (ALG_RING, ALG_TREE, ALG_DIRECT):
        ok = np.ones(len(kind), dtype=bool) if alg != ALG_DIRECT else (scope == 1)
        if not ok.any():
            continue
        out_t = np.empty(len(kind))
        out_b = np.empty(len(kind), dtype=np.int8)
        _ce.comm_batch(mach, op, np.full(len(kind), alg, dtype=np.int64),
                       np.ascontiguousarray(nbytes), np.ascontiguousarray(n), bw_safe, lat,
                       out_t, out_b)
        better = ok & (out_t < best_t)
        best_t = np.where(better, out_t, best_t)
        best_b = np.where(better, out_b, best_b)
    t = np.where(active, best_t, 0.0)
    return t, np.where(active, bus, 0.0), best_b == 4     # kernel code 4 = overhead


# ----------------------------------------------------------------------------- the engine
def simulate(arch, model, phase: str = "prefill", batch: int = 1, seq_len: int | None = None,
             context_len: int = 0, precision="bf16", mapping=None, *, tp: int = 1, pp: int = 1,
             ep: int = 1, dp: int = 1, attention_dp: int = 1,
             devices_per_package: int | None = None, chunk_context_len: int = 0,
             check_memory: bool = True, memory_utilization: float = 1.0) -> Result:
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
    """
    from ..workload import Mapping, check_memory_fit

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
    prec_name = precision if isinstance(precision, str) or precision is None else \
        getattr(precision, "name", str(precision))

    if check_memory:
        if phase == "chunked":
            fit_kw = dict(phase="prefill", batch=batch + 1, seq_len=seq_len,
                          context_len=max(context_len, chunk_context_len))
        else:
            fit_kw = dict(phase=phase, batch=batch, seq_len=seq_len, context_len=context_len)
        check_memory_fit(mdl, _Devices(a, dpp), mapping, precision=precision,
                         memory_utilization=memory_utilization, **fit_kw)

    t = mdl.operators(phase, batch, seq_len, context_len, precision, mapping,
                      chunk_context_len=chunk_context_len)
    pl = compile_design(a, dpp)
    res = _evaluate(t, pl)
    lat = float(res["total"].sum())
    if phase == "chunked":
        tokens = batch + seq_len
    else:
        tokens = batch * seq_len
    notes = res["notes"]
    missing = sorted({_FMT_NAMES[i] for i in np.unique(t.compute_fmt[np.isin(t.kind, MATRIX_KINDS)])}
                     - set(pl.peak_flops))
    if missing:
        notes.append(f"compute format(s) {', '.join(missing)} not native on "
                     f"{pl.device_dies[0][0]}: timed at the die's 8-bit rate (emulation)")
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


def _evaluate(t, pl) -> dict:
    """Time every row of OpTable `t` on placement `pl`; per-op columns and per-resource sums."""
    mach = pl.machine
    n = len(t)
    kind = np.asarray(t.kind, dtype=np.int64)
    rep = np.asarray(t.repeat, dtype=np.float64)
    time = np.zeros(n)
    bound = np.full(n, B_OVERHEAD, dtype=np.int8)
    launch = mach[IDX["launch_s"]]
    l2cap = mach[IDX["l2_bytes"]]

    is_gemm = (kind == GEMM) | (kind == GROUPED_GEMM)
    is_attn = (kind == ATTN_PREFILL) | (kind == ATTN_DECODE)
    is_vec = (kind == ELEMENTWISE) | (kind == REDUCTION) | (kind == GATHER)
    is_comm = kind >= ALL_REDUCE

    # ---- bytes per level (compulsory). Activation inputs that fit the device L2 were just
    # written by the previous op and come from L2 (attention's kernel reads Q from memory).
    act_in = np.asarray(t.act_in_bytes)
    warm = (act_in <= l2cap) & ~is_attn
    reads = t.weight_bytes + t.kv_read_bytes + np.where(warm, 0.0, act_in)
    writes = t.act_out_bytes + t.kv_write_bytes
    hbm = reads + writes
    l2 = hbm + np.where(warm, act_in, 0.0)
    sram = np.where(is_comm, 0.0, l2)

    # ---- GEMM and grouped GEMM: one batched kernel call per L2-warmth
    if is_gemm.any():
        gi = np.flatnonzero(is_gemm)
        groups = np.maximum(t.groups[gi], 1)
        desc, rows = _gemm_descriptors(t.compute_fmt[gi], t.act_fmt[gi], t.weight_fmt[gi])
        m = np.ascontiguousarray(t.m[gi], dtype=np.int64)
        nn = np.ascontiguousarray(t.n[gi] * groups, dtype=np.int64)
        k = np.ascontiguousarray(t.k[gi], dtype=np.int64)
        out_t = np.empty(len(gi))
        out_b = np.empty(len(gi), dtype=np.int8)
        for w in (0, 1):
            sel = np.flatnonzero(warm[gi] == bool(w))
            if not len(sel):
                continue
            ot = np.empty(len(sel))
            ob = np.empty(len(sel), dtype=np.int8)
            _ce.gemm_batch(mach, m[sel], nn[sel], k[sel], desc, np.ascontiguousarray(rows[sel]),
                           ot, ob, w)
            out_t[sel] = ot
            out_b[sel] = ob
        time[gi] = out_t
        bound[gi] = _KERNEL_BOUND[out_b]

    # ---- attention
    if is_attn.any():
        ai = np.flatnonzero(is_attn)
        desc = _attention_descriptors(t, ai)
        out_t = np.empty(len(ai))
        out_b = np.empty(len(ai), dtype=np.int8)
        _ce.attn_batch(mach, desc, out_t, out_b)
        time[ai] = out_t
        bound[ai] = _KERNEL_BOUND[out_b]

    # ---- memory-bound vector ops: the kernel engineer's streaming model on the memory bytes,
    # held to the L2 read time of inputs that are still in L2
    if is_vec.any():
        vi = np.flatnonzero(is_vec)
        t_ew = elementwise_times(mach, reads[vi], writes[vi], t.flops[vi])
        per_s = mach[IDX["cores"]] * mach[IDX["clock_hz"]]
        t_mem = (reads[vi] + writes[vi]) / (mach[IDX["hbm_bw"]] * mach[IDX["eff_stream"]])
        t_l2 = np.where(warm[vi], act_in[vi], 0.0) / mach[IDX["l2_bw"]]
        t_vec = t.flops[vi] / (mach[IDX["vec_flops"]] * per_s)
        time[vi] = np.maximum(t_ew, launch + t_l2)
        body = time[vi] - launch
        b = np.where(t_vec >= np.maximum(t_mem, t_l2), B_COMPUTE,
                     np.where(t_mem >= t_l2, B_HBM, B_L2))
        bound[vi] = np.where(launch > body, B_OVERHEAD, b)

    # ---- collectives over the scope's links
    net = np.zeros(n)
    d2d_comm = np.zeros(n)
    if is_comm.any():
        ci = np.flatnonzero(is_comm)
        scope = np.asarray(t.comm_scope[ci], dtype=np.int64)
        bw = pl.scope_bw[scope]
        lat = pl.scope_latency[scope]
        ranks = np.asarray(t.comm_group[ci])
        if np.any((bw <= 0) & (ranks > 1)):
            bad = sorted({("d2d", "scale_up", "scale_out")[s] for s in scope[(bw <= 0) & (ranks > 1)]})
            raise InfeasibleError(f"{pl.arch_name}: the mapping needs collectives over "
                                  f"{', '.join(bad)} but the package has no such path")
        ct, bus, lat_bound = _collective_times(mach, kind[ci], np.asarray(t.comm_bytes[ci]),
                                               ranks, bw, lat, scope)
        time[ci] = ct
        bound[ci] = np.where(lat_bound, B_OVERHEAD, np.where(scope == 0, B_D2D, B_NETWORK))
        net[ci] = np.where(scope > 0, bus, 0.0)
        d2d_comm[ci] = np.where(scope == 0, bus, 0.0)

    # ---- remote memory share over D2D links: every (link, direction) is a bandwidth server
    nl = len(pl.links)
    link_dir_bytes = None
    if nl:
        link_dir_bytes = np.outer(reads, pl.read_factor) + np.outer(writes, pl.write_factor)
        if pl.devices_per_package > 1 and (d2d_comm > 0).any():
            # scope-0 collectives: each device sends its bus bytes to its ring neighbour
            link_dir_bytes += np.outer(d2d_comm, pl.ring_factor)
        dir_bw = pl.link_dir_bw() * mach[IDX["eff_link"]]
        t_link = (link_dir_bytes / dir_bw).max(axis=1)
        lifted = launch + t_link > time
        lifted &= ~is_comm            # a collective's own model already paces its link
        time = np.where(lifted, launch + t_link, time)
        bound = np.where(lifted, B_D2D, bound).astype(np.int8)
    d2d = (link_dir_bytes.sum(axis=1) / pl.devices_per_package if nl else np.zeros(n))
    d2d = np.where(is_comm, d2d_comm, d2d) if nl else d2d_comm

    # ---- roofline floor: no op faster than any resource it uses allows at peak
    cf = np.asarray(t.compute_fmt, dtype=np.int64)
    peak = np.where(np.isin(kind, MATRIX_KINDS), _matrix_peak(mach, cf),
                    mach[IDX["vec_flops"]] * mach[IDX["cores"]] * mach[IDX["clock_hz"]])
    scope_col = np.asarray(t.comm_scope, dtype=np.int64)
    port_bw = np.where(pl.scope_bw[scope_col] > 0, pl.scope_bw[scope_col], np.inf)
    floors = np.stack([
        t.flops / peak,
        hbm / mach[IDX["hbm_bw"]],
        (link_dir_bytes / pl.link_dir_bw()).max(axis=1) if nl else np.zeros(n),
        (net + d2d_comm) / port_bw,
    ])
    floor = floors.max(axis=0)
    low = time < floor * (1.0 - 1e-12)
    notes = []
    if low.any():
        which = floors.argmax(axis=0)
        fb = np.array([B_COMPUTE, B_HBM, B_D2D, B_NETWORK], dtype=np.int8)[which]
        time = np.where(low, floor, time)
        bound = np.where(low, fb, bound).astype(np.int8)
        notes.append(f"{int(low.sum())} op(s) ({', '.join(map(str, t.name[low][:4]))}"
                     f"{', ...' if low.sum() > 4 else ''}) came out faster than their roofline "
                     f"in the kernel model and were held to it")

    total = time * rep
    flops = np.asarray(t.flops, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        tflops = np.where(time > 0, flops / time / 1e12, 0.0)
    ops = {
        "name": np.asarray(t.name, dtype=object),
        "op_class": np.asarray(t.op_class, dtype=object),
        "kind": np.array([KIND_NAMES[k] for k in kind], dtype=object),
        "stage": np.asarray(t.stage, dtype=np.int64),
        "repeat": np.asarray(t.repeat, dtype=np.int64),
        "time_s": time,
        "total_time_s": total,
        "bound_by": np.array(BOUNDS, dtype=object)[bound],
        "flops": flops,
        "hbm_bytes": hbm,
        "l2_bytes": l2,
        "sram_bytes": sram,
        "d2d_bytes": d2d,
        "network_bytes": net,
        "tflops": tflops,
        "compute_fmt": np.array(_FMT_NAMES, dtype=object)[cf],
    }

    # ---- per-resource totals (package-wide; every device runs the table)
    latency = float(total.sum())
    hbm_tot = float((hbm * rep).sum())
    stacks = {}
    for i, s in enumerate(pl.stacks):
        b = hbm_tot * pl.stack_share[i]
        stacks[s] = dict(bytes=b, bandwidth_bytes_per_s=float(pl.stack_bw[i]),
                         utilization=b / (pl.stack_bw[i] * latency) if latency > 0 else 0.0,
                         device=int(pl.stack_device[i]))
    links = {}
    if nl:
        per_dir = (link_dir_bytes * rep[:, None]).sum(axis=0)
        for j, name in enumerate(pl.links):
            two = per_dir[2 * j:2 * j + 2]
            links[name] = dict(bytes=float(two.sum()), bandwidth_bytes_per_s=float(pl.link_bw[j]),
                               utilization=float(two.max() / (pl.link_bw[j] * latency))
                               if latency > 0 else 0.0,
                               ends=list(pl.link_ends[j]))
    ports = {}
    for s, key in ((1, "scale_up"), (2, "scale_out")):
        sel = is_comm & (scope_col == s)
        b = float((net[sel] * rep[sel]).sum()) * pl.devices_per_package
        bw = float(pl.scope_bw[s]) * pl.devices_per_package
        ports[key] = dict(bytes=b, bandwidth_bytes_per_s=bw,
                          utilization=b / (bw * latency) if latency > 0 and bw > 0 else 0.0,
                          label=pl.scope_label[s])
    mat = np.isin(kind, MATRIX_KINDS)
    macs = {}
    for f in np.unique(cf[mat]):
        sel = mat & (cf == f)
        macs[_FMT_NAMES[f]] = float((flops[sel] * rep[sel]).sum() / 2.0)
    return dict(ops=ops, total=total, stacks=stacks, links=links, ports=ports, macs=macs,
                vector_flops=float((flops[~mat] * rep[~mat]).sum()), notes=notes)


__all__ = ["simulate", "KIND_NAMES", "PHASES"]
