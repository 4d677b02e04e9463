"""Disaggregated vs co-located serving: where does splitting prefill and decode pay?

For one design and model, and traffic profiles of different shape (prompt-heavy summarisation,
balanced chat, decode-heavy generation), `chipletarch.serving.ServingStudy` enumerates
mappings, batch sizes and token budgets for co-located serving (continuous batching with chunked
prefill) and rate-matched prefill/decode pools for disaggregated serving, keeps the points that
meet the TTFT target, and returns both Pareto frontiers of output tokens/s per chip against
tokens/s per user. The gain table compares the best of each mode at fixed interactivity levels
(method: arXiv:2506.05508; model: docs/SERVING.md).

    python examples/disaggregation_study.py [--arch h100-sxm] [--model llama3.1-8b] \
        [--precision fp8] [--ttft-slo-ms 2000] [--framework vllm] [--out-dir DIR] [--quick]

`--framework` (none | trtllm | vllm | sglang, default vllm) picks whose costs outside the
kernels are included (docs/SERVING.md, "Costs outside the kernels"); the output states it.
"""
from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

from chipletarch.serving import DEFAULT_FRAMEWORK, FRAMEWORKS, ServingStudy, framework_costs
from chipletarch.serving.commands import draw_frontiers
from chipletarch.workload import load_traffic

TRAFFIC = ("summarization", "chat", "generation")
LEVELS = (20, 50, 100, 200)


def study(arch, model, precision, traffic, ttft_slo_ms, max_tp, quick=False,
          framework=DEFAULT_FRAMEWORK):
    t = load_traffic(traffic)
    kw = {}
    if quick:       # a coarser grid of the same search (CI smoke test)
        kw = dict(batches=(1, 8, 32, 128), chunks=(1024, 4096), prefill_batches=(1, 4))
    return ServingStudy(arch, model, precision, float(t.isl.mean), float(t.osl.mean),
                        ttft_slo_s=ttft_slo_ms / 1e3, max_tp=max_tp, framework=framework, **kw)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="h100-sxm")
    ap.add_argument("--model", default="llama3.1-8b")
    ap.add_argument("--precision", default="fp8")
    ap.add_argument("--ttft-slo-ms", type=float, default=2000.0)
    ap.add_argument("--max-tp", type=int, default=2)
    ap.add_argument("--traffic", nargs="+", default=list(TRAFFIC))
    ap.add_argument("--out-dir", type=Path, default=None,
                    help="where to write the PNGs (default: a temporary directory)")
    ap.add_argument("--framework", choices=FRAMEWORKS, default=DEFAULT_FRAMEWORK,
                    help="costs outside the kernels ('none': kernel time only)")
    ap.add_argument("--quick", action="store_true", help="coarser batch / budget grid (CI)")
    args = ap.parse_args(argv)
    out = args.out_dir or Path(tempfile.mkdtemp(prefix="chipletarch-"))
    out.mkdir(parents=True, exist_ok=True)

    print(f"{args.model} {args.precision} on {args.arch}, TTFT <= {args.ttft_slo_ms:g} ms, "
          f"tp <= {args.max_tp}")
    print(framework_costs(args.framework).describe())
    print("best tokens/s per chip: co-located / disaggregated (gain) at >= N tokens/s per user")
    print(f"{'traffic':<15}{'ISL/OSL':>11}" + "".join(f"{f'>= {u}':>26}" for u in LEVELS))
    for name in args.traffic:
        st = study(args.arch, args.model, args.precision, name, args.ttft_slo_ms, args.max_tp,
                   args.quick, args.framework)
        cells = []
        for g in st.gains(LEVELS):
            c, d, r = g["colocated"], g["disaggregated"], g["gain"]
            f = lambda v: "-" if math.isnan(v) else f"{v:,.0f}"  # noqa: E731 (mode can't reach)
            cells.append(f"{f(c)} / {f(d)}" + ("" if math.isnan(r) else f" ({r:.2f}x)"))
        print(f"{name:<15}{f'{st.isl:.0f}/{st.osl:.0f}':>11}" + "".join(f"{x:>26}" for x in cells))
        best = st.best()
        for mode in ("colocated", "disaggregated"):
            b = best[mode]
            if b is None:
                print(f"  {mode}: nothing meets the targets")
                continue
            how = (f"mapping {b['mapping']}, concurrency {b['concurrency']}, chunk {b['chunk']}"
                   if mode == "colocated" else
                   f"prefill {b['prefill_mapping']} x{b['prefill_batch']} / decode "
                   f"{b['decode_mapping']} x{b['decode_batch']}, P:D = "
                   f"{b['prefill_decode_ratio']:.2f}")
            print(f"  best {mode}: {b['tokens_per_s_per_chip']:,.0f} tok/s/chip at "
                  f"{b['tokens_per_s_per_user']:.0f} tok/s/user, TTFT {b['ttft_s'] * 1e3:.0f} ms"
                  f" ({how})")
        p = out / f"disaggregation_{name}.png"
        draw_frontiers(st, p, title=f"{args.model} {args.precision} on {args.arch}, {name}")
        print(f"  wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
