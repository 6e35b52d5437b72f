"""Pure: the fault directive grammar, `[fault:<kind>[x<count>][,retry_after=<s>]]`.

A learner writes a directive inside a user message to make the offline model fail on
purpose. Parsing is kept apart from the HTTP side so the grammar can be unit-tested and
documented in one place (docs/offline-model.md). Grammar:

    directive := "[fault:" kind [ "x" count ] { "," option } "]"
    kind      := "429" | "500" | "502" | "503" | "400" | "401" | "timeout" | "slow=" <ms>
    ms        := 0..3600000                      (a slowness past the model's timeout is one)
    count     := <positive integer> | "*"        (default 1; "*" = every call)
    option    := "retry_after=" <seconds>        (429 and 503 only)

Several directives make a schedule, in the order written: `[fault:429][fault:500]` fails
the first call with 429, the second with 500, and answers the third.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("429", "500", "502", "503", "400", "401", "timeout", "slow")
# Anything that looks like a directive is taken as one, so a typo is reported, not ignored.
_DIRECTIVE = re.compile(r"\[\s*fault\s*:([^\]]*)\]", re.IGNORECASE)
_SPEC = re.compile(
    r"^(?P<kind>429|500|502|503|400|401|timeout|slow\s*=\s*(?P<ms>\d+))"
    r"(?:\s*x\s*(?P<count>\d+|\*))?$",
    re.IGNORECASE,
)
_OPTION = re.compile(r"^(?P<name>[a-z_]+)\s*=\s*(?P<value>\S+)$", re.IGNORECASE)
_HELP = (
    "expected [fault:<kind>[x<count>][,retry_after=<seconds>]] with kind one of "
    "429, 500, 502, 503, 400, 401, timeout, slow=<ms>; see docs/offline-model.md"
)
MAX_COUNT = 1000
MAX_SLOW_MS = 3_600_000
"""An hour: the grammar's bound. At run time a slowness past OFFLINE_TIMEOUT_S acts as a timeout."""
_MAX_DIGITS = 10  # int() of thousands of digits is slow and refused by Python: check the length first


class DirectiveError(ValueError):
    """A `[fault:...]` directive does not follow the grammar; the message says why."""


@dataclass(frozen=True)
class FaultSpec:
    """One parsed directive: `kind` fails the next `count` calls (None = every call)."""

    kind: str
    count: int | None = 1
    retry_after_s: float | None = None
    slow_ms: int = 0


def parse_directive(body: str) -> FaultSpec:
    """Parse the text between `[fault:` and `]`, e.g. `429x2,retry_after=3`."""
    spec_text, *options = (part.strip() for part in body.split(","))
    match = _SPEC.match(spec_text)
    if match is None:
        raise DirectiveError(f"bad fault directive [fault:{_shown(body)}]: {_HELP}")
    kind = match["kind"].lower()
    slow_ms = 0
    if match["ms"] is not None:
        kind, slow_ms = "slow", _bounded_int(match["ms"], MAX_SLOW_MS)
        if not 0 <= slow_ms <= MAX_SLOW_MS:
            raise DirectiveError(
                f"bad fault directive [fault:{_shown(body)}]: slow must be 0..{MAX_SLOW_MS} milliseconds"
            )
    count: int | None = 1
    if match["count"] == "*":
        count = None
    elif match["count"] is not None:
        count = _bounded_int(match["count"], MAX_COUNT)
        if not 1 <= count <= MAX_COUNT:
            raise DirectiveError(
                f"bad fault directive [fault:{_shown(body)}]: count must be 1..{MAX_COUNT} or *"
            )
    retry_after: float | None = None
    for option in options:
        retry_after = _parse_option(body, kind, option)
    return FaultSpec(kind=kind, count=count, retry_after_s=retry_after, slow_ms=slow_ms)


def _bounded_int(digits: str, maximum: int) -> int:
    """`int(digits)`, or maximum + 1 when it has too many digits to be in range."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= _MAX_DIGITS else maximum + 1


def _shown(body: str, limit: int = 60) -> str:
    """The directive as quoted in an error: a huge one is cut, so the message stays short."""
    text = body.strip()
    return text if len(text) <= limit else text[:limit] + "…"


def _parse_option(body: str, kind: str, option: str) -> float:
    found = _OPTION.match(option)
    if found is None or found["name"].lower() != "retry_after":
        raise DirectiveError(
            f"bad fault directive [fault:{_shown(body)}]: unknown option {option!r}; {_HELP}"
        )
    if kind not in {"429", "503"}:
        raise DirectiveError(
            f"bad fault directive [fault:{_shown(body)}]: retry_after only applies to 429 and 503"
        )
    try:
        seconds = float(found["value"])
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:
        raise DirectiveError(
            f"bad fault directive [fault:{_shown(body)}]: retry_after must be 0..3600 seconds"
        )
    return seconds


def find_directives(text: str) -> list[FaultSpec]:
    """Every directive in `text`, in order; raises DirectiveError on the first bad one."""
    return [parse_directive(match[1]) for match in _DIRECTIVE.finditer(text)]


def strip_directives(text: str) -> str:
    """`text` without its directives, with the spaces they leave behind tidied."""
    stripped = _DIRECTIVE.sub(" ", text)
    return re.sub(r"[ \t]{2,}", " ", stripped).strip()


def schedule_fault(specs: list[FaultSpec], call: int) -> FaultSpec | None:
    """The directive fault for the `call`-th call (0-based) of a request, if any."""
    for spec in specs:
        if spec.count is None:
            return spec
        if call < spec.count:
            return spec
        call -= spec.count
    return None
