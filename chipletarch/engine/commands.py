"""`chipletarch run | compare | roofline`: the engine commands of the CLI.

`run ARCH MODEL` simulates one design point and prints the per-operator table grouped by op
class, TTFT or TPOT, tokens/s and the share of time by bounding resource (`--json`: the whole
Result). `compare ARCH... --model M` runs the same point on several architectures side by side
(`--png`: bar charts of time by operator class and by bounding resource). `roofline ARCH --model
M --png` places every operator on the architecture's roofline (achieved FLOP/s against
operational intensity, ceilings for each format's peak and the memory bandwidth).
"""
from __future__ import annotations

import json

import numpy as np

from ..errors import SpecError
from .result import BOUNDS
from .simulate import PHASES, simulate

# fixed colours so that the same class / bound has the same colour in every chart
_BOUND_COLORS = {"compute": "#1f77b4", "sram": "#17becf", "l2": "#9467bd", "hbm": "#d62728",
                 "d2d": "#ff7f0e", "network": "#2ca02c", "overhead": "#7f7f7f"}
_CLASS_ORDER = ("embed", "norm", "qkv_proj", "rope", "kv_write", "attention", "o_proj", "mlp",
                "moe_router", "moe_expert", "shared_expert", "residual", "lm_head", "sampling",
                "comm")


def _point_args(p, model_positional: bool) -> None:
    if model_positional:
        p.add_argument("model", metavar="MODEL", help="bundled model name or YAML path")
    else:
        p.add_argument("--model", required=True, help="bundled model name or YAML path")
    p.add_argument("--phase", choices=PHASES, default="decode")
    p.add_argument("--batch", type=int, default=1, help="sequences (decode batch for chunked)")
    p.add_argument("--seq-len", type=int, default=None,
                   help="new tokens per sequence (prompt / chunk; default 1 for decode, 1024 "
                        "otherwise)")
    p.add_argument("--context-len", type=int, default=0, help="tokens already in the KV cache")
    p.add_argument("--chunk-context-len", type=int, default=0,
                   help="chunked: tokens of the chunk's sequence already cached")
    p.add_argument("--precision", default="bf16",
                   help="formats preset: bf16, fp8, mxfp8, mxfp6, mxfp4, nvfp4, w4a16, ...")
    for name, help_ in (("tp", "tensor-parallel devices per stage"), ("pp", "pipeline stages"),
                        ("ep", "expert-parallel groups (divides tp)"),
                        ("dp", "independent replicas"),
                        ("attention-dp", "data-parallel attention groups (divides tp)")):
        p.add_argument(f"--{name}", type=int, default=1, help=help_)
    p.add_argument("--devices-per-package", type=int, default=1,
                   help="devices a package is cut into (default 1: the whole package is one "
                        "device, as B200 / MI300X present one GPU)")
    p.add_argument("--no-memory-check", action="store_true",
                   help="skip the memory-fit check (time a point that would not fit)")
    p.add_argument("--act-quant", choices=("default", "dynamic", "none"), default="default",
                   help="activation quantisation before GEMMs: default = static per-tensor "
                        "FP8/INT8 scales, block formats quantised at run time; dynamic = also "
                        "per-tensor at run time; none")


def add_commands(subparsers) -> None:
    p = subparsers.add_parser("run", help="simulate one design point (latency, TTFT/TPOT, "
                                          "tokens/s, per-operator table)")
    p.add_argument("arch", metavar="ARCH", help="bundled architecture name or YAML path")
    _point_args(p, model_positional=True)
    p.add_argument("--json", action="store_true", help="print the whole Result as JSON")
    p.add_argument("--flat", action="store_true", help="operators in table order, not grouped")
    p.set_defaults(func=cmd_run)

    p = subparsers.add_parser("compare", help="one design point on several architectures")
    p.add_argument("archs", metavar="ARCH", nargs="+")
    _point_args(p, model_positional=False)
    p.add_argument("--json", action="store_true", help="print a list of Results as JSON")
    p.add_argument("--png", metavar="PATH", help="bar charts: time by op class and by bound")
    p.set_defaults(func=cmd_compare)

    p = subparsers.add_parser("roofline", help="operators on the roofline of an architecture")
    p.add_argument("arch", metavar="ARCH")
    _point_args(p, model_positional=False)
    p.add_argument("--png", metavar="PATH", required=True, help="output image")
    p.set_defaults(func=cmd_roofline)


