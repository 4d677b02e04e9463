"""Request-level discrete-event simulation of one serving deployment (checks `steady.py`).

Requests (ISL, OSL) arrive either in a closed loop (`concurrency` clients, each sending its next
request the moment the previous one finishes: the serving benchmarks' setting) or open loop
(Poisson at `rate` requests/s). Time advances by engine iterations whose length comes from the
same phase latency the steady-state model uses (`mixed_step`, `decode_step`, prefill), with
contexts rounded to `ctx_bucket` tokens and prompt tokens per step up to `token_bucket` so that
the memoised engine sees few distinct shapes.

Co-located (`run_colocated`): one instance, continuous batching: every iteration runs all
decoding requests plus prompt tokens, first-come first-served, up to the token budget `chunk`
(decode tokens count against it), a prompt split across iterations when it does not fit;
at most `max_batch` requests admitted at once.

Disaggregated (`run_disaggregated`): `n_prefill` prefill instances (batches of up to
`prefill_batch` waiting prompts, the least-loaded instance takes each arrival), the KV hand-over
(one FIFO link per decode instance, `kv_seconds(isl)` per request), and `n_decode` decode
instances (iterations over up to `decode_batch` sequences; a request joins the least-loaded
instance when its KV cache has arrived). The first token is streamed by the decode instance
(SGLang PD and Dynamo route the response through it), so TTFT ends when the request joins a
decode batch: its KV cache has arrived and a batch slot is free (a full decode pool makes new
requests wait here, as the decode side's admission does).

Energy (`energy=True`, where the instances have it: `Instance.energy` / `static_w`): each
iteration is charged the energy of the same step the steady state composes (`mixed_step_energy`,
`decode_step_energy`, a prefill batch's `energy`), each KV hand-over its network joules
(`kv_joules(tokens)`), and every instance's time without an iteration its static power. Over
the throughput window (below) that gives `energy_j`, `power_w_per_package` and `j_per_token`
(output tokens), defined as in `steady.py`, so the two can be compared.

Bounded (`n_requests`), seeded, single-threaded. Statistics skip the first `warmup` fraction of
requests (by arrival) and are measured on the rest; `little` compares the time-averaged number of
requests in the system with throughput x mean sojourn over the whole run (Little's law, exact
when the run starts and ends empty).
"""
from __future__ import annotations

import heapq
import math
from collections import deque

import numpy as np

from ..errors import SpecError
from .latency import decode_step_energy, mixed_step_energy, phase_energy


class _Req:
    __slots__ = ("i", "isl", "osl", "arrival", "left", "first", "done", "made", "ctx", "lag")

    def __init__(self, i, isl, osl, arrival):
        self.i, self.isl, self.osl, self.arrival = i, int(isl), int(osl), arrival
        self.left = int(isl)          # prompt tokens not yet prefilled
        self.first = math.nan         # time of the first token
        self.done = math.nan
        self.made = 0                 # output tokens produced
        self.ctx = 0
        self.lag = 0                  # overlap scheduler: 1 = token made, reported next iteration


def _lengths(isl, osl, n, seed):
    rng = np.random.default_rng(seed)
    if hasattr(isl, "sample"):
        a = isl.sample(n, rng)
    else:
        a = np.full(n, int(isl), dtype=np.int64)
    if hasattr(osl, "sample"):
        b = osl.sample(n, rng)
    else:
        b = np.full(n, int(osl), dtype=np.int64)
    return a, np.maximum(b, 1)


def _bucket(x, q):
    return int(max(q, q * round(x / q))) if q > 1 else int(round(x))


class _Source:
    """Arrivals: closed loop (next request on each completion) or Poisson."""

    def __init__(self, isl, osl, n, seed, concurrency, rate):
        if (concurrency is None) == (rate is None):
            raise SpecError("des: give exactly one of concurrency (closed loop) or rate (Poisson)")
        self.isl, self.osl = _lengths(isl, osl, n, seed)
        self.n = n
        self.sent = 0
        self.closed = concurrency is not None
        self.rng = np.random.default_rng(seed + 1)
        self.rate = rate
        self.t_next = 0.0
        self.concurrency = concurrency

    def make(self, t):
        r = _Req(self.sent, self.isl[self.sent], self.osl[self.sent], t)
        self.sent += 1
        return r

    def initial(self):
        """Requests present at t = 0 (closed loop) or the first Poisson arrival time."""
        if self.closed:
            return [self.make(0.0) for _ in range(min(self.concurrency, self.n))]
        self.t_next = float(self.rng.exponential(1.0 / self.rate))
        return []

    def poisson_until(self, t):
        out = []
        while not self.closed and self.sent < self.n and self.t_next <= t:
            out.append(self.make(self.t_next))
            self.t_next += float(self.rng.exponential(1.0 / self.rate))
        return out

    def next_time(self):
        return self.t_next if (not self.closed and self.sent < self.n) else math.inf


