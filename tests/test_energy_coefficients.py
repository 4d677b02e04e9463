"""Energy coefficients (chipletarch.energy.coefficients) against ENERGY.md by hand."""
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chipletarch.arch.catalog import lookup_process
from chipletarch.energy import coefficients as C
from chipletarch.formats import FORMATS


def test_energy_md_derived_mac_energies_at_45nm():
    # ENERGY.md §1 "Derived MAC energies at 45 nm": FP16 x FP16 + FP32 add 2.0, INT8 MAC with
    # 32-bit accumulate 0.3, FP32 FMA 4.6
    assert C.mac_energy_pj_45nm("fp16") == pytest.approx(1.1 + 0.9)
    assert C.mac_energy_pj_45nm("int8") == pytest.approx(0.2 + 0.1)
    assert C.mac_energy_pj_45nm("fp32") == pytest.approx(3.7 + 0.9)


def test_multiplier_significand_squared_rule():
    # bf16: 8-bit significand -> 1.1 x (8/11)^2; E4M3: 4 bits -> 1.1 x (4/11)^2 (inside ENERGY.md's
    # "~0.05-0.2 pJ at 45 nm" for FP8); E2M1: 2 bits
    assert C.multiply_energy_pj_45nm("bf16") == pytest.approx(1.1 * 64 / 121)
    assert C.multiply_energy_pj_45nm("fp8_e4m3") == pytest.approx(1.1 * 16 / 121)
    assert 0.05 <= C.multiply_energy_pj_45nm("fp8_e4m3") <= 0.2
    assert C.multiply_energy_pj_45nm("mxfp4_e2m1") == pytest.approx(1.1 * 4 / 121)
    # the integer width^2 rule predicts INT32 within 4 % of the published 3.1 pJ
    assert 0.2 * (32 / 8) ** 2 == pytest.approx(3.1, rel=0.04)
    assert C.multiply_energy_pj_45nm("int4") == pytest.approx(0.2 / 4)
    assert C.multiply_energy_pj_45nm("tf32") == pytest.approx(1.1)  # same significand as FP16


def test_block_scale_shares():
    # MX: one 8-bit exponent add (0.03 pJ) per 32 products; NVFP4: one E4M3 multiply per 16;
    # block FP8: one FP32 multiply per 128
    assert C.block_scale_energy_pj_45nm("mxfp8_e4m3") == pytest.approx(0.03 / 32)
    assert C.block_scale_energy_pj_45nm("nvfp4") == pytest.approx(1.1 * 16 / 121 / 16)
    assert C.block_scale_energy_pj_45nm("fp8_block") == pytest.approx(3.7 / 128)
    assert C.block_scale_energy_pj_45nm("bf16") == 0.0
    assert C.mac_energy_pj_45nm("mxint8") == pytest.approx(0.2 + 0.1 + 0.03 / 32)


def test_node_scaling_and_dvfs():
    n5 = lookup_process("N5").logic_energy_scale
    assert n5 == pytest.approx(1 / math.sqrt(18))          # geometric mean of ENERGY.md's 3-6x
    assert C.mac_energy_pj("bf16", n5) == pytest.approx(C.mac_energy_pj_45nm("bf16") * n5)
    # V ∝ f: energy per op ∝ f^2
    assert C.mac_energy_pj("fp8", n5, 0.8) == pytest.approx(C.mac_energy_pj("fp8", n5) * 0.64)
    # SRAM: 10 pJ / 64 bit at 45 nm; scaled into ENERGY.md §2's 0.02-0.05 pJ/bit for modern nodes
    assert C.sram_pj_per_bit(1.0) == pytest.approx(10 / 64)
    assert 0.02 <= C.sram_pj_per_bit(n5) <= 0.05
    assert C.vector_energy_pj_per_flop(1.0) == pytest.approx(4.6 / 2)
    with pytest.raises(ValueError):
        C.dvfs_energy_scale(1.2)


def test_adder_tree_amortisation():
    # N = 1 is the plain composition; N -> large tends to multiply + a product-width fixed-point add
    for f in ("bf16", "fp8_e4m3", "int8", "nvfp4"):
        assert C.mac_energy_pj_45nm(f, 1) == pytest.approx(C.mac_energy_pj_45nm(f))
    # fp8 E4M3, N = 32: product 8 bits -> INT8 add 0.03; 31/32 x 0.03 + 0.9 / 32 + 1.1 (4/11)^2
    assert C.mac_energy_pj_45nm("fp8_e4m3", 32) == pytest.approx(31 / 32 * 0.03 + 0.9 / 32 + 1.1 * 16 / 121)
    assert C.integer_add_energy_pj_45nm(16) == pytest.approx(0.05)
    assert C.integer_add_energy_pj_45nm(24) == pytest.approx(0.075)
    assert C.integer_add_energy_pj_45nm(64) == pytest.approx(0.2)
    with pytest.raises(ValueError):
        C.mac_energy_pj_45nm("bf16", 0)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(list(FORMATS)), st.integers(1, 256), st.floats(0.05, 1.0), st.floats(0.5, 1.0))
def test_mac_energy_positive_monotone(fmt, n, scale, clock):
    e = C.mac_energy_pj(fmt, scale, clock, n)
    assert e > 0
    # lower clock (DVFS) and finer node never cost more per MAC
    assert C.mac_energy_pj(fmt, scale, clock * 0.9, n) <= e
    assert C.mac_energy_pj(fmt, scale * 0.5, clock, n) < e


def test_narrower_float_formats_cost_no_more():
    order = ["fp32", "tf32", "bf16", "fp8_e4m3", "mxfp4_e2m1"]
    for every in (1, 32):
        vals = [C.mac_energy_pj_45nm(f, every) for f in order]
        assert vals == sorted(vals, reverse=True)
