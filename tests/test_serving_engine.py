"""Serving layer on the engine: study, frontiers, evaluate_point, CLI, elastic plan, memoisation,
and the silicon replay on a few rows."""
import csv
import math
from pathlib import Path

import pytest

pytest.importorskip("chipletarch.engine.simulate")

from chipletarch.serving import ServingStudy, SimLatency, evaluate_point  # noqa: E402
from chipletarch.serving.elastic import load_trace, plan  # noqa: E402

SMALL = dict(batches=(1, 8, 64, 256), chunks=(2048, 8192), prefill_batches=(1, 2), max_tp=4)


@pytest.fixture(scope="module")
def study():
    return ServingStudy("h100-sxm", "llama3.1-8b", "bf16", 4096, 256, ttft_slo_s=1.0, **SMALL)


def test_frontiers_non_dominated_and_slo(study):
    co, dis = study.frontiers()
    assert co and dis
    for front in (co, dis):
        for f in front:
            assert f["ttft_s"] <= 1.0
        ys = [f["tokens_per_s_per_chip"] for f in front]
        assert ys == sorted(ys, reverse=True)        # x rising, y falling: non-dominated
    allpts = [p for p in study.points()[1] if p["ttft_s"] <= 1.0]
    best = max(p["tokens_per_s_per_chip"] for p in allpts)
    assert max(f["tokens_per_s_per_chip"] for f in dis) == pytest.approx(best)


def test_more_prefill_capacity_never_raises_ttft(study):
    # larger prefill TP (more packages per prefill instance) shortens the prefill step
    pts = [p for p in study.points()[1] if p["prefill_batch"] == 1 and p["decode_batch"] == 64
           and p["decode_mapping"] == "tp1"]
    by_tp = sorted(pts, key=lambda p: p["prefill_packages"])
    ttfts = [p["ttft_s"] for p in by_tp]
    assert ttfts == sorted(ttfts, reverse=True)


def test_memoisation_reuses_engine_calls():
    s = SimLatency("h100-sxm", "llama3.1-8b", "bf16")
    a = s("decode", 32, 1, 2048)
    n = s.calls
    assert s("decode", 32, 1, 2048) == a and s.calls == n and s.hits == 1


def test_evaluate_point_keys_and_gain():
    d = evaluate_point("h100-sxm", "llama3.1-8b", "summarization", "both", precision="bf16",
                       ttft_slo_ms=2000, tpot_slo_ms=50, **SMALL)
    for k in ("colocated_tokens_per_s_per_chip", "disaggregated_tokens_per_s_per_chip",
              "disaggregated_ttft_ms", "colocated_tpot_ms", "disagg_gain"):
        assert k in d
    assert d["disaggregated_feasible"] and d["disaggregated_tpot_ms"] <= 50
    assert d["disagg_gain"] == pytest.approx(d["disaggregated_tokens_per_s_per_chip"]
                                             / d["colocated_tokens_per_s_per_chip"])
    one = evaluate_point("h100-sxm", "llama3.1-8b", None, "colocated", isl=1024, osl=1024,
                         ttft_slo_ms=1e-3, **SMALL)         # impossible TTFT
    assert one["feasible"] is False and math.isnan(one["tokens_per_s_per_chip"])


def test_cli_serve(tmp_path, capsys):
    from chipletarch.cli import main
    png = tmp_path / "f.png"
    rc = main(["serve", "h100-sxm", "llama3.1-8b", "--isl", "2048", "--osl", "256",
               "--ttft-slo", "1000", "--tpot-slo", "40", "--max-tp", "2", "--png", str(png),
               "--frontier"])
    out = capsys.readouterr().out
    assert rc == 0 and "best disaggregated" in out and "gain" in out
    assert "disaggregated frontier" in out
    assert png.stat().st_size > 10_000
    # the best points say their energy, and J/token x tokens/s/chip = W per package
    import re
    best = [ln for ln in out.splitlines() if "J/token" in ln]
    assert len(best) >= 2                  # the two best points and the frontier points
    for ln in best:
        chip = float(re.search(r"([\d.]+) tok/s/chip", ln).group(1))
        j = float(re.search(r"([\d.]+) J/token", ln).group(1))
        w = float(re.search(r"(\d+) W/pkg", ln).group(1))
        assert j * chip == pytest.approx(w, rel=0.01, abs=0.6)


