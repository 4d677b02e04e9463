"""Transformer models: parameter counts and per-phase operator tables.

`Model` wraps a normalised `ModelConfig` (from a bundled YAML file or a Hugging Face config.json)
and answers two questions:

* how many parameters it has (`param_count`, `active_param_count`, `param_breakdown`), checked
  against the publishers' totals;
* what one forward pass costs on one device of a parallel mapping (`operators`): an `OpTable` with
  one row per distinct operator, FLOPs, bytes per tensor in its number format and a repeat count.

Conventions (FLOPs = 2 x MACs, exact causal pair counts, what "context" means per phase, what the
byte columns include) are in docs/WORKLOADS.md; the code comments say why each op looks the way it
does. Generation is plain integer arithmetic on a few dozen rows and is memoised per argument
tuple, because the engine asks for the same tables over and over while sweeping architectures.
"""
from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache
from pathlib import Path

from .. import formats
from .._paths import workloads_dir
from ..errors import SpecError
from .config import ModelConfig, config_location, parse_config, read_config_file
from .mapping import Mapping
from .moe import expected_experts_touched, expected_max_experts_touched
from .optable import OpKind, OpTable, _RowBuilder

# Vector FLOPs per element of elementwise / reduction operators (counted from the formulas, see
# docs/WORKLOADS.md): RMSNorm = square, accumulate, scale by 1/rms, scale by weight; LayerNorm adds
# mean, subtract and bias; RoPE = x*cos + rot(x)*sin; SiLU-gated = exp, add, reciprocal, *g, *u;
# GELU (tanh form) = x^3 (2), *0.044715, +x, *sqrt(2/pi), tanh, +1, *x, *0.5 = 9;
# softmax-like (router top-k, sampling) = max, subtract, exp, sum, divide.
NORM_FLOPS = {"rms": 4, "layer": 7}
ROPE_FLOPS = 3
ACT_FLOPS = {True: 5, False: 9}   # gated (SwiGLU) / plain (GELU)
SOFTMAX_FLOPS = 5
RESIDUAL_FLOPS = 1
WEIGHTED_SUM_FLOPS = 2            # MoE combine: multiply by gate weight, accumulate

PHASES = ("prefill", "decode", "chunked")
_WEIGHT_ROLES = ("embed", "attn", "mlp", "experts", "shared", "router", "lm_head")
VECTOR_FORMAT = "bf16"   # norm weights, biases, sinks stay in bf16 under every preset


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def causal_pairs(prior: int, q: int, window: int = 0) -> int:
    """(query, key) pairs of one sequence: q new tokens after `prior` cached ones.

    New token i (0-based) attends keys 0..prior+i, i.e. prior+i+1 keys, limited to the last
    `window` keys when a sliding window is set. Exact integer sum of min(j, W) for j in
    prior+1 .. prior+q.
    """
    a, b = prior + 1, prior + q
    if q <= 0:
        return 0
    if not window or window >= b:
        return (a + b) * q // 2
    if window < a:
        return q * window
    return (a + window) * (window - a + 1) // 2 + (b - window) * window


def keys_attended(prior: int, q: int, window: int = 0) -> int:
    """Distinct keys that q new tokens after `prior` cached ones attend (new keys included).

    Token i sees keys max(0, prior + i + 1 - W) .. prior + i; the union over i runs from
    max(0, prior + 1 - W) to prior + q - 1: min(prior + q, W + q - 1) keys with a window W.
    """
    if not window:
        return prior + q
    return min(prior + q, window + q - 1)


class _Prec:
    """Resolved formats: weight format per role, activations, KV cache, compute per role."""

    __slots__ = ("name", "w", "act", "kv", "cw", "attn_c", "idx")

    def __init__(self, name, w: dict, act: str, kv: str, cw: dict, attn_c: str):
        self.name, self.w, self.act, self.kv, self.cw, self.attn_c = name, w, act, kv, cw, attn_c
        self.idx = {r: formats.get_format(f).index for r, f in w.items()}

    def cidx(self, role):
        return formats.get_format(self.cw[role]).index


def _wider(a: str, b: str) -> str:
    return a if formats.get_format(a).element_bits >= formats.get_format(b).element_bits else b


