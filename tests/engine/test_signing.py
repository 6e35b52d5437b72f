"""Pure: signatures and bearer tokens (signing.py), checked against the SDK's own code."""

from __future__ import annotations

import hashlib
import hmac

from inngest._internal import transforms

from learninngest.engine.wire import signing

KEY = "signkey-test-" + "ab12" * 16


def test_signature_uses_the_stripped_key_text() -> None:
    header = signing.sign(b'{"a":1}', KEY, ts=1700000000)
    want = hmac.new(("ab12" * 16).encode(), b'{"a":1}1700000000', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000&s={want}"


def test_verify_accepts_own_signature_and_fallback_rejects_tampering() -> None:
    header = signing.sign(b"body", KEY, ts=5)
    assert signing.verify(b"body", header, [KEY], now=5)
    assert signing.verify(b"body", header, ["signkey-test-00", KEY], now=5)
    assert not signing.verify(b"body!", header, [KEY], now=5)
    assert not signing.verify(b"body", header, ["signkey-test-" + "cd34" * 16], now=5)
    assert not signing.verify(b"body", None, [KEY])
    assert not signing.verify(b"body", "garbage", [KEY])


def test_signatures_are_valid_for_five_minutes_either_way() -> None:
    header = signing.sign(b"body", KEY, ts=1_700_000_000)
    for now in (1_700_000_000 - 300, 1_700_000_000, 1_700_000_000 + 300):
        assert signing.problem(b"body", header, [KEY], now=now) is None
    assert signing.problem(b"body", header, [KEY], now=1_700_000_000 + 301) == (
        "signature 301 s old (more than 300 s: a replay or a wrong clock)"
    )
    assert signing.problem(b"body", header, [KEY], now=1_700_000_000 - 86_400) == (
        "signature 86400 s in the future (more than 300 s: a replay or a wrong clock)"
    )
    assert signing.verify(b"body", signing.sign(b"body", KEY), [KEY])  # now, by default
    assert signing.problem(b"body", "t=x&s=y", [KEY]) == "wrong key"


def test_bearer_matches_the_sdk_hash_and_the_raw_key() -> None:
    sdk_token = transforms.hash_signing_key(KEY)
    assert signing.check_bearer(f"Bearer {sdk_token}", [KEY])
    assert signing.check_bearer(f"Bearer {KEY}", [KEY])
    assert not signing.check_bearer("Bearer nope", [KEY])
    assert not signing.check_bearer(None, [KEY])
    assert signing.check_bearer(
        "Bearer " + transforms.hash_signing_key("signkey-prod-12345678"), ["signkey-prod-12345678"]
    )


def test_spec_example_hash() -> None:
    assert "b2ed992186a5cb19f6668aade821f502c1d00970dfd0e35128d51bac4649916c" in signing.bearer_tokens(
        "signkey-prod-12345678"
    )
