"""`chipletarch show --png/--svg` draws the package: files are valid images naming every die and stack."""
from pathlib import Path

import pytest

from chipletarch.arch import load_architecture
from chipletarch.arch.drawing import draw_package
from chipletarch.cli import main
from chipletarch.errors import SpecError

DATA = Path(__file__).parent / "data" / "arch"


def test_png_and_svg_via_cli(tmp_path, capsys):
    png, svg = tmp_path / "h100.png", tmp_path / "h100.svg"
    assert main(["show", "h100-sxm", "--png", str(png), "--svg", str(svg)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert f"wrote {png}" in capsys.readouterr().out


def test_svg_names_dies_stacks_and_links(tmp_path):
    # keep text as <text> elements so the names can be checked
    import matplotlib
    matplotlib.rcParams["svg.fonttype"] = "none"
    try:
        out = draw_package(load_architecture(DATA / "xcd_iod.yaml"), tmp_path / "p.svg")
    finally:
        matplotlib.rcParams["svg.fonttype"] = "path"
    text = out.read_text()
    for name in ["iod0", "iod3", "xcd0", "xcd7", "hbm0", "hbm7"]:
        assert name in text
    assert "1 TB/s" in text                           # IF links, 1000 GB/s
    assert "8 x 2 TB/s (ucie-3d)" in text             # stacked XCDs listed as 3D links
    assert "192 GB, 4.80 TB/s" in text


def test_bad_suffix(tmp_path):
    with pytest.raises(SpecError, match="use a .png, .svg or .pdf"):
        draw_package(load_architecture("h100-sxm"), tmp_path / "x.jpeg")


def test_every_link_labelled_in_a_dense_all_to_all(tmp_path):
    # 5 dies on a 3-column grid, all-to-all: c0-c2 would cross c1 and is bent around it
    from chipletarch.arch import Architecture, ComputeDie, Core, all_to_all
    import matplotlib
    d = ComputeDie(name="c", count=5, area_mm2=100, clock_ghz=1.0, cores=4, core=Core(macs_per_cycle={"bf16": 128}))
    a = Architecture(name="a2a5", technology="organic-substrate", dies=[d],
                     links=all_to_all([f"c{i}" for i in range(5)], kind="ucie-standard", bandwidth_gb_s=128))
    matplotlib.rcParams["svg.fonttype"] = "none"
    try:
        text = draw_package(a, tmp_path / "a.svg").read_text()
    finally:
        matplotlib.rcParams["svg.fonttype"] = "path"
    assert text.count("128 GB/s") == 10                # C(5, 2) links