class Model:
    """A transformer model (see the module docstring). Build with `load_model`."""

    def __init__(self, config: ModelConfig, source: str | None = None):
        self.config = config
        self.name = config.name
        self.source = source
        self._ops_cache = lru_cache(maxsize=4096)(self._operators_uncached)
        self._prec_cache: dict = {}

    def __getstate__(self):
        # Caches hold bound methods and are rebuilt on unpickling (process-pool executors).
        return {"config": self.config, "source": self.source}

    def __setstate__(self, state):
        self.__init__(state["config"], state["source"])

    def __repr__(self):
        c = self.config
        return (f"Model({self.name!r}, {self.param_count() / 1e9:.2f} B params, "
                f"{self.active_param_count() / 1e9:.2f} B active, {c.num_layers} layers)")

    # ------------------------------------------------------------------ parameters
    def param_breakdown(self) -> dict:
        """Parameters per role, whole model: embed, positions, attn, attn_vectors, mlp, experts,
        router, shared, norms, lm_head. `experts` counts all routed experts."""
        c = self.config
        h, L = c.hidden_size, c.num_layers
        attn = self._attn_matrix_params() * L
        n_moe = sum(c.layer_moe)
        n_dense = L - n_moe
        mats = 3 if c.gated_mlp else 2
        out = {
            "embed": c.vocab_size * h,
            "positions": c.max_position_embeddings * h if c.positions == "learned" else 0,
            "attn": attn,
            "attn_vectors": self._attn_vector_params() * L,
            "mlp": n_dense * (mats * h * c.intermediate_size + self._mlp_bias(c.intermediate_size)),
            "experts": n_moe * c.num_experts * self._expert_params(),
            "router": n_moe * (h * c.num_experts + (c.num_experts if c.router_bias else 0)),
            "shared": n_moe * (mats * h * c.shared_intermediate_size
                               + self._mlp_bias(c.shared_intermediate_size)),
            "norms": (2 * L + 1) * h * (2 if c.norm == "layer" else 1),
            "lm_head": 0 if c.tie_word_embeddings else c.vocab_size * h,
        }
        return out

    def param_count(self) -> int:
        """All parameters (the main model; DeepSeek's multi-token-prediction module excluded)."""
        return int(sum(self.param_breakdown().values()))

    def active_param_count(self, include_embedding: bool | None = None) -> int:
        """Parameters used per token: routed experts count top-k of E.

        Publishers differ on whether the input-embedding table counts as active (Mistral and
        Qwen count it; OpenAI's gpt-oss card and DeepSeek's 37 B do not). `None` follows the
        model file's `chipletarch.published.active_includes_embedding` (default True).
        """
        c = self.config
        b = self.param_breakdown()
        if include_embedding is None:
            pub = c.meta.get("published") or {}
            include_embedding = bool(pub.get("active_includes_embedding", True))
        total = sum(b.values()) - b["experts"]
        if c.num_experts:
            total += b["experts"] * c.experts_per_tok // c.num_experts
        if not include_embedding:
            total -= b["embed"]
        return int(total)

    def _attn_matrix_params(self) -> int:
        c = self.config
        h, H = c.hidden_size, c.num_heads
        if c.mla:
            qk = c.qk_nope_head_dim + c.qk_rope_head_dim
            q = (h * c.q_lora_rank + c.q_lora_rank * H * qk) if c.q_lora_rank else h * H * qk
            kv_a = h * (c.kv_lora_rank + c.qk_rope_head_dim)
            kv_b = c.kv_lora_rank * H * (c.qk_nope_head_dim + c.v_head_dim)
            return q + kv_a + kv_b + H * c.v_head_dim * h
        d = c.head_dim
        return h * H * d + 2 * h * c.num_kv_heads * d + H * d * h

    def _attn_vector_params(self) -> int:
        c = self.config
        n = 0
        if c.attention_bias and not c.mla:
            n += c.num_heads * c.head_dim + 2 * c.num_kv_heads * c.head_dim + c.hidden_size
        if c.qk_norm:
            n += 2 * c.head_dim
        if c.mla:
            n += c.q_lora_rank + c.kv_lora_rank
        if c.attention_sinks:
            n += c.num_heads
        return n

    def _mlp_bias(self, inter: int) -> int:
        c = self.config
        if not c.mlp_bias or not inter:
            return 0
        return (2 * inter if c.gated_mlp else inter) + c.hidden_size

    def _expert_params(self) -> int:
        c = self.config
        mats = 3 if c.gated_mlp else 2
        p = mats * c.hidden_size * c.moe_intermediate_size
        if c.expert_bias:
            p += (2 if c.gated_mlp else 1) * c.moe_intermediate_size + c.hidden_size
        return p

    # ------------------------------------------------------------------ formats
    def resolve_precision(self, precision=None) -> _Prec:
        """Formats per weight role. None or 'native' = the checkpoint's own formats (gpt-oss:
        MXFP4 experts, DeepSeek: FP8 128x128 blocks); otherwise a `formats` preset name or
        `Precision`, applied to every matrix weight (vectors stay bf16)."""
        try:
            return self._prec_cache[precision]
        except KeyError:
            r = self._prec_cache[precision] = _resolve_precision(self.config, precision)
            return r

    def kv_bytes_per_token(self, precision=None) -> float:
        """KV-cache bytes one token occupies over all layers, unsharded (full attention)."""
        p = self.resolve_precision(precision)
        c = self.config
        return formats.tensor_bytes(self._kv_elems_per_token_layer(c.num_kv_heads) * c.num_layers,
                                    p.kv)

    def _kv_elems_per_token_layer(self, kv_heads_rank: int) -> int:
        c = self.config
        if c.mla:
            return c.kv_lora_rank + c.qk_rope_head_dim
        return kv_heads_rank * (c.head_dim + c.v_head_dim)

    # ------------------------------------------------------------------ operators
    def operators(self, phase: str, batch: int, seq_len: int = 1, context_len: int = 0,
                  precision=None, mapping: Mapping | None = None, *, mla_absorb: bool | None = None,
                  chunk_context_len: int = 0) -> OpTable:
        """Operator table of one forward pass on one device (busiest rank) of `mapping`.

        phase 'prefill': `batch` sequences of `seq_len` new tokens each, after `context_len`
        tokens already cached (prefix cache; usually 0). Only the last token of each sequence
        goes through the LM head.
        phase 'decode': `batch` sequences each adding `seq_len` tokens (1; more for speculative
        verification) to a cache of `context_len` tokens; every new token gets logits.
        phase 'chunked': one prefill chunk of `seq_len` tokens whose sequence already has
        `chunk_context_len` tokens cached, riding with a decode batch of `batch` sequences at
        `context_len` cached tokens (batch may be 0).
        `mla_absorb`: MLA weight absorption (None: on for decode tokens, off for prefill tokens).
        The returned table is cached and read-only.
        """
        if phase not in PHASES:
            raise SpecError(f"unknown phase {phase!r} (known: {', '.join(PHASES)})")
        for nm, v, lo in (("batch", batch, 0 if phase == "chunked" else 1),
                          ("seq_len", seq_len, 1), ("context_len", context_len, 0),
                          ("chunk_context_len", chunk_context_len, 0)):
            if isinstance(v, bool) or not isinstance(v, (int,)) and not (
                    hasattr(v, "__index__")):
                raise SpecError(f"{nm} must be an integer, got {v!r}")
            if v < lo:
                raise SpecError(f"{nm} must be >= {lo}, got {v}")
        c = self.config
        longest = max(context_len + seq_len, chunk_context_len + seq_len if phase == "chunked"
                      else 0)
        if c.max_position_embeddings and longest > c.max_position_embeddings:
            raise SpecError(f"{self.name}: {longest} tokens per sequence exceed "
                            f"max_position_embeddings={c.max_position_embeddings}")
        mapping = mapping if mapping is not None else _DEFAULT_MAPPING
        if not isinstance(mapping, Mapping):
            raise SpecError(f"mapping must be a chipletarch.workload.Mapping, got "
                            f"{type(mapping).__name__}")
        pkey = precision if not isinstance(precision, str) else precision.strip().lower()
        return self._ops_cache(phase, int(batch), int(seq_len), int(context_len), pkey, mapping,
                               mla_absorb, int(chunk_context_len))

    def _operators_uncached(self, phase, batch, seq_len, context_len, precision, mapping,
                            mla_absorb, chunk_ctx) -> OpTable:
        mapping.validate(self.config)
        prec = self.resolve_precision(precision)
        t = _generate(self.config, prec, phase, batch, seq_len, context_len, mapping, mla_absorb,
                      chunk_ctx)
        return t.freeze()

    # ------------------------------------------------------------------ memory
    def resident_weight_bytes(self, precision=None, mapping: Mapping | None = None) -> list:
        """Weight bytes held by one rank of each pipeline stage (list indexed by stage)."""
        mapping = mapping if mapping is not None else _DEFAULT_MAPPING
        mapping.validate(self.config)
        return _resident_weights(self.config, self.resolve_precision(precision), mapping)


