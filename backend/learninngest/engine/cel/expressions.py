"""Pure: CEL expressions for triggers, waits, cancels and idempotency keys.

Parsing and evaluation are CEL's own, from the `common-expression-language` package
(Rust bindings of cel-rust; why this one is in docs/architecture.md). What this module
adds is what the Dev Server adds on top of cel-go (its pkg/expressions):

- the variables it declares (`event`, `async`, `steps`, `response`, `user`, `action`,
  `actions`): an expression naming any other is refused, as there;
- a missing field is null, not an error: `event.data.missing == null` is true,
  `event.data.missing != 'x'` is true, and anything else on it (`< 5`, `.startsWith()`,
  `== 'x'`) is false; `has(event.data.missing)` stays false;
- its helper functions: `lowercase`, `uppercase`, `b64decode`, `json_parse`, `date`,
  `now`, `now_plus('1h')`, `now_minus('2d')`;
- where plain CEL errors (a type mismatch, `size()` of a missing field, `'a' + 1`,
  `||` on strings), the expression is evaluated again the Dev Server's way
  (lenient.py: its unknownDecorator's rules), so `event.data.missing < 5` is true
  and `'a' + 1` is `"a1"` as there; what still has no value there (a division by zero)
  is false, so an odd event never matches, and never crashes the engine.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import sys
import types
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

# cel's __init__ imports its command-line tool (typer, rich, prompt_toolkit: ~8 MiB of RSS in
# every engine process), which the engine never runs: a stand-in module takes its place.
# `cel.compile` and `cel.Context` come from the compiled extension, not from the tool.
if "cel" not in sys.modules:
    sys.modules.setdefault("cel.cli", types.ModuleType("cel.cli"))
import cel  # noqa: E402 - after the stand-in above

from learninngest.engine.cel import lenient
from learninngest.engine.cel.bounds import bound_problem

Env = Mapping[str, Any]
Compiled = Callable[[Env], Any]

# The Dev Server's CEL environment (pkg/expressions/env.go) declares exactly these.
DECLARED = frozenset({"event", "async", "steps", "response", "user", "action", "actions"})
# Names a macro binds, e.g. the `t` in `event.data.tags.exists(t, t == 'a')`.
_MACRO_VAR = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")
_STRING = re.compile(
    r"""[rRbB]{0,2}(?:'''.*?'''|\"\"\".*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")""", re.S
)
_PATH = re.compile(r"(?<![\w.])([A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)*)(\s*\()?")
_HAS = re.compile(r"\bhas\s*\(\s*([A-Za-z_][\w\s.]*)\)")
# What evaluating a well-formed expression against odd data raises (cel's own errors).
_RUNTIME_ERRORS = (KeyError, TypeError, ValueError, RuntimeError, ArithmeticError, IndexError)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w)")
_UNIT_S = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 604800,
}


def _duration(text: str) -> timedelta:
    """Go duration strings as the Dev Server reads them (str2duration: also `d` and `w`)."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.replace(" ", ""):
        raise ValueError(f"not a duration: {text!r}")
    return timedelta(seconds=sum(float(n) * _UNIT_S[u] for n, u in parts))


