"""The serving framework option (framework.py): one home for the fitted costs outside the kernels,
hand-computed closed forms with the costs on, steady state vs DES with the costs on, the
documented default, the CLI stating what it includes."""
import json
import runpy

import pytest

from chipletarch.errors import SpecError
from chipletarch.serving import (DEFAULT_FRAMEWORK, FRAMEWORKS, FrameworkCosts,
                                 colocated_point, decode_pool, disaggregated_point,
                                 framework_costs)
from chipletarch.serving import framework as FW
from chipletarch.serving.des import run_colocated, run_disaggregated
from chipletarch.serving.latency import decode_step, mixed_step

from serving_toy import A, BP, C0, D, E, inst, toy  # noqa: F401
F, S, FE, HO = 1e-3, 2e-5, 0.05, 0.1      # fixed, per sequence, front-end, hand-over (s)
COSTS = FrameworkCosts("test", F, S, FE, HO)


# ----------------------------------------------------------------------------- values, one place
def test_default_is_vllm_and_documented():
    assert DEFAULT_FRAMEWORK == "vllm"
    assert FRAMEWORKS == ("none", "trtllm", "vllm", "sglang")
    assert framework_costs(None) == framework_costs("vllm")
    from chipletarch.report.config import ServingSpec
    assert ServingSpec().framework == DEFAULT_FRAMEWORK
    from pathlib import Path
    doc = (Path(__file__).resolve().parents[1] / "docs" / "SERVING.md").read_text()
    assert f"default `{DEFAULT_FRAMEWORK}`" in doc


def test_fitted_values_live_in_framework_py_only():
    from chipletarch.serving import validate as V
    assert V.HOST_OVERHEAD == FW.HOST_OVERHEAD and V.HOST_OVERHEAD is not FW.HOST_OVERHEAD
    assert V.FRONTEND_S == FW.FRONTEND_S and V.HANDOVER_S == FW.HANDOVER_S
    assert V.HANDOVER_S is not FW.HANDOVER_S and V.HANDOVER_POOLED_S == FW.HANDOVER_POOLED_S
    assert V.handover_s() == FW.handover_s() == FW.HANDOVER_POOLED_S     # no backend: pooled
    for be in ("trtllm", "vllm", "sglang"):
        c = framework_costs(be)
        assert (c.fixed_s, c.per_sequence_s) == FW.HOST_OVERHEAD[be] == V.host_overhead(be)
        assert c.frontend_s == FW.FRONTEND_S[be] == V.frontend_s(be)
        assert c.handover_s == FW.handover_s(be) == V.handover_s(be)
        assert c.handover_s == FW.HANDOVER_S.get(be, FW.HANDOVER_POOLED_S)
        assert c.as_dict()["fit"]["commit"] == FW.FIT["commit"]
    # SGLang has its own hand-over; TensorRT-LLM's fit ran to the search bound (not kept, see
    # test_handover_fit_at_the_bound_falls_back_to_pooled); vLLM has no disaggregated rows
    assert set(FW.HANDOVER_S) == {"sglang"}
    assert framework_costs("vllm").handover_s == FW.HANDOVER_POOLED_S
    assert framework_costs("trtllm").handover_s == FW.HANDOVER_POOLED_S
    for k in ("data", "rows", "date", "commit", "handover"):
        assert FW.FIT[k]
    assert "training half" in FW.FIT["rows"]


def test_write_fitted_round_trips_and_stores(tmp_path):
    p = tmp_path / "framework.py"
    src = open(FW.__file__).read()
    p.write_text(src)
    FW.write_fitted(FW.HOST_OVERHEAD, FW.FRONTEND_S, FW.HANDOVER_S, FW.FIT, path=p,
                    handover_pooled=FW.HANDOVER_POOLED_S)
    assert p.read_text() == src                   # the stored block is what the writer writes
    fit = dict(FW.FIT, date="2030-01-01", commit="abc1234")
    FW.write_fitted({"vllm": (1.234e-3, 5.678e-6)}, {"vllm": 0.0123}, {"sglang": 0.0456}, fit,
                    path=p, handover_pooled=0.0789)
    ns = runpy.run_path(str(p), run_name="chipletarch.serving.framework_copy")
    assert ns["HOST_OVERHEAD"] == {"vllm": (1.234e-3, 5.678e-6)}
    assert ns["FRONTEND_S"] == {"vllm": 0.0123}
    assert ns["HANDOVER_S"] == {"sglang": 0.0456} and ns["HANDOVER_POOLED_S"] == 0.0789
    assert ns["handover_s"]("sglang") == 0.0456 and ns["handover_s"]("vllm") == 0.0789
    assert ns["FIT"]["commit"] == "abc1234" and ns["FIT"]["date"] == "2030-01-01"
    # the single-number form (before per-backend hand-overs): the pooled value for every backend
    FW.write_fitted({"vllm": (1e-3, 0.0)}, {"vllm": 0.0}, 0.25, fit, path=p)
    ns = runpy.run_path(str(p), run_name="chipletarch.serving.framework_copy")
    assert ns["HANDOVER_S"] == {} and ns["HANDOVER_POOLED_S"] == 0.25
    assert ns["framework_costs"]("vllm").handover_s == 0.25
    before = p.read_text()
    with pytest.raises(ValueError, match="pooled"):           # a dict needs the pooled fit
        FW.write_fitted(FW.HOST_OVERHEAD, FW.FRONTEND_S, {"sglang": 0.1}, fit, path=p)
    assert p.read_text() == before                             # and the file is left alone


