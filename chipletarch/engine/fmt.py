"""Operand descriptors the engine needs per number format (bytes per element incl. block scales,
compute width, scale block along k, how activations are quantised at run time).

Sizes follow the format definitions of docs/ARCHITECTURE.md ("elements x element bits + one scale
per block"): OCP MX v1.0 for mx* (block 32, 8-bit E8M0 scale), NVFP4 (block 16, 8-bit E4M3
scale), DeepSeek-style `fp8_block` (FP32 scale per 1x128 activation block and per 128x128
weight block). The engine keeps this small table (rather than calling `chipletarch.formats` per
GEMM) because it is compiled into the float arrays the Cython core reads.
"""
from __future__ import annotations

import numpy as np

from ..errors import SpecError

# descriptor slots
A_BYTES, B_BYTES, C_BYTES, BITS, BLOCK_K, QUANT, ELEM_BYTES, TILE_N_GRANULE = range(8)
NFMT = 8
QUANT_NONE, QUANT_TENSOR, QUANT_BLOCK = 0, 1, 2
# static per-tensor scale: the serving stacks' separate quantise kernel (one read of the 16-bit
# activation, one write of the 8-bit copy, no amax); set by gemm/simulate, never a format's own
QUANT_STATIC = 3

_ALIASES = {
    "bfloat16": "bf16", "half": "fp16", "float16": "fp16", "float32": "fp32",
    "fp8": "fp8_e4m3", "mxfp8": "mxfp8_e4m3", "mxfp6": "mxfp6_e3m2", "mxfp4": "mxfp4_e2m1",
    "fp4": "nvfp4",
}

# name: (A bytes/elem, B bytes/elem, C bytes/elem, compute bits, block_k, quant kind, elem bytes,
#        N granule of a CTA tile: a weight scale block of 128 columns must not straddle tiles)
_TABLE = {
    "fp32": (4.0, 4.0, 4.0, 32, 0, QUANT_NONE, 4.0, 1),
    "tf32": (4.0, 4.0, 4.0, 32, 0, QUANT_NONE, 4.0, 1),
    "bf16": (2.0, 2.0, 2.0, 16, 0, QUANT_NONE, 2.0, 1),
    "fp16": (2.0, 2.0, 2.0, 16, 0, QUANT_NONE, 2.0, 1),
    # per-tensor scaled 8-bit: one scale per tensor (negligible bytes), dynamic activation scale
    "fp8_e4m3": (1.0, 1.0, 2.0, 8, 0, QUANT_TENSOR, 1.0, 1),
    "fp8_e5m2": (1.0, 1.0, 2.0, 8, 0, QUANT_TENSOR, 1.0, 1),
    "int8": (1.0, 1.0, 2.0, 8, 0, QUANT_TENSOR, 1.0, 1),
    "int4": (0.5, 0.5, 2.0, 4, 0, QUANT_TENSOR, 0.5, 1),
    # block scaled: activation 1x128 FP32 scale, weight 128x128 FP32 scale
    "fp8_block": (1.0 + 4.0 / 128, 1.0 + 4.0 / (128 * 128), 2.0, 8, 128, QUANT_BLOCK, 1.0, 128),
    "mxfp8_e4m3": (1.0 + 1.0 / 32, 1.0 + 1.0 / 32, 2.0, 8, 32, QUANT_BLOCK, 1.0, 1),
    "mxfp8_e5m2": (1.0 + 1.0 / 32, 1.0 + 1.0 / 32, 2.0, 8, 32, QUANT_BLOCK, 1.0, 1),
    "mxint8": (1.0 + 1.0 / 32, 1.0 + 1.0 / 32, 2.0, 8, 32, QUANT_BLOCK, 1.0, 1),
    "mxfp6_e3m2": (0.75 + 1.0 / 32, 0.75 + 1.0 / 32, 2.0, 6, 32, QUANT_BLOCK, 0.75, 1),
    "mxfp6_e2m3": (0.75 + 1.0 / 32, 0.75 + 1.0 / 32, 2.0, 6, 32, QUANT_BLOCK, 0.75, 1),
    "mxfp4_e2m1": (0.5 + 1.0 / 32, 0.5 + 1.0 / 32, 2.0, 4, 32, QUANT_BLOCK, 0.5, 1),
    "nvfp4": (0.5 + 1.0 / 16, 0.5 + 1.0 / 16, 2.0, 4, 16, QUANT_BLOCK, 0.5, 1),
}


def canonical(fmt: str) -> str:
    if not isinstance(fmt, str):
        raise SpecError(f"format must be a string, got {type(fmt).__name__}")
    name = _ALIASES.get(fmt.lower(), fmt.lower())
    if name not in _TABLE:
        raise SpecError(f"unknown GEMM format {fmt!r}; known: {', '.join(sorted(_TABLE))}")
    return name


def descriptor(fmt: str) -> np.ndarray:
    """float64[NFMT] operand descriptor of a format (see slot names at the top)."""
    return np.array(_TABLE[canonical(fmt)], dtype=np.float64)


def known_formats() -> list[str]:
    return sorted(_TABLE)
