"""Draw a chiplet package with matplotlib: dies as boxes scaled by area, memory stacks, labelled links.

`draw_package(arch, path)` writes a PNG, SVG or PDF (chosen by the file suffix) and returns the path;
`chipletarch show ARCH --png/--svg PATH` calls it. The picture is a schematic, not a floor plan:

- Dies are boxes whose side is sqrt(area) (mm, true scale). A die without a published area gets a
  nominal size (enough for the dies stacked on it, else the median known area, else 400 mm^2) and a
  dashed outline with "area n/p".
- Dies that sit on the package are laid out on a grid: the rows of a `mesh` topology when one covers
  them all (Simba's 6 x 6); a star (one die linked to all others, e.g. an I/O hub) with the hub in the
  middle; else one row for up to three dies and a near-square row-major grid beyond.
- 3D-stacked dies (`stacked: true`, or a die whose only links are `ucie-3d` bonds to one partner) are
  drawn on top of their host, offset with a shadow; their bonds are summarised in the legend.
- Memory stacks are boxes of a nominal 11 x 10 mm footprint (the spec has no stack area) on the
  outward edges of the die they attach to, with a short stub to it.
- Die-to-die links are lines labelled with their bandwidth in each direction (and kind); beyond
  `AGGREGATE_LINKS` lateral links the lines stay and the labels become one legend entry per
  (kind, bandwidth) group.
- Title: package name, technology and TDP; footer: peak dense throughput, memory, off-package ports.

Matplotlib's object API with the Agg canvas is used (no pyplot state), so drawing is safe in tests,
servers and threads without a display. SVG keeps text as <text> elements (svg.fonttype none).
"""
from __future__ import annotations

import math
import textwrap
from collections import Counter, defaultdict
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch, Patch, Rectangle

from ..errors import SpecError

__all__ = ["draw_package", "AGGREGATE_LINKS", "DIE_COLOURS", "MEMORY_COLOUR"]

AGGREGATE_LINKS = 12                 # more lateral links than this: one legend label per group
DIE_COLOURS = {"compute": "#2F5D9E", "io": "#C8742E", "sram": "#2E8A5E", "memory-controller": "#6E57A8"}
MEMORY_COLOUR = "#A23B45"
_LINK_COLOURS = ["#1B7F79", "#5B3C88", "#B5651D", "#3D5A80", "#7A7A7A"]
_SUBSTRATE = ("#EEF0E4", "#9AA08A")  # fill, edge
_INTERPOSER = ("#DCE2EA", "#8A96A8")
_HBM_W, _HBM_D, _HBM_GAP = 11.0, 10.0, 1.2   # nominal stack footprint along / across the die edge, gap (mm)
_FORMATS = {".png", ".svg", ".pdf"}
_FIG_W = 10.0                        # inches
_PEAK_ORDER = ["fp32", "tf32", "bf16", "fp16", "fp8_e4m3", "mxfp8_e4m3", "mxfp6_e3m2", "mxfp4_e2m1", "nvfp4",
               "int8", "int4"]
_SHORT = {"fp8_e4m3": "FP8", "fp8_e5m2": "FP8 E5M2", "mxfp8_e4m3": "MXFP8", "mxfp6_e3m2": "MXFP6",
          "mxfp4_e2m1": "MXFP4", "nvfp4": "NVFP4", "bf16": "BF16", "fp16": "FP16", "tf32": "TF32", "fp32": "FP32",
          "int8": "INT8", "int4": "INT4"}


def _bw(gb_s: float) -> str:
    if gb_s >= 1000:
        return f"{gb_s / 1000:.3g} TB/s"
    return f"{gb_s:.3g} GB/s"


def _num(x: float) -> str:
    return f"{x:,.0f}" if x >= 1000 else f"{x:.4g}"


# ----------------------------------------------------------------------------------------------
# layout (all in mm, y up; rows of the grid go downwards)

