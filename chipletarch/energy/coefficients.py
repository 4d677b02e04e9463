"""Energy coefficients: per-operation and per-bit energies, with their sources, as pure functions.

Everything here is plain numbers in, plain numbers out (no architecture objects), so the tables can
be checked by hand and reused by sweeps. Sources are the keys of shared/reference/ENERGY.md
("§1 [E1]" = section 1, source E1); status letters P (published), E (estimate), U (unverified) as
in that sheet. docs/ENERGY_MODEL.md derives every formula below.

Arithmetic at 45 nm / 0.9 V (Horowitz, ISSCC 2014; ENERGY.md §1):

* one MAC = one multiply in the operand format + one add in the accumulator format;
* multiply energy of a float format scales with the significand width squared (ENERGY.md §1:
  "a multiplier's energy scales roughly with (mantissa bits + 1)^2"), anchored at the published FP16
  multiply (1.1 pJ, 11-bit significand); FP32 uses its own published figure (3.7 pJ). Integer
  multiply scales with the width squared from INT8 (0.2 pJ) — the same rule predicts INT32 at
  3.2 pJ against the published 3.1 pJ, a check of the rule;
* accumulators: FP32 add (0.9 pJ) for every float format, INT32 add (0.1 pJ) for integers;
* block-scaled formats pay one multiply in the scale's format per block, amortised over the block
  (E8M0 scales multiply by adding exponents: an INT8 add, 0.03 pJ).

Node scaling: dynamic energy ~ C·V^2, carried by `ProcessNode.logic_energy_scale` in the catalog
(N5/N4 family 1/sqrt(18) = 0.236, the geometric mean of ENERGY.md §1's "3–6x lower").
"""
from __future__ import annotations

from ..formats import Format, get_format

__all__ = [
    "HOROWITZ_45NM_PJ", "mac_energy_pj_45nm", "integer_add_energy_pj_45nm", "product_bits", "mac_energy_pj", "multiply_energy_pj_45nm",
    "accumulate_energy_pj_45nm", "block_scale_energy_pj_45nm", "vector_energy_pj_per_flop",
    "SRAM_8KB_PJ_PER_BIT_45NM", "sram_pj_per_bit", "CACHE_PJ_PER_BIT", "PORT_PJ_PER_BIT_DEFAULT",
    "STATIC_FRACTION", "HBM_BACKGROUND_FRACTION", "LINK_STANDBY_FRACTION", "dvfs_energy_scale",
    "MIN_CLOCK_SCALE", "COEFFICIENT_SOURCES",
]

# ENERGY.md §1 table, 45 nm / 0.9 V, pJ per operation.
HOROWITZ_45NM_PJ = {
    "int8_add": 0.03,   # P [E1][E2]
    "int16_add": 0.05,  # P [E2]
    "int32_add": 0.1,   # P [E1][E2]
    "fp16_add": 0.4,    # P [E2]
    "fp32_add": 0.9,    # P [E1][E2]
    "int8_mul": 0.2,    # P [E2]
    "int32_mul": 3.1,   # P [E1][E2]
    "fp16_mul": 1.1,    # P (U) Horowitz slide, [E3]
    "fp32_mul": 3.7,    # P [E1]
}

# ENERGY.md §1/§2: SRAM read of 64 bits from an 8 KB array = 10 pJ (P [E1]) -> 0.156 pJ/bit.
SRAM_8KB_PJ_PER_BIT_45NM = 10.0 / 64.0
# ENERGY.md §2: large LLC/L2 (tens of MB, NoC wire included) ~0.5–2 pJ/bit (E). Geometric mean of
# the range = 1.0. Not node-scaled: wire energy dominates at these distances (same row).
CACHE_PJ_PER_BIT = 1.0
# ENERGY.md §4b: off-package SerDes energy of NVLink 4/5 is not published; a 112G PAM4 long-reach
# SerDes is ~5.5 pJ/bit (E [E14]). Used only for ports that leave energy_pj_per_bit unset.
PORT_PJ_PER_BIT_DEFAULT = 5.5
# ENERGY.md §5 proposed defaults (E): static = 0.25 x TDP; HBM background 10 % of its peak power;
# D2D links power-gated when idle plus a fixed 5 % PHY standby.
STATIC_FRACTION = 0.25
HBM_BACKGROUND_FRACTION = 0.10
LINK_STANDBY_FRACTION = 0.05
# Throttling: below half clock a V ∝ f voltage reduction is not credible (threshold voltage); the
# throttle search stops there (docs/ENERGY_MODEL.md "Throttling").
MIN_CLOCK_SCALE = 0.5