def test_handover_per_backend_falls_back_to_pooled(monkeypatch):
    monkeypatch.setattr(FW, "HANDOVER_S", {"sglang": 0.1})
    monkeypatch.setattr(FW, "HANDOVER_POOLED_S", 0.2)
    assert framework_costs("sglang").handover_s == 0.1
    assert framework_costs("trtllm").handover_s == 0.2 == framework_costs("vllm").handover_s
    assert framework_costs("none").handover_s == 0.0 and FW.handover_s() == 0.2
    assert "hand-over 100 ms" in framework_costs("sglang").describe()
    assert "hand-over 200 ms" in framework_costs("trtllm").describe()
    assert "hand-over 1000 ms)" in FrameworkCosts("x", handover_s=1.0).describe()


def test_fit_request_latency_per_backend_hand_over_by_hand():
    """Hand-computed L1 fits: each backend's front-end latency on its aggregated training rows,
    each backend's hand-over on its disaggregated training rows (front-end added), the pooled
    hand-over on all of them; held-out rows play no part; the grid stops at 1 s."""
    from chipletarch.serving import validate as V

    def row(be, mode, split, pred, meas):
        return dict(backend=be, mode=mode, split=split, ttft_s=pred, measured_ttft_s=meas)
    rows = [row("trtllm", "agg", "train", p, p + 0.05) for p in (0.1, 0.2, 0.3)]
    rows += [row("trtllm", "agg", "held", 0.1, 2.0)]
    rows += [row("sglang", "agg", "train", p, p) for p in (0.1, 0.2)]
    # SGLang needs 100 ms more at every row; TensorRT-LLM needs 450 ms beyond its 50 ms front-end
    rows += [row("sglang", "disagg", "train", p, p + 0.1) for p in (0.2, 0.3, 0.4)]
    rows += [row("trtllm", "disagg", "train", 1.0, 1.5)]
    rows += [row("sglang", "disagg", "held", 0.2, 5.0), row("vllm", "agg", "train", 0.1, 0.13)]
    fe, ho, pooled = V.fit_request_latency(rows)
    assert fe == pytest.approx({"trtllm": 0.05, "sglang": 0.0, "vllm": 0.03}, abs=1e-9)
    assert ho == pytest.approx({"sglang": 0.1, "trtllm": 0.45}, abs=1e-9)
    # pooled: |d - 0.1| x (1/0.3 + 1/0.4 + 1/0.5) + |d - 0.45| / 1.5 is least at d = 0.1
    assert pooled == pytest.approx(0.1, abs=1e-9)
    assert V._l1_offset([0.0], [5.0]) == 1.0                   # bounded at 1 s
    fe, ho, pooled = V.fit_request_latency([r for r in rows if r["mode"] == "agg"])
    assert ho == {} and pooled == 0.0


def test_replay_write_needs_a_full_fit():
    from chipletarch.serving import validate as V
    for argv in (["--write"], ["--fit", "--write", "--limit", "3"]):
        with pytest.raises(SystemExit):
            V.main(argv)


def test_framework_names_and_statement():
    none = framework_costs("none")
    assert none.kernel_only and none.describe() == "framework: none (kernel time only)"
    assert framework_costs(COSTS) is COSTS
    assert "vLLM" in framework_costs("vllm").describe()
    own = FrameworkCosts("vllm", 2e-3)               # a backend's name, other values
    assert not own.fitted and "given costs" in own.describe()
    assert framework_costs("sglang").fitted and framework_costs("sglang").as_dict()["fitted"]
    with pytest.raises(SpecError, match="framework must be one of"):
        framework_costs("tgi")
    i = inst()
    assert none.apply(i) is i                     # kernel time only: the instance unchanged


