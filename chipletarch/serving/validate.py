"""Predict measured H100 serving deployments (TTFT, TPOT) and report the errors.

    python -m chipletarch.serving.validate [--csv PATH] [--out rows.csv] [--png scatter.png]

Each row of tests/data/silicon/e2e_silicon_calibration.csv describes a deployment: model,
precision, ISL/OSL, mode (agg / disagg), parallelism (tp, pp, attention-DP, MoE TP/EP, worker
counts), concurrency. It is replayed, with nothing fitted per row, as the benchmark that
measured it: a closed loop of `concurrency` clients with fixed ISL/OSL (`des.py`), each client
sending its next request when the previous one ends, `REQUESTS_PER_CLIENT` requests per client
(capped at `MAX_REQUESTS`), every request counted (no warm-up removed), mean TTFT and mean TPOT
reported. The source does not state how many requests each measurement ran; 10 per client is
the benchmark_serving / InferenceMAX convention (num_prompts = 10 x concurrency) and the default.
One request per client (a single synchronised wave) is the other bound; docs/VALIDATION.md gives
the errors of both (`--requests-per-client`), and of AIConfigurator's aiperf script (2 warm-up
requests per client left out, 50 measured: `--warmup-per-client 2 --requests-per-client 50`).
Nothing else is chosen by looking at the data, apart from the fitted costs below.

Row -> model: parallel layout in AIConfigurator's convention (tp_size = attention TP per DP
rank): ranks = tp x attention_dp; Mapping(tp = ranks, attention_dp, ep = moe_ep). Precision:
'' -> bf16; fp8 GEMMs -> fp8, or fp8_block where the checkpoint's config.json declares
block-scaled FP8 (DeepSeek-R1/V3); fp8_block -> fp8_block; gpt-oss 'fp4' on H100 (MXFP4 weights,
16-bit math: Hopper has no FP4 units) -> w4a16; per-tensor FP8 on a 16-bit checkpoint (quantised
at load time) with activation scales computed per forward pass (`act_scales`). Token budget per
iteration: what the row's deployment set (`token_budget`): AIConfigurator's TensorRT-LLM
aggregated workers batch + ISL + 1500 (its generator's rule), every other row 8192 (the default
max_num_tokens / max_num_batched_tokens / chunked_prefill_size of TensorRT-LLM, vLLM and SGLang
on H100; `--budget default` for every row). Engine settings common to all rows: batch capped by
concurrency and by the KV cache that fits in 90 % of HBM. Disaggregated rows: prefill / decode
worker counts and batch sizes as given (1 worker when the column is empty), KV over scale-out
between 16-GPU workers, scale-up otherwise (`kv.py`); TTFT ends when the decode instance admits
the request (it streams the first token). Overlap (asynchronous) scheduling as each engine's documented default
(`overlap_default`: TensorRT-LLM and SGLang on, vLLM from v0.14.0). KV cache in bf16 where the
row names an FP8 checkpoint without KV-cache scales (the engines' kv_cache_dtype "auto") is a
sensitivity (`--kv-cache auto`, `_row_precision`); the primary replay keeps the preset's KV
format, since the rows do not record the KV dtype a deployment set.

Costs outside the kernels (docs/SERVING.md), the only fitted parameters, seventeen stored,
fitted on the training half of the rows (`split`: CRC-32 parity of the deployment description)
and judged on the held-out half (`--fit` refits them and prints them, `--fit --write` stores
them with their provenance in `framework.py`, where the studies and `chipletarch serve` read
them; `--host off` / `--request off` / `--server off` replay without them): each backend's
per-iteration overhead, fixed + per sequence (`HOST_OVERHEAD`); each backend's mean front-end
latency (`FRONTEND_S`, exponential per request); each backend's disaggregated hand-over latency
(`HANDOVER_S`, fitted on that backend's disaggregated training rows; a backend without any, or
whose fit runs to the search bound `HANDOVER_MAX_S`, takes `HANDOVER_POOLED_S`, fitted on all
of them); and, for the replay's co-located DES only, each backend's serial front-end work per
request and per output token (`FRONTEND_SERVER`, aggregated rows; kept here, not in
`framework.py`, because the steady-state studies have no front-end queue to apply it to).

Request lengths follow the benchmark client that measured the row (`benchmark_client`):
InferenceMAX rows draw ISL and OSL uniformly from [0.8 L, L] as its benchmark_serving client does
with `--random-range-ratio 0.8`; the others keep fixed lengths (`--lengths fixed`: all fixed).
`--protocol client` runs each row's benchmark client's protocol (InferenceMAX 10 requests per
client; AIConfigurator's aiperf 50 per client after a drained warm-up; `protocol`); tried with
a full refit and not adopted (held-out TTFT worse, docs/VALIDATION.md), so the default is
`fixed`.

Rows that cannot be mapped are listed with the reason (model not bundled, concurrency not
stated, mapping the workload layer rejects).
"""
from __future__ import annotations

import argparse
import csv
import math
import re
import time
from pathlib import Path

import numpy as np

from ..errors import ChipletarchError
from . import framework as _fw
from .des import run_colocated, run_disaggregated
from .kv import kv_transfer
from .latency import Instance, SimLatency, with_host_overhead

REQUESTS_PER_CLIENT = 10
MAX_REQUESTS = 3000
TOKEN_BUDGET = 8192
# each backend's default way of mixing prompt tokens into decode iterations (des.POLICIES):
# vLLM V1 always chunks prefill into the decode batch; TensorRT-LLM's in-flight batching mixes
# whole context requests with generation (chunked context off by default); SGLang runs prefill
# batches on their own (mixed chunks off by default)
BACKEND_POLICY = {"vllm": "chunked", "trtllm": "whole", "sglang": "prefill_first"}
POLICY = "backend"        # or one of des.POLICIES for every row
# overlap (asynchronous) scheduling, des.run_colocated(overlap=True): the host schedules
# iteration k+1 before it has read the tokens of iteration k, so a new request waits one more
# iteration and a finished one rides one wasted iteration. Each engine's documented default:
# TensorRT-LLM's PyTorch backend on ("Overlap Scheduler ... Enabled by default", TensorRT-LLM
# docs; AIConfigurator's agg configs keep disable_overlap_scheduler: false); SGLang's
# zero-overhead overlap scheduler on since v0.4 (--disable-overlap-schedule turns it off); vLLM
# async scheduling opt-in until v0.14.0, on by default from v0.14.0 (release notes).
def overlap_default(backend: str, version: str) -> bool:
    if backend in ("trtllm", "sglang"):
        return True
    if backend == "vllm":
        nums = [int(x) for x in re.findall(r"\d+", version or "")[:2]]
        return len(nums) == 2 and tuple(nums) >= (0, 14)   # version not stated: off
    return False


