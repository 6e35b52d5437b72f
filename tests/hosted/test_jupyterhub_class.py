"""A class of two on a real JupyterHub: ana and ben each run the stack and use their own pages.

The hub (jupyterhub + configurable-http-proxy, dummy login, local-process spawner) starts
both students' servers; each student's notebook kernel runs `kit.up()` with the defaults,
as the lesson's first cell does. Nobody tells the kit it is on a hub: it reads the hub's
JUPYTERHUB_SERVICE_PREFIX and prints links through the student's own server
(`/user/ana/proxy/<port>/`). Both servers serve one shared class folder, the harder case:
their stacks still share no port, no state file and no result.

Each student then logs in with a real headless Chromium, opens their chat page, Swagger
and dashboard through the hub, and gets their own answer; a student cannot open the
other's pages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from tests.browser import console_errors, screenshot
from tests.hosted.hub import Hub, proxy_installed
from tests.hosted.jupyter import Kernel
from tests.web.test_browser import ask, wait_until

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        not proxy_installed(),
        reason="configurable-http-proxy is not installed: `make hub-proxy` installs it (needs npm)",
    ),
]

QUESTIONS = {
    "ana": ("What is the capital of France?", "Paris"),
    "ben": ("What is the capital of Italy?", "Rome"),
}
FIRST_CELL = """
from learninngest import kit
stack = kit.up(engine_time_scale=0.01, log_level="WARNING")
stack
"""
FACTS = """
import json
print(json.dumps({
    "backend_url": stack.backend_url,
    "ports": [stack.backend.port, stack.engine.port],
    "engine_db": stack.settings.engine_db,
    "result_store_url": stack.settings.result_store_url,
}))
"""


@dataclass
class Student:
    name: str
    kernel: Kernel
    display_html: str
    facts: dict[str, Any]

    def links(self) -> dict[str, str]:
        return dict(re.findall(r"<tr><td>([^<]+)</td><td><a href='([^']+)'", self.display_html))


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    folder = tmp_path_factory.mktemp("jupyterhub")
    class_folder = folder / "class"
    class_folder.mkdir()
    # A slow model (about 1.5 s over its tokens), so each page shows its answer arrive.
    latency = {"OFFLINE_LATENCY_MEAN_MS": "1500", "OFFLINE_LATENCY_SPREAD_MS": "0"}
    hub = Hub(folder, users=("ana", "ben"), notebook_dir=class_folder, environment=latency)
    try:
        yield hub.start()
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def students(hub: Hub) -> Iterator[dict[str, Student]]:
    started: dict[str, Student] = {}
    try:
        for name in ("ana", "ben"):
            hub.start_server(name)
            kernel = Kernel(hub.user_url(name), hub.headers, "lesson.ipynb")
            display = kernel.run(FIRST_CELL)
            facts = json.loads(kernel.run(FACTS).text)
            started[name] = Student(name, kernel, "\n".join(d["text/html"] for d in display.data), facts)
        yield started
    finally:
        for student in started.values():
            student.kernel.close()


def forget_logins(browser: Any) -> None:
    # Every cookie of every path (the hub's login cookie lives under /hub/, a server's under
    # /user/<name>/): WebDriver's delete_all_cookies only sees the current page's.
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})


def log_in(browser: Any, hub: Hub, name: str, next_url: str) -> None:
    """Log in on the hub's page as `name` (the dummy authenticator takes any password)."""
    forget_logins(browser)  # the other student's session must not carry over
    browser.get(f"{hub.url}/hub/login?next={next_url}")
    if not browser.find_elements(By.ID, "username_input"):
        screenshot(browser, "hub-login-missing")
        raise AssertionError(f"no login form at {browser.current_url}:\n{browser.page_source[:3000]}")
    browser.find_element(By.ID, "username_input").send_keys(name)
    browser.find_element(By.ID, "password_input").send_keys("any password")
    browser.find_element(By.ID, "login_submit").click()


