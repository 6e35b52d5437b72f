"""Pure: Realtime's JWTs (HS256), made and checked as the server does (realtime/token.go).

A subscription token names the topics it may listen to; it is signed with the server's
secret, issued by `rt.inngest.com`, carries `sub` (the account), `env`, `topics`, `publish`
(false: a publishing token is made with `publish=True` and no topics), `iat`, `exp` (a
minute after issue by default) and a ULID `jti`. Checking wants HS256, that issuer, an
expiry still ahead and an issue time not in the future; times come from the caller's clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from learninngest.engine.realtime.messages import BadTopic, Topic, topic_from

ISSUER = "rt.inngest.com"
DEFAULT_EXPIRY_S = 60.0
DEV_SECRET = b"dev-mode-is-not-secret"
"""The Dev Server's realtime secret (consts.DevServerRealtimeJWTSecret): tokens work across both."""


class BadToken(Exception):
    """A token that is not a valid realtime JWT; the message says why."""


@dataclass(frozen=True)
class Claims:
    account_id: str
    env_id: str
    topics: tuple[Topic, ...]
    publish: bool
    expires_at: float


def secret_for(signing_key: str | None) -> bytes:
    """The dev secret without a signing key; with one (cloud mode), a secret derived from it."""
    if not signing_key:
        return DEV_SECRET
    return hmac.new(signing_key.encode(), b"learninngest realtime jwt", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make(
    secret: bytes,
    *,
    now: float,
    jti: str,
    account_id: str,
    env_id: str,
    topics: list[Topic] | None = None,
    publish: bool = False,
    expiry_s: float = DEFAULT_EXPIRY_S,
) -> str:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": account_id,
        "exp": int(now + expiry_s),
        "iat": int(now),
        "jti": jti,
        "env": env_id,
        "topics": [t.to_claim() for t in topics] if topics else None,
        "publish": publish,
    }
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


def check(secret: bytes, token: str, *, now: float) -> Claims:
    """The token's claims, or BadToken saying what is wrong with it."""
    parts = token.split(".")
    if len(parts) != 3:
        raise BadToken("not a JWT (three dot-separated parts)")
    try:
        header = json.loads(_unb64(parts[0]))
        claims = json.loads(_unb64(parts[1]))
        signature = _unb64(parts[2])
    except (ValueError, binascii.Error) as exc:
        raise BadToken("not a JWT (its parts are not base64url JSON)") from exc
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise BadToken("signing method must be HS256")
    expected = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise BadToken("signature is invalid")
    if not isinstance(claims, dict) or claims.get("iss") != ISSUER:
        raise BadToken(f"issuer must be {ISSUER}")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float):
        raise BadToken("token has no expiry")
    if now >= exp:
        raise BadToken("token is expired")
    if isinstance(iat, int | float) and iat > now + 1:  # a second of leeway for clock rounding
        raise BadToken("token used before issued")
    env = str(claims.get("env") or "")
    try:
        topics = tuple(topic_from(t) for t in claims.get("topics") or [])
    except BadTopic as exc:
        raise BadToken(str(exc)) from exc
    return Claims(
        account_id=str(claims.get("sub") or ""),
        env_id=env,
        topics=topics,
        publish=claims.get("publish") is True,
        expires_at=float(exp),
    )