def _simulate(arch, args):
    seq = args.seq_len if args.seq_len is not None else (1 if args.phase == "decode" else 1024)
    return simulate(arch, args.model, phase=args.phase, batch=args.batch, seq_len=seq,
                    context_len=args.context_len, precision=args.precision, tp=args.tp,
                    pp=args.pp, ep=args.ep, dp=args.dp, attention_dp=args.attention_dp,
                    devices_per_package=args.devices_per_package,
                    chunk_context_len=args.chunk_context_len,
                    check_memory=not args.no_memory_check,
                    act_quant={"default": None, "dynamic": True, "none": False}[args.act_quant])


def cmd_run(args) -> int:
    r = _simulate(args.arch, args)
    if args.json:
        print(r.to_json())
    else:
        print(r.summary(group=not args.flat))
    return 0


def _compare_text(results) -> str:
    names = [r.arch for r in results]
    w = max(12, *(len(n) for n in names))
    lines = [f"{results[0].model} {results[0].phase} batch={results[0].batch} "
             f"seq_len={results[0].seq_len} context={results[0].context_len} "
             f"{results[0].precision}"]
    lines.append(f"{'':<22}" + "".join(f"{n:>{w + 2}}" for n in names))

    def row(label, vals, fmt):
        lines.append(f"{label:<22}" + "".join(
            f"{(fmt.format(v) if v is not None else '-'):>{w + 2}}" for v in vals))

    row("latency ms", [r.latency_s * 1e3 for r in results], "{:.3f}")
    if results[0].ttft_s is not None:
        row("TTFT ms", [r.ttft_s * 1e3 for r in results], "{:.3f}")
    if results[0].tpot_s is not None:
        row("TPOT ms", [r.tpot_s * 1e3 for r in results], "{:.3f}")
    row("tokens/s", [r.tokens_per_s for r in results], "{:,.1f}")
    row("HBM GB / pass", [r.total("hbm_bytes") / 1e9 for r in results], "{:.3f}")
    lines.append("time by op class (ms)")
    classes = [c for c in _CLASS_ORDER if any(c in r.by_class() for r in results)]
    classes += sorted({c for r in results for c in r.by_class()} - set(classes))
    for c in classes:
        row(f"  {c}", [r.by_class().get(c, 0.0) * 1e3 for r in results], "{:.3f}")
    lines.append("share of time by bound")
    for b in BOUNDS:
        vals = [r.bound_share().get(b, 0.0) for r in results]
        if any(vals):
            row(f"  {b}", vals, "{:.1%}")
    for r in results:
        lines += [f"note ({r.arch}): {n}" for n in r.notes]
    return "\n".join(lines)


def cmd_compare(args) -> int:
    results = [_simulate(a, args) for a in args.archs]
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        print(_compare_text(results))
    if args.png:
        draw_compare(results, args.png)
        if not args.json:
            print(f"wrote {args.png}")
    return 0