def test_each_kernel_finds_the_hub_and_prints_links_through_its_own_server(
    students: dict[str, Student],
) -> None:
    for name, student in students.items():
        backend, engine = student.facts["ports"]
        assert student.links() == {
            "chat page": f"/user/{name}/proxy/{backend}/",
            "swagger": f"/user/{name}/proxy/{backend}/docs",
            "dashboard": f"/user/{name}/proxy/{engine}/",
        }
        assert "pages open through JupyterHub (JUPYTERHUB_SERVICE_PREFIX)" in student.display_html


def test_the_two_stacks_share_no_port_and_no_file(students: dict[str, Student], hub: Hub) -> None:
    ana, ben = students["ana"].facts, students["ben"].facts
    assert not set(ana["ports"]) & set(ben["ports"])
    # One class folder, two state folders: the first stack keeps .learninngest/, the second
    # finds it locked and takes .learninngest/stack-2/.
    assert ana["engine_db"] == ".learninngest/engine.db"
    assert ben["engine_db"] == ".learninngest/stack-2/engine.db"
    assert ana["result_store_url"] != ben["result_store_url"]
    state = hub.notebook_dir / ".learninngest"
    assert (state / "engine.db").is_file() and (state / "stack-2" / "engine.db").is_file()


def test_each_student_uses_their_own_pages_through_the_hub(
    browser: Any, hub: Hub, students: dict[str, Student]
) -> None:
    request_ids: dict[str, str] = {}
    for name, student in students.items():
        question, answer = QUESTIONS[name]
        links = student.links()
        log_in(browser, hub, name, links["chat page"])
        wait_until(browser, lambda d: d.title == "LearnInngest chat")
        assert browser.current_url == hub.url + links["chat page"]
        request_ids[name] = ask(browser, None, question)
        screenshot(browser, f"hub-{name}-chat-page")
        final = browser.find_element(By.ID, "answer").text
        assert answer in final
        partial = [
            a["text"] for a in browser.execute_script("return window.__answers") if a["state"] == "streaming"
        ]
        assert partial and len(partial[0]) < len(final)  # streamed through the hub and the server's proxy
        stored = student.kernel.run(
            f"print(kit.wait_for_result({request_ids[name]!r})['content'])"
        ).text.strip()
        assert final == stored

        browser.get(hub.url + links["swagger"])
        wait_until(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= 5)

        browser.get(hub.url + links["dashboard"])
        shown = request_ids[name]
        wait_until(browser, lambda d, shown=shown: shown in d.page_source)
        assert not [rid for rid in request_ids.values() if rid != shown and rid in browser.page_source]
        screenshot(browser, f"hub-{name}-dashboard")
        assert console_errors(browser) == []

    # Neither stack knows the other's request; neither student can open the other's pages.
    for name, other in (("ana", "ben"), ("ben", "ana")):
        url = f"stack.backend_url + '/api/v1/chat/result/{request_ids[other]}'"
        check = f"import httpx; print(httpx.get({url}).status_code)"
        assert students[name].kernel.run(check).text.strip() == "404"
    log_in(browser, hub, "ben", students["ben"].links()["chat page"])
    wait_until(browser, lambda d: d.title == "LearnInngest chat")
    browser.get(hub.url + students["ana"].links()["chat page"])
    wait_until(browser, lambda d: d.find_element(By.TAG_NAME, "body").text)
    assert browser.title != "LearnInngest chat"
    assert "403" in browser.page_source or "not allowed" in browser.page_source.lower()
    forget_logins(browser)
    console_errors(browser)  # the refusal's 403 is expected; the next test starts from a clean log


def test_the_hub_folder_is_this_tests_own(hub: Hub) -> None:
    # Nothing outside the test's folder: the homes, the database, the class's state.
    assert (hub.folder / "home" / "ana").is_dir() and (hub.folder / "home" / "ben").is_dir()
    assert Path(hub.folder / "jupyterhub.sqlite").is_file()
