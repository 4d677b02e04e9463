"""Speed of a full-model design point through `chipletarch.simulate`, and where the time goes.

    python benchmarks/bench_simulate.py          # about 10 s

A design point = Llama-3.1-70B prefill of 2048 tokens + one decode step (batch 8, context
2048), on (a) 8 x h100-sxm with tp=8, (b) one b200 package (fp8), (c) one mi300x package (bf16).

Reported per point:
- warm: the operator tables and the compiled design are cached (a sweep revisiting shapes and
  architectures; what `simulate` costs once its inputs are known);
- cold: fresh operator tables (a sweep over batch / length) and, separately, a fresh placement
  compile (a sweep over architecture variants, e.g. arch.evolve per point);
- the split of the warm time into memory-fit check, operator-table lookup, compile lookup, kernel
  evaluation (`evaluate_rows`: all batched kernel calls and per-resource sums) and Result building;
- peak Python heap (tracemalloc) over the warm loop and the process's max RSS.
"""
from __future__ import annotations

import importlib
import resource
import sys
import time
import tracemalloc

import numpy as np

from chipletarch.arch import load_architecture
from chipletarch.engine import placement as P
from chipletarch.workload import Mapping, load_model

# the module (the package attribute `chipletarch.engine.simulate` is the function)
S = importlib.import_module("chipletarch.engine.simulate")

POINTS = [
    ("h100-sxm", dict(tp=8), "bf16"),
    ("b200", dict(), "fp8"),
    ("mi300x", dict(), "bf16"),
]
PREFILL = dict(phase="prefill", batch=1, seq_len=2048, context_len=0)
DECODE = dict(phase="decode", batch=8, seq_len=1, context_len=2048)


def _best_us(fn, n, repeat=5):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best * 1e6


def _median_us(fn, n, repeat=9):
    """Median over `repeat` loops of `n` calls: stage timings that add up on a busy machine."""
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - t0) / n)
    return float(np.median(runs)) * 1e6


def point(arch, model, kw, prec):
    S.simulate(arch, model, precision=prec, **PREFILL, **kw)
    S.simulate(arch, model, precision=prec, **DECODE, **kw)


def split(arch, model, kw, prec, n=100):
    """Warm time of the stages simulate() runs, measured stage by stage (same calls)."""
    mapping = Mapping(dies_per_package=1, scaleup_packages=8, **kw)   # what simulate builds
    out = {}
    for ph in (PREFILL, DECODE):
        fit = dict(phase=ph["phase"], batch=ph["batch"], seq_len=ph["seq_len"],
                   context_len=ph["context_len"])
        out.setdefault("memory fit (memoised)", 0.0)
        out["memory fit (memoised)"] += _median_us(lambda: S._memory_fit(
            model, arch, 1, mapping, prec, 1.0, fit), n)
        out.setdefault("operators (cached)", 0.0)
        out["operators (cached)"] += _median_us(lambda: model.operators(
            ph["phase"], ph["batch"], ph["seq_len"], ph["context_len"], prec, mapping), n)
        out.setdefault("compile (cached)", 0.0)
        out["compile (cached)"] += _median_us(lambda: P.compile_design(arch, 1), n)
        t = model.operators(ph["phase"], ph["batch"], ph["seq_len"], ph["context_len"], prec,
                            mapping)
        pl = P.compile_design(arch, 1)
        out.setdefault("kernels + sums (evaluate_rows)", 0.0)
        out["kernels + sums (evaluate_rows)"] += _median_us(lambda: S.evaluate_rows(t, pl), n)
        out.setdefault("  of which Cython kernel calls", 0.0)
        out["  of which Cython kernel calls"] += _median_us(lambda: _kernels_only(t, pl), n)
    return out


def _kernels_only(t, pl):
    """The compiled calls evaluate_rows makes (GEMM, attention, collectives), nothing else."""
    from chipletarch._core import engine as ce

    p = S._prepare(t)
    m = pl.machine
    if len(p.gi):
        ot, ob = np.empty(len(p.gi)), np.empty(len(p.gi), dtype=np.int8)
        ce.gemm_batch(m, p.g_m, p.g_n, p.g_k, p.g_desc, p.g_rows, ot, ob, 1)
    if len(p.ai):
        ot, ob = np.empty(len(p.ai)), np.empty(len(p.ai), dtype=np.int8)
        ce.attn_batch(m, p.a_desc, ot, ob)
    if len(p.ci):
        bw = np.ascontiguousarray(np.maximum(pl.scope_bw[p.c_scope], 1.0))
        lat = np.ascontiguousarray(pl.scope_latency[p.c_scope])
        for alg in (0, 1, 2):
            ot, ob = np.empty(len(p.ci)), np.empty(len(p.ci), dtype=np.int8)
            ce.comm_batch(m, p.c_op, p.c_algs[alg], p.c_nbytes, p.c_ranks, bw, lat, ot, ob)


def main() -> int:
    model = load_model("llama3.1-70b")
    # machine-load yardstick: the engine's warm time is mostly small-array numpy calls, so a
    # loaded machine slows it in proportion (idle: about 0.3-0.4 us on a 2-core box)
    a = np.ones(10)
    print(f"yardstick: 10-element numpy add {_best_us(lambda: a + a, 20000):.2f} us")
    print(f"design point = Llama-3.1-70B prefill 2048 + decode step (batch 8, ctx 2048)")
    print(f"{'architecture':<22} {'warm us':>9} {'cold ops us':>12} {'cold compile us':>16}")
    rows = []
    for name, kw, prec in POINTS:
        arch = load_architecture(name)
        point(arch, model, kw, prec)                         # warm the caches
        warm = _best_us(lambda: point(arch, model, kw, prec), 50)
        # cold operator tables: clear the model's memo before each point
        def cold_ops():
            model._ops_cache.cache_clear()
            point(arch, model, kw, prec)
        cold = _best_us(cold_ops, 5, repeat=3)
        # cold compile: what compile_design does on a new Architecture object
        comp = _best_us(lambda: P._compile(arch, 1), 5, repeat=3)
        rows.append((name, kw, prec, arch, warm))
        label = f"{name} {prec}" + (f" tp={kw['tp']}" if kw else "")
        print(f"{label:<22} {warm:>9.0f} {cold:>12.0f} {comp:>16.0f}")
    point(rows[0][3], model, rows[0][1], rows[0][2])
    name, kw, prec, arch, warm = rows[0]
    parts = split(arch, model, kw, prec)
    total = _median_us(lambda: point(arch, model, kw, prec), 100)
    print(f"\nwhere the warm time goes ({name} tp={kw.get('tp', 1)}, prefill + decode; "
          f"medians, total {total:.0f} us):")
    for k, v in parts.items():
        print(f"  {k:<28} {v:>8.1f} us  {v / total:>6.1%}")
    rest = total - sum(v for k, v in parts.items() if not k.startswith(" "))
    print(f"  {'Result + glue (rest)':<28} {rest:>8.1f} us  {rest / total:>6.1%}")

    tracemalloc.start()
    for _ in range(100):
        point(arch, model, kw, prec)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak Python heap over 100 warm design points: {peak / 1e6:.2f} MB; "
          f"process max RSS {rss:.0f} MB")
    ok = max(r[4] for r in rows) <= 1000.0
    print(f"target <= 1 ms per design point (warm): {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
