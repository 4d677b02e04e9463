"""`chipletarch run | compare | roofline`: exit codes, JSON, tables, images."""
from __future__ import annotations

import json

import pytest

from chipletarch.cli import main


def test_run_table(capsys):
    assert main(["run", "h100-sxm", "llama3.1-8b", "--phase", "decode", "--batch", "4",
                 "--context-len", "512"]) == 0
    out = capsys.readouterr().out
    assert "TPOT" in out and "tokens/s" in out and "bound by:" in out
    assert "[mlp]" in out and "mlp_gate_up" in out


def test_run_json_parses(capsys):
    assert main(["run", "b200", "llama3.1-8b", "--phase", "prefill", "--seq-len", "512",
                 "--precision", "fp8", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["ttft_s"] > 0 and d["tpot_s"] is None
    assert d["tokens_per_s"] == pytest.approx(512 / d["ttft_s"])
    assert {"nv-hbi"} <= set(d["links"]) and len(d["stacks"]) == 8
    assert sum(d["bound_share"].values()) == pytest.approx(1.0)


def test_run_infeasible_exits_1(capsys):
    assert main(["run", "h100-sxm", "llama3.1-405b", "--precision", "bf16"]) == 1
    assert "GiB missing" in capsys.readouterr().err


def test_run_bad_mapping_exits_1(capsys):
    assert main(["run", "h100-sxm", "tiny", "--tp", "3"]) == 1
    assert "divisible" in capsys.readouterr().err


def test_compare_and_png(tmp_path, capsys):
    png = tmp_path / "cmp.png"
    assert main(["compare", "h100-sxm", "h200-sxm", "mi300x", "--model", "llama3.1-8b",
                 "--batch", "8", "--context-len", "1024", "--png", str(png)]) == 0
    out = capsys.readouterr().out
    assert "h200-sxm" in out and "TPOT ms" in out and "time by op class" in out
    assert png.stat().st_size > 10_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["compare", "h100-sxm", "b200", "--model", "tiny", "--json"]) == 0
    assert [d["arch"] for d in json.loads(capsys.readouterr().out)] == ["h100-sxm", "b200"]


def test_roofline_png(tmp_path, capsys):
    png = tmp_path / "roof.png"
    assert main(["roofline", "h100-sxm", "--model", "llama3.1-8b", "--phase", "prefill",
                 "--seq-len", "1024", "--png", str(png)]) == 0
    assert "TTFT" in capsys.readouterr().out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
