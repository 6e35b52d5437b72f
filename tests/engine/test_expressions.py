"""Pure: CEL as the Dev Server evaluates it for triggers, waits and cancels (expressions.py)."""

from __future__ import annotations

import pytest

from learninngest.engine.expressions import ExpressionError, compile_expression, evaluate

EVENT = {
    "data": {
        "x": "y",
        "ok": True,
        "n": 3,
        "f": 1.5,
        "nested": {"id": "a"},
        "function_id": "probe-app-with-failure",
        "tags": ["vip", "eu"],
        "empty": None,
    },
    "name": "shop/order.created",
}


@pytest.mark.parametrize(
    ("expr", "want"),
    [
        ("event.data.x == 'y'", True),
        ('event.data.x == "y"', True),
        ("event.data.x != 'y'", False),
        ("event.data.ok == true", True),
        ("event.data.ok == 1", False),  # CEL: a bool is never a number
        ("event.data.n == 3", True),
        ("event.data.n > 2 && event.data.n <= 3", True),
        ("event.data.f < 2", True),
        ("event.data.n == 3 || event.data.missing == 1", True),
        ("!(event.data.n == 3)", False),
        # The old hand-written subset said false here; the Dev Server treats a missing
        # field as null (pkg/expressions/unknown.go), so this is true.
        ("event.data.missing == null", True),
        ("event.data.missing.deeper != 'x'", True),
        ("event.data.missing == 'x'", False),
        ("!(event.data.missing == 'x')", True),
        ("event.data.missing > 1", False),
        ("event.data.missing.startsWith('a')", False),
        ("has(event.data.missing)", False),
        ("has(event.data.x)", True),
        ("event.data.empty == null", True),
        ("event.data.missing != 'x'", True),
        ("event.data.nested.id == 'a'", True),
        ("event.data.function_id == 'probe-app-with-failure'", True),
        ("event.data.x", False),  # not a bool: false
        ("event.data.ok", True),
        # Full CEL, which the old subset refused at sync:
        ("event.data.x.startsWith('y') && event.name.endsWith('.created')", True),
        ("event.data.function_id.contains('with-fail')", True),
        ("event.data.x.matches('^[a-z]$')", True),
        ("size(event.data.tags) == 2", True),
        ("size(event.data.x) == 1", True),
        ("'vip' in event.data.tags", True),
        ("event.data.x in ['a', 'b']", False),
        ("event.data.n * 2 + 1 == 7", True),
        ("event.data.n == 3.0", True),  # heterogeneous numbers compare, as in cel-go
        ("event.data.n > 2 ? event.data.x == 'y' : false", True),
        ("event.data.tags.exists(t, t == 'eu')", True),
        ("event.data.nested['id'] == 'a'", True),
        ("event['data'].x == 'y' && size(event) == 2", True),  # the whole variable is read
        ("size(event.data.nested) == 1 && event . data . n == 3", True),
        ("event.data.n / 0 == 1", False),  # a run-time error is no match, not a crash
        # string + int is an error in CEL, so false here; the Dev Server concatenates
        # (true there). A documented difference (docs/engine.md).
        ("event.data.x + 1 == 'y1'", False),
    ],
)
def test_evaluate(expr: str, want: bool) -> None:
    assert evaluate(expr, {"event": EVENT}) is want


def test_async_and_event_for_waits() -> None:
    env = {"event": {"data": {"id": 1}}, "async": {"data": {"id": 1}}}
    assert evaluate("async.data.id == event.data.id", env)
    assert not evaluate("async.data.id == event.data.id", env | {"async": {"data": {"id": 2}}})


@pytest.mark.parametrize(
    ("expr", "want"),
    [
        ("lowercase(event.data.shout) == 'hey'", True),
        ("uppercase(event.data.x) == 'Y'", True),
        ("b64decode(event.data.b64) == 'hello'", True),
        ("b64decode('%%%') == ''", True),
        ("json_parse(event.data.raw).k == 1", True),
        ("date(event.data.when) < now()", True),
        ("date(event.data.ts_ms) == date('2024-01-01T00:00:00Z')", True),
        ("date(event.data.when) > now_minus('1h')", False),
        ("now_plus('1d') > now() && now_minus('1h30m') < now()", True),
        ("now_plus('soon') > now()", False),  # a bad duration is an error: false
    ],
)
def test_the_dev_servers_helper_functions(expr: str, want: bool) -> None:
    event = {
        "data": {
            "shout": "HEY",
            "x": "y",
            "b64": "aGVsbG8=",
            "raw": '{"k": 1}',
            "when": "2024-01-01T00:00:00Z",
            "ts_ms": 1704067200000,
        }
    }
    assert evaluate(expr, {"event": event}) is want


def test_missing_variable_is_no_match() -> None:
    # A trigger expression naming `async` sees no `async`: false, not an exception.
    assert evaluate("async.data.id == 1", {"event": EVENT}) is False


def test_value_expressions_for_idempotency_keys() -> None:
    assert compile_expression("event.data.nested.id + '-' + event.data.x")({"event": EVENT}) == "a-y"
    assert compile_expression("event.data.missing")({"event": EVENT}) is None


def test_evaluation_leaves_the_event_untouched() -> None:
    event = {"data": {"a": {}}}
    assert evaluate("event.data.a.b.c == null", {"event": event})
    assert event == {"data": {"a": {}}}


@pytest.mark.parametrize(
    "expr",
    ["", "   ", "event.data.x ==", "a = b", "event.data.x === 1", "foo.bar == 1", "size(event.data"],
)
def test_invalid_expressions_are_refused(expr: str) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(expr)


def test_refusal_names_the_undeclared_variable() -> None:
    with pytest.raises(ExpressionError, match="undeclared reference to foo"):
        compile_expression("foo.bar == 1")
