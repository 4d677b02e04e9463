"""`chipletarch show --png/--svg` draws the package (chipletarch.arch.drawing.draw_package).

Checked: files are real PNG/SVG/PDF of non-trivial size; the die region of the PNG holds die and
memory-stack pixels; SVG text names the package (title with technology and TDP), dies, stacks and
link bandwidths; the layout puts stacked dies inside their host, memory stacks beside (never on) the
die they attach to, and no two boxes on the package overlap; very many links get one aggregate label.
"""
import re
from pathlib import Path

import numpy as np
import pytest

from chipletarch.arch import list_architectures, load_architecture
from chipletarch.arch.drawing import AGGREGATE_LINKS, DIE_COLOURS, MEMORY_COLOUR, _Layout, draw_package
from chipletarch.cli import main
from chipletarch.errors import SpecError

DATA = Path(__file__).parent / "data" / "arch"


def _rgb(hex_colour):
    return np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])


def _colour_mask(img, hex_colour, tol=0.02):
    return np.all(np.abs(img[..., :3] - _rgb(hex_colour)) < tol, axis=-1)


def _texts(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


def test_png_and_svg_via_cli(tmp_path, capsys):
    png, svg = tmp_path / "h100.png", tmp_path / "h100.svg"
    assert main(["show", "h100-sxm", "--png", str(png), "--svg", str(svg)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    out = capsys.readouterr().out
    assert f"wrote {png}" in out and f"wrote {svg}" in out


@pytest.mark.parametrize("name", list_architectures())
def test_png_has_dies_in_the_die_region(name, tmp_path):
    import matplotlib.image as mpimg
    a = load_architecture(name)
    path = draw_package(a, tmp_path / f"{name}.png")
    assert path.stat().st_size > 20_000                      # a real picture, not an empty canvas
    img = mpimg.imread(path)
    h, w = img.shape[:2]
    assert w >= 1200 and h >= 900
    die = np.zeros((h, w), bool)
    for d in {d.kind for _, d in a.die_instances()}:
        die |= _colour_mask(img, DIE_COLOURS[d])
    assert die.mean() > 0.02, "no die pixels"
    # the dies sit inside the picture, under the title and above the footer (rows / columns with more
    # than 3 % die pixels: the legend's small colour patch does not count)
    ys = np.nonzero(die.sum(axis=1) > 0.03 * w)[0]
    xs = np.nonzero(die.sum(axis=0) > 0.03 * h)[0]
    assert len(ys) and len(xs)
    assert 0.03 * w < xs.min() and xs.max() < 0.97 * w
    assert 0.06 * h < ys.min() and ys.max() < 0.9 * h
    mem = _colour_mask(img, MEMORY_COLOUR)
    if a.memory:
        assert mem.mean() > 0.005, "no memory-stack pixels"
    else:
        assert not mem.any()


@pytest.mark.parametrize("name", list_architectures())
def test_svg_title_names_package_technology_tdp(name, tmp_path):
    a = load_architecture(name)
    texts = _texts(draw_package(a, tmp_path / f"{name}.svg").read_text())
    title = next(t for t in texts if t.startswith(a.name))
    assert a.technology.name in title
    assert (f"TDP {a.tdp_w:,.0f} W" if a.tdp_w else "TDP n/p") in title


def test_svg_names_dies_stacks_and_links(tmp_path):
    text = draw_package(load_architecture(DATA / "xcd_iod.yaml"), tmp_path / "p.svg").read_text()
    joined = "\n".join(_texts(text))
    for name in ["iod0", "iod3", "xcd0", "xcd7", "hbm0", "hbm7"]:
        assert name in joined
    assert _texts(text).count("1 TB/s") == 6                 # all-to-all of 4 IODs, 1000 GB/s each way
    assert "8 × ucie-3d 2 TB/s/dir" in joined                 # stacked XCDs: bonds summarised
    assert "192 GB, 4.80 TB/s" in joined


def test_b200_labels_and_pdf(tmp_path):
    a = load_architecture("b200")
    texts = _texts(draw_package(a, tmp_path / "b.svg").read_text())
    assert "5 TB/s" in texts                                  # NV-HBI, each way
    assert any("BF16 2,250" in t and "MXFP4 9,000" in t for t in texts)
    assert draw_package(a, tmp_path / "b.pdf").read_bytes()[:5] == b"%PDF-"


def test_simba_mesh_gets_one_aggregate_label(tmp_path):
    a = load_architecture("simba")
    assert len(a.all_links()) > AGGREGATE_LINKS
    texts = _texts(draw_package(a, tmp_path / "s.svg").read_text())
    assert "25 GB/s" not in texts                             # no per-link labels
    assert "60 × custom, 25 GB/s/dir" in texts
    assert sum(t.startswith("chiplet") for t in texts) == 36


def test_every_link_labelled_in_a_dense_all_to_all(tmp_path):
    # 5 dies on a 3-column grid, all-to-all: c0-c2 would cross c1 and is bent around it
    from chipletarch.arch import Architecture, ComputeDie, Core, all_to_all
    d = ComputeDie(name="c", count=5, area_mm2=100, clock_ghz=1.0, cores=4, core=Core(macs_per_cycle={"bf16": 128}))
    a = Architecture(name="a2a5", technology="organic-substrate", dies=[d],
                     links=all_to_all([f"c{i}" for i in range(5)], kind="ucie-standard", bandwidth_gb_s=128))
    texts = _texts(draw_package(a, tmp_path / "a.svg").read_text())
    assert texts.count("128 GB/s") == 10                      # C(5, 2) links, one label each


def _overlap(p, q):
    return p[0] < q[0] + q[2] and q[0] < p[0] + p[2] and p[1] < q[1] + q[3] and q[1] < p[1] + p[3]


@pytest.mark.parametrize("name", list_architectures())
def test_layout_boxes_do_not_overlap_and_stacks_touch_their_die(name):
    a = load_architecture(name)
    L = _Layout(a)
    floor = {i: L.box_of(i) for i in L.side}
    boxes = list(floor.values()) + list(L.mem_boxes.values())
    for i, p in enumerate(boxes):
        for q in boxes[i + 1:]:
            assert not _overlap(p, q), (name, p, q)
    for stack, _, die in a.memory_instances():
        x0, y0, w, h = L.mem_boxes[stack]
        dx0, dy0, dw, dh = floor[die]
        gap_x = max(dx0 - (x0 + w), x0 - (dx0 + dw), 0)
        gap_y = max(dy0 - (y0 + h), y0 - (dy0 + dh), 0)
        assert max(gap_x, gap_y) <= 1.3, (name, stack)           # 1.2 mm from its die's edge
    # stacked dies lie inside their host's box
    for g, host in L.host.items():
        gx, gy, gw, gh = L.guest_box[g]
        hx, hy, hw, hh = floor[host]
        assert hx <= gx and gx + gw <= hx + hw and hy <= gy and gy + gh <= hy + hh


def test_mi300x_xcds_are_drawn_on_their_iods():
    L = _Layout(load_architecture("mi300x"))
    assert L.host == {f"xcd{i}": f"iod{i // 2}" for i in range(8)}
    assert (L.rows, L.cols) == (2, 2)
    # HBM on the outer (left / right) edges of the 2 x 2 IOD quilt, two per IOD
    assert [len(L.mem_edges["iod0"][e]) for e in "LRTB"] == [2, 0, 0, 0]
    assert [len(L.mem_edges["iod3"][e]) for e in "LRTB"] == [0, 2, 0, 0]


def _synthetic():
    from chipletarch.arch import Architecture, ComputeDie, Core, IODie, MemoryStack, star
    core = Core(macs_per_cycle={"bf16": 256})
    cc = ComputeDie(name="cc", count=8, area_mm2=80, clock_ghz=1.5, cores=16, core=core, memory_interfaces=1)
    hub = IODie(name="hub", area_mm2=300)
    yield Architecture(name="star8", technology="organic-substrate", dies=[cc, hub],
                       memory=[MemoryStack(count=8, generation="lpddr5", capacity_gb=16, bandwidth_gb_s=68,
                                           attach="cc")],
                       links=star("hub", [f"cc{i}" for i in range(8)], kind="ucie-standard", bandwidth_gb_s=64))
    one = ComputeDie(name="chip", clock_ghz=1.0, cores=4, core=core)          # no area, no memory
    yield Architecture(name="bare", technology="monolithic", dies=[one])
    wafer = ComputeDie(name="wse", area_mm2=46225, clock_ghz=1.1, cores=900000, core=core)
    yield Architecture(name="wafer", technology="wafer-scale", dies=[wafer])
    top = ComputeDie(name="top", stacked=True, area_mm2=100, clock_ghz=1.0, cores=8, core=core,
                     memory_interfaces=1)
    base = IODie(name="base", area_mm2=150)
    yield Architecture(name="stack-mem", technology="3d-hybrid-bonding", dies=[top, base],
                       memory=[MemoryStack(generation="hbm3", capacity_gb=16, bandwidth_gb_s=800, attach="top")],
                       links=[{"kind": "ucie-3d", "endpoints": ["top", "base"], "bandwidth_gb_s": 1000}])


@pytest.mark.parametrize("arch", list(_synthetic()), ids=lambda a: a.name)
def test_assorted_shapes_draw(arch, tmp_path):
    texts = _texts(draw_package(arch, tmp_path / "x.svg").read_text())
    assert any(t.startswith(arch.name) for t in texts)
    for inst, _ in arch.die_instances():
        assert any(t == inst or t.startswith(inst) for t in texts) or len(arch.die_instances()) > 30
    L = _Layout(arch)
    assert set(L.mem_boxes) == {m for m, _, _ in arch.memory_instances()}   # every stack drawn


def test_star_puts_the_hub_in_the_middle():
    star8 = next(a for a in _synthetic() if a.name == "star8")
    L = _Layout(star8)
    assert (L.rows, L.cols) == (3, 3) and L.cell["hub"] == (1, 1)
    assert len(set(L.cell.values())) == 9


def test_bad_suffix(tmp_path):
    with pytest.raises(SpecError, match="use a .png, .svg or .pdf"):
        draw_package(load_architecture("h100-sxm"), tmp_path / "x.jpeg")
