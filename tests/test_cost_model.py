"""Pure cost functions against hand-computed closed forms and the worked numbers of
COST_MODEL.md (§1 geometry, §2 yield, §6 HBM, §8 NRE, §9b die cost), plus hypothesis invariants."""
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chipletarch.cost import model as M
from chipletarch.errors import SpecError


# ---- geometry (CM §1) ------------------------------------------------------------------------

@pytest.mark.parametrize("area,expected", [(100, 640.2), (400, 143.0), (814, 63.5)])
def test_classic_dpw_matches_cost_model_sanity_numbers(area, expected):
    # CM §1 prints these rounded to 3-4 significant digits
    assert M.dies_per_wafer_classic(area) == pytest.approx(expected, abs=0.5)


@pytest.mark.parametrize("area,expected", [(100, 572.0), (400, 130.0), (800, 58.8)])
def test_actuary_dpw_matches_cost_model(area, expected):
    assert M.dies_per_wafer(area) == pytest.approx(expected, abs=0.3)


def test_dpw_closed_form_by_hand():
    # 100 mm^2, s = 0.2: A_s = (10 + 0.2)^2 = 104.04; usable radius 145 mm, diameter 290 mm
    a_s = 10.2 ** 2
    expected = math.pi * 145 ** 2 / a_s - math.pi * 290 / math.sqrt(2 * a_s)
    assert M.scribed_area(100, 0.2) == pytest.approx(a_s)
    assert M.dies_per_wafer(100) == pytest.approx(expected, rel=1e-12)
    # without scribe or edge exclusion it is the classic formula
    assert M.dies_per_wafer(100, scribe_mm=0, edge_exclusion_mm=0) == pytest.approx(
        M.dies_per_wafer_classic(100), rel=1e-12)


def test_die_larger_than_wafer_is_rejected():
    with pytest.raises(SpecError):
        M.dies_per_wafer(60000)
    with pytest.raises(SpecError):
        M.dies_per_wafer(-1)


# ---- yield (CM §2) ---------------------------------------------------------------------------

@pytest.mark.parametrize("area,pois,murphy,seeds,nb3", [
    (100, 0.905, 0.906, 0.909, 0.906),
    (400, 0.670, 0.679, 0.714, 0.687),
    (814, 0.443, 0.468, 0.551, 0.487),
])
def test_yield_models_worked_check(area, pois, murphy, seeds, nb3):
    d0 = 0.1
    assert M.die_yield(area, d0, "poisson") == pytest.approx(pois, abs=6e-4)
    assert M.die_yield(area, d0, "murphy") == pytest.approx(murphy, abs=6e-4)
    assert M.die_yield(area, d0, "seeds") == pytest.approx(seeds, abs=6e-4)
    assert M.die_yield(area, d0, "negative_binomial", alpha=3) == pytest.approx(nb3, abs=6e-4)


@pytest.mark.parametrize("d0,alpha,row", [
    (0.20, 10, [0.820, 0.463, 0.308, 0.191]),   # 3 nm
    (0.11, 10, [0.896, 0.650, 0.514, 0.389]),   # 5 nm
    (0.09, 10, [0.914, 0.702, 0.579, 0.459]),   # 7 nm
    (0.05, 3, [0.952, 0.824, 0.743, 0.658]),    # RDL
    (0.06, 6, [0.942, 0.790, 0.695, 0.596]),    # Si interposer
])
def test_nb_yield_vs_area_table(d0, alpha, row):
    for area, y in zip([100, 400, 625, 900], row):
        assert M.die_yield(area, d0, alpha=alpha) == pytest.approx(y, abs=6e-4)


def test_bose_einstein_closed_form():
    # lambda = 0.1 * 2 cm^2 = 0.2; n = 3 -> 1.2^-3
    assert M.die_yield(200, 0.1, "bose_einstein", critical_layers=3) == pytest.approx(1.2 ** -3)


def test_unknown_yield_model_is_a_spec_error():
    with pytest.raises(SpecError):
        M.die_yield(100, 0.1, "gaussian")