# ----------------------------------------------------------------------------- closed forms
def test_decode_step_is_kernel_plus_fixed_plus_per_sequence_times_batch():
    j = COSTS.apply(inst())
    for b, ctx in ((1, 100), (32, 2048), (256, 8192)):
        kern = C0 + D * b + E * b * ctx
        assert decode_step(j.latency, b, ctx) == pytest.approx(kern + F + S * b, rel=1e-12)
    # the fitted vLLM values, written out: 0.6044 ms + 27.35 us per sequence (fit dee4423)
    v = framework_costs("vllm").apply(inst())
    assert decode_step(v.latency, 64, 1000) == pytest.approx(
        C0 + D * 64 + E * 64 * 1000 + 0.6044e-3 + 64 * 27.35e-6, rel=1e-12)


def test_steady_state_points_closed_form_with_costs():
    L, OSL, bp, bd, kv = 2000, 201, 4, 32, 0.003
    j = COSTS.apply(inst())
    tp = A + BP * bp * L + F + S * bp
    td = C0 + D * bd + E * bd * round(L + OSL / 2) + F + S * bd
    assert decode_pool(j, L, OSL, bd)["step_s"] == pytest.approx(td)
    pt = disaggregated_point(j, j, L, OSL, bp, bd, kv, frontend_s=FE, handover_s=HO)
    lp, md = bp / tp, bd / ((OSL - 1) * td)
    assert pt["tpot_s"] == pytest.approx(td)
    assert pt["ttft_s"] == pytest.approx(tp * 1.5 + kv + FE + HO)
    assert pt["tokens_per_s_per_chip"] == pytest.approx(OSL / (1 / lp + 1 / md))
    assert pt["handover_s"] == HO and pt["frontend_s"] == FE
    # co-located: TPOT is the mixed step with the overhead, TTFT gains the front-end mean
    a = colocated_point(inst(), 1000, 200, 32, 2048)
    b = colocated_point(j, 1000, 200, 32, 2048, frontend_s=FE)
    assert b["decode_batch"] == pytest.approx(a["decode_batch"])   # the balance is counts only
    bdi, p = int(round(a["decode_batch"])), max(1, int(round(a["prefill_tokens_per_step"])))
    assert b["tpot_s"] == pytest.approx(mixed_step(j.latency, bdi, 1000 + 100, p, 1000))
    assert b["tpot_s"] - a["tpot_s"] == pytest.approx(F + S * (bdi + 1), rel=1e-9)  # p <= L
    ttft_no_fe = colocated_point(j, 1000, 200, 32, 2048)["ttft_s"]
    assert b["ttft_s"] - ttft_no_fe == pytest.approx(FE, rel=1e-12)


# ----------------------------------------------------------------------------- steady vs DES
@pytest.mark.parametrize("costs", [COSTS, framework_costs("vllm"), framework_costs("sglang")],
                         ids=["test", "vllm", "sglang"])
def test_colocated_des_matches_steady_state_with_overhead(costs):
    costs = FrameworkCosts(costs.name, costs.fixed_s, costs.per_sequence_s)  # per-iteration only
    j = costs.apply(inst())
    for L, OSL, B, C in ((1000, 200, 32, 2048), (512, 512, 64, 4096)):
        s = colocated_point(j, L, OSL, B, C)
        d = run_colocated(j, L, OSL, chunk=C, max_batch=B, concurrency=B, n_requests=20 * B,
                          seed=1, ctx_bucket=1, token_bucket=1)
        assert d["tpot_s"] == pytest.approx(s["tpot_s"], rel=0.10)
        assert d["tokens_per_s"] == pytest.approx(s["tokens_per_s"], rel=0.15)
        # and the overhead moves both models the same way
        s0 = colocated_point(inst(), L, OSL, B, C)
        assert s["tpot_s"] > s0["tpot_s"] + costs.fixed_s


def test_disaggregated_des_matches_steady_state_with_overhead_and_handover():
    L, OSL, bp, bd = 2000, 201, 2, 32
    j = COSTS.apply(inst())
    s = disaggregated_point(j, j, L, OSL, bp, bd, kv_seconds=0.002, max_packages=12,
                            handover_s=HO)
    npw, ndw = s["prefill_instances"], s["decode_instances"]
    # enough clients to keep both pools busy, plus those in the hand-over (rate x HO)
    conc = ndw * bd + 2 * npw * bp + int(s["requests_per_s"] * HO) + 1
    d = run_disaggregated(j, j, L, OSL, n_prefill=npw, n_decode=ndw, prefill_batch=bp,
                          decode_batch=bd, kv_seconds=lambda n: 0.002, concurrency=conc,
                          n_requests=1500, seed=2, ctx_bucket=1, handover_s=HO)
    assert d["requests_per_s"] == pytest.approx(s["requests_per_s"], rel=0.10)
    assert d["tpot_s"] == pytest.approx(s["tpot_s"], rel=0.10)


# ----------------------------------------------------------------------------- on the engine
engine = pytest.importorskip("chipletarch.engine.simulate")


