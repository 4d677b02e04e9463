"""Model configurations: parse Hugging Face ``config.json`` fields into one normalised record.

A model is described with the field names of its Hugging Face ``config.json`` (bundled YAML files in
``workloads/models/`` carry them verbatim, plus a ``chipletarch:`` block with the name, the source
and the published parameter totals). `parse_config` turns such a mapping into a `ModelConfig`:
every architecture family this project models (Llama, Mistral/Mixtral, Qwen3 / Qwen3-MoE,
DeepSeek-V3 MLA + MoE, gpt-oss, GPT-2/GPT-3) is reduced to the same handful of numbers, so the
operator generator never looks at ``model_type`` again.

Every user mistake raises `SpecError` naming the file and the field.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import SpecError

# Activation names (HF `hidden_act` / GPT-2 `activation_function`) and whether the MLP is gated
# (SwiGLU-style: gate, up and down matrices) or plain (up, down). Llama, Mistral, Qwen, DeepSeek and
# gpt-oss all use SiLU-gated MLPs; GPT-2/3 use a plain GELU MLP.
_GATED_ACTS = {"silu", "swish", "swiglu"}
_PLAIN_ACTS = {"gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu", "quick_gelu"}


@dataclass(frozen=True)
class ModelConfig:
    """The numbers the operator generator needs, independent of the model family.

    Dimensions follow the Hugging Face meaning. Per-layer properties (sliding window, MoE vs dense
    MLP) are tuples with one entry per decoder layer.
    """

    name: str
    model_type: str
    hidden_size: int
    num_layers: int
    vocab_size: int
    num_heads: int
    num_kv_heads: int
    head_dim: int              # q/k head dim (non-MLA); for MLA: qk_nope + qk_rope
    v_head_dim: int
    intermediate_size: int     # dense MLP intermediate size
    gated_mlp: bool            # SwiGLU (3 matrices) vs plain (2 matrices)
    hidden_act: str
    attention_bias: bool       # biases on q, k, v and o projections
    mlp_bias: bool
    norm: str                  # "rms" or "layer" (LayerNorm has a bias vector too)
    qk_norm: bool              # Qwen3: RMSNorm over each q and k head
    positions: str             # "rope" or "learned"
    max_position_embeddings: int
    rope_dim: int              # rotated dims per head (q and k)
    tie_word_embeddings: bool
    attention_sinks: bool      # gpt-oss: one learned logit per head added to the softmax
    layer_window: tuple        # per layer: sliding-window length, 0 = full attention
    layer_moe: tuple           # per layer: True where the MLP is a mixture of experts
    # mixture of experts
    num_experts: int = 0
    experts_per_tok: int = 0
    moe_intermediate_size: int = 0
    shared_intermediate_size: int = 0   # total intermediate width of the shared expert(s)
    router_bias: bool = False           # gpt-oss router bias / DeepSeek e_score_correction_bias
    expert_bias: bool = False           # gpt-oss expert gate_up/down biases
    # multi-head latent attention (DeepSeek-V2/V3)
    mla: bool = False
    q_lora_rank: int = 0                # 0: q projected directly from the hidden state
    kv_lora_rank: int = 0
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    # checkpoint ("native") number formats per weight role
    native_formats: dict = field(default_factory=dict)
    native_dtype: str = "bf16"
    meta: dict = field(default_factory=dict)   # the chipletarch: block (source, published, ...)

    @property
    def is_moe(self) -> bool:
        return self.num_experts > 0 and any(self.layer_moe)


class _Loc(str):
    """A file path that also knows the line of each top-level key (YAML / JSON files)."""

    lines: dict = {}


def _where(path, key):
    if not path:
        return f"field '{key}'"
    line = getattr(path, "lines", {}).get(key)
    return f"{path}:{line}: field '{key}'" if line else f"{path}: field '{key}'"


def _key_lines(text: str, suffix: str) -> dict:
    """Line (1-based) of each top-level key, for error messages; {} if it cannot tell."""
    try:
        if suffix == ".json":
            import re
            out = {}
            depth = 0
            for i, ln in enumerate(text.splitlines(), 1):
                m = re.match(r'\s*"([^"]+)"\s*:', ln)
                if m and depth == 1 and m.group(1) not in out:
                    out[m.group(1)] = i
                depth += ln.count("{") + ln.count("[") - ln.count("}") - ln.count("]")
            return out
        node = yaml.compose(text)
        if isinstance(node, yaml.MappingNode):
            return {k.value: k.start_mark.line + 1 for k, _ in node.value
                    if isinstance(k, yaml.ScalarNode)}
    except yaml.YAMLError:
        pass
    return {}


def _int(cfg: dict, key: str, path, *, default=None, minimum=1, aliases=()) -> int:
    for k in (key, *aliases):
        if k in cfg and cfg[k] is not None:
            v = cfg[k]
            break
    else:
        if default is None:
            raise SpecError(f"{_where(path, key)} is required (Hugging Face config.json name)")
        return default
    if isinstance(v, bool) or not isinstance(v, (int, float)) or float(v) != int(v):
        raise SpecError(f"{_where(path, k)}: expected an integer, got {v!r}")
    v = int(v)
    if v < minimum:
        raise SpecError(f"{_where(path, k)}: must be >= {minimum}, got {v}")
    return v


def _bool(cfg: dict, key: str, path, default: bool) -> bool:
    v = cfg.get(key, default)
    if v is None:
        return default
    if not isinstance(v, bool):
        raise SpecError(f"{_where(path, key)}: expected true or false, got {v!r}")
    return v


_DTYPES = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32", "bf16": "bf16",
           "fp16": "fp16", "fp32": "fp32"}


def _native_formats(cfg: dict, path) -> tuple[dict, str]:
    """Checkpoint formats per weight role, from torch_dtype and quantization_config.

    Roles: embed, attn, mlp (dense), experts, shared, router, lm_head. Vectors (norm weights,
    biases, sinks) are always bf16.
    """
    dtype_name = cfg.get("torch_dtype") or cfg.get("dtype") or "bfloat16"
    base = _DTYPES.get(str(dtype_name).lower())
    if base is None:
        raise SpecError(f"{_where(path, 'torch_dtype')}: unsupported dtype {dtype_name!r} "
                        f"(known: {', '.join(sorted(_DTYPES))})")
    roles = {r: base for r in ("embed", "attn", "mlp", "experts", "shared", "router", "lm_head")}
    q = cfg.get("quantization_config")
    if isinstance(q, dict):
        method = str(q.get("quant_method", "")).lower()
        if method == "mxfp4":
            # gpt-oss: MoE expert weights in MXFP4; modules_to_not_convert (attention, router,
            # embeddings, lm_head) stay in torch_dtype.
            roles["experts"] = "mxfp4_e2m1"
        elif method == "fp8":
            # DeepSeek-V3: every nn.Linear of attention and MLP in FP8 E4M3 with one fp32 scale per
            # 128x128 block (fp8_block); embeddings, lm_head and the router gate stay bf16.
            fmt = "fp8_block" if q.get("weight_block_size") else "fp8_e4m3"
            for r in ("attn", "mlp", "experts", "shared"):
                roles[r] = fmt
    return roles, base


def parse_config(raw: dict, *, name: str | None = None, path: str | Path | None = None
                 ) -> ModelConfig:
    """Normalise a Hugging Face config mapping (plus optional ``chipletarch:`` block)."""
    if not isinstance(raw, dict):
        raise SpecError(f"{path or 'model config'}: expected a mapping of config.json fields, "
                        f"got {type(raw).__name__}")
    meta = raw.get("chipletarch") or {}
    if not isinstance(meta, dict):
        raise SpecError(f"{_where(path, 'chipletarch')}: expected a mapping")
    cfg = dict(raw)
    # Multimodal wrappers (e.g. Kimi-K2.5) nest the language model under text_config; the vision
    # tower is not modelled.
    if ("hidden_size" not in cfg and "n_embd" not in cfg
            and isinstance(cfg.get("text_config"), dict)):
        outer = cfg
        cfg = dict(cfg["text_config"])
        for k in ("quantization_config", "torch_dtype", "dtype"):
            if k not in cfg and k in outer:
                cfg[k] = outer[k]
    model_type = str(cfg.get("model_type", "")).lower()
    gpt2 = model_type in ("gpt2", "gpt3") or "n_embd" in cfg

    h = _int(cfg, "hidden_size", path, aliases=("n_embd", "d_model"))
    L = _int(cfg, "num_hidden_layers", path, aliases=("n_layer",))
    V = _int(cfg, "vocab_size", path)
    H = _int(cfg, "num_attention_heads", path, aliases=("n_head",))
    Hkv = _int(cfg, "num_key_value_heads", path, default=H)
    if H % Hkv:
        raise SpecError(f"{_where(path, 'num_key_value_heads')}: {Hkv} does not divide "
                        f"num_attention_heads {H}")
    act = str(cfg.get("hidden_act", cfg.get("activation_function", "gelu_new" if gpt2 else "silu")))
    if act in _GATED_ACTS:
        gated = True
    elif act in _PLAIN_ACTS:
        gated = False
    else:
        raise SpecError(f"{_where(path, 'hidden_act')}: unknown activation {act!r} (known: "
                        f"{', '.join(sorted(_GATED_ACTS | _PLAIN_ACTS))})")
    inter = _int(cfg, "intermediate_size", path, aliases=("n_inner",),
                 default=4 * h if gpt2 else None)

    mla = cfg.get("kv_lora_rank") is not None
    if mla:
        kv_lora = _int(cfg, "kv_lora_rank", path)
        q_lora = _int(cfg, "q_lora_rank", path, default=0, minimum=0)
        nope = _int(cfg, "qk_nope_head_dim", path)
        rope = _int(cfg, "qk_rope_head_dim", path)
        vdim = _int(cfg, "v_head_dim", path)
        head_dim = nope + rope
        rope_dim = rope
    else:
        kv_lora = q_lora = nope = rope = 0
        if "head_dim" in cfg and cfg["head_dim"] is not None:
            head_dim = _int(cfg, "head_dim", path)
        else:
            if h % H:
                raise SpecError(f"{_where(path, 'num_attention_heads')}: {H} does not divide "
                                f"hidden_size {h}; give head_dim explicitly")
            head_dim = h // H
        vdim = head_dim
        prf = cfg.get("partial_rotary_factor", 1.0)
        if not isinstance(prf, (int, float)) or not 0 < prf <= 1:
            raise SpecError(f"{_where(path, 'partial_rotary_factor')}: expected 0 < x <= 1, "
                            f"got {prf!r}")
        rope_dim = int(head_dim * prf)

    positions = "learned" if gpt2 else "rope"
    max_pos = _int(cfg, "max_position_embeddings", path, aliases=("n_positions", "n_ctx"),
                   default=0, minimum=0)
    if positions == "learned" and max_pos == 0:
        raise SpecError(f"{_where(path, 'n_positions')} is required for learned positions")
    if positions == "learned":
        rope_dim = 0

    # --- per-layer attention window -------------------------------------------------------
    window = 0
    sw = cfg.get("sliding_window")
    if sw is not None:
        window = _int(cfg, "sliding_window", path)
    layer_types = cfg.get("layer_types")
    if layer_types is not None:
        if not isinstance(layer_types, list) or len(layer_types) != L:
            raise SpecError(f"{_where(path, 'layer_types')}: expected a list of {L} entries "
                            f"(num_hidden_layers), got {layer_types!r:.80}")
        lw = []
        for i, t in enumerate(layer_types):
            if t == "sliding_attention":
                if not window:
                    raise SpecError(f"{_where(path, 'layer_types')}[{i}]: sliding_attention "
                                    f"needs sliding_window")
                lw.append(window)
            elif t == "full_attention":
                lw.append(0)
            else:
                raise SpecError(f"{_where(path, 'layer_types')}[{i}]: unknown layer type {t!r} "
                                f"(known: sliding_attention, full_attention)")
        layer_window = tuple(lw)
    elif window and cfg.get("use_sliding_window", True) is not False:
        if model_type.startswith("qwen"):
            # HF Qwen2/3: layers with index >= max_window_layers use the sliding window.
            mwl = _int(cfg, "max_window_layers", path, default=L, minimum=0)
            layer_window = tuple(window if i >= mwl else 0 for i in range(L))
        else:  # Mistral-7B style: every layer slides
            layer_window = (window,) * L
    else:
        layer_window = (0,) * L

    # --- mixture of experts ------------------------------------------------------------------
    E = _int(cfg, "n_routed_experts", path, default=0, minimum=0,
             aliases=("num_local_experts", "num_experts"))
    k = moe_inter = shared_inter = 0
    if E:
        k = _int(cfg, "num_experts_per_tok", path, aliases=("experts_per_token",))
        if k > E:
            raise SpecError(f"{_where(path, 'num_experts_per_tok')}: {k} > number of experts {E}")
        moe_inter = _int(cfg, "moe_intermediate_size", path, default=inter)
        n_shared = _int(cfg, "n_shared_experts", path, default=0, minimum=0)
        shared_inter = _int(cfg, "shared_expert_intermediate_size", path,
                            default=n_shared * moe_inter, minimum=0)
        first_dense = _int(cfg, "first_k_dense_replace", path, default=0, minimum=0)
        if first_dense > L:
            raise SpecError(f"{_where(path, 'first_k_dense_replace')}: {first_dense} > "
                            f"num_hidden_layers {L}")
        freq = _int(cfg, "moe_layer_freq", path, default=1)
        step = _int(cfg, "decoder_sparse_step", path, default=1)
        mlp_only = cfg.get("mlp_only_layers") or []
        if not isinstance(mlp_only, list) or not all(isinstance(i, int) for i in mlp_only):
            raise SpecError(f"{_where(path, 'mlp_only_layers')}: expected a list of layer indices")
        layer_moe = tuple((i >= first_dense and i % freq == 0 and (i + 1) % step == 0
                           and i not in mlp_only) for i in range(L))
    else:
        layer_moe = (False,) * L

    name = name or meta.get("name") or cfg.get("_name_or_path") or model_type or "model"
    native, base = _native_formats(cfg, path)
    ln = gpt2 or str(cfg.get("norm_type", "")).lower() == "layernorm"
    return ModelConfig(
        name=str(name), model_type=model_type, hidden_size=h, num_layers=L, vocab_size=V,
        num_heads=H, num_kv_heads=1 if mla else Hkv, head_dim=head_dim, v_head_dim=vdim,
        intermediate_size=inter, gated_mlp=gated, hidden_act=act,
        attention_bias=True if gpt2 else _bool(cfg, "attention_bias", path, False),
        mlp_bias=True if gpt2 else _bool(cfg, "mlp_bias", path, False),
        norm="layer" if ln else "rms",
        qk_norm=model_type in ("qwen3", "qwen3_moe"),
        positions=positions, max_position_embeddings=max_pos, rope_dim=rope_dim,
        tie_word_embeddings=_bool(cfg, "tie_word_embeddings", path, gpt2),
        attention_sinks=model_type == "gpt_oss",
        layer_window=layer_window, layer_moe=layer_moe,
        num_experts=E, experts_per_tok=k, moe_intermediate_size=moe_inter,
        shared_intermediate_size=shared_inter,
        router_bias=model_type in ("gpt_oss", "deepseek_v3", "kimi_k2"),
        expert_bias=model_type == "gpt_oss",
        mla=mla, q_lora_rank=q_lora, kv_lora_rank=kv_lora, qk_nope_head_dim=nope,
        qk_rope_head_dim=rope, native_formats=native, native_dtype=base, meta=dict(meta),
    )


def config_location(path: str | Path, text: str) -> _Loc:
    """The path, carrying the line of each top-level key (used in error messages)."""
    loc = _Loc(str(path))
    loc.lines = _key_lines(text, Path(path).suffix.lower())
    return loc


def read_config_file(path: str | Path) -> dict:
    """Read a model file: YAML (bundled format) or JSON (a Hugging Face config.json as is)."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise SpecError(f"{p}: cannot read model file ({exc.strerror})") from None
    try:
        if p.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{p}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}:{mark.column + 1}" if mark else str(p)
        raise SpecError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