OVERLAP = "backend"       # or "on" / "off" for every row
# warm-up requests per client run first and left out of the statistics (0 = every request
# counted; AIConfigurator's aiperf script: 2 warm-up + 50 measured per client)
WARMUP_PER_CLIENT = 0
# sensitivity only (not physics we can document): batch slots of a TensorRT-LLM aggregated
# instance unavailable to requests (max_batch_size = concurrency minus this)
TRTLLM_HELD_SLOTS = 0
# simulate's activation-quantisation switch: None = the engine's serving default (static
# per-tensor FP8 scales, nothing charged; block-scaled formats quantised at run time)
ACT_QUANT = None

# The costs outside the kernels live in `framework.py` (the one place that holds the fitted
# values and their provenance; the studies and `chipletarch serve` read them there). The replay
# works on copies, which `--fit` replaces in this process and `--fit --write` stores back.
# HOST_OVERHEAD: per-iteration framework cost of each backend, latency.HostOverhead: (fixed s,
# s per sequence in the iteration), fitted by `fit_host_overhead` on the training half of the
# rows (`split`); docs/VALIDATION.md gives the fit and the held-out errors. HOST = "off" replays
# without it.
HOST_OVERHEAD = dict(_fw.HOST_OVERHEAD)
HOST = "fitted"


def host_overhead(backend: str) -> tuple:
    return HOST_OVERHEAD.get(backend, (0.0, 0.0)) if HOST == "fitted" else (0.0, 0.0)


# per-request latencies outside the GPU iterations (des.py), fitted by `fit_request_latency` on
# the training half's TTFT: FRONTEND_S = each backend's serving front-end on a request's path to
# the scheduler (HTTP, chat template, tokenising, hand-off to the engine process; it delays
# when the request can be scheduled, and counts in TTFT); HANDOVER_S = the fixed part of a
# disaggregated prefill-to-decode hand-over beyond the transfer time (decode-side allocation,
# transfer set-up, completion notice), per backend: the KV hand-over stacks differ (SGLang's PD
# transfer engine, TensorRT-LLM / Dynamo's NIXL-UCX path); HANDOVER_POOLED_S, fitted on every
# backend's disaggregated rows, serves a backend with none of its own. REQUEST = "off" drops
# them all.
FRONTEND_S = dict(_fw.FRONTEND_S)
HANDOVER_S = dict(_fw.HANDOVER_S)
HANDOVER_POOLED_S = _fw.HANDOVER_POOLED_S
REQUEST = "fitted"


def frontend_s(backend: str) -> float:
    return FRONTEND_S.get(backend, 0.0) if REQUEST == "fitted" else 0.0


# the serving front-end's serial work (des.run_colocated frontend_request_s /
# frontend_token_s): (s per request, s per output token) done by one process in order, which
# bounds the requests/s the front-end passes to the engine; fitted by `fit_frontend_server` on
# the training half's aggregated TTFT. SERVER = "off" drops it.
FRONTEND_SERVER = {"trtllm": (12e-3, 90e-6), "vllm": (8e-3, 30e-6), "sglang": (4e-3, 0.0)}
SERVER = "fitted"


def frontend_server(backend: str) -> tuple:
    return FRONTEND_SERVER.get(backend, (0.0, 0.0)) if SERVER == "fitted" else (0.0, 0.0)


def handover_s(backend: str | None = None) -> float:
    """The hand-over of `backend`'s disaggregated rows: its own fit, else the pooled one (also
    for None); 0 with REQUEST = "off"."""
    if REQUEST != "fitted":
        return 0.0
    return HANDOVER_S.get(backend, HANDOVER_POOLED_S) if backend is not None \
        else HANDOVER_POOLED_S


# the deployment a row describes (measurements and provenance left out): rows measuring the
# same deployment twice fall in the same half
_DEPLOYMENT_KEYS = ("backend", "backend_version", "model_path", "system", "precision", "mode",
                    "isl", "osl", "gemm_quant_mode", "moe_quant_mode", "batch_size", "tp_size",
                    "pp_size", "attention_dp_size", "moe_tp_size", "moe_ep_size",
                    "prefill_batch_size", "prefill_num_workers", "prefill_tp_size",
                    "prefill_pp_size", "prefill_attention_dp_size", "prefill_moe_tp_size",
                    "prefill_moe_ep_size", "decode_batch_size", "decode_num_workers",
                    "decode_tp_size", "decode_pp_size", "decode_attention_dp_size",
                    "decode_moe_tp_size", "decode_moe_ep_size")


def split(row) -> str:
    """'train' or 'held': parity of the CRC-32 of the deployment description and concurrency
    (deterministic, blind to the measured values)."""
    import zlib
    key = "|".join(str(row.get(k, "")) for k in _DEPLOYMENT_KEYS) + f"|c{_concurrency(row)}"
    return "train" if zlib.crc32(key.encode()) % 2 == 0 else "held"


MODELS = {
    "meta-llama/Llama-3.1-8B-Instruct": "llama3.1-8b",
    "meta-llama/Llama-3.1-70B": "llama3.1-70b",
    "Qwen/Qwen3-32B": "qwen3-32b",
    "Qwen/Qwen3-235B-A22B-FP8": "qwen3-235b-a22b",
    "openai/gpt-oss-120b": "gpt-oss-120b",
    "deepseek-ai/DeepSeek-R1": "deepseek-r1",
    "deepseek-ai/DeepSeek-V3": "deepseek-v3",
}


def default_csv() -> Path:
    here = Path(__file__).resolve().parents[2]
    for p in (here / "tests" / "data" / "silicon" / "e2e_silicon_calibration.csv",
              here.parent / "shared" / "reference" / "silicon" / "e2e_silicon_calibration.csv"):
        if p.exists():
            return p
    raise FileNotFoundError("e2e_silicon_calibration.csv not found (tests/data/silicon/)")


def _f(x, default=None):
    try:
        v = float(x)
        return v if math.isfinite(v) else default
    except (TypeError, ValueError):
        return default


def _i(x, default=None):
    v = _f(x)
    return default if v is None or v <= 0 else int(round(v))


