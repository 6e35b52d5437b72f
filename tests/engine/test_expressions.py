"""Pure: CEL as the Dev Server evaluates it for triggers, waits and cancels (expressions.py)."""

from __future__ import annotations

import pytest

from learninngest.engine.cel.expressions import ExpressionError, compile_expression, evaluate

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
        # string + int is an error in CEL; the Dev Server concatenates, and so does the engine.
        ("event.data.x + 1 == 'y1'", True),
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


NO_DATA = {"event": {"data": {}}}


def _data(**fields: object) -> dict[str, object]:
    return {"event": {"data": fields}}


# The Dev Server's own table (pkg/expressions/unknown_test.go): what it answers where plain
# CEL has no value. Values, not only booleans: keys and priority factors read them too.
@pytest.mark.parametrize(
    ("expr", "env", "want"),
    [
        ("event.data.missing < 5", NO_DATA, True),
        ("event.data.missing <= 5", NO_DATA, True),
        ("5 < event.data.missing", NO_DATA, False),
        ("5 <= event.data.missing", NO_DATA, False),
        ("event.data.n > event.data.missing", _data(n=2), True),
        ("event.data.missing > 5", NO_DATA, False),
        ("event.data.missing >= 5", NO_DATA, False),
        ("5 > event.data.missing", NO_DATA, True),
        ("5 >= event.data.missing", NO_DATA, True),
        ("event.data.name + event.data.missing", _data(name="hello"), "hello"),
        ("event.data.missing + event.data.name", _data(name="hello"), "hello"),
        ("size(event.data.missing)", NO_DATA, 0),
        ("size(event.data.missing) > 0", NO_DATA, False),
        ("size(event.data.missing) == 0", NO_DATA, True),
        ("event.data.missing in ['a', 'b', 'c']", NO_DATA, False),
        ('null < "foo"', {}, True),
        ('"foo" < null', {}, False),
        ("null < uint(5)", {}, True),
        ("null < 5", {}, True),
        ("5 < null", {}, False),
        ("null > 0", {}, False),
        ("5 > null", {}, True),
        ("null <= 0", {}, True),
        ("null >= 1", {}, False),
        ("null < 0.5", {}, True),
        ("event.data.float > null", _data(float=3.141), True),
        ("event.data.n > null", _data(n=8), True),
        ("event.data.float <= null", _data(float=3.141), False),
        ("event.data.a || event.data.b", _data(a="first", b="second"), "first"),
        ("event.data.a || event.data.b", _data(a="", b="second"), "second"),
        ("event.data.missing || event.data.b", _data(b="found"), "found"),
        ("event.data.a || event.data.missing", _data(a="found"), "found"),
        ("event.data.zero || event.data.name", _data(zero=0, name="hi"), "hi"),
        ("null || event.data.b", _data(b="fallback"), "fallback"),
        ("event.data.f || false", _data(f=3.14), 3.14),
        ("event.data.f || event.data.b", _data(f=0.0, b="yes"), "yes"),
        ("false || event.data.list", _data(list=["a"]), ["a"]),
        ("uint(0) || event.data.b", _data(b="yes"), "yes"),
        ("event.data.a && event.data.b", _data(a="first", b="second"), "second"),
        ("event.data.a && event.data.b", _data(a="", b="second"), ""),
        ("event.data.a && event.data.b", _data(a="first", b=""), ""),
        ("event.data.flagA || event.data.flagB", _data(flagA=False, flagB=True), True),
        ("event.data.flagA && event.data.flagB", _data(flagA=True, flagB=False), False),
        ("'a' + 1", {}, "a1"),
        ("1 + 1.5", {}, "11.5"),  # CEL has no int + double: Go prints both and joins them
        ("event.data.n / 0 == 1", _data(n=1), False),  # the error is an argument: no match
    ],
)
def test_where_cel_has_no_value_the_dev_servers_answer(
    expr: str, env: dict[str, object], want: object
) -> None:
    got = compile_expression(expr)(env)
    assert got == want and type(got) is type(want)


@pytest.mark.parametrize(
    "expr",
    [
        "event.data.missing && event.data.b",  # the first falsy value: unknown, no value
        "event.data.a + event.data.b",  # unknown + unknown: false there, not a key either
        "event.data.missing.exists(x, x == 1)",
        "1 / 0",
    ],
)
def test_what_has_no_value_there_either_is_no_match(expr: str) -> None:
    assert not evaluate(expr, NO_DATA)


@pytest.mark.parametrize(
    ("expr", "env", "want"),
    [
        # Two missing fields are two unknowns, not two nulls: the decorator's `==` is true
        # only against null, `!=` false only against null (handleUnknownCall).
        ("event.data.a == event.data.b", NO_DATA, False),
        ("event.data.a != event.data.b", NO_DATA, True),
        ("async.data.id == event.data.id", {"event": {"data": {}}, "async": {"data": {}}}, False),
        # A present null is a value, a missing field an unknown: `==` is true (a null is there).
        ("event.data.a == event.data.b", _data(b=None), True),
        ("event.data.a != event.data.b", _data(b=None), False),
        ("event.data.missing in [null]", NO_DATA, False),  # any other call on unknown: false
        # Fields that are there still compare as CEL does.
        ("event.data.a == event.data.b", _data(a=1, b=1), True),
        ("event.data.a == event.data.b", _data(a=None, b=None), True),
    ],
)
def test_missing_fields_are_unknown_not_null(expr: str, env: dict[str, object], want: object) -> None:
    assert compile_expression(expr)(env) is want


def test_inside_a_macro_calls_on_its_variable_follow_plain_cel() -> None:
    # cel-go's decorator cannot see `x` when it plans the call, so `x < 5` on a string
    # stays a CEL error there: the element does not count, and `exists` finds no match.
    env = _data(items=["a", 3])
    assert compile_expression("event.data.items.exists(x, x < 5)")(env) is True
    assert compile_expression("event.data.items.all(x, x < 5)")(env) is not True
