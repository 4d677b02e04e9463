"""Where disaggregation pays: gain tables and frontier figures over bundled models and traffic.

    python -m chipletarch.serving.where [--img docs/img] [--ttft-slo-ms 2000]

For each (architecture, model, precision) and traffic profile (summarization 8192/256: prefill-
heavy; chat 1024/1024; generation 128/2048: decode-heavy) a `ServingStudy` under one TTFT target
gives both Pareto frontiers; the table reports the best tokens/s per chip of each mode at fixed
interactivity levels and their ratio (disaggregated / co-located). `--framework` picks whose
costs outside the kernels are included (default `framework.DEFAULT_FRAMEWORK`).
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from .commands import draw_frontiers
from .framework import DEFAULT_FRAMEWORK, FRAMEWORKS, framework_costs
from .study import ServingStudy

CASES = (("h100-sxm", "llama3.1-8b", "bf16", 8),
         ("h100-sxm", "llama3.1-70b", "fp8", 8),
         ("h100-sxm", "qwen3-235b-a22b", "fp8_block", 8),
         ("h200-sxm", "deepseek-v3", "fp8_block", 8))
TRAFFIC = (("summarization", 8192, 256), ("chat", 1024, 1024), ("generation", 128, 2048))
LEVELS = (20, 50, 100)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m chipletarch.serving.where")
    ap.add_argument("--img", default=None, help="folder for frontier PNGs")
    ap.add_argument("--ttft-slo-ms", type=float, default=2000.0)
    ap.add_argument("--framework", choices=FRAMEWORKS, default=DEFAULT_FRAMEWORK,
                    help="costs outside the kernels ('none': kernel time only)")
    a = ap.parse_args(argv)
    print(framework_costs(a.framework).describe())
    print(f"TTFT <= {a.ttft_slo_ms:g} ms; tokens/s per chip (co-located / disaggregated, gain) at "
          f"{', '.join(str(x) for x in LEVELS)} tokens/s per user")
    for arch, model, prec, max_tp in CASES:
        for tname, isl, osl in TRAFFIC:
            st = ServingStudy(arch, model, prec, isl, osl, ttft_slo_s=a.ttft_slo_ms / 1e3,
                              max_tp=max_tp, framework=a.framework)
            cells = []
            for g in st.gains(LEVELS):
                c, d, r = g["colocated"], g["disaggregated"], g["gain"]
                f = lambda v: "-" if not math.isfinite(v) else f"{v:.0f}"  # noqa: E731
                cells.append(f"{f(c)}/{f(d)} ({'-' if not math.isfinite(r) else f'{r:.2f}x'})")
            print(f"| {model} ({prec}) on {arch} | {tname} {isl}/{osl} | " + " | ".join(cells)
                  + " |", flush=True)
            if a.img:
                Path(a.img).mkdir(parents=True, exist_ok=True)
                draw_frontiers(st, Path(a.img) / f"serving_{model}_{tname}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
