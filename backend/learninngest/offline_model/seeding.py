"""Pure: stable pseudo-random numbers from any mix of values.

Python's `hash()` changes between processes, so every seeded choice here goes through
SHA-256 instead: the same inputs give the same numbers on every machine and every run.
"""

from __future__ import annotations

import hashlib
import random


def digest(*parts: object) -> str:
    """Hex SHA-256 of the parts' reprs, joined so that ("a", "b") differs from ("ab",)."""
    joined = "\x1f".join(repr(part) for part in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def stable_int(*parts: object) -> int:
    return int(digest(*parts)[:16], 16)


def unit(*parts: object) -> float:
    """A number in [0, 1) fixed by the parts: a seeded coin for fault rates and variants."""
    return stable_int(*parts) / 16**16


def rng(*parts: object) -> random.Random:
    return random.Random(stable_int(*parts))
