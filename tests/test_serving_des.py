"""Request-level DES: Little's law, M/D/1 prefill queue, agreement with the steady state,
monotonicity in prefill instances, determinism, energy over the throughput window."""
import pytest

from chipletarch.serving import colocated_point, disaggregated_point
from chipletarch.serving.des import run_colocated, run_disaggregated

from serving_toy import A, BP, C0, D, E, inst, toy  # noqa: F401


def test_littles_law_colocated_and_disaggregated():
    r = run_colocated(inst(), 1000, 100, chunk=2048, max_batch=16, rate=20.0, n_requests=600)
    lit = r["little"]
    assert lit["mean_in_system"] == pytest.approx(lit["rate_x_sojourn"], rel=1e-9)
    r = run_disaggregated(inst(), inst(), 1000, 100, n_prefill=2, n_decode=1, decode_batch=64,
                          kv_seconds=lambda n: 1e-3, concurrency=48, n_requests=600)
    lit = r["little"]
    assert lit["mean_in_system"] == pytest.approx(lit["rate_x_sojourn"], rel=1e-9)


def test_prefill_queue_is_md1():
    """One prefill server, batch 1, fixed prompts: M/D/1, W = T + rho T / (2 (1 - rho))."""
    L, T = 1000, A + BP * 1000                # 0.03 s service
    rate = 0.5 / T                            # rho = 0.5
    r = run_disaggregated(inst(), inst(), L, 2, n_prefill=1, n_decode=4, decode_batch=512,
                          kv_seconds=lambda n: 0.002, rate=rate, n_requests=6000, seed=7)
    expect = T + 0.5 * T / (2 * 0.5) + 0.002
    assert r["ttft_s"] == pytest.approx(expect, rel=0.08)


def test_colocated_des_matches_steady_state():
    i = inst()
    for L, OSL, B, C in ((1000, 200, 32, 2048), (512, 512, 64, 4096)):
        s = colocated_point(i, L, OSL, B, C)
        d = run_colocated(i, L, OSL, chunk=C, max_batch=B, concurrency=B, n_requests=20 * B,
                          seed=1, ctx_bucket=1, token_bucket=1)
        assert d["tpot_s"] == pytest.approx(s["tpot_s"], rel=0.10)
        assert d["tokens_per_s"] == pytest.approx(s["tokens_per_s"], rel=0.15)


def test_disaggregated_des_matches_rate_matched_throughput():
    L, OSL, bp, bd = 2000, 201, 2, 32
    s = disaggregated_point(inst(), inst(), L, OSL, bp, bd, kv_seconds=0.002, max_packages=12)
    npw, ndw = s["prefill_instances"], s["decode_instances"]
    # closed loop with enough clients to keep both pools busy
    d = run_disaggregated(inst(), inst(), L, OSL, n_prefill=npw, n_decode=ndw,
                          prefill_batch=bp, decode_batch=bd, kv_seconds=lambda n: 0.002,
                          concurrency=ndw * bd + 2 * npw * bp, n_requests=1500, seed=2,
                          ctx_bucket=1)
    assert d["requests_per_s"] == pytest.approx(s["requests_per_s"], rel=0.10)
    assert d["tpot_s"] == pytest.approx(s["tpot_s"], rel=0.10)


def test_more_prefill_instances_never_raise_ttft():
    prev = None
    for n in (1, 2, 3, 4):
        r = run_disaggregated(inst(), inst(), 1000, 64, n_prefill=n, n_decode=2, decode_batch=256,
                              rate=25.0, n_requests=1500, seed=11)
        if prev is not None:
            assert r["ttft_s"] <= prev * (1 + 1e-9)
        prev = r["ttft_s"]


def test_des_is_seeded_and_bounded():
    kw = dict(chunk=2048, max_batch=16, rate=10.0, n_requests=300, seed=5)
    a, b = run_colocated(inst(), 800, 80, **kw), run_colocated(inst(), 800, 80, **kw)
    assert a == b
    c = run_colocated(inst(), 800, 80, **{**kw, "seed": 6})
    assert c["ttft_s"] != a["ttft_s"]


