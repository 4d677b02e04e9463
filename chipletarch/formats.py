"""Number formats: the registry every layer uses for bits, block sizes and tensor sizes.

This module is the single source of truth for

* `FORMATS` / `get_format(name)`: every number format chipletarch knows (IEEE-style floats,
  FP8, OCP Microscaling MX formats, NVFP4, DeepSeek-style block FP8, integers), with element
  width, exponent/mantissa split, block size, scale width and format, effective storage bits per
  element, max normal and min subnormal;
* `tensor_bytes(numel, fmt, block_axis_len=None)`: the bytes a tensor occupies in a format
  (elements plus one scale per block). No other module computes tensor sizes;
* `Precision` / `PRECISIONS` / `get_precision(name)`: whole-model presets (weights,
  activations, KV cache, matrix-engine compute format).

The MX numerics (`mx_encode`, `mx_decode`, `mx_quantize`, `mx_error_stats`, `MXArray`) live in
`chipletarch.mx` over the compiled `chipletarch._core.mx` and are re-exported here lazily, so that
importing the registry never needs the compiled extension.

Sources of the numbers: OCP Microscaling Formats (MX) v1.0 specification (element formats,
E8M0 scale, block size 32, emax), OCP 8-bit Floating Point Specification (OFP8) v1.0 (E4M3 "fn"
and E5M2), IEEE 754-2019 (fp32, fp16), bfloat16 / TF32 as defined by Google and NVIDIA,
NVIDIA's NVFP4 description (Blackwell: E2M1 elements, E4M3 scale per 16 elements, plus an FP32
per-tensor scale) and DeepSeek-V3 technical report (FP8 E4M3 with one FP32 scale per 1x128
activation tile / 128x128 weight block). docs/FORMATS.md has the table and the derivations.
"""
from __future__ import annotations

import difflib
import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Union

import numpy as np

from .errors import SpecError

__all__ = [
    "Format", "FORMATS", "FORMAT_ALIASES", "get_format", "format_by_index", "tensor_bytes",
    "Precision", "PRECISIONS", "get_precision",
]


@dataclass(frozen=True)
class Format:
    """One number format.

    Attributes:
        name: canonical lower-case name (a key of `FORMATS`).
        index: stable small integer, the position in `FORMATS` (used in numpy op tables).
        family: "float" (IEEE-like, no scale in the tensor), "int" (integer, no scale in the
            tensor), "mx" (OCP MX: power-of-two E8M0 scale per block), "nvfp4" (E4M3 scale per
            block), "block_fp8" (FP32 scale per block).
        element_bits: bits one element occupies in memory (TF32 is stored in 32-bit containers).
        exp_bits, man_bits: exponent and mantissa (fraction) field widths of the element; integers
            have exp_bits 0 and man_bits = element_bits - 1 (magnitude bits; MXINT8's implicit
            2^-6 shows in max_normal and min_subnormal).
        block_size: elements sharing one scale, or 0 when the tensor carries no per-block scale
            (per-tensor / per-channel scale factors are a handful of bytes of metadata and are not
            counted in tensor sizes).
        scale_bits: width of one block scale (0 if block_size is 0).
        scale_format: "e8m0", "e4m3", "fp32" or "" (none).
        bits_per_element: effective storage bits per element for full blocks,
            element_bits + scale_bits / block_size (MXFP8 8.25, MXFP4 4.25, NVFP4 4.5).
        max_normal: largest finite element value before the block scale is applied (for MX
            formats this is the element's max normal, e.g. 448 for E4M3, 6 for E2M1).
        min_subnormal: smallest positive element value (the integer step for integer formats).
        min_normal: smallest positive normal element value (the step for integer formats).
        emax: exponent of the largest power of two the element holds (OCP MX "emax_elem").
        description: one line for listings.
    """

    name: str
    index: int
    family: str
    element_bits: int
    exp_bits: int
    man_bits: int
    block_size: int
    scale_bits: int
    scale_format: str
    bits_per_element: float
    max_normal: float
    min_subnormal: float
    min_normal: float
    emax: int
    description: str

    @property
    def is_block_scaled(self) -> bool:
        """True if the tensor stores one scale per `block_size` elements."""
        return self.block_size > 0

    @property
    def is_mx(self) -> bool:
        """True for the OCP Microscaling formats (E8M0 power-of-two scale per 32)."""
        return self.family == "mx"

    @property
    def bytes_per_element(self) -> float:
        """Effective bytes per element for whole blocks (bits_per_element / 8)."""
        return self.bits_per_element / 8.0

    def __str__(self) -> str:
        return self.name


