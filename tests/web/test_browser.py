"""In a real headless Chromium: the chat page streams, the Swagger UI and the engine dashboard render.

Each test leaves a screenshot (tests/browser.py says where). The page is checked the way
a user sees it: text appears before the answer is complete, and the final text is the
stored result. Waits have deadlines; nothing depends on how fast the machine is.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from learninngest.kit import cells
from learninngest.kit.stack import Stack
from tests.browser import console_errors, screenshot
from tests.e2e.conftest import make_stack

FRANCE = "What is the capital of France?"
DEADLINE_S = 60

# Records what #answer shows at every change, with the page's state at that moment.
WATCH_ANSWER = """
window.__answers = [];
const answer = document.getElementById('answer');
new MutationObserver(() => window.__answers.push(
  {text: answer.textContent, state: answer.dataset.state}
)).observe(answer, {childList: true, characterData: true, subtree: true, attributes: true});
"""


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    # A slow model (about 2 s, spread over the tokens), so the page has time to show them.
    running = make_stack(tmp_path, offline_latency_mean_ms=2000, offline_latency_spread_ms=0).up()
    yield running
    running.down()


def wait_until(driver: Any, check: Any) -> Any:
    return WebDriverWait(driver, DEADLINE_S, poll_frequency=0.1).until(lambda d: check(d))


def ask(driver: Any, stack: Stack, question: str, mode: str = "stream") -> str:
    """Type a question, pick a mode, send, and wait until the page shows the final answer."""
    driver.find_element(By.CSS_SELECTOR, f"input[name=mode][value='{mode}']").click()
    box = driver.find_element(By.ID, "query")
    box.clear()
    box.send_keys(question)
    driver.execute_script(WATCH_ANSWER)
    driver.find_element(By.ID, "send").click()
    wait_until(
        driver, lambda d: d.find_element(By.ID, "answer").get_attribute("data-state") in {"done", "error"}
    )
    return driver.find_element(By.ID, "request-id").text


def stored(stack: Stack, request_id: str) -> dict[str, Any]:
    return httpx.get(f"{stack.backend_url}/api/v1/chat/result/{request_id}").json()


def test_the_chat_page_streams_tokens_then_shows_the_stored_result(browser: Any, stack: Stack) -> None:
    browser.get(f"{stack.backend_url}/")
    console_errors(browser)  # start from an empty console log

    request_id = ask(browser, stack, FRANCE)
    screenshot(browser, "chat-page-streaming")

    answers = browser.execute_script("return window.__answers")
    final = browser.find_element(By.ID, "answer").text
    assert final == stored(stack, request_id)["content"]
    assert "Paris" in final
    partial = [a["text"] for a in answers if a["state"] == "streaming" and a["text"]]
    # Text appeared before the answer was complete: shorter prefixes of it, then more.
    assert partial and len(partial[0]) < len(final)
    assert browser.find_element(By.ID, "status").text == "done"
    row = browser.find_element(By.CSS_SELECTOR, "#timings tbody tr[data-mode='stream']")
    assert request_id in row.text
    link = wait_until(
        browser,
        lambda d: d.find_element(By.ID, "run-link").is_displayed() and d.find_element(By.ID, "run-link"),
    )
    assert link.get_attribute("href").startswith(f"{stack.inngest_url}/runs/")
    assert console_errors(browser) == []


def test_a_retry_drops_the_partial_text_and_says_so(browser: Any, stack: Stack) -> None:
    browser.get(f"{stack.backend_url}/")
    request_id = ask(browser, stack, f"{FRANCE} [fault:500,after=4]")
    screenshot(browser, "chat-page-retry")

    assert "Attempt 1 failed mid-answer" in browser.find_element(By.ID, "notice").text
    assert browser.find_element(By.ID, "answer").text == stored(stack, request_id)["content"]
    assert "attempt 2" in browser.find_element(By.ID, "attempt").text
    assert console_errors(browser) == []


# When the notice of a retry appears, in the page's own clock from the moment Send is pressed.
WATCH_RETRY = """
window.__retryAt = null;
document.getElementById('ask').addEventListener(
  'submit', () => { window.__sentAt = performance.now(); }, true);
