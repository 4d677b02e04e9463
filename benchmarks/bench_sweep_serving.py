"""Serving-sweep throughput: points per second of a `chipletarch sweep` spec with a `serving:`
block (each point one `chipletarch.serving.evaluate_config` call on its architecture variant).

The benchmark spec: 8 variants of h100-sxm (5 or 6 HBM sites x HBM3 / HBM3e stacks x two
clocks) x co-located / disaggregated x TP 1-8 x 10 batches x 3 frameworks (none, vllm, sglang)
x 2 traffic profiles (chat, summarization) = 3,840 points, Llama-3.1-70B FP8, TTFT <= 2 s,
TPOT <= 50 ms.

    python benchmarks/bench_sweep_serving.py              # whole sweep (--workers 2) + in-process
    python benchmarks/bench_sweep_serving.py --workers 0  # sweep in this process

Reported:
* sweep: wall time and points/s of `run_sweep` into a temporary SQLite store (fresh worker
  processes, SQLite commits included), and the CPU seconds it used;
* in-process cold: a fresh `Evaluator` over every point (variants built, every engine call of
  the serving layer computed once and memoised: the first sweep of a design space; imports,
  the model config and the base YAML are already loaded by the sweep above);
* in-process warm: the same evaluator again with its per-point memo cleared, so every point
  calls `evaluate_config` but every engine call it makes is a memo hit (the steady state of a
  sweep whose points share variants, mappings, batches and lengths: e.g. another framework or
  SLO axis); and the memo-hit rate (a point whose call arguments repeat).
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

SPEC = """\
name: bench-sweep-serving
description: serving benchmark sweep (benchmarks/bench_sweep_serving.py)
base: h100-sxm
workload: {model: llama3.1-70b, precision: fp8}
serving: {ttft_slo_ms: 2000, tpot_slo_ms: 50}
axes:
  - {name: hbm_stacks, path: "memory[0].count", values: [5, 6]}
  - {name: hbm, path: "memory[0].generation", values: [hbm3, hbm3e]}
  - {name: clock, path: "dies[0].clock_ghz", values: [1.83, 2.0]}
  - {name: traffic, values: [chat, summarization]}
  - {name: mode, values: [colocated, disaggregated]}
  - {name: tp, values: [1, 2, 4, 8]}
  - {name: batch, values: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]}
  - {name: framework, values: [none, vllm, sglang]}
derived:
  "memory[0].inactive_count": "6 - hbm_stacks"
  "memory[0].capacity_gb": "23.5 if hbm == 'hbm3e' else 16"
  "memory[0].bandwidth_gb_s": "800 if hbm == 'hbm3e' else 670"
options: {chunk_size: 480}
"""


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)

    from chipletarch.explore import Evaluator, run_sweep, sweep_from_yaml

    spec = sweep_from_yaml(SPEC, "bench-sweep-serving.yaml")
    n = len(spec)
    print(f"spec: {n:,} serving points (8 architecture variants x {n // 8} serving "
          f"configurations); machine: {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        store = str(Path(tmp) / "bench.sqlite")
        cpu0, ch0 = time.process_time(), _children_cpu()
        t0 = time.perf_counter()
        s = run_sweep(spec, store, workers=args.workers, progress=False)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0 + _children_cpu() - ch0
        st = ", ".join(f"{k} {v:,}" for k, v in sorted(s["status"].items()))
        print(f"sweep ({s['mode']}): {n:,} points in {wall:.2f} s = {n / wall:,.0f} points/s "
              f"wall ({st}); CPU {cpu:.2f} s = {n / cpu:,.0f} points per CPU-second")

    # in-process, cold then warm (a fresh process state for the serving layer's memo is not
    # needed: a new Evaluator builds new Architecture objects, whose engine calls are new)
    ev = Evaluator(spec)
    c0, t0 = time.process_time(), time.perf_counter()
    ev.evaluate(range(n))
    cold_w, cold_c = time.perf_counter() - t0, time.process_time() - c0
    calls = ev.serving.calls
    print(f"in-process cold: {n / cold_w:,.0f} points/s wall ({n / cold_c:,.0f} per "
          f"CPU-second; {cold_w * 1e3 / n:.2f} ms per point; {calls:,} evaluate_config calls, "
          f"{n - calls:,} points answered by the per-point memo)")
    reps = 3
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(reps):
        ev.serving._memo.clear()
        ev.evaluate(range(n))
    warm_w, warm_c = (time.perf_counter() - t0) / reps, (time.process_time() - c0) / reps
    print(f"in-process warm (engine calls memoised, every point calls evaluate_config): "
          f"{n / warm_w:,.0f} points/s wall ({n / warm_c:,.0f} per CPU-second; "
          f"{warm_w * 1e3 / n:.3f} ms per point)")
    c0, t0 = time.process_time(), time.perf_counter()
    ev.evaluate(range(n))
    hit_w = time.perf_counter() - t0
    print(f"in-process memo hits (the same points again): {n / hit_w:,.0f} points/s wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