@given(area=st.floats(1, 2000), d0=st.floats(0.001, 1.0))
def test_nb_limits_seeds_and_poisson(area, d0):
    # alpha = 1 is Seeds; alpha -> infinity is Poisson
    assert M.die_yield(area, d0, alpha=1.0) == pytest.approx(M.die_yield(area, d0, "seeds"))
    assert M.die_yield(area, d0, alpha=1e7) == pytest.approx(M.die_yield(area, d0, "poisson"),
                                                            rel=1e-4)


@settings(max_examples=60)
@given(area=st.floats(1, 2000), k=st.floats(1.01, 3), d0=st.floats(0.01, 1.0),
       model=st.sampled_from(M.YIELD_MODELS))
def test_yield_falls_with_area_and_defect_density(area, k, d0, model):
    y = M.die_yield(area, d0, model, critical_layers=2)
    assert 0 < y <= 1
    assert M.die_yield(area * k, d0, model, critical_layers=2) < y
    assert M.die_yield(area, d0 * k, model, critical_layers=2) < y


def test_harvested_yield_reduces_to_poisson_and_hand_case():
    # no spares, Poisson: product of exp() over all blocks = exp(-D0 A)
    y = M.harvested_yield(400, 0.1, units=8, spare_units=0, unit_area_fraction=0.6,
                          model="poisson")
    assert y == pytest.approx(math.exp(-0.4))
    # 2 blocks of 100 mm^2 (f = 1), one spare: y_u = e^-0.1; P = y_u^2 + 2 y_u (1 - y_u)
    yu = math.exp(-0.1)
    y = M.harvested_yield(200, 0.1, units=2, spare_units=1, unit_area_fraction=1.0,
                          model="poisson")
    assert y == pytest.approx(yu ** 2 + 2 * yu * (1 - yu))
    # spares can only help
    assert (M.harvested_yield(814, 0.1, units=144, spare_units=12, unit_area_fraction=0.5)
            > M.die_yield(814, 0.1))


@pytest.mark.parametrize("model", M.YIELD_MODELS)
@pytest.mark.parametrize("area,d0", [(50, 0.05), (814, 0.11), (5000, 0.3), (46225, 0.11)])
def test_harvested_yield_without_spares_is_the_plain_model(model, area, d0):
    # K = N: every block must work, so the die is one area A again, for every mixture model
    y = M.harvested_yield(area, d0, units=60, spare_units=0, unit_area_fraction=0.7, alpha=3,
                          model=model, critical_layers=2)
    assert y == pytest.approx(M.die_yield(area, d0, model, alpha=3, critical_layers=2), rel=1e-9)


def test_harvested_yield_negative_binomial_closed_form_one_spare():
    # N = 2 blocks of area A/2 (f = 1), one spare, NB(alpha). Given the die's density g the blocks
    # fail independently: P(<= 1 bad | g) = 2 e^(-g l/2) - e^(-g l), so averaging over the gamma
    # law Y = 2 NB(l/2) - NB(l) (closed form, no quadrature)
    a, d0, al = 800.0, 0.2, 2.0
    nb = lambda lam: (1 + lam / al) ** -al
    lam = d0 * a / 100
    y = M.harvested_yield(a, d0, units=2, spare_units=1, unit_area_fraction=1.0, alpha=al)
    assert y == pytest.approx(2 * nb(lam / 2) - nb(lam), rel=1e-10)
    # and with non-repairable area: Y = 2 NB(l_nr + l_u) - NB(l_nr + 2 l_u)
    y = M.harvested_yield(a, d0, units=2, spare_units=1, unit_area_fraction=0.5, alpha=al)
    assert y == pytest.approx(2 * nb(lam * 0.75) - nb(lam), rel=1e-10)


