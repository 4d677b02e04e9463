"""One unit convention for every spec number: the unit is a suffix of the field name, values are plain.

`PosNum`, `NonNeg`, `PosInt`, `NonNegInt` are the constrained number types of the schema and the
catalog. A string is refused with a message naming the unit the key expects ("3.35 TB/s" for
`bandwidth_gb_s` -> "expected a plain number in decimal GB/s"), except the bare scientific notation
that PyYAML (YAML 1.1) leaves as a string (`1e9`).
"""
from __future__ import annotations

import re
from typing import Annotated, Any

import annotated_types
from pydantic import BeforeValidator, ValidationInfo
from pydantic_core import PydanticCustomError

__all__ = ["unit_of", "PosNum", "NonNeg", "PosInt", "NonNegInt"]

_UNIT_SUFFIXES = [
    ("_pj_per_bit", "pJ per bit"), ("_per_cm2", "per cm^2"), ("_mm2", "mm^2"), ("_ghz", "GHz"),
    ("_gb_s", "decimal GB/s"), ("_gb", "decimal GB"), ("_kib", "KiB"), ("_mib", "MiB"),
    ("_ns", "ns"), ("_us", "microseconds"), ("_w", "W"), ("_usd", "US$"), ("_per_cycle", "per clock cycle"),
    ("_nm", "nm"), ("_mm", "mm"),
]


def unit_of(field_name: str | None) -> str:
    """Human unit of a field from its name suffix ('bandwidth_gb_s' -> 'decimal GB/s ...')."""
    for suffix, unit in _UNIT_SUFFIXES:
        if field_name and field_name.endswith(suffix):
            return unit
    return "a plain number"


_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)$")


def _plain_number(value: Any, info: ValidationInfo) -> Any:
    # PyYAML follows YAML 1.1, where `1e9` (no dot) is a string, not a float: accept exactly that
    # scientific-notation shape. Anything else in a string ("3.35 TB/s", "256 KB") carries a unit or
    # is ambiguous, so it is refused, as is bool (an int to Python, a typo here).
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return float(value)
    if isinstance(value, (str, bool)):
        unit = unit_of(info.field_name)
        raise PydanticCustomError(
            "plain_number",
            "expected a plain number in {unit} (the unit is fixed by the key name), got {value}",
            {"unit": unit, "value": repr(value)},
        )
    return value


_Plain = BeforeValidator(_plain_number)
# constraint before the validator, so the JSON Schema gets exclusiveMinimum/minimum
PosNum = Annotated[float, annotated_types.Gt(0), _Plain]
NonNeg = Annotated[float, annotated_types.Ge(0), _Plain]
PosInt = Annotated[int, annotated_types.Gt(0), _Plain]
NonNegInt = Annotated[int, annotated_types.Ge(0), _Plain]
