"""Pure: CEL source to a small tree (cel-spec's grammar), for lenient_cel.py.

Nodes are tuples: ("lit", value), ("ident", name), ("select", operand, field),
("index", operand, key), ("has", operand, field), ("call", function, [args]) with the
receiver first for `x.f(…)` and cel-go's operator names (`_<_`, `_+_`, `@in`, `!_`, `-_`),
("or", l, r), ("and", l, r), ("cond", c, then, else), ("list", [items]),
("map", [(k, v)]), ("macro", name, target, variable, [args]) for `all`, `exists`,
`exists_one`, `map`, `filter`.
"""

from __future__ import annotations

import re
from typing import Any

Node = tuple[Any, ...]


class Uint(int):
    """A CEL `uint` (literal `5u`); JSON never makes one."""


class ParseError(ValueError):
    pass


# --- tokens and parser (CEL's grammar: cel-spec langdef.md)
_TOKEN = re.compile(
    r"""\s*(?:
    (?P<num>0x[0-9a-fA-F]+u?|\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+u?)
   |(?P<str>[rRbB]{0,2}(?:'''(?:.|\n)*?'''|\"\"\"(?:.|\n)*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"))
   |(?P<id>[A-Za-z_]\w*)
   |(?P<op>\|\||&&|==|!=|<=|>=|[<>+\-*/%!?:.,\[\](){}])
    )""",
    re.X,
)
_MACROS = {"all", "exists", "exists_one", "map", "filter"}
_BINARY = [
    ("||",),
    ("&&",),
    ("==", "!=", "<", "<=", ">", ">=", "in"),
    ("+", "-"),
    ("*", "/", "%"),
]
_OPS = {
    "==": "_==_",
    "!=": "_!=_",
    "<": "_<_",
    "<=": "_<=_",
    ">": "_>_",
    ">=": "_>=_",
    "in": "@in",
    "+": "_+_",
    "-": "_-_",
    "*": "_*_",
    "/": "_/_",
    "%": "_%_",
}


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ParseError(f"cannot read {text[pos : pos + 10]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _string(raw: str) -> str | bytes:
    prefix = ""
    while raw[0] in "rRbB":
        prefix, raw = prefix + raw[0].lower(), raw[1:]
    quote = 3 if raw[:3] in ("'''", '"""') else 1
    body = raw[quote:-quote]
    if "r" not in prefix:
        body = body.encode("latin-1", "backslashreplace").decode("unicode_escape")
    return body.encode("utf-8") if "b" in prefix else body


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> str | None:
        return self.toks[self.i][1] if self.i < len(self.toks) else None

    def take(self, want: str | None = None) -> tuple[str, str]:
        if self.i >= len(self.toks) or (want is not None and self.toks[self.i][1] != want):
            raise ParseError(f"expected {want or 'more'} at token {self.i}")
        self.i += 1
        return self.toks[self.i - 1]

    def parse(self) -> Node:
        node = self.expr()
        if self.i != len(self.toks):
            raise ParseError(f"unexpected {self.peek()!r}")
        return node

    def expr(self) -> Node:
        cond = self.binary(0)
        if self.peek() == "?":
            self.take("?")
            then = self.binary(0)
            self.take(":")
            return ("cond", cond, then, self.expr())
        return cond

    def binary(self, level: int) -> Node:
        if level == len(_BINARY):
            return self.unary()
        node = self.binary(level + 1)
        while self.peek() in _BINARY[level]:
            op = self.take()[1]
            right = self.binary(level + 1)
            if op == "||":
                node = ("or", node, right)
            elif op == "&&":
                node = ("and", node, right)
            else:
                node = ("call", _OPS[op], [node, right])
        return node

    def unary(self) -> Node:
        if self.peek() == "!":
            self.take()
            return ("call", "!_", [self.unary()])
        if self.peek() == "-":
            self.take()
            inner = self.unary()
            if inner[0] == "lit" and type(inner[1]) in (int, float):
                return ("lit", -inner[1])
            return ("call", "-_", [inner])
        return self.member()

    def member(self) -> Node:
        node = self.primary()
        while self.peek() in (".", "["):
            if self.take()[1] == "[":
                index = self.expr()
                self.take("]")
                node = ("index", node, index)
                continue
            name = self.take()[1]
            if self.peek() != "(":
                node = ("select", node, name)
                continue
            args = self.args(")")
            if name in _MACROS and args and args[0][0] == "ident":
                node = ("macro", name, node, args[0][1], args[1:])
            else:
                node = ("call", name, [node, *args])
        return node

    def args(self, close: str) -> list[Node]:
        self.take()  # the opening bracket
        out: list[Node] = []
        while self.peek() != close:
            out.append(self.expr())
            if self.peek() == ",":
                self.take()
        self.take(close)
        return out

    def primary(self) -> Node:
        kind, text = self.take()
        if kind == "num":
            if text.endswith("u"):
                return ("lit", Uint(int(text[:-1], 0)))
            is_float = not text.startswith("0x") and any(c in text for c in ".eE")
            return ("lit", float(text) if is_float else int(text, 0))
        if kind == "str":
            return ("lit", _string(text))
        if kind == "id":
            if text in ("true", "false"):
                return ("lit", text == "true")
            if text == "null":
                return ("lit", None)
            if self.peek() == "(":
                args = self.args(")")
                if text == "has" and len(args) == 1 and args[0][0] == "select":
                    return ("has", args[0][1], args[0][2])
                return ("call", text, args)
            return ("ident", text)
        if text == "(":
            node = self.expr()
            self.take(")")
            return node
        if text == "[":
            self.i -= 1
            return ("list", self.args("]"))
        if text == "{":
            pairs = []
            while self.peek() != "}":
                key = self.expr()
                self.take(":")
                pairs.append((key, self.expr()))
                if self.peek() == ",":
                    self.take()
            self.take("}")
            return ("map", pairs)
        raise ParseError(f"unexpected {text!r}")


def parse(text: str) -> Node:
    return _Parser(text).parse()