def _hosts(arch, links) -> dict[str, str]:
    """{stacked die instance: host die instance}."""
    dies = dict(arch.die_instances())
    partners: dict[str, set[str]] = defaultdict(set)
    kinds: dict[str, set[str]] = defaultdict(set)
    for link in links:
        a, b = link.endpoints
        partners[a].add(b)
        partners[b].add(a)
        kinds[a].add(link.kind)
        kinds[b].add(link.kind)
    host: dict[str, str] = {}
    for inst, d in dies.items():
        flagged = getattr(d, "stacked", False)
        bonded_only = kinds.get(inst) == {"ucie-3d"} and len(partners[inst]) == 1
        if not (flagged or bonded_only):
            continue
        cands = [p for p in partners[inst] if not getattr(dies[p], "stacked", False)]
        three_d = [p for p in cands if any(set(l.endpoints) == {inst, p} and l.kind == "ucie-3d" for l in links)]
        pick = (three_d or cands or [None])[0]
        if pick is None:
            continue
        if pick in host and host[pick] == inst:          # two dies bonded only to each other: smaller on top
            if (d.area_mm2 or 0) >= (dies[pick].area_mm2 or 0):
                continue
            del host[pick]
        host[inst] = pick
    return host


def _grid(arch, floor: list[str]) -> tuple[int, int, dict[str, tuple[int, int]]]:
    """(rows, cols, {die: (row, col)}) for the dies that sit on the package."""
    for t in arch.topology:
        if t.kind == "mesh" and t.rows:
            names = arch.resolve_dies(t.dies)
            if sorted(names) == sorted(floor):
                cols = len(names) // t.rows
                return t.rows, cols, {n: divmod(k, cols) for k, n in enumerate(names)}
    # a star (one die linked to every other, the others only to it): the hub in the middle
    degree = Counter()
    for link in arch.all_links():
        a, b = link.endpoints
        if a in floor and b in floor:
            degree[a] += 1
            degree[b] += 1
    if len(floor) >= 4:
        hubs = [d for d in floor if degree[d] == len(floor) - 1]
        if len(hubs) == 1 and all(degree[d] == 1 for d in floor if d != hubs[0]):
            hub = hubs[0]
            spokes = [d for d in floor if d != hub]
            k = 3
            while k * k < len(spokes) + 1:
                k += 2
            mid = k // 2
            ring = sorted(((r, c) for r in range(k) for c in range(k) if (r, c) != (mid, mid)),
                          key=lambda rc: (max(abs(rc[0] - mid), abs(rc[1] - mid)),      # inner rings first
                                          abs(rc[0] - mid) + abs(rc[1] - mid),          # edge centres first
                                          rc))
            cells = {hub: (mid, mid)}
            cells.update(zip(spokes, sorted(ring[:len(spokes)])))
            return k, k, cells
    n = len(floor)
    if n <= 3:
        return 1, n, {d: (0, k) for k, d in enumerate(floor)}
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols, {d: divmod(k, cols) for k, d in enumerate(floor)}


def _edge_plan(r: int, c: int, rows: int, cols: int) -> list[tuple[str, ...]]:
    """Edges of a grid cell that face outwards, in groups, preferred group first."""
    horiz = tuple(e for e, ok in (("L", c == 0), ("R", c == cols - 1)) if ok)
    vert = tuple(e for e, ok in (("T", r == 0), ("B", r == rows - 1)) if ok)
    if rows == 1 and cols > 1:
        plan = [vert, horiz]
    else:
        plan = [horiz, vert]
    plan = [g for g in plan if g]
    return plan or [("L", "R", "T", "B")]


