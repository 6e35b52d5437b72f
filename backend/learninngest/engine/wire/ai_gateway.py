"""Pure: the inference request an `AIGateway` opcode (`step.ai.infer`) describes, and its result.

The SDK hands the engine everything (`opts`: url, format, auth_key, headers, body), and the
engine makes the call while the function is not running, as the Dev Server does
(pkg/execution/executor, handleGeneratorAIGateway, and its aigateway request):

- POST the body as JSON to `url`; the key goes where the format wants it: `gemini` as the
  `key` query parameter, `bedrock` as the raw `Authorization`, `anthropic` as `X-Api-Key`,
  anything else (`openai-chat`…) as `Authorization: Bearer <key>`; the opcode's own headers
  are added last (added, as Go's `Header.Add` does: a second `Authorization` goes beside the
  first), then `User-Agent: Inngest`. Every name is written as Go writes it on the wire, in
  its canonical form (`x-api-key` → `X-Api-Key`): servers that read headers case-sensitively
  (inngest-py's own test server) see what the Dev Server sends.
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
    # (name, value) in order, names canonical, a name may repeat; carries the key: never logged
    headers: list[tuple[str, str]] = field(repr=False)
    body: bytes = field(repr=False)

    def header(self, name: str) -> str | None:
        """The first value of a header (any case), as a server reading one value would see it."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def canonical_name(name: str) -> str:
    """A header name as Go's textproto.CanonicalMIMEHeaderKey writes it (`x-api-key` → `X-Api-Key`);
    a name with a character Go does not canonicalise (a space, `_`…) is kept as it is."""
    if not name or any(not (c.isascii() and (c.isalnum() or c == "-")) for c in name):
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


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
    headers = [("Content-Type", "application/json")]
    if fmt == "gemini":
        parts = urlsplit(url)
        query = [*parse_qsl(parts.query, keep_blank_values=True), ("key", key)]
        url = urlunsplit(parts._replace(query=urlencode(query)))
    elif fmt == "bedrock":
        headers.append(("Authorization", key))
    elif fmt == "anthropic":
        headers.append(("X-Api-Key", key))
    else:
        headers.append(("Authorization", f"Bearer {key}"))
    extra = opts.get("headers")
    if not isinstance(extra, dict):
        extra = {}
    headers.extend((canonical_name(str(name)), str(value)) for name, value in extra.items())
    headers.append(("User-Agent", "Inngest"))
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
