"""The virtual clock: real waits are intended delays x scale; the timeline keeps intended times.

Cron schedules read the clock's virtual time, which starts at the real time the clock was
made and runs 1/scale times faster, so `*/10 * * * *` fires every 6 s at a scale of 0.01.

Also the few time formats the engine speaks (RFC 3339 with ms, Inngest duration strings).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime


class Clock:
    """Wall clock plus a scale for waits. Nothing global: each engine has its own."""

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.scale = scale
        self.origin = time.time()  # not self.now(): a subclass may set up its own now() after this

    def now(self) -> float:
        """Real unix time in seconds."""
        return time.time()

    def virtual_now(self) -> float:
        """Virtual unix time: the real time elapsed since the clock was made, divided by the scale."""
        return self.origin + (self.now() - self.origin) / self.scale

    def real_delay(self, intended_s: float) -> float:
        return max(0.0, intended_s) * self.scale

    def due_after(self, intended_s: float) -> float:
        """Real unix time at which an intended delay from now is over."""
        return self.now() + self.real_delay(intended_s)


def iso(ts: float | None) -> str | None:
    """Unix seconds to RFC 3339 UTC with milliseconds, like the real Dev Server prints."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_iso(text: str) -> float:
    """RFC 3339 / ISO 8601 (a trailing Z allowed) to unix seconds; naive means UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_duration(text: str) -> float:
    """Inngest duration strings (`90s`, `5m`, `1h30m`, `2d`) to seconds; ValueError otherwise."""
    text = text.strip()
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        raise ValueError(f"not a duration: {text!r} (want e.g. 90s, 5m, 1h30m)")
    return total