class _Meter:
    """Energy of a run: per instance its iterations as (start, end, joules) and its static
    power for the time between them; point charges (KV hand-overs) at their times."""

    def __init__(self, static_w):
        self.static_w = [float(w) for w in static_w]
        self.segs = [[] for _ in self.static_w]
        self.points: list = []

    def busy(self, k, t0, t1, joules):
        if t1 > t0:
            self.segs[k].append((t0, t1, float(joules)))

    def point(self, t, joules):
        self.points.append((t, float(joules)))

    def window(self, a, b) -> float:
        """Joules drawn in (a, b]: iterations pro rata to their overlap with it, static power
        for each instance's time in it without an iteration, point charges inside it."""
        e = 0.0
        for w, segs in zip(self.static_w, self.segs):
            busy = 0.0
            for s0, s1, j in segs:
                ov = min(s1, b) - max(s0, a)
                if ov > 0:
                    e += j * ov / (s1 - s0)
                    busy += ov
            e += w * max(0.0, (b - a) - busy)
        return e + sum(j for t, j in self.points if a < t <= b)


def _meter_for(energy, insts):
    """A `_Meter` over `insts` (one entry per instance) when `energy` and every instance has
    phase energy and static power; None otherwise (energy=True without it is an error)."""
    if not energy:
        return None
    if any(i.energy is None or i.static_w is None for i in insts):
        raise SpecError("des: energy=True needs instances with energy and static power "
                        "(Instance.simulated, or a latency with .energy and .static_w)")
    return _Meter([i.static_w for i in insts])


def _stats(reqs, warmup, packages, t_end, area, meter=None):
    reqs = sorted(reqs, key=lambda r: r.arrival)
    k = int(len(reqs) * warmup)
    meas = [r for r in reqs[k:] if np.isfinite(r.done)]
    if not meas:
        raise SpecError("des: no request completed after the warm-up")
    ttft = np.array([r.first - r.arrival for r in meas])
    tpot = np.array([(r.done - r.first) / (r.osl - 1) for r in meas if r.osl > 1])
    # throughput over the middle of the run (completions k .. n - k): neither the ramp-up nor
    # the drain at the end (underfull batches once arrivals stop) biases it
    fin = sorted((r.done, r.osl) for r in reqs if np.isfinite(r.done))
    kk = int(len(fin) * warmup)
    win = fin[kk:len(fin) - kk] if len(fin) - 2 * kk >= 2 else fin
    t0, t1 = win[0][0], win[-1][0]
    if t1 <= t0:
        t0 = min(r.arrival for r in meas)
    toks = sum(o for _, o in win[1:]) if t1 > win[0][0] else sum(r.osl for r in meas)
    n_win = len(win) - 1 if t1 > win[0][0] else len(meas)
    alld = [r for r in reqs if np.isfinite(r.done)]
    sojourn = np.mean([r.done - r.arrival for r in alld])
    thr = len(alld) / t_end
    en = {}
    if meter is not None:
        ej = meter.window(t0, t1)
        en = dict(energy_j=ej, power_w_per_package=ej / (t1 - t0) / packages,
                  j_per_token=ej / toks if toks > 0 else math.nan)
    return dict(requests=len(meas), ttft_s=float(ttft.mean()), ttft_p50_s=float(np.median(ttft)),
                ttft_p90_s=float(np.percentile(ttft, 90)),
                tpot_s=float(tpot.mean()) if len(tpot) else math.nan,
                tpot_p90_s=float(np.percentile(tpot, 90)) if len(tpot) else math.nan,
                tokens_per_s=toks / (t1 - t0), requests_per_s=n_win / (t1 - t0),
                tokens_per_s_per_chip=toks / (t1 - t0) / packages,
                little=dict(mean_in_system=area / t_end, rate_x_sojourn=thr * sojourn),
                duration_s=t_end, **en)


POLICIES = ("chunked", "whole", "prefill_first")


