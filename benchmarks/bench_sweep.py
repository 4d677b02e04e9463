"""Sweep throughput: full design points per second through `chipletarch sweep`.

A point is an architecture variant x a workload x a mapping, evaluated end to end: prefill
(TTFT) and a decode step (TPOT) through the engine's kernel models, the energy model (J/token,
power) and the cost model (package cost, $/Mtoken), with memory-fit and constraint checks, and
stored as one SQLite row. The benchmark spec below is 640 architecture variants of the
ucie4-hbm4 template (cores, clock, process, HBM stacks, UCIe width, SRAM) x 720 workloads
(2 models x 3 formats x TP 1-8 x 5 batches x 3 prompt x 2 answer lengths) = 460,800 points.

    python benchmarks/bench_sweep.py                 # full run, --workers 2, to a temp store
    python benchmarks/bench_sweep.py --points 100000 # the first N points only (--limit)
    python benchmarks/bench_sweep.py --steady        # + single-process steady-state rate

Reported: wall time and points/s of the whole run (process start-up, per-worker warm-up,
SQLite commits included), the rate of fully evaluated (status ok) points, and the CPU seconds
the run used (the machine is shared: wall-clock rates move with other load, CPU-normalised
ones much less).
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
name: bench-sweep
description: benchmark sweep (benchmarks/bench_sweep.py)
base: ucie4-hbm4
workload: {model: llama3.1-8b, precision: fp8}
axes:
  - {name: cores, path: "dies[0].cores", values: [24, 32, 40, 48]}
  - {name: clock, path: "dies[0].clock_ghz", values: [1.6, 1.8, 2.0, 2.2, 2.4]}
  - {name: process, path: "dies[0].process", values: [N5, N3P]}
  - {name: stacks, path: "memory[0].count", values: [4, 8]}
  - {name: ucie_gb_s, path: "topology[0].link.bandwidth_gb_s", values: [512, 1024, 2048, 4096]}
  - {name: sram_kib, path: "dies[0].core.sram_kib", values: [128, 256]}
  - {name: model, values: [llama3.1-8b, llama3.1-70b]}
  - {name: precision, values: [bf16, fp8, mxfp4]}
  - {name: tp, values: [1, 2, 4, 8]}
  - {name: batch, values: [1, 4, 16, 64, 256]}
  - {name: input_len, values: [512, 2048, 8192]}
  - {name: output_len, values: [256, 1024]}
derived:
  "dies[0].area_mm2": "(base.dies[0].area_mm2 - 6.1) * cores / base.dies[0].cores + 6.1 * ucie_gb_s / 2048"
  "dies[0].memory_interfaces": "stacks // 4"
options: {chunk_size: 8192}
"""


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--points", type=int, default=None, help="stop after about N points")
    ap.add_argument("--steady", action="store_true",
                    help="also measure the single-process steady-state rate (after warm-up)")
    ap.add_argument("--keep", default=None, help="keep the store at this path")
    args = ap.parse_args(argv)

    from chipletarch.explore import Evaluator, run_sweep, sweep_from_yaml
    from chipletarch.explore.store import records_to_rows, store_columns

    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "bench-sweep.yaml"
        spec_path.write_text(SPEC)
        spec = sweep_from_yaml(SPEC, str(spec_path))
        store = args.keep or str(Path(tmp) / "bench.sqlite")
        if os.path.exists(store):
            os.unlink(store)
        print(f"spec: {len(spec):,} points ({len(spec) // 720} architecture variants x 720 "
              f"workloads); {args.workers} worker process(es); machine: {os.cpu_count()} CPUs")
        cpu0 = time.process_time()
        ch0 = _children_cpu()
        t0 = time.perf_counter()
        s = run_sweep(spec, store, workers=args.workers, limit=args.points, progress=False)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0 + _children_cpu() - ch0
        n = s["evaluated_now"]
        ok = s["status"].get("ok", 0)
        print(f"sweep: {n:,} points in {wall:.1f} s = {n / wall:,.0f} points/s wall "
              f"({ok:,} fully evaluated = {ok / wall:,.0f} ok points/s; the rest pruned: "
              f"{', '.join(f'{k} {v:,}' for k, v in s['status'].items() if k != 'ok') or 'none'})")
        print(f"CPU: {cpu:.1f} s over all processes = {n / cpu:,.0f} points per CPU-second "
              f"(wall x CPUs = {wall * min(args.workers, os.cpu_count() or 1):.1f} s)")
        if n and 500_000 / (n / wall) < 60:
            print(f"500k points would take {500_000 / (n / wall):.0f} s at this rate")

        if args.steady:
            ev = Evaluator(spec)
            cols = list(store_columns(spec))
            cs = 8192
            t = time.perf_counter()
            ev.evaluate(range(0, cs))
            warm = time.perf_counter() - t
            c0, t0 = time.process_time(), time.perf_counter()
            done = 0
            for c in range(1, 6):
                recs = ev.evaluate(range(c * cs, (c + 1) * cs))
                records_to_rows(recs, cols, c)
                done += cs
            cpu = time.process_time() - c0
            w = time.perf_counter() - t0
            print(f"steady state, one process: warm-up {warm:.2f} s (first {cs} points: operator "
                  f"tables, memory fit, placements), then {done / cpu:,.0f} points per "
                  f"CPU-second ({done / w:,.0f}/s wall)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
