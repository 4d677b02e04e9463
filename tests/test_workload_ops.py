"""Operator tables: closed forms computed by hand against Model.operators (single device)."""
from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from chipletarch import formats
from chipletarch.errors import SpecError
from chipletarch.workload import COLUMN_NAMES, OpKind, causal_pairs, keys_attended, load_model
from chipletarch.workload.optable import OpTable

GEMMS = (OpKind.GEMM, OpKind.GROUPED_GEMM)
ATTN = (OpKind.ATTN_PREFILL, OpKind.ATTN_DECODE)


def _tot(t, col, kinds=None, op_class=None):
    mask = np.ones(len(t), bool)
    if kinds is not None:
        mask &= np.isin(t.kind, [int(k) for k in kinds])
    if op_class is not None:
        mask &= t.op_class == op_class
    return float((t[col] * t.repeat)[mask].sum())


def test_columns_follow_contract():
    # typed from docs/ARCHITECTURE.md "Operator table"
    contract = ("name op_class kind m n k groups batch q_len kv_len heads kv_heads qk_head_dim "
                "v_head_dim causal window flops weight_bytes act_in_bytes act_out_bytes "
                "kv_read_bytes kv_write_bytes weight_fmt act_fmt kv_fmt compute_fmt comm_bytes "
                "comm_group comm_scope stage repeat").split()
    assert list(COLUMN_NAMES) == contract
    t = load_model("tiny").operators("decode", 2, 1, 10, "bf16")
    assert t.kind.dtype == np.int8 and t.m.dtype == np.int64 and t.flops.dtype == np.float64
    assert t.weight_fmt.dtype == np.int16 and t.name.dtype == object
    assert isinstance(t, OpTable) and len(t) == len(t.name)


