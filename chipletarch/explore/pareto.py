"""Pareto frontiers: non-dominated filters (k-dimensional; O(n log n) in 2-D) and the plot.

Convention: every objective is turned into "smaller is better" (maximised columns are negated);
point a dominates b when a <= b in every objective and a < b in at least one. Identical points do
not dominate each other, so duplicates on the frontier are all kept. Rows with a NaN in any
objective are never on the frontier (a missing metric is not a good one).
"""
from __future__ import annotations

import numpy as np

from ..errors import SpecError


def _as_min(points, maximize) -> np.ndarray:
    x = np.asarray(points, dtype=np.float64)
    if x.ndim != 2:
        raise SpecError(f"pareto: expected an [n, k] array of objectives, got shape {x.shape}")
    if maximize is None:
        return x
    mx = np.asarray(maximize, dtype=bool)
    if mx.shape != (x.shape[1],):
        raise SpecError(f"pareto: maximize needs one flag per objective ({x.shape[1]})")
    return np.where(mx[None, :], -x, x)


def pareto_mask(points, maximize=None) -> np.ndarray:
    """Boolean mask of the non-dominated rows of `points` ([n, k]); `maximize` = one flag per
    column (default: minimise all). 2-D uses the sort-and-sweep O(n log n) path."""
    x = _as_min(points, maximize)
    n, k = x.shape
    ok = ~np.isnan(x).any(axis=1)
    mask = np.zeros(n, dtype=bool)
    if not ok.any():
        return mask
    idx = np.flatnonzero(ok)
    xs = x[idx]
    if k == 1:
        mask[idx[xs[:, 0] == xs[:, 0].min()]] = True
    elif k == 2:
        mask[idx[_front_2d(xs)]] = True
    else:
        mask[idx[_front_kd(xs)]] = True
    return mask


def _front_2d(x) -> np.ndarray:
    """Sort by (x0, x1); within a run of equal x0 only the smallest x1 can survive, and it does
    when it is strictly below the best x1 of every smaller x0."""
    order = np.lexsort((x[:, 1], x[:, 0]))
    a, b = x[order, 0], x[order, 1]
    new_group = np.empty(len(a), dtype=bool)
    new_group[0] = True
    new_group[1:] = a[1:] != a[:-1]
    gid = np.cumsum(new_group) - 1
    gmin = b[new_group]                       # first of each group = its smallest x1
    prev = np.empty(len(gmin))
    prev[0] = np.inf
    prev[1:] = np.minimum.accumulate(gmin)[:-1]
    keep = (b == gmin[gid]) & (gmin[gid] < prev[gid])
    out = np.zeros(len(a), dtype=bool)
    out[order[keep]] = True
    return out


def _front_kd(x) -> np.ndarray:
    """Lexicographic order guarantees a dominator comes before what it dominates; each point is
    then compared (vectorised) with the current frontier only: O(n f)."""
    order = np.lexsort(x.T[::-1])
    front = np.empty((0, x.shape[1]))
    keep_idx = []
    for i in order:
        p = x[i]
        if len(front):
            le = (front <= p).all(axis=1)
            lt = (front < p).any(axis=1)
            if (le & lt).any():
                continue
        front = np.vstack([front, p])
        keep_idx.append(i)
    out = np.zeros(len(x), dtype=bool)
    out[keep_idx] = True
    return out


def pareto_brute(points, maximize=None) -> np.ndarray:
    """O(n^2 k) reference filter (tests)."""
    x = _as_min(points, maximize)
    n = len(x)
    ok = ~np.isnan(x).any(axis=1)
    out = np.zeros(n, dtype=bool)
    for i in range(n):
        if not ok[i]:
            continue
        dominated = False
        for j in range(n):
            if j != i and ok[j] and (x[j] <= x[i]).all() and (x[j] < x[i]).any():
                dominated = True
                break
        out[i] = not dominated
    return out


def frontier(data: dict, objectives: list, maximize: list) -> np.ndarray:
    """Indices (into the columns of `data`) of the frontier rows, sorted by the first objective."""
    pts = np.stack([np.asarray(data[c], dtype=np.float64) for c in objectives], axis=1)
    mask = pareto_mask(pts, maximize)
    idx = np.flatnonzero(mask)
    return idx[np.argsort(pts[idx, 0], kind="stable")]


def plot_frontier(data: dict, x: str, y: str, maximize: list, front_idx, path,
                  title: str = "") -> None:
    """Scatter of every ok point in (x, y) with the frontier highlighted, saved to `path`."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 5))
    xs = np.asarray(data[x], dtype=np.float64)
    ys = np.asarray(data[y], dtype=np.float64)
    ax.scatter(xs, ys, s=4, c="0.7", label=f"{len(xs):,} points", rasterized=True)
    fx, fy = xs[front_idx], ys[front_idx]
    ax.plot(fx, fy, "-o", color="C3", ms=4, lw=1.2, label=f"frontier ({len(front_idx)})")
    ax.set_xlabel(f"{x} ({'max' if maximize[0] else 'min'})")
    ax.set_ylabel(f"{y} ({'max' if maximize[1] else 'min'})")
    for arr, setter in ((xs, ax.set_xscale), (ys, ax.set_yscale)):
        fin = arr[np.isfinite(arr) & (arr > 0)]
        if len(fin) and fin.max() / fin.min() > 100:
            setter("log")
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


__all__ = ["pareto_mask", "pareto_brute", "frontier", "plot_frontier"]
