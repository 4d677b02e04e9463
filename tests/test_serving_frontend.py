"""The serving front-end as one serial server (des.run_colocated frontend_request_s /
frontend_token_s) and the replay's benchmark-client lengths (validate.UniformLengths):
hand-computed cases."""
import csv

import numpy as np
import pytest

from chipletarch.serving.des import run_colocated

from serving_toy import A, BP, C0, D, E, inst, toy  # noqa: F401


def test_second_request_waits_for_the_first_ones_turn():
    """Two clients at t = 0, one-token answers (OSL 1), 0.1 s of front-end work per request.
    The first reaches the scheduler at 0 and is prefilled alone: 10 ms + 64 x 20 us = 11.28 ms;
    its token hands the front-end 40 ms more, queued behind the second request's turn. The
    second reaches the scheduler at 0.1 s, the engine idle: TTFT 0.1 + 0.01128 s."""
    kw = dict(chunk=2048, max_batch=8, concurrency=2, n_requests=2, warmup=0.0)
    r = run_colocated(inst(), 64, 1, frontend_request_s=0.1, frontend_token_s=0.04, **kw)
    assert r["ttft_s"] == pytest.approx((0.01128 + 0.11128) / 2, abs=1e-12)
    r0 = run_colocated(inst(), 64, 1, **kw)                    # both in one prefill
    assert r0["ttft_s"] < 0.03


def test_one_client_below_capacity_is_not_delayed():
    """One client: the front-end's work (5 ms per request, 0.1 ms per token) is done long before
    the request ends (prefill 12 ms + 19 decode steps of 5 ms). A new request waits only for
    the last token of the previous one (0.1 ms): every measured request (the first is in the
    warm-up), TTFT + 0.1 ms;
    TPOT unchanged."""
    kw = dict(chunk=2048, max_batch=8, concurrency=1, n_requests=30)
    a = run_colocated(inst(), 100, 20, **kw)
    b = run_colocated(inst(), 100, 20, frontend_request_s=0.005, frontend_token_s=1e-4, **kw)
    assert b["ttft_s"] == pytest.approx(a["ttft_s"] + 1e-4, abs=1e-12)     # first in warm-up
    assert b["tpot_s"] == pytest.approx(a["tpot_s"], abs=1e-12)


def test_saturated_front_end_caps_requests_per_second_and_waits_in_ttft():
    """64 clients, 5 ms + 50 x 0.5 ms = 30 ms of front-end work per request: at most 33.3
    requests/s, less than half of what the engine serves at batch 64 (about 80). Throughput is
    the front-end's capacity; the closed loop's other requests wait before the scheduler
    (TTFT = concurrency / rate - the time in the engine, Little's law), and the engine runs a
    small batch, so TPOT falls."""
    kw = dict(chunk=8192, max_batch=64, concurrency=64, n_requests=3000, warmup=0.3)
    free = run_colocated(inst(), 200, 50, **kw)
    r = run_colocated(inst(), 200, 50, frontend_request_s=0.005, frontend_token_s=5e-4, **kw)
    cap = 1.0 / (0.005 + 50 * 5e-4)
    assert free["requests_per_s"] > 2 * cap
    assert r["requests_per_s"] == pytest.approx(cap, rel=0.02)
    in_engine = r["ttft_s"] + 49 * r["tpot_s"]
    assert 64 / cap == pytest.approx(in_engine, rel=0.05)
    assert r["ttft_s"] > 0.5 * 64 / cap
    assert r["tpot_s"] < free["tpot_s"]


def test_uniform_lengths_follow_benchmark_serving_range_ratio():
    from chipletarch.serving.validate import UniformLengths
    u = UniformLengths(1024, 0.8)
    x = u.sample(20000, np.random.default_rng(0))
    assert x.min() == 819 and x.max() == 1024            # [int(0.8 x 1024), 1024]
    assert x.mean() == pytest.approx((819 + 1024) / 2, rel=0.01)


