"""OCP Microscaling (MX v1.0) numerics: encode, decode, quantize, pack, and error statistics.

The public API (also re-exported from `chipletarch.formats`):

* `mx_encode(x, fmt, axis=-1, block_size=32)` -> `MXArray` (element codes, E8M0 scales);
* `mx_decode(mx)` -> float32 array;
* `mx_quantize(x, fmt, axis=-1, block_size=32)` -> float32, the round trip, fused in one pass
  (no codes array is materialised);
* `MXArray.pack()` / `MXArray.packed_nbytes` for storage checks at the element width;
* `quantize(x, fmt, axis=-1)`: round trip through any registry format (MX via the core;
  per-tensor FP8/INT, NVFP4 and block FP8 with their own, non-power-of-two scales in numpy);
* `mx_error_stats(x, fmt)` -> SQNR and error figures for choosing formats.

The bit-level work is in `chipletarch._core.mx` (Cython, nogil). This module handles dtypes,
axes and shapes without copying the input when it is C-contiguous: the tensor is viewed as
(outer, L, inner) with the blocking axis in the middle, so no transposed copy is ever made.

Algorithm: OCP MX v1.0 sample conversion, as stated in docs/FORMATS.md. Implementation-defined
choices (OCP leaves them open), as in the reference vectors shared/reference/MX_VECTORS.md:
1. a block containing NaN or +-Inf gets the NaN scale (code 0xFF), element codes 0, and decodes
   to NaN in every position (the other blocks are unaffected);
2. an all-zero block gets scale code 0 (2^-127);
3. rounding is roundTiesToEven; the scale is the spec's floor(log2(amax)) - emax_elem (no
   "round the scale up to avoid saturation" variant);
4. MXINT8 clamps symmetrically to [-127, 127] (code 0x80 = -2.0 is never produced, but decodes);
5. float32 subnormal inputs are not flushed; the sign of zero is kept for FP elements (a
   negative value rounding to 0 gives the -0 code), INT8 has no -0.
Inputs: float32; float64 (rounded once, directly from the float64 value: no double rounding via
float32; the scale exponent is clamped to [-127, 127] so out-of-range values saturate);
bfloat16 (an `ml_dtypes.bfloat16` array, or a uint16 array of bf16 bit patterns); float16 is
widened to float32 (exact) and other integer arrays converted to float64 first.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._core import mx as _cmx
from .errors import SpecError
from .formats import Format, get_format, tensor_bytes

__all__ = ["MXArray", "MX_FORMATS", "mx_encode", "mx_decode", "mx_quantize", "mx_error_stats",
           "mx_decode_table", "quantize"]

# Registry names the compiled core implements, in its format-id order.
MX_FORMATS = tuple(_cmx.FMT_NAMES)
_FID = {name: i for i, name in enumerate(MX_FORMATS)}


def _mx_format(fmt) -> tuple[Format, int]:
    f = get_format(fmt)
    if f.name not in _FID:
        raise SpecError(f"format '{f.name}' has no MX numerics; MX formats: "
                        f"{', '.join(MX_FORMATS)}")
    return f, _FID[f.name]


def _as_bits(x):
    """C-contiguous unsigned-int view of x's float bits (uint32 / uint64 / uint16 for bf16)."""
    a = np.asarray(x)
    if a.ndim == 0:  # (np.ascontiguousarray would silently make it 1-D)
        raise SpecError("MX quantization needs an array of rank >= 1")
    dt = a.dtype
    if dt == np.float32:
        a = np.ascontiguousarray(a)
        return a.view(np.uint32)
    if dt == np.float64:
        a = np.ascontiguousarray(a)
        return a.view(np.uint64)
    if dt.name == "bfloat16" or dt == np.uint16:
        # ml_dtypes.bfloat16 or raw bf16 bit patterns
        a = np.ascontiguousarray(a)
        return a.view(np.uint16)
    if dt == np.float16:
        return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)  # exact widening
    if np.issubdtype(dt, np.integer) or dt == np.bool_:
        return np.ascontiguousarray(a, dtype=np.float64).view(np.uint64)
    raise SpecError(f"MX quantization needs a float32, float64 or bfloat16 array, got dtype {dt}")


def _layout(shape, axis):
    if len(shape) == 0:
        raise SpecError("MX quantization needs an array of rank >= 1")
    nd = len(shape)
    try:
        ax = int(axis)
    except (TypeError, ValueError):
        raise SpecError(f"axis must be an integer, got {axis!r}") from None
    if not -nd <= ax < nd:
        raise SpecError(f"axis {axis} is out of range for an array of rank {nd}")
    ax %= nd
    outer = int(np.prod(shape[:ax], dtype=np.int64))
    inner = int(np.prod(shape[ax + 1:], dtype=np.int64))
    return ax, outer, int(shape[ax]), inner


