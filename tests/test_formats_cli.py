"""`chipletarch formats`: the listing, its JSON, presets, and SQNR figures vs closed forms."""
from __future__ import annotations

import json
import math

import pytest

from chipletarch.cli import main
from chipletarch.formats import FORMATS, PRECISIONS
from chipletarch.formats_commands import format_table, samples


@pytest.fixture(scope="module")
def table():
    return {r["name"]: r for r in format_table()}


def test_listing_runs_and_lists_every_format(capsys):
    assert main(["formats"]) == 0
    out = capsys.readouterr().out
    for name in FORMATS:
        assert f"\n{name} " in out
    assert main(["formats", "--presets"]) == 0
    out = capsys.readouterr().out
    for name in PRECISIONS:
        assert f"\n{name} " in out


def test_json_and_filter(capsys):
    assert main(["formats", "--json", "mxfp4", "bf16"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["bf16", "mxfp4_e2m1"]
    assert rows[1]["bits_per_element"] == 4.25 and rows[1]["block_size"] == 32


def test_unknown_format_exit_1(capsys):
    assert main(["formats", "mxfp5"]) == 1
    assert "did you mean" in capsys.readouterr().err


def test_samples_have_one_outlier_per_block():
    for (dist, outl), (x, inl) in samples().items():
        assert x.shape == (64, 1024)
        per_block = (~inl).reshape(64, 32, 32).sum(-1)
        assert (per_block == (1 if outl else 0)).all()


# (not MXFP8 E4M3: its spec scale maps the block max into [256, 512) while max normal is 448,
# so block maxima above 1.75 * 2^k saturate, which costs up to ~2 dB on heavy tails)
@pytest.mark.parametrize("name", ["bf16", "tf32", "fp16", "fp8_e4m3", "fp8_block"])
def test_float_sqnr_matches_closed_form(table, name):
    """Relative rounding noise of a float with M mantissa bits: step 2^(E-M), variance step²/12;
    with log-uniform significands m in [1, 2), E[m²] = 3 / (2 ln 2), so
    SQNR = 10 log10(12 · 3/(2 ln 2) · 4^M) = 14.14 + 6.02 M dB (no saturation, no subnormals)."""
    m = FORMATS[name].man_bits
    expect = 10 * math.log10(12 * 3 / (2 * math.log(2)) * 4.0 ** m)
    for dist in ("gaussian", "laplace", "student_t3"):
        assert abs(table[name][f"sqnr_{dist}"] - expect) < 2.0


def test_outliers_hurt_narrow_exponent_formats(table):
    # a 32-sigma outlier needs 5 more binades: E2M3 / E2M1 / INT8 lose small values, E4M3 not
    for name in ("mxfp6_e2m3", "mxfp4_e2m1", "mxint8"):
        assert table[name]["sqnr_gaussian_outlier"] < table[name]["sqnr_gaussian"] - 10
    assert abs(table["mxfp8_e4m3"]["sqnr_gaussian_outlier"]
               - table["mxfp8_e4m3"]["sqnr_gaussian"]) < 2
    assert table["fp32"]["sqnr_gaussian"] == math.inf
