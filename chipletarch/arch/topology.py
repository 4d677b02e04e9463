"""Topology helpers for Python users: build link lists (or `Topology` entries) from die instance names.

`ring(["c0", "c1", "c2", "c3"], kind="ucie-advanced", bandwidth_gb_s=256)` returns explicit `Link`
objects; pass `as_topology=True` to get the compact `Topology` entry that a YAML `topology:` list
holds (it expands to the same links inside `Architecture.all_links()`).
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from .schema import Link, LinkParams, Topology

__all__ = ["all_to_all", "ring", "mesh", "star"]


def _build(kind: str, dies: Sequence[str], link: dict[str, Any], as_topology: bool,
           rows: Optional[int] = None, hub: Optional[str] = None):
    topo = Topology(kind=kind, dies=list(dies), rows=rows, hub=hub, link=LinkParams(**link))
    if as_topology:
        return topo
    try:
        pairs = topo.pairs(list(dies), hub)
    except ValueError as exc:
        from ..errors import SpecError
        raise SpecError(str(exc)) from None
    return [Link(**topo.link.model_dump(), endpoints=[a, b]) for a, b in pairs]


def all_to_all(dies: Sequence[str], *, as_topology: bool = False, **link: Any):
    """A link between every pair of `dies`."""
    return _build("all-to-all", dies, link, as_topology)


def ring(dies: Sequence[str], *, as_topology: bool = False, **link: Any):
    """Links d0-d1, d1-d2, ..., d(n-1)-d0 (a single link for two dies)."""
    return _build("ring", dies, link, as_topology)


def mesh(dies: Sequence[str], rows: int, *, as_topology: bool = False, **link: Any):
    """2-D mesh of `dies` laid out row-major in `rows` rows (cols = len(dies) / rows)."""
    return _build("mesh", dies, link, as_topology, rows=rows)


def star(hub: str, dies: Sequence[str], *, as_topology: bool = False, **link: Any):
    """A link from `hub` (e.g. an I/O die) to each of `dies`."""
    return _build("star", dies, link, as_topology, hub=hub)