def test_benchmark_client_of_each_row():
    from chipletarch.serving import validate as V
    rows = list(csv.DictReader(open(V.default_csv())))
    kinds = {V.benchmark_client(r) for r in rows}
    assert kinds == {"inferencemax", "aiconfigurator"}
    for r in rows:
        if V.benchmark_client(r) == "inferencemax":
            assert (int(r["isl"]), int(r["osl"])) in ((1024, 1024), (1024, 8192), (8192, 1024))
            isl, osl = V._lengths(r, 1024, 1024)
            assert (isl.lo, isl.hi, osl.lo, osl.hi) == (819, 1024, 819, 1024)
        else:
            assert V._lengths(r, 1024, 128) == (1024, 128)


def test_benchmark_protocol_per_client():
    """Requests per client: 'fixed' = the --requests-per-client / --warmup-per-client values for
    every row; 'client' = InferenceMAX 10 per client, AIConfigurator's aiperf 50 per client (its
    2 x CONC warm-up is drained before profiling, so not simulated); capped at MAX_REQUESTS but
    never below one wave of CONC."""
    from chipletarch.serving import validate as V
    rows = list(csv.DictReader(open(V.default_csv())))
    imx = next(r for r in rows if V.benchmark_client(r) == "inferencemax")
    aic = next(r for r in rows if V.benchmark_client(r) == "aiconfigurator")
    old = (V.BENCH_PROTOCOL, V.REQUESTS_PER_CLIENT, V.WARMUP_PER_CLIENT)
    try:
        V.BENCH_PROTOCOL = "fixed"
        assert V.protocol(aic) == V.protocol(imx) == (10, 0)
        assert V.n_requests(aic, 8) == (80, 0.0)
        V.REQUESTS_PER_CLIENT, V.WARMUP_PER_CLIENT = 50, 2       # warm-up in the same loop
        n, w = V.n_requests(aic, 8)
        assert n == 416 and w == pytest.approx(16 / 416)
        assert V.n_requests(aic, 64) == (3000, pytest.approx(128 / 3000))
        V.BENCH_PROTOCOL = "client"                               # ignores the fixed values
        assert V.protocol(imx) == (10, 0) and V.protocol(aic) == (50, 0)
        assert V.n_requests(imx, 8) == (80, 0.0)
        assert V.n_requests(aic, 8) == (400, 0.0)
        assert V.n_requests(aic, 64) == (V.MAX_REQUESTS, 0.0) == (3000, 0.0)
        assert V.n_requests(aic, 5000) == (5000, 0.0)             # one wave at least
    finally:
        V.BENCH_PROTOCOL, V.REQUESTS_PER_CLIENT, V.WARMUP_PER_CLIENT = old


def test_row_precision_follows_a_block_scaled_fp8_checkpoint():
    # DeepSeek-R1's published config.json declares weight_block_size [128, 128]: its "fp8" rows
    # are the block-scaled checkpoint; a bf16 checkpoint quantised to FP8 stays per-tensor
    from chipletarch.serving import validate as V
    row = dict(model_path="deepseek-ai/DeepSeek-R1", precision="fp8", gemm_quant_mode="fp8")
    assert V._precision(row) == "fp8_block"
    assert V._precision(dict(row, model_path="Qwen/Qwen3-32B")) == "fp8"
    assert V._precision(dict(row, model_path="Qwen/Qwen3-32B", gemm_quant_mode="")) == "bf16"
    assert V._precision(dict(row, model_path="Qwen/Qwen3-235B-A22B-FP8",
                             gemm_quant_mode="fp8_block")) == "fp8_block"


