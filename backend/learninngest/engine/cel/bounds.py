"""Pure: how long and how deep a CEL expression may be, checked before any parser sees it.

The native CEL library (cel-rust) recurses once per level of the expression's tree: a
member chain of 30,000 fields (60 KB) overflowed its stack and killed the engine with
SIGSEGV, and `(` x 100,000 made it panic. The Python fallback (lenient_cel.py) recurses
too. So an expression is refused, as any invalid one is, when it is longer than
MAX_CHARS or its tree may be deeper than MAX_DEPTH, cel-go's own default recursion limit
(the Dev Server refuses such expressions too).

The depth is estimated from the tokens, strings left out: each bracket opens a level,
and inside a level every member access, index, unary or binary operator adds one.
`&&`, `||` and `,` start a sibling instead (cel-go balances logical chains, and list
items and arguments are side by side), so a long `a || b || ...` stays shallow.
"""

from __future__ import annotations

import re

MAX_CHARS = 16_384
"""Far above any real trigger, cancel or key expression (the crash needed 60 KB)."""
MAX_DEPTH = 250
"""cel-go's default parser recursion limit."""

_STRING = re.compile(
    r"""[rRbB]{0,2}(?:'''.*?'''|\"\"\".*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")""", re.S
)
_TOKEN = re.compile(r"&&|\|\||==|!=|<=|>=|[-+*/%<>!?.,:(){}\[\]]|\bin\b")
_OPEN, _CLOSE = "([{", ")]}"
_SIBLING = {"&&", "||", ",", ":"}


def expression_depth(text: str) -> int:
    """An upper estimate of the depth of the expression's tree (see the module docstring)."""
    code = _STRING.sub("''", text)
    # One frame per open bracket: (depth where the level starts, links in the current segment).
    frames: list[list[int]] = [[0, 0]]
    deepest = 0
    for match in _TOKEN.finditer(code):
        token = match.group()
        frame = frames[-1]
        if token in _SIBLING:
            frame[1] = 0
        elif token in _OPEN:
            frames.append([frame[0] + frame[1] + 1, 0])
            deepest = max(deepest, frames[-1][0])
        elif token in _CLOSE:
            if len(frames) > 1:
                frames.pop()
                frames[-1][1] += 1  # the bracketed part is one more link of its level
        else:
            frame[1] += 1
            deepest = max(deepest, frame[0] + frame[1])
    return deepest


def bound_problem(text: str) -> str | None:
    """Why `text` is too large to compile safely, or None when it is within the bounds."""
    if len(text) > MAX_CHARS:
        return f"the expression is {len(text)} characters long; the limit is {MAX_CHARS}"
    depth = expression_depth(text)
    if depth > MAX_DEPTH:
        return f"the expression nests about {depth} levels deep; the limit is {MAX_DEPTH}"
    return None
