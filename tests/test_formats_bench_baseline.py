"""The numpy baseline of benchmarks/bench_mx.py implements the same MX algorithm, bit-exactly
(otherwise the speed ratio it prints would compare different work)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from chipletarch.mx import MX_FORMATS, mx_decode, mx_encode

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("bench_mx", ROOT / "benchmarks" / "bench_mx.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
DATA = np.load(Path(__file__).parent / "data" / "mx" / "mx_vectors.npz")


def same(a, b):
    return bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


@pytest.mark.parametrize("fmt", MX_FORMATS)
def test_numpy_baseline_matches_reference_vectors_and_core(fmt):
    for case in ("", "_tail", "_2d"):
        x = DATA["x" + case]
        codes, scales = bench.numpy_mx_encode(x, fmt)
        y = bench.numpy_mx_decode(codes, scales, fmt)
        assert same(y, DATA[f"y{case}_{fmt}"])
        exp_s = DATA[f"scale_e8m0{case}_{fmt}"]
        np.testing.assert_array_equal(scales.reshape(exp_s.shape), exp_s)
    rng = np.random.default_rng(11)
    x = (rng.standard_normal((50, 96)) * 2.0 ** rng.integers(-140, 120, (50, 1))).astype(
        np.float32)
    x[3, 7] = np.inf
    codes, scales = bench.numpy_mx_encode(x, fmt)
    m = mx_encode(x, fmt)
    np.testing.assert_array_equal(codes, m.codes)
    np.testing.assert_array_equal(scales, m.scales)
    assert same(bench.numpy_mx_decode(codes, scales, fmt), mx_decode(m))


def test_benchmark_runs_small():
    assert bench.main(["--n", "4096", "--repeat", "1", "--np-repeat", "1",
                       "--formats", "mxfp4_e2m1", "mxint8"]) == 0