def _check_block(block_size):
    bs = int(block_size)
    if bs < 1 or bs != block_size:
        raise SpecError(f"block_size must be a positive integer, got {block_size!r}")
    return bs


@dataclass(frozen=True, eq=False)
class MXArray:
    """A tensor in an MX format.

    codes: uint8, the input's shape, one right-aligned element code per value (layouts as
        ml_dtypes: FP8 byte, FP6 in the low 6 bits, FP4 in the low 4 bits, INT8 two's complement).
    scales: uint8 E8M0 codes (exponent = code - 127, 255 = NaN), the input's shape with the
        blocking axis replaced by ceil(L / block_size).
    shape, axis (non-negative), fmt, block_size: as encoded.
    """

    codes: np.ndarray
    scales: np.ndarray
    shape: tuple
    axis: int
    fmt: Format
    block_size: int = 32

    @property
    def size(self) -> int:
        return int(self.codes.size)

    @property
    def scale_exponents(self) -> np.ndarray:
        """Scale exponents as int16 (code - 127); NaN scales give 128."""
        return self.scales.astype(np.int16) - 127

    def decode(self) -> np.ndarray:
        """Dequantize to float32 (same as `mx_decode(self)`)."""
        return mx_decode(self)

    def pack(self) -> np.ndarray:
        """Element codes densely packed at the element width (C order), as stored in memory."""
        return _cmx.pack(np.ascontiguousarray(self.codes).reshape(-1), self.fmt.element_bits)

    @property
    def packed_nbytes(self) -> int:
        """Bytes of the packed element codes plus one byte per E8M0 scale."""
        return int((self.size * self.fmt.element_bits + 7) // 8 + self.scales.size)

    def nbytes_model(self) -> float:
        """What `formats.tensor_bytes` says this tensor occupies (exact block count)."""
        if self.size == 0:
            return 0.0
        if self.block_size != self.fmt.block_size:
            raise SpecError("tensor_bytes models the format's own block size "
                            f"({self.fmt.block_size}), this array uses {self.block_size}")
        return tensor_bytes(self.size, self.fmt, block_axis_len=self.shape[self.axis])

    @classmethod
    def from_packed(cls, packed, scales, shape, axis, fmt, block_size=32) -> "MXArray":
        """Rebuild an MXArray from `pack()` output and its scales."""
        f, _ = _mx_format(fmt)
        n = int(np.prod(shape, dtype=np.int64))
        codes = _cmx.unpack(np.ascontiguousarray(packed, dtype=np.uint8), n, f.element_bits)
        return cls(codes.reshape(shape), np.asarray(scales, dtype=np.uint8), tuple(shape),
                   int(axis), f, int(block_size))


def mx_encode(x, fmt, axis: int = -1, block_size: int = 32) -> MXArray:
    """Encode x into MX format `fmt`, blocks of `block_size` along `axis` (OCP MX v1.0)."""
    f, fid = _mx_format(fmt)
    bs = _check_block(block_size)
    bits = _as_bits(x)
    shape = bits.shape
    ax, outer, L, inner = _layout(shape, axis)
    nb = -(-L // bs)
    codes = np.empty(shape, dtype=np.uint8)
    sshape = shape[:ax] + (nb,) + shape[ax + 1:]
    scales = np.empty(sshape, dtype=np.uint8)
    if codes.size:
        _cmx.encode(bits.reshape(outer, L, inner), fid, bs, codes.reshape(outer, L, inner),
                    scales.reshape(outer, nb, inner), None)
    return MXArray(codes, scales, tuple(shape), ax, f, bs)


def mx_decode(mx: MXArray) -> np.ndarray:
    """Dequantize an MXArray to float32: y = element value × 2^(scale − 127), NaN for NaN scales."""
    if not isinstance(mx, MXArray):
        raise SpecError(f"mx_decode expects an MXArray, got {type(mx).__name__}")
    f, fid = _mx_format(mx.fmt)
    ax, outer, L, inner = _layout(mx.shape, mx.axis)
    nb = -(-L // mx.block_size)
    y = np.empty(mx.shape, dtype=np.float32)
    if y.size:
        _cmx.decode(np.ascontiguousarray(mx.codes, dtype=np.uint8).reshape(outer, L, inner),
                    np.ascontiguousarray(mx.scales, dtype=np.uint8).reshape(outer, nb, inner),
                    fid, mx.block_size, y.reshape(outer, L, inner))
    return y


def mx_quantize(x, fmt, axis: int = -1, block_size: int = 32) -> np.ndarray:
    """Round trip x -> MX -> float32 in one fused pass (no codes array is materialised)."""
    f, fid = _mx_format(fmt)
    bs = _check_block(block_size)
    bits = _as_bits(x)
    shape = bits.shape
    ax, outer, L, inner = _layout(shape, axis)
    nb = -(-L // bs)
    y = np.empty(shape, dtype=np.float32)
    scales = np.empty((outer, nb, inner), dtype=np.uint8)
    if y.size:
        _cmx.encode(bits.reshape(outer, L, inner), fid, bs, None, scales,
                    y.reshape(outer, L, inner))
    return y


def mx_decode_table(fmt) -> np.ndarray:
    """Float32 value of every element code (256 entries) of an MX format."""
    _, fid = _mx_format(fmt)
    return _cmx.decode_table(fid)


def _as_float32(x) -> np.ndarray:
    """Float32 values of x (bf16 widened exactly; float64 rounded to nearest float32)."""
    a = np.asarray(x)
    if a.dtype.name == "bfloat16" or a.dtype == np.uint16:
        return (np.ascontiguousarray(a).view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise SpecError(f"quantization needs a real numeric array, got dtype {a.dtype}")
    return np.asarray(a, dtype=np.float32)


def _round_mantissa(x32: np.ndarray, keep: int) -> np.ndarray:
    """Round float32 values half-to-even to `keep` mantissa bits (bf16: 7, tf32: 10); overflow
    carries into the exponent and gives Inf, as a real cast does; NaN stays NaN."""
    b = np.ascontiguousarray(x32).view(np.uint32)
    sh = np.uint32(23 - keep)
    lsb = (b >> sh) & np.uint32(1)
    r = ((b + ((np.uint32(1) << (sh - np.uint32(1))) - np.uint32(1)) + lsb) >> sh) << sh
    y = r.view(np.float32)
    return np.where(np.isnan(x32), np.float32(np.nan), y)


def _cast_fp(q: np.ndarray, element: str) -> np.ndarray:
    """Round finite float32 q to an FP element (RNE, saturating), return the float32 values."""
    fid = _FID[element]
    q = np.ascontiguousarray(q, dtype=np.float32)
    codes = np.empty(q.size, np.uint8)
    _cmx.cast(q.reshape(-1).view(np.uint32), fid, codes)
    return _cmx.decode_table(fid)[codes].reshape(q.shape)


def _blocked(x32: np.ndarray, axis: int, bs: int):
    """View x with `axis` last, zero-padded to a multiple of bs, as (rows, blocks, bs)."""
    xm = np.moveaxis(x32, axis, -1)
    n = xm.shape[-1]
    nb = -(-n // bs)
    xp = np.zeros(xm.shape[:-1] + (nb * bs,), np.float32)
    xp[..., :n] = xm
    return xp.reshape(-1, nb, bs), xm.shape, n


def _unblock(yb: np.ndarray, mshape, n: int, axis: int) -> np.ndarray:
    y = yb.reshape(mshape[:-1] + (-1,))[..., :n]
    return np.ascontiguousarray(np.moveaxis(y, -1, axis))


def quantize(x, fmt, axis: int = -1) -> np.ndarray:
    """Round trip of x through any registry format, as float32 (reference-speed numpy except
    for the MX formats, which go through `mx_quantize`).

    What each family does (docs/FORMATS.md):
    * fp32: float32 values; tf32 / bf16: round half to even to 10 / 7 mantissa bits (overflow ->
      Inf); fp16: IEEE cast. Inputs are taken as float32 first.
    * fp8_e4m3 / fp8_e5m2: per-tensor current scaling s = amax / max_normal (float32), elements
      RNE with saturation, y = element * s.
    * int8 / int4: per-tensor symmetric s = amax / qmax, k = clip(rint(x / s), -qmax, qmax).
    * fp8_block: along `axis`, blocks of 128, fp32 scale s = amax_block / 448, E4M3 elements.
    * nvfp4: along `axis`, blocks of 16. Two-level scaling: global g = amax_tensor / (448 * 6);
      block scale b = E4M3(amax_block / 6 / g) (RNE, saturating); elements E2M1(x / (b * g));
      y = element * b * g. All arithmetic in float32.
    * MX formats: `mx_quantize` (OCP MX v1.0, bit-exact).
    Non-finite inputs: NaN at their own position for per-tensor formats; the whole block NaN for
    block formats (the MX convention). Scales use the finite values.
    """
    f = get_format(fmt)
    if f.name in _FID:
        return mx_quantize(x, f, axis=axis)
    x32 = _as_float32(x)
    if x32.ndim == 0:
        raise SpecError("quantization needs an array of rank >= 1")
    if f.name == "fp32":
        return x32.copy()
    if f.name in ("tf32", "bf16"):
        return _round_mantissa(x32, f.man_bits)
    if f.name == "fp16":
        with np.errstate(over="ignore"):
            return x32.astype(np.float16).astype(np.float32)
    finite = np.isfinite(x32)
    xf = np.where(finite, x32, np.float32(0))
    if f.name in ("fp8_e4m3", "fp8_e5m2", "int8", "int4"):
        amax = np.float32(np.max(np.abs(xf))) if xf.size else np.float32(0)
        if amax == 0:
            y = np.zeros_like(xf)
        elif f.family == "int":
            s = amax / np.float32(f.max_normal)
            k = np.clip(np.rint(xf / s), -f.max_normal, f.max_normal)
            y = (k * s).astype(np.float32)
        else:
            s = amax / np.float32(f.max_normal)
            y = _cast_fp(xf / s, "mxfp8_e4m3" if f.name == "fp8_e4m3" else "mxfp8_e5m2") * s
        return np.where(finite, y, np.float32(np.nan)).astype(np.float32)
    # block formats with non-power-of-two scales
    ax, _, _, _ = _layout(x32.shape, axis)
    xb, mshape, n = _blocked(xf, ax, f.block_size)
    bad, _, _ = _blocked((~finite).astype(np.float32), ax, f.block_size)
    bad_block = bad.any(axis=-1, keepdims=True)
    amax_b = np.abs(xb).max(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        if f.name == "fp8_block":
            s = amax_b / np.float32(448.0)
            q = np.where(s > 0, xb / s, np.float32(0))
            y = _cast_fp(q, "mxfp8_e4m3") * s
        elif f.name == "nvfp4":
            amax_t = np.float32(amax_b.max()) if amax_b.size else np.float32(0)
            g = amax_t / np.float32(448.0 * 6.0)
            b = _cast_fp(np.where(g > 0, amax_b / np.float32(6.0) / g, np.float32(0)),
                         "mxfp8_e4m3")
            eff = (b * g).astype(np.float32)
            q = np.where(eff > 0, xb / eff, np.float32(0))
            y = _cast_fp(q, "mxfp4_e2m1") * eff
        else:  # pragma: no cover - every registry format is handled above
            raise SpecError(f"no quantizer for format '{f.name}'")
    y = np.where(bad_block, np.float32(np.nan), y).astype(np.float32)
    return _unblock(y, mshape, n, ax)


def mx_error_stats(x, fmt, axis: int = -1, where=None) -> dict:
    """Quantization error of x in format `fmt` (any registry format; see `quantize`), in float64.

    The whole tensor is quantized; `where` (a boolean array of x's shape) restricts the
    statistics to some elements, e.g. the inliers of a tensor with outliers.

    Returns a dict: sqnr_db = 10·log10(Σx² / Σ(x−q)²) (inf when exact), max_abs_err,
    mean_abs_err, max_rel_err and mean_rel_err (relative error |x−q|/|x| over the non-zero
    inputs), n (elements used: finite input and output), n_nonfinite (elements left out: NaN/Inf
    inputs, elements of NaN blocks, overflow to Inf).
    """
    q = quantize(x, fmt, axis=axis).astype(np.float64)
    xd = _as_float32(x).astype(np.float64) if np.asarray(x).dtype != np.float64 else \
        np.asarray(x, dtype=np.float64)
    ok = np.isfinite(xd) & np.isfinite(q)
    if where is not None:
        w = np.asarray(where, dtype=bool)
        if w.shape != xd.shape:
            raise SpecError(f"where: shape {w.shape} differs from the data's {xd.shape}")
        ok &= w
    xs, err = xd[ok], (xd - q)[ok]
    sig = float(np.sum(xs * xs))
    noise = float(np.sum(err * err))
    if noise == 0.0:
        sqnr = float("inf")
    elif sig == 0.0:
        sqnr = float("-inf")
    else:
        sqnr = 10.0 * np.log10(sig / noise)
    aerr = np.abs(err)
    nz = xs != 0
    rel = aerr[nz] / np.abs(xs[nz])
    return {
        "sqnr_db": sqnr,
        "max_abs_err": float(aerr.max()) if aerr.size else 0.0,
        "mean_abs_err": float(aerr.mean()) if aerr.size else 0.0,
        "max_rel_err": float(rel.max()) if rel.size else 0.0,
        "mean_rel_err": float(rel.mean()) if rel.size else 0.0,
        "n": int(xs.size),
        "n_nonfinite": int(np.count_nonzero(~(np.isfinite(xd) & np.isfinite(q)))),
    }
