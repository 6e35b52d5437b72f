"""Pure: CEL evaluated the way the Dev Server bends it, for what plain CEL refuses.

The Dev Server runs cel-go with a decorator over every function call (its
pkg/expressions/unknown.go). The engine evaluates each expression with cel-rust first
(expressions.py: fast, and the same answer whenever CEL has one); when that raises, it
evaluates the expression again here, with the decorator's rules:

- a missing field is *unknown*. A call with an unknown or failed argument answers a fixed
  value: `==` true only against a `null` literal, `!=` the opposite, `<` / `<=` true when
  the unknown is on the left (`event.data.missing < 5` is true), `>` / `>=` true when it is
  on the right, `+` the other operand, `size()` 0, anything else false;
- a call on two types that CEL refuses: `+` concatenates them as Go prints them
  (`'a' + 1` is `"a1"`); with a `null` on one side, `==` is false, `!=` true, and an
  ordering compares the type's zero value (`null < 5` is `0 < 5`);
- `||` and `&&` on non-booleans are JavaScript's: `a || b` the first truthy value (else the
  last), `a && b` the first falsy one (else the last); unknown, errors, null, false, "",
  0 are falsy;
- inside a macro (`exists`, `all`, ...), calls that read the macro's variable follow plain
  CEL, as there (the decorator cannot see those values when it plans the call).

`evaluate()` returns the value, `UNKNOWN` or an `Error`; callers treat both as no value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from learninngest.engine.cel.parse import Node, ParseError, Uint, parse

__all__ = ["UNKNOWN", "Error", "Node", "ParseError", "evaluate", "parse"]


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


class Error:
    """A CEL error as a value (cel-go passes errors along as values, so does this)."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __repr__(self) -> str:
        return f"Error({self.message!r})"


class _Fail(Exception):
    """Plain CEL has no answer (no such overload, division by zero...)."""


# --- values
def _kind(v: Any) -> str:
    if v is UNKNOWN:
        return "unknown"
    if isinstance(v, Error):
        return "error"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, Uint):
        return "uint"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "double"
    if isinstance(v, str):
        return "string"
    if isinstance(v, bytes):
        return "bytes"
    if isinstance(v, list | tuple):
        return "list"
    if isinstance(v, Mapping):
        return "map"
    if isinstance(v, datetime):
        return "timestamp"
    if isinstance(v, timedelta):
        return "duration"
    return type(v).__name__


_NUM = {"int", "uint", "double"}
_ZERO: dict[str, Any] = {"int": 0, "uint": Uint(0), "double": 0.0, "string": ""}


def _go(v: Any) -> str:
    """A value as Go's `%v` prints it (the Dev Server's concatenation)."""
    if v is None:
        return "NULL_VALUE"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isfinite(v) and v == int(v) and abs(v) < 1e21:
            return str(int(v))
        return repr(v).replace("inf", "+Inf") if math.isinf(v) else repr(v)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, list | tuple):
        return "[" + " ".join(_go(x) for x in v) + "]"
    if isinstance(v, Error):
        return v.message
    return str(v)


def _eq(a: Any, b: Any) -> bool:
    ka, kb = _kind(a), _kind(b)
    if ka in _NUM and kb in _NUM:
        return bool(a == b)
    if ka != kb:
        return False
    if ka == "list":
        return len(a) == len(b) and all(_eq(x, y) for x, y in zip(a, b, strict=True))
    if ka == "map":
        return a.keys() == b.keys() and all(_eq(a[k], b[k]) for k in a)
    return bool(a == b)


def _ordered(a: Any, b: Any) -> tuple[Any, Any]:
    ka, kb = _kind(a), _kind(b)
    if (ka in _NUM and kb in _NUM) or (
        ka == kb and ka in ("string", "bytes", "bool", "timestamp", "duration")
    ):
        return a, b
    raise _Fail(f"no such overload: {ka} and {kb}")


def _int64(v: int) -> int:
    if not -(2**63) <= v < 2**63:
        raise _Fail("integer overflow")
    return v


