"""Sweep specs: parsing with line-precise errors, safe expressions, sampling (grid, random, LHS)."""
from __future__ import annotations

import pickle
import textwrap

import numpy as np
import pytest

from chipletarch.errors import SpecError
from chipletarch.explore import compile_expr, load_sweep, sweep_from_yaml
from chipletarch.explore.spec import parse_path

BASE = """\
name: t
base: ucie4-hbm4
workload: {model: llama3.1-8b, precision: fp8}
"""


def spec(extra: str, base: str = BASE):
    return sweep_from_yaml(base + textwrap.dedent(extra), "t.yaml")


def test_grid_numbering_is_mixed_radix_arch_axes_outermost():
    s = spec("""\
        axes:
          - {name: batch, values: [1, 2, 4]}
          - {name: cores, path: "dies[0].cores", values: [16, 32]}
        """)
    assert len(s) == 6
    # architecture axis first whatever the YAML order, so consecutive points share a variant
    assert [a.name for a in s.axes] == ["cores", "batch"]
    assert s.points(range(6)) == [{"cores": c, "batch": b} for c in (16, 32) for b in (1, 2, 4)]
    assert s.point(4) == {"cores": 32, "batch": 2}


def test_range_axes():
    s = spec("""\
        axes:
          - {name: clock, path: "dies[0].clock_ghz", range: {start: 1.5, stop: 2.5, num: 5}}
          - {name: batch, range: {start: 8, stop: 32, step: 8}}
        """)
    assert s.axes[0].values == (1.5, 1.75, 2.0, 2.25, 2.5)
    assert s.axes[1].values == (8, 16, 24, 32)
    assert len(s) == 20


@pytest.mark.parametrize("method", ["random", "lhs"])
def test_random_and_lhs_are_seeded_and_in_range(method):
    text = f"""\
        axes:
          - {{name: clock, path: "dies[0].clock_ghz", low: 1.0, high: 3.0}}
          - {{name: batch, low: 1, high: 512, log: true}}
          - {{name: precision, values: [bf16, fp8, mxfp4]}}
        sampling: {{method: {method}, n: 300, seed: 7}}
        """
    a, b = spec(text), spec(text)
    pa, pb = a.points(range(300)), b.points(range(300))
    assert pa == pb
    clocks = np.array([p["clock"] for p in pa])
    batches = np.array([p["batch"] for p in pa])
    assert clocks.min() >= 1.0 and clocks.max() <= 3.0
    assert batches.min() >= 1 and batches.max() <= 512
    assert all(isinstance(p["batch"], int) for p in pa)
    assert {p["precision"] for p in pa} == {"bf16", "fp8", "mxfp4"}
    c = spec(text.replace("seed: 7", "seed: 8"))
    assert c.points(range(300)) != pa


def test_lhs_uses_every_stratum_exactly_once():
    s = spec("""\
        axes:
          - {name: clock, path: "dies[0].clock_ghz", low: 1.0, high: 2.0}
          - {name: area, path: "dies[0].area_mm2", low: 100, high: 300}
          - {name: precision, values: [bf16, fp8, mxfp4, mxfp6]}
        sampling: {method: lhs, n: 200, seed: 3}
        """)
    pts = s.points(range(200))
    for name, lo, hi in (("clock", 1.0, 2.0), ("area", 100.0, 300.0)):
        u = (np.array([p[name] for p in pts]) - lo) / (hi - lo)
        strata = np.floor(u * 200).astype(int)
        assert sorted(strata.tolist()) == list(range(200))
    # discrete axis: strata map to values in equal shares
    counts = {v: sum(p["precision"] == v for p in pts) for v in ("bf16", "fp8", "mxfp4", "mxfp6")}
    assert set(counts.values()) == {50}


def test_bundled_sweeps_load():
    s = load_sweep("split-study")
    assert len(s) >= 100_000
    small = load_sweep("split-study-small")
    assert len(small) == 96
    assert small.spec_hash() == load_sweep("split-study-small").spec_hash()
    assert small.spec_hash() != s.spec_hash()


