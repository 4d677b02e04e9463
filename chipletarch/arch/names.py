"""Instance names: `count` expansion (xcd x8 -> xcd0..xcd7) and reference patterns (`xcd[0..3]`).

A die or memory definition with `name: xcd, count: 8` has instances xcd0 ... xcd7; with count 1 its
single instance is just `xcd`. Wherever the YAML refers to instances (link endpoints, memory
`attach`, port `attach`, topology `dies`) it may write an instance name (`xcd3`), a definition
name (`xcd` = all its instances, in order), a range `xcd[0..3]` (inclusive) or a list `xcd[0,2,5]`.
"""
from __future__ import annotations

import re
from typing import Iterable, Sequence

_RANGE = re.compile(r"^(?P<base>[A-Za-z_][\w\-]*?)\[(?P<body>[0-9.,\s]+)\]$")


def instance_names(name: str, count: int) -> list[str]:
    """Instance names of a definition: [name] for count 1, else name0..name{count-1}."""
    return [name] if count == 1 else [f"{name}{i}" for i in range(count)]


def expand_pattern(pattern: str) -> list[str]:
    """`x[0..3]` -> x0..x3, `x[1,4]` -> x1, x4; other strings are returned as a one-element list."""
    m = _RANGE.match(pattern.strip())
    if not m:
        return [pattern.strip()]
    base, out = m.group("base"), []
    for part in m.group("body").split(","):
        part = part.strip()
        if ".." in part:
            lo, hi = part.split("..", 1)
            lo_i, hi_i = int(lo), int(hi)
            if hi_i < lo_i:
                raise ValueError(f"empty range '{pattern}' (upper bound below lower bound)")
            out.extend(f"{base}{i}" for i in range(lo_i, hi_i + 1))
        elif part:
            out.append(f"{base}{int(part)}")
    return out


def resolve(refs: str | Sequence[str], groups: dict[str, list[str]], instances: Iterable[str]) -> list[str]:
    """Turn references into instance names. Raises KeyError(ref) for a reference to nothing.

    `groups` maps a definition name to its instances; `instances` is the set of all instance names.
    """
    known = set(instances)
    if isinstance(refs, str):
        refs = [refs]
    out: list[str] = []
    for ref in refs:
        for name in expand_pattern(str(ref)):
            if name in groups and name not in known:
                out.extend(groups[name])
            elif name in known:
                out.append(name)
            else:
                raise KeyError(name)
    return out
