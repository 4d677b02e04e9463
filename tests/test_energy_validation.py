"""docs/VALIDATION.md "## Energy" tables match what chipletarch.energy.validation computes now.

The tables depend on the engine's fitted timing (kernel times, TPOT), which its owner refits from
time to time; a refit that moves a number by a few per cent does not change what the section
says, so numbers are compared within 5 % (text exactly). A larger drift fails: regenerate with
`python -m chipletarch.energy.validation --write` and re-read the prose above the tables.
"""
import re
from pathlib import Path

import pytest

from chipletarch.energy import validation as V

DOC = Path(__file__).resolve().parents[1] / "docs" / "VALIDATION.md"
_NUM = re.compile(r"-?\d[\d,]*\.?\d*")


def _split(line: str):
    nums = [float(x.replace(",", "")) for x in _NUM.findall(line)]
    return _NUM.sub("#", line), nums


@pytest.mark.skipif(not DOC.is_file(), reason="docs/ not shipped with this checkout")
def test_energy_tables_up_to_date():
    text = DOC.read_text(encoding="utf-8")
    assert V.BEGIN in text, "docs/VALIDATION.md lost its energy block"
    block = (V.BEGIN + text.split(V.BEGIN, 1)[1].split(V.END, 1)[0] + V.END).splitlines()
    now = V.render().splitlines()
    hint = "run: python -m chipletarch.energy.validation --write"
    assert len(block) == len(now), hint
    for old, new in zip(block, now):
        t_old, n_old = _split(old)
        t_new, n_new = _split(new)
        assert t_old == t_new, f"{hint}\n  doc: {old}\n  now: {new}"
        for a, b in zip(n_old, n_new):
            assert b == pytest.approx(a, rel=0.05, abs=0.006), f"{hint}\n  doc: {old}\n  now: {new}"


def test_prose_claims_hold():
    # what the section's prose says about the tables
    rows = {(r["arch"], r["format"]): r for r in V.gemm_table()}
    for key in [("h100-sxm", "bf16"), ("h100-sxm", "fp8_e4m3"), ("mi300x", "fp8_e4m3"), ("gaudi3", "bf16")]:
        assert rows[key]["ratio"] < 1.0
        assert rows[key]["power_w"] < rows[key]["tdp_w"]
    assert rows[("b200", "nvfp4")]["ratio"] > 1.0             # the stated exception
    assert all(r["total_acc"] < r["sheet_bound"] for r in rows.values())
    full = {r["arch"]: r for r in V.full_load_table() if "skipped" not in r}
    assert full["b200"]["ratio"] > 1.0 > full["b200"]["ratio_acc"]
    assert all(r["ratio"] < 1.0 for a, r in full.items() if a != "b200" and r["ratio"] is not None)
    dec = V.decode_table()
    if dec:
        assert all(0.25 < r["ratio"] < 0.45 for r in dec)
        assert all(r["j_per_token"] < r["bound_meas"] for r in dec)


def test_published_h100_measurements_known_gap():
    # docs/VALIDATION.md "## Energy": against the published H100 figures [M1][M2] the model is
    # low, close at batch 1 (the static share dominates) and about half at batch 128; this pins the
    # direction and size of the documented gap, so a change that closes or widens it must update
    # the prose
    rows = {(r["unit"], r["batch"]): r for r in V.measured_table()}
    assert 0.8 < rows[("W", 1)]["ratio"] < 1.0
    assert 0.4 < rows[("W", 128)]["ratio"] < 0.65
    assert 0.3 < rows[("J/token", 64)]["ratio"] < 0.5
    # the gap grows with load: power rises far less with batch in the model than measured (300 -> 600 W)
    assert rows[("W", 128)]["model"] - rows[("W", 1)]["model"] < 0.3 * (600 - 300)

