"""Draw a package floor-plan sketch with matplotlib: dies as boxes scaled by area, stacks, labelled links.

`draw_package(arch, path)` writes PNG, SVG or PDF (by the file suffix). It is a schematic, not a
floor plan: die boxes are squares whose side is sqrt(area) (dies without an area get the median
known area), laid out row-major in a grid; memory stacks are equal small boxes beside the die they
attach to; 3D-stacked dies (`stacked: true`) are drawn inside the die they link to; every
die-to-die link is a line labelled with its bandwidth per direction; off-package ports are listed
below the package. Uses the object-oriented API (no pyplot state), so it is safe in servers/tests.
"""
from __future__ import annotations

import math
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..errors import SpecError

__all__ = ["draw_package"]

_COLOURS = {"compute": "#4C72B0", "io": "#DD8452", "sram": "#55A868", "memory-controller": "#8172B3",
            "memory": "#C44E52"}
_FORMATS = {".png", ".svg", ".pdf"}


def _bw(gb_s: float) -> str:
    return f"{gb_s / 1000:.3g} TB/s" if gb_s >= 1000 else f"{gb_s:.3g} GB/s"


def draw_package(arch, path, *, dpi: int = 150) -> Path:
    """Draw `arch` to `path` (.png, .svg or .pdf) and return the path."""
    path = Path(path)
    if path.suffix.lower() not in _FORMATS:
        raise SpecError(f"cannot draw to '{path}': use a .png, .svg or .pdf file name")
    g = arch.to_graph()
    dies = dict(arch.die_instances())
    known = sorted(d.area_mm2 for d in dies.values() if d.area_mm2)
    default_area = known[len(known) // 2] if known else 100.0
    side = {i: math.sqrt(d.area_mm2 or default_area) for i, d in dies.items()}

    # stacked dies sit on the first non-stacked die they link to
    host: dict[str, str] = {}
    for inst, d in dies.items():
        if d.stacked:
            for nb in g.neighbors(inst):
                if g.nodes[nb]["type"] == "die" and not dies[nb].stacked:
                    host[inst] = nb
                    break
    base = [i for i in dies if i not in host]
    stacks_of: dict[str, list[str]] = {i: [] for i in dies}
    for inst, _, die in arch.memory_instances():
        stacks_of[die].append(inst)

    s_max = max(side[i] for i in base)
    mem = 0.32 * s_max                                   # memory box side (schematic)
    gap = 0.8 * s_max                                    # room for link labels between cells
    cols = math.ceil(math.sqrt(len(base)))
    rows = math.ceil(len(base) / cols)
    per_side = max((math.ceil(len(stacks_of[i]) / 2) for i in base), default=0)
    cell_w = s_max + (2 * (mem + 0.08 * s_max) if per_side else 0) + gap
    cell_h = max(s_max, per_side * (mem * 1.1)) + gap

    fig = Figure(figsize=(max(6.0, 2.6 * cols + 1), max(4.5, 2.4 * rows + 2.2)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_aspect("equal")
    ax.axis("off")
    small = 7 if len(dies) <= 12 else 5
    centre: dict[str, tuple[float, float]] = {}

    for k, inst in enumerate(base):
        r, c = divmod(k, cols)
        cx, cy = c * cell_w + cell_w / 2, -(r * cell_h + cell_h / 2)
        centre[inst] = (cx, cy)
        s = side[inst]
        d = dies[inst]
        ax.add_patch(Rectangle((cx - s / 2, cy - s / 2), s, s, fc=_COLOURS[d.kind], ec="black", lw=1))
        label = inst + (f"\n{d.area_mm2:g} mm²" if d.area_mm2 else "")
        ax.text(cx, cy + s / 2 - 0.04 * s_max, label, ha="center", va="top", fontsize=small, color="white",
                weight="bold")
        # memory stacks: alternate right / left of the die, top to bottom
        stacks = stacks_of[inst]
        for j, st in enumerate(stacks):
            side_sign = 1 if j % 2 == 0 else -1
            row = j // 2
            n_rows = math.ceil(len(stacks) / 2) if side_sign > 0 else len(stacks) // 2
            y0 = cy + (n_rows - 1) * mem * 1.1 / 2 - row * mem * 1.1
            x0 = cx + side_sign * (s / 2 + 0.08 * s_max + mem / 2)
            ax.add_patch(Rectangle((x0 - mem / 2, y0 - mem / 2), mem, mem, fc=_COLOURS["memory"], ec="black",
                                   lw=0.8))
            node = g.nodes[st]
            ax.text(x0, y0, f"{st}\n{node['capacity_bytes'] / 1e9:g} GB", ha="center", va="center",
                    fontsize=small - 1, color="white")
            centre[st] = (x0, y0)

    # stacked dies inside their host, on a small grid
    guests: dict[str, list[str]] = {}
    for inst, h in host.items():
        guests.setdefault(h, []).append(inst)
    for h, gs in guests.items():
        hx, hy = centre[h]
        hs = side[h]
        n = math.ceil(math.sqrt(len(gs)))
        n_rows = math.ceil(len(gs) / n)
        slot = min(0.85 * hs / n, 0.65 * hs / n_rows)     # keep the top quarter for the host's label
        top = hy + 0.5 * hs - 0.3 * hs
        for k, inst in enumerate(gs):
            r, c = divmod(k, n)
            s = min(side[inst], 0.9 * slot)
            x = hx - slot * n / 2 + slot * (c + 0.5)
            y = top - slot * (r + 0.5)
            centre[inst] = (x, y)
            ax.add_patch(Rectangle((x - s / 2, y - s / 2), s, s, fc=_COLOURS[dies[inst].kind], ec="white",
                                   alpha=0.95, lw=0.8))
            ax.text(x, y, inst, ha="center", va="center", fontsize=small - 1, color="white")

    # links: a line per link except die-on-host (vertical) ones, which are listed below the package
    placed: list[tuple[float, float]] = []
    boxes = [(*centre[i], side[i]) for i in base] + [(*centre[st], mem) for i in base for st in stacks_of[i]]
    def through_box(pts, ends) -> bool:
        # does the polyline pass over a die box other than its own two ends?
        return any(abs(x - bx) < bs / 2 and abs(y - by) < bs / 2
                   for x, y in pts for (bx, by, bs), name in zip(boxes, box_names) if name not in ends)

    box_names = base + [st for i in base for st in stacks_of[i]]
    n_bent = 0
    for link in arch.all_links():
        a, b = link.endpoints
        if host.get(a) == b or host.get(b) == a:
            continue
        (xa, ya), (xb, yb) = centre[a], centre[b]
        ends = {a, b, host.get(a), host.get(b)} | set(stacks_of.get(a, [])) | set(stacks_of.get(b, []))
        line = [(xa + t * (xb - xa), ya + t * (yb - ya)) for t in [k / 40 for k in range(41)]]
        if through_box(line, ends):
            # bend the link around the dies in between (a quadratic curve bulging sideways), each
            # further bent link a little wider so that parallel ones stay apart
            n_bent += 1
            length = math.hypot(xb - xa, yb - ya) or 1.0
            nx_, ny_ = -(yb - ya) / length, (xb - xa) / length
            bulge = (0.9 + 0.35 * n_bent) * s_max * (1 if n_bent % 2 else -1)
            cx_, cy_ = (xa + xb) / 2 + nx_ * bulge, (ya + yb) / 2 + ny_ * bulge
            line = [((1 - t) ** 2 * xa + 2 * (1 - t) * t * cx_ + t ** 2 * xb,
                     (1 - t) ** 2 * ya + 2 * (1 - t) * t * cy_ + t ** 2 * yb) for t in [k / 40 for k in range(41)]]
        ax.plot([p[0] for p in line], [p[1] for p in line], color="#333333",
                lw=1.0 + min(3.0, link.bandwidth_gb_s / 1000), zorder=0.5, alpha=0.7)
        # label mid-way unless a box or another label is there (crossing diagonals)
        for k in (20, 14, 26, 10, 30, 6, 34, 20):          # last resort: the middle
            lx, ly = line[k]
            inside = any(abs(lx - bx) < bs / 2 and abs(ly - by) < bs / 2 for bx, by, bs in boxes)
            if not inside and all(math.hypot(lx - px, ly - py) > 0.3 * s_max for px, py in placed):
                break
        placed.append((lx, ly))
        ax.text(lx, ly, f"{_bw(link.bandwidth_gb_s)}\n{link.kind}", ha="center",
                va="center", fontsize=small - 1,
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85))
    vertical = [l for l in arch.all_links() if host.get(l.endpoints[0]) == l.endpoints[1]
                or host.get(l.endpoints[1]) == l.endpoints[0]]

    width, height = cols * cell_w, rows * cell_h
    ax.add_patch(Rectangle((0, -height), width, height, fc="none", ec="#888888", ls="--", lw=1))
    notes = []
    if vertical:
        bws = sorted({l.bandwidth_gb_s for l in vertical})
        notes.append(f"3D links (stacked die to host): {len(vertical)} x {', '.join(_bw(b) for b in bws)} "
                     f"({vertical[0].kind})")
    for key in ("scale_up", "scale_out"):
        p = getattr(arch, key)
        if p is not None:
            notes.append(f"{key.replace('_', '-')}: {p.kind}, {_bw(p.bandwidth_gb_s)} per direction, "
                         f"domain {p.domain_size}")
    if arch.memory:
        notes.append(f"memory: {arch.memory_capacity_bytes / 1e9:,.0f} GB, "
                     f"{arch.memory_bandwidth_bytes_per_s / 1e12:.2f} TB/s")
    for k, text in enumerate(notes):
        ax.text(0, -height - 0.12 * s_max - k * 0.16 * s_max, text, ha="left", va="top", fontsize=small + 1)
    peaks = ", ".join(f"{f} {arch.peak_flops(f) / 1e12:,.0f} TF" for f in arch.supported_formats()[:4])
    ax.set_title(f"{arch.name} — {arch.technology.name}" + (f"\n{peaks}" if peaks else ""), fontsize=10)
    ax.set_xlim(-0.05 * width, width * 1.05)
    ax.set_ylim(-height - (0.3 + 0.16 * len(notes)) * s_max, 0.1 * s_max)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi, format=path.suffix.lower().lstrip("."))
    return path