def run_colocated(inst, isl, osl, *, chunk=8192, max_batch=256, concurrency=None, rate=None,
                  n_requests=400, seed=0, warmup=0.2, ctx_bucket=128, token_bucket=64,
                  policy="chunked", overlap=False, frontend_s=0.0,
                  frontend_request_s=0.0, frontend_token_s=0.0, energy=False) -> dict:
    """Simulate one co-located instance (see module docstring); returns statistics.

    `policy` = how prompt tokens share iterations with decode (the serving engines' defaults):
    'chunked' (vLLM V1): decode tokens + FCFS prompt chunks up to the budget, a prompt split
    across iterations; 'whole' (TensorRT-LLM without chunked context): decode tokens + whole
    prompts, FCFS, while they fit the budget (a prompt alone in its iteration may exceed it);
    'prefill_first' (SGLang without mixed chunks): while any admitted prompt is unfinished,
    iterations are prefill-only (up to the budget, chunked) and decoding pauses.

    `overlap` (TensorRT-LLM's overlap scheduler, on by default in its PyTorch backend): the host
    schedules iteration k+1 before it has read the tokens of iteration k, so a prompt's first
    token and a request's last token reach the client one iteration late, and a request whose
    last token came out of iteration k still rides (one wasted decode token) in k+1, holding its
    batch slot until then.

    `frontend_s`: the mean of the serving front-end's latency on a request's path to the
    scheduler (HTTP, chat template, tokenising, hand-off to the engine process), drawn per
    request from an exponential distribution (seeded). A request sent at t can be scheduled
    from t + its latency; its TTFT counts from t. It holds no batch slot meanwhile.

    `frontend_request_s`, `frontend_token_s`: the front-end's serial work per request (parsing,
    tokenising, submitting) and per output token (detokenising, building and writing each
    streamed token), done by one process in order (a FIFO single server). Each iteration hands
    it its tokens (n x `frontend_token_s` of work); a request, after its front-end latency,
    queues behind all the work handed over before it, then takes `frontend_request_s`, and
    reaches the scheduler when its turn starts. The streamed tokens are not delayed in the
    model: a saturated front-end shows as the wait of new requests (TTFT). Below its capacity a
    new request waits only for the work in hand (at most about one iteration's tokens); where
    the GPU would make more than 1 / `frontend_token_s` tokens/s the work piles up, new requests
    wait, and in a closed loop the batch shrinks until the GPU's token rate meets the
    front-end's (TPOT = the smaller batch's step)."""
    if policy not in POLICIES:
        raise SpecError(f"run_colocated: policy must be one of {', '.join(POLICIES)}")
    src = _Source(isl, osl, n_requests, seed, concurrency, rate)
    lat = inst.latency
    meter = _meter_for(energy, [inst])
    en = inst.energy if meter is not None else None
    fe_rng = np.random.default_rng(seed + 2)
    incoming: list = []               # sent, in the front-end: heap of (time, i, stage, r)

    fe_free = [0.0]                   # the front-end's work in hand is done at this time
    serial = frontend_request_s > 0 or frontend_token_s > 0

    def send(r):
        d = float(fe_rng.exponential(frontend_s)) if frontend_s > 0 else 0.0
        # stage 0: reaches the front-end's serial queue (if any); 1: reaches the scheduler
        heapq.heappush(incoming, (r.arrival + d, r.i, 0 if serial else 1, r))

    def queue_turns(until):
        """Requests that reached the serial front-end by `until` take their turns, in the
        order they reached it, behind the work in hand."""
        ready = []
        while incoming and incoming[0][0] <= until + 1e-12:
            ready.append(heapq.heappop(incoming))
        for s, i, stage, r in ready:  # in time order
            if stage == 0:
                s = max(s, fe_free[0])
                fe_free[0] = s + frontend_request_s
            heapq.heappush(incoming, (s, i, 1, r))

    for r in src.initial():
        send(r)
    waiting: deque = deque()
    running: list = []                # admitted: in prefill (left > 0) or decoding
    done: list = []
    t, area, n_sys = 0.0, 0.0, len(incoming)
    while len(done) < n_requests:
        for r in src.poisson_until(t):
            send(r)                   # arrived during the last iteration: in the system since
            n_sys += 1
            area += t - r.arrival
        while incoming and incoming[0][0] <= t + 1e-12:
            if incoming[0][2] == 0:
                queue_turns(incoming[0][0])
                continue
            waiting.append(heapq.heappop(incoming)[3])
        while waiting and len(running) < max_batch:
            running.append(waiting.popleft())
        if not running:
            nt = src.next_time()
            if incoming:
                nt = min(nt, incoming[0][0])
            if not np.isfinite(nt):
                break
            area += n_sys * (nt - t)
            t = nt
            continue
        dec = [r for r in running if r.left == 0]
        if policy == "prefill_first" and any(r.left > 0 for r in running):
            dec = []                  # a prefill batch runs alone; decoding waits
        budget = chunk - len(dec)
        chunks = []
        for r in running:             # FCFS prompt tokens within the budget
            if budget <= 0:
                break
            if r.left > 0:
                if policy == "whole":
                    if r.left > budget and chunks:
                        break         # strict FCFS: the next prompt waits for an iteration
                    c = r.left
                else:
                    c = min(r.left, budget)
                chunks.append((r, c))
                budget -= c
        p = sum(c for _, c in chunks)
        if dec:
            ctx = _bucket(sum(r.ctx for r in dec) / len(dec), ctx_bucket)
        else:
            ctx = 0
        if p:
            L = _bucket(sum(r.isl for r, _ in chunks) / len(chunks), token_bucket)
            pb = _bucket(p, token_bucket) if p > token_bucket else p
            dt, ej = mixed_step_energy(lat, en, len(dec), ctx, pb, L)
        else:
            dt, ej = decode_step_energy(lat, en, len(dec), ctx)
        if meter is not None:
            meter.busy(0, t, t + dt, ej)
        reading = [r for r in running if r.lag == 1] if overlap else ()
        area += n_sys * dt
        t += dt
        if frontend_token_s > 0:      # this iteration's tokens go to the front-end, behind
            queue_turns(t)            # the requests that reached it during the iteration
            n_tok = sum(1 for r in dec if r.lag != 2) + sum(1 for r, c in chunks if r.left == c)
            fe_free[0] = max(fe_free[0], t) + n_tok * frontend_token_s
        for r in reading:             # the host reads the previous iteration's tokens now
            if not np.isfinite(r.first):
                r.first = t
            r.lag = 2 if r.made >= r.osl else 0     # 2: it had finished, it leaves now
        for r in dec:
            if r.lag == 2:            # rode this iteration for nothing (a wasted token)
                continue
            r.made += 1
            r.ctx += 1
            if overlap and r.made >= r.osl:
                r.lag = 1
        for r, c in chunks:
            r.left -= c
            if r.left == 0:           # prompt done: the first token comes with it
                r.made = 1
                r.ctx = r.isl
                if overlap:
                    r.lag = 1         # read by the host during the next iteration
                else:
                    r.first = t
        still = []
        for r in running:
            fin = (r.lag == 2) if overlap else (r.made >= r.osl)
            if r.left == 0 and fin:
                r.done = t
                done.append(r)
                n_sys -= 1
                if src.closed and src.sent < src.n:
                    send(src.make(t))
                    n_sys += 1
            else:
                still.append(r)
        running = still
    return _stats(done, warmup, inst.packages, t, area, meter)


