"""Security headers (security_headers.py) on the chat page, /docs, the API and the engine dashboard.

Each header is checked on real servers; that the pages still work under the policy is
what tests/web/test_browser.py checks in Chromium (no console error, CSP violations
included), and the last test here shows a page of another origin cannot frame the
engine's login.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.kit.servers import BackgroundServer, free_port
from tests.browser import console_errors, screenshot
from tests.engine.harness import TEST_SIGNING_KEY, local_engine


def assert_secured(reply: httpx.Response) -> str:
    """The four headers are there; returns the Content-Security-Policy."""
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["x-frame-options"] == "DENY"
    assert reply.headers["referrer-policy"] == "same-origin"
    policy = reply.headers["content-security-policy"]
    for directive in ("default-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'self'"):
        assert directive in policy, (reply.url, policy)
    return policy


@pytest.fixture
def backend(sqlite_path: Path) -> Iterator[BackgroundServer]:
    settings = get_settings(port=free_port(), result_store_url=f"sqlite:///{sqlite_path}")
    with BackgroundServer(create_app(settings), name="backend", port=settings.port) as server:
        yield server


def test_the_chat_page_and_the_api_allow_no_inline_code(backend: BackgroundServer) -> None:
    for path, status in (
        ("/", 200),
        ("/web/chat.js", 200),
        ("/api/v1/chat/result/nope", 404),
        ("/healthz", 200),
    ):
        reply = httpx.get(f"{backend.url}{path}")
        assert reply.status_code == status
        policy = assert_secured(reply)
        assert "unsafe-inline" not in policy and "script-src" not in policy  # default-src 'self' only


def test_swagger_gets_exactly_the_hash_of_its_own_inline_script(backend: BackgroundServer) -> None:
    reply = httpx.get(f"{backend.url}/docs")
    policy = assert_secured(reply)
    scripts = re.findall(r"<script>(.*?)</script>", reply.text, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    script_src = next(d for d in policy.split("; ") if d.startswith("script-src"))
    assert script_src == f"script-src 'self' 'sha256-{digest}'"
    assert "unsafe-inline" not in script_src


def test_the_engine_dashboard_and_its_login_cannot_be_framed() -> None:
    with local_engine(signing_key=TEST_SIGNING_KEY) as host:
        login = httpx.get(f"{host.url}/")
        assert login.status_code == 401 and "Log in" in login.text
        policy = assert_secured(login)
        assert "style-src 'self' 'unsafe-inline'" in policy and "script-src" not in policy
        assert_secured(
            httpx.get(f"{host.url}/v1/events", headers={"Authorization": f"Bearer {TEST_SIGNING_KEY}"})
        )
    with local_engine() as host:
        assert_secured(httpx.get(f"{host.url}/"))


def test_a_page_of_another_origin_cannot_frame_the_engine_login(browser: Any) -> None:
    with local_engine(signing_key=TEST_SIGNING_KEY) as host:
        framer = FastAPI()

        @framer.get("/")
        async def page() -> HTMLResponse:
            return HTMLResponse(f"<!doctype html><iframe id='f' src='{host.url}/'></iframe>")

        with BackgroundServer(framer, name="framer", port=free_port()) as other:
            console_errors(browser)  # start from an empty log
            browser.get(f"{other.url}/")
            WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "f"))

            def refused(driver: Any) -> list[str]:
                return [m for m in console_errors(driver) if "frame-ancestors" in m or "X-Frame-Options" in m]

            assert WebDriverWait(browser, 30, poll_frequency=0.2).until(refused)
            screenshot(browser, "engine-login-not-framed")
            browser.switch_to.frame("f")
            assert "Log in" not in browser.find_element(By.TAG_NAME, "body").text
            browser.switch_to.default_content()
