"""Where the bundled data lives: reference architectures and workloads (models, traffic, sweeps).

In a source checkout (or an editable install) the folders are the top-level `architectures/` and
`workloads/`; after a plain `pip install .` setup.py has copied them into the package as
`chipletarch._architectures` and `chipletarch._workloads`. Everything that loads a bundled file
by name asks here, so the two layouts never leak into the rest of the code.
"""
from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _first_existing(*candidates: Path) -> Path:
    for c in candidates:
        if c.is_dir():
            return c
    raise FileNotFoundError(
        "bundled data folder not found; looked in: " + ", ".join(str(c) for c in candidates)
    )


def architectures_dir() -> Path:
    """Folder holding the reference architecture YAML files."""
    return _first_existing(_PKG / "_architectures", _PKG.parent / "architectures")


def workloads_dir() -> Path:
    """Folder holding workloads: models/, traffic/, sweeps/."""
    return _first_existing(_PKG / "_workloads", _PKG.parent / "workloads")
