"""Speed of the engine's kernel models: microseconds per GEMM / attention evaluation (tile and
split search included), single call through the public API and batched in one nogil call, next
to the pure-Python reference's figure measured in the same run.

    python benchmarks/bench_engine.py            # about 10 s on a 2-core machine

Shapes are random over the measured calibration ranges (m, n, k in 1..65536, log-uniform; bf16,
fp8, fp8_block, nvfp4), fixed seed.
"""
from __future__ import annotations

import resource
import sys
import time

import numpy as np

from chipletarch.engine import attention_times, gemm_time, gemm_times, h100_sxm
from chipletarch.engine import fmt as F
from chipletarch.engine import reference as R
from chipletarch.engine.attention import attention_descriptor


def _best_of(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    rng = np.random.default_rng(0)
    mach = h100_sxm()
    arr = mach.to_array()
    n = 20000
    m_, n_, k_ = (np.exp(rng.uniform(0, np.log(65536), n)).astype(np.int64) for _ in range(3))
    fmts = rng.choice(["bf16", "fp8_e4m3", "fp8_block", "nvfp4"], n)

    t_batch = _best_of(lambda: gemm_times(arr, m_, n_, k_, fmts)) / n
    single = 2000
    t_single = _best_of(lambda: [gemm_time(arr, int(m_[i]), int(n_[i]), int(k_[i]), str(fmts[i]))
                                 for i in range(single)]) / single
    nref = 300
    descs = [F.descriptor(f) for f in fmts[:nref]]
    t_ref = _best_of(lambda: [R.gemm_one(arr, int(m_[i]), int(n_[i]), int(k_[i]), descs[i])
                              for i in range(nref)], repeat=1) / nref

    na = 5000
    adesc = np.array([attention_descriptor(
        "prefill" if i % 2 else "decode", int(rng.integers(1, 128)),
        int(rng.integers(1, 8192)) if i % 2 else 1, int(rng.integers(0, 32768)),
        32, int(rng.choice([1, 8, 32])), int(rng.choice([64, 128])), "bf16")
        for i in range(na)])
    t_attn = _best_of(lambda: attention_times(arr, adesc)) / na
    t_attn_ref = _best_of(lambda: [R.attn_one(arr, a) for a in adesc[:300]], repeat=1) / 300
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    print("chipletarch engine kernel-model speed (H100 machine, random shapes, seed 0)")
    print(f"  GEMM, batched (gemm_times, {n} GEMMs/call):   {t_batch * 1e6:8.2f} us per GEMM")
    print(f"  GEMM, single call (gemm_time, public API):     {t_single * 1e6:8.2f} us per GEMM")
    print(f"  GEMM, pure-Python reference:                   {t_ref * 1e6:8.2f} us per GEMM "
          f"({t_ref / t_batch:.0f}x batched, {t_ref / t_single:.0f}x single)")
    print(f"  attention, batched ({na} calls):               {t_attn * 1e6:8.2f} us per call")
    print(f"  attention, pure-Python reference:              {t_attn_ref * 1e6:8.2f} us per call "
          f"({t_attn_ref / t_attn:.0f}x)")
    print(f"  peak resident memory of this process:          {peak_mib:8.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
