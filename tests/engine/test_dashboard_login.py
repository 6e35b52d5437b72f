"""The signed dashboard's session expires, and its login form takes a bounded number of wrong keys."""

from __future__ import annotations

import time

import httpx
import pytest

from learninngest.engine.http import dashboard_auth
from learninngest.engine.http.dashboard_auth import (
    COOKIE,
    LOGIN_FAILURES,
    LOGIN_WINDOW_S,
    SESSION_TTL_S,
    session_token,
)
from tests.engine.harness import TEST_SIGNING_KEY, local_engine
from tests.support import capture_log


def test_the_session_cookie_expires_and_its_expiry_cannot_be_changed() -> None:
    with local_engine(signing_key=TEST_SIGNING_KEY) as host, httpx.Client(base_url=host.url) as browser:
        login = browser.post("/dashboard/login", data={"key": TEST_SIGNING_KEY}, headers={"origin": host.url})
        assert login.status_code == 303
        assert f"max-age={SESSION_TTL_S}" in login.headers["set-cookie"].lower()
        expires, _, mac = login.cookies[COOKIE].partition(".")
        assert abs(int(expires) - (time.time() + SESSION_TTL_S)) < 60
        assert browser.get("/").status_code == 200

        now = int(time.time())
        past = session_token(TEST_SIGNING_KEY, now - 1)
        assert httpx.get(f"{host.url}/", cookies={COOKIE: past}).status_code == 401
        stretched = f"{now + 10 * SESSION_TTL_S}.{mac}"  # a later expiry with the old HMAC
        assert httpx.get(f"{host.url}/", cookies={COOKIE: stretched}).status_code == 401
        assert httpx.get(f"{host.url}/", cookies={COOKIE: f"{now + 60}.nothex"}).status_code == 401
        fresh = session_token(TEST_SIGNING_KEY, now + 60)
        assert httpx.get(f"{host.url}/", cookies={COOKIE: fresh}).status_code == 200


def test_wrong_keys_at_the_login_form_are_limited_per_address_and_logged_sparingly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dashboard_auth, "LOG_INTERVAL_S", 3600.0)

    def scenario() -> tuple[list[int], httpx.Response, httpx.Response, list[str]]:
        with (
            local_engine(signing_key=TEST_SIGNING_KEY) as host,
            httpx.Client(base_url=host.url, headers={"origin": host.url}) as browser,
            capture_log("learninngest.engine") as log,
        ):
            wrong = [
                browser.post("/dashboard/login", data={"key": f"signkey-test-{n:02d}"}).status_code
                for n in range(LOGIN_FAILURES)
            ]
            blocked = browser.post("/dashboard/login", data={"key": "signkey-test-xx"})
            right_key_too = browser.post("/dashboard/login", data={"key": TEST_SIGNING_KEY})
        return wrong, blocked, right_key_too, [line for line in log.lines if "login failed" in line]

    for _ in range(2):  # a run across a minute's end counts in two windows: run it once more
        window = int(time.time() // LOGIN_WINDOW_S)
        wrong, blocked, right_key_too, lines = scenario()
        if int(time.time() // LOGIN_WINDOW_S) == window:
            break
    assert wrong == [401] * LOGIN_FAILURES
    assert blocked.status_code == 429 and "Too many wrong keys from this address" in blocked.text
    assert 1 <= int(blocked.headers["Retry-After"]) <= LOGIN_WINDOW_S
    assert right_key_too.status_code == 429  # no more guesses this minute, right or wrong
    assert lines == [
        "WARNING learninngest.engine [-] dashboard login failed from 127.0.0.1: not the signing key"
    ]
