"""README.md stays true: its Python tour runs and computes what it says, and every command it
names exists."""
import re
from pathlib import Path

import pytest

from chipletarch.cli import build_parser

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_tour_runs(capsys):
    ns = {}
    for code in re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        exec(compile(code, "README.md", "exec"), ns)
    # B200 dense NVFP4 is published as 9 PFLOP/s (HARDWARE.md §3)
    assert ns["arch"].peak_flops("nvfp4") == pytest.approx(9e15, rel=0.01)
    assert sum(ns["r"].bound_share().values()) == pytest.approx(1.0)
    assert ns["r"].tpot_s > 0 and ns["e"].j_per_token > 0 and ns["c"].total > 0
    assert ns["variant"].tdp_w == 1200 and ns["arch"].tdp_w == 1000


def test_readme_commands_exist():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    used = set(re.findall(r"^chipletarch ([a-z-]+)", README.read_text(encoding="utf-8"), re.M))
    install = re.findall(r"&& chipletarch ([a-z-]+)", README.read_text(encoding="utf-8"))
    assert {"list", "show", "run", "sweep", "report"} <= used
    assert used | set(install) <= set(sub.choices), (used | set(install)) - set(sub.choices)