def test_policies_prefill_first_synchronises_cohorts():
    kw = dict(chunk=2048, max_batch=32, concurrency=32, n_requests=640, seed=3)
    r = {p: run_colocated(inst(), 1000, 100, policy=p, **kw)
         for p in ("chunked", "whole", "prefill_first")}
    for v in r.values():
        assert v["little"]["mean_in_system"] == pytest.approx(v["little"]["rate_x_sojourn"],
                                                              rel=1e-9)
    # prompts of 1000 tokens always fit a 2048 budget whole: 'whole' == 'chunked' here
    assert r["whole"]["ttft_s"] == pytest.approx(r["chunked"]["ttft_s"])
    # prefill-only iterations pause every decode, so requests advance in lockstep and finish
    # (and are replaced) together: cohorts of prompts queue for prefill (TTFT grows several
    # times), while a request's decode phase sees fewer foreign prompts (TPOT shrinks)
    assert r["prefill_first"]["ttft_s"] > 3 * r["chunked"]["ttft_s"]
    assert r["prefill_first"]["tpot_s"] < r["chunked"]["tpot_s"]
    with pytest.raises(Exception, match="policy"):
        run_colocated(inst(), 100, 10, policy="nope", concurrency=2, n_requests=4)


def test_des_samples_traffic_profile_lengths():
    from chipletarch.workload import load_traffic
    prof = load_traffic("chat")
    r = run_colocated(inst(), prof.isl, prof.osl, chunk=4096, max_batch=32, concurrency=32,
                      n_requests=200, seed=4)
    assert r["little"]["mean_in_system"] == pytest.approx(r["little"]["rate_x_sojourn"],
                                                          rel=1e-9)
    # mean output tokens per request ~ the profile's mean (lognormal, 200 samples)
    assert r["tokens_per_s"] / r["requests_per_s"] == pytest.approx(prof.osl.mean, rel=0.25)


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=12, deadline=None)
@given(isl=st.integers(16, 3000), osl=st.integers(1, 200), conc=st.integers(1, 48),
       chunk=st.integers(64, 4096), policy=st.sampled_from(["chunked", "whole", "prefill_first"]),
       seed=st.integers(0, 1000), overlap=st.booleans())
def test_littles_law_and_token_count_hold_for_any_colocated_run(isl, osl, conc, chunk, policy,
                                                                seed, overlap):
    r = run_colocated(inst(), isl, osl, chunk=chunk, max_batch=conc, concurrency=conc,
                      n_requests=3 * conc, seed=seed, policy=policy, warmup=0.0,
                      overlap=overlap)
    lit = r["little"]
    assert lit["mean_in_system"] == pytest.approx(lit["rate_x_sojourn"], rel=1e-9)
    assert r["ttft_s"] > 0 and r["requests"] == 3 * conc


def test_overlap_scheduler_reports_tokens_one_iteration_late():
    # one client, one request at a time: no queueing, so the difference is exactly the lag
    kw = dict(chunk=4096, max_batch=1, concurrency=1, n_requests=3, warmup=0.0, policy="whole")
    off = run_colocated(inst(), 1000, 50, **kw)
    on = run_colocated(inst(), 1000, 50, overlap=True, **kw)
    step = toy("decode", 1, 1, 1000)            # the iteration after the prompt: one decode
    assert on["ttft_s"] - off["ttft_s"] == pytest.approx(step, rel=0.05)
    # the first and the last token are both late by one iteration: TPOT does not move
    assert on["tpot_s"] == pytest.approx(off["tpot_s"], rel=0.02)
    # a finished request rides one more (wasted) iteration, so throughput drops slightly
    assert on["tokens_per_s"] < off["tokens_per_s"]


def test_disaggregated_ttft_includes_the_wait_for_a_decode_slot():
    # 8 clients, 4 decode slots: half the requests wait for a slot before the decode instance
    # streams their first token; with enough slots nobody waits
    kw = dict(n_prefill=2, n_decode=1, prefill_batch=1, kv_seconds=lambda n: 1e-3,
              concurrency=8, n_requests=160, seed=1, warmup=0.2)
    full = run_disaggregated(inst(), inst(), 500, 100, decode_batch=4, **kw)
    free = run_disaggregated(inst(), inst(), 500, 100, decode_batch=8, **kw)
    life = 99 * toy("decode", 4, 1, 550)        # a request's decode time in a batch of 4
    assert free["ttft_s"] < 0.2 * life
    assert full["ttft_s"] > 0.5 * life


# ----------------------------------------------------------------------------- energy
def _einst(p=500.0, s=100.0):
    from chipletarch.serving import Instance
    from serving_toy import ToyEnergy
    return Instance(latency=ToyEnergy(p, s), packages=1, label="toy")


