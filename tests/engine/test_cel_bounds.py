"""CEL expressions are bounded before the native library sees them (engine/cel/bounds.py).

A 30,000-field member chain used to kill the engine process (SIGSEGV in cel-rust) and
`(` x 100,000 gave a 500 with a Rust panic: the sync of such a function is now refused
with a reason, like any invalid expression, and the engine lives on. The end-to-end
cases run a real `learninngest engine` process, since the old failure killed its process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from learninngest.engine.cel.bounds import MAX_CHARS, MAX_DEPTH, bound_problem, expression_depth
from learninngest.engine.cel.expressions import ExpressionError, compile_expression, evaluate
from learninngest.kit.servers import free_port
from tests.processes import Processes

CHAIN = "event" + ".a" * 30_000  # 60 KB
PARENS = "(" * 100_000


def test_real_expressions_are_shallow() -> None:
    for text in (
        "event.data.user_id == async.data.user_id && async.data.plan != 'free'",
        "event.data.amount > 100 ? 'big' : 'small'",
        "size(event.data.items) > 0 && event.data.items.exists(i, i.sku == 'x')",
        "event.data.tags.map(t, lowercase(t))",
        " || ".join(f"event.data.kind == 'k{n}'" for n in range(500)),  # balanced, as in cel-go
    ):
        assert expression_depth(text) <= 12, text
        assert bound_problem(text) is None
        compile_expression(text)


def test_depth_counts_chains_operators_and_brackets_but_not_strings() -> None:
    assert expression_depth("event.a.b.c") == 3
    assert expression_depth("1 + 2 + 3 + 4") == 3
    assert expression_depth("((((1))))") >= 4
    assert expression_depth("'" + "(" * 1000 + "'") == 0
    assert expression_depth("event" + ".a" * (MAX_DEPTH + 1)) == MAX_DEPTH + 1
    assert expression_depth("-" * 300 + "1") == 300


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (CHAIN, f"is 60005 characters long; the limit is {MAX_CHARS}"),
        (PARENS, "characters long"),
        ("event" + ".a" * 1000, f"nests about 1000 levels deep; the limit is {MAX_DEPTH}"),
        ("(" * 300 + "1" + ")" * 300, "levels deep"),
        (" + ".join(["1"] * 400), "levels deep"),
        ("!" * 2000 + "true", "levels deep"),
    ],
)
def test_too_long_or_too_deep_is_an_invalid_expression(text: str, words: str) -> None:
    with pytest.raises(ExpressionError, match=words):
        compile_expression(text)


def test_just_within_the_bound_compiles_and_evaluates() -> None:
    text = "event" + ".a" * (MAX_DEPTH - 1) + " == null"
    assert evaluate(text, {"event": {"data": {}}}) is True  # a missing field is null


# --- through a real engine process


def register_body(**fn_extra: Any) -> dict[str, Any]:
    url = "http://127.0.0.1:9/api/inngest"
    fn = {
        "id": "deep-fn",
        "name": "fn",
        "steps": {
            "step": {"id": "step", "name": "step", "runtime": {"type": "http", "url": url + "?fnId=x"}}
        },
        "triggers": [{"event": "raw/thing"}],
    } | fn_extra
    return {
        "url": url,
        "v": "0.1",
        "sdk": "py:v0.5.19",
        "framework": "fast_api",
        "appname": "deep",
        "functions": [fn],
    }


@pytest.mark.timeout(90)
@pytest.mark.parametrize(
    ("where", "config"),
    [
        ("trigger expression", {"triggers": [{"event": "raw/thing", "expression": CHAIN}]}),
        ("trigger expression", {"triggers": [{"event": "raw/thing", "expression": PARENS}]}),
        ("cancel if", {"cancel": [{"event": "raw/stop", "if": CHAIN}]}),
        ("concurrency key", {"concurrency": [{"limit": 1, "key": CHAIN}]}),
    ],
)
def test_a_sync_with_a_huge_expression_is_refused_and_the_engine_lives_on(
    where: str, config: dict[str, Any], processes: Processes, tmp_path: Path
) -> None:
    engine = processes.engine(free_port())
    reply = httpx.post(f"{engine.url}/fn/register", json=register_body(**config), timeout=30)
    assert reply.status_code == 400, (where, reply.status_code, reply.text[:300])
    assert "characters long; the limit is" in reply.text
    assert "Traceback" not in reply.text and "panic" not in reply.text
    assert httpx.get(f"{engine.url}/health").status_code == 200
    assert httpx.get(f"{engine.url}/v1/apps").json()["data"]["apps"] == []
