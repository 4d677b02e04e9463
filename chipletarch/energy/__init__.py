"""Energy model on top of the engine's counts: J per step and per token, by component and by
operator, average package power against TDP, and clock throttling to meet TDP.

    from chipletarch.energy import energy_of, simulate_with_energy
    rep = energy_of(chipletarch.simulate(arch, model, "decode", ...), arch)   # EnergyReport
    rep = simulate_with_energy(arch, model, "decode", batch=64, throttle_to_tdp=True, ...)
    req = request_energy(arch, model, input_len=1024, output_len=256, batch=32, precision="fp8")

Coefficients and their sources: `coefficients.py` (Horowitz 45 nm per-op energies scaled by the
catalog's process-node factor, SRAM/L2/HBM/D2D/port pJ per bit, static power as a share of TDP),
overridable per architecture in its `energy:` block (`chipletarch.arch.energy_spec.EnergySpec`).
The model, its scope and its limits: docs/ENERGY_MODEL.md; validation: docs/VALIDATION.md
"## Energy" (`python -m chipletarch.energy.validation`).
"""
from __future__ import annotations

from .model import (COMPONENTS, DYNAMIC_COMPONENTS, STATIC_COMPONENTS, EnergyCoefficients, EnergyReport,
                    coefficients_of, energy_of, full_load_power, gemm_energy, op_energy_pj,
                    resource_energy_pj)
from .throttle import request_energy, simulate_with_energy, throttle_clock_scale, with_clock_scale

__all__ = ["energy_of", "simulate_with_energy", "request_energy", "EnergyReport", "EnergyCoefficients", "coefficients_of",
           "full_load_power", "gemm_energy", "op_energy_pj", "resource_energy_pj", "with_clock_scale", "throttle_clock_scale", "COMPONENTS",
           "DYNAMIC_COMPONENTS", "STATIC_COMPONENTS"]