def _arith(op: str, a: Any, b: Any) -> Any:
    ka, kb = _kind(a), _kind(b)
    if ka == kb and ka in _NUM:
        if op == "+":
            out = a + b
        elif op == "-":
            out = a - b
        elif op == "*":
            out = a * b
        elif ka == "double":
            if op == "%":
                raise _Fail("no such overload: double % double")
            return a / b if b else (math.copysign(math.inf, a) if a else math.nan)
        elif b == 0:
            raise _Fail("division by zero" if op == "/" else "modulus by zero")
        else:
            q = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)  # Go truncates
            out = q if op == "/" else a - b * q
        return Uint(out) if ka == "uint" else (_int64(out) if ka == "int" else out)
    if op == "+" and ka == kb and ka in ("string", "bytes"):
        return a + b
    if op == "+" and ka == kb == "list":
        return [*a, *b]
    if op == "+" and {ka, kb} == {"timestamp", "duration"}:
        return a + b
    if op in "+-" and ka == kb == "duration":
        return a + b if op == "+" else a - b
    if op == "-" and ka == "timestamp" and kb in ("timestamp", "duration"):
        return a - b
    raise _Fail(f"no such overload: {ka} {op} {kb}")


_GO_DURATION = re.compile(r"([\d.]+)(ns|us|µs|ms|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def _to_duration(text: str) -> timedelta:
    sign, body = (-1, text[1:]) if text.startswith("-") else (1, text)
    parts = _GO_DURATION.findall(body)
    if not parts or "".join(n + u for n, u in parts) != body:
        raise _Fail(f"invalid duration {text!r}")
    return timedelta(seconds=sign * sum(float(n) * _UNIT[u] for n, u in parts))


def _convert(name: str, v: Any) -> Any:
    k = _kind(v)
    try:
        if name == "int" and k in ("int", "uint", "double", "string"):
            return _int64(int(v) if k != "double" else math.trunc(v))
        if name == "int" and k == "timestamp":
            return int(v.timestamp())
        if name == "uint" and k in ("int", "uint", "double", "string"):
            out = int(v) if k != "double" else math.trunc(v)
            if out < 0:
                raise _Fail("uint out of range")
            return Uint(out)
        if name == "double" and k in ("int", "uint", "double", "string"):
            return float(v)
        if name == "string":
            if k == "timestamp":
                return v.isoformat().replace("+00:00", "Z")
            if k == "duration":
                return _go(v.total_seconds()) + "s"
            if k == "bytes":
                return v.decode("utf-8")
            if k in ("string", "int", "uint", "double", "bool"):
                return _go(v)
        if name == "bool" and k == "bool":
            return v
        if name == "bool" and k == "string" and v.lower() in ("true", "t", "1", "false", "f", "0"):
            return v.lower() in ("true", "t", "1")
        if name == "bytes" and k in ("string", "bytes"):
            return v.encode("utf-8") if k == "string" else v
        if name == "timestamp" and k == "string":
            parsed = datetime.fromisoformat(v.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        if name == "timestamp" and k == "timestamp":
            return v
        if name == "duration" and k == "string":
            return _to_duration(v)
    except (ValueError, OverflowError, UnicodeDecodeError) as exc:
        raise _Fail(str(exc)) from None
    raise _Fail(f"no such overload: {name}({k})")


def _plain(fn: str, args: list[Any], helpers: Mapping[str, Callable[..., Any]]) -> Any:
    """Plain CEL: the value, or raise _Fail."""
    for a in args:
        if isinstance(a, Error) or a is UNKNOWN:
            raise _Fail(a.message if isinstance(a, Error) else "unknown")
    if fn == "_==_":
        return _eq(*args)
    if fn == "_!=_":
        return not _eq(*args)
    if fn in ("_<_", "_<=_", "_>_", "_>=_"):
        a, b = _ordered(*args)
        return {"_<_": a < b, "_<=_": a <= b, "_>_": a > b, "_>=_": a >= b}[fn]
    if fn in ("_+_", "_-_", "_*_", "_/_", "_%_"):
        return _arith(fn[1], *args)
    if fn == "!_" and _kind(args[0]) == "bool":
        return not args[0]
    if fn == "-_" and _kind(args[0]) in ("int", "double"):
        return -args[0]
    if fn == "@in":
        item, container = args
        if _kind(container) == "list":
            return any(_eq(item, x) for x in container)
        if _kind(container) == "map":
            return any(_eq(item, k) for k in container)
    if fn == "size" and len(args) == 1 and _kind(args[0]) in ("string", "bytes", "list", "map"):
        return len(args[0])
    if fn in ("startsWith", "endsWith", "contains", "matches") and [_kind(a) for a in args] == [
        "string",
        "string",
    ]:
        s, t = args
        if fn == "matches":
            try:
                return re.search(t, s) is not None
            except re.error as exc:
                raise _Fail(str(exc)) from None
        return {"startsWith": s.startswith, "endsWith": s.endswith, "contains": s.__contains__}[fn](t)
    if fn in ("int", "uint", "double", "string", "bool", "bytes", "timestamp", "duration") and len(args) == 1:
        return _convert(fn, args[0])
    if fn in helpers:
        try:
            return helpers[fn](*args)
        except Exception as exc:  # a helper refusing its input is a CEL error
            raise _Fail(str(exc)) from None
    raise _Fail(f"no such overload: {fn}({', '.join(_kind(a) for a in args)})")


def _unknown_call(fn: str, args: list[Any]) -> Any:
    """handleUnknownCall: a fixed answer for a call with an unknown or failed argument."""
    first_missing = _kind(args[0]) in ("unknown", "error") if args else False
    has_null = any(a is None for a in args)
    if fn == "_+_":
        return next((a for a in args if a is not UNKNOWN), False)
    if fn == "_==_":
        return has_null
    if fn == "_!=_":
        return not has_null
    if fn in ("_<_", "_<=_"):
        return first_missing
    if fn in ("_>_", "_>=_"):
        return not first_missing
    if fn == "size":
        return 0
    return False


def _truthy(v: Any) -> bool:
    if v is UNKNOWN or isinstance(v, Error) or v is None:
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float | str):
        return bool(v)
    return True


def _refs(node: Any, names: frozenset[str]) -> bool:
    """Does the tree read any of `names` (a macro's variable)?"""
    if isinstance(node, tuple):
        if node and node[0] == "ident":
            return node[1] in names
        return any(_refs(x, names) for x in node[1:])
    if isinstance(node, list):
        return any(_refs(x, names) for x in node)
    return False


class _Eval:
    def __init__(self, env: Mapping[str, Any], declared: frozenset[str], helpers: Mapping[str, Any]) -> None:
        self.env = env
        self.declared = declared
        self.helpers = helpers
        self.scope: dict[str, Any] = {}

    def run(self, node: Node) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "ident":
            name = node[1]
            if name in self.scope:
                return self.scope[name]
            if name in self.env:
                return self.env[name]
            return UNKNOWN if name in self.declared else Error(f"undeclared reference to {name}")
        if kind in ("select", "index"):
            target = self.run(node[1])
            key = node[2] if kind == "select" else self.run(node[2])
            return self.field(target, key)
        if kind == "has":
            target = self.run(node[1])
            if isinstance(target, Mapping):
                return node[2] in target
            return target if isinstance(target, Error) else False
        if kind == "list":
            return [self.run(x) for x in node[1]]
        if kind == "map":
            return {self.run(k): self.run(v) for k, v in node[1]}
        if kind == "cond":
            cond = self.run(node[1])
            if isinstance(cond, bool):
                return self.run(node[2] if cond else node[3])
            return cond if cond is UNKNOWN or isinstance(cond, Error) else Error("no such overload: ?:")
        if kind in ("or", "and"):
            return self.logical(kind == "or", [self.run(node[1]), self.run(node[2])])
        if kind == "macro":
            return self.macro(node)
        return self.call(node)

    def field(self, target: Any, key: Any) -> Any:
        if target is UNKNOWN or isinstance(target, Error):
            return target
        if isinstance(target, Mapping):
            return target.get(key, UNKNOWN)
        if isinstance(target, list | tuple) and _kind(key) in ("int", "uint", "double"):
            if isinstance(key, float) and key != int(key):
                return Error("invalid list index")
            n = int(key)
            return target[n] if 0 <= n < len(target) else Error(f"index out of range: {n}")
        return Error(f"no such key: {key}")

    def logical(self, is_or: bool, vals: list[Any]) -> Any:
        if all(isinstance(v, bool) for v in vals):
            return any(vals) if is_or else all(vals)
        for v in vals:  # JavaScript-like: first truthy (or) / first falsy (and), else the last
            if _truthy(v) == is_or:
                return v
        return vals[-1]

    def call(self, node: Node) -> Any:
        fn, arg_nodes = node[1], node[2]
        args = [self.run(a) for a in arg_nodes]
        if self.scope and _refs(arg_nodes, frozenset(self.scope)):
            return self.plain(fn, args)  # the decorator leaves calls on macro variables alone
        kinds = {_kind(a) for a in args}
        if len(kinds) == 1 and not kinds & {"unknown", "error"}:
            return self.plain(fn, args)
        if len(kinds) == 2 and "unknown" not in kinds:
            value = self.plain(fn, args)
            if not isinstance(value, Error):
                return value
            if fn == "_+_":
                return "".join(_go(a) for a in args)
        if kinds & {"unknown", "error"}:
            return _unknown_call(fn, args)
        if "null" in kinds and len(args) == 2:
            if fn in ("_==_", "_!=_"):
                return fn == "_!=_"
            others = kinds - {"null"}
            if len(others) == 1 and (other := others.pop()) in _ZERO:
                return self.plain(fn, [_ZERO[other] if a is None else a for a in args])
        return self.plain(fn, args)

    def plain(self, fn: str, args: list[Any]) -> Any:
        try:
            return _plain(fn, args, self.helpers)
        except _Fail as exc:
            return Error(str(exc))

    def macro(self, node: Node) -> Any:
        name, target_node, var, rest = node[1], node[2], node[3], node[4]
        target = self.run(target_node)
        if target is UNKNOWN or isinstance(target, Error):
            return target
        if _kind(target) not in ("list", "map"):
            return Error(f"no such overload: {name} on {_kind(target)}")
        saved = dict(self.scope)
        results: list[tuple[Any, Any]] = []
        try:
            for item in list(target):
                self.scope = {**saved, var: item}
                if name == "map" and len(rest) == 2:
                    keep = self.run(rest[0])
                    if keep is not True:
                        if isinstance(keep, bool):
                            continue
                        return keep if isinstance(keep, Error) else Error("filter is not a bool")
                    results.append((item, self.run(rest[1])))
                else:
                    results.append((item, self.run(rest[0])))
        finally:
            self.scope = saved
        values = [v for _, v in results]
        errors = [v for v in values if not isinstance(v, bool)] if name != "map" else []
        if name == "all":
            return False if any(v is False for v in values) else (errors[0] if errors else True)
        if name == "exists":
            return True if any(v is True for v in values) else (errors[0] if errors else False)
        if name == "exists_one":
            return errors[0] if errors else sum(v is True for v in values) == 1
        if name == "filter":
            return errors[0] if errors else [item for item, v in results if v is True]
        return values  # map


def evaluate(tree: Node, env: Mapping[str, Any], declared: frozenset[str], helpers: Mapping[str, Any]) -> Any:
    """The expression's value the Dev Server's way: a value, UNKNOWN or an Error."""
    try:
        return _Eval(env, declared, helpers).run(tree)
    except RecursionError:
        return Error("expression too deep")
