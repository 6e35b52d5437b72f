"""Pure: the CEL subset used by triggers, waits and cancels (expressions.py)."""

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
    }
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
        ("event.data.missing == null", False),
        ("event.data.missing != 'x'", True),
        ("event.data.nested.id == 'a'", True),
        ("event.data.function_id == 'probe-app-with-failure'", True),
        ("event.data.x", False),  # not a bool: false
        ("event.data.ok", True),
    ],
)
def test_evaluate(expr: str, want: bool) -> None:
    assert evaluate(expr, {"event": EVENT}) is want


def test_async_and_event_for_waits() -> None:
    env = {"event": {"data": {"id": 1}}, "async": {"data": {"id": 1}}}
    assert evaluate("async.data.id == event.data.id", env)
    assert not evaluate("async.data.id == event.data.id", env | {"async": {"data": {"id": 2}}})


@pytest.mark.parametrize(
    "expr", ["", "size(event.data) > 1", "event.data.x in ['a']", "event.data.x ==", "a = b"]
)
def test_unsupported_syntax_is_refused(expr: str) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(expr)