def test_harvested_yield_gh100_case():
    # H100 SXM in the bundled YAML: 66 of 72 TPCs, half the 814 mm^2 in TPCs, N5-family NB
    # (D0 0.11, alpha 10): the non-repairable half alone yields NB(0.4477) = 0.6455, the six
    # spare TPCs cover almost every TPC defect
    y = M.harvested_yield(814, 0.11, units=72, spare_units=6, unit_area_fraction=0.5, alpha=10)
    assert M.die_yield(814, 0.11, alpha=10) == pytest.approx(0.424, abs=5e-4)
    assert y == pytest.approx(0.6453, abs=5e-4)
    assert y < M.die_yield(407, 0.11, alpha=10)


@settings(max_examples=60, deadline=None)
@given(area=st.floats(20, 3000), d0=st.floats(0.01, 1.0), n=st.integers(1, 200),
       frac=st.floats(0.05, 1.0), r=st.integers(0, 20), alpha=st.floats(0.3, 50),
       model=st.sampled_from(M.YIELD_MODELS), k=st.floats(1.05, 2.0))
def test_harvested_yield_invariants(area, d0, n, frac, r, alpha, model, k):
    r = min(r, n - 1) if n > 1 else 0
    kw = dict(unit_area_fraction=frac, alpha=alpha, model=model, critical_layers=2)
    y = M.harvested_yield(area, d0, units=n, spare_units=r, **kw)
    assert 0.0 < y <= 1.0
    # more spares never lower the yield
    assert M.harvested_yield(area, d0, units=n, spare_units=r + 1, **kw) >= y * (1 - 1e-12)
    # never below the plain model (spares only help), and it still falls with D0 and area
    assert y >= M.die_yield(area, d0, model, alpha=alpha, critical_layers=2) * (1 - 1e-9)
    assert M.harvested_yield(area, d0 * k, units=n, spare_units=r, **kw) <= y * (1 + 1e-12)
    assert M.harvested_yield(area * k, d0, units=n, spare_units=r, **kw) <= y * (1 + 1e-12)


# ---- die cost (CM §9b "Die cost (single die, defaults)") -------------------------------------

@pytest.mark.parametrize("area,wafer,d0,raw,kgd", [
    (100, 16988, 0.11, 29.7, 33.1),
    (400, 16988, 0.11, 130.7, 201.0),
    (800, 16988, 0.11, 288.9, 671.6),
    (800, 9346, 0.09, 159.0, 318.6),
    (800, 30000, 0.20, 510.3, 2251.0),
])
def test_die_cost_matches_chiplet_actuary(area, wafer, d0, raw, kgd):
    c = M.die_cost(area, wafer, d0, alpha=10)
    assert c.raw == pytest.approx(raw, abs=0.06)
    assert c.kgd == pytest.approx(kgd, abs=0.06 + 5e-4 * kgd)   # CM prints one decimal
    assert c.defect == pytest.approx(c.kgd - c.raw)


def test_kgd_with_test_cost_and_escapes_by_hand():
    c = M.die_cost(100, 10000, 0.1, alpha=3, test_cost=2.0, test_coverage=0.9)
    y = (1 + 0.1 / 3) ** -3
    passing = y + (1 - y) * 0.1
    assert c.kgd == pytest.approx((10000 / M.dies_per_wafer(100) + 2.0) / passing)
    assert c.quality == pytest.approx(y / passing)
    # perfect coverage: no escapes
    assert M.die_cost(100, 10000, 0.1).quality == 1.0


@settings(max_examples=60)
@given(area=st.floats(5, 800), k=st.floats(1.01, 2.0), d0=st.floats(0.01, 0.5),
       wafer=st.floats(500, 40000))
def test_die_cost_rises_with_area(area, k, d0, wafer):
    a, b = M.die_cost(area, wafer, d0), M.die_cost(area * k, wafer, d0)
    assert b.raw > a.raw and b.kgd > a.kgd
    # (cost per mm^2 is not monotone: for tiny dies the scribe lane's share falls with area)


# ---- assembly (CM §5c, §8) -------------------------------------------------------------------

