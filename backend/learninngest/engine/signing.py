"""Pure: sign calls to an app and verify its signed replies, check the SDK's bearer token.

HMAC-SHA256 keyed with the signing key text without its `signkey-<word>-` prefix,
over body bytes + decimal timestamp; header `X-Inngest-Signature: t=<s>&s=<hex>`.
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


def verify(body: bytes, header: str | None, keys: list[str]) -> bool:
    """True when `header` signs `body` with one of `keys` (raw bytes, as the SDK signs replies)."""
    if not header:
        return False
    fields = parse_qs(header)
    ts, sig = fields.get("t", [""])[0], fields.get("s", [""])[0]
    if not ts or not sig:
        return False
    return any(hmac.compare_digest(_mac(body, key, ts), sig) for key in keys if key)


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
