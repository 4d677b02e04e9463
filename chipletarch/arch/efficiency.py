"""Engine calibration parameters of an architecture (the optional `efficiency:` block).

These derate the ideal roofline of each resource class; the spec layer only validates ranges.
Meaning in the engine (docs/ENGINE.md; fitted values and how in docs/VALIDATION.md):
- matrix_efficiency: sustained share of matrix-engine peak at full occupancy (engine slots
  eff_mat_16, eff_mat_8 and eff_mat_attn; the shortfall scales with the share of cores busy);
- vector_efficiency: sustained share of SFU + FP32 vector peak in softmax-like work (eff_sfu);
- memory_efficiency: share of memory bandwidth reached by GEMMs and split-KV decode (eff_mem,
  attn_dec_eff_mem);
- link_efficiency: share of link bandwidth reached by collectives (eff_link);
- kernel_launch_overhead_us: fixed launch + sync cost per kernel (launch_s).
A field set in the YAML overrides; a field left unset keeps the H100 fit of
`chipletarch/engine/params.py` as the method (engine/placement.py applies this rule), so the
defaults below (ideal machine: 1.0 and no overhead) matter only to code that reads this block
directly, as the model's upper bound.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Efficiency(BaseModel):
    """Fraction of peak each resource sustains, and the fixed cost of a kernel launch."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    matrix_efficiency: float = Field(1.0, gt=0, le=1, description="fraction of matrix-engine peak sustained")
    vector_efficiency: float = Field(1.0, gt=0, le=1, description="fraction of vector/SFU peak sustained")
    memory_efficiency: float = Field(1.0, gt=0, le=1, description="fraction of DRAM stack bandwidth sustained")
    link_efficiency: float = Field(1.0, gt=0, le=1, description="fraction of D2D / scale-up link bandwidth sustained")
    kernel_launch_overhead_us: float = Field(0.0, ge=0, description="fixed time added per kernel, microseconds")
