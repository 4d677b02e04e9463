"""Workload CLI commands: models, ops (text and JSON), traffic, memfit exit codes."""
from __future__ import annotations

import json

from chipletarch.cli import main


def test_models_and_traffic(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "llama3.1-70b" in out and "70.55" in out and "MLA" in out
    assert main(["traffic"]) == 0
    assert "reasoning" in capsys.readouterr().out


def test_ops_json_matches_api(capsys):
    assert main(["ops", "tiny", "--phase", "prefill", "--batch", "2", "--seq-len", "8",
                 "--precision", "bf16", "--json"]) == 0
    cols = json.loads(capsys.readouterr().out)
    flops = sum(f * r for f, r in zip(cols["flops"], cols["repeat"]))
    from chipletarch.workload import load_model
    t = load_model("tiny").operators("prefill", 2, 8, 0, "bf16")
    assert flops == t.total("flops")


def test_ops_bad_split_exits_1(capsys):
    assert main(["ops", "tiny", "--tp", "3"]) == 1
    assert "not divisible" in capsys.readouterr().err


def test_memfit_reports_missing(capsys):
    rc = main(["memfit", "llama3.1-405b", "h100-sxm", "--precision", "bf16"])
    assert rc == 1
    assert "GiB missing" in capsys.readouterr().err
    assert main(["memfit", "llama3.1-8b", "h100-sxm", "--batch", "8", "--context", "4096",
                 "--precision", "bf16"]) == 0
    assert "fits:" in capsys.readouterr().out
