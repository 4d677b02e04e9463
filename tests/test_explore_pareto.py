"""Pareto filters against an O(n^2) brute force (hypothesis), 2-D sweep path and k-D path."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from chipletarch.explore import pareto_brute, pareto_mask
from chipletarch.explore.pareto import _front_2d, _front_kd

# small integer grids make ties and duplicates frequent, which is where filters go wrong
values = st.one_of(st.integers(-3, 3).map(float), st.floats(-1e6, 1e6, allow_nan=False,
                                                            allow_infinity=False))


def objective_arrays(k_min, k_max):
    return st.integers(k_min, k_max).flatmap(
        lambda k: st.integers(0, 60).flatmap(
            lambda n: arrays(np.float64, (n, k), elements=values)))


@settings(max_examples=150, deadline=None)
@given(objective_arrays(2, 2), st.lists(st.booleans(), min_size=2, max_size=2))
def test_2d_matches_brute_force(x, maximize):
    assert np.array_equal(pareto_mask(x, maximize), pareto_brute(x, maximize))


@settings(max_examples=150, deadline=None)
@given(objective_arrays(1, 5), st.data())
def test_kd_matches_brute_force(x, data):
    maximize = data.draw(st.lists(st.booleans(), min_size=x.shape[1], max_size=x.shape[1]))
    assert np.array_equal(pareto_mask(x, maximize), pareto_brute(x, maximize))


@settings(max_examples=100, deadline=None)
@given(objective_arrays(2, 2))
def test_2d_fast_path_equals_general_path(x):
    if len(x):
        assert np.array_equal(_front_2d(x), _front_kd(x))


@settings(max_examples=100, deadline=None)
@given(objective_arrays(2, 4), st.data())
def test_nan_rows_never_on_frontier(x, data):
    if not len(x):
        return
    rows = data.draw(st.lists(st.integers(0, len(x) - 1), max_size=3))
    y = x.copy()
    y[rows, 0] = np.nan
    m = pareto_mask(y)
    assert not m[rows].any()
    ok = ~np.isnan(y).any(axis=1)
    assert np.array_equal(m[ok], pareto_mask(y[ok]))


def test_known_frontier_and_duplicates():
    # maximise both: (1, 5) (3, 3) (5, 1) are the frontier, the duplicate (3, 3) too
    x = np.array([[1, 5], [3, 3], [5, 1], [2, 2], [3, 3], [1, 1], [0, 5]], dtype=float)
    m = pareto_mask(x, [True, True])
    assert m.tolist() == [True, True, True, False, True, False, False]


def test_2d_path_is_fast_on_large_inputs():
    import time
    rng = np.random.default_rng(0)
    x = rng.random((500_000, 2))
    t0 = time.perf_counter()
    m = pareto_mask(x)
    assert time.perf_counter() - t0 < 2.0
    # spot check against brute force on the frontier and a sample
    idx = np.flatnonzero(m)
    assert 1 <= len(idx) < 100
    for i in idx:
        assert not ((x <= x[i]).all(axis=1) & (x < x[i]).any(axis=1)).any()
