"""Steady-state serving models: co-located (continuous batching + chunked prefill) and
disaggregated (prefill pool + decode pool, KV hand-over, rate matching); Pareto frontiers.

All functions take an `Instance` (phase latency + packages, `latency.py`), so they run on the
engine (`Instance.simulated`) or on closed-form latencies in tests. Lengths are the traffic
means: ISL `L` prompt tokens, OSL output tokens, of which the first comes from prefill and
`O = OSL - 1` from decode steps. Throughput counts output tokens; "per chip" divides by packages;
"per user" is 1 / TPOT.

Co-located, saturated closed loop at concurrency B (B requests always in the instance, the
serving benchmarks' setting), token budget C per iteration (decode tokens + prompt tokens, as
vLLM's max_num_batched_tokens / TensorRT-LLM's max_num_tokens count it). In steady state every
iteration of length T carries B_d decode tokens and p prompt tokens; requests finish at
lambda = B_d / (O T) and must be replaced at the same rate, so p = lambda L T = B_d L / O. A
prompt needs R = max(1, L / (C - B_d)) iterations, so n_p = lambda T R = B_d R / O requests are
in prefill and B = B_d (1 + R / O). If p would exceed the budget C - B_d, prefill is the
bottleneck: B_d = C O / (O + L) and the remaining requests queue for prefill (Little's law gives
their wait). TPOT = T = mixed_step(B_d, L + OSL/2, p); TTFT = R x (an iteration holding at least
one full chunk) + queueing.

Disaggregated: a prefill instance runs batches of b_p prompts, T_p = prefill(b_p, L), serving
lambda_p = b_p / T_p requests/s; a decode instance holds b_d sequences, T_d = decode(b_d,
L + OSL/2) per step, serving mu_d = b_d / (O T_d). Rate matching: n_p lambda_p = n_d mu_d. The
fluid (large-cluster) ratio gives tokens/s/chip = OSL / (P_p / lambda_p + P_d / mu_d) with P the
packages per instance; `rate_match` finds the best integer (n_p, n_d) under a package budget,
and an over-provisioned pool runs at a lower utilisation (decode: a smaller effective batch and
so a shorter TPOT). TTFT = T_p (1 + rho_p / 2) (a request arriving at a busy prefill instance
waits on average half a batch) + the KV hand-over (`kv.py`).

Costs outside the kernels (`framework.py`): the per-iteration overhead rides on the instance's
phase latency (`latency.HostOverhead`), so every step above carries it exactly as the DES's
iterations do; `frontend_s` (mean front-end latency per request) adds to TTFT in both modes and
`handover_s` (disaggregated hand-over beyond the transfer) to the disaggregated TTFT. Neither
holds a batch slot, so throughput is unchanged (concurrency counts requests in the engine).

Energy (where the instance has one, `Instance.energy` / `static_w`; else the keys are None):
every step above has an energy, composed term by term as its latency (`mixed_step_energy`). The
steady state draws P = (energy of the work it does per second) + (static power of the time no
work is done), for the whole deployment, and `j_per_token = P / tokens_per_s` (output tokens;
the prompt's prefill energy is in P), `power_w_per_package = P / packages`. Co-located: every
iteration is the same step, P = E(step) / T. Disaggregated: per served request the prefill
batch's energy over its b_p prompts plus O decode steps' energy over the decode batch they run
at, plus the KV hand-over's network energy (bytes x 8 x the port's pJ/bit, `kv.py`), and the
pools' unused instance time (an over-provisioned or KV-bound pool) at the instances' static
power. The per-iteration host overhead is idle accelerator time at static power
(`latency.HostOverhead`); the front-end and hand-over latencies are not charged (they hold no
accelerator time in this model).
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import SpecError
from .latency import Instance, decode_step_energy, mixed_step, mixed_step_energy, phase_energy

_CHIP = "tokens/s per chip"


def _check_lengths(isl, osl):
    if isl < 1 or osl < 1:
        raise SpecError(f"serving: isl and osl must be >= 1, got {isl}, {osl}")


# ----------------------------------------------------------------------------- co-located
def colocated_point(inst: Instance, isl: float, osl: float, concurrency: int, chunk: int,
                    frontend_s: float = 0.0) -> dict:
    """Saturated co-located instance at `concurrency` requests with a `chunk`-token budget per
    iteration. Returns a design point dict (see module docstring), or None when the KV cache of
    `concurrency` sequences at ISL + OSL does not fit. `frontend_s`: mean front-end latency per
    request, added to TTFT."""
    _check_lengths(isl, osl)
    B, C = int(concurrency), int(chunk)
    if B < 1 or C < 2:
        raise SpecError(f"colocated_point: concurrency >= 1 and chunk >= 2 needed, got {B}, {C}")
    L, O = float(isl), float(osl) - 1.0
    if not inst.fits(B, int(isl + osl)):
        return None
    ctx = L + osl / 2.0
    if O <= 0:                       # prefill only: no decode tokens ride along
        bd, R = 0.0, max(1.0, L / C)
        p = float(min(C, B * L))
        queue_iters = 0.0
    else:
        bd = float(B)
        for _ in range(50):          # fixed point of B = B_d (1 + R(B_d) / O)
            R = max(1.0, L / max(C - bd, 1.0))
            new = B / (1.0 + R / O)
            if abs(new - bd) < 1e-9:
                break
            bd = new
        bd = min(bd, C - 1.0)
        p = bd * L / O
        queue_iters = 0.0
        if p > C - bd:               # prefill-bound: the budget caps the admission rate
            bd = C * O / (O + L)
            p = C - bd
            R = max(1.0, L / p)
            n_p = p * R / L
            n_q = max(0.0, B - bd - n_p)
            queue_iters = n_q * L / p   # Little: wait = n_q / lambda, lambda = p / (L T)
    bdi = int(round(bd)) if O > 0 else 0
    if O > 0 and bdi < 1:
        bdi = 1
    pi = max(1, int(round(p)))
    t, e = mixed_step_energy(inst.latency, inst.energy, bdi, ctx, pi, int(isl))
    # the iteration that holds this request's prompt carries at least one full chunk of it
    own = max(pi, min(int(isl), C - bdi))
    t_own = t if own == pi else mixed_step(inst.latency, bdi, ctx, own, int(isl))
    ttft = R * t_own + queue_iters * t
    if O > 0:
        rate = bd / (O * t)
        tpot = t
    else:
        rate = p / (L * t)
        tpot = float("nan")
        # prefill only: all B requests queue for prompt tokens; Little's law gives the sojourn
        ttft = max(ttft, B / rate)
    ttft += frontend_s
    out_tps = rate * osl
    # every iteration is this step: the deployment draws its energy once per t
    watts = e / t if e is not None and t > 0 else None
    return dict(mode="colocated", mapping=inst.label, packages=inst.packages,
                concurrency=B, chunk=C, decode_batch=bd, prefill_tokens_per_step=p,
                step_s=t, ttft_s=ttft, tpot_s=tpot, frontend_s=frontend_s, requests_per_s=rate,
                tokens_per_s=out_tps, tokens_per_s_per_chip=out_tps / inst.packages,
                tokens_per_s_per_user=(1.0 / tpot) if O > 0 else float("nan"),
                **_energy_keys(watts, out_tps, inst.packages))


def _energy_keys(watts, tokens_per_s, packages) -> dict:
    """j_per_token and power_w_per_package of a deployment drawing `watts` (None: no energy)."""
    if watts is None:
        return dict(j_per_token=None, power_w_per_package=None)
    return dict(j_per_token=watts / tokens_per_s if tokens_per_s > 0 else float("nan"),
                power_w_per_package=watts / packages)


# ----------------------------------------------------------------------------- disaggregated
def prefill_pool(inst: Instance, isl: float, batch: int) -> dict | None:
    """One prefill instance running batches of `batch` prompts of `isl` tokens."""
    if not inst.fits(int(batch), int(isl)):
        return None
    t, e = phase_energy(inst.latency, inst.energy, "prefill", int(batch), int(isl), 0)
    return dict(mapping=inst.label, packages=inst.packages, batch=int(batch), step_s=t,
                requests_per_s=batch / t, step_j=e)


def decode_pool(inst: Instance, isl: float, osl: float, batch: int) -> dict | None:
    """One decode instance holding `batch` sequences (mean context ISL + OSL / 2)."""
    if osl < 2:
        raise SpecError("decode_pool: osl must be >= 2 (the first token comes from prefill)")
    if not inst.fits(int(batch), int(isl + osl)):
        return None
    t, e = decode_step_energy(inst.latency, inst.energy, int(batch), isl + osl / 2.0)
    return dict(mapping=inst.label, packages=inst.packages, batch=int(batch), step_s=t,
                requests_per_s=batch / ((osl - 1.0) * t), step_j=e)


def rate_match(prefill_rps: float, decode_rps: float, prefill_packages: int,
               decode_packages: int, max_packages: int = 64) -> dict:
    """Best integer pool sizes (n_p, n_d) within `max_packages`: the served request rate
    min(n_p lambda_p, n_d mu_d) per package is maximised (ties: fewer packages). Also gives the
    fluid ratio n_p / n_d = mu_d / lambda_p."""
    best = None
    for nd in range(1, max_packages // decode_packages + 1):
        left = max_packages - nd * decode_packages
        if left < prefill_packages:
            break
        # served rate / packages is maximised at the exact match or next to it; the budget may
        # cut the prefill pool shorter (at most left // prefill_packages instances)
        exact = nd * decode_rps / prefill_rps
        cap = left // prefill_packages
        for np_ in {min(cap, max(1, math.floor(exact))), min(cap, max(1, math.ceil(exact)))}:
            pk = np_ * prefill_packages + nd * decode_packages
            if pk > max_packages:
                continue
            served = min(np_ * prefill_rps, nd * decode_rps)
            key = (served / pk, -pk)
            if best is None or key > best[0]:
                best = (key, np_, nd, served, pk)
    if best is None:
        raise SpecError(f"rate_match: one prefill ({prefill_packages}) and one decode "
                        f"({decode_packages}) instance exceed max_packages={max_packages}")
    _, np_, nd, served, pk = best
    return dict(prefill_instances=np_, decode_instances=nd, packages=pk, requests_per_s=served,
                prefill_utilization=served / (np_ * prefill_rps),
                decode_utilization=served / (nd * decode_rps),
                fluid_ratio=decode_rps / prefill_rps)


def disaggregated_point(pre_inst: Instance, dec_inst: Instance, isl: float, osl: float,
                        prefill_batch: int, decode_batch: int, kv_seconds: float,
                        max_packages: int | None = None, kv_ingress_s: float = 0.0,
                        frontend_s: float = 0.0, handover_s: float = 0.0,
                        kv_energy_j: float = 0.0) -> dict | None:
    """Rate-matched disaggregated design point. `max_packages` None: fluid matching (pools of
    any size in the exact ratio, the large-cluster limit, both pools fully used); else the
    best integer pools within that many packages (`rate_match`). `kv_ingress_s`: seconds one
    request's KV cache occupies the decode instance's network ingress (bytes / its aggregate
    port bandwidth); a decode instance cannot admit requests faster than 1 / kv_ingress_s.
    `frontend_s` (mean front-end latency per request) and `handover_s` (hand-over cost beyond the
    transfer) add to TTFT. `kv_energy_j`: joules of one request's KV hand-over on the network
    (`kv.KVTransfer.energy_j`), added to the deployment's power per request served."""
    _check_lengths(isl, osl)
    pre = prefill_pool(pre_inst, isl, prefill_batch)
    dec = decode_pool(dec_inst, isl, osl, decode_batch)
    if pre is None or dec is None:
        return None
    lp, md = pre["requests_per_s"], dec["requests_per_s"]
    kv_bound = kv_ingress_s > 0 and md * kv_ingress_s > 1.0
    if kv_bound:                     # the KV hand-over link, not the GPUs, limits the decode rate
        md = 1.0 / kv_ingress_s
    Pp, Pd = pre["packages"], dec["packages"]
    tpot, e_dec, b_dec = dec["step_s"], dec["step_j"], int(decode_batch)
    if max_packages is None:
        rho_p = 1.0
        rps_per_chip = 1.0 / (Pp / lp + Pd / md)
        ratio, n_p, n_d = md / lp, md / lp, 1.0
        rps = rps_per_chip * (n_p * Pp + n_d * Pd)
        packages = n_p * Pp + n_d * Pd
    else:
        m = rate_match(lp, md, Pp, Pd, max_packages)
        n_p, n_d, packages, rps = (m["prefill_instances"], m["decode_instances"], m["packages"],
                                   m["requests_per_s"])
        ratio, rho_p = m["fluid_ratio"], m["prefill_utilization"]
        rps_per_chip = rps / packages
        eff = int(round(decode_batch * m["decode_utilization"]))
        if eff < decode_batch:       # an over-provisioned decode pool runs smaller batches
            b_dec = max(1, eff)
            tpot, e_dec = decode_step_energy(dec_inst.latency, dec_inst.energy, b_dec,
                                             isl + osl / 2.0)
    ttft = pre["step_s"] * (1.0 + rho_p / 2.0) + kv_seconds + frontend_s + handover_s
    tps_chip = rps_per_chip * osl
    watts = None
    if (pre["step_j"] is not None and e_dec is not None and pre_inst.static_w is not None
            and dec_inst.static_w is not None):
        O = osl - 1.0
        # per served request: its share of a prefill batch and O steps of the decode batch
        j_req = pre["step_j"] / prefill_batch + O * e_dec / b_dec
        # instance-seconds per second the pools spend working; the rest of their time is idle
        busy_p = rps * pre["step_s"] / prefill_batch
        busy_d = rps * O * tpot / b_dec
        idle_w = (pre_inst.static_w * max(0.0, n_p - busy_p)
                  + dec_inst.static_w * max(0.0, n_d - busy_d))
        watts = rps * (j_req + kv_energy_j) + idle_w
    return dict(mode="disaggregated", prefill_mapping=pre["mapping"],
                decode_mapping=dec["mapping"], prefill_batch=int(prefill_batch),
                decode_batch=int(decode_batch), prefill_packages=Pp, decode_packages=Pd,
                prefill_instances=n_p, decode_instances=n_d, packages=packages,
                prefill_decode_ratio=ratio, prefill_step_s=pre["step_s"],
                decode_step_s=dec["step_s"], kv_transfer_s=kv_seconds, frontend_s=frontend_s,
                handover_s=handover_s,
                kv_ingress_utilization=min(1.0, dec["requests_per_s"] * kv_ingress_s),
                kv_bound=bool(kv_bound), ttft_s=ttft,
                tpot_s=tpot, requests_per_s=rps, tokens_per_s=rps * osl,
                tokens_per_s_per_chip=tps_chip, tokens_per_s_per_user=1.0 / tpot,
                **_energy_keys(watts, rps * osl, packages))


