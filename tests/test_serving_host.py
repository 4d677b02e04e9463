"""Per-iteration framework overhead (latency.HostOverhead) and the replay's train/held split:
hand-computed closed forms."""
import csv

import pytest

from chipletarch.serving import Instance
from chipletarch.serving.des import run_colocated
from chipletarch.serving.latency import HostOverhead, mixed_step, with_host_overhead

from serving_toy import A, BP, C0, D, E, inst, toy  # noqa: F401
F, S = 1e-3, 2e-5          # fixed s per iteration, s per sequence


def test_overhead_per_phase_closed_form():
    h = HostOverhead(toy, F, S)
    # decode of 32 at context 1000: 5 ms + 3.2 ms + 0.32 ms kernels, + 1 ms + 32 x 20 us
    assert h("decode", 32, 1, 1000) == pytest.approx(0.00852 + 0.001 + 0.00064)
    # a 512-token chunk with 32 decoding: 33 sequences
    assert h("chunked", 32, 512, 1000) == pytest.approx(0.00852 + 0.01024 + 0.001 + 0.00066)
    # prefill of 4 prompts of 1000: 10 ms + 80 ms, + 1 ms + 4 x 20 us
    assert h("prefill", 4, 1000) == pytest.approx(0.09 + 0.001 + 0.00008)


def test_mixed_step_with_k_whole_prompts_pays_decode_plus_k_sequences():
    """3 whole prompts of 1000 with 16 decoding: the attention correction leaves exactly
    fixed + per_sequence x (16 + 3) on top of the kernels' mixed step."""
    plain = mixed_step(toy, 16, 1000, 3000, 1000)
    over = mixed_step(HostOverhead(toy, F, S), 16, 1000, 3000, 1000)
    assert over - plain == pytest.approx(F + S * 19, rel=1e-9)
    # a chunk of one prompt (p <= L) with no decode batch: one sequence
    assert (mixed_step(HostOverhead(toy, F, S), 0, 0, 500, 1000)
            - mixed_step(toy, 0, 0, 500, 1000)) == pytest.approx(F + S)


def test_decode_only_des_tpot_grows_by_the_overhead():
    """Closed loop, prompts of 1 token: TPOT is the decode step; with the overhead it grows by
    fixed + per_sequence x batch (the batch stays full)."""
    i = Instance(latency=toy, packages=1, label="toy")
    j = with_host_overhead(i, F, S)
    assert with_host_overhead(i, 0.0, 0.0) is i
    a = run_colocated(i, 1, 200, chunk=4096, max_batch=8, concurrency=8, n_requests=64,
                      ctx_bucket=1, token_bucket=1)
    b = run_colocated(j, 1, 200, chunk=4096, max_batch=8, concurrency=8, n_requests=64,
                      ctx_bucket=1, token_bucket=1)
    assert b["tpot_s"] - a["tpot_s"] == pytest.approx(F + S * 8, rel=0.02)


def test_replay_split_is_deterministic_and_keeps_duplicates_together():
    from chipletarch.serving import validate as V
    rows = list(csv.DictReader(open(V.default_csv())))
    halves = [V.split(r) for r in rows]
    assert set(halves) == {"train", "held"}
    assert 0.35 < halves.count("train") / len(rows) < 0.65
    seen = {}
    for r, h in zip(rows, halves):
        key = tuple(r[k] for k in V._DEPLOYMENT_KEYS) + (V._concurrency(r),)
        assert seen.setdefault(key, h) == h          # same deployment, same half
    old = V.HOST
    try:
        V.HOST = "off"
        assert V.host_overhead("trtllm") == (0.0, 0.0)
    finally:
        V.HOST = old
    for be in ("trtllm", "vllm", "sglang"):
        f, s = V.host_overhead(be)
        assert 0 < f < 5e-3 and 0 < s < 1e-4          # sub-ms to ms per step, us per sequence
        assert 0 <= V.frontend_s(be) < 0.5
    assert 0 <= V.handover_s() < 1.0
    for be in ("trtllm", "vllm", "sglang"):
        assert 0 <= V.handover_s(be) <= 1.0                   # the fit's grid stops at 1 s