new MutationObserver(() => {
  if (window.__retryAt === null && document.getElementById('notice').textContent)
    window.__retryAt = performance.now();
}).observe(document.getElementById('notice'), {childList: true, characterData: true, subtree: true});
"""


def seconds_of(cell: str) -> float:
    return float(cell.removesuffix(" s"))


def test_after_a_retry_the_first_token_is_the_answering_attempts(browser: Any, stack: Stack) -> None:
    browser.get(f"{stack.backend_url}/")
    browser.execute_script(WATCH_RETRY)
    ask(browser, stack, f"{FRANCE} [fault:500,after=4]")
    retry_at = browser.execute_script("return (window.__retryAt - window.__sentAt) / 1000")
    row = browser.find_elements(By.CSS_SELECTOR, "#timings tbody tr[data-mode='stream'] td")
    first_token, total = seconds_of(row[2].text), seconds_of(row[3].text)
    # Attempt 1 streamed four tokens before it failed; those do not count: the first token
    # shown is attempt 2's, which came after the page said attempt 1 failed (the table
    # rounds to 0.01 s).
    assert first_token >= round(retry_at, 2) - 0.01, (first_token, retry_at)
    assert first_token <= total
    assert console_errors(browser) == []


def test_the_page_does_not_scroll_sideways_at_400_px(browser: Any, stack: Stack) -> None:
    # A phone's width (headless Chromium's window is at least 500 px wide: emulate the screen).
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 400, "height": 900, "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        browser.get(f"{stack.backend_url}/")
        for mode in ("stream", "poll"):  # the timings table then holds two long request ids
            ask(browser, stack, FRANCE, mode)
        wait_until(browser, lambda d: d.find_element(By.ID, "run-link").is_displayed())
        screenshot(browser, "chat-page-400px")
        widths = browser.execute_script(
            "const root = document.documentElement;"
            "return [window.innerWidth, root.scrollWidth, root.clientWidth]"
        )
        assert widths[0] == 400
        assert widths[1] <= widths[2], f"the page is {widths[1]} px wide in a {widths[2]} px window"
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_long_poll_and_polling_give_the_same_answer_and_timings(browser: Any, stack: Stack) -> None:
    browser.get(f"{stack.backend_url}/")
    for mode in ("long-poll", "poll"):
        request_id = ask(browser, stack, FRANCE, mode)
        assert browser.find_element(By.ID, "answer").text == stored(stack, request_id)["content"]
        cells_text = browser.find_element(By.CSS_SELECTOR, f"#timings tbody tr[data-mode='{mode}']").text
        assert request_id in cells_text and " s" in cells_text
    screenshot(browser, "chat-page-timings")
    assert console_errors(browser) == []


def test_swagger_renders_every_route_offline(browser: Any, stack: Stack) -> None:
    browser.get(f"{stack.backend_url}/docs")
    wait_until(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= 5)
    paths = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")]
    assert "/api/v1/chat/{request_id}/stream" in paths
    screenshot(browser, "swagger")
    assert console_errors(browser) == []


def test_the_dashboard_and_a_run_page_render(browser: Any, stack: Stack) -> None:
    request_id = cells.send(FRANCE, stack=stack)["request_id"]
    cells.wait_for_result(request_id, stack=stack)
    run_id = cells.runs_of(request_id, stack=stack)[0]["run_id"]

    browser.get(f"{stack.inngest_url}/")
    wait_until(browser, lambda d: run_id in d.page_source)
    screenshot(browser, "dashboard")
    assert console_errors(browser) == []

    browser.get(f"{stack.inngest_url}/runs/{run_id}")
    wait_until(browser, lambda d: "Timeline" in d.find_element(By.TAG_NAME, "body").text)
    steps = browser.find_elements(By.CSS_SELECTOR, "table tr")
    assert any("generate" in row.text for row in steps) and any("save" in row.text for row in steps)
    screenshot(browser, "dashboard-run")
    assert console_errors(browser) == []


def test_a_failed_run_page_shows_its_error_and_its_handler(browser: Any, stack: Stack) -> None:
    request_id = cells.send(f"{FRANCE} [fault:400]", stack=stack)["request_id"]
    assert cells.wait_for_result(request_id, stack=stack)["status"] == "error"
    run_id = cells.runs_of(request_id, stack=stack)[0]["run_id"]

    def handler_shown(driver: Any) -> bool:
        driver.get(f"{stack.inngest_url}/runs/{run_id}")
        return "its failure handler" in driver.find_element(By.TAG_NAME, "body").text

    wait_until(browser, handler_shown)
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "NonRetriableError" in body and "provider answered 400" in body
    assert f"request {request_id}" in body
    screenshot(browser, "dashboard-failed-run")
    assert console_errors(browser) == []