def test_llama8b_prefill_flops_closed_form():
    m = load_model("llama3.1-8b")
    B, S = 2, 300
    T = B * S
    t = m.operators("prefill", B, S, 0, "bf16")
    h, V, L = 4096, 128256, 32
    per_layer = h * (32 * 128 + 2 * 8 * 128) + 32 * 128 * h + 3 * h * 14336
    # LM head only for the last token of each sequence
    gemm = 2 * T * L * per_layer + 2 * B * V * h
    assert _tot(t, "flops", GEMMS) == gemm
    # the same from the parameter count: 2 * (active - embedding - lm_head - vectors) * tokens
    b = m.param_breakdown()
    matmul = m.active_param_count() - b["embed"] - b["lm_head"] - b["norms"]
    assert gemm == 2 * T * matmul + 2 * B * b["lm_head"]
    # exact causal attention: QK^T and PV, 2 FLOPs per MAC, S(S+1)/2 pairs per sequence
    attn = L * 2 * B * 32 * (128 + 128) * (S * (S + 1) // 2)
    assert _tot(t, "flops", ATTN) == attn


def test_prefill_with_cached_prefix_counts_prior_keys():
    m = load_model("tiny")
    t = m.operators("prefill", 1, 8, 5, "bf16")
    pairs = sum(5 + i + 1 for i in range(8))
    assert _tot(t, "flops", ATTN) == 2 * 2 * 4 * 32 * pairs
    # the 5 cached tokens are read from the KV cache (bf16: 2 bytes), the new 8 come as activations
    assert _tot(t, "kv_read_bytes") == 2 * 5 * 2 * 32 * 2


@pytest.mark.parametrize("name, B, P", [("tiny", 3, 100), ("llama3.1-8b", 4, 2047)])
def test_decode_bytes_weights_plus_kv(name, B, P):
    m = load_model(name)
    c = m.config
    t = m.operators("decode", B, 1, P, "bf16")
    h, V, L = c.hidden_size, c.vocab_size, c.num_layers
    per_tok = 2 * c.num_kv_heads * c.head_dim          # K and V elements per token per layer
    # every weight once (bf16), except the embedding table: only the B gathered rows
    weights = 2 * (m.param_count() - V * h + B * h)
    kv_read = 2 * L * B * (P + 1) * per_tok             # the whole cache incl. the new token
    kv_write = 2 * L * B * per_tok
    assert _tot(t, "weight_bytes") == weights
    assert _tot(t, "kv_read_bytes") == kv_read
    assert _tot(t, "kv_write_bytes") == kv_write


def test_mixtral_decode_reads_only_touched_experts():
    m = load_model("mixtral-8x7b")
    expert = 3 * 4096 * 14336
    t1 = m.operators("decode", 1, 1, 512, "bf16")
    # batch 1, top-2 of 8: exactly 2 experts per layer are read
    assert _tot(t1, "weight_bytes", op_class="moe_expert") == 32 * 2 * expert * 2
    rows = t1.select(t1.name == "experts_gate_up")
    assert rows.groups[0] == 2 and rows.m[0] == 1
    t16 = m.operators("decode", 16, 1, 512, "bf16")
    touched = 8 * (1 - (1 - 2 / 8) ** 16)
    assert _tot(t16, "weight_bytes", op_class="moe_expert") == pytest.approx(
        32 * touched * expert * 2, rel=1e-12)
    # FLOPs follow tokens x top-k, not experts touched
    assert _tot(t16, "flops", op_class="moe_expert") == pytest.approx(
        32 * (2 * 16 * 2 * expert + 2 * 16 * 2 * 4096 + 5 * 16 * 2 * 14336), rel=1e-12)


def _deepseek_layer():
    h, H = 7168, 128
    attn = (h * 1536 + 1536 * H * 192 + h * 576 + 512 * H * 256 + H * 128 * h)
    return h, H, attn, 3 * h * 18432, 3 * h * 2048, 256 * h


def test_deepseek_prefill_flops_mla_unabsorbed():
    m = load_model("deepseek-v3")
    B, S = 1, 256
    t = m.operators("prefill", B, S, 0, "bf16")
    h, H, attn, dense, expert, router = _deepseek_layer()
    per_token = 61 * attn + 3 * dense + 58 * (router + 8 * expert + expert)   # 8 routed + shared
    assert _tot(t, "flops", GEMMS) == pytest.approx(2 * S * per_token + 2 * B * 129280 * h,
                                                    rel=1e-12)
    # multi-head attention over decompressed K/V: qk 192, v 128
    assert _tot(t, "flops", ATTN) == 61 * 2 * H * (192 + 128) * (S * (S + 1) // 2)


def test_deepseek_decode_absorbed_vs_not():
    m = load_model("deepseek-v3")
    B, P = 4, 1000
    a = m.operators("decode", B, 1, P, "bf16")                      # absorption on by default
    n = m.operators("decode", B, 1, P, "bf16", mla_absorb=False)
    H = 128
    # absorbed: MQA over the 576-wide latent (v 512); K/V never decompressed
    assert _tot(a, "flops", ATTN) == 61 * 2 * B * H * (576 + 512) * (P + 1)
    assert _tot(n, "flops", ATTN) == 61 * 2 * B * H * (192 + 128) * (P + 1)
    # both read the latent cache once: (P+1) x 576 per sequence per layer, bf16
    assert _tot(a, "kv_read_bytes") == _tot(n, "kv_read_bytes") == 61 * B * (P + 1) * 576 * 2
    # W_UK / W_UV halves of kv_b_proj are read in both cases
    kv_b = 512 * H * 256 * 2
    assert _tot(a, "weight_bytes", op_class="attention") == 61 * kv_b
    assert _tot(n, "weight_bytes", op_class="attention") == 61 * kv_b
    # without absorption kv_b_proj decompresses every cached token: 2 * B * (P+1) * kv_b params
    assert _tot(n, "flops", op_class="attention") - _tot(n, "flops", ATTN) == \
        61 * 2 * B * (P + 1) * 512 * H * 256


def test_deepseek_native_formats():
    t = load_model("deepseek-v3").operators("decode", 1, 1, 10)
    fb, bf, e4 = (formats.get_format(f).index for f in ("fp8_block", "bf16", "fp8_e4m3"))
    row = dict(zip(t.name, range(len(t))))
    assert t.weight_fmt[row["q_b_proj"]] == fb and t.compute_fmt[row["q_b_proj"]] == e4
    assert t.weight_fmt[row["experts_down"]] == fb
    assert t.weight_fmt[row["lm_head"]] == bf and t.compute_fmt[row["lm_head"]] == bf
    n, k = t.n[row["lm_head"]], t.k[row["lm_head"]]
    assert t.weight_bytes[row["q_b_proj"]] == 1536 * 128 * 192 * (1 + 4 / 128)   # fp32 / 128
    assert t.weight_bytes[row["lm_head"]] == n * k * 2


def test_gpt_oss_sliding_window_and_mxfp4_experts():
    m = load_model("gpt-oss-120b")
    P = 4096
    t = m.operators("decode", 1, 1, P)            # native: MXFP4 experts, bf16 elsewhere
    full = t.select((t.kind == OpKind.ATTN_DECODE) & (t.window == 0))
    slid = t.select((t.kind == OpKind.ATTN_DECODE) & (t.window == 128))
    assert full.repeat[0] == slid.repeat[0] == 18
    assert full.kv_read_bytes[0] == (P + 1) * 8 * 128 * 2
    assert slid.kv_read_bytes[0] == 128 * 8 * 128 * 2
    assert slid.flops[0] == 2 * 64 * 128 * 128
    ex = t.select(t.name == "experts_gate_up")
    assert ex.weight_fmt[0] == formats.get_format("mxfp4_e2m1").index
    # 4 experts, 2*2880 x 2880 each at 4.25 bits, plus bf16 biases
    assert ex.weight_bytes[0] == 4 * 5760 * 2880 * 4.25 / 8 + 4 * 5760 * 2
    # sinks: one bf16 logit per head on the attention rows
    assert full.weight_bytes[0] == 64 * 2


def test_sliding_prefill_pairs():
    m = load_model("gpt-oss-120b")
    S = 300
    t = m.operators("prefill", 1, S, 0, "bf16")
    slid = t.select((t.kind == OpKind.ATTN_PREFILL) & (t.window == 128))
    pairs = sum(min(i + 1, 128) for i in range(S))
    assert slid.flops[0] == 2 * 64 * 128 * pairs


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 300), st.integers(1, 200), st.sampled_from([0, 1, 7, 128, 4096]))
def test_causal_pairs_brute_force(prior, q, window):
    brute = sum(min(prior + i + 1, window) if window else prior + i + 1 for i in range(q))
    assert causal_pairs(prior, q, window) == brute


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 300), st.integers(1, 50), st.sampled_from([0, 1, 7, 128, 4096]))
def test_keys_attended_brute_force(prior, q, window):
    keys = set()
    for i in range(q):
        hi = prior + i
        lo = max(0, hi + 1 - window) if window else 0
        keys.update(range(lo, hi + 1))
    assert keys_attended(prior, q, window) == len(keys)