def test_token_budget_follows_the_deployment_that_measured_the_row():
    """AIConfigurator's generator deploys TensorRT-LLM aggregated workers with max_num_tokens =
    batch + ISL + 1500 rounded up to 32 tokens (its trtllm.rule); every other row (vLLM,
    SGLang, InferenceMAX's, disaggregated) keeps the engines' default 8192; BUDGET = 'default'
    gives 8192 everywhere."""
    from chipletarch.serving import validate as V
    rows = list(csv.DictReader(open(V.default_csv())))
    trt = next(r for r in rows if r["backend"] == "trtllm" and r["mode"] == "agg"
               and V.benchmark_client(r) == "aiconfigurator")
    vllm = next(r for r in rows if r["backend"] == "vllm" and r["mode"] == "agg")
    imx = next(r for r in rows if V.benchmark_client(r) == "inferencemax")
    dis = next(r for r in rows if r["mode"] == "disagg")
    old = V.BUDGET
    try:
        V.BUDGET = "client"
        assert V.token_budget(trt, 64, 1024) == 2592        # 2588 -> next multiple of 32
        assert V.token_budget(trt, 128, 4096) == 5728       # 5724 -> 5728
        assert V.token_budget(trt, 8, 2048) == 3584         # 3556 -> 3584
        assert V.token_budget(trt, 4, 1024) == 2528         # 79 x 32 already: unchanged
        for r in (vllm, imx, dis):
            assert V.token_budget(r, 64, 1024) == V.TOKEN_BUDGET == 8192
        V.BUDGET = "default"
        assert V.token_budget(trt, 64, 1024) == 8192
    finally:
        V.BUDGET = old


def test_replay_runs_each_row_at_its_token_budget(monkeypatch):
    """predict_row hands the DES the row's budget: batch + ISL + 1500 (to 32) for an
    AIConfigurator TensorRT-LLM aggregated row, 8192 for a vLLM one."""
    from chipletarch.arch import load_architecture
    from chipletarch.serving import validate as V
    seen = []

    def fake(inst, isl, osl, **kw):
        seen.append(kw["chunk"])
        return {"ttft_s": 0.1, "tpot_s": 0.01}
    monkeypatch.setattr(V, "run_colocated", fake)
    rows = list(csv.DictReader(open(V.default_csv())))
    trt = next(r for r in rows if r["backend"] == "trtllm" and r["mode"] == "agg"
               and r["model_path"] == "meta-llama/Llama-3.1-8B-Instruct")
    vll = next(r for r in rows if r["backend"] == "vllm" and r["mode"] == "agg"
               and r["model_path"] == "Qwen/Qwen3-32B")
    arch = load_architecture("h100-sxm")
    p = V.predict_row(trt, arch)
    want = -(-(p["batch"] + int(float(trt["isl"])) + 1500) // 32) * 32
    V.predict_row(vll, arch)
    assert seen == [want, 8192]


def test_activation_scales_follow_the_checkpoint_the_row_names():
    """Per-tensor FP8 GEMMs on a 16-bit checkpoint (Qwen/Qwen3-32B, meta-llama/Llama-3.1-70B:
    quantised at load time, no calibrated activation scales) run with dynamic scales
    (act_quant True); an FP8 checkpoint (Qwen3-235B-A22B-FP8), an MXFP4 one (gpt-oss) and every
    16-bit or block-scaled row keep the serving default (None); ACT_SCALES 'static' or an
    explicit --act-quant override the rule."""
    from chipletarch.serving import validate as V
    rows = [r for r in csv.DictReader(open(V.default_csv())) if r["system"] == "h100_sxm"
            and r["model_path"] in V.MODELS]
    got = {}
    for r in rows:
        if r["mode"] == "agg" or r["backend"] == "sglang":
            p = V._row_precision(r)
            got.setdefault((r["model_path"], getattr(p, "name", p)), set()).add(
                V.act_scales(r, p))
    assert got[("Qwen/Qwen3-32B", "fp8")] == {True}
    assert got[("meta-llama/Llama-3.1-70B", "fp8")] == {True}
    assert got[("Qwen/Qwen3-235B-A22B-FP8", "fp8")] == {None}
    assert got[("openai/gpt-oss-120b", "fp8")] == {None}
    assert got[("Qwen/Qwen3-32B", "bf16")] == {None}
    assert got[("deepseek-ai/DeepSeek-R1", "fp8_block")] == {None}
    qwen = next(r for r in rows if r["model_path"] == "Qwen/Qwen3-32B"
                and V._precision(r) == "fp8")
    old = (V.ACT_SCALES, V.ACT_QUANT)
    try:
        V.ACT_SCALES = "static"
        assert V.act_scales(qwen, "fp8") is None
        V.ACT_SCALES, V.ACT_QUANT = "checkpoint", False
        assert V.act_scales(qwen, "fp8") is False
    finally:
        V.ACT_SCALES, V.ACT_QUANT = old
