"""Throttling to TDP (DVFS model) and the `chipletarch energy` command."""
import json
import types

import pytest

from chipletarch.arch import load_architecture
from chipletarch.cli import main
from chipletarch.energy import simulate_with_energy, throttle_clock_scale, with_clock_scale
from chipletarch.energy import coefficients as C

H100 = load_architecture("h100-sxm")
POINT = dict(batch=4, seq_len=2048, precision="fp8", tp=8)


def test_bisection_on_a_cubic_power_law():
    # P(s) = 900 s^3 + 150 W (dynamic ∝ f^3 at a fixed work rate under V ∝ f, constant static):
    # P = 700 W at s = (550/900)^(1/3) = 0.8486
    def at(s):
        return types.SimpleNamespace(average_power_w=900 * s**3 + 150, clock_scale=s, notes=[])
    rep = throttle_clock_scale(at, 700.0, tolerance=1e-4)
    assert rep.clock_scale == pytest.approx((550 / 900) ** (1 / 3), abs=2e-4)
    assert rep.average_power_w <= 700.0
    # unreachable: stops at MIN_CLOCK_SCALE and says so
    rep = throttle_clock_scale(lambda s: types.SimpleNamespace(average_power_w=2000.0, clock_scale=s, notes=[]),
                               700.0)
    assert rep.clock_scale == C.MIN_CLOCK_SCALE and "not credible" in rep.notes[-1]


def test_with_clock_scale_only_compute_dies():
    a = with_clock_scale(load_architecture("mi300x"), 0.5)
    for _, d in a.compute_die_instances():
        assert d.clock_ghz == pytest.approx(1.05)
    assert with_clock_scale(H100, 1.0) is H100
    assert a.peak_flops("bf16") == pytest.approx(0.5 * load_architecture("mi300x").peak_flops("bf16"))


def test_throttle_meets_tdp_and_follows_dvfs():
    # a design whose MACs cost 12x the default exceeds its TDP on a compute-bound prefill
    hot = H100.evolve(energy={"mac_energy_pj": {"fp8": 3.0}})
    rep = simulate_with_energy(hot, "llama3.1-70b", "prefill", throttle_to_tdp=True, **POINT)
    nom = rep.nominal
    assert nom is not None and nom.tdp_exceeded and nom.clock_scale == 1.0
    assert rep.throttled and C.MIN_CLOCK_SCALE <= rep.clock_scale < 1.0
    assert rep.average_power_w <= 700.0 and not rep.tdp_exceeded
    assert rep.latency_s >= nom.latency_s                          # slower clock, never faster
    # MAC counts are unchanged; energy per MAC scales with clock^2 (V ∝ f)
    assert rep.components["matrix"] == pytest.approx(nom.components["matrix"] * rep.clock_scale**2)
    # static power is constant, so static energy follows the step time
    assert rep.components["static"] / rep.latency_s == pytest.approx(nom.components["static"] / nom.latency_s)
    assert rep.result.latency_s == rep.latency_s
    # without the flag, or within TDP, nothing is throttled
    assert not simulate_with_energy(hot, "llama3.1-70b", "prefill", **POINT).throttled
    cool = simulate_with_energy(H100, "llama3.1-70b", "prefill", throttle_to_tdp=True, **POINT)
    assert not cool.throttled and cool.nominal is None


def test_cli_energy_text_and_json(capsys):
    assert main(["energy", "h100-sxm", "llama3.1-8b", "--phase", "decode", "--batch", "8",
                 "--context-len", "1024", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "J/token" in out and "vs TDP 700 W" in out and "hbm_background" in out
    assert main(["energy", "b200", "llama3.1-8b", "--phase", "prefill", "--seq-len", "256", "--json",
                 "--throttle"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["arch"] == "b200" and d["tdp_w"] == 1000 and set(d["components"]) >= {"matrix", "hbm", "static"}
    assert d["j_per_token"] == pytest.approx(d["total_j"] / d["tokens_per_step"])
    assert main(["energy", "tpu-v5p-like", "tiny"]) == 1          # no process node: told what to set
    assert "logic_energy_scale" in capsys.readouterr().err


def test_request_energy_by_phase():
    from chipletarch.energy import request_energy
    req = request_energy("h100-sxm", "llama3.1-8b", input_len=512, output_len=64, batch=4, precision="fp8")
    pre, dec = req["prefill"], req["decode"]
    assert pre.phase == "prefill" and pre.tokens_per_step == 4 * 512
    assert dec.phase == "decode" and dec.context_len == 512 + 32 and dec.tokens_per_step == 4
    assert req["prefill_j"] == pytest.approx(pre.total_j / 4)
    assert req["decode_j"] == pytest.approx(64 * dec.j_per_token)
    assert req["j_per_request"] == pytest.approx(req["prefill_j"] + req["decode_j"])
    assert req["j_per_output_token"] == pytest.approx(req["j_per_request"] / 64)
