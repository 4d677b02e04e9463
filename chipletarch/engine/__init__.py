"""The chipletarch engine: compile a design point into flat machine arrays and time kernels
(GEMM, attention, collectives, memory-bound ops) with the Cython core `chipletarch._core.engine`.

Kernel-level API (seconds): `gemm_time`, `gemm_time_bound`, `gemm_times` (batched),
`attention_time`, `collective_time`, `elementwise_time`. Machines: `Machine`, `h100_sxm`,
`h200_sxm`. Design points: `simulate` (one point -> `Result`) and `evaluate_rows(table,
placement, act_quant=None, active=None)`, the row evaluator `simulate` is built on (per-row
times, bounds and bytes, per-stack / link / port sums; used by the batched sweep). The model is written down in docs/ENGINE.md; its accuracy in docs/VALIDATION.md.
"""
from __future__ import annotations

from .attention import attention_time, attention_time_bound, attention_times
from .collectives import collective_time, collective_time_bound, collective_times
from .elementwise import copy_time, elementwise_time, elementwise_times
from .gemm import gemm_time, gemm_time_bound, gemm_times
from .machine import Machine, h100_sxm, h200_sxm
from .placement import Placement, compile_design, compile_machine
from .result import Result
from .simulate import evaluate_rows, simulate

__all__ = ["Machine", "h100_sxm", "h200_sxm", "gemm_time", "gemm_time_bound", "gemm_times",
           "attention_time", "attention_time_bound", "attention_times", "collective_time",
           "collective_time_bound", "collective_times", "elementwise_time", "elementwise_times",
           "copy_time",
           "simulate", "evaluate_rows", "Result", "Placement", "compile_design", "compile_machine"]
