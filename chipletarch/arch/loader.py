"""YAML loader for architectures, with errors that name file, line, field path and the fix.

`load_architecture(name_or_path)` reads a bundled design by name (`h100-sxm`) or any YAML file;
`architecture_from_yaml(text, filename)` parses text. Every problem becomes one line

    h100.yaml:12: dies[0].area_mm: unknown key 'area_mm' — did you mean 'area_mm2'?

and all lines of one file are raised together as `chipletarch.errors.SpecError`. Line numbers come
from the YAML node tree (`yaml.compose`): pydantic's error location is walked down the nodes.
Duplicate keys, which PyYAML silently collapses, are errors too.
"""
from __future__ import annotations

import difflib
import types
from pathlib import Path
from typing import Annotated, Any, Optional, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from .._paths import architectures_dir
from ..errors import SpecError
from .schema import _UNION_TAGS, Architecture, SemanticErrors, _clean_msg, format_error_path

__all__ = ["load_architecture", "list_architectures", "architecture_from_yaml", "architecture_path"]


def list_architectures() -> list[str]:
    """Names of the bundled reference architectures (file stems in the architectures folder)."""
    return sorted(p.stem for p in architectures_dir().glob("*.yaml"))


def architecture_path(name_or_path: str | Path) -> Path:
    """File for a bundled name or a path; SpecError with suggestions if neither exists."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    bundled = architectures_dir() / f"{name_or_path}.yaml"
    if not p.suffix and bundled.is_file():
        return bundled
    names = list_architectures()
    close = difflib.get_close_matches(str(name_or_path), names, n=1, cutoff=0.5)
    hint = f" — did you mean '{close[0]}'?" if close else ""
    raise SpecError(f"no architecture file or bundled design '{name_or_path}'{hint} "
                    f"(bundled: {', '.join(names) or 'none'})")


def load_architecture(name_or_path: str | Path) -> Architecture:
    """Load and validate an architecture by bundled name (`h100-sxm`) or YAML path."""
    path = architecture_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read: {exc}") from None
    return architecture_from_yaml(text, str(path))


def architecture_from_yaml(text: str, filename: str = "<string>") -> Architecture:
    """Parse and validate YAML text; SpecError lines carry `filename:line: path: message`."""
    root, data = _parse(text, filename)
    try:
        return Architecture.model_validate(data)
    except ValidationError as exc:
        raise SpecError("\n".join(_describe(exc, root, filename))) from None


# ---------------------------------------------------------------------------------------------

def _parse(text: str, filename: str):
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise SpecError(f"{filename}:1: the file is empty; expected a mapping with name, technology, dies, ...")
        dups = _duplicate_keys(root, ())
        if dups:
            raise SpecError("\n".join(f"{filename}:{line}: {format_error_path(loc)}: duplicate key '{k}'"
                                      for line, loc, k in dups))
        data = loader.construct_document(root)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"{filename}:{line}: YAML syntax error: {problem}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise SpecError(f"{filename}:{root.start_mark.line + 1}: expected a mapping at the top level "
                        f"(name, technology, dies, ...), got {type(data).__name__}")
    return root, data


def _duplicate_keys(node, loc) -> list:
    out = []
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for k, v in node.value:
            key = k.value if isinstance(k, yaml.ScalarNode) else None  # complex keys: pydantic rejects them
            if key is not None and key in seen:
                out.append((k.start_mark.line + 1, loc + (key,), key))
            seen.add(key)
            out.extend(_duplicate_keys(v, loc + (key,)))
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            out.extend(_duplicate_keys(v, loc + (i,)))
    return out


def _line_of(root, loc: tuple) -> int:
    """1-based line of the deepest YAML node along `loc` (a key's own line when the key exists)."""
    node, line = root, root.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == str(part):
                    node, line = v, k.start_mark.line + 1
                    break
            else:
                if part in _UNION_TAGS:  # a discriminated-union tag in pydantic's loc, not a YAML key
                    continue
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _unwrap(t: Any) -> Any:
    while True:
        origin = get_origin(t)
        if origin is Annotated:
            t = get_args(t)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(t) if a is not type(None)]
            if len(args) != 1:
                return t
            t = args[0]
        else:
            return t


def _model_at(loc: tuple) -> Optional[type[BaseModel]]:
    """The pydantic model class that validates the mapping at `loc` (for key suggestions)."""
    t: Any = Architecture
    for part in loc:
        t = _unwrap(t)
        if get_origin(t) in (Union, types.UnionType):
            for arg in get_args(t):
                cls = _unwrap(arg)
                if isinstance(cls, type) and issubclass(cls, BaseModel) and \
                        getattr(cls.model_fields.get("kind"), "default", None) == part:
                    t = cls
                    break
            else:
                return None
            continue
        if isinstance(t, type) and issubclass(t, BaseModel):
            if part not in t.model_fields:
                return None
            t = t.model_fields[part].annotation
        elif get_origin(t) is list and isinstance(part, int):
            t = get_args(t)[0]
        elif get_origin(t) is dict:
            t = get_args(t)[1]
        else:
            return None
    t = _unwrap(t)
    return t if isinstance(t, type) and issubclass(t, BaseModel) else None


def _describe(exc: ValidationError, root, filename: str) -> list[str]:
    lines = []
    for err in exc.errors(include_url=False):
        ctx_err = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_err, SemanticErrors):
            for loc, msg in ctx_err.issues:
                lines.append(f"{filename}:{_line_of(root, loc)}: {format_error_path(loc)}: {msg}")
            continue
        loc = tuple(err["loc"])
        if err["type"] == "die_kind":  # point at the kind key itself and show what was written
            loc = loc + ("kind",)
            if isinstance(err.get("input"), dict):
                err = {**err, "msg": f"{err['msg']} (got {err['input'].get('kind')!r})"}
        path = format_error_path(loc)
        line = _line_of(root, loc)
        if err["type"] == "extra_forbidden":
            key = str(loc[-1])
            model = _model_at(loc[:-1])
            allowed = list(model.model_fields) if model else []
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            msg = f"unknown key '{key}'" + (f" — did you mean '{close[0]}'?" if close else
                                            (f" (allowed: {', '.join(allowed)})" if allowed else ""))
        elif err["type"] == "missing":
            msg = f"required key '{loc[-1]}' is missing"
        else:
            msg = _clean_msg(err)
            value = err.get("input")
            if err["type"] not in ("plain_number", "value_error", "die_kind") and isinstance(value, (int, float, str)) \
                    and not isinstance(value, bool):
                msg += f" (got {value!r})"
        lines.append(f"{filename}:{line}: {path}: {msg}")
    return lines
