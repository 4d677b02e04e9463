"""Engine calibration parameters of an architecture (the optional `efficiency:` block).

These derate the ideal roofline of each resource class. The engine engineer owns the meaning and
fitted values of these fields (fits on shared/reference/silicon H100 measurements, documented in
the engine docs); the spec layer only validates ranges. Defaults are the ideal machine: every
efficiency 1.0 and no launch overhead, i.e. the model's upper bound, not a fitted value.
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
