"""The user guide stays true: PYTHON_API.md and QUICKSTART.md snippets run and compute what they
say, the commands they name exist, and docs/index.md links every page (and only real ones)."""
import re
from pathlib import Path

import pytest

from chipletarch.cli import build_parser

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _python_blocks(name):
    return re.findall(r"```python\n(.*?)```", (DOCS / name).read_text(encoding="utf-8"), re.S)


def test_python_api_snippets_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ns = {}
    for i, code in enumerate(_python_blocks("PYTHON_API.md")):
        exec(compile(code, f"PYTHON_API.md block {i + 1}", "exec"), ns)
    # a new compute unit: the systolic core's per-format rates reach the package peak
    assert ns["fp4_over_bf16"] == pytest.approx(4.0)
    assert ns["pkg"].peak_flops("bf16") == pytest.approx(2 * 4 * 8 * 128 * 128 * 1.6e9)
    assert ns["faster"].peak_flops("bf16") == pytest.approx(ns["pkg"].peak_flops("bf16") * 2 / 1.6)
    assert len(ns["remote"].edges) == 3                     # sa0 -> sa1|sa2 -> sa3 -> hbm3
    # native MXFP4 on this design: decode faster than BF16, no emulation note
    assert ns["speedup"] > 1.5
    assert not any("not native" in n for n in ns["dec_fp4"].notes)
    assert sum(ns["shares"].values()) == pytest.approx(1.0)
    assert ns["j_per_token"] > 0 and ns["usd_per_mtoken"] > 0
    s = ns["sqnr"]
    assert s["bf16"] > s["fp8"] > s["mxfp6"] > s["mxfp4"] > 10
    assert ns["summary"]["status"] == {"ok": 9}, ns["summary"]["top_reasons"]
    assert ns["front"].any() and len(ns["data"]["clock"]) == 9
    html = Path(ns["report_path"]).read_text(encoding="utf-8")
    assert "sa-quad" in html and "sweep store sa-clock-stacks" in html


def test_quickstart_python_runs(capsys):
    ns = {}
    for code in _python_blocks("QUICKSTART.md"):
        exec(compile(code, "QUICKSTART.md", "exec"), ns)
    assert "J/token" in capsys.readouterr().out and ns["tpot_ms"] > 0


def test_quickstart_commands_exist():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    text = (DOCS / "QUICKSTART.md").read_text(encoding="utf-8")
    used = set(re.findall(r"^chipletarch ([a-z-]+)", text, re.M))
    assert {"list", "show", "run", "compare", "serve", "sweep", "report"} <= used
    assert used <= set(sub.choices), used - set(sub.choices)


def test_quickstart_report_config_is_valid(tmp_path):
    from chipletarch.report import load_report_config
    block = re.search(r"```yaml\n(.*?)```", (DOCS / "QUICKSTART.md").read_text(), re.S).group(1)
    p = tmp_path / "r.yaml"
    p.write_text(block)
    cfg = load_report_config(p)
    assert cfg.workloads[0].mappings == {"b200": {"tp": 4}} and cfg.sweep.maximize == (True, False)


def test_index_links_every_page():
    text = (DOCS / "index.md").read_text(encoding="utf-8")
    links = set(re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text))
    for link in links:
        assert (DOCS / link).is_file(), link
    pages = {p.name for p in DOCS.glob("*.md")} - {"index.md"}
    assert pages <= links, f"not linked from docs/index.md: {sorted(pages - links)}"


@pytest.mark.parametrize("page", ["QUICKSTART.md", "PYTHON_API.md"])
def test_relative_links_resolve(page):
    for link in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", (DOCS / page).read_text()):
        assert (DOCS / link).is_file(), (page, link)