def test_sliding_window_prefill_reads_window_minus_one_cached_keys():
    m = load_model("gpt-oss-120b")
    t = m.operators("prefill", 1, 10, 1000, "bf16")
    slid = t.select((t.kind == OpKind.ATTN_PREFILL) & (t.window == 128))
    full = t.select((t.kind == OpKind.ATTN_PREFILL) & (t.window == 0))
    assert slid.kv_read_bytes[0] == 127 * 8 * 128 * 2
    assert full.kv_read_bytes[0] == 1000 * 8 * 128 * 2


def test_chunked_phase_shape():
    m = load_model("tiny")
    S, B, P, C = 64, 5, 300, 128
    t = m.operators("chunked", B, S, P, "bf16", chunk_context_len=C)
    pre = t.select(t.kind == OpKind.ATTN_PREFILL)
    dec = t.select(t.kind == OpKind.ATTN_DECODE)
    assert (pre.batch[0], pre.q_len[0], pre.kv_len[0]) == (1, S, C + S)
    assert (dec.batch[0], dec.q_len[0], dec.kv_len[0]) == (B, 1, P + 1)
    qkv = t.select(t.name == "qkv_proj")
    assert qkv.m[0] == S + B
    assert t.select(t.name == "lm_head").m[0] == 1 + B
    assert pre.flops[0] == 2 * 4 * 32 * sum(C + i + 1 for i in range(S))
    assert dec.flops[0] == 2 * B * 4 * 32 * (P + 1)


def test_speculative_decode_tokens_attend_causally():
    m = load_model("tiny")
    t = m.operators("decode", 2, 4, 50, "bf16")
    a = t.select(t.kind == OpKind.ATTN_DECODE)
    assert a.causal[0] == 1 and a.flops[0] == 2 * 2 * 4 * 32 * sum(50 + i + 1 for i in range(4))
    assert t.select(t.name == "lm_head").m[0] == 8   # every new token gets logits


