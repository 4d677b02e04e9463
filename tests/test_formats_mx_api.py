"""MX API: axes, partial tail blocks, block sizes, packing, sizes, errors."""
from __future__ import annotations

import numpy as np
import pytest

from chipletarch import formats
from chipletarch.errors import SpecError
from chipletarch.mx import MX_FORMATS, MXArray, mx_decode, mx_encode, mx_quantize


def same_y(a, b):
    return bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


@pytest.fixture(scope="module")
def x4d():
    rng = np.random.default_rng(3)
    x = (rng.laplace(size=(3, 37, 5, 70)) * 2.0 ** rng.integers(-8, 8, (3, 1, 5, 1)))
    x = x.astype(np.float32)
    x[0, 3, 2, 5] = np.nan
    return x


@pytest.mark.parametrize("fmt", MX_FORMATS)
@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
def test_any_axis_equals_moving_the_axis_last(x4d, fmt, axis):
    ref = mx_encode(np.ascontiguousarray(np.moveaxis(x4d, axis, -1)), fmt)
    m = mx_encode(x4d, fmt, axis=axis)
    ax = axis % x4d.ndim
    assert m.axis == ax and m.shape == x4d.shape
    nb = -(-x4d.shape[ax] // 32)
    assert m.scales.shape == x4d.shape[:ax] + (nb,) + x4d.shape[ax + 1:]
    np.testing.assert_array_equal(np.moveaxis(m.scales, ax, -1), ref.scales)
    np.testing.assert_array_equal(np.moveaxis(m.codes, ax, -1), ref.codes)
    y = mx_decode(m)
    assert same_y(np.moveaxis(y, ax, -1), mx_decode(ref))
    assert same_y(mx_quantize(x4d, fmt, axis=axis), y)


def test_non_contiguous_input(x4d):
    xt = x4d.transpose(1, 0, 3, 2)[:, :, ::2]          # strided view
    assert same_y(mx_quantize(xt, "mxfp8", axis=2),
                  mx_quantize(np.ascontiguousarray(xt), "mxfp8", axis=2))


def test_partial_tail_block_is_its_own_block():
    # 1-D length 45 = 32 + 13: the tail's scale follows only its own 13 elements
    x = np.full(45, 0.01, np.float32)
    x[40] = 12.5
    m = mx_encode(x, "mxfp4_e2m1")
    assert m.scales.shape == (2,)
    # floor(log2 0.01) = -7 -> -7 - 2; floor(log2 12.5) = 3 -> 3 - 2
    assert list(m.scale_exponents) == [-9, 1]
    y = mx_decode(m)
    # 0.01 / 2^-9 = 5.12 -> 5? E2M1 values 4, 6: 5.12 is nearer 6 -> 6 * 2^-9
    assert np.all(y[:32] == np.float32(6 * 2.0 ** -9))
    assert y[40] == 12.0  # 12.5 / 2 = 6.25 -> saturates to 6 -> 12
    # 0.01 / 2 = 0.005 -> below 0.25 (half the min subnormal 0.5) -> 0
    assert np.all(y[32:40] == 0) and np.all(y[41:] == 0)


@pytest.mark.parametrize("bs", [1, 7, 16, 32, 64, 200])
def test_other_block_sizes(bs):
    rng = np.random.default_rng(bs)
    x = rng.standard_normal((4, 100)).astype(np.float32)
    m = mx_encode(x, "mxfp8", block_size=bs)
    assert m.scales.shape == (4, -(-100 // bs))
    # block-by-block equals encoding each block on its own with the default block size
    for j0 in range(0, 100, bs):
        blk = x[:, j0:j0 + bs]
        for r in range(4):
            sub = mx_encode(blk[r], "mxfp8", block_size=bs)
            assert sub.scales[0] == m.scales[r, j0 // bs]
            np.testing.assert_array_equal(sub.codes, m.codes[r, j0:j0 + bs])
    assert same_y(mx_decode(m), mx_quantize(x, "mxfp8", block_size=bs))


@pytest.mark.parametrize("fmt", MX_FORMATS)
@pytest.mark.parametrize("n", [1, 3, 4, 5, 45, 64, 1001])
def test_packing_round_trip_and_size(fmt, n):
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n).astype(np.float32)
    m = mx_encode(x, fmt)
    bits = m.fmt.element_bits
    p = m.pack()
    assert p.dtype == np.uint8 and p.size == -(-n * bits // 8)
    m2 = MXArray.from_packed(p, m.scales, m.shape, m.axis, fmt)
    np.testing.assert_array_equal(m2.codes, m.codes)
    assert same_y(m2.decode(), m.decode())
    # storage size agrees with the registry's tensor_bytes (rounded up to whole bytes)
    assert m.packed_nbytes == p.size + m.scales.size
    assert m.packed_nbytes == np.ceil(formats.tensor_bytes(n, fmt, block_axis_len=n))


def test_pack_layout_by_hand():
    # FP4 codes 1, 2, 3 -> bytes 0x21, 0x03; FP6 codes 1, 2, 3, 4, 5 -> 24-bit word
    # 1 | 2<<6 | 3<<12 | 4<<18 = 0x103081 -> 81 30 10, then 05
    m4 = MXArray(np.array([1, 2, 3], np.uint8), np.array([127], np.uint8), (3,), 0,
                 formats.get_format("mxfp4"))
    np.testing.assert_array_equal(m4.pack(), [0x21, 0x03])
    m6 = MXArray(np.array([1, 2, 3, 4, 5], np.uint8), np.array([127], np.uint8), (5,), 0,
                 formats.get_format("mxfp6_e2m3"))
    np.testing.assert_array_equal(m6.pack(), [0x81, 0x30, 0x10, 0x05])


def test_reexported_from_formats():
    assert formats.mx_quantize is mx_quantize and formats.MXArray is MXArray
    assert "mxint8" in formats.MX_FORMATS


def test_bad_inputs():
    x = np.ones(8, np.float32)
    with pytest.raises(SpecError, match="no MX numerics"):
        mx_encode(x, "bf16")
    with pytest.raises(SpecError, match="unknown format"):
        mx_encode(x, "mxfp5")
    with pytest.raises(SpecError):
        mx_encode(x, "mxfp8", axis=1)
    with pytest.raises(SpecError):
        mx_encode(np.float32(1.0), "mxfp8")
    with pytest.raises(SpecError):
        mx_encode(x, "mxfp8", block_size=0)
    with pytest.raises(SpecError):
        mx_decode(x)
    empty = mx_encode(np.zeros((0, 5), np.float32), "mxfp8")
    assert empty.codes.shape == (0, 5) and mx_decode(empty).shape == (0, 5)
