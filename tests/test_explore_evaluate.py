"""The batched sweep evaluator against the engine's own entry points, and pruning reasons."""
from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest

from chipletarch.cost import package_cost, token_cost
from chipletarch.explore import Evaluator, load_sweep, reference_point, sweep_from_yaml

METRIC_KEYS = ("ttft_s", "tpot_s", "tokens_per_s", "tokens_per_s_per_chip", "j_per_token",
               "j_per_token_prefill", "power_w", "power_prefill_w", "package_cost_usd",
               "usd_per_mtoken",
               "decode_bound", "prefill_bound")


def _check_against_reference(spec, records):
    for rec in records:
        ref = reference_point(spec, rec["idx"])
        assert rec["status"] == ref["status"] == "ok"
        for k in METRIC_KEYS:
            if isinstance(ref[k], str):
                assert rec[k] == ref[k], (rec["idx"], k)
            else:
                assert rec[k] == pytest.approx(ref[k], rel=1e-9), (rec["idx"], k)


def test_batched_equals_simulate_energy_and_cost():
    spec = load_sweep("split-study-small")
    recs = Evaluator(spec).evaluate(range(len(spec)))
    ok = [r for r in recs if r["status"] == "ok"]
    assert len(ok) == 84
    # every 7th ok point: both precisions, all batches, both stack counts and clocks
    _check_against_reference(spec, ok[::7])
    # throughput and per-user rate follow from TPOT
    r = ok[5]
    assert r["tokens_per_s"] == pytest.approx(r["batch"] / r["tpot_s"])
    assert r["tokens_per_s_per_user"] == pytest.approx(1 / r["tpot_s"])
    assert r["request_latency_s"] == pytest.approx(r["ttft_s"] + r["output_len"] * r["tpot_s"])
    assert r["tokens_per_s_e2e"] == pytest.approx(
        r["batch"] * r["output_len"] / r["request_latency_s"])
    assert r["tokens_per_s_e2e"] < r["tokens_per_s"]


MULTI = """\
name: multi
base: ucie4-hbm4
workload: {model: llama3.1-8b, precision: fp8, batch: 8, input_len: 512, output_len: 128}
axes:
  - {name: link, path: "topology[0].link.bandwidth_gb_s", values: [256, 2048]}
  - {name: devices_per_package, values: [1, 2, 4]}
  - {name: tp, values: [1, 2, 4, 8]}
  - {name: model, values: [llama3.1-8b, mixtral-8x7b]}
  - {name: ep, values: [1, 2]}
  - {name: pp, values: [1, 2]}
"""


def test_batched_equals_reference_for_multi_device_packages_and_collectives():
    spec = sweep_from_yaml(MULTI, "multi.yaml")
    recs = Evaluator(spec).evaluate(range(len(spec)))
    ok = [r for r in recs if r["status"] == "ok"]
    assert {(r["devices_per_package"], r["tp"]) for r in ok} >= {(2, 2), (4, 4), (4, 8), (1, 8)}
    assert any(r["ep"] == 2 and r["model"] == "mixtral-8x7b" for r in ok)
    assert any(r["pp"] == 2 and r["devices_per_package"] == 4 for r in ok)
    _check_against_reference(spec, ok)
    # narrow D2D links make the 4-device package slower, never faster
    by = {(r["link"], r["devices_per_package"], r["tp"], r["model"], r["ep"], r["pp"]): r
          for r in ok}
    for (link, dpp, tp, model, ep, pp), r in by.items():
        wide = by.get((2048, dpp, tp, model, ep, pp))
        if link == 256 and wide is not None:
            assert r["tpot_s"] >= wide["tpot_s"] * (1 - 1e-12)
    # ep=2 on a dense model and a split the package cannot hold are pruned with reasons
    pruned = [r for r in recs if r["status"] == "pruned"]
    reasons = {r["reason"].split(":")[0] for r in pruned}
    assert "mapping" in reasons
    assert any("ep=2" in r["reason"] or "expert" in r["reason"] for r in pruned
               if r["model"] == "llama3.1-8b" and r["ep"] == 2)


PRUNE = """\
name: prune
base: ucie4-hbm4
workload: {model: llama3.1-70b, precision: bf16, input_len: 1024, output_len: 1024}
axes:
  - {name: cores, path: "dies[0].cores", values: [32, 200]}
  - {name: stacks, path: "memory[0].count", values: [4, 8]}
  - {name: devices_per_package, values: [1, 3]}
  - {name: batch, values: [1, 2, 2048]}
derived:
  "dies[0].area_mm2": "base.dies[0].area_mm2 * cores / base.dies[0].cores"
constraints:
  - {name: cost_cap, require: "package_cost_usd <= 7000", reason: "budget"}
  - {name: power, require: "max(power_w, power_prefill_w) <= tdp_w", reason: "TDP"}
  - {name: slo, require: "ttft_s <= 0.15", reason: "150 ms TTFT"}
"""