@pytest.mark.parametrize("policy", ["chunked", "whole", "prefill_first"])
@pytest.mark.parametrize("fe", [0.0, 0.05])
def test_des_energy_at_one_power_is_that_power(policy, fe):
    """Busy and idle at the same power P: whatever the schedule, the window draws exactly P per
    instance, so power per package = P and J/token = P / tokens per second."""
    r = run_colocated(_einst(400.0, 400.0), 1000, 50, chunk=2048, max_batch=8, concurrency=8,
                      n_requests=120, policy=policy, frontend_s=fe, energy=True)
    assert r["power_w_per_package"] == pytest.approx(400.0, rel=1e-9)
    assert r["j_per_token"] == pytest.approx(400.0 / r["tokens_per_s"], rel=1e-9)
    d = run_disaggregated(_einst(400.0, 400.0), _einst(400.0, 400.0), 1000, 50, n_prefill=2,
                          n_decode=3, prefill_batch=2, decode_batch=16, concurrency=40,
                          n_requests=300, frontend_s=fe, energy=True)
    assert d["power_w_per_package"] == pytest.approx(400.0, rel=1e-9)


def test_des_energy_idle_time_is_charged_at_static_power():
    """Static power 0: a saturated closed loop never idles and draws the busy power; front-end
    gaps leave the instance idle and the power falls below it."""
    busy = run_colocated(_einst(400.0, 0.0), 1000, 50, chunk=8192, max_batch=8, concurrency=8,
                         n_requests=120, energy=True)
    assert busy["power_w_per_package"] == pytest.approx(400.0, rel=1e-9)
    gaps = run_colocated(_einst(400.0, 0.0), 1000, 50, chunk=8192, max_batch=1, concurrency=1,
                         n_requests=40, frontend_s=0.2, energy=True)
    assert 0.0 < gaps["power_w_per_package"] < 400.0 * 0.9


def test_des_kv_handover_energy_is_charged_per_transfer():
    """Each KV hand-over adds its joules once: the difference of two runs is a whole number of
    hand-overs, about requests/s x the window."""
    kw = dict(n_prefill=2, n_decode=2, prefill_batch=1, decode_batch=16, concurrency=40,
              n_requests=300, kv_seconds=lambda n: 1e-3, energy=True)
    a = run_disaggregated(_einst(), _einst(), 1000, 50, **kw)
    b = run_disaggregated(_einst(), _einst(), 1000, 50, kv_joules=lambda n: 2.5e-3 * n, **kw)
    n = (b["energy_j"] - a["energy_j"]) / 2.5
    assert n == pytest.approx(round(n), abs=1e-6) and n > 0
    window = a["energy_j"] / (a["power_w_per_package"] * 4)
    assert n == pytest.approx(a["requests_per_s"] * window, rel=0.1)


def test_des_energy_agrees_with_the_steady_state():
    """Co-located and disaggregated J/token of the DES against the steady state's on the same
    steps (closed loops as `des.check`): within 10 %, as their throughputs."""
    i = _einst(500.0, 100.0)
    for B, C in ((16, 2048), (64, 8192)):
        s = colocated_point(i, 1000, 200, B, C)
        d = run_colocated(i, 1000, 200, chunk=C, max_batch=B, concurrency=B, n_requests=12 * B,
                          energy=True, seed=1)
        assert d["j_per_token"] == pytest.approx(s["j_per_token"], rel=0.10)
    s = disaggregated_point(i, i, 1000, 200, 2, 64, 0.0, max_packages=16)
    npw, ndw = s["prefill_instances"], s["decode_instances"]
    conc = ndw * 64 + 2 * npw * 2
    d = run_disaggregated(i, i, 1000, 200, n_prefill=npw, n_decode=ndw, prefill_batch=2,
                          decode_batch=64, concurrency=conc, n_requests=5 * conc, seed=2,
                          energy=True)
    assert d["j_per_token"] == pytest.approx(s["j_per_token"], rel=0.10)


def test_des_energy_needs_instances_with_energy():
    from chipletarch.errors import SpecError
    with pytest.raises(SpecError, match="energy=True"):
        run_colocated(inst(), 1000, 50, concurrency=2, n_requests=4, energy=True)
    r = run_colocated(inst(), 1000, 50, concurrency=2, n_requests=4)
    assert "j_per_token" not in r
