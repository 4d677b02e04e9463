"""`simulate_with_energy`: simulate a design point, price its energy, and optionally throttle the
compute clock until the package's average power meets its TDP.

Throttling model (docs/ENERGY_MODEL.md "Throttling"), kept deliberately simple:

* DVFS on the compute dies only: clock f = s x f_nominal with supply voltage V ∝ f, so dynamic
  energy per core-domain operation (MAC, vector FLOP, SRAM bit) scales by s^2
  (`coefficients.dvfs_energy_scale`) and, at a fixed work rate, dynamic power by s^3. Memory
  stacks, die-to-die links, ports and the shared cache keep their energy per bit (own voltage
  domains); static power is held constant (conservative: leakage falls with V in reality).
* The design is re-simulated at the lower clock (`Architecture.evolve` of every compute die's
  `clock_ghz`), so compute-bound operators take longer while memory-bound ones barely change;
  static energy grows with the longer step.
* s is found by bisection on [MIN_CLOCK_SCALE, 1]: the largest s whose average package power is
  <= TDP (power is monotone in s in this model: energy per op falls as s^2 while time does not
  fall). Below MIN_CLOCK_SCALE = 0.5 a V ∝ f reduction is not credible; if even there the package
  exceeds TDP, the report at 0.5 is returned with a note saying so.
"""
from __future__ import annotations

from ..errors import SpecError
from . import coefficients as C
from .model import EnergyReport, energy_of

__all__ = ["simulate_with_energy", "with_clock_scale", "throttle_clock_scale", "request_energy"]


def with_clock_scale(arch, scale: float):
    """`arch` with every compute die's clock multiplied by `scale` (re-validated by evolve)."""
    from ..arch.schema import ComputeDie
    if not scale > 0:
        raise SpecError(f"clock scale must be > 0, got {scale}")
    if scale == 1.0:
        return arch
    dies = [d.evolve(clock_ghz=d.clock_ghz * scale) if isinstance(d, ComputeDie) else d for d in arch.dies]
    return arch.evolve(dies=dies)


def _load(arch):
    if isinstance(arch, str):
        from ..arch import load_architecture
        return load_architecture(arch)
    return arch


def simulate_with_energy(arch, model, phase: str = "prefill", *, throttle_to_tdp: bool = False,
                         tolerance: float = 0.002, **simulate_kwargs) -> EnergyReport:
    """Simulate (`chipletarch.simulate` with `simulate_kwargs`) and return its `EnergyReport`.

    With `throttle_to_tdp`, when the average package power exceeds `arch.tdp_w`, the compute clock
    is lowered (see the module docstring) until it does not, to within `tolerance` of the clock
    scale; the returned report is the throttled one (`clock_scale` < 1, `.result` the throttled
    simulation) and `.nominal` holds the unthrottled report.
    """
    from ..engine import simulate
    a = _load(arch)

    def at(scale: float) -> EnergyReport:
        r = simulate(with_clock_scale(a, scale), model, phase, **simulate_kwargs)
        return energy_of(r, a, clock_scale=scale)

    nominal = at(1.0)
    if not throttle_to_tdp:
        return nominal
    if nominal.tdp_w is None:
        nominal.notes.append("throttle_to_tdp: the architecture has no tdp_w; not throttled")
        return nominal
    if not nominal.tdp_exceeded:
        return nominal
    rep = throttle_clock_scale(at, nominal.tdp_w, tolerance)
    rep.nominal = nominal
    return rep


def throttle_clock_scale(at, tdp_w: float, tolerance: float = 0.002) -> EnergyReport:
    """Largest clock scale s in [MIN_CLOCK_SCALE, 1] with at(s).average_power_w <= tdp_w, by
    bisection; `at(s)` returns the EnergyReport at clock scale s. Pure in `at` (testable)."""
    lo = C.MIN_CLOCK_SCALE
    low = at(lo)
    if low.average_power_w > tdp_w:
        low.notes.append(f"throttle_to_tdp: even at {lo:g} x clock the package draws "
                         f"{low.average_power_w:.0f} W > TDP {tdp_w:.0f} W; the model stops at {lo:g} "
                         f"(V ∝ f below it is not credible)")
        return low
    hi, best = 1.0, low
    while hi - lo > tolerance:
        mid = 0.5 * (lo + hi)
        rep = at(mid)
        if rep.average_power_w <= tdp_w:
            lo, best = mid, rep
        else:
            hi = mid
    best.notes.append(f"throttle_to_tdp: compute clock x{best.clock_scale:.3f} (V ∝ f) to meet TDP "
                      f"{tdp_w:.0f} W")
    return best


def request_energy(arch, model, input_len: int, output_len: int, batch: int = 1, *,
                   throttle_to_tdp: bool = False, **simulate_kwargs) -> dict:
    """Energy of serving `batch` requests of `input_len` prompt and `output_len` generated tokens,
    phase by phase: one prefill of the prompts, then `output_len` decode steps, approximated by one
    decode step at the mean context `input_len + output_len // 2` (exact for every energy term
    linear in context — KV reads, attention FLOPs — and for the rest, which does not depend on it).

    Returns {prefill, decode (EnergyReports), prefill_j, decode_j (per request), j_per_request,
    j_per_output_token}. `simulate_kwargs` go to both simulations (precision, tp, ...).
    """
    if input_len < 1 or output_len < 1 or batch < 1:
        raise SpecError("request_energy: input_len, output_len and batch must be >= 1")
    pre = simulate_with_energy(arch, model, "prefill", batch=batch, seq_len=input_len,
                               throttle_to_tdp=throttle_to_tdp, **simulate_kwargs)
    dec = simulate_with_energy(arch, model, "decode", batch=batch, context_len=input_len + output_len // 2,
                               throttle_to_tdp=throttle_to_tdp, **simulate_kwargs)
    prefill_j = pre.total_j / batch
    decode_j = output_len * dec.total_j / batch          # one decode step makes one token per request
    total = prefill_j + decode_j
    return dict(prefill=pre, decode=dec, prefill_j=prefill_j, decode_j=decode_j, j_per_request=total,
                j_per_output_token=total / output_len)
