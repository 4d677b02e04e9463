"""Serving sweeps (a `serving:` block): each point equals `chipletarch.serving.evaluate_config`
called directly, SLO / memory pruning keeps what it should, resume recomputes nothing, bad keys
name file and line, pareto on the serving columns, and specs without `serving:` unchanged."""
from __future__ import annotations

import copy
import csv
import math
import pickle
import sqlite3
import textwrap

import numpy as np
import pytest
import yaml

from chipletarch.arch import Architecture
from chipletarch.arch.loader import architecture_path
from chipletarch.cli import main
from chipletarch.cost import package_cost, token_cost
from chipletarch.errors import SpecError
from chipletarch.explore import (Evaluator, Store, load_sweep, pareto_brute, reference_point,
                                 run_sweep, store_columns, sweep_from_yaml)
from chipletarch.serving import DEFAULT_FRAMEWORK, evaluate_config

SPEC = """\
name: serving-t
base: h100-sxm
workload: {model: llama3.1-70b, precision: fp8, traffic: chat}
serving: {ttft_slo_ms: 2000, tpot_slo_ms: 40}
axes:
  - {name: hbm_stacks, path: "memory[0].count", values: [5, 6]}
  - {name: mode, values: [colocated, disaggregated]}
  - {name: tp, values: [1, 2, 4]}
  - {name: batch, values: [8, 64, 256]}
derived:
  "memory[0].inactive_count": "6 - hbm_stacks"
options: {chunk_size: 8}
"""
N = 36


def table(path):
    with sqlite3.connect(path) as c:
        rows = c.execute("SELECT * FROM points ORDER BY idx").fetchall()
    return [r[:1] + r[2:] for r in rows]


def rows(path) -> list:
    with sqlite3.connect(path) as c:
        c.row_factory = sqlite3.Row
        return [dict(r) for r in c.execute("SELECT * FROM points ORDER BY idx")]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    path = tmp_path_factory.mktemp("srv") / "ref.sqlite"
    s = run_sweep(sweep_from_yaml(SPEC, "t.yaml"), path, workers=0, progress=False)
    assert s["complete"] and s["stored"] == N
    return path