def test_precision_preset_formats_and_bytes():
    m = load_model("llama3.1-8b")
    t = m.operators("decode", 1, 1, 99, "w4a8kv8")
    r = t.select(t.name == "qkv_proj")
    assert r.weight_fmt[0] == formats.get_format("mxfp4_e2m1").index
    assert r.act_fmt[0] == r.compute_fmt[0] == formats.get_format("mxfp8_e4m3").index
    assert r.weight_bytes[0] == formats.tensor_bytes(6144 * 4096, "mxfp4_e2m1") == \
        6144 * 4096 * 4.25 / 8
    a = t.select(t.kind == OpKind.ATTN_DECODE)
    assert a.kv_read_bytes[0] == 100 * 8 * 256 * 8.25 / 8


def test_gpt3_learned_positions_no_rope():
    m = load_model("gpt3-175b")
    t = m.operators("prefill", 1, 16, 0, "bf16")
    assert "rope" not in set(t.name)
    e = t.select(t.name == "embed_tokens")
    assert e.weight_bytes[0] == 2 * (16 * 12288 + 16 * 12288)   # token rows + position rows
    with pytest.raises(SpecError, match="max_position_embeddings=2048"):
        m.operators("decode", 1, 1, 2048, "bf16")


def test_vector_rows_shape_and_flops():
    t = load_model("qwen3-32b").operators("prefill", 2, 16, 0, "bf16")
    for name, per_elem in (("input_norm", 4), ("qk_norm", 4), ("rope", 3), ("residual_attn", 1),
                           ("mlp_act", 5), ("final_norm", 4)):
        r = t.select(t.name == name)
        assert r.flops[0] == per_elem * r.m[0] * r.n[0], name
    r = t.select(t.name == "rope")
    assert (r.m[0], r.n[0]) == (32, (64 + 8) * 128)
    s = t.select(t.name == "sampling")
    assert (s.m[0], s.n[0]) == (2, 151936) and s.flops[0] == 5 * 2 * 151936


def test_bad_arguments():
    m = load_model("tiny")
    with pytest.raises(SpecError, match="unknown phase"):
        m.operators("train", 1, 1, 0)
    with pytest.raises(SpecError, match="batch must be >= 1"):
        m.operators("decode", 0, 1, 0)
    with pytest.raises(SpecError, match="unknown precision"):
        m.operators("decode", 1, 1, 0, "fp7")


def test_tables_are_cached_and_read_only():
    m = load_model("tiny")
    a = m.operators("decode", 3, 1, 10, "bf16")
    assert m.operators("decode", 3, 1, 10, "bf16") is a
    with pytest.raises(ValueError):
        a.flops[0] = 1.0
    b = a.copy()
    b.flops[0] = 1.0


def test_generation_is_cheap():
    m = load_model("llama3.1-70b")
    n = 200
    t0 = time.perf_counter()
    for i in range(n):                       # distinct shapes: no cache hits
        m.operators("decode", 1 + i, 1, 1000 + i, "bf16")
    per_call = (time.perf_counter() - t0) / n
    assert per_call < 2e-3, per_call         # about 0.25 ms measured on the dev box


@pytest.mark.parametrize("name, per_token", [
    ("llama3.1-70b", 80 * 8 * 128 * 2 * 2),      # 320 KiB: 80 layers x 8 KV heads x (K+V) x bf16
    ("llama3.1-8b", 32 * 8 * 128 * 2 * 2),       # 128 KiB
    ("deepseek-v3", 61 * (512 + 64) * 2),        # ~70 KB: MLA latent + rope key
    ("qwen3-235b-a22b", 94 * 4 * 128 * 2 * 2),
])
def test_kv_bytes_per_token(name, per_token):
    assert load_model(name).kv_bytes_per_token("bf16") == per_token


