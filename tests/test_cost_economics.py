"""$ per million tokens: the closed form by hand, the defaults' arithmetic, monotonicity."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chipletarch.cost import package_cost
from chipletarch.cost.economics import HOURS_PER_YEAR, Economics, token_cost
from chipletarch.errors import SpecError


def test_closed_form_by_hand():
    pc = package_cost("h100-sxm")
    eco = Economics(lifetime_years=4, utilisation=0.5, energy_usd_per_kwh=0.10, pue=1.2,
                    server_usd_per_accelerator=4000, host_power_fraction=0.5,
                    accelerator_price_usd=25000)
    t = token_cost(pc, 1000.0, power_w=600, idle_power_w=200, economics=eco)
    capex_h = (25000 + 4000) / (4 * 8766)
    opex_h = (0.5 * 600 + 0.5 * 200) * 1.5 / 1000 * 1.2 * 0.10
    tokens_h = 1000 * 3600 * 0.5
    assert t.capex_usd_per_hour == pytest.approx(capex_h)
    assert t.opex_usd_per_hour == pytest.approx(opex_h)
    assert t.usd_per_million_tokens == pytest.approx((capex_h + opex_h) / tokens_h * 1e6)
    assert t.usd_per_million_tokens == pytest.approx(
        t.capex_usd_per_million_tokens + t.opex_usd_per_million_tokens)


def test_defaults_cost_basis_and_tdp():
    # default: capex = package manufacturing cost + $32,010/8 server share; power = TDP 700 W
    t = token_cost("h100-sxm", 2000.0)
    pc = package_cost("h100-sxm")
    assert t.capex_usd == pytest.approx(pc.total + 32010 / 8)
    assert t.power_w == 700
    host = (10200 - 5600) / 5600
    assert t.opex_usd_per_hour == pytest.approx(0.7 * (1 + host) * 1.58 * 0.0806)
    assert t.capex_usd_per_hour == pytest.approx(t.capex_usd / (5 * HOURS_PER_YEAR))
    # a buyer's view through the markup: capex grows, $/Mtok too
    assert token_cost("h100-sxm", 2000.0, price_to_cost=8).usd_per_million_tokens > \
        t.usd_per_million_tokens


@settings(max_examples=40, deadline=None)
@given(tps=st.floats(1, 1e5), k=st.floats(1.1, 4), u=st.floats(0.05, 1.0))
def test_more_throughput_cheaper_tokens_lower_utilisation_dearer(tps, k, u):
    pc = package_cost("h100-sxm")
    a = token_cost(pc, tps, power_w=700, utilisation=u)
    assert token_cost(pc, tps * k, power_w=700, utilisation=u).usd_per_million_tokens < \
        a.usd_per_million_tokens
    if u < 0.9:
        assert token_cost(pc, tps, power_w=700, utilisation=u * 1.1).usd_per_million_tokens < \
            a.usd_per_million_tokens


def test_bad_inputs():
    pc = package_cost("h100-sxm")
    with pytest.raises(SpecError):
        token_cost(pc, 0.0, power_w=700)
    with pytest.raises(SpecError):
        token_cost(pc, 100.0)                      # a bare PackageCost has no TDP
    with pytest.raises(SpecError):
        token_cost(pc, 100.0, power_w=700, utilisation=1.5)
    with pytest.raises(SpecError):
        token_cost(pc, 100.0, power_w=700, pue=0.9)
    with pytest.raises(SpecError):
        token_cost(pc, 100.0, power_w=700, no_such=1)
