"""Run a sweep: chunks of points evaluated in worker processes (or on a Dask cluster) and
committed to the results store one chunk at a time.

* Local (default): `workers` processes (default: the CPU count), each fed chunks over its own
  pipe; each keeps one `Evaluator` and its caches (architecture variants, placements, operator
  tables) across the chunks it gets; forked workers inherit the driver's warm evaluator.
  `workers=0` evaluates in this process.
* Dask: `dask="tcp://host:8786"` connects to a running scheduler; `dask="local"` starts a
  `LocalCluster` of `workers` single-threaded processes. Workers keep one Evaluator per spec hash.
  Chunks, point numbering and the evaluation code are the same as locally, so the stored table
  is identical (the tests compare them).
* Only the driver writes the store (SQLite has one writer); results arrive in completion order
  and each chunk is one transaction. Ctrl-C stops the workers (they ignore SIGINT and are
  killed; no queue is shared, so nothing can deadlock), keeps every committed chunk and reports
  how to resume.
"""
from __future__ import annotations

import math
import multiprocessing as mp
import os
import signal
import sys
import time

from ..errors import SpecError
from .evaluate import Evaluator
from .store import Store, records_to_rows

_WORKER = {}


def _eval_rows(ev, columns, chunk, lo, hi):
    t0 = time.perf_counter()
    rows = records_to_rows(ev.evaluate(range(lo, hi)), columns, chunk)
    return chunk, rows, time.perf_counter() - t0


def _dask_eval_chunk(spec, columns, chunk, lo, hi):
    """Task run on a Dask worker: one Evaluator per spec hash per worker process."""
    key = ("dask", spec.spec_hash())
    ev = _WORKER.get(key)
    if ev is None:
        _WORKER.clear()
        ev = _WORKER[key] = Evaluator(spec)
    return _eval_rows(ev, columns, chunk, lo, hi)


def run_sweep(spec, store_path, *, workers: int | None = None, dask: str | None = None,
              resume: bool = False, overwrite: bool = False, limit: int | None = None,
              chunk_size: int | None = None, progress: bool = True, stream=None,
              allow_code_change: bool = False) -> dict:
    """Evaluate `spec` into the SQLite store at `store_path`; returns a summary dict.

    resume: finish the sweep already in the store (only the missing chunks run; the store must
    have been written by this spec and chipletarch version). limit: stop after about this many
    points in this run (whole chunks; --resume continues). chunk_size: points per committed
    chunk (default the spec's `options.chunk_size`; a resumed store keeps its own)."""
    if resume and overwrite:
        raise SpecError("--resume and --overwrite exclude each other")
    if resume and os.path.exists(store_path):
        store = Store.open(store_path, spec, allow_code_change=allow_code_change)
    else:
        cs = int(chunk_size or spec.options["chunk_size"])
        if cs < 1:
            raise SpecError("chunk size must be >= 1")
        store = Store.create(store_path, spec, cs, overwrite=overwrite)
    try:
        return _run(spec, store, workers, dask, limit, progress, stream)
    finally:
        store.close()


def _run(spec, store, workers, dask, limit, progress, stream):
    done = store.done_chunks()
    todo = [c for c in range(store.n_chunks) if c not in done]
    if limit is not None:
        if limit < 1:
            raise SpecError("--limit must be >= 1")
        keep, n = [], 0
        for c in todo:
            if n >= limit:
                break
            lo, hi = store.chunk_range(c)
            keep.append(c)
            n += hi - lo
        todo = keep
    total = store.n_points
    already = sum(store.chunk_range(c)[1] - store.chunk_range(c)[0] for c in done)
    tasks = [(c, *store.chunk_range(c)) for c in todo]
    bar = _progress(total, already, progress, stream)
    t0 = time.perf_counter()
    evaluated = 0
    interrupted = False
    in_process = workers == 0 or (len(tasks) == 1 and not workers)
    mode = "dask" if dask else ("in-process" if in_process else f"{workers or os.cpu_count()} "
                                                                 f"processes")

    def commit(chunk, recs, wall):
        nonlocal evaluated
        store.commit_chunk(chunk, recs, wall)
        evaluated += len(recs)
        if bar is not None:
            bar.update(len(recs))

    try:
        if not tasks:
            pass
        elif dask:
            _run_dask(spec, store.columns, tasks, dask, workers, commit)
        elif in_process:
            ev = Evaluator(spec)
            for c, lo, hi in tasks:
                commit(*_eval_rows(ev, store.columns, c, lo, hi))
        else:
            nproc = workers or os.cpu_count() or 1
            if _fork_ok() and len(tasks) > nproc:
                # Warm start: the driver evaluates the first chunk itself, which fills the
                # evaluator's caches (operator tables, memory fit, placements) for the
                # workloads of the sweep; the forked workers inherit them instead of each
                # rebuilding them.
                ev = _WORKER["ev"] = Evaluator(spec)
                c, lo, hi = tasks[0]
                commit(*_eval_rows(ev, store.columns, c, lo, hi))
                tasks = tasks[1:]
            try:
                _run_pool(spec, store.columns, tasks, nproc, commit)
            finally:
                _WORKER.pop("ev", None)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - t0
    counts = store.status_counts()
    summary = {
        "store": store.path, "spec_hash": store.manifest["spec_hash"], "mode": mode,
        "points": total, "stored": sum(counts.values()), "evaluated_now": evaluated,
        "wall_s": wall, "points_per_s": evaluated / wall if wall > 0 else math.nan,
        "status": counts, "complete": sum(counts.values()) == total,
        "interrupted": interrupted, "top_reasons": store.prune_reasons(8),
    }
    return summary


