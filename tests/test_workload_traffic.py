"""Traffic profiles: bundled means, lognormal sampling, validation."""
from __future__ import annotations

import math

import numpy as np
import pytest

from chipletarch.errors import SpecError
from chipletarch.workload import list_traffic, load_traffic

MEANS = {"chat": (1024, 1024), "summarization": (8192, 256), "generation": (128, 2048),
         "long-context": (32768, 1024), "reasoning": (1024, 8192)}


def test_bundled_profiles_and_means():
    assert set(MEANS) <= set(list_traffic())
    for name, (isl, osl) in MEANS.items():
        t = load_traffic(name)
        assert (t.isl.mean, t.osl.mean) == (isl, osl)
        assert t.isl.distribution == t.osl.distribution == "lognormal"
        assert t.isl.sigma > 0 and t.osl.sigma > 0


def test_lognormal_parameters_and_samples():
    t = load_traffic("chat")
    # E[X] = exp(mu + sigma^2/2)
    assert math.exp(t.isl.mu + t.isl.sigma ** 2 / 2) == pytest.approx(1024, rel=1e-12)
    isl, osl = t.sample(100_000, seed=7)
    assert isl.dtype == np.int64 and isl.min() >= t.isl.min and isl.max() <= t.isl.max
    # truncation at [16, 32768] moves the mean by far less than the 1 % tolerance
    assert isl.mean() == pytest.approx(1024, rel=0.01)
    assert np.median(osl) == pytest.approx(math.exp(t.osl.mu), rel=0.02)
    a, _ = t.sample(10, seed=3)
    b, _ = t.sample(10, seed=3)
    assert (a == b).all()


def test_bad_profiles(tmp_path):
    p = tmp_path / "x.yaml"
    p.write_text("isl: {mean: 100, distribution: weibull}\nosl: 10\n")
    with pytest.raises(SpecError, match="isl.distribution: unknown 'weibull'"):
        load_traffic(p)
    p.write_text("isl: {mean: 100, distribution: lognormal}\nosl: 10\n")
    with pytest.raises(SpecError, match="lognormal needs sigma"):
        load_traffic(p)
    p.write_text("isl: 100\n")
    with pytest.raises(SpecError, match="'osl' is required"):
        load_traffic(p)
    with pytest.raises(SpecError, match="unknown traffic profile"):
        load_traffic("chatty")
    fixed = tmp_path / "f.yaml"
    fixed.write_text("isl: 100\nosl: {mean: 20}\n")
    i, o = load_traffic(fixed).sample(5)
    assert (i == 100).all() and (o == 20).all()
