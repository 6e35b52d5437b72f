"""Pure: a `Retry-After` value to seconds from now.

One parser for both places that read one: the engine (the SDK's `retry-after` header,
an ISO time) and the LLM layer (a provider's `Retry-After`, seconds or an HTTP date).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def seconds_until(value: str | None, now: float) -> float | None:
    """Seconds, an ISO 8601 time or an RFC 1123 date -> seconds after `now` (unix), never < 0.

    None when there is no value or it is none of those: better no hint than a wrong one.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if when.tzinfo is None:  # HTTP dates are GMT by definition; ISO without a zone: UTC
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)
