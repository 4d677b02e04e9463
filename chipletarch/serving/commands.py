"""`chipletarch serve ARCH MODEL`: co-located vs disaggregated serving study on the CLI.

Prints the best configuration of each mode under the TTFT / TPOT targets (tokens/s per chip,
per user, TTFT, TPOT, mapping, batch / chunk or pool ratio, KV hand-over time), the gain of
disaggregated over co-located per interactivity level, and optionally draws both Pareto
frontiers (`--png`) or dumps everything as JSON (`--json`). `--framework` picks whose costs
outside the kernels are included (default `framework.DEFAULT_FRAMEWORK`); every output states it.
"""
from __future__ import annotations

import json
import math

from .framework import DEFAULT_FRAMEWORK, FRAMEWORKS, framework_costs
from .study import DEFAULT_LEVELS, ServingStudy, _traffic_lengths


def add_commands(subparsers) -> None:
    p = subparsers.add_parser("serve", help="co-located vs disaggregated serving: frontiers, "
                                            "rate matching, gain")
    p.add_argument("arch", metavar="ARCH", help="bundled architecture name or YAML path")
    p.add_argument("model", metavar="MODEL", help="bundled model name or YAML path")
    p.add_argument("--traffic", default=None, help="traffic profile (chat, summarization, ...)")
    p.add_argument("--isl", type=int, default=None, help="input tokens (instead of --traffic)")
    p.add_argument("--osl", type=int, default=None, help="output tokens (instead of --traffic)")
    p.add_argument("--ttft-slo", type=float, default=None, help="TTFT target, ms")
    p.add_argument("--tpot-slo", type=float, default=None, help="TPOT target, ms")
    p.add_argument("--precision", default="bf16", help="formats preset (bf16, fp8, ...)")
    p.add_argument("--max-tp", type=int, default=None, help="largest TP per instance")
    p.add_argument("--max-packages", type=int, default=None,
                   help="integer pool sizes within this many packages (default: fluid ratio)")
    p.add_argument("--framework", choices=FRAMEWORKS, default=DEFAULT_FRAMEWORK,
                   help="serving framework whose costs outside the kernels (per-iteration "
                        "overhead, front-end and disaggregated hand-over latency, fitted on H100 "
                        "deployments) are included; 'none' = kernel time only (default "
                        f"{DEFAULT_FRAMEWORK})")
    p.add_argument("--png", default=None, help="draw both frontiers to this PNG")
    p.add_argument("--json", action="store_true", help="print points, frontiers, gains as JSON")
    p.add_argument("--frontier", action="store_true",
                   help="also list every Pareto-frontier point of both modes")
    p.add_argument("--trace", default=None,
                   help="elastic scaling over a time-varying trace (e.g. diurnal): chip-hours "
                        "and SLO attainment of re-matched vs fixed pools (lengths from the trace)")
    p.set_defaults(func=cmd_serve)


def _fmt(p, tdp_w=None) -> str:
    if p is None:
        return "  no configuration meets the targets"
    s = (f"  {p['tokens_per_s_per_chip']:9.1f} tok/s/chip  {p['tokens_per_s_per_user']:7.1f} "
         f"tok/s/user  TTFT {p['ttft_s'] * 1e3:8.1f} ms  TPOT {p['tpot_s'] * 1e3:7.2f} ms")
    if p.get("j_per_token") is not None:       # energy model composed over the steady state
        s += (f"  {p['j_per_token']:.3f} J/token  {p['power_w_per_package']:.0f} W/pkg")
        if tdp_w is not None and p["power_w_per_package"] > tdp_w:
            s += f" (above the {tdp_w:.0f} W TDP: not throttled)"
    s += "\n"
    if p["mode"] == "colocated":
        s += (f"  {p['mapping']} x{p['packages']} pkg, concurrency {p['concurrency']}, "
              f"token budget {p['chunk']}")
    else:
        s += (f"  prefill {p['prefill_mapping']} batch {p['prefill_batch']} : decode "
              f"{p['decode_mapping']} batch {p['decode_batch']}, P:D instances "
              f"{p['prefill_instances']:.2f}:{p['decode_instances']:.2f} "
              f"({p['packages']:.1f} pkg), KV hand-over {p['kv_transfer_s'] * 1e3:.2f} ms")
        if p.get("handover_s"):
            s += f" + {p['handover_s'] * 1e3:.0f} ms framework hand-over"
    return s


