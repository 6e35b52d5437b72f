"""Monotonic ULIDs: ids made in the same millisecond still sort in creation order."""

from __future__ import annotations

import base64
import binascii
import threading

from ulid import ULID


class UlidFactory:
    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def new(self) -> str:
        with self._lock:
            value = int(ULID())
            # Same millisecond: random bits may sort lower; step one past the last id instead.
            self._last = value if value > self._last else self._last + 1
            return str(ULID.from_int(self._last))


def is_ulid(text: str) -> bool:
    try:
        ULID.from_str(text)
    except ValueError:
        return False
    return True


def seeded_ids(seed: str | None, count: int) -> list[str] | None:
    """The ids the real server derives from `x-inngest-event-id-seed`, one per event of a body.

    The seed is `"<unix ms>,<base64 of 10 random bytes>"`, made once per send by the SDK and
    sent again when it retries the send, so a retried body gets the same ids. Event n (from 1)
    adds n to the last 4 entropy bytes (big-endian, wrapping); the ULID is the ms and the 10
    bytes. None for a missing or malformed seed (then ids are random, as there).
    """
    if not seed:
        return None
    parts = seed.split(",")
    if len(parts) != 2:
        return None
    try:
        millis = int(parts[0])
        entropy = base64.b64decode(parts[1], validate=True)
    except (ValueError, binascii.Error):
        return None
    if millis <= 0 or millis >= 1 << 48 or len(entropy) != 10:
        return None
    out = []
    for index in range(1, count + 1):
        tail = (int.from_bytes(entropy[6:], "big") + index) % (1 << 32)
        raw = millis.to_bytes(6, "big") + entropy[:6] + tail.to_bytes(4, "big")
        out.append(str(ULID.from_bytes(raw)))
    return out