def _fork_ok() -> bool:
    return sys.platform.startswith("linux")


def _worker_main(conn, spec, columns):
    """A worker process: evaluate the chunks the driver sends over its own pipe until None.

    Each worker has a private pipe (no lock shared with other workers), so the driver can kill
    a busy worker on Ctrl-C without leaving a shared queue locked (multiprocessing.Pool can
    deadlock in terminate() that way)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the driver handles Ctrl-C
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})   # blocked over the fork
    ev = _WORKER.get("ev")
    if ev is None or ev.spec is not spec:
        ev = Evaluator(spec)       # spawned, or no warm evaluator to inherit from the driver
    while True:
        task = conn.recv()
        if task is None:
            break
        try:
            conn.send(("ok", _eval_rows(ev, columns, *task)))
        except Exception:  # noqa: BLE001  (reported to the driver, which stops the sweep)
            import traceback
            conn.send(("error", traceback.format_exc()))
            break
    conn.close()


def _run_pool(spec, columns, tasks, workers, commit):
    from multiprocessing.connection import wait
    ctx = mp.get_context("fork" if _fork_ok() else "spawn")
    procs, busy = [], {}
    todo = iter(tasks)
    try:
        # SIGINT is held while the workers fork: a Ctrl-C landing inside fork()'s at-fork
        # hooks would otherwise be swallowed (or raised in the child); it is delivered here
        # right after, at a safe point
        masked = hasattr(signal, "pthread_sigmask")
        if masked:
            old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            for _ in range(min(workers, len(tasks))):
                here, there = ctx.Pipe()
                p = ctx.Process(target=_worker_main, args=(there, spec, columns), daemon=True)
                p.start()
                there.close()
                procs.append((p, here))
        finally:
            if masked:
                signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        for p, conn in procs:
            t = next(todo, None)
            if t is not None:
                conn.send(t)
                busy[conn] = p
        while busy:
            for conn in wait(list(busy)):
                try:
                    kind, payload = conn.recv()
                except EOFError:
                    raise RuntimeError(f"a sweep worker (pid {busy[conn].pid}) died "
                                       f"(exit code {busy[conn].exitcode})") from None
                if kind == "error":
                    raise RuntimeError(f"a sweep worker failed:\n{payload}")
                commit(*payload)
                t = next(todo, None)
                if t is None:
                    conn.send(None)
                    del busy[conn]
                else:
                    conn.send(t)
        for p, _ in procs:
            p.join()
    except BaseException:
        # Ctrl-C or a failure: stop the workers now; committed chunks stay
        for p, _ in procs:
            if p.is_alive():
                p.kill()
        for p, _ in procs:
            p.join()
        raise
    finally:
        for _, conn in procs:
            conn.close()


def _run_dask(spec, columns, tasks, address, workers, commit):
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise SpecError("--dask needs dask.distributed: pip install 'chipletarch[dask]'") \
            from None
    cluster = None
    if address in ("local", "localcluster"):
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(address)
    futures = []
    try:
        spec_f = client.scatter(spec, broadcast=True)
        futures = [client.submit(_dask_eval_chunk, spec_f, columns, c, lo, hi, pure=False)
                   for c, lo, hi in tasks]
        for fut in as_completed(futures):
            chunk, recs, wall = fut.result()
            commit(chunk, recs, wall)
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _progress(total, initial, enabled, stream):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return _PlainProgress(total, initial, stream or sys.stderr)
    return tqdm(total=total, initial=initial, unit="pt", unit_scale=total >= 10_000,
                smoothing=0.1,
                dynamic_ncols=True, file=stream or sys.stderr, desc="sweep")


class _PlainProgress:
    """Progress lines (points, points/s, ETA) when tqdm is not installed."""

    def __init__(self, total, initial, stream):
        self.total, self.n, self.stream = total, initial, stream
        self.t0 = time.perf_counter()
        self.start = initial
        self.last = 0.0

    def update(self, k):
        self.n += k
        now = time.perf_counter()
        if now - self.last < 1.0 and self.n < self.total:
            return
        self.last = now
        rate = (self.n - self.start) / max(now - self.t0, 1e-9)
        eta = (self.total - self.n) / rate if rate > 0 else math.inf
        print(f"sweep: {self.n:,}/{self.total:,} points, {rate:,.0f} pt/s, ETA {eta:,.0f} s",
              file=self.stream, flush=True)

    def close(self):
        pass


__all__ = ["run_sweep"]