def cmd_trace(args) -> int:
    from .elastic import load_trace, plan
    tr = load_trace(args.trace)

    def factory(isl, osl):
        return ServingStudy(args.arch, args.model, args.precision, isl, osl,
                            ttft_slo_s=None if args.ttft_slo is None else args.ttft_slo / 1e3,
                            tpot_slo_s=None if args.tpot_slo is None else args.tpot_slo / 1e3,
                            max_tp=args.max_tp, framework=args.framework)
    res = plan(factory, tr)
    fw = framework_costs(args.framework)
    if args.json:
        print(json.dumps(dict(framework=fw.as_dict(), **res), indent=1, default=float))
        return 0
    hours = len(tr.rate) * tr.interval_s / 3600
    print(f"trace {tr.name}: {len(tr.rate)} intervals, {hours:g} h, rate {min(tr.rate):g}-"
          f"{max(tr.rate):g} req/s; targets TTFT {args.ttft_slo or '-'} ms, TPOT "
          f"{args.tpot_slo or '-'} ms")
    print(fw.describe())
    for mode, r in res.items():
        if r is None:
            print(f"{mode}: no configuration meets the targets at the busiest interval")
            continue
        print(f"{mode}: {r['config']}")
        for k, lab in (("elastic", "re-matched per interval"), ("fixed_peak", "fixed at peak"),
                       ("fixed_mean", "fixed at mean load")):
            line = (f"  {lab:24s} {r[k]['chip_hours']:9.1f} chip-hours   SLO attainment "
                    f"{r[k]['slo_attainment'] * 100:6.1f} %")
            if r[k].get("energy_kwh") is not None:
                line += f"   {r[k]['energy_kwh']:8.1f} kWh  {r[k]['j_per_token']:.3f} J/token"
            print(line)
    return 0


def cmd_serve(args) -> int:
    if args.trace:
        return cmd_trace(args)
    isl, osl = _traffic_lengths(args.traffic, args.isl, args.osl)
    st = ServingStudy(args.arch, args.model, args.precision, isl, osl,
                      ttft_slo_s=None if args.ttft_slo is None else args.ttft_slo / 1e3,
                      tpot_slo_s=None if args.tpot_slo is None else args.tpot_slo / 1e3,
                      max_tp=args.max_tp, max_packages=args.max_packages,
                      framework=args.framework)
    co_f, dis_f = st.frontiers()
    best = st.best()
    gains = st.gains(DEFAULT_LEVELS)
    if args.png:
        draw_frontiers(st, args.png)
    if args.json:
        co, dis = st.points()
        print(json.dumps(dict(arch=st.arch.name, model=st.model.name, isl=isl, osl=osl,
                              precision=args.precision, framework=st.costs.as_dict(),
                              framework_note=st.costs.describe(), best=best,
                              frontier=dict(colocated=co_f, disaggregated=dis_f),
                              gains=gains, points=dict(colocated=co, disaggregated=dis)),
                         indent=1, default=float))
        return 0
    print(f"{st.model.name} on {st.arch.name} ({args.precision}), ISL {isl:g} / OSL {osl:g}; "
          f"targets TTFT {args.ttft_slo or '-'} ms, TPOT {args.tpot_slo or '-'} ms")
    print(st.costs.describe())
    print(f"mappings tried: {', '.join(i.label for i in st.instances())}")
    for mode in ("colocated", "disaggregated"):
        print(f"best {mode}:")
        print(_fmt(best[mode], st.arch.tdp_w))
    print("tokens/s per chip at each interactivity level (TTFT target applied):")
    print(f"  {'tok/s/user':>10} {'colocated':>10} {'disagg':>10} {'gain':>6}")
    for g in gains:
        f = lambda v: "       -" if not math.isfinite(v) else f"{v:10.1f}"  # noqa: E731
        gv = "     -" if not math.isfinite(g["gain"]) else f"{g['gain']:6.2f}"
        print(f"  {g['tokens_per_s_per_user']:10.0f} {f(g['colocated'])} "
              f"{f(g['disaggregated'])} {gv}")
    if args.frontier:
        for mode, front in (("colocated", co_f), ("disaggregated", dis_f)):
            print(f"{mode} frontier ({len(front)} points, TTFT target applied):")
            for p in front:
                print(_fmt(p, st.arch.tdp_w))
    if args.png:
        print(f"frontiers: {args.png}")
    return 0


def draw_frontiers(study, path, title=None) -> None:
    """Both modes' design points (faint) and Pareto frontiers (lines) to a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    co, dis = study.points()
    cf, df = study.frontiers()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for pts, front, col, lab in ((co, cf, "tab:blue", "co-located"),
                                 (dis, df, "tab:red", "disaggregated")):
        ax.scatter([p["tokens_per_s_per_user"] for p in pts],
                   [p["tokens_per_s_per_chip"] for p in pts], s=5, color=col, alpha=0.15)
        ax.plot([p["tokens_per_s_per_user"] for p in front],
                [p["tokens_per_s_per_chip"] for p in front], "-o", ms=3, color=col, label=lab)
    if study.tpot_slo_s:
        ax.axvline(1.0 / study.tpot_slo_s, color="0.5", ls="--", lw=0.8, label="TPOT target")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tokens/s per user (1 / TPOT)")
    ax.set_ylabel("output tokens/s per chip")
    ttft = f", TTFT <= {study.ttft_slo_s * 1e3:g} ms" if study.ttft_slo_s else ""
    fw = getattr(study, "framework", "none")
    ax.set_title(title or f"{study.model.name} on {study.arch.name}, ISL {study.isl:g} / "
                          f"OSL {study.osl:g}{ttft}, framework {fw}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
