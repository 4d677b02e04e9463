"""Phase latencies for the serving layer: the one interface it needs from the engine.

Every serving model here is written against a *phase latency*: a callable

    lat(phase, batch, seq_len, context_len, chunk_context_len=0) -> seconds

with the arguments of `chipletarch.simulate` ('prefill': `batch` prompts of `seq_len` new tokens;
'decode': one step of `batch` sequences at `context_len` cached tokens; 'chunked': a `seq_len`-
token prefill chunk whose prompt already has `chunk_context_len` tokens cached, riding with a
decode batch of `batch` sequences at `context_len`). Tests drive the models with closed-form
latencies; production wires `SimLatency` (memoised `simulate` of one instance: architecture,
model, precision, mapping).

`Instance` = a phase latency + how many packages (chips) one copy of the mapping occupies.
`mixed_step` turns "decode batch + p prefill tokens of prompts of length L" into phase calls,
correcting the attention of a multi-prompt chunk (see its docstring).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

from ..errors import InfeasibleError, SpecError

PhaseFn = Callable[..., float]


class SimLatency:
    """Memoised `simulate` of one serving instance (the same (phase, batch, shape) recurs a lot:
    every batch of a sweep, every DES iteration). Exact-key cache; `calls` counts engine runs,
    `hits` cache hits. Memory is checked once per (batch, context) by `fits`, not on every call
    (a chunked step's transient activations are not a capacity question)."""

    def __init__(self, arch, model, precision="bf16", mapping=None, *, memory_utilization=0.9,
                 act_quant=None):
        from ..engine.simulate import _resolve_arch, _resolve_model
        from ..workload import Mapping
        self.arch = _resolve_arch(arch)
        self.model = _resolve_model(model)
        self.precision = precision
        if mapping is None:
            port = getattr(self.arch, "scale_up", None)
            mapping = Mapping(dies_per_package=1,
                              scaleup_packages=int(getattr(port, "domain_size", 0) or 8))
        self.mapping = mapping
        self.memory_utilization = memory_utilization
        self.act_quant = act_quant      # simulate's run-time activation quantisation switch
        self._cache: dict = {}
        self._fit: dict = {}
        self.calls = 0
        self.hits = 0

    @property
    def packages(self) -> int:
        """Packages one copy of the mapping occupies (ranks / dies per package, rounded up)."""
        return max(1, math.ceil(self.mapping.world / self.mapping.dies_per_package))

    def __call__(self, phase, batch, seq_len=1, context_len=0, chunk_context_len=0) -> float:
        key = (phase, int(batch), int(seq_len), int(context_len), int(chunk_context_len))
        hit = self._cache.get(key)
        if hit is not None:
            self.hits += 1
            return hit
        from ..engine.simulate import simulate
        self.calls += 1
        r = simulate(self.arch, self.model, phase, batch=int(batch), seq_len=int(seq_len),
                     context_len=int(context_len), precision=self.precision, mapping=self.mapping,
                     chunk_context_len=int(chunk_context_len), check_memory=False,
                     act_quant=self.act_quant)
        self._cache[key] = r.latency_s
        return r.latency_s

    def fits(self, batch: int, context_len: int) -> bool:
        """Do weights + KV cache of `batch` sequences at `context_len` fit (per package, at
        `memory_utilization`)? `batch` is per copy of the mapping; with attention-DP the copy
        holds attention_dp x that many sequences' KV split over its groups."""
        key = (int(batch), int(context_len))
        if key not in self._fit:
            from ..workload import check_memory_fit
            try:
                check_memory_fit(self.model, _Ranks(self.arch, self.mapping.dies_per_package),
                                 self.mapping, batch=int(batch),
                                 context_len=int(context_len), precision=self.precision,
                                 memory_utilization=self.memory_utilization)
                self._fit[key] = True
            except InfeasibleError:
                self._fit[key] = False
        return self._fit[key]

    def label(self) -> str:
        m = self.mapping
        s = f"tp{m.tp}"
        if m.pp > 1:
            s += f"pp{m.pp}"
        if m.ep > 1:
            s += f"ep{m.ep}"
        if m.attention_dp > 1:
            s += f"adp{m.attention_dp}"
        return s


class _Ranks:
    """What `check_memory_fit` reads of an architecture, with the mapping's ranks per package
    (it would otherwise take the die count: a multi-die package serving as one device, the
    serving default, holds one rank)."""

    def __init__(self, arch, ranks_per_package):
        self.memory_capacity_bytes = arch.memory_capacity_bytes
        self._n = int(ranks_per_package)

    def compute_die_instances(self):
        return [(f"rank{i}", None) for i in range(self._n)]


@dataclass
class Instance:
    """One serving instance: a phase latency and the packages it occupies. `fits(batch,
    context)` (default: always) bounds batches by memory; `label` names the mapping."""

    latency: PhaseFn
    packages: int = 1
    label: str = "instance"
    fits: Callable[[int, int], bool] = field(default=lambda b, c: True)

    @classmethod
    def simulated(cls, arch, model, precision="bf16", mapping=None, **kw) -> "Instance":
        s = SimLatency(arch, model, precision, mapping, **kw)
        return cls(latency=s, packages=s.packages, label=s.label(), fits=s.fits)


class HostOverhead:
    """A phase latency plus the serving framework's per-iteration cost that the kernels do not
    carry: t = lat(...) + fixed + per_sequence x (sequences in the iteration).

    `fixed` is what every iteration pays once (scheduling, input preparation, the launch or
    CUDA-graph replay, synchronisation, sampling launch); `per_sequence` what it pays for each
    sequence it carries (per-request bookkeeping, sampling and detokenising its token, KV block
    tables). Sequences per call: `batch` for 'decode' and 'prefill', `batch + 1` for 'chunked'
    (the decode batch plus the prompt the chunk belongs to). `mixed_step`'s attention correction
    for k whole prompts (prefill(1 x kL) - prefill(k x L)) then leaves exactly
    fixed + per_sequence x (decode batch + k). `fits`, `packages` and the like stay on the
    wrapped latency's `Instance`."""

    def __init__(self, lat: PhaseFn, fixed_s: float = 0.0, per_sequence_s: float = 0.0):
        self.lat = lat
        self.fixed_s = float(fixed_s)
        self.per_sequence_s = float(per_sequence_s)

    def __call__(self, phase, batch, seq_len=1, context_len=0, chunk_context_len=0) -> float:
        n = int(batch) + (1 if phase == "chunked" else 0)
        return (self.lat(phase, batch, seq_len, context_len, chunk_context_len)
                + self.fixed_s + self.per_sequence_s * n)


def with_host_overhead(inst: "Instance", fixed_s: float = 0.0,
                       per_sequence_s: float = 0.0) -> "Instance":
    """`inst` with `HostOverhead` on its phase latency (same packages, label, memory check);
    `inst` itself when both terms are zero."""
    if not fixed_s and not per_sequence_s:
        return inst
    return Instance(latency=HostOverhead(inst.latency, fixed_s, per_sequence_s),
                    packages=inst.packages, label=inst.label, fits=inst.fits)


def decode_step(lat: PhaseFn, batch: int, context: float) -> float:
    """One decode iteration of `batch` sequences at mean context `context` (tokens, rounded)."""
    if batch < 1:
        raise SpecError(f"decode_step: batch must be >= 1, got {batch}")
    return lat("decode", int(batch), 1, int(round(context)))


def mixed_step(lat: PhaseFn, decode_batch: int, context: float, prefill_tokens: int,
               prompt_len: int) -> float:
    """One continuous-batching iteration: `decode_batch` decode tokens (mean context `context`)
    plus `prefill_tokens` prompt tokens of prompts `prompt_len` long.

    * p <= L (a chunk of one prompt): the 'chunked' phase, the chunk's cached prefix set to the
      mean over a prompt's chunks, (L - p) / 2.
    * p > L (about k = round(p / L) whole prompts): the 'chunked' phase would make the p tokens
      one causal sequence (attention ~ p^2 instead of k L^2). The over-count is removed with two
      pure prefills of k L tokens, which differ only in that attention (weights, GEMM rows and
      collectives are identical): t = chunked(p) - [prefill(1 x kL) - prefill(k x L)].
    * no decode batch: a pure prefill step.
    """
    p = int(prefill_tokens)
    L = max(1, int(prompt_len))
    b = int(decode_batch)
    if p <= 0:
        return decode_step(lat, b, context)
    if p <= L:
        if b == 0:
            return lat("prefill", 1, p, max(0, (L - p) // 2))
        return lat("chunked", b, p, int(round(context)), max(0, (L - p) // 2))
    k = max(1, int(round(p / L)))
    # the over-count of k prompts as one sequence, measured on whole prompts (k L tokens)
    corr = lat("prefill", 1, k * L, 0) - lat("prefill", k, L, 0)
    if b == 0:
        base = lat("prefill", 1, p, 0)
        floor = lat("prefill", k, L, 0) * min(1.0, p / (k * L))
    else:
        base = lat("chunked", b, p, int(round(context)), 0)
        floor = decode_step(lat, b, context)
    return max(base - corr, floor)
