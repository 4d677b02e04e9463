"""Workloads: transformer models, operator tables per phase, parallel mappings, traffic profiles.

Public API:

* `load_model(name_or_path)` / `list_models()` -> `Model` (bundled YAML in workloads/models/ with
  Hugging Face config.json field names, or any Hugging Face config.json as is);
* `Model.param_count()`, `Model.active_param_count()`, `Model.operators(phase, batch, seq_len,
  context_len, precision, mapping)` -> `OpTable` (columns per docs/ARCHITECTURE.md);
* `Mapping(tp, pp, ep, dp, attention_dp)` and `check_memory_fit(model, arch, mapping, ...)`;
* `load_traffic(name)` / `list_traffic()` -> `TrafficProfile`;
* MoE expectations in `chipletarch.workload.moe`.

Conventions: docs/WORKLOADS.md.
"""
from .config import ModelConfig, parse_config
from .mapping import Mapping
from .memory import MemoryFit, check_memory_fit, kv_cache_bytes_per_rank
from .model import (Model, causal_pairs, keys_attended, list_models, load_model,
                    model_from_config)
from .moe import expected_experts_touched, expected_tokens_per_expert
from .optable import COLUMN_NAMES, OpKind, OpTable
from .traffic import LengthDist, TrafficProfile, list_traffic, load_traffic

__all__ = [
    "Model", "ModelConfig", "load_model", "list_models", "model_from_config", "parse_config",
    "Mapping", "MemoryFit", "check_memory_fit", "kv_cache_bytes_per_rank",
    "OpTable", "OpKind", "COLUMN_NAMES", "causal_pairs", "keys_attended",
    "expected_experts_touched", "expected_tokens_per_expert",
    "TrafficProfile", "LengthDist", "load_traffic", "list_traffic",
]
