"""Canonical JSON (RFC 8785, JCS) bytes: the C `json` encoder where it is provably the same
bytes as the `rfc8785` package, that package everywhere else.

`json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)` writes exactly what JCS
writes for a body made only of dict, list, str, exact int, bool and None when:
- every float is finite, not integral and 1e-4 <= |f| < 1e16: there `repr` writes plain
  decimal digits, the shortest that read back as f, which is what ECMAScript writes (and what
  rfc8785 writes: it starts from `str(f)` and only rewrites `.0` and exponents). Elsewhere the
  two differ (`1.0` is `1`, `1e-05` is `0.00001`, `1e+16` is `10000000000000000`, `-0.0` is `0`);
- every int is within ±(2**53 - 1): rfc8785 refuses larger ones (IntegerDomainError);
- every key is a str with no character past U+FFFF: JCS orders keys by their UTF-16 code
  units, Python by code points, and the two orders differ only where a surrogate pair
  (an astral character) meets a character in U+E000-U+FFFF;
- the text encodes to UTF-8 (no lone surrogate; rfc8785 refuses those).
Strings are escaped the same way by both: `"`, `\\`, `\\b \\f \\n \\r \\t`, other characters below
U+0020 as `\\u00xx` (lower-case hex); everything else (DEL, U+2028, astral characters) as is.
Subclasses (a StrEnum, an IntEnum, an OrderedDict), tuples and anything else take the slow
path, which also raises exactly what it raised before for what JCS cannot write.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

_INT_MAX = 2**53 - 1
_BMP_MAX = "\uffff"
_SCALARS = (str, bool, type(None))


def dumps(body: Any) -> bytes:
    """JCS bytes of `body`, byte for byte what `rfc8785.dumps(body)` returns (or raises)."""
    try:
        if _plain(body):
            text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            return text.encode("utf-8")
    except (RecursionError, UnicodeEncodeError):
        pass  # too deep, or a lone surrogate: rfc8785 answers (or raises) as it always did
    return rfc8785.dumps(body)


def _plain(value: Any) -> bool:
    """Only exact dicts with str keys in the BMP, lists, str, bool, None, safe ints and floats."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not (key.isascii() or max(key, default="") <= _BMP_MAX):
                return False
            if type(item) not in _SCALARS and not _plain(item):
                return False
        return True
    if kind is list:
        return all(type(item) in _SCALARS or _plain(item) for item in value)
    if kind is int:
        return -_INT_MAX <= value <= _INT_MAX
    if kind is float:
        return 1e-4 <= abs(value) < 1e16 and not value.is_integer()  # NaN fails the first test
    return kind in _SCALARS