def run_disaggregated(pre_inst, dec_inst, isl, osl, *, n_prefill=1, n_decode=1, prefill_batch=1,
                      decode_batch=64, kv_seconds=None, concurrency=None, rate=None,
                      n_requests=400, seed=0, warmup=0.2, ctx_bucket=128, frontend_s=0.0,
                      handover_s=0.0, energy=False, kv_joules=None) -> dict:
    """Simulate a disaggregated deployment (see module docstring); returns statistics.
    `kv_seconds(tokens)` gives one request's KV hand-over time (default 0). `frontend_s`: the
    mean front-end latency before a request reaches the prefill queue (exponential, as in
    `run_colocated`);
    `handover_s`: a fixed per-request cost of the prefill-to-decode hand-over on top of the
    transfer time (decode-side allocation, transfer set-up and completion notice), added to
    the request's KV arrival without occupying the link. `energy`, `kv_joules(tokens)` (one
    request's KV hand-over energy, default 0): see the module docstring."""
    src = _Source(isl, osl, n_requests, seed, concurrency, rate)
    kv = kv_seconds or (lambda n: 0.0)
    meter = _meter_for(energy, [pre_inst] * n_prefill + [dec_inst] * n_decode)
    pre_en, dec_en = (pre_inst.energy, dec_inst.energy) if meter is not None else (None, None)
    kv_j = kv_joules or (lambda n: 0.0)
    fe_rng = np.random.default_rng(seed + 2)
    pq = [deque() for _ in range(n_prefill)]
    p_busy = [False] * n_prefill
    link_free = [0.0] * n_decode
    pending = [deque() for _ in range(n_decode)]     # KV arrived, waiting for a batch slot
    arriving = [0] * n_decode                        # KV in flight to the instance
    dec_run = [[] for _ in range(n_decode)]
    d_busy = [False] * n_decode
    ev: list = []
    seq = 0
    done: list = []
    n_sys, area, t = 0, 0.0, 0.0

    def push(time, kind, a, b=None):
        nonlocal seq
        heapq.heappush(ev, (time, seq, kind, a, b))
        seq += 1

    def to_prefill(r, now):
        nonlocal n_sys
        n_sys += 1
        if frontend_s > 0:
            push(now + float(fe_rng.exponential(frontend_s)), "enter", None, r)
        else:
            enter(r, now)

    def enter(r, now):
        i = min(range(n_prefill), key=lambda j: (len(pq[j]) + p_busy[j], j))
        pq[i].append(r)
        start_prefill(i, now)

    def start_prefill(i, now):
        if p_busy[i] or not pq[i]:
            return
        batch = [pq[i].popleft() for _ in range(min(prefill_batch, len(pq[i])))]
        L = int(round(sum(r.isl for r in batch) / len(batch)))
        p_busy[i] = True
        dt, ej = phase_energy(pre_inst.latency, pre_en, "prefill", len(batch), L, 0)
        if meter is not None:
            meter.busy(i, now, now + dt, ej)
        push(now + dt, "pdone", i, batch)

    def start_decode(j, now):
        if d_busy[j]:
            return
        while pending[j] and len(dec_run[j]) < decode_batch:
            r = pending[j].popleft()
            r.first = now             # admitted: the decode instance streams its first token
            dec_run[j].append(r)
        if not dec_run[j]:
            return
        ctx = _bucket(sum(r.ctx for r in dec_run[j]) / len(dec_run[j]), ctx_bucket)
        d_busy[j] = True
        dt, ej = decode_step_energy(dec_inst.latency, dec_en, len(dec_run[j]), ctx)
        if meter is not None:
            meter.busy(n_prefill + j, now, now + dt, ej)
        push(now + dt, "ddone", j)

    for r in src.initial():
        to_prefill(r, 0.0)
    if not src.closed:
        push(src.next_time(), "arrive", None)
    while ev:
        now, _, kind, a, b = heapq.heappop(ev)
        area += n_sys * (now - t)
        t = now
        if kind == "enter":
            enter(b, now)
        elif kind == "arrive":
            for r in src.poisson_until(now):
                to_prefill(r, now)
            if np.isfinite(src.next_time()):
                push(src.next_time(), "arrive", None)
        elif kind == "pdone":
            p_busy[a] = False
            for r in b:
                r.made, r.ctx, r.left = 1, r.isl, 0
                j = min(range(n_decode),
                        key=lambda j: (len(dec_run[j]) + len(pending[j]) + arriving[j], j))
                s = max(now, link_free[j])
                link_free[j] = s + kv(r.isl)
                if meter is not None:
                    meter.point(link_free[j], kv_j(r.isl))
                arriving[j] += 1
                push(link_free[j] + handover_s, "kv", j, r)
            start_prefill(a, now)
        elif kind == "kv":
            arriving[a] -= 1
            if b.osl <= 1:
                b.first = now
                b.done = now
                done.append(b)
                n_sys -= 1
                if src.closed and src.sent < src.n:
                    to_prefill(src.make(now), now)
            else:
                pending[a].append(b)
                start_decode(a, now)
        elif kind == "ddone":
            d_busy[a] = False
            still = []
            for r in dec_run[a]:
                r.made += 1
                r.ctx += 1
                if r.made >= r.osl:
                    r.done = now
                    done.append(r)
                    n_sys -= 1
                    if src.closed and src.sent < src.n:
                        to_prefill(src.make(now), now)
                else:
                    still.append(r)
            dec_run[a] = still
            start_decode(a, now)
    packages = n_prefill * pre_inst.packages + n_decode * dec_inst.packages
    return _stats(done, warmup, packages, t, area, meter)