COEFFICIENT_SOURCES = {
    "mac": "ENERGY.md §1 Horowitz 45 nm table [E1][E2][E3] (P); significand^2 multiplier rule (E); "
           "node scale ProcessNode.logic_energy_scale, ENERGY.md §1 'Scaling to newer nodes' [E4] (E)",
    "vector": "ENERGY.md §1 derived FP32 FMA 4.6 pJ at 45 nm = 2 FLOP (E), node-scaled",
    "sram": "ENERGY.md §1/§2 SRAM 64-bit read from an 8 KB array 10 pJ at 45 nm [E1] (P), node-scaled "
            "(ENERGY.md §2 'modern node small array ~0.02–0.05 pJ/bit')",
    "cache": "ENERGY.md §2 'Large LLC/L2 (tens of MB, includes NoC wire) ~0.5–2 pJ/bit' (E), geometric mean 1.0",
    "hbm": "MemoryStack.energy_pj_per_bit (catalog: ENERGY.md §3, HBM3/3E 3.5 E, HBM2E 3.9 U [E6])",
    "d2d": "Link.energy_pj_per_bit (catalog: ENERGY.md §4a UCIe KPIs [E9][E10] P, §4b)",
    "network": "Port.energy_pj_per_bit; unset -> 5.5 pJ/bit, ENERGY.md §4b 112G PAM4 LR SerDes [E14] (E)",
    "static": "ENERGY.md §5 convention 1: P_static = f_static x TDP, f_static = 0.25 (E); HBM background "
              "0.10 of peak access power (E); D2D PHY standby 0.05 of peak link power (E) [E10]",
}


def _fmt(fmt) -> Format:
    return fmt if isinstance(fmt, Format) else get_format(fmt)


def multiply_energy_pj_45nm(fmt) -> float:
    """Energy of one multiply of two `fmt` operands at 45 nm / 0.9 V, pJ (ENERGY.md §1)."""
    f = _fmt(fmt)
    h = HOROWITZ_45NM_PJ
    if f.family in ("int",) or (f.family == "mx" and f.exp_bits == 0):
        # integer (incl. MXINT8) multiplier: width^2 from the INT8 figure (INT32 check: 3.2 vs 3.1 P)
        return h["int8_mul"] * (f.element_bits / 8.0) ** 2
    significand = f.man_bits + 1
    if significand > 11:  # FP32: the published figure (the quadratic rule from FP16 would give 5.2)
        return h["fp32_mul"]
    return h["fp16_mul"] * (significand / 11.0) ** 2


def accumulate_energy_pj_45nm(fmt) -> float:
    """Energy of the accumulate of one MAC at 45 nm: FP32 add for floats, INT32 add for integers."""
    f = _fmt(fmt)
    integer = f.family == "int" or (f.family == "mx" and f.exp_bits == 0)
    return HOROWITZ_45NM_PJ["int32_add" if integer else "fp32_add"]


def block_scale_energy_pj_45nm(fmt) -> float:
    """Per-MAC share of the block-scale multiply of a block-scaled format at 45 nm, pJ.

    One scale multiply per block of `block_size` products: E8M0 (MX) scales combine by adding
    8-bit exponents (INT8 add, 0.03 pJ); NVFP4's E4M3 scales by an E4M3 multiply; block FP8's FP32
    scales by an FP32 multiply (DeepSeek-V3's promotion on CUDA cores). 0 for unscaled formats.
    """
    f = _fmt(fmt)
    if not f.block_size:
        return 0.0
    h = HOROWITZ_45NM_PJ
    if f.scale_format == "e8m0":
        per_block = h["int8_add"]
    elif f.scale_format == "e4m3":
        per_block = h["fp16_mul"] * (4 / 11.0) ** 2
    else:  # fp32 scales
        per_block = h["fp32_mul"]
    return per_block / f.block_size


