"""chipletarch: model chiplet AI accelerators for transformer inference.

A chiplet package is described in YAML (or built in Python), becomes a networkx graph, and a
Cython cycle-approximate core maps transformer inference onto it, reporting latency, bandwidth,
energy and manufacturing cost. See README.md for a tour and docs/ for the models behind each
number.

The public names below are imported lazily so that `import chipletarch` stays cheap and the CLI
starts fast; each lives in the module named in `_LAZY`.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

from .errors import ChipletarchError, InfeasibleError, SpecError  # noqa: E402

# public name -> module that defines it
_LAZY = {
    # architecture spec layer (chipletarch.arch)
    "Architecture": "chipletarch.arch",
    "Package": "chipletarch.arch",
    "ComputeDie": "chipletarch.arch",
    "MemoryStack": "chipletarch.arch",
    "Link": "chipletarch.arch",
    "IODie": "chipletarch.arch",
    "SramDie": "chipletarch.arch",
    "MemoryControllerDie": "chipletarch.arch",
    "Core": "chipletarch.arch",
    "Systolic": "chipletarch.arch",
    "Topology": "chipletarch.arch",
    "Port": "chipletarch.arch",
    "load_architecture": "chipletarch.arch",
    "list_architectures": "chipletarch.arch",
    # workloads (chipletarch.workload)
    "Model": "chipletarch.workload",
    "Mapping": "chipletarch.workload",
    "load_model": "chipletarch.workload",
    "list_models": "chipletarch.workload",
    "OpTable": "chipletarch.workload",
    "OpKind": "chipletarch.workload",
    "load_traffic": "chipletarch.workload",
    "list_traffic": "chipletarch.workload",
    "check_memory_fit": "chipletarch.workload",
    # engine (chipletarch.engine)
    "simulate": "chipletarch.engine",
    "Result": "chipletarch.engine",
    # number formats and MX numerics (chipletarch.formats)
    "Format": "chipletarch.formats",
    "Precision": "chipletarch.formats",
    "get_format": "chipletarch.formats",
    "get_precision": "chipletarch.formats",
    "tensor_bytes": "chipletarch.formats",
    "mx_encode": "chipletarch.formats",
    "mx_decode": "chipletarch.formats",
    "mx_quantize": "chipletarch.formats",
    "mx_error_stats": "chipletarch.formats",
    # manufacturing cost (chipletarch.cost)
    "package_cost": "chipletarch.cost",
    "family_cost": "chipletarch.cost",
    "CostOptions": "chipletarch.cost",
    "token_cost": "chipletarch.cost",
    "Economics": "chipletarch.cost",
    # energy (chipletarch.energy)
    "energy_of": "chipletarch.energy",
    "simulate_with_energy": "chipletarch.energy",
    "EnergyReport": "chipletarch.energy",
    # design-space exploration (chipletarch.explore)
    "load_sweep": "chipletarch.explore",
    "SweepSpec": "chipletarch.explore",
    "run_sweep": "chipletarch.explore",
    "Store": "chipletarch.explore",
    "pareto_mask": "chipletarch.explore",
    # serving at cluster scale (chipletarch.serving)
    "ServingStudy": "chipletarch.serving",
    "evaluate_point": "chipletarch.serving",
    # HTML reports (chipletarch.report)
    "load_report_config": "chipletarch.report",
    "build_report": "chipletarch.report",
    "write_report": "chipletarch.report",
}

_SUBMODULES = {"arch", "formats", "workload", "engine", "energy", "cost", "serving", "explore",
               "report", "cli"}

__all__ = sorted([*_LAZY, "ChipletarchError", "SpecError", "InfeasibleError", "__version__"])


def __getattr__(name: str):
    if name in _LAZY:
        mod = importlib.import_module(_LAZY[name])
        return getattr(mod, name)
    if name in _SUBMODULES:
        return importlib.import_module(f"chipletarch.{name}")
    raise AttributeError(f"module 'chipletarch' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
