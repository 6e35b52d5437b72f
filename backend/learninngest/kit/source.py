"""`kit.show(obj)`: the source a lesson teaches, read live from the package (never a copy).

A lesson can print only a range (from the line holding `start` to the line holding
`end`) and mark the lines that matter (`mark`), so the point of the lesson is on screen.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MARK = "  # ◀"


@dataclass(frozen=True)
class Source:
    """Lines of one file, with where they are; displays as highlighted Python in Jupyter."""

    path: str
    first_line: int
    lines: tuple[str, ...]
    marked: frozenset[int]

    @property
    def text(self) -> str:
        return "\n".join(
            line + (MARK if n in self.marked else "") for n, line in enumerate(self.lines, self.first_line)
        )

    @property
    def header(self) -> str:
        last = self.first_line + len(self.lines) - 1
        return f"{self.path}, lines {self.first_line}-{last}"

    def __repr__(self) -> str:
        return f"# {self.header}\n{self.text}"

    def _repr_markdown_(self) -> str:
        return f"`{self.header}`\n\n```python\n{self.text}\n```"


def _source_of(obj: Any) -> tuple[str, list[str], int]:
    """File, lines and first line number of a module, class, function or inngest.Function."""
    target = getattr(obj, "_handler", obj)  # an inngest.Function keeps the decorated handler here
    lines, first = inspect.getsourcelines(target)
    path = Path(inspect.getsourcefile(target) or "?")
    parts = path.parts
    shown = "/".join(parts[parts.index("learninngest") :]) if "learninngest" in parts else path.name
    return shown, [line.rstrip("\n") for line in lines], max(first, 1)


def show(
    obj: Any,
    *,
    start: str | None = None,
    end: str | None = None,
    mark: str | Sequence[str] = (),
) -> Source:
    """The source of `obj`, from the first line containing `start` to the next containing `end`.

    Lines containing any of `mark` get a `# ◀` at their end. A `start` or `end` that
    is not in the source is an error naming it, so a lesson cannot silently show the
    wrong lines after the code changed.
    """
    path, lines, first = _source_of(obj)
    begin, stop = 0, len(lines)
    if start is not None:
        begin = _find(lines, start, 0, path)
    if end is not None:
        stop = _find(lines, end, begin, path) + 1
    marks = [mark] if isinstance(mark, str) else list(mark)
    chosen = lines[begin:stop]
    marked = frozenset(first + begin + i for i, line in enumerate(chosen) if any(m in line for m in marks))
    missing = [m for m in marks if not any(m in line for line in chosen)]
    if missing:
        raise ValueError(f"{path}: no shown line contains {missing[0]!r}")
    return Source(path, first + begin, tuple(chosen), marked)


def _find(lines: list[str], text: str, after: int, path: str) -> int:
    for i in range(after, len(lines)):
        if text in lines[i]:
            return i
    raise ValueError(f"{path}: no line contains {text!r}; was the code changed?")
