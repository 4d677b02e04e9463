"""Exception types shared by every layer.

Every error a user can cause by bad input derives from `ChipletarchError`; the CLI turns those
into a message on stderr and exit code 1 (usage errors exit 2, from argparse). Anything else is a
bug in chipletarch and keeps its traceback.
"""
from __future__ import annotations


class ChipletarchError(Exception):
    """Base class of all user-facing errors (bad input, impossible designs)."""


class SpecError(ChipletarchError, ValueError):
    """An architecture, model or sweep description is invalid (file, line, field, expectation)."""


class InfeasibleError(ChipletarchError):
    """A design point cannot run: the model does not fit memory, a split does not divide, ..."""
