"""Design-space exploration: sweep specs, batched evaluation, a resumable SQLite results store,
local-process and Dask execution, Pareto frontiers (docs/SWEEPS.md).

    from chipletarch.explore import load_sweep, run_sweep, Store, pareto_mask
    spec = load_sweep("split-study-small")          # or a YAML path / SweepSpec.from_dict(...)
    summary = run_sweep(spec, "study.sqlite", workers=2)
    data = Store.open("study.sqlite").read(["tokens_per_s_per_chip", "usd_per_mtoken"],
                                           where="status = 'ok'")

A spec with a `serving:` block sweeps serving configurations instead (one
`chipletarch.serving.evaluate_config` call per point; explore/serving.py, docs/SWEEPS.md).
"""
from .evaluate import ARCH_QUANTITIES, METRICS, TEXT_METRICS, Evaluator, reference_point
from .expr import compile_expr
from .pareto import frontier, pareto_brute, pareto_mask, plot_frontier
from .run import run_sweep
from .serving import SERVING_KEYS, SERVING_METRICS, SERVING_TEXT_METRICS
from .spec import (SAMPLING_METHODS, WORKLOAD_KEYS, Axis, SweepSpec, list_sweeps, load_sweep,
                   sweep_from_yaml)
from .store import Store, store_columns

__all__ = ["SweepSpec", "Axis", "load_sweep", "sweep_from_yaml", "list_sweeps", "run_sweep",
           "Store", "store_columns", "Evaluator", "reference_point", "pareto_mask",
           "pareto_brute", "frontier", "plot_frontier", "compile_expr", "ARCH_QUANTITIES",
           "METRICS", "TEXT_METRICS", "WORKLOAD_KEYS", "SAMPLING_METHODS", "SERVING_KEYS",
           "SERVING_METRICS", "SERVING_TEXT_METRICS"]
