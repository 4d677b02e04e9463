"""SQLite results store of a sweep: one row per design point, committed per chunk, resumable.

Layout (one file, plain SQLite, readable with any SQLite tool):

* ``manifest(key, value)``: ``spec_hash`` (sha256 of the spec's canonical form, base
  architecture, model configs and traffic profiles included), ``version`` (chipletarch's),
  ``code_fingerprint`` (sha256 of the package's Python and Cython sources),
  ``spec_name``, ``n_points``, ``chunk_size``, ``columns`` (JSON), ``spec`` (canonical JSON),
  ``created``;
* ``chunks(chunk, n, wall_s, finished)``: one row per committed chunk;
* ``points(idx, chunk, status, reason, <inputs>, <metrics>)``: ``idx`` is the point number
  (primary key, so a point can never be stored twice); ``status`` is ``ok``, ``pruned`` (a
  constraint, memory fit, mapping or invalid architecture; ``reason`` says which and why),
  ``infeasible`` (the engine refused) or ``error`` (a bug, with its message).

A chunk's point rows and its ``chunks`` row are written in one transaction, so after a crash or
Ctrl-C a chunk is either fully stored or absent; ``--resume`` evaluates exactly the absent
chunks. Opening a store whose manifest has another spec hash, version or code fingerprint is
refused: rows from a different spec or model code are never mixed.
"""
from __future__ import annotations

import csv
import datetime
import json
import math
import re
import sqlite3
from itertools import chain
from operator import itemgetter
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import SpecError
from .evaluate import METRICS, TEXT_METRICS

INPUT_WORKLOAD = ("model", "precision", "tp", "pp", "ep", "dp", "attention_dp",
                  "devices_per_package", "batch", "input_len", "output_len")