def test_frontend_latency_adds_its_mean_to_ttft():
    """One client, one slot: a request waits in the front-end (exponential, mean d) and for
    nothing else, so mean TTFT grows by d (sampling error ~ d / sqrt(n)); Little's law holds
    and the closed loop serves fewer requests per second."""
    i = Instance(latency=toy, packages=1, label="toy")
    d = 0.05
    kw = dict(chunk=4096, max_batch=1, concurrency=1, n_requests=2000, ctx_bucket=1,
              token_bucket=1, warmup=0.0, seed=3)
    a = run_colocated(i, 100, 5, **kw)
    b = run_colocated(i, 100, 5, frontend_s=d, **kw)
    assert a["ttft_s"] == pytest.approx(A + BP * 100, rel=1e-9)      # a prefill, no wait
    assert b["ttft_s"] - a["ttft_s"] == pytest.approx(d, rel=0.06)
    assert b["little"]["mean_in_system"] == pytest.approx(b["little"]["rate_x_sojourn"],
                                                          rel=1e-9)
    assert b["requests_per_s"] < a["requests_per_s"]
    assert b == run_colocated(i, 100, 5, frontend_s=d, **kw)          # seeded


def test_disaggregated_frontend_and_handover_add_to_ttft_at_one_client():
    from chipletarch.serving.des import run_disaggregated
    i = Instance(latency=toy, packages=1, label="toy")
    kw = dict(n_prefill=1, n_decode=1, decode_batch=8, kv_seconds=lambda n: 0.002,
              concurrency=1, warmup=0.0, ctx_bucket=1)
    a = run_disaggregated(i, i, 1000, 20, n_requests=10, **kw)
    b = run_disaggregated(i, i, 1000, 20, n_requests=10, handover_s=0.1, **kw)
    # alone in the system: TTFT = prefill (10 + 20 ms) + transfer (2 ms) + hand-over
    assert a["ttft_s"] == pytest.approx(0.03 + 0.002, rel=1e-9)
    assert b["ttft_s"] == pytest.approx(0.03 + 0.002 + 0.1, rel=1e-9)
    assert b["tpot_s"] == pytest.approx(a["tpot_s"], rel=1e-9)
    c = run_disaggregated(i, i, 1000, 20, n_requests=2000, frontend_s=0.05, **kw)
    assert c["ttft_s"] == pytest.approx(0.03 + 0.002 + 0.05, rel=0.05)


def test_refine_host_overhead_recovers_a_known_overhead(tmp_path, monkeypatch):
    """On rows whose 'measured' TPOT is the replay's plus a known overhead, the pattern search
    started away from it lowers the training sum and moves both terms toward the truth."""
    import csv as _csv
    from chipletarch.serving import validate as V
    truth = (0.4e-3, 25e-6)
    rows = []
    for i in range(40):
        b = (8, 16, 32, 64, 128)[i % 5]
        r = {"id": f"r{i}", "backend": "toy", "system": "h100_sxm", "batch_size": str(b),
             "isl": str(512 * (1 + i % 3)), "silicon_data_source": "x"}
        base = 0.005 + 1e-5 * b
        r["silicon_tpot_ms"] = str((base + truth[0] + truth[1] * b) * 1e3)
        rows.append(r)
    path = tmp_path / "rows.csv"
    with open(path, "w", newline="") as fh:
        w = _csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)

    def predict(row, arch):
        b = int(row["batch_size"])
        f, s = V.HOST_OVERHEAD["toy"]
        return {"tpot_s": 0.005 + 1e-5 * b + f + s * b}
    monkeypatch.setattr(V, "predict_row", predict)
    monkeypatch.setitem(V.HOST_OVERHEAD, "toy", (2 * truth[0], 0.5 * truth[1]))
    tr = V._training_rows(path, None, "toy")
    assert 0 < len(tr) < len(rows)                          # the training half only

    def total(x):
        return sum(abs(0.005 + 1e-5 * int(r["batch_size"]) + x[0] + x[1] * int(r["batch_size"])
                       - float(r["silicon_tpot_ms"]) / 1e3) / (float(r["silicon_tpot_ms"]) / 1e3)
                   for r in tr)
    start = V.HOST_OVERHEAD["toy"]
    got = V.refine_host_overhead(path, backends=["toy"])["toy"]
    assert V.HOST_OVERHEAD["toy"] == got
    assert total(got) < 0.5 * total(start)
    assert abs(got[0] - truth[0]) < abs(start[0] - truth[0])
    assert abs(got[1] - truth[1]) < abs(start[1] - truth[1])