def _precision(row) -> str:
    g = row["gemm_quant_mode"]
    if row["model_path"] == "openai/gpt-oss-120b" and row["precision"] == "fp4":
        return "w4a16"
    if g in ("", "float16", "bfloat16"):
        return "bf16"
    if g == "fp8_block":
        return "fp8_block"
    if g == "fp8":
        # a row's FP8 on a checkpoint published in block-scaled FP8 is that checkpoint's format:
        # DeepSeek-R1/V3's config.json declares weight_block_size [128, 128] with dynamic
        # (1 x 128) activation scales (shared/reference/models), which the workload layer reads
        # as fp8_block
        model = MODELS.get(row["model_path"])
        if model is not None and "fp8_block" in _model(model).config.native_formats.values():
            return "fp8_block"
        return "fp8"
    raise ChipletarchError(f"precision {row['precision']!r}/{g!r} not mapped")


# KV-cache format. vLLM, SGLang and TensorRT-LLM all default kv_cache_dtype to "auto": the
# model's activation dtype (bf16) unless the checkpoint carries KV-cache quantisation scales.
# Where the row names an FP8 checkpoint published without KV scales, the KV cache is bf16;
# otherwise the checkpoint is not identified (the row names the bf16 original and the source
# does not say how it was quantised) and the precision preset's KV format is kept. Deployment
# recipes often set an FP8 KV cache explicitly (DeepSeek on TensorRT-LLM), and the rows do not
# record it, so the primary replay keeps the preset's KV format for every row ("preset");
# "auto" is the sensitivity (docs/VALIDATION.md).
KV_CACHE = "preset"
FP8_CHECKPOINTS_WITHOUT_KV_SCALES = ("Qwen/Qwen3-235B-A22B-FP8", "deepseek-ai/DeepSeek-R1",
                                     "deepseek-ai/DeepSeek-V3")


def _row_precision(row):
    """The precision preset of a row with the KV-cache format its engine defaults to."""
    import dataclasses
    from ..formats import get_precision
    name = _precision(row)
    p = get_precision(name)
    if KV_CACHE == "auto" and row["model_path"] in FP8_CHECKPOINTS_WITHOUT_KV_SCALES \
            and p.kv_cache != "bf16":
        return dataclasses.replace(p, name=f"{name}+kv_bf16", kv_cache="bf16")
    return name


def _mapping(arch, tp, adp, ep, pp):
    from ..workload import Mapping
    tp, adp, ep, pp = tp or 1, adp or 1, ep or 1, pp or 1
    dom = int(getattr(getattr(arch, "scale_up", None), "domain_size", 0) or 8)
    return Mapping(tp=tp * adp, attention_dp=adp, ep=ep, pp=pp, dies_per_package=1,
                   scaleup_packages=dom)


def _concurrency(row):
    m = re.search(r"silicon_concurrency=(\d+)", row["silicon_data_source"])
    if m:
        return int(m.group(1))
    return _i(row["batch_size"])


# The benchmark client that measured a row. Rows whose provenance is a dated results file with
# model / wip / image fields (`source_file=2026-..csv; model=...; ... wip=...`) are InferenceMAX
# runs (its models, ISL/OSL 1k/1k, 1k/8k, 8k/1k, and container images). InferenceMAX's client
# (bench_serving/benchmark_serving.py, README "Benchmark Client Configuration") runs
# `--dataset-name random --random-range-ratio 0.8 --num-prompts CONC x 10 --max-concurrency CONC
# --request-rate inf --ignore-eos`, and that script draws each prompt's input and output length
# uniformly from the integers [int(ratio x L), L]. The other rows (AIConfigurator's collection)
# are replayed with fixed lengths. BENCH_LENGTHS = "fixed" replays every row with fixed lengths.
INFERENCEMAX_RANGE_RATIO = 0.8
BENCH_LENGTHS = "client"


def benchmark_client(row) -> str:
    src = row.get("silicon_data_source", "")
    return "inferencemax" if re.search(r"source_file=\d{4}-\d{2}-\d{2}\.csv;", src) \
        and "wip=" in src else "aiconfigurator"


class UniformLengths:
    """Lengths drawn uniformly from the integers [int(ratio x L), L] (benchmark_serving's
    `random` dataset with `--random-range-ratio ratio`); `des` calls `sample(n, rng)`."""

    def __init__(self, length, ratio):
        self.lo, self.hi = int(length * ratio), int(length)

    def sample(self, n, rng):
        return rng.integers(self.lo, self.hi + 1, size=n)


# How many requests the row's benchmark client ran (`protocol`). BENCH_PROTOCOL = "fixed":
# every row runs REQUESTS_PER_CLIENT per client, the first WARMUP_PER_CLIENT of them (in the
# same closed loop) left out. "client": each row as its benchmark client runs it.
# InferenceMAX's benchmark_serving sends --num-prompts CONC x 10 at --max-concurrency CONC with
# no warm-up (10 per client, all counted). AIConfigurator's collection script runs aiperf with
# --warmup-request-count 2 x CONC and --num-requests 50 x CONC (--concurrency CONC), and aiperf
# waits for every warm-up response before the profiling phase starts (its docs, "Warmup Phase
# Configuration", "Grace Period"): the measured phase is a fresh closed loop from an idle server,
# whose 50 x CONC requests all count. The DES models no cold-start effect (JIT, allocation,
# connections), so a drained warm-up leaves it where it started and is not simulated.
BENCH_PROTOCOL = "fixed"
PROTOCOLS = {"inferencemax": (10, 0), "aiconfigurator": (50, 0)}
AICONFIGURATOR_WARMUP_PER_CLIENT = 2      # drained before measuring: not simulated (above)


def protocol(row) -> tuple:
    """(requests per client measured, warm-up requests per client run first in the same loop and
    left out) of the row's benchmark as the replay runs it (`BENCH_PROTOCOL`)."""
    if BENCH_PROTOCOL == "client":
        return PROTOCOLS[benchmark_client(row)]
    return REQUESTS_PER_CLIENT, WARMUP_PER_CLIENT


def n_requests(row, c) -> tuple:
    """(requests simulated, fraction left out as warm-up) of a row at concurrency c: the
    protocol's requests per client times c, capped at MAX_REQUESTS (at least c)."""
    per, warm = protocol(row)
    n = min((per + warm) * c, max(MAX_REQUESTS, c))
    return n, min(0.5, warm * c / n)


def _lengths(row, isl, osl):
    if BENCH_LENGTHS == "client" and benchmark_client(row) == "inferencemax":
        return (UniformLengths(isl, INFERENCEMAX_RANGE_RATIO),
                UniformLengths(osl, INFERENCEMAX_RANGE_RATIO))
    return isl, osl