def _arch(stacks: int):
    with open(architecture_path("h100-sxm"), encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    raw = copy.deepcopy(raw)
    raw["memory"][0]["count"] = stacks
    raw["memory"][0]["inactive_count"] = 6 - stacks
    return Architecture.from_dict(raw)


def test_points_equal_evaluate_config_called_directly(reference):
    archs = {n: _arch(n) for n in (5, 6)}
    got = rows(reference)
    seen = set()
    for r in got:
        d = evaluate_config(archs[r["hbm_stacks"]], "llama3.1-70b", "chat", r["mode"],
                            precision="fp8", tp=r["tp"], concurrency=r["batch"],
                            decode_batch=r["batch"], ttft_slo_ms=2000, tpot_slo_ms=40,
                            framework=DEFAULT_FRAMEWORK)
        assert r["feasible"] == int(d["feasible"])
        assert r["framework"] == d["framework"] == DEFAULT_FRAMEWORK
        if "ttft_ms" not in d:                      # the KV cache does not fit
            assert r["status"] == "pruned" and r["reason"].startswith("memory:")
            assert r["ttft_ms"] is None and r["tokens_per_s_per_chip"] is None
            seen.add("memory")
            continue
        for k, v in d.items():
            if k in ("arch", "mode", "concurrency", "chunk", "prefill_batch"):
                continue                            # inputs (the arch name is the base's)
            col = "decode_sequences" if k == "decode_batch" else k
            if col not in r:            # a key the serving layer adds later has no column yet
                continue
            want = int(v) if isinstance(v, bool) else v
            assert r[col] == want, (r["idx"], k, r[col], want)     # exact
        assert sum(k in r for k in d) >= 20         # the design point's keys are columns
        assert r["ttft_s"] == d["ttft_ms"] / 1e3 and r["tpot_s"] == d["tpot_ms"] / 1e3
        pc = package_cost(archs[r["hbm_stacks"]])
        assert r["package_cost_usd"] == pytest.approx(pc.total, rel=1e-12)
        assert r["system_cost_usd"] == pytest.approx(pc.total * d["packages"], rel=1e-12)
        # energy: stored as evaluate_config returns it; $/Mtoken at the simulated power
        assert r["j_per_token"] == d["j_per_token"] and r["j_per_token"] > 0
        assert r["power_w"] == d["power_w_per_package"] and 0 < r["power_w"] < 700.0
        usd = token_cost(pc, d["tokens_per_s_per_chip"],
                         power_w=d["power_w_per_package"]).usd_per_million_tokens
        assert r["usd_per_mtoken"] == pytest.approx(usd, rel=1e-9)
        usd_tdp = token_cost(pc, d["tokens_per_s_per_chip"], power_w=700.0).usd_per_million_tokens
        assert r["usd_per_mtoken"] < usd_tdp
        seen.add((r["mode"], r["status"]))
    # the spec exercises every outcome
    assert seen >= {"memory", ("colocated", "ok"), ("disaggregated", "ok"),
                    ("colocated", "pruned")}


def test_reference_point_is_evaluate_config(reference):
    spec = sweep_from_yaml(SPEC, "t.yaml")
    got = rows(reference)
    for i in (4, 13, 31):
        d = reference_point(spec, i)
        assert d["tokens_per_s_per_chip"] == got[i]["tokens_per_s_per_chip"]
        assert d["ttft_ms"] == got[i]["ttft_ms"] and d["mode"] == got[i]["mode"]


def test_slo_pruning_keeps_metrics_and_names_the_target(reference):
    got = rows(reference)
    slo = [r for r in got if r["reason"] and r["reason"].startswith("slo:")]
    assert slo
    for r in slo:
        assert r["status"] == "pruned" and r["feasible"] == 0
        assert "TPOT" in r["reason"] and "tpot_slo_ms 40" in r["reason"]
        assert r["tpot_ms"] > 40 and r["tokens_per_s_per_chip"] > 0
    for r in got:
        if r["status"] == "ok":
            assert r["tpot_ms"] <= 40 and r["ttft_ms"] <= 2000 and r["feasible"] == 1
    # a metric constraint prunes after the point, metrics kept, reason names it
    s = sweep_from_yaml(SPEC + 'constraints:\n  - {name: fast_ttft, require: "ttft_s <= 0.3", '
                               'reason: "interactive"}\n', "t.yaml")
    assert [c.post for c in s.constraints] == [True]
    recs = Evaluator(s).evaluate(range(N))
    cut = [r for r in recs if r["reason"] and r["reason"].startswith("constraint fast_ttft")]
    assert cut and all(r["ttft_s"] > 0.3 and r["tokens_per_s_per_chip"] > 0
                       and r["reason"].endswith("(interactive)") for r in cut)
    assert {r["idx"] for r in cut} == {r["idx"] for r in got
                                       if r["status"] == "ok" and r["ttft_s"] > 0.3}
    # a constraint on architecture quantities prunes before any serving call
    s = sweep_from_yaml(SPEC + 'constraints:\n  - {name: c, require: "memory_gb <= 85"}\n',
                        "t.yaml")
    ev = Evaluator(s)
    recs = ev.evaluate(range(N))
    assert not s.constraints[0].post
    assert all(r["status"] == "pruned" and r["ttft_s"] is None for r in recs
               if r["hbm_stacks"] == 6)
    assert ev.serving.calls == 18                   # 5 stacks: 2 modes x 3 tp x 3 batches


def test_limit_then_resume_recomputes_nothing(tmp_path, reference):
    spec = sweep_from_yaml(SPEC, "t.yaml")
    p = tmp_path / "a.sqlite"
    s1 = run_sweep(spec, p, workers=0, limit=10, progress=False)
    assert not s1["complete"] and s1["stored"] == 16                # whole chunks: 2 x 8
    s2 = run_sweep(spec, p, workers=0, resume=True, progress=False)
    assert s2["complete"] and s2["evaluated_now"] == N - 16
    assert table(p) == table(reference)
    s3 = run_sweep(spec, p, workers=0, resume=True, progress=False)
    assert s3["evaluated_now"] == 0 and table(p) == table(reference)


def test_worker_processes_give_the_same_table(tmp_path, reference):
    spec = sweep_from_yaml(SPEC, "t.yaml")
    t = pickle.loads(pickle.dumps(spec))            # how workers get it
    assert t.serving == spec.serving and t.spec_hash() == spec.spec_hash()
    p = tmp_path / "w.sqlite"
    run_sweep(spec, p, workers=2, progress=False)
    assert table(p) == table(reference)


def test_pareto_on_serving_columns_matches_brute_force(reference, tmp_path, capsys):
    out = tmp_path / "f.csv"
    assert main(["pareto", str(reference), "--x", "tokens_per_s_per_user", "--y",
                 "tokens_per_s_per_chip", "--maximize", "tokens_per_s_per_user",
                 "--maximize", "tokens_per_s_per_chip", "--where", "mode = 'disaggregated'",
                 "--show", "hbm_stacks,mode,tp,batch,decode_mapping", "--csv", str(out)]) == 0
    assert "non-dominated" in capsys.readouterr().out
    with open(out, newline="") as fh:
        front = {int(r["idx"]) for r in csv.DictReader(fh)}
    with Store.open(reference, readonly=True) as st:
        d = st.read(["idx", "tokens_per_s_per_user", "tokens_per_s_per_chip"],
                    where="status = 'ok' AND mode = 'disaggregated'")
    x = np.stack([d["tokens_per_s_per_user"], d["tokens_per_s_per_chip"]], axis=1)
    want = set(d["idx"][pareto_brute(x, [True, True])].tolist())
    assert front == want and len(front) >= 2


def test_bundled_serving_study_runs(tmp_path, capsys):
    spec = load_sweep("serving-study")
    assert len(spec) == 320 and spec.serving["framework"] == "vllm"
    p = tmp_path / "s.sqlite"
    assert main(["sweep", "serving-study", "-o", str(p), "--workers", "0",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "320 of 320 points stored" in out
    with Store.open(p, readonly=True) as st:
        counts = st.status_counts()
        assert counts.get("ok", 0) > 200 and counts.get("error", 0) == 0
        assert st.count() == 320


def test_spec_without_serving_is_unchanged():
    spec = load_sweep("split-study-small")
    assert spec.serving is None and Evaluator(spec).serving is None
    assert "serving" not in spec.canonical()
    # the columns the store always had (a serving block is what changes them)
    assert list(store_columns(spec)) == [
        "idx", "chunk", "status", "reason", "cores", "stacks", "clock", "batch", "precision",
        "model", "tp", "pp", "ep", "dp", "attention_dp", "devices_per_package", "input_len",
        "output_len", "dies_0_area_mm2", "ttft_s", "tpot_s", "tokens_per_s",
        "tokens_per_s_per_chip", "tokens_per_s_per_user", "request_latency_s",
        "tokens_per_s_e2e", "j_per_token", "j_per_token_prefill", "power_w", "power_prefill_w",
        "package_cost_usd", "system_cost_usd", "usd_per_mtoken", "memory_used_gib",
        "prefill_bound_share", "decode_bound_share", "prefill_bound", "decode_bound"]
    # the same spec with serving: {} is a different sweep (another hash, other columns)
    src = dict(spec.source, serving={})
    s2 = type(spec).from_dict(src)
    assert s2.serving is not None and s2.spec_hash() != spec.spec_hash()
    assert "j_per_token_prefill" not in store_columns(s2) and "feasible" in store_columns(s2)
    assert "j_per_token" in store_columns(s2) and "power_w" in store_columns(s2)


BASE = """\
name: t
base: h100-sxm
workload: {model: llama3.1-70b, precision: fp8, traffic: chat}
"""


@pytest.mark.parametrize("extra, line, needle", [
    ("serving: {decode_bath: 8}\n", 4, "did you mean 'decode_batch'"),
    ("serving: {mode: colocate}\n", 4, "did you mean 'colocated'"),
    ("serving: {framework: vlm}\n", 4, "did you mean 'vllm'"),
    ("serving: {chunk: 1}\n", 4, "integer >= 2"),
    ("serving: {tpot_slo_ms: -5}\n", 4, "positive number"),
    ("serving: [1]\n", 4, "expected a mapping"),
    ("serving: {}\naxes:\n  - {name: decode_bach, values: [8]}\n", 6,
     "did you mean 'decode_batch'"),
    ("serving: {}\naxes:\n  - {name: mode, values: [colocated, disagregated]}\n", 6,
     "did you mean 'disaggregated'"),
    ("serving: {}\naxes:\n  - {name: decode_batch, low: 1, high: 8}\n"
     "sampling: {method: random, n: 4}\n", 6, None),
    ("axes:\n  - {name: decode_batch, values: [8]}\n", 5, "add a top-level `serving:` block"),
    ("serving: {concurrency: 8}\naxes:\n  - {name: batch, values: [8]}\n", 4,
     "either batch or concurrency"),
    ("serving: {}\naxes:\n  - {name: devices_per_package, values: [2]}\n", 6, "no meaning"),
    ("serving: {}\noptions: {tpot_context: end}\n", 5, "not used by a serving sweep"),
    ("serving: {}\nconstraints:\n  - {name: c, require: \"world <= 8\"}\n", 6,
     "unknown name(s) world"),
    ("serving: {}\nconstraints:\n  - {name: c, require: \"power_prefill_w < 700\"}\n", 6,
     "unknown name(s) power_prefill_w"),
])
def test_bad_serving_specs_name_file_and_line(extra, line, needle):
    text = BASE + textwrap.dedent(extra)
    if needle is None:                               # a valid spec: integer serving axis
        s = sweep_from_yaml(text, "t.yaml")
        assert all(isinstance(p["decode_batch"], int) for p in s.points(range(4)))
        return
    with pytest.raises(SpecError) as ei:
        sweep_from_yaml(text, "t.yaml")
    msg = str(ei.value)
    assert msg.startswith(f"t.yaml:{line}:"), msg
    assert needle in msg, msg


def test_serving_keys_fixed_and_swept():
    s = sweep_from_yaml(BASE.replace("traffic: chat", "traffic: chat, tp: 4") +
                        textwrap.dedent("""\
        serving: {mode: colocated, max_packages: 16, framework: null}
        axes:
          - {name: framework, values: [none, sglang]}
          - {name: chunk, values: [2048, 8192]}
          - {name: ttft_slo_ms, values: [500, 2000]}
        """), "t.yaml")
    assert s.serving["framework"] == DEFAULT_FRAMEWORK and s.serving["max_packages"] == 16
    assert len(s) == 8 and s.options["chunk_size"] == 256
    canon = s.canonical()["serving"]
    assert set(canon["frameworks"]) == {"none", "sglang"}
    ev = Evaluator(s)
    recs = ev.evaluate(range(8))
    for r in recs:
        assert r["mode"] == "colocated" and r["mapping"] == "tp4"
        d = evaluate_config(_arch(5), "llama3.1-70b", "chat", "colocated", precision="fp8",
                            tp=4, chunk=r["chunk"], framework=r["framework"],
                            ttft_slo_ms=r["ttft_slo_ms"], max_packages=16)
        assert r["tokens_per_s_per_chip"] == d["tokens_per_s_per_chip"]
        assert r["ttft_ms"] == d["ttft_ms"] and r["feasible"] == int(d["feasible"])
        assert (r["status"] == "ok") == d["feasible"]
    assert math.isclose(recs[0]["frontend_s"], 0.0)           # framework none
