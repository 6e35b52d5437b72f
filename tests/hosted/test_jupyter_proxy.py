"""A remote Jupyter server: the stack comes up in a notebook's kernel, the pages open through the proxy.

A real `jupyter server` with jupyter-server-proxy runs as JupyterHub runs a student's
server: a token, and a base URL `/user/ana/`. Nothing of the kit listens anywhere but
127.0.0.1, so the browser (a real headless Chromium) reaches the chat page, Swagger and
the engine's dashboard only as `/user/ana/proxy/<port>/`. The kernel is started through
the server's API and runs the cells over its websocket, as a notebook in a browser does.

The server is told where it is with the explicit setting (KIT_PROXY_URL); the JupyterHub
test (test_jupyterhub_class.py) covers detection from the hub's own variables.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By

from tests.browser import console_errors, screenshot
from tests.hosted.jupyter import JupyterServer, Kernel
from tests.web.test_browser import ask, wait_until

pytestmark = pytest.mark.timeout(240)

START_STACK = """
from learninngest import kit
stack = kit.up(engine_time_scale=0.01, log_level="WARNING")
stack
"""
FACTS = """
import json, os
print(json.dumps({"backend": stack.backend.port, "engine": stack.engine.port, "cwd": os.getcwd()}))
"""


@dataclass
class Hosted:
    server: JupyterServer
    kernel: Kernel
    display: Any
    backend_port: int
    engine_port: int

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def proxied(self, port: int, path: str = "") -> str:
        return f"{self.server.url}proxy/{port}/{path}"


@pytest.fixture(scope="module")
def hosted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosted]:
    folder = tmp_path_factory.mktemp("jupyter-server")
    env = {
        "KIT_PROXY_URL": "/user/ana/proxy/{port}/",
        # A slow model (about 1.5 s over its tokens): the page has time to show them arrive.
        "OFFLINE_LATENCY_MEAN_MS": "1500",
        "OFFLINE_LATENCY_SPREAD_MS": "0",
    }
    server = JupyterServer(folder, base_url="/user/ana/", env=env).start()
    (server.root / "class").mkdir()
    kernel = None
    try:
        kernel = Kernel(server.url, server.headers, "class/lesson.ipynb")
        display = kernel.run(START_STACK)
        facts = json.loads(kernel.run(FACTS).text)
        assert Path(facts["cwd"]) == folder / "root" / "class"  # the notebook's folder
        yield Hosted(server, kernel, display, facts["backend"], facts["engine"])
    finally:
        if kernel is not None:
            kernel.close()
        server.stop()


@pytest.fixture
def logged_in(browser: Any, hosted: Hosted) -> Any:
    """The browser with the Jupyter server's login cookie, as after opening the token link."""
    browser.get(f"{hosted.server.url}api/status?token={hosted.server.token}")
    browser.get(f"{hosted.server.url}api/status")  # the cookie alone is enough now
    assert '"started"' in browser.page_source, browser.page_source[:300]
    console_errors(browser)
    return browser


def links(html: str) -> dict[str, str]:
    """The display's links: name -> href."""
    return dict(re.findall(r"<tr><td>([^<]+)</td><td><a href='([^']+)'", html))


def test_the_kit_prints_links_through_the_proxy(hosted: Hosted) -> None:
    shown = links(hosted.display.html())
    assert shown == {
        "chat page": f"/user/ana/proxy/{hosted.backend_port}/",
        "swagger": f"/user/ana/proxy/{hosted.backend_port}/docs",
        "dashboard": f"/user/ana/proxy/{hosted.engine_port}/",
    }
    text = hosted.display.plain()
    assert "pages open through KIT_PROXY_URL" in text
    # The kernel's own addresses stay for code in cells, but are not offered as links.
    assert f"<code>http://127.0.0.1:{hosted.backend_port}</code>" in hosted.display.html()


def test_the_proxy_needs_the_jupyter_login(hosted: Hosted) -> None:
    reply = httpx.get(hosted.proxied(hosted.backend_port))
    assert reply.status_code in (302, 403)
    assert "LearnInngest chat" not in reply.text


