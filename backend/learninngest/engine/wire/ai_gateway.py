"""Pure: the inference request an `AIGateway` opcode (`step.ai.infer`) describes, and its result.

The SDK hands the engine everything (`opts`: url, format, auth_key, headers, body), and the
engine makes the call while the function is not running, as the Dev Server does
(pkg/execution/executor, handleGeneratorAIGateway, and its aigateway request):

- POST the body as JSON to `url`; the key goes where the format wants it: `gemini` as the
  `key` query parameter, `bedrock` as the raw `Authorization`, `anthropic` as `x-api-key`,
  anything else (`openai-chat`…) as `Authorization: Bearer <key>`; the opcode's own headers
  are added last.
- a 2xx answer is the step's output, memoized as `{"data": <the response JSON>}`;
- anything else (or no answer) is retried like a failing step; after the last attempt the
  step is memoized as `{"error": <the response body>}`, which the SDK hands back to the
  function as the step's value (it is not an error object, so it does not raise).

The key is never written to the state or the logs: the request lives only in memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# The Dev Server's placeholder output when a failed request gave no body.
EMPTY_FAILURE = {"error": "Error making AI request"}


@dataclass(frozen=True)
class InferenceRequest:
    url: str
    headers: dict[str, str] = field(repr=False)  # carries the key: never logged
    body: bytes = field(repr=False)


def build_request(opts: dict[str, Any] | None) -> InferenceRequest:
    """The HTTP request for an AIGateway opcode's opts; ValueError says what is missing."""
    opts = opts or {}
    url = opts.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError(f"step.ai.infer needs an http(s) `url` in its opts, got {url!r}")
    body = opts.get("body")
    if not isinstance(body, dict):
        raise ValueError("step.ai.infer needs a JSON object `body` in its opts")
    key = str(opts.get("auth_key") or "")
    fmt = str(opts.get("format") or "")
    headers = {"content-type": "application/json"}
    if fmt == "gemini":
        parts = urlsplit(url)
        query = [*parse_qsl(parts.query, keep_blank_values=True), ("key", key)]
        url = urlunsplit(parts._replace(query=urlencode(query)))
    elif fmt == "bedrock":
        headers["authorization"] = key
    elif fmt == "anthropic":
        headers["x-api-key"] = key
    else:
        headers["authorization"] = f"Bearer {key}"
    extra = opts.get("headers")
    if not isinstance(extra, dict):
        extra = {}
    for name, value in extra.items():
        headers[str(name).lower()] = str(value)
    return InferenceRequest(url=url, headers=headers, body=json.dumps(body).encode())


def response_value(body: bytes) -> Any:
    """The response as the step sees it: its JSON, or its text when it is not JSON."""
    text = body.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def succeeded(status: int | None) -> bool:
    return status is not None and 200 <= status <= 299


def failure_error(status: int | None, body: bytes, reason: str | None = None) -> dict[str, Any]:
    """The timeline's error for a failed attempt, named as the Dev Server names it."""
    why = reason or f"unsuccessful status code: {status}"
    message = body.decode("utf-8", "replace") if body else json.dumps(EMPTY_FAILURE)
    return {"name": f"Error making AI request: {why}", "message": message[:2000]}


def failure_memo(body: bytes) -> dict[str, Any]:
    """What the step is memoized as once it has no attempts left."""
    return {"error": response_value(body) if body else EMPTY_FAILURE}