class _Layout:
    def __init__(self, arch):
        self.arch = arch
        self.links = arch.all_links()
        self.dies = dict(arch.die_instances())
        self.host = _hosts(arch, self.links)
        floor = [i for i in self.dies if i not in self.host]
        self.guests: dict[str, list[str]] = defaultdict(list)
        for g, h in self.host.items():
            self.guests[h].append(g)
        self.stacks: dict[str, list[tuple[str, object]]] = defaultdict(list)
        for inst, s, die in arch.memory_instances():
            self.stacks[self.host.get(die, die)].append((inst, s))   # a stacked die's memory: beside its host

        known = sorted(d.area_mm2 for i, d in self.dies.items() if d.area_mm2 and i in floor)
        median = known[len(known) // 2] if known else 400.0
        self.nominal: set[str] = set()
        self.side: dict[str, float] = {}
        for i in floor:
            d = self.dies[i]
            if d.area_mm2:
                self.side[i] = math.sqrt(d.area_mm2)
            else:
                self.nominal.add(i)
                g_area = sum(self.dies[g].area_mm2 or 0 for g in self.guests.get(i, []))
                self.side[i] = math.sqrt(1.3 * g_area) if g_area else math.sqrt(median)
        self.rows, self.cols, self.cell = _grid(arch, floor)
        order = list(self.cell)
        self.s_max = max(self.side.values())

        # memory stacks -> edges
        pitch = _HBM_W + 0.8
        cap = max(1, int(1.25 * self.s_max / pitch))
        self.mem_edges: dict[str, dict[str, list[tuple[str, object]]]] = {}
        for inst in order:
            edges: dict[str, list] = {e: [] for e in "LRTB"}
            todo = list(self.stacks.get(inst, []))
            for group in _edge_plan(*self.cell[inst], self.rows, self.cols):
                k = min(len(todo), cap * len(group))            # contiguous, balanced slices per edge
                for j, e in enumerate(group):
                    n = k // len(group) + (1 if j < k % len(group) else 0)
                    edges[e].extend(todo[:n])
                    todo = todo[n:]
            for k, item in enumerate(todo):                     # more stacks than room: wrap round
                edges["LRTB"[k % 4]].append(item)
            self.mem_edges[inst] = edges

        # grid geometry: per column left/right memory margins, per row top/bottom margins
        depth = _HBM_D + _HBM_GAP
        gap = 0.45 * self.s_max
        col_w = [max((self.side[i] for i, (r, c) in self.cell.items() if c == k), default=0) for k in range(self.cols)]
        row_h = [max((self.side[i] for i, (r, c) in self.cell.items() if r == k), default=0) for k in range(self.rows)]

        def uses(edge, **where):
            return any(self.mem_edges[i][edge] for i, rc in self.cell.items()
                       if all(rc[0 if k == "r" else 1] == v for k, v in where.items()))

        self.centre: dict[str, tuple[float, float]] = {}
        xs, x = [], 0.0
        for k in range(self.cols):
            x += depth if uses("L", c=k) else 0.0
            xs.append(x + col_w[k] / 2)
            x += col_w[k] + (depth if uses("R", c=k) else 0.0) + gap
        ys, y = [], 0.0
        for k in range(self.rows):
            y -= depth if uses("T", r=k) else 0.0
            ys.append(y - row_h[k] / 2)
            y -= row_h[k] + (depth if uses("B", r=k) else 0.0) + gap
        for inst, (r, c) in self.cell.items():
            self.centre[inst] = (xs[c], ys[r])

        # memory stack boxes: (x0, y0, w, h) and stub from the die edge
        self.mem_boxes: dict[str, tuple[float, float, float, float]] = {}
        self.mem_stub: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {}
        for inst, edges in self.mem_edges.items():
            cx, cy = self.centre[inst]
            h = self.side[inst] / 2
            for e, items in edges.items():
                n = len(items)
                for j, (name, _s) in enumerate(items):
                    off = (j - (n - 1) / 2) * pitch
                    if e in "LR":
                        sign = -1 if e == "L" else 1
                        bx = cx + sign * (h + _HBM_GAP + _HBM_D / 2)
                        by = cy - off
                        self.mem_boxes[name] = (bx - _HBM_D / 2, by - _HBM_W / 2, _HBM_D, _HBM_W)
                        self.mem_stub[name] = ((cx + sign * h, by), (bx - sign * _HBM_D / 2, by))
                    else:
                        sign = 1 if e == "T" else -1
                        bx = cx + off
                        by = cy + sign * (h + _HBM_GAP + _HBM_D / 2)
                        self.mem_boxes[name] = (bx - _HBM_W / 2, by - _HBM_D / 2, _HBM_W, _HBM_D)
                        self.mem_stub[name] = ((bx, cy + sign * h), (bx, by - sign * _HBM_D / 2))

        # stacked dies inside their host: a sub-grid below the host's label band
        self.guest_box: dict[str, tuple[float, float, float, float]] = {}
        for hst, gs in self.guests.items():
            if not gs:
                continue
            hx, hy = self.centre[hst]
            hs = self.side[hst]
            n = len(gs)
            gc = 2 if n == 2 else math.ceil(math.sqrt(n))
            gr = math.ceil(n / gc)
            top, bottom = hy + hs / 2 - 0.24 * hs, hy - hs / 2 + 0.05 * hs
            sw, sh = 0.9 * hs / gc, (top - bottom) / gr
            for k, g in enumerate(gs):
                r, c = divmod(k, gc)
                area = self.dies[g].area_mm2 or (sw * sh * 0.7)
                w = min(0.9 * sw, math.sqrt(area))
                hgt = min(0.9 * sh, area / w)
                gx = hx - 0.45 * hs + sw * (c + 0.5)
                gy = top - sh * (r + 0.5)
                self.guest_box[g] = (gx - w / 2, gy - hgt / 2, w, hgt)
                self.centre[g] = (gx, gy)

        # extents of everything drawn
        boxes = [(self.centre[i][0] - self.side[i] / 2, self.centre[i][1] - self.side[i] / 2, self.side[i],
                  self.side[i]) for i in self.side] + list(self.mem_boxes.values())
        self.x0 = min(b[0] for b in boxes)
        self.y0 = min(b[1] for b in boxes)
        self.x1 = max(b[0] + b[2] for b in boxes)
        self.y1 = max(b[1] + b[3] for b in boxes)

    def box_of(self, inst: str) -> tuple[float, float, float, float]:
        if inst in self.guest_box:
            return self.guest_box[inst]
        cx, cy = self.centre[inst]
        s = self.side[inst]
        return cx - s / 2, cy - s / 2, s, s


def _clip_to_box(p, q, box) -> tuple[float, float]:
    """Point where segment p->q leaves axis-aligned `box` (x0, y0, w, h) that contains p."""
    x0, y0, w, h = box
    (px, py), (qx, qy) = p, q
    t = 1.0
    for lo, hi, a, b in ((x0, x0 + w, px, qx), (y0, y0 + h, py, qy)):
        d = b - a
        if d > 0:
            t = min(t, (hi - a) / d)
        elif d < 0:
            t = min(t, (lo - a) / d)
    return px + t * (qx - px), py + t * (qy - py)


def _hits(p, q, box, inset: float = 0.0) -> bool:
    """Does segment p-q pass through box (x0, y0, w, h) shrunk by `inset` on every side? (Liang-Barsky)"""
    x0, y0, w, h = box[0] + inset, box[1] + inset, box[2] - 2 * inset, box[3] - 2 * inset
    (px, py), (qx, qy) = p, q
    t0, t1 = 0.0, 1.0
    for d, lo, hi, a in ((qx - px, x0, x0 + w, px), (qy - py, y0, y0 + h, py)):
        if abs(d) < 1e-12:
            if a < lo or a > hi:
                return False
            continue
        ta, tb = sorted(((lo - a) / d, (hi - a) / d))
        t0, t1 = max(t0, ta), min(t1, tb)
        if t0 > t1:
            return False
    return True


def _route(pa, pb, obstacles, s_max, n_bent: int) -> list[tuple[float, float]]:
    """A straight segment, or a quadratic curve bulging sideways around the boxes in between."""
    def clear(pts):
        return not any(_hits(u, v, box, inset=0.02 * s_max) for u, v in zip(pts, pts[1:]) for box in obstacles)

    straight = [pa, pb]
    if clear(straight):
        return straight
    length = math.hypot(pb[0] - pa[0], pb[1] - pa[1]) or 1.0
    nx_, ny_ = -(pb[1] - pa[1]) / length, (pb[0] - pa[0]) / length
    sign = 1 if n_bent % 2 == 0 else -1
    best = None
    for k in range(12):
        for sg in (sign, -sign):
            bulge = sg * (0.6 + 0.3 * k + 0.15 * n_bent) * s_max
            cx, cy = (pa[0] + pb[0]) / 2 + nx_ * bulge, (pa[1] + pb[1]) / 2 + ny_ * bulge
            pts = [((1 - t) ** 2 * pa[0] + 2 * (1 - t) * t * cx + t ** 2 * pb[0],
                    (1 - t) ** 2 * pa[1] + 2 * (1 - t) * t * cy + t ** 2 * pb[1]) for t in (j / 48 for j in range(49))]
            if best is None:
                best = pts
            if clear(pts):
                return pts
    return best


# ----------------------------------------------------------------------------------------------

def draw_package(arch, path, *, dpi: int = 150) -> Path:
    """Draw `arch` to `path` (.png, .svg or .pdf, by suffix) and return the path."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _FORMATS:
        raise SpecError(f"cannot draw to '{path}': use a .png, .svg or .pdf file name")
    L = _Layout(arch)

    # package outlines around everything drawn
    span = max(L.x1 - L.x0, L.y1 - L.y0)
    pad_i = 0.04 * span
    inter = (L.x0 - pad_i, L.y0 - pad_i, L.x1 - L.x0 + 2 * pad_i, L.y1 - L.y0 + 2 * pad_i)
    pad_s = 0.06 * span
    sub = (inter[0] - pad_s, inter[1] - pad_s, inter[2] + 2 * pad_s, inter[3] + 2 * pad_s)
    ext_w, ext_h = sub[2], sub[3]

    lateral = [l for l in L.links if L.host.get(l.endpoints[0]) != l.endpoints[1]
               and L.host.get(l.endpoints[1]) != l.endpoints[0]]
    bonds = [l for l in L.links if l not in lateral]
    aggregate = len(lateral) > AGGREGATE_LINKS
    link_kinds = list(dict.fromkeys(l.kind for l in lateral))
    link_colour = {k: _LINK_COLOURS[i % len(_LINK_COLOURS)] for i, k in enumerate(link_kinds)}

    footer = _footer_lines(arch, L, bonds)
    legend_rows = 1
    title_in, footer_in = 0.95, 0.28 + 0.2 * len(footer) + 0.32 * legend_rows
    ax_w_in = _FIG_W * 0.94
    ax_h_in = min(ax_w_in * ext_h / ext_w, 9.0)
    if ax_h_in < ax_w_in * ext_h / ext_w:             # tall package: height bounds the scale
        ax_w_in = ax_h_in * ext_w / ext_h
    fig_h = ax_h_in + title_in + footer_in
    fig = Figure(figsize=(_FIG_W, fig_h))
    FigureCanvasAgg(fig)
    ax = fig.add_axes([(1 - ax_w_in / _FIG_W) / 2, footer_in / fig_h, ax_w_in / _FIG_W, ax_h_in / fig_h])
    ax.set_xlim(sub[0], sub[0] + ext_w)
    ax.set_ylim(sub[1], sub[1] + ext_h)
    ax.set_aspect("equal")
    ax.axis("off")
    pt_per_mm = ax_w_in * 72 / ext_w

    def fit(text_lines: list[str], w_mm: float, h_mm: float, hi: float = 9.5, lo: float = 4.0) -> float:
        """Font size (pt) so the lines fit a box; 0 if even `lo` does not."""
        chars = max(len(t) for t in text_lines)
        fs = min(hi, 0.85 * w_mm * pt_per_mm / (0.6 * chars), 0.8 * h_mm * pt_per_mm / (1.25 * len(text_lines)))
        return fs if fs >= lo else 0.0

    # substrate and interposer
    tech = arch.technology
    ax.add_patch(FancyBboxPatch(sub[:2], sub[2], sub[3], boxstyle=f"round,pad=0,rounding_size={0.03 * span}",
                                fc=_SUBSTRATE[0], ec=_SUBSTRATE[1], lw=1.2, zorder=0))
    if tech.has_interposer:
        ax.add_patch(Rectangle(inter[:2], inter[2], inter[3], fc=_INTERPOSER[0], ec=_INTERPOSER[1], lw=1.0,
                               zorder=0.2))
    carrier = {"silicon-interposer": "silicon interposer", "3d-hybrid-bonding": "silicon interposer + 3D stacks",
               "bridge": "RDL interposer with bridges", "organic-substrate": "organic substrate",
               "monolithic": "substrate", "wafer-scale": "wafer"}.get(tech.name, tech.name)
    ax.text(sub[0] + sub[2] - 0.015 * span, sub[1] + 0.015 * span, carrier, ha="right", va="bottom",
            fontsize=7.5, color="#5A6050", style="italic", zorder=0.3)

    # links under the dies
    lw_of = lambda bw: max(0.8, min(5.0, 0.6 + 1.5 * math.log10(max(bw, 10) / 10)))
    labels = []
    floor_boxes = {i: L.box_of(i) for i in L.side}
    n_bent = 0
    for link in lateral:
        a, b = link.endpoints
        ha_, hb_ = L.host.get(a, a), L.host.get(b, b)
        obstacles = [bx for i, bx in floor_boxes.items() if i not in (ha_, hb_)] + list(L.mem_boxes.values())
        pa, pb = L.centre[a], L.centre[b]
        pts = _route(pa, pb, obstacles, L.s_max, n_bent)
        n_bent += len(pts) > 2
        ax.add_line(Line2D([p[0] for p in pts], [p[1] for p in pts], color=link_colour[link.kind],
                           lw=lw_of(link.bandwidth_gb_s) * (0.6 if aggregate else 1.0), alpha=0.9,
                           solid_capstyle="butt", zorder=0.8))
        if not aggregate:
            if len(pts) == 2:                                # the visible part, between the two boxes
                ea = _clip_to_box(pa, pb, L.box_of(a))
                eb = _clip_to_box(pb, pa, L.box_of(b))
                pts = [(ea[0] + t * (eb[0] - ea[0]), ea[1] + t * (eb[1] - ea[1])) for t in (j / 48 for j in range(49))]
            labels.append((pts, link))
    placed: list[tuple[float, float]] = []
    all_boxes = list(floor_boxes.values()) + list(L.mem_boxes.values()) + list(L.guest_box.values())
    lab_w, lab_h = 0.05 * span, 0.025 * span               # half extents kept clear of boxes and labels
    for pts, link in labels:
        def ok(pt):
            x, y = pt
            free = not any(b[0] - lab_w < x < b[0] + b[2] + lab_w and b[1] - lab_h < y < b[1] + b[3] + lab_h
                           for b in all_boxes)
            return free and all(abs(x - px) > 2 * lab_w or abs(y - py) > 2 * lab_h for px, py in placed)
        n = len(pts) - 1
        order = [n // 2, n * 3 // 8, n * 5 // 8, n // 4, n * 3 // 4, n // 8, n * 7 // 8]
        cands = [pts[k] for k in order]
        x, y = next((c for c in cands if ok(c)), None) or next(
            (c for c in cands if all(abs(c[0] - px) > 2 * lab_w or abs(c[1] - py) > 2 * lab_h for px, py in placed)),
            cands[0])
        placed.append((x, y))
        lines = [_bw(link.bandwidth_gb_s)]               # the kind is in the legend, by colour
        fs = max(fit(lines, 0.5 * L.s_max, 0.3 * L.s_max, hi=9.0, lo=6.0), 6.0)
        ax.text(x, y, "\n".join(lines), ha="center", va="center", fontsize=fs, zorder=5,
                color="#1E1E1E", linespacing=1.1,
                bbox=dict(boxstyle="round,pad=0.25", fc="white", ec=link_colour[link.kind], lw=0.8, alpha=0.95))

    # dies on the package
    for inst, s in L.side.items():
        d = L.dies[inst]
        x0, y0, w, h = L.box_of(inst)
        dashed = inst in L.nominal
        ax.add_patch(Rectangle((x0, y0), w, h, fc=DIE_COLOURS.get(d.kind, "#555555"), ec="#101820",
                               lw=1.0, ls="--" if dashed else "-", zorder=2))
        area = "area n/p" if dashed else f"{d.area_mm2:g} mm²"
        proc = d.process.name if d.process else ""
        detail = " · ".join(t for t in (proc, area) if t)
        cores = _cores(d) or d.kind + " die"
        if L.guests.get(inst):
            lines = [inst, detail]
            band = 0.22 * h
            fs = fit(lines, w, band * 1.6, hi=9.0)
            if fs:
                ax.text(x0 + w / 2, y0 + h - 0.03 * h, "\n".join(lines), ha="center", va="top", fontsize=fs,
                        color="white", weight="bold", linespacing=1.1, zorder=3)
        else:
            for lines in ([inst, detail, cores], [inst, detail], [inst], [inst.replace(d.name, "")]):
                fs = fit(lines, w, h, hi=10.0)
                if fs:
                    ax.text(x0 + w / 2, y0 + h / 2, "\n".join(lines), ha="center", va="center", fontsize=fs,
                            color="white", weight="bold", linespacing=1.15, zorder=3)
                    break

    # stacked dies: shadow, box, label
    for g, (x0, y0, w, h) in L.guest_box.items():
        d = L.dies[g]
        off = 0.012 * L.s_max
        ax.add_patch(Rectangle((x0 + off, y0 - off), w, h, fc="#000000", alpha=0.35, lw=0, zorder=3.5))
        ax.add_patch(Rectangle((x0, y0), w, h, fc=DIE_COLOURS.get(d.kind, "#555555"), ec="white", lw=0.9,
                               zorder=4))
        cores = _cores(d)
        for lines in ([g, cores, f"{d.area_mm2:g} mm²" if d.area_mm2 else ""], [g, cores], [g]):
            lines = [t for t in lines if t]
            fs = fit(lines, w, h, hi=8.0)
            if fs:
                ax.text(x0 + w / 2, y0 + h / 2, "\n".join(lines), ha="center", va="center", fontsize=fs,
                        color="white", linespacing=1.1, zorder=4.5)
                break

    # memory stacks
    for inst, edges in L.mem_edges.items():
        for items in edges.values():
            for name, s in items:
                x0, y0, w, h = L.mem_boxes[name]
                (sx, sy), (ex, ey) = L.mem_stub[name]
                ax.add_line(Line2D([sx, ex], [sy, ey], color="#6B2A31", lw=1.6, zorder=1.5))
                ax.add_patch(Rectangle((x0, y0), w, h, fc=MEMORY_COLOUR, ec="#4A1C22", lw=0.8, zorder=2))
                lines = [name, f"{s.capacity_gb:.3g} GB"]
                fs = fit(lines, w, h, hi=7.5)
                if fs:
                    ax.text(x0 + w / 2, y0 + h / 2, "\n".join(lines), ha="center", va="center", fontsize=fs,
                            color="white", linespacing=1.1, zorder=3)

    # title
    tdp = f"TDP {arch.tdp_w:,.0f} W" if arch.tdp_w else "TDP n/p"
    fig.text(0.5, 1 - 0.32 / fig_h, f"{arch.name}  —  {tech.name}, {tdp}", ha="center", va="center",
             fontsize=14, weight="bold", color="#101820")
    if arch.description:
        fig.text(0.5, 1 - 0.68 / fig_h, textwrap.shorten(arch.description, 130), ha="center", va="center",
                 fontsize=8.5, color="#444444")

    # legend: die kinds, memory, link groups
    handles = [Patch(fc=DIE_COLOURS[k], ec="#101820", label=f"{k} die")
               for k in DIE_COLOURS if any(d.kind == k for d in L.dies.values())]
    gens = sorted({s.generation.name.upper() for s in arch.memory})
    if gens:
        handles.append(Patch(fc=MEMORY_COLOUR, ec="#4A1C22", label=f"{'/'.join(gens)} stack"))
    groups = Counter((l.kind, l.bandwidth_gb_s) for l in lateral)
    for (kind, bw), n in groups.items():
        names = {l.name for l in lateral if (l.kind, l.bandwidth_gb_s) == (kind, bw)}
        what = f"{names.pop()} ({kind})" if n == 1 and None not in names and kind == "custom" else kind
        label = f"{n} × {what}, {_bw(bw)}/dir" if n > 1 else f"{what}, {_bw(bw)}/dir"
        handles.append(Line2D([], [], color=link_colour[kind], lw=lw_of(bw) * (0.6 if aggregate else 1.0),
                              label=label))
    if len(handles) > 7:                                  # keep the legend to two rows
        handles = handles[:7]
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, (0.2 * len(footer) + 0.08) / fig_h),
               ncol=len(handles) if len(handles) <= 5 else math.ceil(len(handles) / 2), fontsize=7.5, frameon=False, handlelength=2.2, columnspacing=1.6)
    for k, text in enumerate(footer):
        fig.text(0.04, (0.1 + 0.2 * (len(footer) - 1 - k)) / fig_h, text, ha="left", va="bottom", fontsize=8,
                 color="#222222")

    rc = {"svg.fonttype": "none"} if suffix == ".svg" else {}
    with matplotlib.rc_context(rc):
        fig.savefig(path, dpi=dpi, format=suffix.lstrip("."), facecolor="white",
                    metadata={"Title": f"{arch.name} package"} if suffix in (".svg", ".pdf") else None)
    return path


def _cores(d) -> str:
    """'132 cores', or '8 × 128×128 systolic' for a systolic matrix engine; '' for a die without cores."""
    if not hasattr(d, "cores"):
        return ""
    sa = d.core.systolic
    return f"{d.cores} × {sa.rows}×{sa.cols} systolic" if sa else f"{d.cores} cores"


def _footer_lines(arch, L, bonds) -> list[str]:
    out = []
    fmts = arch.supported_formats()
    shown, seen_rates = [], set()
    for f in _PEAK_ORDER:
        if f in fmts:
            shown.append(f"{_SHORT.get(f, f)} {_num(arch.peak_flops(f) / 1e12)}")
    if shown:
        unit = "TFLOPS; INT: TOPS" if any(s.startswith("INT") for s in shown) else "TFLOPS"
        out.append(f"Peak dense ({unit}):  " + "  ·  ".join(shown[:7]))
    if arch.memory:
        parts = [f"{s.count} × {s.generation.name.upper()} {s.capacity_gb:.3g} GB, {_bw(s.bandwidth_gb_s)}"
                 for s in arch.memory]
        out.append(f"Memory:  {'; '.join(parts)}  =  {arch.memory_capacity_bytes / 1e9:,.0f} GB, "
                   f"{arch.memory_bandwidth_bytes_per_s / 1e12:.2f} TB/s")
    else:
        sram = sum(d.sram_bytes + d.cache_bytes for _, d in arch.compute_die_instances())
        out.append("Memory:  no DRAM on package" + (f" (on-chip SRAM {sram / 2**20:,.1f} MiB)" if sram else ""))
    if bonds:
        kinds = Counter((l.kind, l.bandwidth_gb_s) for l in bonds)
        out.append("3D bonds (stacked die to host):  " + "; ".join(f"{n} × {k} {_bw(b)}/dir"
                                                                    for (k, b), n in kinds.items()))
    ports = [f"{k.replace('_', '-')} {p.kind} {_bw(p.bandwidth_gb_s)}/dir"
             + (f" (domain {p.domain_size})" if p.domain_size > 1 else "")
             for k in ("scale_up", "scale_out") if (p := getattr(arch, k)) is not None]
    if ports:
        out.append("Off-package:  " + "  ·  ".join(ports))
    return out