# ----------------------------------------------------------------------------- agreement check
CHECK_POINTS = (("colocated", 1024, 256, 32, 2048), ("colocated", 1024, 256, 64, 8192),
                ("colocated", 4096, 128, 16, 8192), ("colocated", 512, 512, 128, 4096),
                ("disaggregated", 4096, 256, 1, 64), ("disaggregated", 1024, 1024, 2, 128))


def check(arch="h100-sxm", model="llama3.1-8b", precision="bf16", framework="none") -> list:
    """DES vs steady state at `CHECK_POINTS` on engine latencies (one TP1 instance type), both
    with the same costs outside the kernels (`framework`; default 'none', kernel time only: the
    check compares the two models, not a deployment).
    Co-located: closed loop at the point's concurrency, 12 x concurrency requests, chunked
    policy. Disaggregated: integer pools from `rate_match` within 16 packages, a closed loop with
    2 n_p b_p clients beyond the decode slots (both pools saturated), 5 x that many requests.
    Returns rows of (point, steady, des) with TPOT, tokens/s, TTFT and J per output token."""
    from ..arch import load_architecture
    from ..workload import Mapping, load_model
    from .kv import kv_transfer
    from .latency import Instance
    from .steady import colocated_point, disaggregated_point
    a, m = load_architecture(arch), load_model(model)
    dom = int(getattr(getattr(a, "scale_up", None), "domain_size", 0) or 8)
    from .framework import framework_costs
    fw = framework_costs(framework)
    inst = fw.apply(Instance.simulated(a, m, precision, Mapping(tp=1, dies_per_package=1,
                                                                scaleup_packages=dom)))
    rows = []
    for mode, isl, osl, x, y in CHECK_POINTS:
        if mode == "colocated":
            s = colocated_point(inst, isl, osl, x, y, frontend_s=fw.frontend_s)
            d = run_colocated(inst, isl, osl, chunk=y, max_batch=x, concurrency=x,
                              n_requests=12 * x, seed=1, frontend_s=fw.frontend_s,
                              energy=True)
            name = f"co-located {isl}/{osl} B={x} C={y}"
        else:
            def kvs(n):
                return kv_transfer(a, m, precision, n, 1, 1).seconds

            def kvj(n):
                return kv_transfer(a, m, precision, n, 1, 1).energy_j
            s = disaggregated_point(inst, inst, isl, osl, x, y, kvs(isl), max_packages=16,
                                    frontend_s=fw.frontend_s, handover_s=fw.handover_s,
                                    kv_energy_j=kvj(isl))
            npw, ndw = s["prefill_instances"], s["decode_instances"]
            conc = ndw * y + 2 * npw * x
            d = run_disaggregated(inst, inst, isl, osl, n_prefill=npw, n_decode=ndw,
                                  prefill_batch=x, decode_batch=y, kv_seconds=kvs,
                                  concurrency=conc, n_requests=5 * conc, seed=2,
                                  frontend_s=fw.frontend_s, handover_s=fw.handover_s,
                                  energy=True, kv_joules=kvj)
            name = f"disaggregated {isl}/{osl} P{npw}:D{ndw} b_p={x} b_d={y}"
        rows.append((name, s, d))
    return rows


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="python -m chipletarch.serving.des",
                                 description="DES vs steady-state agreement on engine latencies")
    ap.add_argument("--arch", default="h100-sxm")
    ap.add_argument("--model", default="llama3.1-8b")
    ap.add_argument("--precision", default="bf16")
    ap.add_argument("--framework", default="none",
                    help="costs outside the kernels in both models: none (default) | trtllm | "
                         "vllm | sglang")
    a = ap.parse_args(argv)
    from .framework import framework_costs
    print(framework_costs(a.framework).describe())
    print("| point | TPOT ms (steady / DES) | tokens/s | TTFT ms | J/token |")
    print("|---|---|---|---|---|")
    for name, s, d in check(a.arch, a.model, a.precision, a.framework):
        print(f"| {name} | {s['tpot_s'] * 1e3:.2f} / {d['tpot_s'] * 1e3:.2f} | "
              f"{s['tokens_per_s']:.0f} / {d['tokens_per_s']:.0f} | "
              f"{s['ttft_s'] * 1e3:.0f} / {d['ttft_s'] * 1e3:.0f} | "
              f"{s['j_per_token']:.3f} / {d['j_per_token']:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