def _fp(name, bits, e, m, *, bias=None, ieee_inf=True, family="float", block=0, scale_bits=0,
        scale_format="", container_bits=None, desc=""):
    """Build a floating-point Format from its field widths.

    bias defaults to 2^(e-1) - 1. `ieee_inf` says whether the all-ones exponent is reserved for
    Inf/NaN (IEEE, E5M2); OCP E4M3 "fn" reserves only S.1111.111 for NaN, and the FP6/FP4
    elements of MX reserve nothing, so their top exponent holds normal values.
    """
    if bias is None:
        bias = 2 ** (e - 1) - 1
    top_exp = (2 ** e - 2) if ieee_inf else (2 ** e - 1)
    emax = top_exp - bias
    if ieee_inf:
        max_normal = (2.0 - 2.0 ** -m) * 2.0 ** emax
    elif e == 4 and m == 3:  # OFP8 E4M3: mantissa 111 at the top exponent is NaN
        max_normal = (2.0 - 2.0 ** -(m - 1)) * 2.0 ** emax
    else:  # FP6 / FP4: every code is a finite number
        max_normal = (2.0 - 2.0 ** -m) * 2.0 ** emax
    emin = 1 - bias
    stored = container_bits if container_bits is not None else bits
    bpe = stored + (scale_bits / block if block else 0.0)
    return dict(name=name, family=family, element_bits=stored, exp_bits=e, man_bits=m,
                block_size=block, scale_bits=scale_bits, scale_format=scale_format,
                bits_per_element=bpe, max_normal=max_normal,
                min_subnormal=2.0 ** (emin - m), min_normal=2.0 ** emin, emax=emax,
                description=desc)


def _int(name, bits, *, frac_bits=0, family="int", block=0, scale_bits=0, scale_format="",
         desc=""):
    """Build a symmetric two's-complement integer Format (the most negative code is unused)."""
    qmax = 2 ** (bits - 1) - 1
    step = 2.0 ** -frac_bits
    bpe = bits + (scale_bits / block if block else 0.0)
    return dict(name=name, family=family, element_bits=bits, exp_bits=0, man_bits=bits - 1,
                block_size=block, scale_bits=scale_bits, scale_format=scale_format,
                bits_per_element=bpe, max_normal=qmax * step, min_subnormal=step,
                min_normal=step, emax=int(math.floor(math.log2(qmax * step))),
                description=desc)


