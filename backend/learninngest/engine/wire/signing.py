"""Pure: sign calls to an app and verify its signed replies, check the SDK's bearer token.

HMAC-SHA256 keyed with the signing key text without its `signkey-<word>-` prefix,
over body bytes + decimal timestamp; header `X-Inngest-Signature: t=<s>&s=<hex>`.
A signature dated more than MAX_SKEW_S from now is refused (a replay, or a wrong clock):
the SDK does not check `t`, the TypeScript SDK allows 5 minutes, and so does this engine.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from urllib.parse import parse_qs

_PREFIX = re.compile(r"^signkey-\w+-")


def strip_prefix(key: str) -> str:
    match = _PREFIX.match(key)
    return key[match.end() :] if match else key


def _mac(body: bytes, key: str, ts: str) -> str:
    return hmac.new(strip_prefix(key).encode("utf-8"), body + ts.encode(), hashlib.sha256).hexdigest()


def sign(body: bytes, key: str, ts: int | None = None) -> str:
    """The X-Inngest-Signature value for `body` (send exactly these bytes)."""
    t = str(int(time.time()) if ts is None else ts)
    return f"t={t}&s={_mac(body, key, t)}"


MAX_SKEW_S = 300


def problem(
    body: bytes, header: str | None, keys: list[str], now: float | None = None, max_skew_s: float = MAX_SKEW_S
) -> str | None:
    """None when `header` signs `body` with one of `keys`, dated within `max_skew_s` of `now`.

    Otherwise a short reason. Raw bytes are checked, as the SDK signs its replies.
    """
    if not header:
        return "unsigned"
    fields = parse_qs(header)
    ts, sig = fields.get("t", [""])[0], fields.get("s", [""])[0]
    if not ts or not sig:
        return "malformed signature header"
    if not any(hmac.compare_digest(_mac(body, key, ts), sig) for key in keys if key):
        return "wrong key"
    try:
        skew = int(ts) - (time.time() if now is None else now)
    except ValueError:
        return "malformed signature timestamp"
    if abs(skew) > max_skew_s:
        when = "in the future" if skew > 0 else "old"
        return f"signature {abs(skew):.0f} s {when} (more than {max_skew_s:g} s: a replay or a wrong clock)"
    return None


def verify(body: bytes, header: str | None, keys: list[str], now: float | None = None) -> bool:
    """True when `header` signs `body` with one of `keys` and is dated within 5 minutes of now."""
    return problem(body, header, keys, now) is None


def bearer_tokens(key: str) -> set[str]:
    """Tokens accepted for `key`: the SDK's sha256 of the hex-decoded body, or the raw key."""
    body = strip_prefix(key)
    tokens = {key, body}
    try:
        hashed = hashlib.sha256(bytes.fromhex(body)).hexdigest()
    except ValueError:
        return tokens
    prefix = key[: len(key) - len(body)]
    return tokens | {hashed, prefix + hashed}


def check_bearer(authorization: str | None, keys: list[str]) -> bool:
    if not authorization or not authorization.lower().startswith("bearer "):
        return False
    token = authorization[7:].strip()
    return any(hmac.compare_digest(token, t) for key in keys if key for t in bearer_tokens(key))