# ----------------------------------------------------------------------------- frontiers
def pareto(points, x="tokens_per_s_per_user", y="tokens_per_s_per_chip") -> list:
    """Non-dominated points (maximise x and y), sorted by increasing x (so decreasing y)."""
    pts = [p for p in points if p is not None and np.isfinite(p[x]) and np.isfinite(p[y])]
    pts.sort(key=lambda p: (-p[x], -p[y]))
    front, best_y = [], -math.inf
    for p in pts:                    # sweep from most interactive down: keep new y records
        if p[y] > best_y:
            front.append(p)
            best_y = p[y]
    return front[::-1]


def best_at(front, level, x="tokens_per_s_per_user", y="tokens_per_s_per_chip") -> float:
    """Highest y among frontier points with x >= level (nan if none reaches that level)."""
    ys = [p[y] for p in front if p[x] >= level]
    return max(ys) if ys else float("nan")


def gain_table(colocated_front, disagg_front, levels) -> list:
    """Per interactivity level (tokens/s per user): best tokens/s/chip of each mode and the
    disaggregated / co-located ratio (nan where a mode cannot reach the level)."""
    rows = []
    for u in levels:
        c, d = best_at(colocated_front, u), best_at(disagg_front, u)
        rows.append(dict(tokens_per_s_per_user=float(u), colocated=c, disaggregated=d,
                         gain=(d / c) if c > 0 and np.isfinite(c) and np.isfinite(d)
                         else float("nan")))
    return rows


def meets(p, ttft_slo_s=None, tpot_slo_s=None) -> bool:
    """Does a design point meet the TTFT / TPOT targets (None: no target)?"""
    if p is None:
        return False
    if ttft_slo_s is not None and not p["ttft_s"] <= ttft_slo_s:
        return False
    if tpot_slo_s is not None and not p["tpot_s"] <= tpot_slo_s:
        return False
    return True