def _date(value: Any) -> datetime:
    if isinstance(value, int) and not isinstance(value, bool):
        # Unix seconds, or milliseconds when that large (event `ts` values are ms).
        return datetime.fromtimestamp(value / 1000 if abs(value) > 10**11 else value, UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _b64decode(value: Any) -> str:
    try:
        return base64.b64decode(str(value), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""


def _json_parse(value: Any) -> Any:
    try:
        parsed = json.loads(str(value))
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


# The Dev Server's helper functions (pkg/expressions cel.go), same names and behaviour.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "lowercase": lambda s: str(s).lower(),
    "uppercase": lambda s: str(s).upper(),
    "b64decode": _b64decode,
    "json_parse": _json_parse,
    "date": _date,
    "now": lambda: datetime.now(UTC),
    "now_plus": lambda d: datetime.now(UTC) + _duration(str(d)),
    "now_minus": lambda d: datetime.now(UTC) - _duration(str(d)),
}


class ExpressionError(ValueError):
    """The expression is not valid CEL, or names a variable the Dev Server does not declare."""


def _paths(text: str) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """(every dotted path the expression reads from a variable, the ones to fill with null).

    A read path ends where the expression stops naming fields (at a method call, an
    index `[…]`, an operator), so the value there is all the expression can see below it.
    Paths tested with has() are read but not filled: has() of a missing field is false.
    """
    code = _STRING.sub("''", text)
    tested = {tuple(re.sub(r"\s+", "", p).split(".")) for p in _HAS.findall(code)}
    read = set()
    for match in _PATH.finditer(code):
        parts = tuple(re.sub(r"\s+", "", match.group(1)).split("."))
        if match.group(2):  # `a.b.startsWith(` : the last name is a method, not a field
            parts = parts[:-1]
        if parts and parts[0] in DECLARED:
            read.add(parts)
    fill = [p for p in read if len(p) > 1 and p not in tested]
    return sorted(read), sorted(fill, key=len, reverse=True)


def _pick(value: Any, paths: list[tuple[str, ...]]) -> Any:
    """Only the parts of `value` that `paths` (relative to it) reach: CEL converts every
    value it is given, so handing it a whole 256 KiB event to read one field is slow."""
    if () in paths or not isinstance(value, Mapping):
        return value
    heads: dict[str, list[tuple[str, ...]]] = {}
    for path in paths:
        heads.setdefault(path[0], []).append(path[1:])
    return {head: _pick(value[head], rests) for head, rests in heads.items() if head in value}


def _absent(rest: tuple[str, ...]) -> Any:
    return None if not rest else {rest[0]: _absent(rest[1:])}


def _with_nulls(value: Any, path: tuple[str, ...]) -> Any:
    """`value` with the missing tail of `path` filled with null; copies only what it changes."""
    if not path or not isinstance(value, Mapping):
        return value
    head, rest = path[0], path[1:]
    if head not in value:
        return {**value, head: _absent(rest)}
    child = value[head]
    filled = _with_nulls(child, rest)
    return value if filled is child else {**value, head: filled}


class _Program:
    """A compiled expression: call it with the variables to get CEL's value (None on error)."""

    __slots__ = ("_program", "_roots", "_read", "_fill", "_functions", "_text", "_lenient")

    def __init__(self, text: str) -> None:
        self._text = text
        self._lenient: lenient.Node | bool | None = None  # False: the fallback cannot parse it
        try:
            self._program = cel.compile(text)
        except ValueError as exc:
            raise ExpressionError(f"invalid expression {text!r}: {str(exc).splitlines()[0]}") from exc
        except BaseException as exc:
            # A Rust panic reaches Python as pyo3's PanicException, a BaseException.
            if not is_panic(exc):
                raise
            raise ExpressionError(f"invalid expression {_short(text)}: the CEL library failed on it") from exc
        names = set(self._program.variables())
        undeclared = names - DECLARED - set(_MACRO_VAR.findall(_STRING.sub("''", text)))
        if undeclared:
            raise ExpressionError(
                f"invalid expression {text!r}: undeclared reference to {', '.join(sorted(undeclared))}"
                f" (use {', '.join(sorted(DECLARED))})"
            )
        used = set(self._program.functions()) & FUNCTIONS.keys()
        self._functions = {name: FUNCTIONS[name] for name in used}
        read, self._fill = _paths(text)
        self._roots = names & DECLARED
        self._read = {root: [p[1:] for p in read if p[0] == root] or [()] for root in self._roots}

    def __call__(self, env: Env) -> Any:
        # Only what the expression reads is handed to CEL (see _pick).
        variables = {k: _pick(env[k], self._read[k]) for k in self._roots if k in env}
        missing = False
        for path in self._fill:
            if path[0] in variables:
                before = variables[path[0]]
                variables[path[0]] = _with_nulls(before, path[1:])
                missing = missing or variables[path[0]] is not before
        if missing and self._lenient_tree() is not None:
            # A field the expression reads is missing: on the Dev Server it is *unknown*, not
            # null, and every call on it is bent (`a == b` with both missing is false there,
            # true on nulls), so its rules decide, not CEL's on the nulls filled in.
            return self._bent(env)
        try:
            if self._functions:  # a context costs a little more: only when a helper is used
                return self._program.execute(cel.Context(variables, self._functions))
            return self._program.execute(variables)
        except _RUNTIME_ERRORS:
            return self._bent(env)
        except BaseException as exc:
            if not is_panic(exc):
                raise
            return None  # the library failed on this data: no value, so nothing matches

    def _lenient_tree(self) -> lenient.Node | None:
        """The expression parsed for the fallback, once; None when the fallback cannot read it."""
        if self._lenient is None:
            try:
                self._lenient = lenient.parse(self._text)
            except (lenient.ParseError, ValueError, IndexError, RecursionError):
                self._lenient = False
        return None if isinstance(self._lenient, bool) else self._lenient

    def _bent(self, env: Env) -> Any:
        """Plain CEL has no value: the Dev Server's answer (lenient_cel), None if none either."""
        tree = self._lenient_tree() or ("lit", None)  # CEL the fallback cannot read: no value
        roots = {k: env[k] for k in self._roots if k in env}
        try:
            value = lenient.evaluate(tree, roots, DECLARED, self._functions or FUNCTIONS)
        except RecursionError:  # a tree deeper than this stack allows (bounded by MAX_DEPTH)
            return None
        return None if value is lenient.UNKNOWN or isinstance(value, lenient.Error) else value


@lru_cache(maxsize=1024)
def compile_expression(text: str) -> Compiled:
    """Parse once; raises ExpressionError for anything the Dev Server would refuse."""
    if not text or not text.strip():
        raise ExpressionError("empty expression")
    if problem := bound_problem(text):  # before the native parser, which may crash on it
        raise ExpressionError(f"invalid expression {_short(text)}: {problem}")
    return _Program(text)


def is_panic(exc: BaseException) -> bool:
    """pyo3's PanicException (a Rust panic inside the CEL library): not importable by name."""
    return type(exc).__name__ == "PanicException"


def _short(text: str) -> str:
    return repr(text if len(text) <= 80 else f"{text[:60]}… ({len(text)} characters)")


def evaluate(text: str, env: Env) -> bool:
    """True only when the expression evaluates to exactly `true` (CEL semantics)."""
    return compile_expression(text)(env) is True


def checked(where: str, text: str) -> str:
    """The expression if the engine can run it; else ValueError naming `where` (app sync says it)."""
    try:
        compile_expression(text)
    except ExpressionError as exc:
        raise ValueError(f"{where} {text!r} is not supported ({exc})") from None
    return text
