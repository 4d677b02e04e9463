"""Memory fit: weights + KV cache + activations of each rank against a package's capacity.

`check_memory_fit(model, arch, mapping, batch, context_len, precision)` adds, for every rank of
the mapping, its resident weights (all experts of its EP group, not only those touched), its
share of the KV cache after the step (context_len + seq_len tokens per sequence; sliding-window
layers keep only `window` tokens; MLA's latent cache is replicated on every attention-TP rank,
a KV head shared by several TP ranks is stored on each) and a transient-activation estimate (the
largest operator's input + output plus the residual stream), then sums the ranks that share a
package and compares with `arch.memory_capacity_bytes` (duck-typed: any object with that
attribute works; `compute_die_instances()`, when present, sets how many ranks share a
package). When it does not fit, `InfeasibleError` says how many GiB are missing and what would
fit (largest batch at this context, largest context at this batch).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .. import formats
from ..errors import InfeasibleError, SpecError
from .mapping import Mapping
from .model import Model, _cdiv

GIB = 2 ** 30


@dataclass(frozen=True)
class MemoryFit:
    """Per-package memory use of the fullest package (bytes) and its capacity."""

    weights: float
    kv_cache: float
    activations: float
    capacity: float
    ranks_per_package: int

    @property
    def total(self) -> float:
        return self.weights + self.kv_cache + self.activations

    @property
    def headroom(self) -> float:
        return self.capacity - self.total

    def __str__(self):
        return (f"{self.total / GIB:.2f} GiB of {self.capacity / GIB:.2f} GiB per package "
                f"(weights {self.weights / GIB:.2f}, KV cache {self.kv_cache / GIB:.2f}, "
                f"activations {self.activations / GIB:.2f}; {self.ranks_per_package} rank(s) "
                f"per package)")


def kv_cache_bytes_per_rank(model: Model, mapping: Mapping, batch: int, tokens: int,
                            precision=None) -> list:
    """KV-cache bytes held by one rank of each stage: `batch` sequences of `tokens` tokens."""
    c = model.config
    p = model.resolve_precision(precision)
    ta = mapping.attn_tp
    seqs = _cdiv(_cdiv(batch, mapping.dp), mapping.attention_dp)
    if c.mla:
        per_tok = c.kv_lora_rank + c.qk_rope_head_dim
    else:
        per_tok = max(1, c.num_kv_heads // ta) * (c.head_dim + c.v_head_dim)
    lps = c.num_layers // mapping.pp
    out = []
    for s in range(mapping.pp):
        elems = 0
        for i in range(s * lps, (s + 1) * lps):
            w = c.layer_window[i]
            elems += seqs * (min(tokens, w) if w else tokens) * per_tok
        out.append(float(formats.tensor_bytes(elems, p.kv)))
    return out


def _usage(model, mapping, batch, context_len, precision, phase, seq_len, weights):
    """(weights, kv, act) bytes per package of the fullest package."""
    if phase == "decode":
        t = model.operators("decode", batch, seq_len, context_len, precision, mapping)
    else:
        t = model.operators("prefill", batch, seq_len, context_len, precision, mapping)
    kv = kv_cache_bytes_per_rank(model, mapping, batch, context_len + seq_len, precision)
    comm = t.is_comm()
    act_peak = float(((t.act_in_bytes + t.act_out_bytes) * ~comm).max())
    resid = formats.tensor_bytes(t.meta["tokens_per_rank"] * model.config.hidden_size,
                                 model.resolve_precision(precision).act)
    act = act_peak + resid
    dpp = mapping.dies_per_package
    best = None
    n_pk = _cdiv(mapping.world, dpp)
    # replicas are identical: the first replica's packages (+1 for a misaligned one) suffice
    for pk in range(min(n_pk, _cdiv(mapping.pp * mapping.tp, dpp) + 1)):
        w = k = a = 0.0
        nr = 0
        for r in range(pk * dpp, min((pk + 1) * dpp, mapping.world)):
            s = (r // mapping.tp) % mapping.pp
            w += weights[s]
            k += kv[s]
            a += act
            nr += 1
        if best is None or w + k + a > sum(best[:3]):
            best = (w, k, a, nr)
    return best


def check_memory_fit(model, arch, mapping: Mapping | None = None, batch: int = 1,
                     context_len: int = 0, precision=None, *, phase: str = "decode",
                     seq_len: int = 1, memory_utilization: float = 1.0) -> MemoryFit:
    """Check that weights + KV cache + activations fit each package; return the usage.

    `batch` sequences (whole deployment) with `context_len` cached tokens run a `phase` step of
    `seq_len` new tokens. `memory_utilization` is the usable fraction of the capacity (e.g. 0.9,
    vLLM's default gpu_memory_utilization, to leave room for the runtime); 1.0 counts all of it.
    Raises InfeasibleError with the missing GiB and what would fit.
    """
    if not 0 < memory_utilization <= 1:
        raise SpecError(f"check_memory_fit: memory_utilization must be in (0, 1], got "
                        f"{memory_utilization!r}")
    if not isinstance(model, Model):
        from .model import load_model
        model = load_model(model)
    mapping = mapping if mapping is not None else Mapping()
    try:
        capacity = float(arch.memory_capacity_bytes) * memory_utilization
    except AttributeError:
        raise SpecError("check_memory_fit: arch needs a memory_capacity_bytes attribute") from None
    if phase not in ("decode", "prefill"):
        raise SpecError(f"check_memory_fit: phase must be 'decode' or 'prefill', got {phase!r}")
    # The package's real die count decides which ranks share its memory.
    dies = getattr(arch, "compute_die_instances", None)
    if dies is not None:
        n = len(dies())
        if n and n != mapping.dies_per_package:
            mapping = dataclasses.replace(mapping, dies_per_package=n)
    weights = model.resident_weight_bytes(precision, mapping)

    def fits(b, ctx):
        w, k, a, _ = _usage(model, mapping, b, ctx, precision, phase, seq_len, weights)
        return w + k + a <= capacity

    w, k, a, nr = _usage(model, mapping, batch, context_len, precision, phase, seq_len, weights)
    fit = MemoryFit(w, k, a, capacity, nr)
    if fit.total <= capacity:
        return fit
    missing = (fit.total - capacity) / GIB
    msg = (f"{model.name} does not fit: needs {fit.total / GIB:.2f} GiB per package "
           f"(weights {w / GIB:.2f}, KV cache {k / GIB:.2f} for batch {batch} x "
           f"{context_len + seq_len} tokens, activations {a / GIB:.2f}) but a package has "
           f"{capacity / GIB:.2f} GiB: {missing:.2f} GiB missing "
           f"(mapping tp={mapping.tp} pp={mapping.pp} ep={mapping.ep} dp={mapping.dp} "
           f"attention_dp={mapping.attention_dp}, {nr} rank(s) per package).")
    if w >= capacity:
        msg += (f" The weights alone exceed the capacity by {(w - capacity) / GIB:.2f} GiB: use "
                f"more packages (tp/pp/ep) or narrower weights.")
        raise InfeasibleError(msg)
    hints = []
    if batch > 1 and fits(1, context_len):
        lo, hi = 1, batch          # lo fits, hi does not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if fits(mid, context_len) else (lo, mid)
        hints.append(f"largest batch at context {context_len}: {lo}")
    if context_len > 0 and fits(batch, 0):
        lo, hi = 0, context_len
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if fits(batch, mid) else (lo, mid)
        hints.append(f"largest context at batch {batch}: {lo} tokens")
    msg += " What fits: " + ("; ".join(hints) if hints else
                             "nothing at this batch and context; reduce both") + "."
    raise InfeasibleError(msg)