def test_assemble_chip_last_formula():
    y1, y2, y3 = 0.8, 0.95 ** 3, 0.99
    parts = [M.Part("interposer", 100.0, 0), M.Part("dies", 300.0, 1), M.Part("substrate", 20.0, 2)]
    steps = [M.Step("int", y1), M.Step("bond", y2), M.Step("sub", y3)]
    r = M.assemble(parts, steps)
    assert r.total == pytest.approx(100 / (y1 * y2 * y3) + 300 / (y2 * y3) + 20 / y3)
    assert r.scrap(1) == pytest.approx(300 * (1 / (y2 * y3) - 1))
    assert r.package_yield == pytest.approx(y1 * y2 * y3)


@given(n=st.integers(1, 30), y=st.floats(0.5, 0.9999))
def test_more_dies_more_assembly_loss(n, y):
    assert M.bond_yield(y, n + 1) < M.bond_yield(y, n)
    assert M.bond_yield(y, n) == pytest.approx(y ** n)


def test_layer_factor_rule():
    assert M.organic_layer_factor(10000, 1) == 1.0
    assert M.organic_layer_factor(200, 2) == 1.5
    assert M.organic_layer_factor(17 * 17 + 1, 2) == 1.75
    assert M.organic_layer_factor(901, 4) == 2.0


# ---- HBM (CM §6) -----------------------------------------------------------------------------

def test_hbm_stack_price_height_scaling():
    # 8-Hi at the quoted $/GB: exactly capacity x $/GB
    assert M.hbm_stack_price(16, 15.0, height=8) == pytest.approx(240.0)
    # 12-Hi pays 4 more layers of stacking loss: 0.93^(-4/8)
    assert M.hbm_stack_price(24, 15.0, height=12) == pytest.approx(360.0 / math.sqrt(0.93))
    assert M.hbm_stack_price(24, 15.0, height=12) > M.hbm_stack_price(24, 15.0, height=8)


# ---- NRE (CM §8) -----------------------------------------------------------------------------

def test_nre_800mm2_soc_matches_actuary_example():
    # CM §8: 800 mm^2 SoC at 7 nm: module 3.97e8 + chip 2.98e8 (+ package 9.9e6) = 7.05e8
    die = M.die_design_nre(800, 29.8e7)
    assert die == pytest.approx(0.5 * 29.8e7 / 300 * 800 + 0.3 * 29.8e7 / 300 * 800 + 0.2 * 29.8e7)
    package_nre = 4 * 800 * 3e3 * 1 + 3e5        # organic, single die: area x 3e3 x 1 + 3e5
    assert die + package_nre == pytest.approx(7.05e8, rel=2e-3)
    assert M.die_design_nre(800, 54.2e7) + package_nre == pytest.approx(1.27e9, rel=5e-3)
    # a 300 mm^2 die costs exactly the node figure
    assert M.die_design_nre(300, 1e8) == pytest.approx(1e8)


def test_reuse_amortises_over_all_products():
    nre = 1e8
    alone = M.amortised_nre(nre, M.amortised_units([(2, 1e6)]))
    shared = M.amortised_nre(nre, M.amortised_units([(2, 1e6), (4, 5e5), (1, 2e6)]))
    assert alone == pytest.approx(50.0)
    assert shared == pytest.approx(1e8 / 6e6)
    with pytest.raises(SpecError):
        M.amortised_nre(nre, 0)


def test_binomial_cdf_at_wafer_scale():
    # 10^6 blocks, 1e-5 bad each: expected 10 bad; P(<= 10) of a Poisson(10) ~ 0.583
    from chipletarch.cost.model import _log_binom_coeffs, _log_binomial_cdf

    def cdf(r, n, p):
        return math.exp(_log_binomial_cdf(_log_binom_coeffs(n, r), n, r, -math.log1p(-p)))
    assert cdf(10, 10**6, 1e-5) == pytest.approx(0.5830, abs=1e-3)
    assert cdf(3, 3, 0.5) == pytest.approx(1.0)
    assert cdf(1, 2, 0.5) == pytest.approx(0.75)


