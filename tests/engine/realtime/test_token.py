"""Pure: realtime JWTs are made and checked as the server does (HS256, issuer, expiry, topics)."""

from __future__ import annotations

import base64
import json

import pytest

from learninngest.engine.realtime import token
from learninngest.engine.realtime.messages import DEV_ACCOUNT_ID, DEV_ENV_ID, Topic

NOW = 1_800_000_000.0
TOPICS = [Topic("user:1", "messages"), Topic("user:1", "status")]


def make(**overrides: object) -> str:
    values: dict[str, object] = {
        "now": NOW,
        "jti": "01J00000000000000000000000",
        "account_id": DEV_ACCOUNT_ID,
        "env_id": DEV_ENV_ID,
        "topics": TOPICS,
    }
    return token.make(token.DEV_SECRET, **(values | overrides))  # type: ignore[arg-type]


def claims_of(jwt: str) -> dict[str, object]:
    body = jwt.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


def test_a_token_carries_the_servers_claims() -> None:
    claims = claims_of(make())

    assert claims["iss"] == "rt.inngest.com" and claims["sub"] == DEV_ACCOUNT_ID
    assert claims["env"] == DEV_ENV_ID and claims["publish"] is False
    assert claims["exp"] == int(NOW + 60) and claims["iat"] == int(NOW)
    assert claims["topics"] == [
        {"kind": "run", "env_id": DEV_ENV_ID, "channel": "user:1", "name": "messages"},
        {"kind": "run", "env_id": DEV_ENV_ID, "channel": "user:1", "name": "status"},
    ]


def test_a_valid_token_checks_out_with_its_topics() -> None:
    claims = token.check(token.DEV_SECRET, make(), now=NOW + 59)

    assert claims.topics == tuple(TOPICS) and not claims.publish and claims.expires_at == NOW + 60


def test_a_publishing_token_has_the_publish_claim_and_no_topics() -> None:
    claims = token.check(token.DEV_SECRET, make(topics=None, publish=True), now=NOW)

    assert claims.publish and claims.topics == ()


@pytest.mark.parametrize(
    ("jwt", "now", "why"),
    [
        (make(), NOW + 60, "expired"),
        (make(), NOW - 30, "used before issued"),
        ("not-a-jwt", NOW, "three dot-separated parts"),
        (make()[:-4] + "AAAA", NOW, "signature is invalid"),
        (token.make(b"another secret", now=NOW, jti="x", account_id="a", env_id="e"), NOW, "signature"),
    ],
)
def test_a_bad_token_is_refused_with_the_reason(jwt: str, now: float, why: str) -> None:
    with pytest.raises(token.BadToken, match=why):
        token.check(token.DEV_SECRET, jwt, now=now)


def test_an_unsigned_token_is_refused() -> None:
    header, body, _ = make().split(".")
    none_header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()

    with pytest.raises(token.BadToken, match="HS256"):
        token.check(token.DEV_SECRET, f"{none_header}.{body}.", now=NOW)
    assert header != none_header


def test_cloud_mode_signs_with_a_secret_of_its_own() -> None:
    assert token.secret_for(None) == b"dev-mode-is-not-secret"
    assert token.secret_for("signkey-prod-ab") not in {token.DEV_SECRET, token.secret_for("signkey-prod-cd")}
