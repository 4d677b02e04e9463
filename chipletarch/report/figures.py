"""Figures of the HTML report, each returned as PNG bytes (the page inlines them as base64).

Matplotlib's object API on the Agg canvas (no pyplot state), so figures are safe in tests,
threads and servers without a display. Where another module already draws a figure (the
package drawing, the engine's latency-breakdown bars and roofline), the report calls it rather
than drawing its own version, so the picture in a report is the one the CLI draws.
"""
from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["png_of", "package_png", "latency_png", "roofline_png", "utilisation_png",
           "energy_png", "cost_png", "token_cost_png", "accuracy_png", "design_pareto_png",
           "serving_png", "sweep_png", "BOUND_COLORS"]

DPI = 90
# same colours as `chipletarch compare` so that a bound reads the same in every chart
from ..engine.commands import _BOUND_COLORS as BOUND_COLORS  # noqa: E402

_ENERGY_ORDER = ("matrix", "vector", "sram", "l2", "hbm", "d2d", "network", "static",
                 "hbm_background", "d2d_standby")
_COST_ORDER = ("dies", "hbm", "carrier", "substrate", "bumps", "assembly", "assembly_scrap",
               "final_test", "nre")


def _figure(w, h):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(w, h), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def png_of(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def package_png(arch) -> bytes:
    """The package drawing of `chipletarch show --png` (chipletarch.arch.drawing)."""
    from ..arch.drawing import draw_package
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "pkg.png"
        draw_package(arch, p, dpi=DPI)
        return p.read_bytes()


def latency_png(results) -> bytes:
    """`chipletarch compare --png`: time by operator class and by bounding resource."""
    from ..engine.commands import draw_compare
    buf = io.BytesIO()
    draw_compare(results, buf)
    return buf.getvalue()


def roofline_png(result) -> bytes:
    """`chipletarch roofline --png`: every operator on the device's roofline."""
    from ..engine.commands import draw_roofline
    buf = io.BytesIO()
    draw_roofline(result, buf)
    return buf.getvalue()


def _resources(r):
    """(name, utilisation, kind) of every stack, link and port of a Result."""
    out = [(n, d["utilization"], "memory") for n, d in r.stacks.items()]
    out += [(n, d["utilization"], "link") for n, d in r.links.items()]
    out += [(f"{n} ({d.get('label', n)})", d["utilization"], "port") for n, d in r.ports.items()]
    return out


def utilisation_png(points) -> bytes:
    """Average utilisation of every memory stack, D2D link and port, prefill and decode, one
    panel per design (bytes / (bandwidth x latency); compulsory bytes, so a lower bound)."""
    pts = [p for p in points if p.ok]
    n = len(pts)
    fig = _figure(11, 2.2 + 2.6 * n)
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    colours = {"memory": "#A23B45", "link": "#1B7F79", "port": "#5B3C88"}
    for ax, p in zip(axes, pts):
        res_pre = _resources(p.prefill)
        res_dec = {k: u for k, u, _ in _resources(p.decode)}
        names = [k for k, _, _ in res_pre]
        x = np.arange(len(names))
        upre = np.array([u for _, u, _ in res_pre]) * 100
        udec = np.array([res_dec.get(k, 0.0) for k in names]) * 100
        kinds = [k for _, _, k in res_pre]
        ax.bar(x - 0.2, upre, width=0.4, color=[colours[k] for k in kinds], alpha=0.45,
               edgecolor="k", linewidth=0.3, label="prefill")
        ax.bar(x + 0.2, udec, width=0.4, color=[colours[k] for k in kinds],
               edgecolor="k", linewidth=0.3, label="decode")
        ax.set_xticks(x, names, rotation=45 if len(names) > 8 else 0, ha="right" if
                      len(names) > 8 else "center", fontsize=7)
        ax.set_ylabel("utilisation %")
        ax.set_ylim(0, max(100.0, float(max(upre.max(initial=0), udec.max(initial=0))) * 1.1))
        ax.set_title(f"{p.design}: memory stacks (red), D2D links (teal), ports (purple); "
                     f"light = prefill, dark = decode", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return png_of(fig)


def _stacked(ax, labels, parts: dict, order, colors=None, fmt="{:.3g}"):
    import matplotlib
    cmap = matplotlib.colormaps["tab20"]
    x = np.arange(len(labels))
    bottom = np.zeros(len(labels))
    keys = [k for k in order if k in parts and np.any(parts[k] > 0)]
    keys += [k for k in parts if k not in keys and np.any(parts[k] > 0)]
    for i, k in enumerate(keys):
        c = (colors or {}).get(k, cmap(i % 20))
        ax.bar(x, parts[k], bottom=bottom, width=0.6, color=c, label=k, edgecolor="white",
               linewidth=0.4)
        bottom = bottom + parts[k]
    for xi, tot in zip(x, bottom):
        ax.text(xi, tot, fmt.format(tot), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, labels, rotation=15 if len(labels) > 3 else 0)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    ax.set_ylim(0, max(bottom.max(initial=0) * 1.15, 1e-12))


def energy_png(points) -> bytes:
    """J per token by component: decode (per generated token) and prefill (per prompt token)."""
    pts = [p for p in points if p.ok and p.e_decode is not None]
    fig = _figure(12, 4.4)
    ax1, ax2 = fig.subplots(1, 2)
    labels = [p.design for p in pts]
    for ax, attr, what in ((ax1, "e_decode", "decode: J per generated token"),
                           (ax2, "e_prefill", "prefill: J per prompt token")):
        parts = {}
        for k in _ENERGY_ORDER:
            parts[k] = np.array([getattr(p, attr).components.get(k, 0.0)
                                 / getattr(p, attr[2:]).tokens_per_step for p in pts])
        _stacked(ax, labels, parts, _ENERGY_ORDER)
        ax.set_ylabel("J / token (whole deployment)")
        ax.set_title(what, fontsize=10)
    w = pts[0].workload if pts else None
    if w is not None:
        fig.suptitle(f"energy by component, {w.label}", fontsize=11)
    fig.tight_layout()
    return png_of(fig)


def cost_png(designs) -> bytes:
    """Manufacturing cost of one good package by component (chipletarch.cost.package_cost)."""
    ds = [d for d in designs if d.cost is not None]
    fig = _figure(8, 4.2)
    ax = fig.subplots()
    parts = {k: np.array([d.cost.components().get(k, 0.0) for d in ds]) for k in _COST_ORDER}
    _stacked(ax, [d.name for d in ds], parts, _COST_ORDER, fmt="${:,.0f}")
    ax.set_ylabel("US$ per good package")
    ax.set_title("package cost by component (assembly_scrap = parts lost to assembly yield)",
                 fontsize=10)
    fig.tight_layout()
    return png_of(fig)


def token_cost_png(points) -> bytes:
    """$ per million decode tokens: capex (hardware over its life) and opex (energy) parts."""
    pts = [p for p in points if p.ok and p.token_cost is not None]
    fig = _figure(8, 4.0)
    ax = fig.subplots()
    parts = {"capex": np.array([p.token_cost.capex_usd_per_million_tokens for p in pts]),
             "opex (energy)": np.array([p.token_cost.opex_usd_per_million_tokens for p in pts])}
    _stacked(ax, [p.design for p in pts], parts, ("capex", "opex (energy)"),
             colors={"capex": "#3D5A80", "opex (energy)": "#E0A458"}, fmt="${:.3g}")
    ax.set_ylabel("US$ per million output tokens")
    if pts:
        ax.set_title(f"$/Mtoken, {pts[0].workload.label}", fontsize=10)
    fig.tight_layout()
    return png_of(fig)


def accuracy_png(accuracy: dict) -> bytes:
    """SQNR of every format the report's precisions use, per standard sample."""
    fmts = {}
    for rows in accuracy.values():
        if isinstance(rows, str):
            continue
        for r in rows:
            fmts.setdefault(r["format"], r["sqnr"])
    fig = _figure(11, 4.0)
    ax = fig.subplots()
    names = list(fmts)
    samples = list(next(iter(fmts.values())).keys()) if fmts else []
    x = np.arange(len(names))
    w = 0.8 / max(1, len(samples))
    import matplotlib
    cmap = matplotlib.colormaps["tab20"]
    for j, s in enumerate(samples):
        v = np.array([min(fmts[f][s], 80.0) for f in names])   # exact (inf) drawn at 80 dB
        ax.bar(x - 0.4 + (j + 0.5) * w, v, width=w, color=cmap(j), label=s)
    from .evaluate import RISK_BANDS
    for lo, name in RISK_BANDS[:-1]:
        ax.axhline(lo, color="k", lw=0.8, ls="--", alpha=0.6)
        ax.text(len(names) - 0.5, lo, f" {name} ≥ {lo:g} dB", va="bottom", ha="right",
                fontsize=7)
    ax.set_xticks(x, names)
    ax.set_ylabel("SQNR dB (higher is better)")
    ax.set_title("round-trip SQNR of each format on the standard samples (exact drawn at 80 dB)",
                 fontsize=10)
    ax.legend(fontsize=7, ncol=3, loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return png_of(fig)


def design_pareto_png(points) -> bytes:
    """Each design of one workload at (tokens/s per user, $/Mtoken); the non-dominated ones
    (faster per user and cheaper per token) joined."""
    from ..explore import pareto_mask
    pts = [p for p in points if p.ok and p.token_cost is not None]
    fig = _figure(7, 4.6)
    ax = fig.subplots()
    if pts:
        x = np.array([p.tokens_per_s_per_user for p in pts])
        y = np.array([p.token_cost.usd_per_million_tokens for p in pts])
        mask = pareto_mask(np.stack([x, y], axis=1), [True, False])
        ax.scatter(x[~mask], y[~mask], s=50, color="0.6", label="dominated")
        ax.scatter(x[mask], y[mask], s=60, color="C3", label="Pareto", zorder=3)
        o = np.argsort(x[mask])
        ax.plot(x[mask][o], y[mask][o], color="C3", lw=1)
        for xi, yi, p in zip(x, y, pts):
            ax.annotate(p.design, (xi, yi), xytext=(5, 4), textcoords="offset points",
                        fontsize=8)
        ax.set_title(f"designs, {pts[0].workload.label}: speed per user vs cost per token",
                     fontsize=10)
        ax.margins(0.2)
    ax.set_xlabel("tokens/s per user (1 / TPOT), higher is better")
    ax.set_ylabel("$ per million tokens, lower is better")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return png_of(fig)


def serving_png(serving: dict, title: str) -> bytes:
    """Serving Pareto frontiers (tokens/s per chip vs tokens/s per user) of every design,
    co-located (solid) and disaggregated (dashed)."""
    fig = _figure(9, 5.2)
    ax = fig.subplots()
    for i, (name, s) in enumerate(serving.items()):
        for key, ls, mk in (("co", "-", "o"), ("dis", "--", "s")):
            f = s.get(key) or []
            if not f:
                continue
            ax.plot([p["tokens_per_s_per_user"] for p in f], [p["tokens_per_s_per_chip"] for p in f],
                    ls=ls, marker=mk, ms=3, color=f"C{i % 10}",
                    label=f"{name} {'co-located' if key == 'co' else 'disaggregated'}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tokens/s per user (interactivity)")
    ax.set_ylabel("output tokens/s per chip (throughput)")
    ax.set_title(title, fontsize=10)
    ax.grid(which="both", alpha=0.25)
    if ax.lines:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return png_of(fig)


def sweep_png(sweep: dict, x: str, y: str, maximize) -> bytes:
    """Every ok point of a sweep store in (x, y), the Pareto frontier highlighted."""
    fig = _figure(8, 5.0)
    ax = fig.subplots()
    d = sweep["data"]
    xs = np.asarray(d.get(x, []), dtype=np.float64)
    ys = np.asarray(d.get(y, []), dtype=np.float64)
    ax.scatter(xs, ys, s=5, c="0.65", label=f"{len(xs):,} ok points", rasterized=True)
    fr = sweep["front"]
    if len(fr):
        ax.plot(xs[fr], ys[fr], "-o", color="C3", ms=4, lw=1.2, label=f"Pareto ({len(fr)})")
    for arr, setter in ((xs, ax.set_xscale), (ys, ax.set_yscale)):
        pos = arr[np.isfinite(arr) & (arr > 0)]
        if len(pos) and pos.max() / pos.min() > 100:
            setter("log")
    ax.set_xlabel(f"{x} ({'higher' if maximize[0] else 'lower'} is better)")
    ax.set_ylabel(f"{y} ({'higher' if maximize[1] else 'lower'} is better)")
    ax.set_title(f"sweep {sweep['manifest'].get('spec_name', '')}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return png_of(fig)
