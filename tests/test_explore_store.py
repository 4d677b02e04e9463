"""Results store and runner: resume after a kill, Ctrl-C, manifest checks, executors agree,
CLI (sweep / pareto / export)."""
from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from chipletarch import __version__
from chipletarch.cli import main
from chipletarch.errors import SpecError
from chipletarch.explore import Store, load_sweep, run_sweep, sweep_from_yaml
from chipletarch.explore.spec import sweeps_dir
from chipletarch.explore.store import code_fingerprint

SMALL = "split-study-small"


def table(path, with_chunk=False):
    """Every stored row, ordered by point (the chunk column only on request: runs with another
    chunk size number their chunks differently)."""
    with sqlite3.connect(path) as c:
        rows = c.execute("SELECT * FROM points ORDER BY idx").fetchall()
    return rows if with_chunk else [r[:1] + r[2:] for r in rows]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The small sweep run once, uninterrupted, in this process."""
    path = tmp_path_factory.mktemp("ref") / "ref.sqlite"
    s = run_sweep(load_sweep(SMALL), path, workers=0, chunk_size=8, progress=False)
    assert s["complete"] and s["stored"] == 96
    return table(path)


def test_reference_table_contents(reference):
    assert [r[0] for r in reference] == list(range(96))
    status = [r[1] for r in reference]
    assert status.count("ok") == 84 and status.count("pruned") == 12


def test_limit_then_resume_equals_uninterrupted(tmp_path, reference):
    spec = load_sweep(SMALL)
    p = tmp_path / "a.sqlite"
    s1 = run_sweep(spec, p, workers=0, chunk_size=8, limit=20, progress=False)
    assert not s1["complete"] and s1["stored"] == 24          # whole chunks: 3 x 8
    s2 = run_sweep(spec, p, workers=0, resume=True, progress=False)
    assert s2["complete"] and s2["evaluated_now"] == 72       # nothing recomputed
    assert table(p) == reference
    s3 = run_sweep(spec, p, workers=0, resume=True, progress=False)
    assert s3["evaluated_now"] == 0 and table(p) == reference


def test_kill_mid_sweep_then_resume_is_identical(tmp_path, reference):
    p = tmp_path / "k.sqlite"
    cmd = [sys.executable, "-m", "chipletarch", "sweep", SMALL, "-o", str(p), "--workers", "0",
           "--chunk-size", "8", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    committed = 0
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if p.exists():
            try:
                with sqlite3.connect(p, timeout=0.1) as c:
                    committed = c.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
            except sqlite3.OperationalError:
                committed = 0
            if committed >= 1:
                break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(p) as c:
        chunks = c.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        points = c.execute("SELECT COUNT(*) FROM points").fetchone()[0]
    assert 1 <= chunks < 12, "the kill should land mid-sweep"
    assert points == chunks * 8                               # whole chunks only
    s = run_sweep(load_sweep(SMALL), p, workers=0, resume=True, progress=False)
    assert s["evaluated_now"] == 96 - points
    assert table(p) == reference


def test_ctrl_c_stops_cleanly_and_resume_finishes(tmp_path, reference):
    p = tmp_path / "c.sqlite"
    cmd = [sys.executable, "-m", "chipletarch", "sweep", SMALL, "-o", str(p), "--workers", "2",
           "--chunk-size", "4", "--no-progress"]
    # own process group: if the sweep hangs, killing the group also ends its worker processes,
    # which hold the output pipes open (killing only the parent would leave communicate() blocked)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if p.exists():
            try:
                with sqlite3.connect(p, timeout=0.1) as c:
                    if c.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] >= 1:
                        break
            except sqlite3.OperationalError:
                pass
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
        pytest.fail(f"sweep did not stop within 120 s of SIGINT; stderr: {err[-2000:]}")
    with sqlite3.connect(p) as c:
        chunks = c.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        points = c.execute("SELECT COUNT(*) FROM points").fetchone()[0]
    assert points == chunks * 4
    if proc.returncode == 130:                 # interrupted before the end (the usual case)
        assert "--resume" in err
    else:                                      # it finished first: still consistent
        assert proc.returncode == 0 and points == 96
    run_sweep(load_sweep(SMALL), p, workers=0, resume=True, progress=False)
    assert table(p) == reference


def test_worker_processes_and_dask_give_the_same_table(tmp_path, reference):
    spec = load_sweep(SMALL)
    p = tmp_path / "w.sqlite"
    run_sweep(spec, p, workers=2, chunk_size=8, progress=False)
    assert table(p) == reference
    distributed = pytest.importorskip("dask.distributed")
    q = tmp_path / "d.sqlite"
    s = run_sweep(spec, q, dask="local", workers=2, chunk_size=8, progress=False)
    assert s["mode"] == "dask" and s["complete"]
    assert table(q) == reference
    # a running scheduler reached by address (what --dask tcp://host:8786 does)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        r = tmp_path / "r.sqlite"
        s = run_sweep(spec, r, dask=cluster.scheduler_address, chunk_size=16, progress=False)
        assert cluster.scheduler_address.startswith("tcp://") and s["complete"]
    assert table(r) == reference


def test_manifest_mismatch_is_refused(tmp_path):
    spec = load_sweep(SMALL)
    p = tmp_path / "m.sqlite"
    run_sweep(spec, p, workers=0, chunk_size=32, limit=1, progress=False)
    text = (sweeps_dir() / "split-study-small.yaml").read_text()
    other = sweep_from_yaml(text.replace("<= 10000", "<= 9000"), "other.yaml")
    with pytest.raises(SpecError, match="another spec"):
        run_sweep(other, p, workers=0, resume=True, progress=False)
    with pytest.raises(SpecError, match="exists: pass --resume"):
        run_sweep(spec, p, workers=0, progress=False)
    with sqlite3.connect(p) as c:
        c.execute("UPDATE manifest SET value = '0.0.1' WHERE key = 'version'")
    with pytest.raises(SpecError, match=f"chipletarch 0.0.1, this is {__version__}"):
        run_sweep(spec, p, workers=0, resume=True, progress=False)
    with sqlite3.connect(p) as c:
        c.execute(f"UPDATE manifest SET value = '{__version__}' WHERE key = 'version'")
        c.execute("UPDATE manifest SET value = 'feedface' WHERE key = 'code_fingerprint'")
    with pytest.raises(SpecError, match="different build of chipletarch's model code"):
        run_sweep(spec, p, workers=0, resume=True, progress=False)
    # the user may accept it explicitly; the manifest keeps both fingerprints
    s = run_sweep(spec, p, workers=0, resume=True, progress=False, allow_code_change=True)
    assert s["complete"]
    with Store.open(p, spec) as st:
        assert st.manifest["code_fingerprint"] == "feedface"
        assert st.manifest["code_fingerprints_added"] == code_fingerprint()
    # --overwrite starts again
    s = run_sweep(spec, p, workers=0, overwrite=True, chunk_size=32, progress=False)
    assert s["complete"]
    with Store.open(p, spec) as st:
        assert st.manifest["spec_hash"] == spec.spec_hash()
        assert st.manifest["version"] == __version__


def test_points_are_never_stored_twice(tmp_path):
    spec = load_sweep(SMALL)
    p = tmp_path / "u.sqlite"
    run_sweep(spec, p, workers=0, chunk_size=48, limit=1, progress=False)
    with Store.open(p, spec) as st:
        with sqlite3.connect(p) as c:
            rows = c.execute("SELECT * FROM points WHERE chunk = 0 ORDER BY idx").fetchall()
        with pytest.raises(sqlite3.IntegrityError):
            st.commit_chunk(0, rows)
        assert st.count() == 48


def test_cli_sweep_pareto_export(tmp_path, capsys):
    p = tmp_path / "cli.sqlite"
    assert main(["sweep", SMALL, "-o", str(p), "--workers", "0", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "96 of 96 points stored" in out and "ok 84, pruned 12" in out
    assert "constraint cost_cap" in out
    png, fcsv = tmp_path / "f.png", tmp_path / "f.csv"
    assert main(["pareto", str(p), "--x", "tokens_per_s_per_user", "--y",
                 "tokens_per_s_per_chip", "--maximize", "tokens_per_s_per_user", "--maximize",
                 "tokens_per_s_per_chip", "--png", str(png), "--csv", str(fcsv)]) == 0
    out = capsys.readouterr().out
    assert "non-dominated of 84 ok points" in out
    assert png.stat().st_size > 10_000
    with open(fcsv) as fh:
        front = list(csv.DictReader(fh))
    assert front
    # the frontier rows are not dominated by any ok point
    st = Store.open(p)
    data = st.read(["tokens_per_s_per_user", "tokens_per_s_per_chip"], where="status = 'ok'")
    for row in front:
        u, c = float(row["tokens_per_s_per_user"]), float(row["tokens_per_s_per_chip"])
        dom = (data["tokens_per_s_per_user"] >= u) & (data["tokens_per_s_per_chip"] >= c) & (
            (data["tokens_per_s_per_user"] > u) | (data["tokens_per_s_per_chip"] > c))
        assert not dom.any()
    # three objectives, with a filter
    assert main(["pareto", str(p), "--x", "usd_per_mtoken", "--y", "ttft_s", "--z",
                 "j_per_token", "--where", "precision = 'fp8'"]) == 0
    assert "min usd_per_mtoken, min ttft_s, min j_per_token" in capsys.readouterr().out
    c_out, pq_out = tmp_path / "all.csv", tmp_path / "all.parquet"
    assert main(["export", str(p), "--csv", str(c_out)]) == 0
    with open(c_out) as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 96 and rows[0]["status"] in ("ok", "pruned")
    pq = pytest.importorskip("pyarrow.parquet")
    assert main(["export", str(p), "--parquet", str(pq_out), "--status", "ok"]) == 0
    t = pq.read_table(pq_out)
    assert t.num_rows == 84
    assert t.schema.metadata[b"spec_hash"].decode() == st.manifest["spec_hash"]
    got = t.column("tpot_s").to_pylist()
    want = st.read(["tpot_s"], where="status = 'ok'")["tpot_s"].tolist()
    assert got == want
    st.close()


def test_cli_errors(tmp_path, capsys):
    assert main(["sweep", "no-such-sweep", "-o", str(tmp_path / "x.sqlite")]) == 1
    assert "no sweep file or bundled sweep" in capsys.readouterr().err
    assert main(["pareto", str(tmp_path / "none.sqlite"), "--x", "a", "--y", "b"]) == 1
    assert "no such results store" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "none.sqlite")]) == 1