@st.composite
def _configs(draw):
    H = draw(st.sampled_from([2, 4, 8]))
    Hkv = draw(st.sampled_from([k for k in (1, 2, 4, 8) if H % k == 0]))
    d = draw(st.sampled_from([8, 16]))
    cfg = {"model_type": "llama", "hidden_size": draw(st.sampled_from([32, 64, 96])),
           "num_hidden_layers": draw(st.integers(1, 4)), "num_attention_heads": H,
           "num_key_value_heads": Hkv, "head_dim": d,
           "intermediate_size": draw(st.sampled_from([64, 128, 160])),
           "vocab_size": draw(st.sampled_from([128, 1000])),
           "hidden_act": draw(st.sampled_from(["silu", "gelu"])),
           "attention_bias": draw(st.booleans()), "mlp_bias": draw(st.booleans()),
           "tie_word_embeddings": draw(st.booleans()), "max_position_embeddings": 10 ** 6}
    if draw(st.booleans()):
        E = draw(st.sampled_from([4, 8, 16]))
        cfg.update(model_type="qwen3_moe", num_experts=E,
                   num_experts_per_tok=draw(st.integers(1, E)),
                   moe_intermediate_size=draw(st.sampled_from([16, 32])))
    return cfg


@settings(max_examples=60, deadline=None)
@given(cfg=_configs(), B=st.integers(1, 4), S=st.integers(1, 64))
def test_prefill_closed_form_random_models(cfg, B, S):
    from chipletarch.workload import model_from_config
    m = model_from_config(cfg)
    h, H, Hkv, d = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], \
        cfg["head_dim"]
    L, V, I = cfg["num_hidden_layers"], cfg["vocab_size"], cfg["intermediate_size"]
    mats = 3 if cfg["hidden_act"] == "silu" else 2
    attn = h * (H * d + 2 * Hkv * d) + H * d * h
    if "num_experts" in cfg:
        E, k, Im = cfg["num_experts"], cfg["num_experts_per_tok"], cfg["moe_intermediate_size"]
        mlp = h * E + k * mats * h * Im            # router + the k experts each token uses
    else:
        mlp = mats * h * I
    T = B * S
    t = m.operators("prefill", B, S, 0, "bf16")
    assert _tot(t, "flops", GEMMS) == pytest.approx(2 * T * L * (attn + mlp) + 2 * B * V * h,
                                                    rel=1e-12)
    assert _tot(t, "flops", ATTN) == L * 2 * B * H * 2 * d * (S * (S + 1) // 2)


@settings(max_examples=60, deadline=None)
@given(cfg=_configs(), B=st.integers(1, 4), P=st.integers(0, 300),
       prec=st.sampled_from(["bf16", "fp8", "mxfp8"]))
def test_decode_bytes_random_dense_models(cfg, B, P, prec):
    from chipletarch import formats
    from chipletarch.workload import model_from_config
    if "num_experts" in cfg:
        return
    m = model_from_config(cfg)
    b = m.param_breakdown()
    h, V, L = cfg["hidden_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
    vectors = b["norms"] + b["attn_vectors"] + m._mlp_bias(cfg["intermediate_size"]) * L
    matrices = m.param_count() - vectors - b["embed"] + B * h     # only B embedding rows ...
    if cfg["tie_word_embeddings"]:
        matrices += V * h                   # ... but a tied LM head reads the whole table
    p = formats.get_precision(prec)
    t = m.operators("decode", B, 1, P, prec)
    want = formats.tensor_bytes(matrices, p.weights) + formats.tensor_bytes(vectors, "bf16")
    assert _tot(t, "weight_bytes") == pytest.approx(want, rel=1e-12)
    per_tok = L * 2 * cfg["num_key_value_heads"] * cfg["head_dim"]
    assert _tot(t, "kv_read_bytes") == pytest.approx(
        formats.tensor_bytes(B * (P + 1) * per_tok, p.kv_cache), rel=1e-12)
    assert _tot(t, "kv_write_bytes") == pytest.approx(
        formats.tensor_bytes(B * per_tok, p.kv_cache), rel=1e-12)


def test_model_and_table_pickle():
    import pickle
    m = load_model("deepseek-v3")
    t = m.operators("decode", 4, 1, 100, "bf16")
    m2 = pickle.loads(pickle.dumps(m))
    t2 = pickle.loads(pickle.dumps(t))
    assert m2.param_count() == m.param_count()
    assert t2.total("flops") == t.total("flops") and list(t2.name) == list(t.name)
    assert m2.operators("decode", 4, 1, 100, "bf16").total("flops") == t.total("flops")
