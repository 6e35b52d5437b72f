"""Who may do what on the Realtime routes, as the server's `realtimeAuthMW` decides it.

A realtime JWT (a bearer, or `?token=` for socket libraries that cannot send headers)
gives its claims. Without one the ordinary API auth applies: nothing in dev mode, the
signing key's bearer in cloud mode (the engine has a signing key). Subscribing always needs
a JWT; publishing takes a JWT with the publish claim or the signing key; making tokens takes
the signing key (a JWT cannot make more tokens).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from learninngest.engine.clock import Clock
from learninngest.engine.realtime import token
from learninngest.engine.realtime.messages import DEV_ACCOUNT_ID, DEV_ENV_ID, Topic
from learninngest.engine.wire import signing


class RealtimeAuth:
    def __init__(self, signing_key: str | None, keys: Callable[[], list[str]], clock: Clock) -> None:
        self.secret = token.secret_for(signing_key)
        self._signed = bool(signing_key)
        self._keys = keys
        self.clock = clock

    def subscribe_token(self, jti: str, topics: list[Topic], expiry_s: float = token.DEFAULT_EXPIRY_S) -> str:
        """A subscription JWT for `topics` (the dev account and environment, as every token
        the engine makes: POST /v1/realtime/token, a durable endpoint's `realtime_token`)."""
        return token.make(
            self.secret,
            now=self.clock.now(),
            jti=jti,
            account_id=DEV_ACCOUNT_ID,
            env_id=DEV_ENV_ID,
            topics=topics,
            expiry_s=expiry_s,
        )

    def claims(self, headers: Mapping[str, str], query: Mapping[str, str]) -> token.Claims | None:
        """The request's realtime claims, or None (no token, or one that does not check out)."""
        raw = _raw_token(headers, query)
        if not raw:
            return None
        try:
            return token.check(self.secret, raw, now=self.clock.now())
        except token.BadToken:
            return None

    def why_not(self, headers: Mapping[str, str], query: Mapping[str, str]) -> str:
        """Why a subscriber's token was refused (for the 401's message)."""
        raw = _raw_token(headers, query)
        if not raw:
            return "no realtime token: send one from POST /v1/realtime/token as ?token= or a bearer"
        try:
            token.check(self.secret, raw, now=self.clock.now())
        except token.BadToken as exc:
            return f"invalid realtime token: {exc}; ask POST /v1/realtime/token for a new one"
        return ""

    def api_key_ok(self, headers: Mapping[str, str]) -> bool:
        """The ordinary API auth: always in dev mode, the signing key's bearer in cloud mode."""
        return not self._signed or signing.check_bearer(headers.get("authorization"), self._keys())


def _raw_token(headers: Mapping[str, str], query: Mapping[str, str]) -> str:
    """The bearer after `Bearer `, else `?token=`: where `claims` and `why_not` both look."""
    authorization = headers.get("authorization") or ""
    return (authorization[7:] if len(authorization) > 8 else "") or query.get("token") or ""
