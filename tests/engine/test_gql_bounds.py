"""GraphQL queries are bounded in size, tokens, fields and depth (engine/http/gql_bounds.py).

2,000 aliases (149 KB) used to hold the engine's loop for seconds while graphql-core
parsed, validated and resolved them; such a query is now refused with 422 as soon as the
lexer passes MAX_TOKENS, and parsing and validation run in a worker thread.
"""

from __future__ import annotations

import httpx
import pytest

from learninngest.engine.http.gql import SCHEMA
from learninngest.engine.http.gql_bounds import MAX_CHARS, MAX_DEPTH, MAX_FIELDS, MAX_TOKENS, prepare_query
from tests.engine.harness import local_engine

RUN = '"01ARZ3NDEKTSV4RRFFQ69G5FAV"'
ALIASES = (
    "{ "
    + " ".join(f"a{n}: functionRun(query: {{functionRunId: {RUN}}}) {{ id status }}" for n in range(2000))
    + " }"
)


def refusal(source: str) -> tuple[str, str]:
    prepared = prepare_query(SCHEMA, source)
    assert prepared.document is None
    return prepared.code, prepared.errors[0].message


def test_a_helper_sized_query_is_prepared() -> None:
    source = (
        f"query {{ run(runID: {RUN}) {{ output status trace {{ childrenSpans {{ name outputID }} }} }} }}"
    )
    prepared = prepare_query(SCHEMA, source)
    assert prepared.document is not None and prepared.errors == []


def test_2000_aliases_stop_at_the_token_limit() -> None:
    assert len(ALIASES) > 100_000
    code, message = refusal(ALIASES[: MAX_CHARS - 10] + " }")
    assert code == "GRAPHQL_PARSE_FAILED" and f"more than {MAX_TOKENS} tokens" in message
    code, message = refusal(ALIASES)
    assert code == "GRAPHQL_PARSE_FAILED" and f"the limit is {MAX_CHARS}" in message


def test_too_many_fields_written_or_through_fragments_are_refused() -> None:
    many = f"{{ run(runID: {RUN}) {{ {' '.join(['status'] * MAX_FIELDS)} }} }}"
    assert refusal(many) == (
        "COMPLEXITY_LIMIT_EXCEEDED",
        f"the query has {MAX_FIELDS + 1} fields; the limit is {MAX_FIELDS}",
    )
    fragment = "fragment F on FunctionRunV2 { id status output }"
    spread = "{ " + " ".join(f"a{n}: run(runID: {RUN}) {{ ...F }}" for n in range(100)) + " } " + fragment
    code, message = refusal(spread)
    assert code == "COMPLEXITY_LIMIT_EXCEEDED" and "selects 400 fields with its fragments" in message


def test_fields_nested_too_deep_are_refused() -> None:
    levels = MAX_DEPTH + 2
    deep = (
        f"{{ run(runID: {RUN}) {{ trace {{ " + "childrenSpans { " * levels + "name" + " }" * levels + " } } }"
    )
    code, message = refusal(deep)
    assert code == "COMPLEXITY_LIMIT_EXCEEDED" and f"the limit is {MAX_DEPTH}" in message
    code, _ = refusal("{ " * 900 + "}" * 900)  # the parser itself would recurse past Python's limit
    assert code in {"COMPLEXITY_LIMIT_EXCEEDED", "GRAPHQL_PARSE_FAILED"}


def test_the_engine_answers_a_huge_query_422_and_goes_on() -> None:
    with local_engine() as host:
        reply = httpx.post(f"{host.url}/v0/gql", json={"query": ALIASES}, timeout=30)
        assert reply.status_code == 422
        errors = reply.json()["errors"]
        assert errors[0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
        assert len(reply.text) < 1000  # the error names the limit, it does not echo the query
        fine = httpx.post(f"{host.url}/v0/gql", json={"query": f"{{ run(runID: {RUN}) {{ status }} }}"})
        assert fine.status_code == 200
        assert httpx.get(f"{host.url}/health").status_code == 200


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1])
def test_the_engine_refuses_a_deep_query_with_the_validation_shape(levels: int) -> None:
    deep = (
        f"{{ run(runID: {RUN}) {{ trace {{ " + "childrenSpans { " * levels + "name" + " }" * levels + " } } }"
    )
    with local_engine() as host:
        reply = httpx.post(f"{host.url}/v0/gql", json={"query": deep})
        assert reply.status_code == 422
        assert reply.json()["errors"][0]["extensions"]["code"] == "COMPLEXITY_LIMIT_EXCEEDED"
