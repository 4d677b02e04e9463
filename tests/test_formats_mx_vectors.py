"""MX numerics, bit-exact against the reference vectors (tests/data/mx/mx_vectors.npz).

The vectors and the comparison rules are described in MX_VECTORS.md (shared reference): y compared
bit-exactly with NaN == NaN and +0 == -0; scales exactly; element codes exactly except in NaN-scale
blocks (don't-care) and for the two zero codes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chipletarch.mx import MX_FORMATS, mx_decode, mx_decode_table, mx_encode, mx_quantize

DATA = np.load(Path(__file__).parent / "data" / "mx" / "mx_vectors.npz")
FMTS = [str(f) for f in DATA["formats"]]


def assert_y_equal(got, exp):
    got = np.asarray(got, dtype=np.float32)
    exp = np.asarray(exp, dtype=np.float32)
    assert got.shape == exp.shape
    both_nan = np.isnan(got) & np.isnan(exp)
    same = (got == exp) | both_nan  # == treats +0 and -0 as equal
    # bit-exact otherwise: compare the bit patterns of the non-zero, non-NaN values
    nz = (exp != 0) & ~both_nan
    assert np.array_equal(got[nz].view(np.uint32), exp[nz].view(np.uint32))
    assert same.all(), np.argwhere(~same)[:10]


def assert_codes_equal(got, exp, fmt, scales):
    bits = 4 if fmt == "mxfp4_e2m1" else 6 if fmt.startswith("mxfp6") else 8
    sign = np.uint8(1 << (bits - 1))
    if fmt == "mxint8":
        zero_g, zero_e = got == 0, exp == 0
    else:
        zero_g, zero_e = (got & ~sign) == 0, (exp & ~sign) == 0
    nan_block = np.repeat(scales == 255, 32, axis=-1)[..., : got.shape[-1]]
    ok = (got == exp) | (zero_g & zero_e) | nan_block
    assert ok.all(), np.argwhere(~ok)[:10]


def test_format_list_matches():
    assert FMTS == list(MX_FORMATS)


@pytest.mark.parametrize("fmt", FMTS)
@pytest.mark.parametrize("case", ["", "_tail", "_2d"])
def test_bit_exact_against_reference_vectors(fmt, case):
    x = DATA["x" + case]
    m = mx_encode(x, fmt)
    exp_scales = DATA[f"scale_e8m0{case}_{fmt}"]
    if case == "":
        exp_scales = exp_scales[:, None]
    np.testing.assert_array_equal(m.scales, exp_scales)
    assert_codes_equal(m.codes, DATA[f"codes{case}_{fmt}"], fmt, m.scales)
    assert_y_equal(mx_decode(m), DATA[f"y{case}_{fmt}"])
    assert_y_equal(mx_quantize(x, fmt), DATA[f"y{case}_{fmt}"])


@pytest.mark.parametrize("fmt", FMTS)
def test_decode_table_matches_reference(fmt):
    exp = DATA[f"elem_values_{fmt}"]
    got = mx_decode_table(fmt)[: exp.size]
    same = (got == exp) | (np.isnan(got) & np.isnan(exp))
    assert same.all()
    # sign of zero in the table is part of the layout
    assert np.array_equal(np.signbit(got[exp == 0]), np.signbit(exp[exp == 0]))


def test_labelled_edge_cases_hand_checked():
    """A few rows whose expected values follow from the spec by hand (not from the file)."""
    labels = list(DATA["block_labels"])
    x = DATA["x"]
    # block max just below 2^20: exact floor(log2) is 19, so FP4 (emax 2) uses 2^17 and the
    # max saturates to 6 * 2^17 (a float log2 would give 2^18 and 8 * 2^17 instead).
    r = labels.index("max_just_below_2^20")
    m = mx_encode(x[r], "mxfp4_e2m1")
    assert int(m.scales[0]) - 127 == 19 - 2
    y = mx_decode(m)
    assert np.max(np.abs(y)) == 6 * 2.0 ** 17
    # FLT_MAX: scale exponent 127 - emax, saturates to max normal, never Inf
    r = labels.index("near_flt_max")
    for fmt, emax, mx in (("mxfp8_e4m3", 8, 448.0), ("mxint8", 0, 127 / 64)):
        m = mx_encode(x[r], fmt)
        assert int(m.scales[0]) - 127 == 127 - emax
        y = mx_decode(m)
        assert np.isfinite(y).all() and np.max(np.abs(y)) == np.float32(mx * 2.0 ** (127 - emax))
    # all-zero block: scale code 0, zeros out
    r = labels.index("all_zero_signed")
    m = mx_encode(x[r], "mxfp8_e5m2")
    assert m.scales[0] == 0 and not np.any(mx_decode(m))
    # NaN / Inf blocks: scale 0xFF, every output NaN
    for lab in ("contains_+inf", "contains_nan", "contains_-inf_and_nan"):
        r = labels.index(lab)
        for fmt in FMTS:
            m = mx_encode(x[r], fmt)
            assert m.scales[0] == 255 and np.isnan(mx_decode(m)).all()
            assert not m.codes.any()
