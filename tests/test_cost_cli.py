"""`chipletarch cost`: table, JSON, PNG, and exit codes for bad input."""
import json

import pytest

from chipletarch.cli import main
from chipletarch.cost import package_cost


def test_cost_table_side_by_side(capsys):
    assert main(["cost", "h100-sxm", "h200-sxm", "--volume", "1e6"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0]
    assert "h100-sxm" in header and "h200-sxm" in header
    total_line = next(l for l in out.splitlines() if l.startswith("TOTAL"))
    # the printed total is package_cost's total
    expected = package_cost("h100-sxm", volume=1e6).total
    assert total_line.split()[1] == f"{expected:,.0f}"


def test_cost_json_and_png(capsys, tmp_path):
    png = tmp_path / "cost.png"
    assert main(["cost", "h100-sxm", "--json", "--png", str(png)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["name"] == "h100-sxm"
    assert data[0]["nre"] == 0.0                  # no --volume: NRE left out
    parts = sum(data[0][k] for k in ("dies", "hbm", "carrier", "substrate", "bumps", "assembly",
                                     "assembly_scrap", "final_test", "nre"))
    assert data[0]["total"] == pytest.approx(parts)
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"


def test_cost_bad_input_exits_1(capsys):
    assert main(["cost", "no-such-arch"]) == 1
    assert main(["cost", "h100-sxm", "--volume", "-5"]) == 1
    assert main(["cost", "h100-sxm", "h200-sxm", "--family"]) == 1
    assert "error" in capsys.readouterr().err


def test_family_flag_shares_the_gh100_design(capsys):
    # H100 and H200 carry the same GH100 die design: as a family its NRE is split over both
    assert main(["cost", "h100-sxm", "h200-sxm", "--volume", "1e6", "--family", "--json"]) == 0
    fam = json.loads(capsys.readouterr().out)
    alone = package_cost("h100-sxm", volume=1e6)
    assert fam[0]["nre_items"]["die:gh100"] == pytest.approx(alone.nre_items["die:gh100"] / 2)


def test_tokens_per_s_adds_cost_per_million_tokens(capsys):
    from chipletarch.cost import token_cost
    assert main(["cost", "h100-sxm", "--tokens-per-s", "1500", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)[0]
    expected = token_cost("h100-sxm", 1500.0).usd_per_million_tokens
    assert d["token_cost"]["usd_per_million_tokens"] == pytest.approx(expected)
    assert main(["cost", "h100-sxm", "--tokens-per-s", "1", "2"]) == 1


def test_cost_crossover_command(capsys):
    from chipletarch.cost import crossover_area
    from chipletarch.cost.split import catalog_node, catalog_packaging
    assert main(["cost-crossover", "--nodes", "5nm", "--technologies", "cowos-s", "-n", "2",
                 "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["node"] == "N5" and rows[0]["technology"] == "silicon-interposer"
    assert rows[0]["crossover_mm2"] == pytest.approx(crossover_area(
        2, catalog_node("N5"), catalog_packaging("silicon-interposer"),
        monolithic_packaging=catalog_packaging("monolithic")))
    assert main(["cost-crossover", "--nodes", "5nm", "-n", "2"]) == 0
    assert "N5" in capsys.readouterr().out
    assert main(["cost-crossover", "--nodes", "N99"]) == 1


def test_bond_yield_flag(capsys):
    assert main(["cost", "h100-sxm", "--bond-yield", "0.99", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)[0]
    assert d["total"] == pytest.approx(package_cost("h100-sxm", bond_yield=0.99).total)
    assert main(["cost", "h100-sxm", "--bond-yield", "1.5"]) == 1