def test_evaluate_config_default_adds_the_fitted_costs():
    from chipletarch.serving import evaluate_config
    kw = dict(isl=4096, osl=256, prefill_tp=1, decode_tp=1, prefill_batch=2, decode_batch=64)
    none = evaluate_config("h100-sxm", "llama3.1-8b", None, "disaggregated", framework="none",
                           **kw)
    dflt = evaluate_config("h100-sxm", "llama3.1-8b", None, "disaggregated", **kw)
    assert none["framework"] == "none" and dflt["framework"] == DEFAULT_FRAMEWORK
    c = framework_costs(DEFAULT_FRAMEWORK)
    # fluid pools: TPOT = the decode step, + fixed + per_sequence x 64
    assert dflt["tpot_ms"] - none["tpot_ms"] == pytest.approx(
        (c.fixed_s + c.per_sequence_s * 64) * 1e3, rel=1e-9)
    # TTFT = 1.5 prefill steps (each + fixed + per_sequence x 2) + transfer + front-end + hand-over
    assert dflt["ttft_ms"] - none["ttft_ms"] == pytest.approx(
        (1.5 * (c.fixed_s + 2 * c.per_sequence_s) + c.frontend_s + c.handover_s) * 1e3,
        rel=1e-9)
    assert dflt["tokens_per_s_per_chip"] < none["tokens_per_s_per_chip"]


def test_evaluate_point_and_study_name_the_framework():
    from chipletarch.serving import ServingStudy, evaluate_point
    small = dict(batches=(1, 64), chunks=(2048,), prefill_batches=(1,), max_tp=1)
    d = evaluate_point("h100-sxm", "llama3.1-8b", None, "both", isl=1024, osl=256, **small)
    assert d["framework"] == DEFAULT_FRAMEWORK
    st = ServingStudy("h100-sxm", "llama3.1-8b", "bf16", 1024, 256, framework="trtllm",
                      **small)
    assert st.framework == "trtllm" and st.costs == framework_costs("trtllm")
    st0 = ServingStudy("h100-sxm", "llama3.1-8b", "bf16", 1024, 256, framework="none",
                       **small)
    co, co0 = st.points()[0], st0.points()[0]
    assert len(co) == len(co0)
    for p, p0 in zip(co, co0):
        assert p["tpot_s"] > p0["tpot_s"] and p["ttft_s"] > p0["ttft_s"] + 0.06  # 63 ms front-end
    with pytest.raises(SpecError, match="framework"):
        ServingStudy("h100-sxm", "llama3.1-8b", "bf16", 1024, 256, framework="nope", **small)


def test_cli_serve_states_the_framework(capsys):
    from chipletarch.cli import main
    args = ["serve", "h100-sxm", "llama3.1-8b", "--isl", "1024", "--osl", "256",
            "--ttft-slo", "2000", "--max-tp", "1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1] == framework_costs(DEFAULT_FRAMEWORK).describe()
    assert "framework: vllm (kernel time + vLLM costs" in out
    assert main(args + ["--framework", "none"]) == 0
    assert "framework: none (kernel time only)" in capsys.readouterr().out
    assert main(args + ["--framework", "sglang", "--json"]) == 0
    js = json.loads(capsys.readouterr().out)
    assert js["framework"]["name"] == "sglang" and js["framework"]["fitted"]
    assert js["framework_note"].startswith("framework: sglang (kernel time + SGLang costs")
    with pytest.raises(SystemExit):
        main(args + ["--framework", "tgi"])


def test_report_config_framework_key():
    from chipletarch.report.config import config_from_dict
    base = {"designs": ["h100-sxm"], "workloads": [{"model": "llama3.1-8b"}]}
    cfg = config_from_dict({**base, "serving": {"traffic": "chat", "framework": "none"}})
    assert cfg.serving.framework == "none"
    with pytest.raises(SpecError, match="framework"):
        config_from_dict({**base, "serving": {"traffic": "chat", "framework": "tgi"}})


def test_handover_fit_at_the_bound_falls_back_to_pooled():
    # hand-computed rows (seconds): backend "a" misses by 0.1 s on each row -> fitted 0.1 s;
    # backend "b" misses by 5 s, more than the 1 s search bound -> not kept (pooled instead);
    # the pooled L1 fit over all four rows lies between them
    from chipletarch.serving import validate as V
    rows = [dict(backend=be, mode="disagg", split="train", ttft_s=p, measured_ttft_s=m)
            for be, p, m in (("a", 0.2, 0.3), ("a", 0.4, 0.5), ("b", 1.0, 6.0), ("b", 2.0, 7.0))]
    fe, ho, pooled = V.fit_request_latency(rows)
    assert fe == {}
    assert ho == {"a": pytest.approx(0.1)}            # "b" ran to HANDOVER_MAX_S: dropped
    assert V.HANDOVER_MAX_S == 1.0 and 0.1 <= pooled <= V.HANDOVER_MAX_S
