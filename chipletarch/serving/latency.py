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

Energy (optional): a phase latency may also carry `energy(phase, batch, seq_len, context_len,
chunk_context_len=0) -> joules` (the whole instance, one call of that phase) and `static_w` (the
instance's static power, W, all its packages). `SimLatency` gives both from the energy model
(`chipletarch.energy.energy_of` on the same Result, memoised apart from the latency, computed only
when asked); `HostOverhead` charges its extra per-iteration time at `static_w` (the package is
powered and idle while the host works). `Instance.energy` / `Instance.static_w` read them off the
latency (None for closed-form latencies without energy).
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
    (a chunked step's transient activations are not a capacity question).

    `energy(...)` (same arguments) gives the joules of the whole instance for that call:
    `energy_of` on the same Result, in its own exact-key cache, so latency-only use computes no
    energy. An energy miss runs the engine once and fills both caches (a later latency call of
    that key is a hit); the serving compositions ask energy before latency for that reason.
    `static_w`: static power of the instance, W (the energy model's per-package static power,
    `EnergyCoefficients.static_total_w`, x packages), what an idle step costs per second."""

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
        self._energy: dict = {}
        self._static_w: float | None = None
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
        r = self._simulate(key)
        self._cache[key] = r.latency_s
        return r.latency_s

    def _simulate(self, key):
        from ..engine.simulate import simulate
        phase, batch, seq_len, context_len, chunk_context_len = key
        self.calls += 1
        return simulate(self.arch, self.model, phase, batch=batch, seq_len=seq_len,
                        context_len=context_len, precision=self.precision, mapping=self.mapping,
                        chunk_context_len=chunk_context_len, check_memory=False,
                        act_quant=self.act_quant)

    def energy(self, phase, batch, seq_len=1, context_len=0, chunk_context_len=0) -> float:
        """Joules of the whole instance (all its packages) for one call of `phase`: the total of
        `energy_of` on the Result whose latency `__call__` returns (dynamic + static over that
        latency). Memoised; a miss also fills the latency cache."""
        key = (phase, int(batch), int(seq_len), int(context_len), int(chunk_context_len))
        hit = self._energy.get(key)
        if hit is not None:
            return hit
        from ..energy import energy_of
        r = self._simulate(key)
        rep = energy_of(r, self.arch)
        self._cache[key] = r.latency_s
        self._energy[key] = j = rep.total_j
        return j

    @property
    def static_w(self) -> float:
        """Static power of the whole instance, W: the energy model's static power of one package
        (logic static + memory background + D2D standby, `coefficients_of(arch).static_total_w`,
        what `energy_of` charges per package per second) x the packages of the mapping."""
        if self._static_w is None:
            from ..energy import coefficients_of
            self._static_w = coefficients_of(self.arch).static_total_w * self.packages
        return self._static_w

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
    context)` (default: always) bounds batches by memory; `label` names the mapping.
    `energy` / `static_w`: the latency's phase energy and static power (module docstring), None
    when it has none."""

    latency: PhaseFn
    packages: int = 1
    label: str = "instance"
    fits: Callable[[int, int], bool] = field(default=lambda b, c: True)

    @property
    def energy(self):
        return getattr(self.latency, "energy", None)

    @property
    def static_w(self):
        return getattr(self.latency, "static_w", None)

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
    wrapped latency's `Instance`.

    Energy: when the wrapped latency has `energy` and `static_w`, so does this; the extra time is
    idle time of the packages (the host, not the accelerator, is working), charged at the
    instance's static power: e = energy(...) + static_w x (fixed + per_sequence x n)."""

    def __init__(self, lat: PhaseFn, fixed_s: float = 0.0, per_sequence_s: float = 0.0):
        self.lat = lat
        self.fixed_s = float(fixed_s)
        self.per_sequence_s = float(per_sequence_s)
        if callable(getattr(lat, "energy", None)) and getattr(lat, "static_w", None) is not None:
            self.energy = self._energy

    energy = None                    # set per object when the wrapped latency has energy

    def overhead_s(self, phase, batch) -> float:
        """The per-iteration time this adds to a call of `phase` with `batch` sequences."""
        n = int(batch) + (1 if phase == "chunked" else 0)
        return self.fixed_s + self.per_sequence_s * n

    def __call__(self, phase, batch, seq_len=1, context_len=0, chunk_context_len=0) -> float:
        return (self.lat(phase, batch, seq_len, context_len, chunk_context_len)
                + self.overhead_s(phase, batch))

    def _energy(self, phase, batch, seq_len=1, context_len=0, chunk_context_len=0) -> float:
        return (self.lat.energy(phase, batch, seq_len, context_len, chunk_context_len)
                + self.static_w * self.overhead_s(phase, batch))

    @property
    def static_w(self):
        return getattr(self.lat, "static_w", None)


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
    return decode_step_energy(lat, None, batch, context)[0]


def phase_energy(lat: PhaseFn, energy, *args) -> tuple:
    """One phase call's (seconds, joules or None when `energy` is None). Energy is asked first:
    on `SimLatency` a miss simulates once and fills the latency cache too."""
    e = energy(*args) if energy is not None else None
    return lat(*args), e


def decode_step_energy(lat: PhaseFn, energy, batch: int, context: float) -> tuple:
    """`decode_step` and its energy: (seconds, joules or None when `energy` is None)."""
    if batch < 1:
        raise SpecError(f"decode_step: batch must be >= 1, got {batch}")
    return phase_energy(lat, energy, "decode", int(batch), 1, int(round(context)))


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
    return mixed_step_energy(lat, None, decode_batch, context, prefill_tokens, prompt_len)[0]


def mixed_step_energy(lat: PhaseFn, energy, decode_batch: int, context: float,
                      prefill_tokens: int, prompt_len: int) -> tuple:
    """`mixed_step` and its energy, composed term by term as the latency is: (seconds, joules,
    or None when `energy` is None). The attention correction of k whole prompts subtracts the
    energy difference of the same two prefills; where the floor wins the max, the floor step's
    energy is taken."""
    def call(*args):
        return phase_energy(lat, energy, *args)

    def minus(a, b):
        return None if a is None else a - b

    p = int(prefill_tokens)
    L = max(1, int(prompt_len))
    b = int(decode_batch)
    if p <= 0:
        return decode_step_energy(lat, energy, b, context)
    if p <= L:
        if b == 0:
            return call("prefill", 1, p, max(0, (L - p) // 2))
        return call("chunked", b, p, int(round(context)), max(0, (L - p) // 2))
    k = max(1, int(round(p / L)))
    # the over-count of k prompts as one sequence, measured on whole prompts (k L tokens)
    one, e_one = call("prefill", 1, k * L, 0)
    many, e_many = call("prefill", k, L, 0)
    corr, e_corr = one - many, minus(e_one, e_many)
    if b == 0:
        base, e_base = call("prefill", 1, p, 0)
        frac = min(1.0, p / (k * L))
        floor, e_floor = many * frac, (None if e_many is None else e_many * frac)
    else:
        base, e_base = call("chunked", b, p, int(round(context)), 0)
        floor, e_floor = decode_step_energy(lat, energy, b, context)
    t = max(base - corr, floor)
    if energy is None:
        return t, None
    return t, (e_base - e_corr if base - corr >= floor else e_floor)
