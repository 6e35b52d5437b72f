"""Sorting provider failures into retriable or not (pure: constructed openai exceptions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx2  # the HTTP library the openai SDK (>=3) builds its exceptions from
import openai
import pytest

from learninngest.llm.errors import LLMError, classify, parse_retry_after

URL = "http://127.0.0.1:9/v1"
_REQUEST = httpx2.Request("POST", f"{URL}/chat/completions")


# The subclass the SDK raises for each status (openai._client._make_status_error).
_CLASSES: dict[int, type[openai.APIStatusError]] = {
    400: openai.BadRequestError,
    401: openai.AuthenticationError,
    403: openai.PermissionDeniedError,
    404: openai.NotFoundError,
    409: openai.ConflictError,
    422: openai.UnprocessableEntityError,
    429: openai.RateLimitError,
}


def status_error(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Exception:
    response = httpx2.Response(status, headers=headers or {}, json=body, request=_REQUEST)
    kind = _CLASSES.get(status, openai.InternalServerError if status >= 500 else openai.APIStatusError)
    return kind(f"Error code: {status} - {body}", response=response, body=body)


def sort(exc: Exception) -> LLMError:
    assert isinstance(exc, openai.OpenAIError)
    return classify(exc, base_url=URL, timeout_s=7)


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 529])
def test_retriable_statuses(status: int) -> None:
    error = sort(status_error(status, {"error": {"message": "busy"}}))
    assert error.retriable is True
    assert error.status == status
    assert error.message == f"provider answered {status}: busy"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_not_retriable(status: int) -> None:
    error = sort(status_error(status, {"error": {"message": "bad key", "type": "x"}}))
    assert error.retriable is False
    assert error.status == status
    assert error.retry_after_s is None
    assert str(error) == f"provider answered {status}: bad key"


def test_rate_limit_carries_retry_after_seconds() -> None:
    exc = status_error(429, {"error": {"message": "slow down"}}, {"Retry-After": "3"})
    assert isinstance(exc, openai.RateLimitError)
    error = sort(exc)
    assert (error.retriable, error.retry_after_s, error.status) == (True, 3.0, 429)


def test_retry_after_ms_wins_for_precision() -> None:
    exc = status_error(429, {}, {"Retry-After": "2", "retry-after-ms": "1500"})
    assert sort(exc).retry_after_s == 1.5


def test_message_falls_back_to_body_text() -> None:
    response = httpx2.Response(502, text="Bad Gateway from nginx", request=_REQUEST)
    exc = openai.InternalServerError("Error code: 502", response=response, body=None)
    assert sort(exc).message == "provider answered 502: Bad Gateway from nginx"


def test_message_from_a_flat_body() -> None:
    assert sort(status_error(400, {"message": "no model"})).message == "provider answered 400: no model"


def test_timeout_is_retriable_and_names_the_setting() -> None:
    error = sort(openai.APITimeoutError(request=_REQUEST))
    assert error.retriable is True
    assert error.status is None
    assert "7s" in error.message and "LLM_TIMEOUT_S" in error.message


def test_connection_error_is_retriable_and_names_the_url() -> None:
    exc = openai.APIConnectionError(request=_REQUEST)
    exc.__cause__ = ConnectionRefusedError("[Errno 111] Connection refused")
    error = sort(exc)
    assert error.retriable is True
    assert URL in error.message and "Connection refused" in error.message


def test_public_messages_name_no_host_nor_the_providers_words() -> None:
    # What production mode stores for a client (worker/chat_worker.py); the detail goes to the log.
    refused = openai.APIConnectionError(request=_REQUEST)
    refused.__cause__ = ConnectionRefusedError("[Errno 111] Connection refused")
    errors = [
        sort(openai.APITimeoutError(request=_REQUEST)),
        sort(refused),
        sort(status_error(401, {"error": {"message": "bad key sk-abc at gateway.internal"}})),
        sort(openai.OpenAIError("failed at http://10.0.0.7/v1")),
    ]
    for error in errors:
        assert "127.0.0.1" not in error.public and "http" not in error.public, error.public
        assert "sk-abc" not in error.public and error.public.endswith("see the server log")
    assert errors[1].public == "could not reach the model provider (connection error); see the server log"
    assert errors[2].public == "the model provider answered 401; see the server log"


def test_other_sdk_errors_are_not_retriable() -> None:
    assert sort(openai.OpenAIError("The api_key client option must be set")).retriable is False


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({}, None),
        ({"Retry-After": "0"}, 0.0),
        ({"retry-after": "2.5"}, 2.5),
        ({"Retry-After": "-4"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "x", "Retry-After": "1"}, 1.0),
    ],
)
def test_parse_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    assert parse_retry_after(headers) == seconds


def test_parse_retry_after_http_date() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    earlier = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after({"Retry-After": later}, now=now) == 30.0
    assert parse_retry_after({"Retry-After": earlier}, now=now) == 0.0
