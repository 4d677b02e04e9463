"""examples/*.py run as a user runs them (`python examples/X.py --quick --out-dir DIR`), each in
a few seconds, and what they print holds up: the numbers are checked for the property the
example is about, not just for the absence of a traceback."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(name, tmp_path, *args):
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), "--out-dir", str(tmp_path),
                           *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for line in proc.stdout.splitlines():
        if line.startswith("wrote "):
            p = Path(line.split()[1])
            assert p.is_file() and p.stat().st_size > (2000 if p.suffix == ".png" else 200), line
            assert p.parent == tmp_path
    return proc.stdout


def _num(s):
    return float(s.replace(",", ""))


def test_every_example_is_tested():
    tested = {"compare_designs.py", "custom_systolic_mxfp4.py", "chiplet_vs_monolithic_cost.py",
              "choose_mx_precision.py", "disaggregation_study.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_compare_designs(tmp_path):
    out = run("compare_designs.py", tmp_path, "--quick")
    rows = {m.group(1): [_num(x) for x in m.group(2).split()[:7]] for m in
            re.finditer(r"^(h100-sxm|h200-sxm)\s+([\d.,\s]+?)\s+(hbm|compute|d2d|overhead)$",
                        out, re.M)}
    assert set(rows) == {"h100-sxm", "h200-sxm"}
    # same GH100 die, 4.8 vs 3.35 TB/s: decode (memory-bound) must be faster on H200
    h100_tpot, h200_tpot = rows["h100-sxm"][1], rows["h200-sxm"][1]
    assert h200_tpot < h100_tpot
    assert 3.35 / 4.8 * 0.9 < h200_tpot / h100_tpot < 1.0
    assert "decode bound" in out and len(list(tmp_path.glob("compare_*.png"))) == 2


def test_custom_systolic_mxfp4(tmp_path):
    import chipletarch as ca
    out = run("custom_systolic_mxfp4.py", tmp_path)
    bf = re.search(r"^bf16\s+([\d.]+)\s+([\d.]+)", out, re.M)
    fp4 = re.search(r"^mxfp4\s+([\d.]+)\s+([\d.]+)", out, re.M)
    assert float(fp4.group(2)) < float(bf.group(2))      # decode TPOT: MXFP4 beats BF16
    assert float(fp4.group(1)) < float(bf.group(1))      # prefill too (4x MAC rate)
    sp = float(re.search(r"speed-up over BF16: ([\d.]+)x", out).group(1))
    assert sp == pytest.approx(float(bf.group(2)) / float(fp4.group(2)), rel=0.01)
    arch = ca.load_architecture(tmp_path / "systolic_mxfp4_quad.yaml")   # the YAML it wrote
    assert arch.peak_flops("mxfp4") == pytest.approx(4 * arch.peak_flops("bf16"))
    assert arch.dies[0].core.systolic.rows == 128
    assert "not native" not in out                       # MXFP4 is native here: no emulation


def test_chiplet_vs_monolithic_cost(tmp_path):
    out = run("chiplet_vs_monolithic_cost.py", tmp_path, "--quick")
    table = re.findall(r"^\s+(\d+)((?:\s+[\d.]+){4})$", out, re.M)
    areas = [float(a) for a, _ in table]
    cols = list(zip(*[[float(x) for x in r.split()] for _, r in table]))
    cross = [m for m in re.findall(r"crossover, (\d) chiplets on (\S+): (\d+) mm2", out)]
    assert len(cross) == 4 and len(cols) == 4
    for (n, tech, c), ratios in zip(cross, cols):
        c = float(c)
        for a, r in zip(areas, ratios):      # the ratio is < 1 above the crossover, > 1 below
            assert (r < 1.0) == (a >= c), (n, tech, a, r, c)
    dies = float(re.search(r"dies: chiplets cost ([\d.]+)x", out).group(1))
    assert dies < 1.0                        # four 206 mm^2 dies yield better than one 800 mm^2


def test_choose_mx_precision(tmp_path):
    out = run("choose_mx_precision.py", tmp_path, "--quick")
    rows = {m.group(1): m.groups() for m in re.finditer(
        r"^(bf16|fp8|mxfp6|mxfp4)\s+\S+\s+([\d.]+)\s+([\d.]+)\s+(low|moderate|high)\s+"
        r"([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", out, re.M)}
    assert list(rows) == ["bf16", "fp8", "mxfp6", "mxfp4"]
    sqnr = [float(rows[p][1]) for p in rows]
    assert sqnr == sorted(sqnr, reverse=True)            # fewer bits, more error
    assert rows["bf16"][3] == "low" and rows["mxfp4"][3] == "high"
    tpot = {p: float(rows[p][5]) for p in rows}
    assert tpot["mxfp4"] < tpot["fp8"] < tpot["bf16"]     # B200 runs MXFP4 natively
    jt = {p: float(rows[p][7]) for p in rows}
    assert jt["mxfp4"] < jt["bf16"]


def test_disaggregation_study(tmp_path):
    out = run("disaggregation_study.py", tmp_path, "--quick")
    lines = {m.group(1): m.group(2) for m in
             re.finditer(r"^(summarization|chat|generation)\s+\d+/\d+(.*)$", out, re.M)}
    assert set(lines) == {"summarization", "chat", "generation"}
    for name, cells in lines.items():
        pairs = re.findall(r"([\d,]+|-) / ([\d,]+|-)", cells)
        assert len(pairs) == 4
        for mode in (0, 1):      # a Pareto frontier: more interactivity never buys throughput
            vals = [_num(p[mode]) for p in pairs if p[mode] != "-"]
            assert vals == sorted(vals, reverse=True), (name, mode, vals)
    assert out.count("best disaggregated:") == 3
    assert len(list(tmp_path.glob("disaggregation_*.png"))) == 3