def test_elastic_saves_chip_hours_at_full_attainment():
    tr = load_trace("diurnal")
    assert len(tr.rate) == 24 and tr.interval_s == 3600
    res = plan(lambda L, O: ServingStudy("h100-sxm", "llama3.1-8b", "bf16", L, O,
                                         ttft_slo_s=1.0, tpot_slo_s=0.05, **SMALL), tr)
    for mode in ("colocated", "disaggregated"):
        r = res[mode]
        assert r["valid_all_day"]
        assert r["elastic"]["slo_attainment"] == pytest.approx(1.0)
        assert r["fixed_peak"]["slo_attainment"] == pytest.approx(1.0)
        assert r["elastic"]["chip_hours"] < r["fixed_peak"]["chip_hours"]
        assert r["fixed_mean"]["slo_attainment"] < 1.0
        # chip-hours are packages x hours summed over the intervals
        assert r["elastic"]["chip_hours"] == pytest.approx(
            sum(iv["packages"] for iv in r["elastic"]["intervals"]))


def test_silicon_replay_few_rows():
    from chipletarch.arch import load_architecture
    from chipletarch.serving import validate as V
    rows = list(csv.DictReader(open(V.default_csv())))
    pick = [r for r in rows if r["model_path"] == "meta-llama/Llama-3.1-8B-Instruct"][:3]
    arch = load_architecture("h100-sxm")
    for r in pick:
        p = V.predict_row(r, arch)
        meas = float(r["silicon_tpot_ms"]) / 1e3
        assert 0.5 < p["tpot_s"] / meas < 2.0          # same order as the measurement
        assert p["ttft_s"] > 0
    skip = [r for r in rows if r["model_path"].startswith("MiniMax")][0]
    with pytest.raises(Exception, match="not bundled"):
        V.predict_row(skip, arch)
    assert Path(V.default_csv()).name == "e2e_silicon_calibration.csv"


def test_trace_loader_errors(tmp_path):
    from chipletarch.errors import SpecError
    bad = tmp_path / "x_trace.yaml"
    bad.write_text("interval_s: 60\nintervals:\n  - {rate: 1, isl: 0, osl: 5}\n")
    with pytest.raises(SpecError, match="isl"):
        load_trace(bad)
    with pytest.raises(SpecError, match="unknown trace"):
        load_trace("nope")


def test_cli_serve_trace(capsys):
    from chipletarch.cli import main
    rc = main(["serve", "h100-sxm", "llama3.1-8b", "--trace", "diurnal", "--ttft-slo", "1000",
               "--tpot-slo", "50", "--max-tp", "2"])
    out = capsys.readouterr().out
    assert rc == 0 and "chip-hours" in out and "re-matched per interval" in out


def test_multi_die_package_is_one_device():
    from chipletarch.serving import candidate_mappings
    ms = candidate_mappings("mi300x", "llama3.1-70b", "fp8")
    assert [m.tp for m in ms][:2] == [1, 2] and all(m.dies_per_package == 1 for m in ms)
    s = SimLatency("mi300x", "llama3.1-70b", "fp8", ms[1])
    assert s.packages == 2
    # 70B fp8 (~70 GB) fits one 192 GB package with room for KV
    assert s.fits(64, 4096)


def test_evaluate_config_matches_the_study_point():
    from chipletarch.serving import evaluate_config
    d = evaluate_config("h100-sxm", "llama3.1-8b", None, "disaggregated", isl=4096, osl=256,
                        prefill_tp=2, decode_tp=1, prefill_batch=1, decode_batch=64)
    st = ServingStudy("h100-sxm", "llama3.1-8b", "bf16", 4096, 256, **SMALL)
    same = [p for p in st.points()[1] if p["prefill_mapping"] == "tp2" and p["prefill_batch"] == 1
            and p["decode_mapping"] == "tp1" and p["decode_batch"] == 64]
    assert len(same) == 1
    assert d["tokens_per_s_per_chip"] == pytest.approx(same[0]["tokens_per_s_per_chip"])
    assert d["ttft_ms"] == pytest.approx(same[0]["ttft_s"] * 1e3)
    c = evaluate_config("h100-sxm", "llama3.1-8b", None, "colocated", isl=4096, osl=256, tp=1,
                        concurrency=64, chunk=8192, tpot_slo_ms=1.0)
    assert c["feasible"] is False and c["tpot_ms"] > 1.0
