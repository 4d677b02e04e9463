"""Safe arithmetic expressions for sweep specs (derived fields and constraints).

A sweep spec says things like ``area_mm2: "base.dies[0].area_mm2 * cores / base.dies[0].cores"``
or ``require: "package_cost_usd <= 25000"``. These strings come from files users share, so they
are never handed to Python's ``eval`` as they are: `compile_expr` parses them with ``ast`` and
accepts only a small grammar, then compiles the checked tree.

Allowed: numbers, strings, True/False/None, names from the caller's namespace, arithmetic
(``+ - * / // % **``, unary ``-``/``+``/``not``), comparisons (chains included), ``and``/``or``,
``x if c else y``, attribute access on spec objects (no name starting with ``_``), constant
integer or string subscripts (``dies[0]``, ``macs_per_cycle["bf16"]``), and calls to the
functions in `FUNCTIONS` only. Everything else (lambdas, comprehensions, keyword tricks,
dunder attributes, calling methods) is a `SpecError` naming the offending construct.
"""
from __future__ import annotations

import ast
import math

from ..errors import SpecError

# The only callables an expression may use.
FUNCTIONS = {
    "min": min, "max": max, "abs": abs, "round": round, "int": int, "float": float,
    "ceil": math.ceil, "floor": math.floor, "sqrt": math.sqrt, "log": math.log,
    "log2": math.log2, "log10": math.log10, "exp": math.exp,
}

_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
_UNARY = (ast.UAdd, ast.USub, ast.Not)
_CMPS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)


class Expr:
    """A checked, compiled expression: ``Expr(text)(namespace)`` evaluates it.

    `names` is the set of free names it reads (used to memoise on just those values and to
    report unknown names before a sweep starts)."""

    __slots__ = ("text", "names", "_code")

    def __init__(self, text: str, where: str = "expression"):
        if not isinstance(text, str) or not text.strip():
            raise SpecError(f"{where}: expected a non-empty expression string, got {text!r}")
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise SpecError(f"{where}: cannot parse {text!r}: {exc.msg}") from None
        names: set = set()
        _check(tree.body, where, text, names)
        self.text = text.strip()
        self.names = frozenset(names - set(FUNCTIONS))
        self._code = compile(tree, f"<{where}>", "eval")

    def __call__(self, namespace: dict):
        env = {"__builtins__": {}}
        env.update(FUNCTIONS)
        try:
            return eval(self._code, env, namespace)  # noqa: S307  (tree checked by _check)
        except NameError as exc:
            raise SpecError(f"expression {self.text!r}: {exc}") from None
        except (ArithmeticError, TypeError, ValueError, AttributeError, IndexError,
                KeyError) as exc:
            raise SpecError(f"expression {self.text!r}: {type(exc).__name__}: {exc}") from None

    def __repr__(self) -> str:
        return f"Expr({self.text!r})"


def compile_expr(text: str, where: str = "expression") -> Expr:
    """Parse and check `text`; SpecError (prefixed with `where`) if it uses anything unsafe."""
    return Expr(text, where)


def _bad(node, where, text, what):
    raise SpecError(f"{where}: {what} is not allowed in expressions ({text!r}); allowed: "
                    f"arithmetic, comparisons, and/or, if-else, attributes, constant subscripts, "
                    f"and the functions {', '.join(sorted(FUNCTIONS))}")


def _check(node, where, text, names):
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, (int, float, str, bool, type(None))):
            _bad(node, where, text, f"constant {node.value!r}")
    elif isinstance(node, ast.Name):
        if node.id.startswith("_"):
            _bad(node, where, text, f"name '{node.id}'")
        names.add(node.id)
    elif isinstance(node, ast.BinOp):
        if not isinstance(node.op, _BINOPS):
            _bad(node, where, text, f"operator {type(node.op).__name__}")
        _check(node.left, where, text, names)
        _check(node.right, where, text, names)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, _UNARY):
            _bad(node, where, text, f"operator {type(node.op).__name__}")
        _check(node.operand, where, text, names)
    elif isinstance(node, ast.BoolOp):
        for v in node.values:
            _check(v, where, text, names)
    elif isinstance(node, ast.Compare):
        for op in node.ops:
            if not isinstance(op, _CMPS):
                _bad(node, where, text, f"comparison {type(op).__name__}")
        _check(node.left, where, text, names)
        for c in node.comparators:
            _check(c, where, text, names)
    elif isinstance(node, ast.IfExp):
        for v in (node.test, node.body, node.orelse):
            _check(v, where, text, names)
    elif isinstance(node, ast.Attribute):
        if node.attr.startswith("_"):
            _bad(node, where, text, f"attribute '{node.attr}'")
        _check(node.value, where, text, names)
    elif isinstance(node, ast.Subscript):
        sl = node.slice
        if not (isinstance(sl, ast.Constant) and isinstance(sl.value, (int, str))
                and not isinstance(sl.value, bool)):
            _bad(node, where, text, "a non-constant subscript")
        _check(node.value, where, text, names)
    elif isinstance(node, (ast.List, ast.Tuple)):
        for v in node.elts:
            _check(v, where, text, names)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            what = node.func.id if isinstance(node.func, ast.Name) else "a method"
            _bad(node, where, text, f"calling {what}")
        if node.keywords:
            _bad(node, where, text, "a keyword argument")
        for a in node.args:
            if isinstance(a, ast.Starred):
                _bad(node, where, text, "a starred argument")
            _check(a, where, text, names)
    else:
        _bad(node, where, text, type(node).__name__)


__all__ = ["Expr", "compile_expr", "FUNCTIONS"]
