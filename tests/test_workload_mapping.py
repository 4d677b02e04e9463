"""Parallel mappings: conservation of FLOPs and bytes under TP/EP/PP/DP splits, inserted
collectives and their message sizes, validation errors, comm scopes, memory fit."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from chipletarch.errors import InfeasibleError, SpecError
from chipletarch.workload.moe import expected_max_experts_touched
from chipletarch.workload import (Mapping, OpKind, check_memory_fit, expected_experts_touched,
                                  load_model, model_from_config)

GEMMS = (OpKind.GEMM, OpKind.GROUPED_GEMM)
ATTN = (OpKind.ATTN_PREFILL, OpKind.ATTN_DECODE)

# A small MoE with a shared expert (DeepSeek/Qwen-like) and 8 KV heads, no biases.
MOE = model_from_config({
    "model_type": "deepseek_v3", "hidden_size": 64, "num_hidden_layers": 4,
    "num_attention_heads": 8, "num_key_value_heads": 8, "head_dim": 16,
    "intermediate_size": 128, "moe_intermediate_size": 32, "n_routed_experts": 16,
    "num_experts_per_tok": 4, "n_shared_experts": 1, "first_k_dense_replace": 1,
    "vocab_size": 512, "hidden_act": "silu", "torch_dtype": "bfloat16",
    "max_position_embeddings": 100000}, name="tiny-moe")
DENSE = model_from_config({
    "model_type": "llama", "hidden_size": 64, "num_hidden_layers": 4, "num_attention_heads": 8,
    "num_key_value_heads": 8, "intermediate_size": 128, "vocab_size": 512,
    "max_position_embeddings": 100000}, name="tiny-dense8")


def _tot(t, col, kinds=None, exclude=()):
    mask = np.ones(len(t), bool)
    if kinds is not None:
        mask &= np.isin(t.kind, [int(k) for k in kinds])
    for name in exclude:
        mask &= t.name != name
    return float((t[col] * t.repeat)[mask].sum())


def _comm(t, name):
    r = t.select(t.name == name)
    assert len(r) >= 1, name
    return r


@settings(max_examples=40, deadline=None)
@given(tp=st.sampled_from([1, 2, 4, 8]), model=st.sampled_from([MOE, DENSE]),
       phase=st.sampled_from(["prefill", "decode"]), batch=st.integers(1, 6),
       seq=st.integers(1, 40), ctx=st.integers(0, 500))
def test_tp_conserves_flops_and_bytes(tp, model, phase, batch, seq, ctx):
    if phase == "decode":
        seq = 1
    one = model.operators(phase, batch, seq, ctx, "bf16")
    mp = Mapping(tp=tp)
    r = model.operators(phase, batch, seq, ctx, "bf16", mp)
    # every TP rank does the same work: sum over ranks = tp x one rank.
    # The router (h x E) is replicated on all TP ranks, so it is left out of the sums.
    for col in ("flops", "weight_bytes"):
        a = _tot(one, col, GEMMS + ATTN, exclude=("router",))
        b = tp * _tot(r, col, GEMMS + ATTN, exclude=("router",))
        assert b == pytest.approx(a, rel=1e-12), col
    for col in ("kv_read_bytes", "kv_write_bytes"):
        assert tp * _tot(r, col) == pytest.approx(_tot(one, col), rel=1e-12)
    # the embedding table is vocab-parallel: the gathered rows are split too
    assert tp * _tot(r, "weight_bytes", [OpKind.GATHER]) == _tot(one, "weight_bytes",
                                                                  [OpKind.GATHER])
    T = r.meta["tokens_per_rank"]
    h = model.config.hidden_size
    if tp == 1:
        assert not r.is_comm().any()
        return
    # inserted collectives: one all-reduce of the T x h hidden states (bf16) after each
    # row-parallel GEMM (o_proj, down_proj / MoE combine) and after the embedding
    ar = r.select(r.kind == OpKind.ALL_REDUCE)
    assert set(ar.name) == {"embed_allreduce", "o_proj_allreduce", "mlp_allreduce"} | (
        {"moe_allreduce"} if model is MOE else set())
    assert np.all(ar.comm_bytes == T * h * 2) and np.all(ar.comm_group == tp)
    n_ar = 1 + 2 * model.config.num_layers
    assert _tot(r, "comm_bytes", [OpKind.ALL_REDUCE]) == n_ar * T * h * 2
    lg = _comm(r, "logits_allgather")
    assert lg.comm_bytes[0] == r.meta["logit_rows"] * (512 // tp) * 2


@settings(max_examples=30, deadline=None)
@given(ep=st.sampled_from([2, 4, 8]), etp=st.sampled_from([1, 2]), batch=st.integers(1, 64),
       phase=st.sampled_from(["prefill", "decode"]))
def test_ep_over_replicated_tokens_conserves_expert_work(ep, etp, batch, phase):
    tp = ep * etp
    if tp > 8:
        return
    seq = 7 if phase == "prefill" else 1
    one = MOE.operators(phase, batch, seq, 100, "bf16")
    r = MOE.operators(phase, batch, seq, 100, "bf16", Mapping(tp=tp, ep=ep))
    a = _tot(one.select(one.op_class == "moe_expert"), "flops", GEMMS)
    b = tp * _tot(r.select(r.op_class == "moe_expert"), "flops", GEMMS)
    assert b == pytest.approx(a, rel=1e-12)
    # experts touched: each rank holds 16/ep experts; together they touch E(1-(1-k/E)^T) on
    # average, and the per-device table is the slowest rank's: the expected largest count
    T = batch * seq
    row = r.select(r.name == "experts_down")
    touched_rank = row.weight_bytes[0] / (64 * (32 // etp) * 2)
    assert touched_rank == pytest.approx(
        expected_max_experts_touched(16, 4, T, 16 // ep, ep), rel=1e-12)
    assert touched_rank * ep >= float(expected_experts_touched(16, 4, T)) * (1 - 1e-12)
    a = _tot(one.select(one.op_class == "moe_expert"), "weight_bytes", GEMMS)
    b = tp * _tot(r.select(r.op_class == "moe_expert"), "weight_bytes", GEMMS)
    assert b >= a * (1 - 1e-12)
    assert "moe_allreduce" in set(r.name) and "moe_dispatch" not in set(r.name)


@settings(max_examples=20, deadline=None)
@given(tp=st.sampled_from([2, 4, 8]), per_rank=st.integers(1, 8),
       phase=st.sampled_from(["prefill", "decode"]))
def test_dp_attention_with_all_to_all(tp, per_rank, phase):
    batch = tp * per_rank
    seq = 5 if phase == "prefill" else 1
    one = MOE.operators(phase, batch, seq, 64, "bf16")
    r = MOE.operators(phase, batch, seq, 64, "bf16", Mapping(tp=tp, ep=tp, attention_dp=tp))
    T_rank = per_rank * seq
    assert r.meta["tokens_per_rank"] == T_rank
    # attention: each rank owns batch/tp sequences with all heads
    assert tp * _tot(r, "flops", ATTN) == _tot(one, "flops", ATTN)
    assert tp * _tot(r, "kv_read_bytes") == _tot(one, "kv_read_bytes")
    # routed experts: tokens x top-k conserved across ranks
    ex = lambda t: _tot(t.select(t.op_class == "moe_expert"), "flops", GEMMS)  # noqa: E731
    assert tp * ex(r) == pytest.approx(ex(one), rel=1e-12)
    # dispatch / combine: each rank sends T x k tokens, the (ep-1)/ep share that is remote
    d = _comm(r, "moe_dispatch")
    assert d.kind[0] == OpKind.ALL_TO_ALL and d.comm_group[0] == tp
    assert d.comm_bytes[0] == pytest.approx(T_rank * 4 * 64 * 2 * (tp - 1) / tp, rel=1e-12)
    assert _comm(r, "moe_combine").comm_bytes[0] == d.comm_bytes[0]
    # the dense first layer gathers the group's tokens and scatters the result back
    assert _comm(r, "mlp_allgather").comm_bytes[0] == T_rank * 64 * 2
    assert _comm(r, "mlp_reducescatter").comm_bytes[0] == tp * T_rank * 64 * 2
    assert not (r.kind == OpKind.ALL_REDUCE).any()


@pytest.mark.parametrize("pp", [2, 4])
def test_pipeline_stages(pp):
    one = DENSE.operators("prefill", 2, 16, 0, "bf16")
    r = DENSE.operators("prefill", 2, 16, 0, "bf16", Mapping(pp=pp))
    assert set(r.stage) == set(range(pp))
    assert _tot(r, "flops") == pytest.approx(_tot(one, "flops"), rel=1e-12)
    assert _tot(r, "weight_bytes") == pytest.approx(_tot(one, "weight_bytes"), rel=1e-12)
    sr = r.select(r.kind == OpKind.SEND_RECV)
    assert list(sr.stage) == list(range(pp - 1))
    assert np.all(sr.comm_bytes == 2 * 32 * 64 * 2)   # hidden states + residual, bf16
    assert (r.select(r.name == "embed_tokens").stage == 0).all()
    assert (r.select(r.name == "lm_head").stage == pp - 1).all()


def test_dp_splits_batch():
    one = DENSE.operators("decode", 8, 1, 100, "bf16")
    r = DENSE.operators("decode", 8, 1, 100, "bf16", Mapping(dp=4))
    assert 4 * _tot(r, "flops", GEMMS) == _tot(one, "flops", GEMMS)
    assert _tot(r, "weight_bytes") < _tot(one, "weight_bytes")   # fewer embedding rows only
    assert 4 * _tot(r, "kv_read_bytes") == _tot(one, "kv_read_bytes")


def test_kv_heads_replicated_when_tp_exceeds_them():
    m = load_model("llama3.1-8b")      # 32 heads, 8 KV heads
    r = m.operators("decode", 1, 1, 99, "bf16", Mapping(tp=16))
    q = r.select(r.name == "qkv_proj")
    assert q.n[0] == 2 * 128 + 1 * 256   # 2 query heads + 1 (replicated) KV head
    a = r.select(r.kind == OpKind.ATTN_DECODE)
    assert (a.heads[0], a.kv_heads[0]) == (2, 1)
    # each KV head lives on 2 ranks: 16 ranks hold twice the unsharded cache
    one = m.operators("decode", 1, 1, 99, "bf16")
    assert 16 * _tot(r, "kv_read_bytes") == 2 * _tot(one, "kv_read_bytes")


@pytest.mark.parametrize("mp, match", [
    (dict(tp=3), "num_attention_heads=32 is not divisible"),
    (dict(pp=5), "num_hidden_layers=32 is not divisible by pp=5"),
    (dict(tp=64), "num_attention_heads=32"),
])
def test_split_validation(mp, match):
    with pytest.raises(InfeasibleError, match=match):
        load_model("llama3.1-8b").operators("decode", 1, 1, 0, "bf16", Mapping(**mp))


def test_expert_and_mapping_validation():
    with pytest.raises(InfeasibleError, match="8 experts are not divisible by ep=16"):
        load_model("mixtral-8x7b").operators("decode", 1, 1, 0, "bf16", Mapping(tp=16, ep=16))
    with pytest.raises(InfeasibleError, match="ep=2 must divide tp=1"):
        Mapping(ep=2)
    with pytest.raises(InfeasibleError, match="no experts"):
        DENSE.operators("decode", 1, 1, 0, "bf16", Mapping(tp=2, ep=2))
    with pytest.raises(InfeasibleError, match="only ep == tp == attention_dp"):
        Mapping(tp=4, ep=2, attention_dp=2)
    with pytest.raises(SpecError, match="positive integer"):
        Mapping(tp=0)
    with pytest.raises(InfeasibleError, match="valid pp: 1, 61"):
        load_model("deepseek-v3").operators("decode", 1, 1, 0, "bf16", Mapping(pp=2))


def test_comm_scopes():
    # TP 8 inside one package of 8 dies: die-to-die
    assert Mapping(tp=8, dies_per_package=8).scopes()["tp"] == 0
    # TP 8 over 2 packages of 4 dies, both in one scale-up domain
    assert Mapping(tp=8, dies_per_package=4).scopes()["tp"] == 1
    # TP 16 over 16 single-die packages, scale-up domain of 8: scale-out
    assert Mapping(tp=16).scopes()["tp"] == 2
    s = Mapping(tp=4, pp=4, dies_per_package=4, scaleup_packages=2).scopes()
    assert s["tp"] == 0 and s["pp"] == 2      # stage hops 0-1 inside a domain, 1-2 across
    t = load_model("llama3.1-8b").operators("decode", 1, 1, 0, "bf16",
                                            Mapping(tp=4, attention_dp=2, dies_per_package=2))
    ar = t.select(t.name == "o_proj_allreduce")
    assert ar.comm_scope[0] == 0 and ar.comm_group[0] == 2
    ag = t.select(t.name == "mlp_allgather")
    assert ag.comm_scope[0] == 1 and ag.comm_group[0] == 4


class FakeArch:
    """Duck-typed architecture: what check_memory_fit needs."""

    def __init__(self, gib, dies=1):
        self.memory_capacity_bytes = gib * 2 ** 30
        self._dies = dies

    def compute_die_instances(self):
        return [(f"die{i}", None) for i in range(self._dies)]


def test_memory_fit_ok_and_missing_gib():
    m = load_model("llama3.1-70b")
    fit = check_memory_fit(m, FakeArch(80), Mapping(tp=2), batch=1, context_len=1000,
                           precision="bf16")
    # weights by hand: bf16 matrices split over 2 ranks (embedding and lm_head vocab-parallel),
    # norm weights replicated on every rank
    norms = (2 * 80 + 1) * 8192
    assert fit.weights == 2 * (m.param_count() - norms) / 2 + 2 * norms
    assert fit.kv_cache == 80 * 1001 * 2 * 4 * 128 * 2        # 4 KV heads per rank, bf16
    with pytest.raises(InfeasibleError, match=r"weights alone exceed the capacity by"):
        check_memory_fit(m, FakeArch(80), Mapping(), 1, 0, "bf16")


def test_memory_fit_reports_what_fits():
    m = load_model("llama3.1-8b")
    arch = FakeArch(40)
    with pytest.raises(InfeasibleError) as e:
        check_memory_fit(m, arch, Mapping(), batch=64, context_len=8192, precision="bf16")
    msg = str(e.value)
    assert "GiB missing" in msg and "largest batch at context 8192" in msg
    import re
    b = int(re.search(r"largest batch at context 8192: (\d+)", msg).group(1))
    c = int(re.search(r"largest context at batch 64: (\d+)", msg).group(1))
    check_memory_fit(m, arch, Mapping(), batch=b, context_len=8192, precision="bf16")
    with pytest.raises(InfeasibleError):
        check_memory_fit(m, arch, Mapping(), batch=b + 1, context_len=8192, precision="bf16")
    check_memory_fit(m, arch, Mapping(), batch=64, context_len=c, precision="bf16")
    with pytest.raises(InfeasibleError):
        check_memory_fit(m, arch, Mapping(), batch=64, context_len=c + 1, precision="bf16")
    # KV by hand: 32 layers x 8 heads x 256 x 2 bytes = 128 KiB per token; 40 GiB - 15 GiB of
    # weights leaves room for about 200k tokens, i.e. ~24 sequences of 8193
    assert 20 <= b <= 25


def test_memory_fit_packages_with_several_dies():
    m = load_model("llama3.1-70b")
    # 4 dies per package, tp=4: one package holds all four ranks -> the whole model
    fit = check_memory_fit(m, FakeArch(192, dies=4), Mapping.for_architecture(
        FakeArch(192, dies=4), tp=4), 1, 0, "bf16")
    assert fit.ranks_per_package == 4
    norms = (2 * 80 + 1) * 8192
    assert fit.weights == 2 * (m.param_count() - norms) + 4 * 2 * norms


def test_mla_tensor_parallel_split():
    m = load_model("deepseek-v3")
    one = m.operators("decode", 8, 1, 512, "bf16")
    r = m.operators("decode", 8, 1, 512, "bf16", Mapping(tp=8))
    row = lambda t, n: t.select(t.name == n)  # noqa: E731
    # q_b, o_proj and the absorbed kv_b halves split by heads; q_a/kv_a replicated (vLLM)
    for name in ("q_b_proj", "o_proj", "q_absorb_decode", "v_absorb_decode", "attention_decode"):
        assert 8 * row(r, name).flops[0] == pytest.approx(row(one, name).flops[0], rel=1e-12)
    assert row(r, "qkv_a_proj").flops[0] == row(one, "qkv_a_proj").flops[0]
    # the latent cache is not split by heads: every TP rank reads all of it
    assert _tot(r, "kv_read_bytes") == _tot(one, "kv_read_bytes")
    assert row(r, "attention_decode").heads[0] == 16


MODELS = ["llama3.1-8b", "mixtral-8x7b", "deepseek-v3", "gpt-oss-120b", "qwen3-235b-a22b",
          "qwen3-32b", "gpt3-175b"]
MAPPINGS = [dict(), dict(tp=2), dict(tp=8), dict(tp=8, ep=8), dict(tp=8, ep=4),
            dict(tp=4, attention_dp=2), dict(tp=8, ep=8, attention_dp=8), dict(tp=4, pp=2),
            dict(tp=2, dp=2), dict(tp=16, ep=16, attention_dp=16, dies_per_package=2)]


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(MODELS), mp=st.sampled_from(MAPPINGS),
       phase=st.sampled_from(["prefill", "decode", "chunked"]), per=st.integers(1, 4),
       seq=st.integers(1, 64), ctx=st.integers(0, 1500), prec=st.sampled_from([None, "bf16",
                                                                               "w4a8kv8"]))
def test_any_valid_mapping_keeps_work(name, mp, phase, per, seq, ctx, prec):
    from hypothesis import assume
    m = load_model(name)
    mapping = Mapping(**mp)
    batch = per * mapping.dp * mapping.attention_dp
    try:
        mapping.validate(m.config)
    except InfeasibleError:
        assume(False)
    if phase == "decode":
        seq = 1
    one = m.operators(phase, batch, seq, ctx, prec)
    r = m.operators(phase, batch, seq, ctx, prec, mapping)
    for t in (one, r):
        for col in ("flops", "weight_bytes", "act_in_bytes", "act_out_bytes", "kv_read_bytes",
                    "kv_write_bytes", "comm_bytes"):
            assert np.all(np.isfinite(t[col])) and np.all(t[col] >= 0), col
        assert np.all(t.repeat >= 1)
    # splitting never loses matrix / attention work; replication (shared KV heads, MLA
    # down-projections, routers, DP-attention weights) may only add to it
    gemm_attn = np.isin(r.kind, [int(k) for k in GEMMS + ATTN])
    ranks = mapping.tp * mapping.dp
    split = ranks * r.total("flops", gemm_attn)
    whole = one.total("flops", np.isin(one.kind, [int(k) for k in GEMMS + ATTN]))
    if phase != "chunked":       # the chunk lands on one rank: the busiest rank is not average
        assert split >= whole * (1 - 1e-9)
    # collectives appear exactly when ranks share work
    assert r.is_comm().any() == (mapping.tp > 1 or mapping.pp > 1)