_SPECS = [
    _fp("fp32", 32, 8, 23, desc="IEEE 754 binary32"),
    _fp("tf32", 19, 8, 10, container_bits=32,
        desc="NVIDIA TensorFloat-32: fp32 range, 10-bit mantissa, stored as fp32"),
    _fp("bf16", 16, 8, 7, desc="bfloat16"),
    _fp("fp16", 16, 5, 10, desc="IEEE 754 binary16"),
    _fp("fp8_e4m3", 8, 4, 3, ieee_inf=False,
        desc="OCP FP8 E4M3 (fn), per-tensor scale kept outside the tensor"),
    _fp("fp8_e5m2", 8, 5, 2, desc="OCP FP8 E5M2, per-tensor scale kept outside the tensor"),
    _fp("mxfp8_e4m3", 8, 4, 3, ieee_inf=False, family="mx", block=32, scale_bits=8,
        scale_format="e8m0", desc="OCP MX: FP8 E4M3 elements, E8M0 scale per 32"),
    _fp("mxfp8_e5m2", 8, 5, 2, family="mx", block=32, scale_bits=8, scale_format="e8m0",
        desc="OCP MX: FP8 E5M2 elements, E8M0 scale per 32"),
    _fp("mxfp6_e3m2", 6, 3, 2, ieee_inf=False, family="mx", block=32, scale_bits=8,
        scale_format="e8m0", desc="OCP MX: FP6 E3M2 elements, E8M0 scale per 32"),
    _fp("mxfp6_e2m3", 6, 2, 3, ieee_inf=False, family="mx", block=32, scale_bits=8,
        scale_format="e8m0", desc="OCP MX: FP6 E2M3 elements, E8M0 scale per 32"),
    _fp("mxfp4_e2m1", 4, 2, 1, ieee_inf=False, family="mx", block=32, scale_bits=8,
        scale_format="e8m0", desc="OCP MX: FP4 E2M1 elements, E8M0 scale per 32"),
    _int("mxint8", 8, frac_bits=6, family="mx", block=32, scale_bits=8, scale_format="e8m0",
         desc="OCP MX: INT8 elements (implicit 2^-6), E8M0 scale per 32"),
    _int("int8", 8, desc="INT8, per-tensor/per-channel scale kept outside the tensor"),
    _int("int4", 4, desc="INT4, per-tensor/per-channel scale kept outside the tensor"),
    _fp("nvfp4", 4, 2, 1, ieee_inf=False, family="nvfp4", block=16, scale_bits=8,
        scale_format="e4m3",
        desc="NVIDIA NVFP4: E2M1 elements, E4M3 scale per 16 (+ one fp32 per tensor)"),
    _fp("fp8_block", 8, 4, 3, ieee_inf=False, family="block_fp8", block=128, scale_bits=32,
        scale_format="fp32", desc="DeepSeek-style FP8 E4M3, fp32 scale per 128 elements"),
]

FORMATS: "OrderedDict[str, Format]" = OrderedDict(
    (spec["name"], Format(index=i, **spec)) for i, spec in enumerate(_SPECS)
)
_BY_INDEX = tuple(FORMATS.values())

# Aliases accepted on input (architecture YAML, CLI, Python); always canonicalised.
FORMAT_ALIASES = {
    "float32": "fp32", "f32": "fp32", "single": "fp32",
    "tensorfloat32": "tf32",
    "bfloat16": "bf16",
    "float16": "fp16", "f16": "fp16", "half": "fp16",
    "fp8": "fp8_e4m3", "e4m3": "fp8_e4m3", "fp8_e4m3fn": "fp8_e4m3", "float8_e4m3fn": "fp8_e4m3",
    "e5m2": "fp8_e5m2", "float8_e5m2": "fp8_e5m2",
    "mxfp8": "mxfp8_e4m3",
    "mxfp6": "mxfp6_e3m2",
    "mxfp4": "mxfp4_e2m1",
    "mxint": "mxint8",
    "fp8_block128": "fp8_block", "fp8_blockwise": "fp8_block",
}

# Names that are refused because they are ambiguous, with the reason shown to the user.
_AMBIGUOUS = {
    "fp4": "'fp4' is ambiguous: use 'mxfp4_e2m1' (alias 'mxfp4'; OCP MX, E8M0 scale per 32) "
           "or 'nvfp4' (E4M3 scale per 16)",
    "fp6": "'fp6' is ambiguous: use 'mxfp6_e3m2' (alias 'mxfp6') or 'mxfp6_e2m3'",
}


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def get_format(name: Union[str, Format]) -> Format:
    """Return the `Format` for a canonical name, an alias, a `Format.index` (int), or a Format
    (returned as is).

    Raises SpecError for unknown or ambiguous names, suggesting the closest known names.
    """
    if isinstance(name, Format):
        return name
    if isinstance(name, (int, np.integer)) and not isinstance(name, bool):
        return format_by_index(name)   # the int16 format columns of op tables
    if not isinstance(name, str):
        raise SpecError(f"format must be a name (str) or a Format.index, got "
                        f"{type(name).__name__} {name!r}")
    key = _normalise(name)
    key = FORMAT_ALIASES.get(key, key)
    fmt = FORMATS.get(key)
    if fmt is not None:
        return fmt
    if key in _AMBIGUOUS:
        raise SpecError(_AMBIGUOUS[key])
    known = list(FORMATS) + list(FORMAT_ALIASES)
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
    hint = ""
    if close:
        hint = " — did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    raise SpecError(f"unknown format '{name}'{hint} (known: {', '.join(FORMATS)})")


