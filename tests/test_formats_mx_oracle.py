"""MX numerics against an independent ml_dtypes oracle, plus hypothesis properties.

The oracle below shares no code with chipletarch: the shared exponent comes from numpy.frexp in
float64 (exact for every float32, subnormals included), the division by the power-of-two scale is
done in float64, saturation by numpy.clip, and the rounding to the element by ml_dtypes' own
casts (round-to-nearest-even) or numpy.rint for INT8.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

ml_dtypes = pytest.importorskip("ml_dtypes")

from chipletarch.errors import SpecError  # noqa: E402
from chipletarch.mx import MX_FORMATS, mx_decode, mx_encode, mx_error_stats, mx_quantize  # noqa: E402

ELEM = {
    "mxfp8_e4m3": (ml_dtypes.float8_e4m3fn, 8, 448.0, 3, -6),
    "mxfp8_e5m2": (ml_dtypes.float8_e5m2, 15, 57344.0, 2, -14),
    "mxfp6_e3m2": (ml_dtypes.float6_e3m2fn, 4, 28.0, 2, -2),
    "mxfp6_e2m3": (ml_dtypes.float6_e2m3fn, 2, 7.5, 3, 0),
    "mxfp4_e2m1": (ml_dtypes.float4_e2m1fn, 2, 6.0, 1, 0),
    "mxint8": (None, 0, 127 / 64, None, None),
}


def oracle(x, fmt, bs=32):
    """(codes, scale codes, y) for float32 x blocked along the last axis."""
    dt, emax, maxn, _, _ = ELEM[fmt]
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    nb = -(-n // bs)
    xp = np.zeros(x.shape[:-1] + (nb * bs,))
    xp[..., :n] = x
    xb = xp.reshape(x.shape[:-1] + (nb, bs))
    special = ~np.isfinite(xb).all(axis=-1)
    amax = np.where(np.isfinite(xb), np.abs(xb), 0).max(axis=-1)
    _, ex = np.frexp(amax)                      # amax = m * 2^ex, m in [0.5, 1)
    e = np.where(amax > 0, ex - 1 - emax, -127)
    e = np.clip(e, -127, 127)
    q = np.clip(np.where(np.isfinite(xb), xb, 0) / np.ldexp(1.0, e)[..., None], -maxn, maxn)
    if dt is None:
        k = np.clip(np.rint(q * 64), -127, 127)
        codes = k.astype(np.int8).view(np.uint8)
        val = k / 64
    else:
        # q = x / 2^e is exact in float64 and, for float32 x, representable in float32 except
        # far below the element's smallest subnormal (where it rounds to 0 either way)
        el = q.astype(np.float32).astype(dt)
        codes = el.view(np.uint8)
        val = el.astype(np.float64)
    y = (val * np.ldexp(1.0, e)[..., None]).astype(np.float32)
    scale = (e + 127).astype(np.uint8)
    scale[special] = 255
    y[special] = np.nan
    codes = codes.copy()
    codes[special] = 0
    return (codes.reshape(xp.shape)[..., :n], scale,
            y.reshape(xp.shape)[..., :n])


def same_y(a, b):
    return bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


def edge_case_data(rng, n_rows=64, n=77):
    """Random float32 rows full of edge cases: wide exponents, near powers of two, ties, zeros,
    float32 subnormals, huge values, occasional NaN/Inf."""
    rows = []
    for r in range(n_rows):
        kind = r % 8
        if kind == 0:   # random finite bit patterns
            b = rng.integers(0, 0x7F800000, n, dtype=np.uint32) | (
                rng.integers(0, 2, n, dtype=np.uint32) << 31)
            v = b.view(np.float32)
        elif kind == 1:  # gaussian at a random scale
            v = (rng.standard_normal(n) * 2.0 ** rng.integers(-140, 120)).astype(np.float32)
        elif kind == 2:  # just below / at powers of two
            k = rng.integers(-130, 127, n)
            v = np.ldexp(1.0, k).astype(np.float32)
            v = np.where(rng.random(n) < 0.5, np.nextafter(v, np.float32(0)), v)
        elif kind == 3:  # exact small dyadic values: many ties for every element format
            v = (rng.integers(-512, 512, n) / 64.0 * 2.0 ** rng.integers(-3, 4)).astype(
                np.float32)
        elif kind == 4:  # float32 subnormals and zeros
            v = (rng.integers(-(2 ** 23), 2 ** 23, n).astype(np.float64) * 2.0 ** -149).astype(
                np.float32)
            v[rng.random(n) < 0.2] = -0.0
        elif kind == 5:  # near FLT_MAX
            v = (np.float32(3.4e38) * rng.uniform(-1, 1, n)).astype(np.float32)
        elif kind == 6:  # sparse with NaN / Inf
            v = rng.standard_normal(n).astype(np.float32)
            v[rng.integers(0, n)] = [np.nan, np.inf, -np.inf][r % 3]
        else:           # one outlier per row
            v = rng.standard_normal(n).astype(np.float32)
            v[rng.integers(0, n)] = np.float32(1e6)
        rows.append(v)
    return np.stack(rows).astype(np.float32)


@pytest.mark.parametrize("fmt", MX_FORMATS)
def test_against_ml_dtypes_oracle_edge_cases(fmt):
    x = edge_case_data(np.random.default_rng(1234))
    c_exp, s_exp, y_exp = oracle(x, fmt)
    m = mx_encode(x, fmt)
    np.testing.assert_array_equal(m.scales, s_exp)
    np.testing.assert_array_equal(m.codes, c_exp)   # sign of zero included (both keep it)
    assert same_y(mx_decode(m), y_exp)
    assert same_y(mx_quantize(x, fmt), y_exp)


@pytest.mark.parametrize("fmt", MX_FORMATS)
def test_exhaustive_ties_and_midpoints(fmt):
    """Every element value, every midpoint between neighbours and just either side of it,
    under a block scale pinned by a max element."""
    _, emax, maxn, _, _ = ELEM[fmt]
    from chipletarch.mx import mx_decode_table
    vals = mx_decode_table(fmt).astype(np.float64)
    vals = np.unique(np.abs(vals[np.isfinite(vals)]))
    mids = (vals[:-1] + vals[1:]) / 2
    cand = np.concatenate([vals, mids, np.nextafter(mids.astype(np.float32), 0),
                           np.nextafter(mids.astype(np.float32), np.inf),
                           [maxn * 1.0001, (maxn + 2.0 ** (emax + 1)) / 2]])
    cand = cand[cand < 2.0 ** (emax + 1)]    # keep the pinned scale (drops INT8's unused -2.0)
    cand = np.concatenate([cand, -cand]).astype(np.float32)
    pin = np.float32(2.0 ** emax)            # floor(log2) = emax -> scale 2^0
    nrow = -(-cand.size // 31)
    x = np.zeros((nrow, 32), np.float32)
    x[:, 0] = pin
    flat = x[:, 1:].reshape(-1)
    flat[: cand.size] = cand
    x[:, 1:] = flat.reshape(nrow, 31)
    for scale_k in (0, -20, 37):
        xs = (x * np.float32(2.0 ** scale_k)).astype(np.float32)
        c_exp, s_exp, y_exp = oracle(xs, fmt)
        m = mx_encode(xs, fmt)
        assert np.all(m.scales == 127 + scale_k)
        np.testing.assert_array_equal(m.codes, c_exp)
        assert same_y(mx_decode(m), y_exp)


# ---------------------------------------------------------------------------------------------
# hypothesis properties

finite32 = st.floats(width=32, allow_nan=False, allow_infinity=False)
blocks = hnp.arrays(np.float32, st.tuples(st.integers(1, 3), st.integers(1, 70)),
                    elements=finite32)
fmts = st.sampled_from(MX_FORMATS)
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(x=blocks, fmt=fmts)
def test_property_matches_oracle(x, fmt):
    c_exp, s_exp, y_exp = oracle(x, fmt)
    m = mx_encode(x, fmt)
    np.testing.assert_array_equal(m.scales, s_exp)
    np.testing.assert_array_equal(m.codes, c_exp)
    assert same_y(mx_decode(m), y_exp)


@SETTINGS
@given(x=blocks, fmt=fmts)
def test_property_idempotent(x, fmt):
    q = mx_quantize(x, fmt)
    assert same_y(mx_quantize(q, fmt), q)


@SETTINGS
@given(x=blocks, fmt=fmts)
def test_property_sign_symmetry(x, fmt):
    q = mx_quantize(x, fmt)
    qn = mx_quantize(-x, fmt)
    assert same_y(qn, -q)
    assert np.array_equal(mx_encode(x, fmt).scales, mx_encode(-x, fmt).scales)


@SETTINGS
@given(x=blocks, fmt=fmts)
def test_property_error_at_most_half_step(x, fmt):
    """|x - q| <= half a step at the element's own exponent under the block scale, except for
    saturated elements, whose error is exactly |x| - max_normal * scale."""
    _, emax, maxn, man, emin = ELEM[fmt]
    m = mx_encode(x, fmt)
    y = mx_decode(m).astype(np.float64)
    e = np.repeat(m.scale_exponents.astype(np.float64), 32, axis=-1)[:, : x.shape[-1]]
    X = np.ldexp(1.0, e.astype(int))
    xd = x.astype(np.float64)
    q = np.abs(xd) / X
    if fmt == "mxint8":
        step = np.full_like(q, 1 / 64)
    else:
        _, fe = np.frexp(q)
        te = np.maximum(np.where(q > 0, fe - 1, emin), emin)
        step = np.ldexp(1.0, te - man)
    err = np.abs(xd - y)
    sat = q > maxn
    assert np.all(err[~sat] <= 0.5 * step[~sat] * X[~sat])
    assert np.all(np.abs(y[sat]) == maxn * X[sat])
    assert np.all(np.sign(y[y != 0]) == np.sign(xd[y != 0]))


@SETTINGS
@given(x=hnp.arrays(np.float32, st.integers(1, 96),
                    elements=st.floats(-1e4, 1e4, width=32).filter(lambda v: abs(v) > 1e-3)),
       k=st.integers(-60, 60), fmt=fmts)
def test_property_power_of_two_scaling(x, k, fmt):
    """Multiplying a tensor by 2^k shifts every block scale by k and the output by 2^k, while
    the scales stay inside the E8M0 range (values here stay normal float32)."""
    f = np.float32(2.0 ** k)
    m0, mk = mx_encode(x, fmt), mx_encode(x * f, fmt)
    s0 = m0.scale_exponents
    assume(np.all(s0 + k > -127) and np.all(s0 > -127))
    assert np.array_equal(mk.scale_exponents, s0 + k)
    assert same_y(mx_decode(mk), mx_decode(m0) * f)


def test_float64_rounds_once_from_the_float64_value():
    # E2M1 under scale 2^0 (pin 4.0): 1.25 is a tie between 1.0 and 1.5 (-> 1.0, even), but
    # 1.25 + 2^-40 is above the tie and must give 1.5. Via float32 it would collapse to 1.25.
    x = np.array([4.0, 1.25, 1.25 + 2.0 ** -40, -(1.25 + 2.0 ** -40)], dtype=np.float64)
    np.testing.assert_array_equal(mx_quantize(x, "mxfp4_e2m1"), [4.0, 1.0, 1.5, -1.5])
    # INT8: 0.5/64 + tiny rounds up to 1/64; exactly 0.5/64 rounds to 0 (even)
    x = np.array([1.0, 0.5 / 64, 0.5 / 64 + 2.0 ** -50], dtype=np.float64)
    np.testing.assert_array_equal(mx_quantize(x, "mxint8"), [1.0, 0.0, 1 / 64])
    # float64 values that are float32 values give exactly the float32 results
    rng = np.random.default_rng(5)
    x32 = edge_case_data(rng, 16, 40)
    for fmt in MX_FORMATS:
        assert same_y(mx_quantize(x32.astype(np.float64), fmt), mx_quantize(x32, fmt))


def test_float64_beyond_e8m0_range_saturates():
    x = np.array([1e300, -1e300, 1.0], dtype=np.float64)
    m = mx_encode(x, "mxfp8_e4m3")
    assert m.scales[0] == 254           # clamped to 2^127
    np.testing.assert_array_equal(m.codes, [0x7E, 0xFE, 0])   # +-max normal (448), 0
    # 448 * 2^127 is a valid MX value but exceeds float32: the float32 decode gives +-Inf
    y = mx_decode(m)
    assert y[0] == np.inf and y[1] == -np.inf and y[2] == 0
    x = np.array([1e-300, 2e-300], dtype=np.float64)
    m = mx_encode(x, "mxfp8_e4m3")
    assert m.scales[0] == 0 and not mx_decode(m).any()


def test_bfloat16_input():
    rng = np.random.default_rng(7)
    x32 = edge_case_data(rng, 16, 50)
    xb = x32.astype(ml_dtypes.bfloat16)
    xw = xb.astype(np.float32)          # exact widening
    for fmt in MX_FORMATS:
        exp = mx_encode(xw, fmt)
        for inp in (xb, xb.view(np.uint16)):
            got = mx_encode(inp, fmt)
            np.testing.assert_array_equal(got.scales, exp.scales)
            np.testing.assert_array_equal(got.codes, exp.codes)
            assert same_y(mx_quantize(inp, fmt), mx_decode(exp))


def test_float16_and_int_inputs():
    x = np.array([[0.1, -3.0, 7.5, 1e-5]], dtype=np.float16)
    assert same_y(mx_quantize(x, "mxfp6_e2m3"), mx_quantize(x.astype(np.float32), "mxfp6_e2m3"))
    xi = np.arange(-40, 40).reshape(2, 40)
    assert same_y(mx_quantize(xi, "mxint8"), mx_quantize(xi.astype(np.float32), "mxint8"))
    with pytest.raises(SpecError):
        mx_quantize(np.array(["a"]), "mxfp8")
    with pytest.raises(SpecError):
        mx_quantize(np.ones(3, np.complex64), "mxfp8")


def test_error_stats_closed_form():
    # E2M1, block [4, 1, 0.75, 0.25]: scale 2^0; 0.75 is a tie (0.5 / 1.0) -> 1.0 (even
    # mantissa), 0.25 is a tie (0 / 0.5) -> 0. Errors 0, 0, 0.25, 0.25.
    x = np.array([4.0, 1.0, 0.75, 0.25], np.float32)
    s = mx_error_stats(x, "mxfp4")
    sig, noise = 16 + 1 + 0.5625 + 0.0625, 0.0625 + 0.0625
    assert s["sqnr_db"] == pytest.approx(10 * np.log10(sig / noise), rel=1e-12)
    assert s["max_abs_err"] == 0.25 and s["mean_abs_err"] == pytest.approx(0.125)
    assert s["max_rel_err"] == 1.0 and s["mean_rel_err"] == pytest.approx((0 + 0 + 1 / 3 + 1) / 4)
    assert mx_error_stats(np.array([1.0, 0.5], np.float32), "mxfp8")["sqnr_db"] == np.inf
    s = mx_error_stats(np.array([np.nan, 1.0] + [0.0] * 31 + [2.0], np.float32), "mxfp8")
    assert s["n_nonfinite"] == 32 and s["n"] == 2    # the NaN block is left out


@pytest.mark.parametrize("fmt", MX_FORMATS)
@pytest.mark.parametrize("inner", [1, 3])
@pytest.mark.parametrize("bf16", [False, True])
def test_float_fast_path_equals_exact_integer_path(fmt, inner, bf16):
    """float32 / bf16 input takes a float fast path (FPU rounding); the all-integer path is the
    fallback when the FPU is not in round-to-nearest without FTZ/DAZ. Both must agree, for
    contiguous blocks (inner == 1) and blocks along a strided axis (inner > 1)."""
    from chipletarch._core import mx as cmx
    fid = MX_FORMATS.index(fmt)
    x = edge_case_data(np.random.default_rng(99), 96, 96)
    if bf16:
        xb = x.astype(ml_dtypes.bfloat16).view(np.uint16)
    else:
        xb = x.view(np.uint32)
    xb = np.ascontiguousarray(xb.reshape(1, -1, inner))
    out = []
    for exact in (False, True):
        c = np.empty(xb.shape, np.uint8)
        s = np.empty((1, -(-xb.shape[1] // 32), inner), np.uint8)
        y = np.empty(xb.shape, np.float32)
        cmx.encode(xb, fid, 32, c, s, y, exact_int_path=exact)
        out.append((c, s, y))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])
    assert same_y(out[0][2], out[1][2])


def test_float64_against_exact_rational_oracle():
    """float64 input, checked against exact rational arithmetic (fractions.Fraction) and a
    nearest-value search over the element table, ties to the even code / even integer."""
    import bisect
    from fractions import Fraction

    from chipletarch.mx import mx_decode_table

    rng = np.random.default_rng(21)
    for fmt in MX_FORMATS:
        _, emax, maxn, _, _ = ELEM[fmt]
        table = mx_decode_table(fmt)
        codes = [c for c in range(table.size) if np.isfinite(table[c]) and table[c] >= 0
                 and not np.signbit(table[c]) and (fmt != "mxint8" or c < 128)]
        vals = sorted((Fraction(float(table[c])), c) for c in codes)
        keys = [v for v, _ in vals]
        # blocks: a pin at 2^emax * 2^k, then float64 values near table midpoints
        x = np.empty((8, 32))
        for r in range(8):
            k = int(rng.integers(-100, 100))
            mids = [(keys[i] + keys[i + 1]) / 2 for i in range(len(keys) - 1)]
            pick = rng.integers(0, len(mids), 31)
            pert = rng.choice([-1, 0, 1], 31) * 2.0 ** rng.integers(-52, -20, 31)
            row = [float(mids[p]) * (1 + d) * 2.0 ** k for p, d in zip(pick, pert)]
            x[r, 0] = 2.0 ** emax * 2.0 ** k
            x[r, 1:] = np.where(rng.random(31) < 0.5, -1, 1) * np.array(row)
        y = mx_quantize(x, fmt)
        for r in range(8):
            e = math.frexp(float(np.max(np.abs(x[r]))))[1] - 1 - emax
            for j in range(32):
                q = Fraction(float(x[r, j])) / Fraction(2) ** e
                a = min(abs(q), Fraction(maxn))
                i = bisect.bisect_left(keys, a)
                if i == 0:
                    best = vals[0]
                elif i == len(keys):
                    best = vals[-1]
                else:
                    lo, hi = vals[i - 1], vals[i]
                    dl, dh = a - lo[0], hi[0] - a
                    if dl < dh:
                        best = lo
                    elif dh < dl:
                        best = hi
                    else:  # tie: even code (FP: last mantissa bit 0; INT8: even k)
                        best = lo if lo[1] % 2 == 0 else hi
                expect = float(best[0] * Fraction(2) ** e) * (1 if q >= 0 else -1)
                assert y[r, j] == np.float32(expect), (fmt, r, j, float(q))
