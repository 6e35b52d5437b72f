"""Pure: function configs the engine honours, and the ones it refuses with a reason (functions.py)."""

from __future__ import annotations

from typing import Any

import pytest

from learninngest.engine.sync.functions import ConfigRefused, name_matches, parse_function

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
        # What the real server refuses too (flow control itself is honoured, see below).
        (
            {"batchEvents": {"maxSize": 10, "timeout": "5s"}, "debounce": {"period": "10s"}},
            "batchEvents and debounce",
        ),
        (
            {"batchEvents": {"maxSize": 10, "timeout": "5s"}, "priority": {"run": "event.data.p"}},
            "batchEvents and priority",
        ),
        ({"debounce": {"period": "500ms"}}, "debounce.period must be between 1s and 7d"),
        ({"debounce": {"period": "8d"}}, "debounce.period"),
        ({"throttle": {"limit": 0, "period": "1m"}}, "throttle.limit"),
        ({"rateLimit": {"limit": 5}}, "rateLimit.period is required"),
        ({"singleton": {"mode": "queue"}}, "singleton.mode"),
        ({"priority": {"run": "event.data.p ?"}}, "priority.run"),
        ({"concurrency": [{"limit": 1}, {"limit": 2, "key": "event.data.a"}, {"limit": 3}]}, "at most 2"),
        ({"concurrency": [{"limit": 2, "scope": "account"}]}, "needs a `key`"),
        ({"concurrency": [{"limit": 2, "scope": "org", "key": "event.data.a"}]}, "scope"),
        ({"debounce": {"period": "10s", "key": "evnt.data.user"}}, "debounce.key"),
        ({"timeouts": {"finish": "soon"}}, "timeouts.finish"),
        ({"triggers": [{"event": "a", "expression": "size(event.data) >"}]}, "expression"),
        ({"triggers": [{"cron": "not a cron"}]}, "invalid cron"),
        ({"triggers": [{"cron": "* * * * *", "jitter": "later"}]}, "jitter"),
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


def test_flow_control_options_are_honoured() -> None:
    f = parse_function(
        "app",
        fn(
            debounce={"period": "10s", "key": "event.data.user", "timeout": "1m"},
            throttle={"limit": 2, "period": "1m", "key": "event.data.user"},
            rateLimit={"limit": 5, "period": "1h"},
            singleton={"mode": "cancel", "key": "event.data.user"},
            priority={"run": "event.data.priority"},
            timeouts={"start": "30s", "finish": "5m"},
            concurrency=[{"limit": 3}, {"limit": 1, "scope": "env", "key": "event.data.user"}],
            triggers=[{"cron": "*/5 * * * *", "jitter": "30s"}],
        ),
    )
    flow = f.flow
    assert flow.debounce is not None and (flow.debounce.period, flow.debounce.timeout) == (10, 60)
    # No burst given: none, as on the real server (limit at once, not limit + 1).
    assert flow.throttle is not None and (flow.throttle.limit, flow.throttle.burst) == (2, 0)
    assert flow.rate_limit is not None and flow.rate_limit.period == 3600
    assert flow.singleton is not None and flow.singleton.mode == "cancel"
    assert flow.priority == "event.data.priority"
    assert flow.timeouts is not None and (flow.timeouts.start, flow.timeouts.finish) == (30, 300)
    assert [(c.limit, c.scope, c.key) for c in flow.concurrency] == [
        (3, "fn", None),
        (1, "env", "event.data.user"),
    ]
    assert f.concurrency == 3 and f.triggers[0].jitter_s == 30


def test_a_batch_of_one_is_no_batch() -> None:
    """Like the real server: maxSize 1, or no timeout, means plain single-event runs."""
    assert parse_function("app", fn(batchEvents={"maxSize": 1, "timeout": "5s"})).flow.batch is None
    batch = parse_function("app", fn(batchEvents={"maxSize": 3, "timeout": "5s"})).flow.batch
    assert batch is not None and (batch.max_size, batch.timeout) == (3, 5)


def test_wildcards() -> None:
    assert name_matches("app/*", "app/chat.requested")
    assert not name_matches("app/*", "other/x")
    assert name_matches("app/chat", "app/chat") and not name_matches("app/chat", "app/chatx")


def test_cron_next_is_the_next_minute_boundary() -> None:
    from learninngest.engine.clock import parse_iso
    from learninngest.engine.run.cron import cron_next

    now = parse_iso("2026-01-01T00:00:30Z")
    assert cron_next("* * * * *", now) == parse_iso("2026-01-01T00:01:00Z")
    assert cron_next("0 */2 * * *", now) == parse_iso("2026-01-01T02:00:00Z")