def _figure(w, h):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise SpecError("--png needs matplotlib: pip install matplotlib") from None
    fig = Figure(figsize=(w, h), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def draw_compare(results, path) -> None:
    """Two stacked-bar panels: latency by operator class and by bounding resource."""
    import matplotlib

    fig = _figure(12, 5.2)
    ax1, ax2 = fig.subplots(1, 2)
    names = [r.arch for r in results]
    x = np.arange(len(results))
    classes = [c for c in _CLASS_ORDER if any(c in r.by_class() for r in results)]
    classes += sorted({c for r in results for c in r.by_class()} - set(classes))
    cmap = matplotlib.colormaps["tab20"]
    unit, scale = ("ms", 1e3)
    bottom = np.zeros(len(results))
    for i, c in enumerate(classes):
        v = np.array([r.by_class().get(c, 0.0) for r in results]) * scale
        ax1.bar(x, v, bottom=bottom, color=cmap(i % 20), label=c, width=0.6)
        bottom += v
    for xi, tot in zip(x, bottom):
        ax1.text(xi, tot, f"{tot:.2f}", ha="center", va="bottom", fontsize=9)
    ax1.set_title("time by operator class")
    bottom = np.zeros(len(results))
    for b in BOUNDS:
        v = np.array([r.bound_share().get(b, 0.0) * r.latency_s for r in results]) * scale
        if not v.any():
            continue
        ax2.bar(x, v, bottom=bottom, color=_BOUND_COLORS[b], label=b, width=0.6)
        bottom += v
    ax2.set_title("time by bounding resource")
    r0 = results[0]
    what = "TTFT" if r0.ttft_s is not None else "TPOT"
    for ax in (ax1, ax2):
        ax.set_xticks(x, names, rotation=20 if len(names) > 4 else 0)
        ax.set_ylabel(f"{what} ({unit})")
        ax.set_ylim(0, max(r.latency_s for r in results) * scale * 1.12)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"{r0.model} {r0.phase}, batch {r0.batch}, seq_len {r0.seq_len}, context "
                 f"{r0.context_len}, {r0.precision}, tp={r0.mapping['tp']} "
                 f"pp={r0.mapping['pp']} ep={r0.mapping['ep']}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path)


def cmd_roofline(args) -> int:
    r = _simulate(args.arch, args)
    draw_roofline(r, args.png)
    print(r.headline())
    print(f"wrote {args.png}")
    return 0


def draw_roofline(r, path) -> None:
    """Operators at (FLOPs / memory byte, achieved FLOP/s) under the device's ceilings."""
    import matplotlib

    fig = _figure(10, 6.5)
    ax = fig.subplots()
    o = r.ops
    ok = (o["flops"] > 0) & (o["hbm_bytes"] > 0) & (o["time_s"] > 0)
    oi = o["flops"][ok] / o["hbm_bytes"][ok]
    perf = o["flops"][ok] / o["time_s"][ok]
    share = o["total_time_s"][ok] / r.latency_s
    bw = r.hbm_bandwidth_bytes_per_s
    lo = max(1e-3, 10 ** np.floor(np.log10(oi.min() / 2))) if oi.size else 1e-1
    hi = 10 ** np.ceil(np.log10(max(oi.max() if oi.size else 1e3, 4 * max(r.peak_flops.values())
                                    / bw)))
    xs = np.logspace(np.log10(lo), np.log10(hi), 200)
    # one ceiling per distinct peak rate (formats sharing a rate share a line)
    rates = {}
    for f, v in r.peak_flops.items():
        rates.setdefault(v, []).append(f)
    used = set(o["compute_fmt"][ok])
    for i, (v, fmts) in enumerate(sorted(rates.items())):
        short = [f for f in fmts if f in used] or fmts[:2]
        label = f"{'/'.join(short)}{' +' if len(fmts) > len(short) else ''} peak {v / 1e12:,.0f} TF/s"
        ax.plot(xs, np.minimum(v, bw * xs), color="k", lw=1.0 + 0.4 * i, alpha=0.35 + 0.15 * i)
        ax.text(hi, v * 1.06, label, ha="right", va="bottom", fontsize=8)
    ax.text(xs[12], bw * xs[12] * 1.3, f"memory {bw / 1e12:.2f} TB/s", rotation=0, fontsize=8,
            ha="left")
    classes = [c for c in _CLASS_ORDER if c in set(o["op_class"][ok])]
    cmap = matplotlib.colormaps["tab10"]
    for i, c in enumerate(classes):
        sel = o["op_class"][ok] == c
        ax.scatter(oi[sel], perf[sel], s=20 + 600 * share[sel], color=cmap(i % 10), alpha=0.75,
                   edgecolor="k", linewidth=0.5, label=c)
    # name the ops that matter most; stagger the labels so that neighbours stay readable
    for rank, j in enumerate(np.argsort(-share)[:6]):
        ax.annotate(f"{o['name'][ok][j]} {share[j]:.0%}", (oi[j], perf[j]), fontsize=7,
                    xytext=(8, -12 - 10 * (rank % 3)), textcoords="offset points",
                    arrowprops=dict(arrowstyle="-", lw=0.4, color="0.4"))
    off = ~ok & (o["total_time_s"] > 0)
    if off.any():
        by = {}
        for c, tt in zip(o["op_class"][off], o["total_time_s"][off]):
            by[c] = by.get(c, 0.0) + tt
        txt = "not on the plot (no FLOPs or no memory bytes):\n" + "\n".join(
            f"  {c}: {tt * 1e3:.2f} ms ({tt / r.latency_s:.1%})"
            for c, tt in sorted(by.items(), key=lambda kv: -kv[1]))
        ax.text(0.01, 0.99, txt, transform=ax.transAxes, va="top", ha="left", fontsize=8,
                bbox=dict(boxstyle="round", fc="white", ec="0.7"))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    top = max(r.peak_flops.values()) * 3
    ax.set_ylim(min(perf.min() / 3 if perf.size else top / 1e4, top / 1e3), top)
    ax.set_xlabel("operational intensity (FLOP per memory byte)")
    ax.set_ylabel("achieved FLOP/s (per device)")
    what = f"TTFT {r.ttft_s * 1e3:.2f} ms" if r.ttft_s is not None else \
        f"TPOT {r.tpot_s * 1e3:.2f} ms"
    ax.set_title(f"{r.arch}: {r.model} {r.phase} batch {r.batch} seq {r.seq_len} ctx "
                 f"{r.context_len} {r.precision} ({what}); marker area = share of time",
                 fontsize=10)
    ax.grid(which="both", alpha=0.2)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)


__all__ = ["add_commands", "draw_compare", "draw_roofline"]
