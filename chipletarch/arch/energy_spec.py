"""The optional `energy:` block of an architecture: overrides of the energy model's defaults.

The energy model (chipletarch.energy, formulas and sources in docs/ENERGY_MODEL.md) derives every
coefficient from the catalog (process node's `logic_energy_scale`, memory generation and link
standard pJ/bit) and from shared/reference/ENERGY.md. A design that knows better — a measured
pJ/MAC, a different static-power share, a published SerDes energy — states it here:

    energy:
      mac_energy_pj: {bf16: 0.30, fp8_e4m3: 0.18}   # per MAC at this design's node and clock
      static_fraction: 0.3                          # of tdp_w
      source: "vendor briefing, 2025"

Every field is optional; None (left out) means "use the model's default". The spec layer only
validates ranges and canonicalises format names; the energy model owns the meaning.
"""
from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .units import NonNeg, PosInt, PosNum

__all__ = ["EnergySpec"]


class EnergySpec(BaseModel):
    """Energy-model overrides for one architecture (all optional; units in the field names)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mac_energy_pj: dict[str, PosNum] = Field(
        default_factory=dict,
        description="matrix-engine energy per MAC by number format, pJ, at this design's node and "
                    "nominal clock (replaces the Horowitz-derived value for the formats listed)")
    accumulate_every: Optional[PosInt] = Field(
        None, description="products summed by a fixed-point adder tree before one accumulator add "
                          "(default 1: an accumulator add per MAC, ENERGY.md §1's composition)")
    logic_energy_scale: Optional[PosNum] = Field(
        None, description="logic energy relative to 45 nm / 0.9 V for every die (default: each die's "
                          "process node catalog value)")
    vector_pj_per_flop: Optional[PosNum] = Field(
        None, description="vector/SFU energy per FLOP at this design's node, pJ (default: FP32 FMA / 2, scaled)")
    sram_pj_per_bit: Optional[PosNum] = Field(
        None, description="core-local SRAM access energy at this design's node, pJ/bit")
    cache_pj_per_bit: Optional[PosNum] = Field(
        None, description="shared cache / global buffer (L2, LLC) access energy, pJ/bit")
    port_pj_per_bit: Optional[PosNum] = Field(
        None, description="scale-up / scale-out energy for ports whose energy_pj_per_bit is not set, pJ/bit")
    static_fraction: Optional[float] = Field(
        None, ge=0, le=1, description="static (leakage + idle) power as a share of tdp_w")
    static_w: Optional[NonNeg] = Field(
        None, description="static power of the package logic, W (replaces static_fraction x tdp_w)")
    hbm_background_fraction: Optional[float] = Field(
        None, ge=0, le=1, description="memory background power as a share of the stacks' peak access power")
    link_standby_fraction: Optional[float] = Field(
        None, ge=0, le=1, description="die-to-die PHY standby power as a share of the links' peak power")
    source: str = Field("", description="where the overrides come from (free text)")

    @field_validator("mac_energy_pj", mode="before")
    @classmethod
    def _canonical_formats(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        from ..formats import get_format  # formats imports nothing from arch
        out: dict[str, Any] = {}
        for key, v in value.items():
            name = get_format(str(key)).name
            if name in out:
                raise ValueError(f"format '{key}' is listed twice (both name '{name}')")
            out[name] = v
        return out