_DEFAULT_MAPPING = Mapping()


def _resolve_precision(c: ModelConfig, precision) -> _Prec:
    if precision is None or (isinstance(precision, str) and precision == "native"):
        act = kv = c.native_dtype
        w = {r: formats.get_format(c.native_formats.get(r, act)).name for r in _WEIGHT_ROLES}
        # An FP8 checkpoint (DeepSeek-V3, activation_scheme dynamic) runs FP8 GEMMs: activations
        # are quantised on the fly. Other narrow weights are up-converted to the activation format.
        cw = {r: ("fp8_e4m3" if formats.get_format(f).element_bits == 8 else _wider(f, act))
              for r, f in w.items()}
        return _Prec("native", w, act, kv, cw, act)
    p = formats.get_precision(precision)
    w = {r: p.weights for r in _WEIGHT_ROLES}
    cw = {r: p.compute for r in _WEIGHT_ROLES}
    return _Prec(p.name, w, p.activations, p.kv_cache, cw, _wider(p.activations, p.kv_cache))


# ---------------------------------------------------------------------------------------------
# Operator generation
# ---------------------------------------------------------------------------------------------
def _generate(c: ModelConfig, p: _Prec, phase, batch, seq_len, context_len, mp: Mapping,
              mla_absorb, chunk_ctx) -> OpTable:
    h, H, L = c.hidden_size, c.num_heads, c.num_layers
    tp, adp, pp, dp, ep = mp.tp, mp.attention_dp, mp.pp, mp.dp, mp.ep
    ta = mp.attn_tp
    sc = mp.scopes()
    rb = _RowBuilder(p.act, p.kv, VECTOR_FORMAT)
    add = rb.add
    G, GG = OpKind.GEMM, OpKind.GROUPED_GEMM
    ELT, RED = OpKind.ELEMENTWISE, OpKind.REDUCTION
    attn_cidx = formats.get_format(p.attn_c).index
    nvec = 2 if c.norm == "layer" else 1
    nflop = NORM_FLOPS[c.norm]

    # ---- segments: (sequences on this rank, new tokens per sequence, cached tokens, absorb,
    #      prefill-style attention?)
    def per_rank(nseq):
        return _cdiv(_cdiv(nseq, dp), adp)

    if phase == "prefill":
        segs = [(per_rank(batch), seq_len, context_len,
                 bool(mla_absorb) if mla_absorb is not None else False, True)]
        logit_rows = segs[0][0]
    elif phase == "decode":
        segs = [(per_rank(batch), seq_len, context_len,
                 bool(mla_absorb) if mla_absorb is not None else True, False)]
        logit_rows = segs[0][0] * seq_len
    else:
        segs = [(1, seq_len, chunk_ctx, bool(mla_absorb) if mla_absorb is not None else False,
                 True)]
        if batch:
            segs.append((per_rank(batch), 1, context_len,
                         bool(mla_absorb) if mla_absorb is not None else True, False))
        # The chunk is charged one LM-head row, as on the prompt's final chunk.
        logit_rows = 1 + (segs[1][0] if batch else 0)
    T = sum(s[0] * s[1] for s in segs)          # tokens through attention on this rank
    Tg = adp * T                                 # tokens in the TP group (padded to busiest)

    # ---- per-rank attention dims
    Hr = H // ta
    if c.mla:
        Hkv_r = 1                                # latent cache replicated on every attention rank
    else:
        Hkv_r = max(1, c.num_kv_heads // ta)     # tp > kv heads: each KV head replicated (vLLM)
    d, dv = c.head_dim, c.v_head_dim
    kv_elems = (c.kv_lora_rank + c.qk_rope_head_dim) if c.mla else Hkv_r * (d + dv)

    layers_per_stage = L // pp
    w_attn, w_mlp, w_exp, w_sh, w_rt = (p.idx[r] for r in ("attn", "mlp", "experts", "shared",
                                                           "router"))
    c_attn, c_mlp, c_exp, c_sh, c_rt = (p.cidx(r) for r in ("attn", "mlp", "experts", "shared",
                                                            "router"))

    def gemm(name, cls, m, n, k, wfmt, cfmt, *, wvec=0, stage, repeat, kv_r=0.0, a_in=None):
        add(name, cls, G, m=m, n=n, k=k, groups=1, flops=2.0 * m * n * k, w=n * k, wvec=wvec,
            a_in=m * k if a_in is None else a_in, a_out=m * n, kv_r=kv_r, wfmt=wfmt, cfmt=cfmt,
            stage=stage, repeat=repeat)

    def norm(name, cls, tokens, width, *, stage, repeat, vec=None):
        e = tokens * width
        add(name, cls, RED, m=tokens, n=width, flops=float(nflop * e),
            wvec=nvec * width if vec is None else vec, a_in=e, a_out=e, stage=stage,
            repeat=repeat)

    def comm(name, kind, numel, group, scope, *, stage, repeat, out_numel=None):
        add(name, "comm", kind, comm=numel, a_in=numel,
            a_out=numel if out_numel is None else out_numel, group=group, scope=scope,
            stage=stage, repeat=repeat)

    for s in range(pp):
        lay = range(s * layers_per_stage, (s + 1) * layers_per_stage)
        nl = layers_per_stage
        windows = Counter(c.layer_window[i] for i in lay)
        n_moe = sum(1 for i in lay if c.layer_moe[i])
        n_dense = nl - n_moe

        # ---------------- embedding (stage 0)
        if s == 0:
            pos_rows = T * h if c.positions == "learned" else 0
            # Vocab-parallel embedding: each attention-TP rank holds V/ta rows and gathers the
            # expected T/ta of the requested rows; an all-reduce assembles the hidden states.
            add("embed_tokens", "embed", OpKind.GATHER, m=T, n=h, w=T * h / ta + pos_rows,
                a_out=T * h, flops=float(pos_rows), wfmt=p.idx["embed"], stage=0, repeat=1)
            if ta > 1:
                comm("embed_allreduce", OpKind.ALL_REDUCE, T * h, ta, sc["attn_tp"], stage=0,
                     repeat=1)

        # ---------------- attention block
        norm("input_norm", "norm", T, h, stage=s, repeat=nl)
        if c.mla:
            qk = c.qk_nope_head_dim + c.qk_rope_head_dim
            lat = c.kv_lora_rank + c.qk_rope_head_dim
            # q_a / kv_a down-projections are replicated on every TP rank (vLLM ReplicatedLinear).
            if c.q_lora_rank:
                gemm("qkv_a_proj", "qkv_proj", T, c.q_lora_rank + lat, h, w_attn, c_attn,
                     stage=s, repeat=nl)
                norm("q_kv_a_norm", "norm", T, c.q_lora_rank + c.kv_lora_rank, stage=s,
                     repeat=nl)
                gemm("q_b_proj", "qkv_proj", T, Hr * qk, c.q_lora_rank, w_attn, c_attn,
                     stage=s, repeat=nl)
            else:
                gemm("q_proj", "qkv_proj", T, Hr * qk, h, w_attn, c_attn, stage=s, repeat=nl)
                gemm("kv_a_proj", "qkv_proj", T, lat, h, w_attn, c_attn, stage=s, repeat=nl)
                norm("kv_a_norm", "norm", T, c.kv_lora_rank, stage=s, repeat=nl)
            rot = T * (Hr + 1) * c.qk_rope_head_dim
        else:
            nq = Hr * d + Hkv_r * (d + dv)
            gemm("qkv_proj", "qkv_proj", T, nq, h, w_attn, c_attn,
                 wvec=nq if c.attention_bias else 0, stage=s, repeat=nl)
            if c.qk_norm:
                norm("qk_norm", "norm", T * (Hr + Hkv_r), d, stage=s, repeat=nl, vec=2 * d)
            rot = T * (Hr + Hkv_r) * c.rope_dim
        if rot:
            add("rope", "rope", ELT, m=T, n=rot // T if T else 0, flops=float(ROPE_FLOPS * rot),
                a_in=rot, a_out=rot, stage=s, repeat=nl)
        kvw = T * kv_elems
        add("kv_cache_write", "kv_write", ELT, m=T, n=kv_elems, a_in=kvw, kv_w=kvw, stage=s,
            repeat=nl)

        for W, nw in sorted(windows.items()):
            tag = f"[w{W}]" if W else ""
            for (ns, q, P, absorb, pstyle) in segs:
                if ns == 0:
                    continue
                kind = OpKind.ATTN_PREFILL if pstyle else OpKind.ATTN_DECODE
                pairs = causal_pairs(P, q, W)
                keys_all = keys_attended(P, q, W)             # keys a decode step reads
                keys_prior = keys_attended(P, q, W) - q       # cached keys a prefill reads
                tq = ns * q
                sfx = ("_prefill" if pstyle else "_decode") + tag
                causal = 1 if (pstyle or q > 1) else 0
                if c.mla and absorb:
                    # Weight absorption: W_UK folded into q, attention runs MQA-style over the
                    # compressed latent (qk dim kv_lora+rope, v dim kv_lora), W_UV applied after.
                    r_lat = c.kv_lora_rank
                    add("q_absorb" + sfx, "attention", GG, m=tq, n=r_lat, k=c.qk_nope_head_dim,
                        groups=Hr, flops=2.0 * tq * Hr * r_lat * c.qk_nope_head_dim,
                        w=Hr * c.qk_nope_head_dim * r_lat, a_in=tq * Hr * c.qk_nope_head_dim,
                        a_out=tq * Hr * r_lat, wfmt=w_attn, cfmt=c_attn, stage=s, repeat=nw)
                    kv_r = ns * (keys_prior if pstyle else keys_all) * lat
                    a_in = tq * Hr * (r_lat + c.qk_rope_head_dim) + (tq * lat if pstyle else 0)
                    add("attention" + sfx, "attention", kind, batch=ns, q_len=q, kv_len=P + q,
                        heads=Hr, kv_heads=1, qk=r_lat + c.qk_rope_head_dim, v=r_lat,
                        causal=causal, window=W,
                        flops=2.0 * ns * Hr * (2 * r_lat + c.qk_rope_head_dim) * pairs,
                        a_in=a_in, a_out=tq * Hr * r_lat, kv_r=kv_r, cfmt=attn_cidx, stage=s,
                        repeat=nw)
                    add("v_absorb" + sfx, "attention", GG, m=tq, n=c.v_head_dim, k=r_lat,
                        groups=Hr, flops=2.0 * tq * Hr * r_lat * c.v_head_dim,
                        w=Hr * r_lat * c.v_head_dim, a_in=tq * Hr * r_lat,
                        a_out=tq * Hr * c.v_head_dim, wfmt=w_attn, cfmt=c_attn, stage=s,
                        repeat=nw)
                elif c.mla:
                    # No absorption: decompress K/V of every attended token with kv_b_proj, then
                    # multi-head attention with qk dim nope+rope and v dim v_head_dim.
                    keys = keys_all
                    mk = ns * keys
                    nkv = Hr * (c.qk_nope_head_dim + c.v_head_dim)
                    cached = ns * (keys_prior if pstyle else keys_all)
                    gemm("kv_b_proj" + sfx, "attention", mk, nkv, c.kv_lora_rank, w_attn, c_attn,
                         kv_r=cached * lat, a_in=(mk - cached) * c.kv_lora_rank, stage=s,
                         repeat=nw)
                    add("attention" + sfx, "attention", kind, batch=ns, q_len=q, kv_len=P + q,
                        heads=Hr, kv_heads=Hr, qk=qk, v=c.v_head_dim, causal=causal, window=W,
                        flops=2.0 * ns * Hr * (qk + c.v_head_dim) * pairs,
                        a_in=tq * Hr * qk + mk * (nkv + Hr * c.qk_rope_head_dim),
                        a_out=tq * Hr * c.v_head_dim, cfmt=attn_cidx, stage=s, repeat=nw)
                else:
                    if pstyle:
                        a_in = tq * Hr * d + tq * Hkv_r * (d + dv)
                        kv_r = ns * keys_prior * Hkv_r * (d + dv)
                    else:
                        a_in = tq * Hr * d
                        kv_r = ns * keys_all * Hkv_r * (d + dv)
                    add("attention" + sfx, "attention", kind, batch=ns, q_len=q, kv_len=P + q,
                        heads=Hr, kv_heads=Hkv_r, qk=d, v=dv, causal=causal, window=W,
                        flops=2.0 * ns * Hr * (d + dv) * pairs,
                        wvec=Hr if c.attention_sinks else 0, a_in=a_in, a_out=tq * Hr * dv,
                        kv_r=kv_r, cfmt=attn_cidx, stage=s, repeat=nw)

        gemm("o_proj", "o_proj", T, h, Hr * dv, w_attn, c_attn,
             wvec=h if (c.attention_bias and not c.mla) else 0, stage=s, repeat=nl)
        if ta > 1:
            comm("o_proj_allreduce", OpKind.ALL_REDUCE, T * h, ta, sc["attn_tp"], stage=s,
                 repeat=nl)
        add("residual_attn", "residual", ELT, m=T, n=h, flops=float(RESIDUAL_FLOPS * T * h),
            a_in=2 * T * h, a_out=T * h, stage=s, repeat=nl)
        norm("post_attention_norm", "norm", T, h, stage=s, repeat=nl)

        mats_in = 2 if c.gated_mlp else 1
        aflop = ACT_FLOPS[c.gated_mlp]
        # ---------------- dense MLP layers
        if n_dense:
            Tm = T
            if adp > 1:
                comm("mlp_allgather", OpKind.ALL_GATHER, T * h, tp, sc["tp"], stage=s,
                     repeat=n_dense, out_numel=Tg * h)
                Tm = Tg
            Ir = c.intermediate_size // tp
            _mlp(add, gemm, "mlp", "mlp", Tm, Ir, h, mats_in, aflop, w_mlp, c_mlp, c.mlp_bias,
                 s, n_dense)
            if adp > 1:
                comm("mlp_reducescatter", OpKind.REDUCE_SCATTER, Tm * h, tp, sc["tp"], stage=s,
                     repeat=n_dense, out_numel=T * h)
            elif tp > 1:
                comm("mlp_allreduce", OpKind.ALL_REDUCE, Tm * h, tp, sc["tp"], stage=s,
                     repeat=n_dense)
            add("residual_mlp", "residual", ELT, m=T, n=h, flops=float(RESIDUAL_FLOPS * T * h),
                a_in=2 * T * h, a_out=T * h, stage=s, repeat=n_dense)

        # ---------------- MoE layers
        if n_moe:
            E, k = c.num_experts, c.experts_per_tok
            mode = mp.moe_mode
            Tm = T
            if mode == "tp" and adp > 1:
                comm("moe_allgather", OpKind.ALL_GATHER, T * h, tp, sc["tp"], stage=s,
                     repeat=n_moe, out_numel=Tg * h)
                Tm = Tg
            gemm("router", "moe_router", Tm, E, h, w_rt, c_rt, wvec=E if c.router_bias else 0,
                 stage=s, repeat=n_moe)
            add("router_topk", "moe_router", RED, m=Tm, n=E, flops=float(SOFTMAX_FLOPS * Tm * E),
                a_in=Tm * E, a_out=Tm * k, stage=s, repeat=n_moe)
            if mode == "ep_a2a":
                t_route = Tg
                a2a = T * k * h * (ep - 1) / ep
                comm("moe_dispatch", OpKind.ALL_TO_ALL, a2a, ep, sc["tp"], stage=s,
                     repeat=n_moe, out_numel=a2a)
            else:
                t_route = Tm
            e_local = E // ep
            etp = mp.expert_tp
            slots = t_route * k / ep                  # expected (token, expert) pairs here
            # under EP the layer waits for the rank that touches the most local experts
            touched = (float(expected_max_experts_touched(E, k, t_route, e_local, ep))
                       if ep > 1 else float(expected_experts_touched(E, k, t_route, e_local)))
            Im = c.moe_intermediate_size // etp
            grp = max(1, int(round(touched)))
            m_e = _cdiv(int(math.ceil(slots)), grp)
            n_gu = mats_in * Im
            add("experts_gate_up", "moe_expert", GG, m=m_e, n=n_gu, k=h, groups=grp,
                flops=2.0 * slots * n_gu * h, w=touched * n_gu * h,
                wvec=touched * n_gu if c.expert_bias else 0, a_in=slots * h, a_out=slots * n_gu,
                wfmt=w_exp, cfmt=c_exp, stage=s, repeat=n_moe)
            add("experts_act", "moe_expert", ELT, m=math.ceil(slots), n=Im,
                flops=float(aflop * slots * Im),
                a_in=slots * n_gu, a_out=slots * Im, stage=s, repeat=n_moe)
            add("experts_down", "moe_expert", GG, m=m_e, n=h, k=Im, groups=grp,
                flops=2.0 * slots * h * Im, w=touched * h * Im,
                wvec=touched * h if c.expert_bias else 0, a_in=slots * Im, a_out=slots * h,
                wfmt=w_exp, cfmt=c_exp, stage=s, repeat=n_moe)
            add("experts_weighted_sum", "moe_expert", ELT, m=math.ceil(slots), n=h,
                flops=float(WEIGHTED_SUM_FLOPS * slots * h), a_in=slots * h, a_out=Tm * h,
                stage=s, repeat=n_moe)
            if c.shared_intermediate_size:
                if mode == "ep_a2a":   # shared expert replicated, applied to the rank's tokens
                    _mlp(add, gemm, "shared_expert", "shared_expert", T,
                         c.shared_intermediate_size, h, mats_in, aflop, w_sh, c_sh, c.mlp_bias,
                         s, n_moe)
                else:
                    _mlp(add, gemm, "shared_expert", "shared_expert", Tm,
                         c.shared_intermediate_size // tp, h, mats_in, aflop, w_sh, c_sh,
                         c.mlp_bias, s, n_moe)
            if mode == "ep_a2a":
                comm("moe_combine", OpKind.ALL_TO_ALL, a2a, ep, sc["tp"], stage=s,
                     repeat=n_moe, out_numel=a2a)
            elif adp > 1:
                comm("moe_reducescatter", OpKind.REDUCE_SCATTER, Tm * h, tp, sc["tp"],
                     stage=s, repeat=n_moe, out_numel=T * h)
            elif tp > 1:
                comm("moe_allreduce", OpKind.ALL_REDUCE, Tm * h, tp, sc["tp"], stage=s,
                     repeat=n_moe)
            add("residual_mlp", "residual", ELT, m=T, n=h, flops=float(RESIDUAL_FLOPS * T * h),
                a_in=2 * T * h, a_out=T * h, stage=s, repeat=n_moe)

        # ---------------- stage boundary / head
        if s + 1 < pp:
            # vLLM's pipeline stages pass hidden_states and residual (IntermediateTensors).
            comm("pp_send", OpKind.SEND_RECV, 2 * T * h, 2, sc["pp"], stage=s, repeat=1)
        else:
            norm("final_norm", "norm", T, h, stage=s, repeat=1)
            vr = _cdiv(c.vocab_size, ta)
            R = logit_rows
            gemm("lm_head", "lm_head", R, vr, h, p.idx["lm_head"], p.cidx("lm_head"), stage=s,
                 repeat=1)
            if ta > 1:
                comm("logits_allgather", OpKind.ALL_GATHER, R * vr, ta, sc["attn_tp"], stage=s,
                     repeat=1, out_numel=R * vr * ta)
            add("sampling", "sampling", RED, m=R, n=c.vocab_size,
                flops=float(SOFTMAX_FLOPS * R * c.vocab_size), a_in=R * c.vocab_size, a_out=R,
                stage=s, repeat=1)

    meta = {"model": c.name, "phase": phase, "batch": batch, "seq_len": seq_len,
            "context_len": context_len, "chunk_context_len": chunk_ctx, "precision": p.name,
            "mapping": mp, "tokens_per_rank": T, "logit_rows": logit_rows}
    return rb.build(meta)


def _mlp(add, gemm, prefix, cls, T, I, h, mats_in, aflop, wfmt, cfmt, bias, s, rep):
    """Gate/up (column-parallel), activation, down (row-parallel) of a (shared) MLP."""
    n_gu = mats_in * I
    gemm(f"{prefix}_gate_up" if mats_in == 2 else f"{prefix}_up", cls, T, n_gu, h, wfmt, cfmt,
         wvec=n_gu if bias else 0, stage=s, repeat=rep)
    add(f"{prefix}_act", cls, OpKind.ELEMENTWISE, m=T, n=I, flops=float(aflop * T * I),
        a_in=T * n_gu, a_out=T * I, stage=s, repeat=rep)
    gemm(f"{prefix}_down", cls, T, h, I, wfmt, cfmt, wvec=h if bias else 0, stage=s, repeat=rep)


def _resident_weights(c: ModelConfig, p: _Prec, mp: Mapping) -> list:
    """Weight bytes one rank of each stage holds (all experts resident, not just touched)."""
    tb = formats.tensor_bytes
    h, H = c.hidden_size, c.num_heads
    ta, tp, ep = mp.attn_tp, mp.tp, mp.ep
    Hr = H // ta
    if c.mla:
        qk = c.qk_nope_head_dim + c.qk_rope_head_dim
        lat = c.kv_lora_rank + c.qk_rope_head_dim
        q = (h * c.q_lora_rank + c.q_lora_rank * Hr * qk) if c.q_lora_rank else h * Hr * qk
        attn = q + h * lat + c.kv_lora_rank * Hr * (c.qk_nope_head_dim + c.v_head_dim) \
            + Hr * c.v_head_dim * h
    else:
        kvr = max(1, c.num_kv_heads // ta)
        attn = h * Hr * c.head_dim + h * kvr * (c.head_dim + c.v_head_dim) + Hr * c.v_head_dim * h
    mats = 3 if c.gated_mlp else 2
    lps = c.num_layers // mp.pp
    m = Model(c)
    vec_layer = m._attn_vector_params() + 2 * h * (2 if c.norm == "layer" else 1)
    out = []
    for s in range(mp.pp):
        lay = range(s * lps, (s + 1) * lps)
        n_moe = sum(1 for i in lay if c.layer_moe[i])
        n_dense = lps - n_moe
        b = tb(attn * lps, p.w["attn"]) + tb(vec_layer * lps, VECTOR_FORMAT)
        b += tb(n_dense * mats * h * c.intermediate_size / tp, p.w["mlp"])
        if n_moe:
            b += tb(n_moe * (c.num_experts // ep) * mats * h * c.moe_intermediate_size
                    / mp.expert_tp, p.w["experts"])
            b += tb(n_moe * h * c.num_experts, p.w["router"])
            sh = c.shared_intermediate_size / (1 if mp.moe_mode == "ep_a2a" else tp)
            b += tb(n_moe * mats * h * sh, p.w["shared"])
            vec = n_moe * ((c.num_experts if c.router_bias else 0) + (
                (c.num_experts // ep) * ((2 if c.gated_mlp else 1) * c.moe_intermediate_size
                                         / mp.expert_tp + h) if c.expert_bias else 0))
            b += tb(vec, VECTOR_FORMAT)
        if c.mlp_bias:
            b += tb(n_dense * ((2 if c.gated_mlp else 1) * c.intermediate_size / tp + h),
                    VECTOR_FORMAT)
        vshard = _cdiv(c.vocab_size, ta) * h
        if s == 0:
            b += tb(vshard, p.w["embed"])
            if c.positions == "learned":
                b += tb(c.max_position_embeddings * h, p.w["embed"])
        if s == mp.pp - 1:
            b += tb(h * (2 if c.norm == "layer" else 1), VECTOR_FORMAT)
            if not c.tie_word_embeddings or mp.pp > 1:
                b += tb(vshard, p.w["lm_head"])
        out.append(float(b))
    return out


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------
def _models_dir() -> Path:
    return workloads_dir() / "models"


def list_models() -> list:
    """Names of the bundled models (workloads/models/*.yaml)."""
    return sorted(p.stem for p in _models_dir().glob("*.yaml"))


_MODEL_CACHE: dict = {}


def load_model(name_or_path) -> Model:
    """A bundled model by name (`list_models()`), or a YAML / Hugging Face config.json path."""
    if isinstance(name_or_path, Model):
        return name_or_path
    if not isinstance(name_or_path, (str, Path)):
        raise SpecError(f"load_model: expected a model name or path, got "
                        f"{type(name_or_path).__name__}")
    key = str(name_or_path)
    p = Path(key)
    if p.suffix.lower() in (".yaml", ".yml", ".json") or p.exists():
        path = p
        name = None
    else:
        path = _models_dir() / f"{key.lower()}.yaml"
        if not path.exists():
            import difflib
            known = list_models()
            close = difflib.get_close_matches(key.lower(), known, n=3, cutoff=0.5)
            hint = (" — did you mean " + " or ".join(f"'{c}'" for c in close) + "?") if close \
                else ""
            raise SpecError(f"unknown model '{key}'{hint} (bundled: {', '.join(known)}; or give "
                            f"a path to a YAML file or a Hugging Face config.json)")
        name = key.lower()
    rp = str(path.resolve()) if path.exists() else str(path)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        raise SpecError(f"{path}: model file not found") from None
    hit = _MODEL_CACHE.get(rp)
    if hit is not None and hit[0] == mtime:
        return hit[1]
    raw = read_config_file(path)
    loc = config_location(path, path.read_text())
    if name is None and path.name == "config.json":
        name = path.parent.name or None
    if name is None and path.suffix.lower() == ".json":
        stem = path.stem
        name = stem[:-len("_config")] if stem.endswith("_config") else stem
    cfg = parse_config(raw, name=name if not (isinstance(raw, dict) and (raw.get("chipletarch")
                                                                         or {}).get("name"))
                       else None, path=loc)
    model = Model(cfg, source=str(path))
    _MODEL_CACHE[rp] = (mtime, model)
    return model


def model_from_config(config: dict, name: str | None = None) -> Model:
    """A Model from an in-memory Hugging Face config mapping."""
    return Model(parse_config(config, name=name))