# Token budget per iteration (max_num_tokens) of the deployment a row measured (`token_budget`).
# AIConfigurator's collection deploys the configurations its generator writes, and for a
# TensorRT-LLM aggregated worker that generator sets max_num_tokens = batch + ISL + 1500,
# rounded up to tokens_per_block (32), with chunked prefill off (aiconfigurator
# generator/rule_plugin/trtllm.rule "agg max_num_tokens"; the same rule in its first generator,
# backends/trtllm: "+1000 is for holding the largest isl"): an iteration carries the decode
# batch and one or two whole prompts, not eight. Its vLLM templates do not pass a token budget
# (the engine default stands) and the SGLang rows' template version is not recorded, so those
# rows, InferenceMAX's and the disaggregated workers keep the engines' default (TOKEN_BUDGET).
# BUDGET = "default" replays every row with TOKEN_BUDGET.
AICONFIGURATOR_TRTLLM_AGG_EXTRA = 1500
AICONFIGURATOR_TOKENS_PER_BLOCK = 32
BUDGET = "client"


def token_budget(row, batch: int, isl: int) -> int:
    """max_num_tokens of the aggregated worker a row measured (see BUDGET above)."""
    if BUDGET == "client" and row["backend"] == "trtllm" and row["mode"] == "agg" \
            and benchmark_client(row) == "aiconfigurator":
        q = AICONFIGURATOR_TOKENS_PER_BLOCK
        return -(-(batch + isl + AICONFIGURATOR_TRTLLM_AGG_EXTRA) // q) * q
    return TOKEN_BUDGET


def _cap_batch(inst, want, context):
    """Largest batch <= want whose KV cache fits (bisection on the memory check)."""
    if inst.fits(want, context):
        return want
    lo, hi = 0, want
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if inst.fits(mid, context) else (lo, mid)
    return lo


# Activation scales of a per-tensor FP8 row (`act_scales`). A row whose model_path names a
# 16-bit checkpoint (no FP8 weights in its config.json) with FP8 GEMMs ran a model quantised at
# load time: an online-quantised model has no calibrated activation scales, so they are computed
# on each forward pass (amax + cast before every GEMM; vLLM documents `--quantization fp8` as
# "Online Dynamic Quantization", "without any calibration data required"; the kernel table of
# these deployments times per-tensor FP8 GEMMs the same way). Rows naming an FP8 checkpoint
# (Qwen3-235B-A22B-FP8) or a non-16-bit one (gpt-oss's MXFP4) keep the engine's serving default,
# the static cast. ACT_SCALES = "static" gives every row the default (the replay before).
ACT_SCALES = "checkpoint"


def act_scales(row, prec) -> bool | None:
    """simulate's act_quant for `row`: True (dynamic per-tensor) for per-tensor FP8 GEMMs on a
    16-bit checkpoint (see ACT_SCALES), else ACT_QUANT (the --act-quant option)."""
    if ACT_SCALES != "checkpoint" or ACT_QUANT is not None:
        return ACT_QUANT
    if getattr(prec, "name", prec).split("+")[0] != "fp8":
        return ACT_QUANT
    model = MODELS.get(row["model_path"])
    if model is None or "fp8" in row["model_path"].lower():
        return ACT_QUANT
    # every weight role of the checkpoint 16-bit (its torch_dtype, no quantised weights)
    if any(not str(f).startswith(("bf16", "fp16"))
           for f in _model(model).config.native_formats.values()):
        return ACT_QUANT
    return True


_INST: dict = {}


def _inst(arch, model, prec, mp, act=None):
    key = (model, prec, mp, act)
    if key not in _INST:
        s = SimLatency(arch, model, prec, mp, act_quant=act)
        _INST[key] = Instance(latency=s, packages=s.packages, label=s.label(), fits=s.fits)
    return _INST[key]


def predict_row(row, arch) -> dict:
    """Predicted mean TTFT / TPOT (seconds) of one row; raises ChipletarchError if unmappable."""
    model = MODELS.get(row["model_path"])
    if model is None:
        raise ChipletarchError(f"model {row['model_path']} not bundled")
    prec = _row_precision(row)
    isl, osl = int(float(row["isl"])), int(float(row["osl"]))
    c = _concurrency(row)
    if c is None:
        raise ChipletarchError("concurrency not stated")
    n, warm = n_requests(row, c)
    if row["mode"] == "agg":
        mp = _mapping(arch, _i(row["tp_size"]), _i(row["attention_dp_size"]),
                      _i(row["moe_ep_size"]), _i(row["pp_size"]))
        mp.validate(_model(model).config)
        inst = with_host_overhead(_inst(arch, model, prec, mp, act_scales(row, prec)),
                                  *host_overhead(row["backend"]))
        b = _cap_batch(inst, c, isl + osl)
        if b < 1:
            raise ChipletarchError(f"weights of {model} do not fit tp={mp.tp}")
        pol = BACKEND_POLICY.get(row["backend"], "chunked") if POLICY == "backend" else POLICY
        ovl = overlap_default(row["backend"], row.get("backend_version", "")) \
            if OVERLAP == "backend" else OVERLAP == "on"
        if row["backend"] == "trtllm" and TRTLLM_HELD_SLOTS:
            b = max(1, min(b, c - TRTLLM_HELD_SLOTS))
        r = run_colocated(inst, *_lengths(row, isl, osl), chunk=token_budget(row, b, isl),
                          max_batch=b, concurrency=c,
                          n_requests=n, warmup=warm, policy=pol, overlap=ovl,
                          frontend_s=frontend_s(row["backend"]),
                          frontend_request_s=frontend_server(row["backend"])[0],
                          frontend_token_s=frontend_server(row["backend"])[1])
        return dict(model=model, precision=getattr(prec, "name", prec), mapping=inst.label,
                    concurrency=c, batch=b,
                    ttft_s=r["ttft_s"], tpot_s=r["tpot_s"])
    pmp = _mapping(arch, _i(row["prefill_tp_size"]), _i(row["prefill_attention_dp_size"]),
                   _i(row["prefill_moe_ep_size"]), _i(row["prefill_pp_size"]))
    dmp = _mapping(arch, _i(row["decode_tp_size"]), _i(row["decode_attention_dp_size"]),
                   _i(row["decode_moe_ep_size"]), _i(row["decode_pp_size"]))
    for mp in (pmp, dmp):
        mp.validate(_model(model).config)
    ho = host_overhead(row["backend"])
    act = act_scales(row, prec)
    pi = with_host_overhead(_inst(arch, model, prec, pmp, act), *ho)
    di = with_host_overhead(_inst(arch, model, prec, dmp, act), *ho)
    npw, ndw = _i(row["prefill_num_workers"], 1), _i(row["decode_num_workers"], 1)
    pb = _i(row["prefill_batch_size"], c)
    db_rank = _i(row["decode_batch_size"])
    # AIConfigurator's batch is per attention-DP rank
    db = db_rank * (_i(row["decode_attention_dp_size"], 1)) if db_rank else c
    db = _cap_batch(di, min(db, c), isl + osl)
    pb = max(1, min(pb, max(1, TOKEN_BUDGET // isl)))
    kvt = lambda tok: kv_transfer(arch, _model(model), prec, tok, pi.packages,  # noqa: E731
                                  di.packages).seconds
    r = run_disaggregated(pi, di, *_lengths(row, isl, osl), n_prefill=npw, n_decode=ndw, prefill_batch=pb,
                          decode_batch=max(1, db), kv_seconds=kvt, concurrency=c,
                          n_requests=n, warmup=warm, frontend_s=frontend_s(row["backend"]),
                          handover_s=handover_s(row["backend"]))
    return dict(model=model, precision=getattr(prec, "name", prec),
                mapping=f"P{npw}x{pi.label}/D{ndw}x{di.label}",
                concurrency=c, batch=db, ttft_s=r["ttft_s"], tpot_s=r["tpot_s"])


_MODELS: dict = {}


def _model(name):
    if name not in _MODELS:
        from ..workload import load_model
        _MODELS[name] = load_model(name)
    return _MODELS[name]


def _read_rows(csv_path=None, limit=None) -> list:
    """The rows of the measured deployments' CSV (the bundled copy by default), the first
    `limit` of them when given."""
    with open(csv_path or default_csv(), newline="") as fh:
        rows = list(csv.DictReader(fh))
    return rows[:limit] if limit else rows


def run(csv_path=None, limit=None, verbose=False) -> dict:
    """Predict every mappable row; returns {'rows': [...], 'skipped': [...], 'summary': {...}}."""
    from ..arch import load_architecture
    arch = load_architecture("h100-sxm")
    rows = _read_rows(csv_path, limit)
    out, skipped = [], []
    for row in rows:
        if row["system"] != "h100_sxm":
            skipped.append((row["id"], f"system {row['system']} not bundled"))
            continue
        t0 = time.time()
        try:
            p = predict_row(row, arch)
        except ChipletarchError as exc:
            skipped.append((row["id"], str(exc).splitlines()[0]))
            continue
        mt, mp = float(row["silicon_ttft_ms"]) / 1e3, float(row["silicon_tpot_ms"]) / 1e3
        p.update(id=row["id"], mode=row["mode"], backend=row["backend"], isl=row["isl"],
                 split=split(row),
                 osl=row["osl"], measured_ttft_s=mt, measured_tpot_s=mp,
                 ttft_err=(p["ttft_s"] - mt) / mt, tpot_err=(p["tpot_s"] - mp) / mp,
                 wall_s=time.time() - t0)
        out.append(p)
        if verbose:
            print(f"{row['id'][:70]:70s} ttft {p['ttft_s']*1e3:9.1f} / {mt*1e3:9.1f} ms  "
                  f"tpot {p['tpot_s']*1e3:7.2f} / {mp*1e3:7.2f} ms", flush=True)
    return dict(rows=out, skipped=skipped, summary=summarize(out))


def summarize(rows) -> dict:
    """Median |relative error| (and signed median) of TTFT and TPOT over groups of rows: all,
    each mode, each mode x backend, each model, each half of `split`."""
    def med(sel, key, f=abs):
        v = [f(r[key]) for r in rows if sel(r)]
        return float(np.median(v)) if v else math.nan

    groups = [("all", lambda r: True), ("agg", lambda r: r["mode"] == "agg"),
              ("disagg", lambda r: r["mode"] == "disagg")]
    for mo, be in sorted({(r["mode"], r["backend"]) for r in rows}):
        groups.append((f"{mo} {be}", lambda r, mo=mo, be=be: (r["mode"], r["backend"]) == (mo, be)))
    for m in sorted({r["model"] for r in rows}):
        groups.append((m, lambda r, m=m: r["model"] == m))
    for pr in sorted({r["precision"] for r in rows}):
        groups.append((f"precision {pr}", lambda r, pr=pr: r["precision"] == pr))
    for h in ("train", "held"):
        groups.append((h, lambda r, h=h: r.get("split") == h))
        for mo in ("agg", "disagg"):
            groups.append((f"{h} {mo}", lambda r, h=h, mo=mo: (r.get("split"), r["mode"]) == (h, mo)))
    s = {}
    for name, sel in groups:
        n = sum(1 for r in rows if sel(r))
        if n:
            s[name] = dict(ttft_median_abs_err=med(sel, "ttft_err"),
                           tpot_median_abs_err=med(sel, "tpot_err"),
                           ttft_median_err=med(sel, "ttft_err", float),
                           tpot_median_err=med(sel, "tpot_err", float), rows=n)
    return s


def fit_host_overhead(rows) -> dict:
    """Fit `HOST_OVERHEAD` on the training half of `rows` replayed without it (HOST = "off").
    Per backend, (fixed, per_sequence) >= 0 minimise the sum over its training rows of
    |predicted TPOT + fixed + per_sequence x batch - measured| / measured (least absolute
    relative error, a linear programme), with batch = the row's (decode) batch: the overhead
    lengthens each of the request's decode iterations by about that much. The replay with the
    fitted values (the DES, not this linearisation) gives the reported errors."""
    from scipy.optimize import linprog
    out = {}
    for be in sorted({r["backend"] for r in rows}):
        tr = [r for r in rows if r["backend"] == be and r.get("split") == "train"]
        if len(tr) < 2:
            continue
        m = np.array([r["measured_tpot_s"] for r in tr])
        p = np.array([r["tpot_s"] for r in tr])
        b = np.array([float(r["batch"]) for r in tr])
        n = len(tr)
        a_eq = np.zeros((n, 2 + 2 * n))
        a_eq[:, 0], a_eq[:, 1] = 1 / m, b / m
        a_eq[np.arange(n), 2 + np.arange(n)] = -1.0
        a_eq[np.arange(n), 2 + n + np.arange(n)] = 1.0
        res = linprog(np.r_[0.0, 0.0, np.ones(2 * n)], A_eq=a_eq, b_eq=(m - p) / m,
                      bounds=[(0, None)] * (2 + 2 * n), method="highs")
        out[be] = (float(res.x[0]), float(res.x[1]))
    return out


HOST_REFINE_STEPS = (0.5, 0.25)     # relative steps of the replay refinement, coarse then fine


def _replay_l1(rows, arch, key) -> float:
    """Sum over `rows` (those that map) of |predicted - measured| / measured `key` ('ttft' or
    'tpot'), each row replayed as the module's settings stand: the fits' objective."""
    c = 0.0
    for r in rows:
        try:
            p = predict_row(r, arch)
        except ChipletarchError:
            continue
        m = float(r[f"silicon_{key}_ms"]) / 1e3
        c += abs(p[f"{key}_s"] - m) / m
    return c


def _training_rows(csv_path, limit, backend):
    rows = _read_rows(csv_path, limit)
    return [r for r in rows if r["backend"] == backend and r["system"] == "h100_sxm"
            and split(r) == "train"]


def refine_host_overhead(csv_path=None, limit=None, verbose=False, backends=None) -> dict:
    """Refine `HOST_OVERHEAD` (as it stands, e.g. `fit_host_overhead`'s linearised solution)
    on the replay itself: per backend, the (fixed, per_sequence) minimising the sum of
    |predicted - measured| / measured TPOT over its training rows (every mode), each candidate
    replayed in the DES with the other terms as they stand. The linearisation holds the batch
    and the iteration mix fixed; in the closed loop a longer iteration also lengthens the
    cycle, so fewer prompts land per iteration and TPOT moves less than fixed + per_sequence x
    batch says. Pattern search: from the start point, steps of each coordinate by a factor
    (1 +- step) for each step of `HOST_REFINE_STEPS`, moving while the sum falls (a term the
    start point has at 0 stays at 0)."""
    from ..arch import load_architecture
    arch = load_architecture("h100-sxm")
    out = {}
    for be in sorted(backends or HOST_OVERHEAD):
        tr = _training_rows(csv_path, limit, be)
        if not tr:
            continue
        seen: dict = {}

        def cost(x, be=be, tr=tr):
            k = (round(x[0], 8), round(x[1], 10))
            if k in seen:
                return seen[k]
            HOST_OVERHEAD[be] = (x[0], x[1])
            c = _replay_l1(tr, arch, "tpot")
            if verbose:
                print(f"  {be} {x[0] * 1e3:.4f} ms + {x[1] * 1e6:.2f} us: {c:.3f}", flush=True)
            seen[k] = c
            return c
        best = tuple(HOST_OVERHEAD[be])
        fbest = cost(best)
        for step in HOST_REFINE_STEPS:
            moved = True
            while moved:
                moved = False
                for i in (0, 1):
                    for sgn in (1, -1):
                        x = list(best)
                        x[i] = best[i] * (1 + sgn * step)
                        fx = cost(tuple(x))
                        if fx < fbest - 1e-9:
                            best, fbest, moved = tuple(x), fx, True
        out[be] = (float(best[0]), float(best[1]))
        HOST_OVERHEAD[be] = out[be]
    return out


def _l1_offset(pred, meas, hi=1.0, step=1e-3) -> float:
    """The d in [0, hi] minimising sum |pred + d - meas| / meas (grid of `step` seconds)."""
    pred, meas = np.asarray(pred, float), np.asarray(meas, float)
    ds = np.arange(0.0, hi + step / 2, step)
    cost = [np.sum(np.abs(pred + d - meas) / meas) for d in ds]
    return float(ds[int(np.argmin(cost))])


HANDOVER_MAX_S = 1.0      # upper end of the hand-over search (s per request)


def fit_request_latency(rows) -> tuple:
    """Fit `FRONTEND_S` and `HANDOVER_S` on the training half of `rows` replayed without them
    (REQUEST = "off"): per backend, the front-end latency minimising the sum of |predicted
    TTFT + d - measured| / measured over its aggregated training rows; then, with each row's
    front-end latency added, the hand-over latency doing the same over each backend's
    disaggregated training rows, and once over all of them pooled (for backends without any).
    Adding d to TTFT is the linearisation; the replay with the fitted values (where the
    front-end also delays the closed loop) gives the reported errors. Returns (front-end
    {backend: s}, hand-over {backend: s}, pooled hand-over s)."""
    fe = {}
    for be in sorted({r["backend"] for r in rows}):
        tr = [r for r in rows if r["backend"] == be and r["mode"] == "agg"
              and r.get("split") == "train"]
        if tr:
            fe[be] = _l1_offset([r["ttft_s"] for r in tr], [r["measured_ttft_s"] for r in tr])

    def handover(tr):
        return _l1_offset([r["ttft_s"] + fe.get(r["backend"], 0.0) for r in tr],
                          [r["measured_ttft_s"] for r in tr], hi=HANDOVER_MAX_S) if tr else 0.0
    tr = [r for r in rows if r["mode"] == "disagg" and r.get("split") == "train"]
    ho = {be: handover([r for r in tr if r["backend"] == be])
          for be in sorted({r["backend"] for r in tr})}
    # a backend whose fit runs to the search bound (HANDOVER_MAX_S) is not measuring a
    # hand-over: its rows miss by more than any per-request constant covers (the TensorRT-LLM
    # DeepSeek rows: 5-24 s measured at concurrency 6-77, with worker counts and MTP not
    # recorded). Such a value would be a stand-in for what the rows do not say, so the backend
    # keeps the pooled fit instead.
    for be in [b for b, v in ho.items() if v >= HANDOVER_MAX_S - 1e-9]:
        print(f"hand-over fit for {be} ran to the {HANDOVER_MAX_S * 1e3:.0f} ms bound: "
              "not kept; it takes the pooled value")
        del ho[be]
    return fe, ho, handover(tr)


SERVER_GRID_A = (0.0, 8e-3, 16e-3)          # s per request
SERVER_GRID_B = (0.0, 60e-6, 120e-6)         # s per output token


def fit_frontend_server(csv_path=None, limit=None, verbose=False, backends=None) -> dict:
    """Fit `FRONTEND_SERVER` on the training half: per backend, the (s per request, s per
    output token) minimising the sum of |predicted - measured| / measured TTFT over its
    aggregated training rows, replayed in the DES with the other terms as they stand. The
    front-end's capacity acts only where it binds, so there is no linearisation: a grid
    (`SERVER_GRID_A` x `SERVER_GRID_B`), then one refinement at half the steps around the best
    point."""
    from ..arch import load_architecture
    arch = load_architecture("h100-sxm")
    out = {}
    for be in sorted(backends or FRONTEND_SERVER):
        tr = [r for r in _training_rows(csv_path, limit, be) if r["mode"] == "agg"]

        def cost(a, b, be=be, tr=tr):
            FRONTEND_SERVER[be] = (a, b)
            c = _replay_l1(tr, arch, "ttft")
            if verbose:
                print(f"  {be} {a * 1e3:.1f} ms + {b * 1e6:.0f} us/token: {c:.3f}", flush=True)
            return c
        if not tr:
            continue
        seen: dict = {}

        def ev(a, b):
            k = (round(a, 7), round(b, 9))
            if k not in seen:
                seen[k] = cost(a, b)
            return seen[k]
        best = min(((a, b) for a in SERVER_GRID_A for b in SERVER_GRID_B), key=lambda x: ev(*x))
        da, db = (SERVER_GRID_A[1] - SERVER_GRID_A[0]) / 2, (SERVER_GRID_B[1] - SERVER_GRID_B[0]) / 2
        near = [(max(0.0, best[0] + i * da), max(0.0, best[1] + j * db))
                for i in (-1, 0, 1) for j in (-1, 0, 1)]
        best = min(near, key=lambda x: ev(*x))
        out[be] = (float(best[0]), float(best[1]))
        FRONTEND_SERVER[be] = out[be]
    return out


def scatter_png(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, key, title in ((axes[0], "ttft", "TTFT"), (axes[1], "tpot", "TPOT")):
        for mode, mk in (("agg", "o"), ("disagg", "^")):
            x = [r[f"measured_{key}_s"] * 1e3 for r in rows if r["mode"] == mode]
            y = [r[f"{key}_s"] * 1e3 for r in rows if r["mode"] == mode]
            ax.scatter(x, y, s=14, marker=mk, alpha=0.7, label=mode)
        lo = min(min(r[f"measured_{key}_s"], r[f"{key}_s"]) for r in rows) * 1e3 * 0.8
        hi = max(max(r[f"measured_{key}_s"], r[f"{key}_s"]) for r in rows) * 1e3 * 1.25
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
        ax.fill_between([lo, hi], [lo * 0.75, hi * 0.75], [lo * 1.25, hi * 1.25], color="0.9")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"measured {title} (ms)")
        ax.set_ylabel(f"predicted {title} (ms)")
        ax.set_title(f"{title}: H100 deployments (band: +-25 %)")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fit_provenance(rows, csv_path=None) -> dict:
    """What `framework.FIT` records of a fit: the data, the backend versions, the rows (the
    training half of those replayed), the date and the commit."""
    import datetime
    import subprocess
    src = Path(csv_path) if csv_path else default_csv()
    try:
        data = str(src.resolve().relative_to(Path(__file__).resolve().parents[2]))
    except ValueError:
        data = str(src)
    tr = [r for r in rows if r.get("split") == "train"]
    vers = {}
    train_ids = {x["id"] for x in tr}
    for r in _read_rows(src):
        if r["id"] in train_ids:
            vers.setdefault(r["backend"], set()).add(r.get("backend_version") or "?")
    try:
        here = Path(__file__).resolve().parent
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here,
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=here, capture_output=True, text=True).stdout.strip()
        commit += "+" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    dis = [r for r in tr if r["mode"] == "disagg"]
    per_be = ", ".join(f"{be} {sum(1 for r in dis if r['backend'] == be)}"
                       for be in sorted({r["backend"] for r in dis}))
    return {"data": f"{data} (H100 SXM)",
            "versions": ", ".join(f"{be} {'/'.join(sorted(v))}"
                                  for be, v in sorted(vers.items())),
            "rows": f"training half (validate.split): {len(tr)} of {len(rows)} replayed rows",
            "handover": f"per backend on its disaggregated training rows ({per_be}; kept: "
                        f"{', '.join(sorted(HANDOVER_S)) or 'none'}, a fit at the "
                        f"{HANDOVER_MAX_S:g} s bound is not kept); pooled over all {len(dis)} "
                        "for the others",
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
            "commit": commit}


def _refit_host(rows):
    fitted = fit_host_overhead(rows)
    print("fitted HOST_OVERHEAD (fixed ms, us per sequence): " + ", ".join(
        f"{be} {f * 1e3:.3f} ms + {s * 1e6:.2f} us" for be, (f, s) in fitted.items()))
    HOST_OVERHEAD.update(fitted)
    globals()["HOST"] = "fitted"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m chipletarch.serving.validate",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--csv", default=None, help="e2e calibration CSV (default: bundled copy)")
    ap.add_argument("--out", default=None, help="write per-row predictions as CSV")
    ap.add_argument("--png", default=None, help="predicted-vs-measured scatter")
    ap.add_argument("--limit", type=int, default=None, help="first N rows only")
    ap.add_argument("--requests-per-client", type=int, default=REQUESTS_PER_CLIENT,
                    help=f"benchmark length, requests per client (default {REQUESTS_PER_CLIENT})")
    ap.add_argument("--policy", default=POLICY,
                    help="prompt/decode mixing: 'backend' (each row's engine default) or "
                         "chunked | whole | prefill_first for all rows")
    ap.add_argument("--overlap", choices=("backend", "on", "off"), default=OVERLAP,
                    help="overlap scheduler (tokens reported one iteration late): each row's "
                         "engine default (TensorRT-LLM, SGLang, vLLM >= 0.14 on), or on / off "
                         "for all rows")
    ap.add_argument("--warmup-per-client", type=int, default=WARMUP_PER_CLIENT,
                    help="warm-up requests per client left out of the statistics (default "
                         f"{WARMUP_PER_CLIENT}; AIConfigurator's aiperf script: 2)")
    ap.add_argument("--trtllm-held-slots", type=int, default=TRTLLM_HELD_SLOTS,
                    help="sensitivity: TensorRT-LLM aggregated batch slots unavailable to "
                         "requests (batch capped at concurrency minus this)")
    ap.add_argument("--kv-cache", choices=("auto", "preset"), default=KV_CACHE,
                    help="KV-cache format: 'preset' (the precision preset's, default) or 'auto' "
                         "(bf16 where the row names an FP8 checkpoint without KV scales, the "
                         "engines' kv_cache_dtype default)")
    ap.add_argument("--act-quant", choices=("default", "dynamic", "none"), default="default",
                    help="activation quantisation charged before GEMMs: the engine's serving "
                         "default, dynamic per-tensor (as the measured torch kernels), or none")
    ap.add_argument("--act-scales", choices=("checkpoint", "static"), default=ACT_SCALES,
                    help="activation scales of per-tensor FP8 rows: dynamic where the row names "
                         "a 16-bit checkpoint (quantised at load time, 'checkpoint', default) or "
                         "the engine's static cast for every row ('static')")
    ap.add_argument("--host", choices=("fitted", "off"), default=HOST,
                    help="per-iteration framework overhead of each backend (HOST_OVERHEAD, "
                         "fitted on the training half) or none")
    ap.add_argument("--request", choices=("fitted", "off"), default=REQUEST,
                    help="per-request front-end and disaggregated hand-over latencies "
                         "(FRONTEND_S, HANDOVER_S, fitted on the training half) or none")
    ap.add_argument("--server", choices=("fitted", "off"), default=SERVER,
                    help="the front-end's serial work per request and per output token "
                         "(FRONTEND_SERVER, fitted on the training half) or none")
    ap.add_argument("--lengths", choices=("client", "fixed"), default=BENCH_LENGTHS,
                    help="request lengths as the row's benchmark client draws them ('client': "
                         "InferenceMAX rows uniform in [0.8 L, L]) or fixed for every row")
    ap.add_argument("--budget", choices=("client", "default"), default=BUDGET,
                    help="token budget per iteration: as the row's deployment set it ('client': "
                         "AIConfigurator's TensorRT-LLM aggregated workers batch + ISL + 1500) "
                         f"or {TOKEN_BUDGET} for every row ('default')")
    ap.add_argument("--protocol", choices=("client", "fixed"), default=BENCH_PROTOCOL,
                    help="requests per client: as the row's benchmark client runs them "
                         "('client': InferenceMAX 10, AIConfigurator's aiperf 50 after a drained "
                         "warm-up) or --requests-per-client / --warmup-per-client for every row "
                         "('fixed')")
    ap.add_argument("--fit", action="store_true",
                    help="refit HOST_OVERHEAD, FRONTEND_S and HANDOVER_S, FRONTEND_SERVER on "
                         "the training half (a replay without each; the host overhead then "
                         "refined on the replay), print them, replay with them")
    ap.add_argument("--write", action="store_true",
                    help="with --fit: store the fitted values and their provenance (rows, "
                         "date, commit) in chipletarch/serving/framework.py")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    if a.write and (not a.fit or a.limit):
        ap.error("--write stores a fit on all rows: it needs --fit and no --limit")
    globals()["ACT_QUANT"] = {"default": None, "dynamic": True, "none": False}[a.act_quant]
    globals()["REQUESTS_PER_CLIENT"] = a.requests_per_client
    globals()["POLICY"] = a.policy
    globals()["OVERLAP"] = a.overlap
    globals()["KV_CACHE"] = a.kv_cache
    globals()["WARMUP_PER_CLIENT"] = a.warmup_per_client
    globals()["TRTLLM_HELD_SLOTS"] = a.trtllm_held_slots
    globals()["HOST"] = a.host
    globals()["REQUEST"] = a.request
    globals()["SERVER"] = a.server
    globals()["BENCH_LENGTHS"] = a.lengths
    globals()["BENCH_PROTOCOL"] = a.protocol
    globals()["BUDGET"] = a.budget
    globals()["ACT_SCALES"] = a.act_scales
    if a.fit:
        # each fit linearises around a replay without the term it fits, with the others in:
        # host overhead (no request latencies, no front-end server); request latencies; the
        # front-end server (a DES grid, with the request latencies in: their random delays are
        # what spreads the closed loop's cohorts); request latencies again; host overhead again,
        # then refined on the replay itself
        globals()["HOST"], globals()["REQUEST"], globals()["SERVER"] = "off", "off", "off"
        _refit_host(run(a.csv, a.limit)["rows"])

        def refit_request():
            globals()["REQUEST"] = "off"
            fe, ho, pooled = fit_request_latency(run(a.csv, a.limit)["rows"])
            print("fitted FRONTEND_S: " + ", ".join(f"{be} {v * 1e3:.0f} ms"
                                                    for be, v in fe.items())
                  + "; HANDOVER_S " + ", ".join(f"{be} {v * 1e3:.0f} ms" for be, v in ho.items())
                  + f", pooled {pooled * 1e3:.0f} ms")
            FRONTEND_S.update(fe)
            HANDOVER_S.clear()
            HANDOVER_S.update(ho)
            globals()["HANDOVER_POOLED_S"] = pooled
            globals()["REQUEST"] = "fitted"
        refit_request()
        globals()["SERVER"] = "fitted"
        fs = fit_frontend_server(a.csv, a.limit, a.verbose)
        print("fitted FRONTEND_SERVER: " + ", ".join(
            f"{be} {x * 1e3:.1f} ms + {y * 1e6:.0f} us/token" for be, (x, y) in fs.items()))
        refit_request()
        globals()["HOST"], globals()["REQUEST"] = "off", "fitted"
        _refit_host(run(a.csv, a.limit)["rows"])
        # the linearised host fit, refined on the replay itself (refine_host_overhead)
        ref = refine_host_overhead(a.csv, a.limit, a.verbose)
        print("refined HOST_OVERHEAD on the replay (fixed ms, us per sequence): " + ", ".join(
            f"{be} {f * 1e3:.3f} ms + {s * 1e6:.2f} us" for be, (f, s) in ref.items()))
    res = run(a.csv, a.limit, a.verbose)
    rows = res["rows"]
    if a.fit and a.write:
        path = _fw.write_fitted(HOST_OVERHEAD, FRONTEND_S, HANDOVER_S,
                                fit_provenance(rows, a.csv), handover_pooled=HANDOVER_POOLED_S)
        print(f"wrote the fitted values to {path}")
    print(f"rows predicted: {len(rows)}; skipped: {len(res['skipped'])}")
    print("  median |err| (signed median) over rows:")
    for k, v in res["summary"].items():
        print(f"  {k:18s} n={v['rows']:4d}  TTFT {v['ttft_median_abs_err']*100:6.1f} % "
              f"({v['ttft_median_err']*100:+6.1f})   TPOT {v['tpot_median_abs_err']*100:6.1f} % "
              f"({v['tpot_median_err']*100:+6.1f})")
    reasons: dict = {}
    for rid, why in res["skipped"]:
        reasons.setdefault(why, []).append(rid)
    for why, ids in reasons.items():
        print(f"  skipped {len(ids):3d}: {why}")
    if a.out:
        keys = ["id", "split", "mode", "backend", "model", "precision", "mapping", "isl", "osl",
                "concurrency", "batch", "measured_ttft_s", "ttft_s", "ttft_err",
                "measured_tpot_s", "tpot_s", "tpot_err"]
        with open(a.out, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=keys, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
    if a.png and rows:
        scatter_png(rows, a.png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
