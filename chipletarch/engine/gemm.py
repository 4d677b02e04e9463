"""Public GEMM timing API over the compiled core (`chipletarch._core.engine`).

`gemm_time` gives seconds for C[m,n] = A[m,k] B[k,n] on one die in one format; `gemm_time_bound`
adds which resource bound it; `gemm_times` evaluates arrays of GEMMs in one nogil call (what the
full-model engine uses). The model itself is described in docs/ENGINE.md.
"""
from __future__ import annotations

import numpy as np

from .._core import engine as _ce
from ..errors import SpecError
from . import fmt as F
from .machine import as_machine_array
from .reference import BOUND_NAMES


def _dim(x, name):
    try:
        v = int(x)
    except (TypeError, ValueError):
        raise SpecError(f"GEMM {name} must be an integer, got {x!r}") from None
    if v != x or v < 0:
        raise SpecError(f"GEMM {name} must be a non-negative integer, got {x!r}")
    return v


_DESC_CACHE: dict = {}


def _descriptor(fmt, act_quant):
    """Read-only operand descriptor of (fmt, act_quant), cached (see `_make_descriptor`)."""
    key = (fmt, act_quant)
    d = _DESC_CACHE.get(key)
    if d is None:
        d = _make_descriptor(fmt, act_quant)
        d.setflags(write=False)
        _DESC_CACHE[key] = d
    return d


def _make_descriptor(fmt, act_quant):
    """Operand descriptor with the run-time activation quantisation switched as asked.

    act_quant=None (default): block-scaled formats quantise activations at run time (a per-token
    group quantisation kernel runs before every GEMM in serving stacks); per-tensor FP8/INT8 use
    static, calibrated scales, but the cast still runs as its own kernel before the GEMM
    (TensorRT-LLM's PyTorch backend calls static_quantize_e4m3_per_tensor on any input not
    already FP8, vLLM's Fp8LinearOp calls scaled_fp8_quant with the static scale): one launch,
    read 16-bit, write 8-bit, no amax. True: charge the dynamic per-tensor path instead (amax +
    cast, as the measured torch flow does); False: never."""
    d = F.descriptor(fmt)
    if act_quant is False:
        d[F.QUANT] = F.QUANT_NONE
    elif act_quant is None and d[F.QUANT] == F.QUANT_TENSOR:
        d[F.QUANT] = F.QUANT_STATIC
    return d


def gemm_time_bound(machine, m, n, k, fmt="bf16", l2_warm=False,
                    act_quant=None) -> tuple[float, str]:
    """(seconds, bound-by) of one GEMM; bound-by is compute, sram, l2, hbm or overhead.

    l2_warm: the activation A was just written by the previous kernel (benchmark loop, or the op
    that produced it); if it fits in L2 it is read from there. act_quant: see `_descriptor`."""
    mach = as_machine_array(machine)
    t, b = _ce.gemm_one(mach, _dim(m, "m"), _dim(n, "n"), _dim(k, "k"),
                        _descriptor(fmt, act_quant), int(bool(l2_warm)))
    return t, BOUND_NAMES[b]


def gemm_time(machine, m, n, k, fmt="bf16", l2_warm=False, act_quant=None) -> float:
    """Seconds for C[m,n] = A[m,k] B[k,n] in format `fmt` (operands and compute) on one die."""
    return gemm_time_bound(machine, m, n, k, fmt, l2_warm, act_quant)[0]


def gemm_times(machine, m, n, k, fmt="bf16", l2_warm=False,
               act_quant=None, traffic=False):
    """Batched GEMM timing: arrays m, n, k (broadcast together) and a format name or an array of
    names. Returns (seconds float64[N], bound code int8[N]; names in BOUND_NAMES); with
    traffic=True also float64[N, 2]: memory bytes (incl. panel re-fetch and the activation
    quantisation pass) and L2 -> SRAM bytes (incl. every tile's re-read, split-K partials)."""
    mach = as_machine_array(machine)
    m, n, k = (np.asarray(a) for a in (m, n, k))
    try:
        m, n, k = np.broadcast_arrays(m, n, k)
    except ValueError as exc:
        raise SpecError(f"gemm_times: m, n, k do not broadcast: {exc}") from None
    m = np.ascontiguousarray(m.ravel(), dtype=np.int64)
    n = np.ascontiguousarray(n.ravel(), dtype=np.int64)
    k = np.ascontiguousarray(k.ravel(), dtype=np.int64)
    if m.size and min(m.min(), n.min(), k.min()) < 0:
        raise SpecError("gemm_times: dimensions must be >= 0")
    if isinstance(fmt, str):
        desc = _descriptor(fmt, act_quant)[None, :]
        rows = np.zeros(m.size, dtype=np.int64)
    else:
        names = np.asarray(fmt, dtype=object).ravel()
        if names.size != m.size:
            raise SpecError("gemm_times: one format per GEMM (or a single name) expected")
        uniq, rows = np.unique(names.astype(str), return_inverse=True)
        desc = np.stack([_descriptor(u, act_quant) for u in uniq])
        rows = rows.astype(np.int64)
    out_t = np.empty(m.size, dtype=np.float64)
    out_b = np.empty(m.size, dtype=np.int8)
    out_tr = np.empty((m.size, 2), dtype=np.float64) if traffic else None
    _ce.gemm_batch(mach, m, n, k, np.ascontiguousarray(desc), rows, out_t, out_b,
                   int(bool(l2_warm)), out_tr)
    if traffic:
        return out_t, out_b, out_tr
    return out_t, out_b
