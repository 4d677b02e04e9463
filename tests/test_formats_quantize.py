"""`quantize` for the non-MX formats (per-tensor FP8/INT, bf16/tf32/fp16, fp8_block, nvfp4),
checked by hand and against ml_dtypes following the documented recipes."""
from __future__ import annotations

import numpy as np
import pytest

ml_dtypes = pytest.importorskip("ml_dtypes")

from chipletarch.errors import SpecError  # noqa: E402
from chipletarch.formats import FORMATS  # noqa: E402
from chipletarch.mx import mx_error_stats, mx_quantize, quantize  # noqa: E402

E4M3, E2M1 = ml_dtypes.float8_e4m3fn, ml_dtypes.float4_e2m1fn


def f32(v):
    return np.asarray(v, dtype=np.float32)


def sat(q, dt, maxn):
    return np.clip(q, -maxn, maxn).astype(dt).astype(np.float32)


def test_bf16_tf32_fp16_rounding_by_hand():
    one = 1.0
    x = f32([one + 2.0 ** -8, one + 3 * 2.0 ** -8, -(one + 2.0 ** -8 + 2.0 ** -20), 3.4e38])
    np.testing.assert_array_equal(quantize(x, "bf16"),
                                  f32([1.0, 1 + 2.0 ** -6, -(1 + 2.0 ** -7), np.inf]))
    x = f32([1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11])
    np.testing.assert_array_equal(quantize(x, "tf32"), f32([1.0, 1 + 2.0 ** -9]))
    np.testing.assert_array_equal(quantize(f32([70000.0, 1 / 3]), "fp16"),
                                  f32([np.inf, np.float16(1 / 3)]))
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(4000) * 2.0 ** rng.integers(-130, 120, 4000)).astype(np.float32)
    x[:3] = [np.nan, np.inf, -0.0]
    np.testing.assert_array_equal(quantize(x, "bf16"),
                                  x.astype(ml_dtypes.bfloat16).astype(np.float32))
    np.testing.assert_array_equal(quantize(x, "fp32"), x)


def test_per_tensor_fp8_and_int_by_hand():
    # amax 2 -> s = 2/448; 0.3/s = 67.2 -> E4M3 neighbours 64, 72 -> 64
    x = f32([1.0, 2.0, 0.3])
    s = np.float32(2.0) / np.float32(448.0)
    np.testing.assert_array_equal(quantize(x, "fp8"), f32([224, 448, 64]) * s)
    # int8 with an exact scale: amax 127/8 -> s = 1/8; -63.5 -> -64 (even), 31.75 -> 32
    x = f32([127, -63.5, 31.75]) / 8
    np.testing.assert_array_equal(quantize(x, "int8"), f32([127, -64, 32]) / 8)
    # int4: amax 7 -> s = 1; -3.5 -> -4 (even), 2.5 -> 2 (even)
    np.testing.assert_array_equal(quantize(f32([7, -3.5, 2.5]), "int4"), f32([7, -4, 2]))
    # NaN stays in place, scale from the finite values
    y = quantize(f32([np.nan, 1.0, 2.0]), "fp8_e5m2")
    assert np.isnan(y[0]) and y[2] == 2.0
    np.testing.assert_array_equal(quantize(np.zeros(4, np.float32), "fp8"), np.zeros(4))


def test_fp8_block_against_ml_dtypes():
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((6, 300)) * 2.0 ** rng.integers(-20, 20, (6, 1))).astype(np.float32)
    y = quantize(x, "fp8_block")
    xp = np.zeros((6, 384), np.float32)
    xp[:, :300] = x
    xb = xp.reshape(6, 3, 128)
    s = np.abs(xb).max(-1, keepdims=True) / np.float32(448)
    exp = (sat(xb / s, E4M3, 448) * s).reshape(6, 384)[:, :300]
    np.testing.assert_array_equal(y, exp)
    # other axis == moving it last
    np.testing.assert_array_equal(quantize(x.T, "fp8_block", axis=0), exp.T)


def test_nvfp4_against_ml_dtypes_recipe():
    rng = np.random.default_rng(2)
    x = (rng.standard_t(3, (8, 100)) * 0.01).astype(np.float32)
    x[5, 20] = np.inf
    y = quantize(x, "nvfp4")
    xp = np.zeros((8, 112), np.float32)
    xp[:, :100] = np.where(np.isfinite(x), x, 0)
    xb = xp.reshape(8, 7, 16)
    amax_b = np.abs(xb).max(-1, keepdims=True)
    g = np.float32(amax_b.max()) / np.float32(448 * 6)
    b = sat(amax_b / np.float32(6) / g, E4M3, 448)
    eff = (b * g).astype(np.float32)
    exp = (sat(xb / eff, E2M1, 6) * eff).reshape(8, 112)[:, :100]
    nan_block = np.zeros((8, 112), bool)
    nan_block[5, 16:32] = True
    exp[nan_block[:, :100]] = np.nan
    assert np.all((y == exp) | (np.isnan(y) & np.isnan(exp)))
    assert np.isnan(y[5, 16:32]).all() and np.isfinite(y[5, :16]).all()


def test_quantize_dispatches_mx_and_rejects_bad_input():
    x = np.random.default_rng(3).standard_normal((4, 64)).astype(np.float32)
    np.testing.assert_array_equal(quantize(x, "mxfp4"), mx_quantize(x, "mxfp4_e2m1"))
    with pytest.raises(SpecError):
        quantize(np.float32(1), "nvfp4")
    with pytest.raises(SpecError):
        quantize(np.array(["x"]), "bf16")


def test_error_stats_orders_formats_sensibly():
    """Monotonicity that follows from the element widths on Gaussian data: more mantissa bits
    under the same block scaling give a higher SQNR (about 6 dB per bit)."""
    x = np.random.default_rng(4).standard_normal((32, 1024)).astype(np.float32)
    sq = {f: mx_error_stats(x, f)["sqnr_db"] for f in FORMATS}
    assert sq["fp32"] == np.inf
    assert sq["tf32"] > sq["bf16"] > sq["mxint8"] > sq["mxfp8_e4m3"] > sq["mxfp8_e5m2"]
    assert sq["mxfp6_e2m3"] > sq["mxfp6_e3m2"] > sq["mxfp4_e2m1"]
    assert sq["nvfp4"] > sq["mxfp4_e2m1"]
    # bf16 keeps 8 significant bits: SQNR of uniform rounding noise ~ 6.02*8 + 7 dB
    assert 50 < sq["bf16"] < 60
