"""Pure: the small subset of CEL that trigger, wait and cancel expressions use.

Supported: dotted paths (`event.data.x`, `async.data.user.id`), string / number /
true / false / null literals, `== != < <= > >=`, `&& || !` and parentheses. Anything
else raises ExpressionError, so a function using it is refused at sync instead of
matching the wrong events.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

Env = Mapping[str, Any]
Compiled = Callable[[Env], Any]


class ExpressionError(ValueError):
    """The expression uses syntax this engine does not evaluate."""


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>-?\d+(?:\.\d+)?)
    | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<op>==|!=|<=|>=|&&|\|\||[<>!()])
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    )""",
    re.VERBOSE,
)
_MISSING = object()
MISSING = _MISSING  # what a path that is not in the data evaluates to


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExpressionError(f"unsupported syntax at {text[pos:]!r} in {text!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _lookup(path: list[str]) -> Compiled:
    def get(env: Env) -> Any:
        value: Any = env
        for part in path:
            if isinstance(value, Mapping) and part in value:
                value = value[part]
            else:
                return _MISSING
        return value

    return get


def _same_kind(a: Any, b: Any) -> bool:
    # CEL never equates a bool with a number, unlike Python (True == 1).
    return isinstance(a, bool) == isinstance(b, bool)


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is _MISSING or b is _MISSING:
        return op == "!=" and not (a is _MISSING and b is _MISSING)
    if op == "==":
        return _same_kind(a, b) and a == b
    if op == "!=":
        return not (_same_kind(a, b) and a == b)
    try:
        if not _same_kind(a, b):
            return False
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    except TypeError:
        return False


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise ExpressionError(f"unexpected end of expression {self.text!r}")
        self.i += 1
        return tok

    def parse(self) -> Compiled:
        node = self.or_()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()[1]!r} in {self.text!r}")  # type: ignore[index]
        return node

    def or_(self) -> Compiled:
        left = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            right, prev = self.and_(), left
            left = lambda env, a=prev, b=right: _truthy(a(env)) or _truthy(b(env))  # noqa: E731
        return left

    def and_(self) -> Compiled:
        left = self.not_()
        while self.peek() == ("op", "&&"):
            self.take()
            right, prev = self.not_(), left
            left = lambda env, a=prev, b=right: _truthy(a(env)) and _truthy(b(env))  # noqa: E731
        return left

    def not_(self) -> Compiled:
        if self.peek() == ("op", "!"):
            self.take()
            inner = self.not_()
            return lambda env: not _truthy(inner(env))
        return self.comparison()

    def comparison(self) -> Compiled:
        left = self.atom()
        tok = self.peek()
        if tok and tok[0] == "op" and tok[1] in {"==", "!=", "<", "<=", ">", ">="}:
            op = self.take()[1]
            right = self.atom()
            return lambda env: _compare(op, left(env), right(env))
        return left

    def atom(self) -> Compiled:
        kind, text = self.take()
        if kind == "op" and text == "(":
            inner = self.or_()
            if self.take() != ("op", ")"):
                raise ExpressionError(f"missing ')' in {self.text!r}")
            return inner
        if kind == "num":
            value: Any = float(text) if "." in text else int(text)
            return lambda env: value
        if kind == "str":
            literal = re.sub(r"\\(.)", r"\1", text[1:-1])
            return lambda env: literal
        if kind == "name":
            consts = {"true": True, "false": False, "null": None}
            if text in consts:
                const = consts[text]
                return lambda env: const
            if self.peek() == ("op", "("):
                raise ExpressionError(f"function calls like {text}() are not supported")
            return _lookup(text.split("."))
        raise ExpressionError(f"unexpected {text!r} in {self.text!r}")


def _truthy(value: Any) -> bool:
    return value is True


@lru_cache(maxsize=512)
def compile_expression(text: str) -> Compiled:
    """Parse once; raises ExpressionError for anything outside the subset."""
    if not text or not text.strip():
        raise ExpressionError("empty expression")
    return _Parser(text).parse()


def evaluate(text: str, env: Env) -> bool:
    """True only when the expression evaluates to exactly `true` (CEL semantics)."""
    return _truthy(compile_expression(text)(env))
