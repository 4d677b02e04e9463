"""Attention timing API: FlashAttention-style causal prefill and split-KV decode on one die.

The model (in `_core/engine.pyx`, mirrored in `reference.py`): prefill runs one CTA per
(sequence, head, 128-row query tile) over 128-key tiles, each tile costing the slowest of its two
MMAs, its softmax (exp on the special-function units + FP32 vector work) and its K/V fill, with
causal and sliding-window masks deciding how many key tiles each query tile visits; the CTAs'
uneven work spreads over the cores (time >= total / cores and >= the longest CTA). Decode splits
each sequence's KV cache into chunks (chosen like a tile search, or by the library's own
window-blind rule where the machine says so: `dec_split_rule`) so that batch x KV heads x
splits CTAs fill the cores; the GQA group of query heads shares every K/V load (MLA is the
kv_heads=1 case with its own qk/v head dims), and the kernel family follows the KV format (a
grouped CTA on a 16-bit cache costs `attn_dec_cta16_s` of SM time more). See docs/ENGINE.md.
"""
from __future__ import annotations

import numpy as np

from .._core import engine as _ce
from ..errors import SpecError
from . import fmt as F
from .machine import as_machine_array
from .reference import BOUND_NAMES

NATTN = 14
PHASES = {"prefill": 0, "context": 0, "decode": 1, "generation": 1}


def _pos_int(v, name, allow_zero=False):
    try:
        iv = int(v)
    except (TypeError, ValueError):
        raise SpecError(f"attention {name} must be an integer, got {v!r}") from None
    if iv != v or iv < (0 if allow_zero else 1):
        raise SpecError(f"attention {name} must be {'>= 0' if allow_zero else '>= 1'}, got {v!r}")
    return iv


def attention_descriptor(phase, batch, seq_len, context_len, heads, kv_heads, head_dim,
                         fmt="bf16", kv_fmt=None, window=0, v_head_dim=None,
                         causal=True) -> np.ndarray:
    """float64[NATTN] descriptor read by the Cython core (slot order in engine.pyx A_*)."""
    if phase not in PHASES:
        raise SpecError(f"attention phase must be one of {sorted(PHASES)}, got {phase!r}")
    batch = _pos_int(batch, "batch")
    seq_len = _pos_int(seq_len, "seq_len")
    context_len = _pos_int(context_len, "context_len", allow_zero=True)
    heads = _pos_int(heads, "heads")
    kv_heads = _pos_int(kv_heads, "kv_heads")
    head_dim = _pos_int(head_dim, "head_dim")
    v_head_dim = head_dim if v_head_dim is None else _pos_int(v_head_dim, "v_head_dim")
    window = _pos_int(window, "window", allow_zero=True)
    if heads % kv_heads:
        raise SpecError(f"heads ({heads}) must be a multiple of kv_heads ({kv_heads})")
    d = F.descriptor(fmt)
    kd = F.descriptor(kv_fmt if kv_fmt is not None else fmt)
    bits = 16.0 if d[F.BITS] >= 16 else 8.0
    # K/V stored narrower than the math format are converted on the vector units
    convert = 1.0 if kd[F.ELEM_BYTES] < d[F.ELEM_BYTES] else 0.0
    return np.array([PHASES[phase], batch, seq_len, context_len + seq_len, heads, kv_heads,
                     head_dim, v_head_dim, window, 1.0 if causal else 0.0, bits,
                     min(d[F.ELEM_BYTES], 2.0) if bits < 16 else 2.0, kd[F.A_BYTES], convert],
                    dtype=np.float64)


def attention_time_bound(machine, phase, batch, seq_len, context_len, heads, kv_heads, head_dim,
                         fmt="bf16", kv_fmt=None, window=0, v_head_dim=None, causal=True):
    """(seconds, bound-by) of one attention call (one layer, this die's heads)."""
    a = attention_descriptor(phase, batch, seq_len, context_len, heads, kv_heads, head_dim, fmt,
                             kv_fmt, window, v_head_dim, causal)
    t, b = _ce.attn_one(as_machine_array(machine), a)
    return t, BOUND_NAMES[b]


def attention_time(machine, phase, batch, seq_len, context_len, heads, kv_heads, head_dim,
                   fmt="bf16", kv_fmt=None, window=0, v_head_dim=None, causal=True) -> float:
    """Seconds of one attention call.

    phase: "prefill" (seq_len new tokens per sequence after context_len cached ones, causal) or
    "decode" (seq_len, normally 1, new tokens attending to context_len cached + themselves).
    heads / kv_heads: query / KV heads on this die; head_dim: Q/K head size; v_head_dim: V size
    (MLA), default head_dim; fmt: math format; kv_fmt: KV-cache format (default fmt);
    window: sliding-window length (0 = full)."""
    return attention_time_bound(machine, phase, batch, seq_len, context_len, heads, kv_heads,
                                head_dim, fmt, kv_fmt, window, v_head_dim, causal)[0]


def attention_times(machine, descriptors) -> tuple[np.ndarray, np.ndarray]:
    """Batched: descriptors float64[N, NATTN] (rows from attention_descriptor)."""
    a = np.ascontiguousarray(descriptors, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != NATTN:
        raise SpecError(f"attention descriptors must have shape (N, {NATTN})")
    out_t = np.empty(a.shape[0])
    out_b = np.empty(a.shape[0], dtype=np.int8)
    _ce.attn_batch(as_machine_array(machine), a, out_t, out_b)
    return out_t, out_b