def test_pruning_records_reasons():
    spec = sweep_from_yaml(PRUNE, "prune.yaml")
    recs = Evaluator(spec).evaluate(range(len(spec)))
    by = {(r["cores"], r["stacks"], r["devices_per_package"], r["batch"]): r for r in recs}
    # 200 cores -> 1,288 mm^2 chiplets: past the reticle
    r = by[(200, 4, 1, 1)]
    assert r["status"] == "pruned" and r["reason"].startswith("reticle:")
    assert "858" in r["reason"]
    # 8 HBM4 stacks cost more than the cap
    r = by[(32, 8, 1, 1)]
    assert r["status"] == "pruned"
    assert r["reason"] == "constraint cost_cap: package_cost_usd <= 7000 (budget)"
    assert r["package_cost_usd"] > 7000
    # 3 devices cannot split 4 chiplets
    r = by[(32, 4, 3, 1)]
    assert r["status"] == "pruned" and r["reason"].startswith("placement:")
    # 70B in BF16 with 2,048 sequences of 2k tokens does not fit 144 GB
    r = by[(32, 4, 1, 2048)]
    assert r["status"] == "pruned" and r["reason"].startswith("memory: needs ")
    assert r["memory_used_gib"] > 144e9 / 2 ** 30
    r = by[(32, 4, 1, 1)]
    assert r["status"] == "ok" and r["memory_used_gib"] < 144e9 / 2 ** 30
    assert {r["status"] for r in recs} == {"ok", "pruned"}
    # constraints on metrics run after the evaluation: the point keeps its metrics
    assert [c.post for c in spec.constraints] == [False, True, True]
    r = by[(32, 4, 1, 2)]
    assert r["status"] == "pruned"
    assert r["reason"] == "constraint slo: ttft_s <= 0.15 (150 ms TTFT)"
    assert r["ttft_s"] > 0.15 and r["tpot_s"] > 0
    for r in recs:
        if r["status"] == "ok":
            assert r["ttft_s"] <= 0.15 and max(r["power_w"], r["power_prefill_w"]) <= 1000


def test_token_cost_linearisation_is_exact():
    spec = load_sweep("split-study-small")
    ev = Evaluator(spec)
    v = ev.arch_variant(spec.point(0), ev.workload_of(spec.point(0)))
    fn = v.token_cost_fn()
    pc = package_cost(v.arch)
    for tps, power in ((1.0, 1.0), (123.4, 350.0), (5e4, 980.0), (7.0, None)):
        # no energy figure: the architecture's TDP, as token_cost(arch, ...) defaults to
        want = token_cost(pc, tps, power_w=v.arch.tdp_w if power is None else power)
        assert fn(tps, power) == pytest.approx(want.usd_per_million_tokens, rel=1e-12)


def test_traffic_axis_sets_lengths():
    spec = sweep_from_yaml(textwrap.dedent("""\
        name: tr
        base: h100-sxm
        workload: {model: llama3.1-8b, precision: fp8, batch: 4}
        axes:
          - {name: traffic, values: [chat, summarization]}
        """), "tr.yaml")
    recs = Evaluator(spec).evaluate(range(2))
    assert recs[0]["input_len"] == 1024 and recs[0]["output_len"] == 1024
    assert recs[1]["input_len"] != recs[0]["input_len"] or \
        recs[1]["output_len"] != recs[0]["output_len"]
    assert all(r["status"] == "ok" and math.isfinite(r["tpot_s"]) for r in recs)


def test_self_check_catches_a_drifting_fast_path(monkeypatch):
    """Every chunk recomputes one point with simulate + energy_of; if the batched path stops
    agreeing (here: its per-table sums of the operators' energy doubled), the chunk's evaluated
    points become errors."""
    import chipletarch.explore.evaluate as E
    spec = load_sweep("split-study-small")
    good = Evaluator(spec).evaluate(range(12))
    assert {r["status"] for r in good} == {"ok"}
    per_table = E._RowSet.per_table

    def drifted(self, *a):
        out = per_table(self, *a)
        out["e_dev"] = out["e_dev"] * 2.0
        return out

    monkeypatch.setattr(E._RowSet, "per_table", drifted)
    bad = Evaluator(spec).evaluate(range(12))
    assert {r["status"] for r in bad} == {"error"}
    assert "self-check failed" in bad[0]["reason"] and "j_per_token" in bad[0]["reason"]
    # without the check the drift would have been stored silently
    quiet = Evaluator(spec, self_check=False).evaluate(range(12))
    assert {r["status"] for r in quiet} == {"ok"}
    assert quiet[0]["j_per_token"] > good[0]["j_per_token"]


