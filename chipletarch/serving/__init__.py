"""Serving at cluster scale: co-located vs disaggregated prefill/decode (docs/SERVING.md).

Layers, each usable alone:
- `framework`: the serving framework's costs outside the kernels (fitted per backend on the
  measured H100 deployments; `framework=` 'none' | 'trtllm' | 'vllm' | 'sglang' everywhere below,
  default `DEFAULT_FRAMEWORK`);
- `latency`: the phase-latency interface (`Instance`, memoised `SimLatency` over `simulate`,
  `mixed_step` for continuous-batching iterations);
- `kv`: KV-cache hand-over size and time on the scale-up / scale-out network;
- `steady`: steady-state co-located (continuous batching + chunked prefill) and disaggregated
  (rate-matched pools) design points, Pareto frontiers and gains;
- `study`: mapping / batch enumeration on the engine, `ServingStudy`; for sweeps `evaluate_point`
  (best configuration under SLOs) and `evaluate_config` (one fixed configuration, fast);
- `des`: request-level discrete-event simulation that checks the steady state;
- `elastic`: time-varying traces, re-matched vs fixed pool sizes (chip-hours, SLO attainment);
- `validate`: predictions of measured H100 deployments (`python -m chipletarch.serving.validate`).
"""
from __future__ import annotations

from .framework import DEFAULT_FRAMEWORK, FRAMEWORKS, FrameworkCosts, framework_costs
from .kv import KVTransfer, kv_bytes, kv_transfer
from .latency import (HostOverhead, Instance, SimLatency, decode_step, mixed_step,
                      with_host_overhead)
from .steady import (best_at, colocated_point, decode_pool, disaggregated_point, gain_table,
                     meets, pareto, prefill_pool, rate_match)
from .study import ServingStudy, candidate_mappings, evaluate_config, evaluate_point

__all__ = ["FRAMEWORKS", "DEFAULT_FRAMEWORK", "FrameworkCosts", "framework_costs", "Instance",
           "SimLatency", "HostOverhead", "with_host_overhead", "decode_step",
           "mixed_step", "KVTransfer", "kv_bytes",
           "kv_transfer", "colocated_point", "prefill_pool", "decode_pool", "rate_match",
           "disaggregated_point", "pareto", "best_at", "gain_table", "meets", "ServingStudy",
           "candidate_mappings", "evaluate_point", "evaluate_config"]