def test_spec_pickles_for_workers():
    s = load_sweep("split-study-small")
    t = pickle.loads(pickle.dumps(s))
    assert t.spec_hash() == s.spec_hash()
    assert t.points(range(96)) == s.points(range(96))


@pytest.mark.parametrize("extra, line, needle", [
    ("axes:\n  - {name: cores, path: \"dies[0].clock_gz\", values: [1]}\n", 5,
     "did you mean 'clock_ghz'"),
    ("axes:\n  - {name: cores, path: \"dies[3].cores\", values: [1]}\n", 5, "only 1 element"),
    ("axes:\n  - {name: batchsize, values: [1]}\n", 5, "did you mean 'batch'"),
    ("axes:\n  - {name: batch, values: [1, 1]}\n", 5, "values repeat"),
    ("axes:\n  - name: batch\n    values: [0]\n", 6, "positive integer"),
    ("axes:\n  - {name: precision, values: [fp4]}\n", 5, "fp4"),
    ("axes:\n  - {name: clock, path: \"dies[0].clock_ghz\", low: 1, high: 2}\n", 5,
     "grid sampling needs discrete"),
    ("sampling: {method: sobol}\n", 4, "method must be one of"),
    ("sampling: {method: lhs}\n", 4, "needs n"),
    ("derived:\n  \"dies[0].area_mm2\": \"__import__('os')\"\n", 5, "not allowed"),
    ("derived:\n  \"dies[0].area_mm2\": \"cores * 2\"\n", 5, "unknown name(s) cores"),
    ("constraints:\n  - {name: c, require: \"tdp_w < 1000\", oops: 1}\n", 5, "unknown key 'oops'"),
    ("constraints:\n  - {name: c, require: \"budget < 1\"}\n", 5, "unknown name(s) budget"),
    ("axez: []\n", 4, "did you mean 'axes'"),
])
def test_bad_specs_name_file_and_line(extra, line, needle):
    with pytest.raises(SpecError) as ei:
        spec(extra)
    msg = str(ei.value)
    assert msg.startswith(f"t.yaml:{line}:"), msg
    assert needle in msg, msg


def test_paths_must_be_written_in_the_base_yaml():
    # h100-sxm.yaml leaves `efficiency` to the defaults: the sweep writes into the YAML as
    # written, so the container must be there
    with pytest.raises(SpecError, match=r"t.yaml:5: axes\[0\].path: 'efficiency' is not "
                                        r"written in the base YAML"):
        sweep_from_yaml("name: t\nbase: h100-sxm\nworkload: {model: llama3.1-8b}\naxes:\n"
                        "  - {name: x, path: efficiency.matrix_efficiency, values: [0.5]}\n",
                        "t.yaml")


def test_duplicate_keys_and_syntax_errors_have_lines():
    with pytest.raises(SpecError, match=r"t.yaml:4: .*duplicate key 'name'"):
        sweep_from_yaml(BASE + "name: again\n", "t.yaml")
    with pytest.raises(SpecError, match=r"t.yaml:\d+: YAML syntax error"):
        sweep_from_yaml(BASE + "axes: [\n", "t.yaml")


def test_paths():
    assert parse_path("dies[0].core.sram_kib") == ("dies", 0, "core", "sram_kib")
    assert parse_path("topology[0].link.bandwidth_gb_s")[-1] == "bandwidth_gb_s"
    for bad in ("dies[0]..x", ".x", "dies[a]", "x.", "[0]"):
        with pytest.raises(SpecError):
            parse_path(bad)


def test_expressions_are_sandboxed():
    e = compile_expr("max(a, 2) * sqrt(b) if c == 'x' else -1")
    assert e({"a": 3, "b": 4.0, "c": "x"}) == 6.0
    assert e.names == {"a", "b", "c"}
    for bad in ("().__class__", "a.__dict__", "open('f')", "[x for x in a]", "lambda: 1",
                "a[b]", "getattr(a, 'b')", "max(*a)", "f(x=1)"):
        with pytest.raises(SpecError, match="not allowed|cannot parse"):
            compile_expr(bad)
    with pytest.raises(SpecError, match="ZeroDivisionError"):
        compile_expr("1 / a")({"a": 0})
