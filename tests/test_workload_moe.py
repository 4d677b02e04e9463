"""MoE expectations: the closed form E(1-(1-k/E)^T) against a Monte Carlo draw."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from chipletarch.workload.moe import (expected_experts_touched, expected_tokens_per_expert,
                                      monte_carlo_experts_touched)


@pytest.mark.parametrize("E, k, T", [(8, 2, 1), (8, 2, 4), (16, 4, 3), (256, 8, 1), (256, 8, 16),
                                     (128, 4, 40), (64, 6, 200)])
def test_closed_form_matches_monte_carlo(E, k, T):
    rng = np.random.default_rng(1234)
    trials = 3000
    mc = monte_carlo_experts_touched(E, k, T, trials, rng)
    exact = float(expected_experts_touched(E, k, T))
    # the count is bounded by min(E, T*k): its std is below sqrt(E)/2, so 4 standard errors
    # of the mean bound the Monte Carlo noise
    assert abs(mc - exact) <= 4 * (np.sqrt(E) / 2) / np.sqrt(trials) + 1e-9, (mc, exact)


def test_small_batch_limits():
    # one token touches exactly k experts; many tokens touch them all
    assert expected_experts_touched(256, 8, 1) == pytest.approx(8.0, rel=1e-12)
    assert expected_experts_touched(8, 2, 1000) == pytest.approx(8.0, rel=1e-12)
    # two tokens: k + k(1 - k/E) by inclusion-exclusion
    assert expected_experts_touched(8, 2, 2) == pytest.approx(2 + 2 * (1 - 2 / 8), rel=1e-12)
    assert expected_tokens_per_expert(256, 8, 64) == 2.0


@settings(max_examples=60, deadline=None)
@given(E=st.integers(1, 512), k=st.integers(1, 16), T=st.integers(0, 10_000),
       ep=st.sampled_from([1, 2, 4, 8]))
def test_bounds_and_local_share(E, k, T, ep):
    if k > E:
        return
    x = float(expected_experts_touched(E, k, T))
    assert -1e-9 <= x <= min(E, T * k) + 1e-9
    if E % ep == 0:
        local = float(expected_experts_touched(E, k, T, E // ep))
        assert local * ep == pytest.approx(x, rel=1e-12, abs=1e-12)