def format_by_index(index: int) -> Format:
    """Inverse of `Format.index` (for decoding the int16 format columns of op tables)."""
    i = int(index)
    if not 0 <= i < len(_BY_INDEX):
        raise SpecError(f"no format with index {index} (0..{len(_BY_INDEX) - 1})")
    return _BY_INDEX[i]


def tensor_bytes(numel, fmt, block_axis_len=None):
    """Bytes a tensor of `numel` elements occupies in format `fmt`.

    bytes = numel * element_bits / 8 + n_blocks * scale_bits / 8, elements densely packed
    (two FP4 codes per byte, four FP6 codes per three bytes), scales stored separately.

    Block counting: blocks run along one axis of the tensor (the reduction axis, as in OCP MX)
    and never span two rows. With `block_axis_len` = L (the length of that axis) the count is
    exact, partial tail blocks included: n_blocks = (numel / L) * ceil(L / block_size); numel must
    be a multiple of L. Without it the tensor is counted as if its blocking axis were a multiple
    of the block size, n_blocks = numel / block_size (fractional blocks allowed, which keeps the
    count additive when an operator's tensors are split across devices); this is exact for every
    transformer dimension that is a multiple of 32 / 16 / 128.

    `numel` may be an int, a float (expected element counts, e.g. MoE experts touched) or a
    numpy array; the result is a float (or float64 array). Formats without block scales return
    numel * element_bits / 8 (per-tensor scale factors are metadata, not counted).
    """
    f = get_format(fmt)
    arr = np.asarray(numel, dtype=np.float64)
    if np.any(arr < 0) or not np.all(np.isfinite(arr)):
        raise SpecError(f"tensor_bytes: element count must be finite and >= 0, got {numel!r}")
    elem = arr * (f.element_bits / 8.0)
    if f.block_size:
        if block_axis_len is None:
            blocks = arr / f.block_size
        else:
            L = int(block_axis_len)
            if L <= 0 or L != block_axis_len:
                raise SpecError(f"tensor_bytes: block_axis_len must be a positive integer, "
                                f"got {block_axis_len!r}")
            rows = arr / L
            if np.any(rows != np.floor(rows)):
                raise SpecError(f"tensor_bytes: numel {numel!r} is not a multiple of the blocking "
                                f"axis length {L}")
            blocks = rows * (-(-L // f.block_size))
        total = elem + blocks * (f.scale_bits / 8.0)
    else:
        total = elem
    if np.ndim(numel) == 0 and not isinstance(numel, np.ndarray):
        return float(total)
    return total


@dataclass(frozen=True)
class Precision:
    """Formats for a whole model: weights, activations, KV cache, and the matrix-engine format.

    `compute` is the format the matrix engine multiplies in (whose MACs/cycle the architecture
    quotes). Rule: compute is the wider of the two GEMM operand formats, weights and activations;
    a narrower weight format is up-converted on the fly (weight-only quantisation: the weights
    are stored and streamed narrow, the MACs run at the activation format's rate).
    """

    name: str
    weights: str
    activations: str
    kv_cache: str
    compute: str
    description: str = ""

    def formats(self) -> dict:
        """The four Format objects, keyed weights/activations/kv_cache/compute."""
        return {k: get_format(getattr(self, k)) for k in
                ("weights", "activations", "kv_cache", "compute")}


def _p(name, w, a, kv, c, desc):
    for f in (w, a, kv, c):
        assert f in FORMATS, f
    return name, Precision(name, w, a, kv, c, desc)


PRECISIONS: "OrderedDict[str, Precision]" = OrderedDict([
    _p("fp32", "fp32", "fp32", "fp32", "fp32", "everything fp32 (reference)"),
    _p("bf16", "bf16", "bf16", "bf16", "bf16", "everything bf16 (the usual serving baseline)"),
    _p("fp16", "fp16", "fp16", "fp16", "fp16", "everything fp16"),
    _p("fp8", "fp8_e4m3", "fp8_e4m3", "fp8_e4m3", "fp8_e4m3",
       "per-tensor FP8 E4M3 weights, activations and KV cache; FP8 GEMMs"),
    _p("fp8_block", "fp8_block", "fp8_block", "fp8_e4m3", "fp8_e4m3",
       "DeepSeek-V3 style: FP8 E4M3 with fp32 scale per 128; per-tensor FP8 KV; FP8 GEMMs"),
    _p("mxfp8", "mxfp8_e4m3", "mxfp8_e4m3", "mxfp8_e4m3", "mxfp8_e4m3",
       "MXFP8 E4M3 weights, activations and KV cache"),
    _p("mxfp6", "mxfp6_e3m2", "mxfp6_e3m2", "mxfp6_e3m2", "mxfp6_e3m2",
       "MXFP6 E3M2 weights, activations and KV cache"),
    _p("mxfp4", "mxfp4_e2m1", "mxfp4_e2m1", "mxfp4_e2m1", "mxfp4_e2m1",
       "MXFP4 weights, activations and KV cache (aggressive)"),
    _p("nvfp4", "nvfp4", "nvfp4", "fp8_e4m3", "nvfp4",
       "NVFP4 weights and activations, FP8 KV cache (NVIDIA Blackwell recipe)"),
    _p("w4a8kv8", "mxfp4_e2m1", "mxfp8_e4m3", "mxfp8_e4m3", "mxfp8_e4m3",
       "MXFP4 weights, MXFP8 activations and KV cache; GEMMs at MXFP8 rate"),
    _p("w4a16", "mxfp4_e2m1", "bf16", "bf16", "bf16",
       "MXFP4 weights dequantised to bf16; bf16 activations, KV and GEMMs"),
    _p("w8a16", "int8", "bf16", "bf16", "bf16",
       "INT8 weight-only (per-channel scale) dequantised to bf16; bf16 GEMMs"),
    _p("int8", "int8", "int8", "int8", "int8",
       "W8A8 INT8 (SmoothQuant-style) with INT8 KV cache; INT8 GEMMs"),
])

_PRECISION_ALIASES = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32",
                      "fp8_e4m3": "fp8", "w8a8": "int8", "mxfp8_e4m3": "mxfp8",
                      "mxfp6_e3m2": "mxfp6", "mxfp4_e2m1": "mxfp4"}


def get_precision(name: Union[str, Precision]) -> Precision:
    """Return a precision preset by name (see PRECISIONS and docs/FORMATS.md)."""
    if isinstance(name, Precision):
        return name
    if not isinstance(name, str):
        raise SpecError(f"precision must be a name (str), got {type(name).__name__} {name!r}")
    key = _normalise(name)
    key = _PRECISION_ALIASES.get(key, key)
    p = PRECISIONS.get(key)
    if p is not None:
        return p
    close = difflib.get_close_matches(key, list(PRECISIONS), n=3, cutoff=0.6)
    hint = (" — did you mean " + " or ".join(f"'{c}'" for c in close) + "?") if close else ""
    raise SpecError(f"unknown precision '{name}'{hint} (known: {', '.join(PRECISIONS)})")


_MX_NAMES = {"MXArray", "mx_encode", "mx_decode", "mx_quantize", "mx_error_stats", "MX_FORMATS",
             "mx_decode_table", "quantize"}


def __getattr__(name):
    # The numerics need the compiled extension; import it only when asked for.
    if name in _MX_NAMES:
        from . import mx
        return getattr(mx, name)
    raise AttributeError(f"module 'chipletarch.formats' has no attribute {name!r}")
