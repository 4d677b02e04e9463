"""The engine's public row evaluator `evaluate_rows`: what simulate is built on, and what the
batched sweep (chipletarch.explore) calls."""
from __future__ import annotations

import importlib

import numpy as np
import pytest

import chipletarch.engine as engine
from chipletarch.arch import load_architecture
from chipletarch.engine import compile_design, evaluate_rows, simulate
from chipletarch.workload import Mapping, OpTable, load_model
from chipletarch.workload.optable import COLUMN_NAMES

S = importlib.import_module("chipletarch.engine.simulate")   # the module (the package's
# `simulate` attribute is the function)


def test_public_and_former_private_name():
    assert "evaluate_rows" in engine.__all__
    assert S.evaluate_rows is evaluate_rows
    assert S._evaluate is evaluate_rows        # benchmarks and older callers
    assert evaluate_rows.__doc__ and "simulate" in evaluate_rows.__doc__


@pytest.mark.parametrize("dpp,tp", [(1, 1), (2, 2), (2, 1)])
def test_simulate_is_evaluate_rows(dpp, tp):
    """simulate's Result carries exactly evaluate_rows' columns and per-resource sums (dpp=2,
    tp=1: one of the package's two devices idle, `active=1`)."""
    arch = load_architecture("b200")
    mdl = load_model("llama3.1-8b")
    mapping = Mapping(tp=tp, dies_per_package=dpp, scaleup_packages=8)
    r = simulate(arch, mdl, "decode", batch=8, context_len=512, mapping=mapping,
                 precision="fp8", check_memory=False)
    t = mdl.operators("decode", 8, 1, 512, "fp8", mapping)
    pl = compile_design(arch, dpp)
    res = evaluate_rows(t, pl, active=min(dpp, mapping.world))
    assert set(res) >= {"ops", "total", "stacks", "links", "ports", "macs", "vector_flops",
                        "notes"}
    assert float(res["total"].sum()) == r.latency_s
    for col, vals in res["ops"].items():
        assert np.array_equal(np.asarray(vals), np.asarray(r.ops[col])), col
    assert res["stacks"] == r.stacks and res["links"] == r.links and res["ports"] == r.ports
    assert res["macs"] == r.macs_by_format and res["vector_flops"] == r.vector_flops


def test_rows_are_independent():
    """Each row is timed from its own columns: a table's rows evaluated inside a bigger,
    reordered table get the same time, bound and bytes (what the sweep's dedup relies on)."""
    arch = load_architecture("b200")
    mdl = load_model("llama3.1-8b")
    mapping = Mapping(tp=2, dies_per_package=2, scaleup_packages=8)
    pl = compile_design(arch, 2)
    a = mdl.operators("prefill", 2, 256, 0, "fp8", mapping)
    b = mdl.operators("decode", 8, 1, 1024, "fp8", mapping)
    cat = OpTable({c: np.concatenate([b.columns[c], a.columns[c]]) for c in COLUMN_NAMES})
    ra, rc = evaluate_rows(a, pl), evaluate_rows(cat, pl)
    sl = slice(len(b), len(b) + len(a))
    for col in ("time_s", "bound_by", "hbm_bytes", "l2_bytes", "sram_bytes", "d2d_bytes",
                "network_bytes", "hbm_bytes_compulsory"):
        assert np.array_equal(np.asarray(rc["ops"][col])[sl], np.asarray(ra["ops"][col])), col