SRAM_ONLY = """\
name: sram-only
base: simba
workload: {model: tiny, precision: int8, batch: 1, input_len: 16, output_len: 16}
axes:
  - {name: batch, values: [1, 2]}
"""


def test_batched_equals_reference_on_a_package_without_dram():
    """Simba keeps the model in its chiplets' SRAM: the sweep's energy copy charges those bytes
    as energy_of does (shared-cache pJ/bit) instead of failing on a missing DRAM stack."""
    spec = sweep_from_yaml(SRAM_ONLY, "sram-only.yaml")
    recs = Evaluator(spec).evaluate(range(len(spec)))
    ok = [r for r in recs if r["status"] == "ok"]
    assert len(ok) == 2, [r.get("reason") for r in recs]
    _check_against_reference(spec, ok)


IDLE = """\
name: idle-devices
base: {base}
workload: {{model: {model}, precision: {precision}, batch: 2, input_len: 64, output_len: 16}}
axes:
  - {{name: devices_per_package, values: {dpp}}}
  - {{name: tp, values: [1, 2, 4]}}
  - {{name: pp, values: [1, 2]}}
"""


@pytest.mark.parametrize("base,model,precision,dpp", [
    ("mi300x", "llama3.1-8b", "bf16", [4, 8]),     # DRAM stacks behind IODs, D2D rings
    ("simba", "tiny", "int8", [9, 36]),           # no DRAM: dies' SRAM as "stacks", 36 dies
])
def test_batched_equals_reference_with_idle_devices(base, model, precision, dpp):
    """Mappings with fewer ranks than the package has devices (tp x pp < dpp) leave devices,
    their stacks and their link traffic idle; the sweep's stack/link/port energy must follow the
    engine's routing of the running devices only, on a DRAM package and on an SRAM-only one."""
    spec = sweep_from_yaml(IDLE.format(base=base, model=model, precision=precision, dpp=dpp),
                           "idle.yaml")
    recs = Evaluator(spec).evaluate(range(len(spec)))
    ok = [r for r in recs if r["status"] == "ok"]
    assert len(ok) == len(spec), [r["reason"] for r in recs if r["status"] != "ok"]
    assert any(r["tp"] * r["pp"] < r["devices_per_package"] for r in ok)
    _check_against_reference(spec, ok)


@pytest.mark.parametrize("arch,dpp,kw", [
    ("mi300x", 8, dict(tp=2, pp=2)),          # 4 of 8 devices run, scope-0 rings of 2
    ("mi300x", 4, dict(tp=4)),                # the package-wide ring
    ("b200", 1, dict(tp=8)),                  # scale-up port
    ("simba", 36, dict(tp=4, pp=2)),          # SRAM "stacks", 8 of 36 devices
])
def test_resource_rows_price_to_energy_of(arch, dpp, kw):
    """The sweep prices evaluate_rows' per-row resource bytes with the energy model's own
    resource_energy_pj; energy_of prices the Result's per-resource sums with it. Row by row x
    repeat, the bytes must add up to the sums and the joules to energy_of's hbm/d2d/network."""
    from chipletarch.arch import load_architecture
    from chipletarch.energy import coefficients_of, energy_of, resource_energy_pj
    from chipletarch.engine import compile_design, evaluate_rows, simulate
    from chipletarch.workload import Mapping, load_model
    a = load_architecture(arch)
    model = "tiny" if arch == "simba" else "llama3.1-8b"
    prec = "int8" if arch == "simba" else "bf16"
    mapping = Mapping(dies_per_package=dpp, scaleup_packages=8, **kw)
    r = simulate(a, model, "decode", batch=4, context_len=128, precision=prec, mapping=mapping,
                 check_memory=False)
    t = load_model(model).operators("decode", 4, 1, 128, prec, mapping)
    res = evaluate_rows(t, compile_design(a, dpp), active=min(dpp, mapping.world),
                        resource_rows=True)
    rep = np.asarray(t.repeat, dtype=np.float64)
    rows = res["resource_rows"]
    for what, sums in (("stacks", r.stacks), ("links", r.links), ("ports", r.ports)):
        assert set(rows[what]) == set(sums)
        for name, d in sums.items():
            assert float(rows[what][name] @ rep) == pytest.approx(d["bytes"], rel=1e-12, abs=1e-6)
    e = energy_of(r, a)
    pkg_mult = mapping.world / (mapping.pp * dpp)
    priced = resource_energy_pj(coefficients_of(a), **rows)
    for comp, part in zip(("hbm", "d2d", "network"), priced):
        j = sum(float(v @ rep) for v in part.values()) * 1e-12 * pkg_mult
        assert j == pytest.approx(e.components[comp], rel=1e-12, abs=1e-18), comp
    assert e.components["hbm"] > 0
    if arch == "b200":
        assert e.components["network"] > 0
    elif arch == "mi300x":
        assert e.components["d2d"] > 0
