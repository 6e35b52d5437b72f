"""Pure: function configs the engine honours, and the ones it refuses with a reason (functions.py)."""

from __future__ import annotations

from typing import Any

import pytest

from learninngest.engine.functions import ConfigRefused, name_matches, parse_function

URL = "http://127.0.0.1:1/api/inngest?fnId=app-fn&stepId=step"


def fn(**extra: Any) -> dict[str, Any]:
    return {
        "id": "app-fn",
        "name": "fn",
        "steps": {"step": {"id": "step", "name": "step", "runtime": {"type": "http", "url": URL}}},
        "triggers": [{"event": "app/thing"}],
    } | extra


def test_a_plain_function() -> None:
    f = parse_function("app", fn())
    assert (f.slug, f.url, f.max_attempts, f.concurrency) == ("app-fn", URL, 5, None)
    assert f.uuid == parse_function("app", fn()).uuid  # stable


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"batchEvents": {"maxSize": 10, "timeout": "5s"}}, "batchEvents"),
        ({"debounce": {"period": "10s"}}, "debounce"),
        ({"throttle": {"limit": 5, "period": "1m"}}, "throttle"),
        ({"rateLimit": {"limit": 5, "period": "1h"}}, "rateLimit"),
        ({"singleton": {"mode": "skip"}}, "singleton"),
        ({"priority": {"run": "event.data.p"}}, "priority"),
        ({"timeouts": {"finish": "5m"}}, "timeouts"),
        ({"concurrency": [{"limit": 2, "key": "event.data.user"}]}, "keyed concurrency"),
        ({"concurrency": [{"limit": 2, "scope": "account"}]}, "scope"),
        ({"triggers": [{"event": "a", "expression": "size(event.data) >"}]}, "expression"),
        ({"triggers": [{"cron": "not a cron"}]}, "invalid cron"),
        ({"triggers": [{"cron": "* * * * *", "jitter": "30s"}]}, "jitter"),
        ({"triggers": []}, "at least one trigger"),
        ({"cancel": [{"event": "x", "if": "evnt.data.a in [1]"}]}, "cancel"),
    ],
)
def test_refused_with_a_reason(extra: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigRefused, match=words) as info:
        parse_function("app", fn(**extra))
    assert "app-fn" in str(info.value)


def test_honoured_options() -> None:
    f = parse_function(
        "app",
        fn(
            concurrency=[{"limit": 3}, {"limit": 2, "scope": "fn"}],
            cancel=[{"event": "app/cancel", "if": "async.data.id == event.data.id", "timeout": "30m"}],
            steps={"step": {"retries": {"attempts": 1}, "runtime": {"url": URL}}},
            idempotency="event.data.request_id",
            triggers=[{"event": "app/*", "expression": "event.data.ok == true"}, {"cron": "*/5 * * * *"}],
        ),
    )
    assert f.concurrency == 2 and f.max_attempts == 2 and f.idempotency == "event.data.request_id"
    assert f.cancels[0].timeout_s == 1800
    assert f.triggers[0].matches({"name": "app/x", "data": {"ok": True}})
    assert not f.triggers[0].matches({"name": "app/x", "data": {"ok": False}})
    assert f.triggers[1].cron == "*/5 * * * *"


def test_wildcards() -> None:
    assert name_matches("app/*", "app/chat.requested")
    assert not name_matches("app/*", "other/x")
    assert name_matches("app/chat", "app/chat") and not name_matches("app/chat", "app/chatx")


def test_cron_next_is_the_next_minute_boundary() -> None:
    from learninngest.engine.clock import parse_iso
    from learninngest.engine.executor import cron_next

    now = parse_iso("2026-01-01T00:00:30Z")
    assert cron_next("* * * * *", now) == parse_iso("2026-01-01T00:01:00Z")
    assert cron_next("0 */2 * * *", now) == parse_iso("2026-01-01T02:00:00Z")
