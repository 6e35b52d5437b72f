"""Turn a model's markdown into plain text (pure; used when a request asks for `clean`).

Models often answer in markdown even when asked not to, so the answer is cleaned after
the fact too: the prompt asks, this makes sure.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^\s*(```|~~~).*$")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
_QUOTE = re.compile(r"^\s*>\s?")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
# Bold/italic markers around words; `(?<!\w)` keeps snake_case and 2*3*4 as they are.
_EMPHASIS = re.compile(r"(?<![\w*_])(\*\*\*|\*\*|\*|___|__|_)(?=\S)(.+?)(?<=\S)\1(?![\w*_])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"!?\[([^\]\n]*)\]\(([^)\s]+)\)")
_SPACES = re.compile(r"[ \t\f\v]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(text: str, *, keep_bullets: bool = False) -> str:
    """Markdown to plain text: fences (their code kept), headings, emphasis, links, bullets."""
    lines = []
    in_code = False
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if _FENCE.match(line):
            in_code = not in_code  # drop the fence line, keep what it encloses
            continue
        if in_code:
            lines.append(line)
            continue
        if _RULE.match(line):
            continue
        line = _HEADING.sub("", line)
        line = _QUOTE.sub("", line)
        if not keep_bullets:
            line = _BULLET.sub("", line)
        line = _LINK.sub(r"\1", line)
        line = _INLINE_CODE.sub(r"\1", line)
        line = _strip_emphasis(line)
        line = _STRIKE.sub(r"\1", line)
        lines.append(line)
    collapsed = "\n".join(_SPACES.sub(" ", line).strip() for line in lines)
    return _BLANK_LINES.sub("\n\n", collapsed).strip()


def _strip_emphasis(line: str) -> str:
    # Nested markers (***bold italic***, **a *b* c**) need more than one pass.
    for _ in range(3):
        stripped = _EMPHASIS.sub(r"\2", line)
        if stripped == line:
            return line
        line = stripped
    return line
