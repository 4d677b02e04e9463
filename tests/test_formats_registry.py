"""Format registry, tensor sizes and precision presets (chipletarch.formats)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from chipletarch.errors import SpecError
from chipletarch.formats import (FORMATS, PRECISIONS, Format, format_by_index, get_format,
                                 get_precision, tensor_bytes)

CANONICAL = ("fp32 tf32 bf16 fp16 fp8_e4m3 fp8_e5m2 mxfp8_e4m3 mxfp8_e5m2 mxfp6_e3m2 mxfp6_e2m3 "
             "mxfp4_e2m1 mxint8 int8 int4 nvfp4 fp8_block").split()


def test_canonical_names_and_stable_indices():
    assert list(FORMATS) == CANONICAL
    for i, (name, f) in enumerate(FORMATS.items()):
        assert f.index == i and f.name == name
        assert format_by_index(i) is f


def test_mx_constants_match_reference_table():
    # MX_VECTORS.md / OCP MX v1.0 table: max normal, min subnormal, emax of each element.
    data = np.load(__file__.rsplit("/", 1)[0] + "/data/mx/mx_vectors.npz")
    for name, emax, mx, bits in zip(data["formats"], data["format_emax"],
                                    data["format_max_norm"], data["format_elem_bits"]):
        f = get_format(str(name))
        assert f.emax == emax and f.max_normal == mx and f.element_bits == bits
        assert f.block_size == 32 and f.scale_bits == 8 and f.scale_format == "e8m0"
    expect_min_sub = {"mxfp8_e4m3": 2.0 ** -9, "mxfp8_e5m2": 2.0 ** -16, "mxfp6_e3m2": 0.0625,
                      "mxfp6_e2m3": 0.125, "mxfp4_e2m1": 0.5, "mxint8": 1 / 64}
    for n, v in expect_min_sub.items():
        assert get_format(n).min_subnormal == v


def test_ieee_constants():
    assert get_format("fp32").max_normal == float(np.finfo(np.float32).max)
    assert get_format("fp32").min_subnormal == 2.0 ** -149
    assert get_format("fp16").max_normal == 65504.0
    assert get_format("fp16").min_subnormal == 2.0 ** -24
    assert get_format("bf16").max_normal == (2 - 2 ** -7) * 2.0 ** 127
    assert get_format("fp8_e4m3").max_normal == 448.0
    assert get_format("fp8_e5m2").max_normal == 57344.0
    assert get_format("int8").max_normal == 127 and get_format("int4").max_normal == 7


@pytest.mark.parametrize("name,bpe", [("mxfp8_e4m3", 8.25), ("mxfp8_e5m2", 8.25),
                                      ("mxfp6_e3m2", 6.25), ("mxfp6_e2m3", 6.25),
                                      ("mxfp4_e2m1", 4.25), ("mxint8", 8.25), ("nvfp4", 4.5),
                                      ("fp8_block", 8.25), ("bf16", 16), ("tf32", 32),
                                      ("int4", 4), ("fp8_e4m3", 8)])
def test_bits_per_element(name, bpe):
    assert get_format(name).bits_per_element == bpe


@pytest.mark.parametrize("alias,canon", [("fp8", "fp8_e4m3"), ("mxfp8", "mxfp8_e4m3"),
                                         ("mxfp6", "mxfp6_e3m2"), ("mxfp4", "mxfp4_e2m1"),
                                         ("bfloat16", "bf16"), ("float32", "fp32"),
                                         ("float16", "fp16"), ("E5M2", "fp8_e5m2"),
                                         (" MXFP8-E5M2 ", "mxfp8_e5m2"), ("BF16", "bf16")])
def test_aliases(alias, canon):
    assert get_format(alias) is FORMATS[canon]
    assert get_format(FORMATS[canon]) is FORMATS[canon]


def test_unknown_and_ambiguous_names():
    with pytest.raises(SpecError, match=r"unknown format 'mxfp5' — did you mean .*'mxfp6'"):
        get_format("mxfp5")
    with pytest.raises(SpecError, match="ambiguous"):
        get_format("fp4")
    assert get_format(10) is FORMATS["mxfp4_e2m1"] and get_format(np.int16(2)).name == "bf16"
    with pytest.raises(SpecError):
        get_format(len(FORMATS))
    with pytest.raises(SpecError):
        get_format(-1)
    with pytest.raises(SpecError):
        get_format(1.5)
    with pytest.raises(SpecError):
        format_by_index(len(FORMATS))


def test_tensor_bytes_closed_forms():
    # 4096 x 4096 weight: bf16 = 2 B/elem; MXFP4 = 0.5 B/elem + 1 B per 32 elements.
    n = 4096 * 4096
    assert tensor_bytes(n, "bf16") == 2 * n
    assert tensor_bytes(n, "mxfp4") == n / 2 + n / 32
    assert tensor_bytes(n, "mxfp8") == n + n / 32
    assert tensor_bytes(n, "mxfp6_e2m3") == n * 6 / 8 + n / 32
    assert tensor_bytes(n, "nvfp4") == n / 2 + n / 16
    assert tensor_bytes(n, "fp8_block") == n + 4 * n / 128
    assert tensor_bytes(n, "fp8") == n and tensor_bytes(n, "int4") == n / 2
    assert tensor_bytes(0, "mxfp4") == 0.0


def test_tensor_bytes_partial_blocks():
    # 3 rows of 40 along the blocking axis: 2 blocks per row (32 + 8) -> 6 scales.
    assert tensor_bytes(120, "mxfp8", block_axis_len=40) == 120 + 6
    assert tensor_bytes(45, "mxfp4", block_axis_len=45) == 45 / 2 + 2
    # without the axis length, blocks are counted fractionally (additive over splits)
    assert tensor_bytes(120, "mxfp8") == 120 + 120 / 32
    assert tensor_bytes(60, "mxfp8") * 2 == tensor_bytes(120, "mxfp8")
    with pytest.raises(SpecError):
        tensor_bytes(100, "mxfp8", block_axis_len=40)
    with pytest.raises(SpecError):
        tensor_bytes(-1, "bf16")
    with pytest.raises(SpecError):
        tensor_bytes(10, "mxfp8", block_axis_len=0)


def test_tensor_bytes_arrays():
    out = tensor_bytes(np.array([32, 64, 1.5]), "mxfp8")
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_array_equal(out, [33.0, 66.0, 1.5 + 1.5 / 32])
    assert isinstance(tensor_bytes(7, "fp16"), float)


def test_precision_presets():
    for name in ("bf16", "fp16", "fp8", "fp8_block", "mxfp8", "mxfp6", "mxfp4", "nvfp4",
                 "w4a8kv8", "w4a16", "w8a16", "int8"):
        p = get_precision(name)
        assert p.name == name
        fm = p.formats()
        assert all(isinstance(v, Format) for v in fm.values())
        # compute rule: the matrix engine runs at least as wide as both operands
        assert fm["compute"].element_bits >= fm["weights"].element_bits
        assert fm["compute"].element_bits >= fm["activations"].element_bits
    p = get_precision("w4a8kv8")
    assert (p.weights, p.activations, p.kv_cache, p.compute) == (
        "mxfp4_e2m1", "mxfp8_e4m3", "mxfp8_e4m3", "mxfp8_e4m3")
    p = get_precision("w4a16")
    assert (p.weights, p.activations, p.compute) == ("mxfp4_e2m1", "bf16", "bf16")
    assert get_precision("fp8").compute == "fp8_e4m3"
    assert get_precision("W8A8") is PRECISIONS["int8"]
    with pytest.raises(SpecError, match="did you mean"):
        get_precision("w4a9kv8")
    assert math.isclose(get_format(get_precision("mxfp4").weights).bits_per_element, 4.25)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(rows=st.integers(0, 1000), L=st.integers(1, 5000),
       name=st.sampled_from(list(FORMATS)))
def test_tensor_bytes_block_counting_invariants(rows, L, name):
    f = FORMATS[name]
    n = rows * L
    exact = tensor_bytes(n, f, block_axis_len=L)
    approx = tensor_bytes(n, f)
    if not f.block_size or L % f.block_size == 0:
        assert exact == approx
    else:
        # partial tail blocks carry a whole scale each: never fewer bytes, at most one scale
        # per row more
        assert approx <= exact <= approx + rows * f.scale_bits / 8
    assert exact == n * f.element_bits / 8 + (
        rows * -(-L // f.block_size) * f.scale_bits / 8 if f.block_size else 0)