def test_the_chat_page_streams_an_answer_through_the_proxy(logged_in: Any, hosted: Hosted) -> None:
    browser = logged_in
    browser.get(hosted.origin + links(hosted.display.html())["chat page"])
    assert browser.title == "LearnInngest chat"
    request_id = ask(browser, None, "What is the capital of France?")
    screenshot(browser, "hosted-chat-page")

    final = browser.find_element(By.ID, "answer").text
    assert "Paris" in final and browser.find_element(By.ID, "status").text == "done"
    # Tokens arrived one by one through the proxy (jupyter-server-proxy streams SSE).
    partial = [
        a["text"] for a in browser.execute_script("return window.__answers") if a["state"] == "streaming"
    ]
    assert partial and len(partial[0]) < len(final)
    stored = hosted.kernel.run(f"print(kit.wait_for_result({request_id!r})['content'])").text.strip()
    assert final == stored

    # The page's link to the run goes through the proxy too, and opens the run's timeline.
    link = wait_until(
        browser,
        lambda d: d.find_element(By.ID, "run-link").is_displayed() and d.find_element(By.ID, "run-link"),
    )
    href = link.get_attribute("href")
    assert href.startswith(f"{hosted.origin}/user/ana/proxy/{hosted.engine_port}/runs/"), href
    assert console_errors(browser) == []
    browser.get(href)
    wait_until(browser, lambda d: "Timeline" in d.find_element(By.TAG_NAME, "body").text)
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "generate" in body and "save" in body and request_id in body
    screenshot(browser, "hosted-dashboard-run")
    # Back to the dashboard's home, still under the proxy, where the run is listed.
    browser.find_element(By.LINK_TEXT, "← engine").click()
    wait_until(browser, lambda d: "Recent events" in d.find_element(By.TAG_NAME, "body").text)
    assert browser.current_url == hosted.proxied(hosted.engine_port)
    assert request_id in browser.page_source
    assert console_errors(browser) == []


def test_swagger_works_through_the_proxy(logged_in: Any, hosted: Hosted) -> None:
    browser = logged_in
    browser.get(hosted.origin + links(hosted.display.html())["swagger"])
    wait_until(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= 5)
    screenshot(browser, "hosted-swagger")
    # "Try it out" sends to the proxied server (the OpenAPI `servers` entry), and gets an answer.
    health = next(
        b for b in browser.find_elements(By.CSS_SELECTOR, ".opblock") if "/healthz" in b.text.split("\n")[1:3]
    )
    health.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait_until(browser, lambda d: health.find_elements(By.CSS_SELECTOR, ".try-out__btn"))
    health.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
    health.find_element(By.CSS_SELECTOR, ".execute").click()
    wait_until(
        browser,
        lambda d: health.find_elements(By.CSS_SELECTOR, ".live-responses-table tbody .response-col_status"),
    )
    assert health.find_element(
        By.CSS_SELECTOR, ".live-responses-table tbody .response-col_status"
    ).text.startswith("200")
    url = health.find_element(By.CSS_SELECTOR, ".request-url pre").text
    assert url == hosted.proxied(hosted.backend_port, "healthz"), url
    assert console_errors(browser) == []


def test_the_dashboard_link_the_kit_prints_opens(logged_in: Any, hosted: Hosted) -> None:
    browser = logged_in
    browser.get(hosted.origin + links(hosted.display.html())["dashboard"])
    wait_until(browser, lambda d: "LearnInngest engine" in d.find_element(By.TAG_NAME, "body").text)
    assert "learninngest-chat-worker" in browser.page_source
    screenshot(browser, "hosted-dashboard")
    # kit.print_run's "dashboard:" line is a link through the proxy too.
    printed = hosted.kernel.run(
        "request_id = kit.send('Why is the sky blue?')['request_id']\n"
        "kit.wait_for_result(request_id)\n"
        "print(kit.run_url(kit.runs_of(request_id)[0]))"
    ).text.strip()
    assert printed.startswith(f"/user/ana/proxy/{hosted.engine_port}/runs/")
    browser.get(hosted.origin + printed)
    wait_until(browser, lambda d: "Timeline" in d.find_element(By.TAG_NAME, "body").text)
    assert console_errors(browser) == []