def integer_add_energy_pj_45nm(width_bits: float) -> float:
    """An integer (fixed-point) add of `width_bits` at 45 nm, pJ: piecewise linear through the
    published INT8 0.03 / INT16 0.05 / INT32 0.1 pJ (ENERGY.md §1 [E1][E2]), proportional to the
    width outside that range (a ripple/prefix adder's energy grows about linearly with width)."""
    h = HOROWITZ_45NM_PJ
    pts = ((8.0, h["int8_add"]), (16.0, h["int16_add"]), (32.0, h["int32_add"]))
    w = float(width_bits)
    if w <= 8.0:
        return h["int8_add"] * w / 8.0
    if w >= 32.0:
        return h["int32_add"] * w / 32.0
    for (w0, e0), (w1, e1) in zip(pts, pts[1:]):
        if w <= w1:
            return e0 + (e1 - e0) * (w - w0) / (w1 - w0)
    raise AssertionError("unreachable")


def product_bits(fmt) -> int:
    """Width of the exact product of two `fmt` operands (significands for floats, whole integers)."""
    f = _fmt(fmt)
    integer = f.family == "int" or (f.family == "mx" and f.exp_bits == 0)
    return 2 * (f.element_bits if integer else f.man_bits + 1)


def mac_energy_pj_45nm(fmt, accumulate_every: int = 1) -> float:
    """Energy of one MAC in `fmt` at 45 nm / 0.9 V, pJ: multiply + accumulate + block-scale share.

    `accumulate_every` = 1 (default) is ENERGY.md §1's composition, one accumulator add per MAC; it
    reproduces the sheet's derived values FP16 (FP32 accumulate) 2.0, INT8 (INT32 accumulate) 0.3,
    FP32 FMA 4.6. `accumulate_every` = N > 1 models a dot-product tree (the amortisation ENERGY.md
    §1 mentions): N products are summed by N - 1 fixed-point adds at the product width, then one
    accumulator add — per MAC (N - 1)/N x add(product width) + accumulate / N.
    """
    n = int(accumulate_every)
    if n < 1:
        raise ValueError(f"accumulate_every must be >= 1, got {accumulate_every}")
    acc = accumulate_energy_pj_45nm(fmt)
    tree = (n - 1) / n * integer_add_energy_pj_45nm(product_bits(fmt)) + acc / n
    return multiply_energy_pj_45nm(fmt) + tree + block_scale_energy_pj_45nm(fmt)


def mac_energy_pj(fmt, logic_energy_scale: float, clock_scale: float = 1.0, accumulate_every: int = 1) -> float:
    """Energy of one MAC in `fmt` at a node with `logic_energy_scale` (45 nm = 1), pJ.

    `clock_scale` = f / f_nominal under DVFS (see `dvfs_energy_scale`); `accumulate_every` as in
    `mac_energy_pj_45nm`.
    """
    return mac_energy_pj_45nm(fmt, accumulate_every) * logic_energy_scale * dvfs_energy_scale(clock_scale)


def vector_energy_pj_per_flop(logic_energy_scale: float, clock_scale: float = 1.0) -> float:
    """Vector / special-function energy per FLOP: FP32 FMA (3.7 + 0.9 pJ at 45 nm) / 2 FLOP, scaled."""
    h = HOROWITZ_45NM_PJ
    return (h["fp32_mul"] + h["fp32_add"]) / 2.0 * logic_energy_scale * dvfs_energy_scale(clock_scale)


def sram_pj_per_bit(logic_energy_scale: float, clock_scale: float = 1.0) -> float:
    """Core-local SRAM access energy per bit: Horowitz 8 KB array (banked SRAM reads a small
    sub-array), node-scaled. N5 family: 0.156 x 0.236 = 0.037 pJ/bit, inside ENERGY.md §2's
    0.02–0.05 for modern small arrays."""
    return SRAM_8KB_PJ_PER_BIT_45NM * logic_energy_scale * dvfs_energy_scale(clock_scale)


def dvfs_energy_scale(clock_scale: float) -> float:
    """Dynamic energy per operation at clock f = clock_scale x f_nominal, relative to nominal.

    DVFS model: supply voltage proportional to clock (V ∝ f), dynamic energy per op ∝ C·V^2, so
    energy per op ∝ clock_scale^2 and dynamic power at full work rate ∝ clock_scale^3. Valid for
    MIN_CLOCK_SCALE <= clock_scale <= 1 (no overclocking: above nominal the voltage is unknown).
    """
    if not (0.0 < clock_scale <= 1.0):
        raise ValueError(f"clock_scale must be in (0, 1], got {clock_scale}")
    return clock_scale * clock_scale