def code_fingerprint() -> str:
    """sha256 over chipletarch's model code: every .py of the package and the Cython sources
    (the version number alone does not move while the engine is being calibrated). Bundled
    architectures and models a sweep uses are in the spec hash already."""
    import hashlib
    pkg = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    files = sorted(p for p in pkg.rglob("*.py") if "__pycache__" not in p.parts)
    core = pkg.parent / "_core"
    if core.is_dir():
        files += sorted(core.glob("*.pyx")) + sorted(core.glob("*.pxd"))
    for f in files:
        h.update(str(f.relative_to(f.parents[1] if f.suffix != ".py" else pkg.parent)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def column_name(text: str) -> str:
    """A derived field path as an SQL-friendly column name: dies[0].area_mm2 -> dies_0_area_mm2."""
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_]", "_", text)).strip("_")


def store_columns(spec) -> dict:
    """Ordered {column: SQL type} of the points table for `spec`.

    Inputs: every axis (by name), the resolved workload keys, derived fields (by column_name of
    their path); then the metrics. A serving spec (`serving:` block) has the serving inputs
    (explore.serving.serving_input_columns) and metrics (SERVING_METRICS) instead; a spec
    without one has exactly the columns it always had."""
    from .spec import format_path
    serving = getattr(spec, "serving", None) is not None
    cols = {"idx": "INTEGER PRIMARY KEY", "chunk": "INTEGER NOT NULL",
            "status": "TEXT NOT NULL", "reason": "TEXT"}
    for a in spec.axes:
        cols[a.name] = ""
    if serving:
        from .serving import serving_input_columns
        inputs = serving_input_columns()
    else:
        inputs = INPUT_WORKLOAD
    for k in inputs:
        cols.setdefault(k, "")
    for parts, _ in spec.derived:
        c = column_name(format_path(parts))
        if c in cols:
            raise SpecError(f"derived field {format_path(parts)} maps to column '{c}', which "
                            f"is already an axis or workload column; rename the axis")
        cols[c] = "REAL"
    if serving:
        # serving mode (a `serving:` block): evaluate_config's figures (explore/serving.py)
        from .serving import SERVING_INT_METRICS, SERVING_METRICS, SERVING_TEXT_METRICS
        for m in SERVING_METRICS:
            cols.setdefault(m, "INTEGER" if m in SERVING_INT_METRICS else "REAL")
        for m in SERVING_TEXT_METRICS:
            cols.setdefault(m, "TEXT")
        return cols
    for m in METRICS:
        cols.setdefault(m, "REAL")
    for m in TEXT_METRICS:
        cols.setdefault(m, "TEXT")
    return cols


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Store:
    """An open results store. Use `Store.create(path, spec)` or `Store.open(path, spec)`."""

    def __init__(self, path, conn: sqlite3.Connection, manifest: dict):
        self.path = str(path)
        self.conn = conn
        self.manifest = manifest
        self.columns = list(json.loads(manifest["columns"]))
        self._insert = (f"INSERT INTO points ({', '.join(map(_q, self.columns))}) VALUES "
                        f"({', '.join('?' * len(self.columns))})")

    # ------------------------------------------------------------------ opening
    @classmethod
    def create(cls, path, spec, chunk_size: int, overwrite: bool = False) -> "Store":
        p = Path(path)
        if p.exists():
            if not overwrite:
                raise SpecError(f"{p} exists: pass --resume to finish that sweep, or "
                                f"--overwrite to start again")
            p.unlink()
        conn = _connect(p)
        cols = store_columns(spec)
        manifest = {
            "spec_hash": spec.spec_hash(), "version": __version__,
            "code_fingerprint": code_fingerprint(), "spec_name": spec.name,
            "n_points": str(len(spec)), "chunk_size": str(int(chunk_size)),
            "columns": json.dumps(list(cols)),
            "spec": json.dumps(spec.canonical(), sort_keys=True, default=str),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        with conn:
            conn.execute("CREATE TABLE manifest (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.execute("CREATE TABLE chunks (chunk INTEGER PRIMARY KEY, n INTEGER NOT NULL, "
                         "wall_s REAL, finished TEXT)")
            conn.execute("CREATE TABLE points (" + ", ".join(
                f"{_q(c)} {t}".strip() for c, t in cols.items()) + ")")
            conn.execute("CREATE INDEX points_chunk ON points(chunk)")
            conn.executemany("INSERT INTO manifest VALUES (?, ?)", list(manifest.items()))
        return cls(p, conn, manifest)

    @classmethod
    def open(cls, path, spec=None, *, readonly: bool = False,
             allow_code_change: bool = False) -> "Store":
        """Open an existing store; with `spec`, refuse unless it is the spec (and version and
        model code) that wrote it. `allow_code_change` accepts other model code (the user
        knows the change does not move results); the fingerprints that wrote rows are kept
        in the manifest (`code_fingerprint` plus `code_fingerprints_added`)."""
        p = Path(path)
        if not p.is_file():
            raise SpecError(f"{p}: no such results store")
        conn = _connect(p, readonly=readonly)
        try:
            manifest = dict(conn.execute("SELECT key, value FROM manifest").fetchall())
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise SpecError(f"{p}: not a chipletarch results store ({exc})") from None
        if spec is not None:
            h = spec.spec_hash()
            if manifest.get("spec_hash") != h:
                conn.close()
                raise SpecError(
                    f"{p}: written by another spec (hash {manifest.get('spec_hash', '?')[:12]}, "
                    f"sweep '{manifest.get('spec_name')}'); this spec hashes to {h[:12]}. "
                    f"Refusing to mix rows: write to a new store or pass --overwrite")
            if manifest.get("version") != __version__:
                conn.close()
                raise SpecError(
                    f"{p}: written by chipletarch {manifest.get('version')}, this is "
                    f"{__version__}; results of different model versions are not mixed. "
                    f"Write to a new store or pass --overwrite")
            fp = code_fingerprint()
            added = manifest.get("code_fingerprints_added", "")
            if manifest.get("code_fingerprint") != fp and fp not in added and allow_code_change:
                added = (added + " " + fp).strip()
                with conn:
                    conn.execute("INSERT OR REPLACE INTO manifest VALUES (?, ?)",
                                 ("code_fingerprints_added", added))
                manifest["code_fingerprints_added"] = added
            if manifest.get("code_fingerprint") != fp and fp not in added:
                conn.close()
                raise SpecError(
                    f"{p}: written by a different build of chipletarch's model code "
                    f"(fingerprint {manifest.get('code_fingerprint', '?')[:12]}, now {fp[:12]}): "
                    f"rows computed by different engine, energy or cost code are not mixed. "
                    f"Write to a new store, pass --overwrite, or --allow-code-change if the "
                    f"change cannot move results")
        return cls(p, conn, manifest)

    # ------------------------------------------------------------------ state
    @property
    def n_points(self) -> int:
        return int(self.manifest["n_points"])

    @property
    def chunk_size(self) -> int:
        return int(self.manifest["chunk_size"])

    @property
    def n_chunks(self) -> int:
        return -(-self.n_points // self.chunk_size)

    def chunk_range(self, c: int) -> tuple:
        return c * self.chunk_size, min((c + 1) * self.chunk_size, self.n_points)

    def done_chunks(self) -> set:
        return {r[0] for r in self.conn.execute("SELECT chunk FROM chunks")}

    def count(self, status: str | None = None) -> int:
        if status is None:
            return self.conn.execute("SELECT COUNT(*) FROM points").fetchone()[0]
        return self.conn.execute("SELECT COUNT(*) FROM points WHERE status = ?",
                                 (status,)).fetchone()[0]

    def status_counts(self) -> dict:
        return dict(self.conn.execute("SELECT status, COUNT(*) FROM points GROUP BY status"))

    def prune_reasons(self, limit: int = 10) -> list:
        """(reason, count) of pruned/infeasible/error points, most frequent first."""
        return self.conn.execute(
            "SELECT reason, COUNT(*) AS n FROM points WHERE status != 'ok' GROUP BY reason "
            "ORDER BY n DESC LIMIT ?", (limit,)).fetchall()

    # ------------------------------------------------------------------ writing
    def commit_chunk(self, chunk: int, rows: list, wall_s: float = 0.0) -> None:
        """Store one chunk's rows (`records_to_rows` output, or record dicts) and mark it done,
        atomically."""
        lo, hi = self.chunk_range(chunk)
        if len(rows) != hi - lo:
            raise SpecError(f"chunk {chunk}: {len(rows)} rows for {hi - lo} points")
        if rows and isinstance(rows[0], dict):
            rows = records_to_rows(rows, self.columns, chunk)
        if any(r[0] != i for r, i in zip(rows, range(lo, hi))):
            raise SpecError(f"chunk {chunk}: rows are not points {lo}..{hi - 1} in order")
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        with self.conn:
            self.conn.executemany(self._insert, rows)
            self.conn.execute("INSERT INTO chunks VALUES (?, ?, ?, ?)",
                              (chunk, len(rows), float(wall_s), now))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ reading / export
    def read(self, columns=None, where: str | None = None, params=()) -> dict:
        """{column: numpy array} of the points table (ordered by idx). `where` is an SQL
        condition with ? placeholders and `params` (e.g. "status = ?", ("ok",))."""
        cols = list(columns) if columns else self.columns
        unknown = [c for c in cols if c not in self.columns]
        if unknown:
            raise SpecError(f"{self.path}: no column(s) {', '.join(unknown)}; columns: "
                            f"{', '.join(self.columns)}")
        sql = f"SELECT {', '.join(map(_q, cols))} FROM points"
        if where:
            sql += f" WHERE {where}"
        sql += " ORDER BY idx"
        rows = self.conn.execute(sql, params).fetchall()
        out = {}
        for j, c in enumerate(cols):
            vals = [r[j] for r in rows]
            if vals and all(isinstance(v, (int, float)) or v is None for v in vals) and \
                    any(v is not None for v in vals):
                if all(isinstance(v, int) or v is None for v in vals) and None not in vals:
                    out[c] = np.array(vals, dtype=np.int64)
                else:
                    out[c] = np.array([math.nan if v is None else v for v in vals],
                                      dtype=np.float64)
            else:
                out[c] = np.array(vals, dtype=object)
        return out

    def export_csv(self, path, status: str | None = None) -> int:
        where, params = ("status = ?", (status,)) if status else (None, ())
        sql = f"SELECT {', '.join(map(_q, self.columns))} FROM points"
        if where:
            sql += f" WHERE {where}"
        n = 0
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(self.columns)
            for row in self.conn.execute(sql + " ORDER BY idx", params):
                w.writerow(["" if v is None else v for v in row])
                n += 1
        return n

    def export_parquet(self, path, status: str | None = None) -> int:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise SpecError("Parquet export needs pyarrow: pip install 'chipletarch[parquet]'") \
                from None
        where, params = ("status = ?", (status,)) if status else (None, ())
        data = self.read(where=where, params=params)
        arrays = {}
        for c, v in data.items():
            if v.dtype == object:
                arrays[c] = pa.array([None if x is None else str(x) if not isinstance(
                    x, (int, float)) else x for x in v.tolist()],
                    type=_arrow_type(v, pa))
            else:
                arrays[c] = pa.array(v)
        table = pa.table(arrays)
        table = table.replace_schema_metadata({k: self.manifest[k] for k in (
            "spec_hash", "version", "spec_name", "n_points")})
        pq.write_table(table, path)
        return table.num_rows


def _arrow_type(v, pa):
    kinds = {type(x) for x in v.tolist() if x is not None}
    if kinds <= {int}:
        return pa.int64()
    if kinds <= {int, float}:
        return pa.float64()
    return pa.string()


def records_to_rows(records, columns, chunk) -> list:
    """Record dicts -> tuples in the store's column order with SQLite-ready values (done in the
    worker processes, so the single writer only inserts). Records made by the Evaluator carry
    every column (None where empty), so rows come out of one C-level itemgetter each."""
    for rec in records:
        rec["chunk"] = chunk
    try:
        rows = list(map(itemgetter(*columns), records))
    except KeyError:
        rows = [tuple(map(rec.get, columns)) for rec in records]
    # values are plain Python (or numpy float64, a float subclass sqlite3 binds) almost always;
    # anything else (numpy ints, bools) is converted
    if len(columns) == 1:
        rows = [(r,) for r in rows]
    if not set(map(type, chain.from_iterable(rows))) <= _PLAIN:
        rows = [tuple(_sql_value(v) for v in row) for row in rows]
    return rows


_PLAIN = frozenset((type(None), str, int, float, np.float64))


def _sql_value(v):
    if v is None or isinstance(v, (str, bytes)):
        return v
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return None if math.isnan(f) else f      # SQLite stores NaN as NULL anyway
    return str(v)


def _connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    else:
        conn = sqlite3.connect(str(path))
        # WAL: readers (pareto, export) can look at a store while a sweep writes it; a commit
        # per chunk is durable without fsyncing every page twice
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    return conn


__all__ = ["Store", "store_columns", "column_name", "records_to_rows", "code_fingerprint"]
