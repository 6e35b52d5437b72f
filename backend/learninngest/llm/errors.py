"""Sort a provider's failure into retriable or not, with a sentence that says what happened.

Pure: it reads exceptions the openai SDK raised (through LangChain) and does no IO, so
it is tested with constructed exceptions. Inngest does the retrying; this module only
decides whether a retry can help and how long the provider asked us to wait.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from learninngest.retry_after import seconds_until

if TYPE_CHECKING:  # at run time only classify() needs openai, and it was loaded by the failed call
    import openai

RETRIABLE_STATUSES = frozenset({408, 409, 425, 429})
"""Besides every 5xx: timeout, conflict, too early, rate limited. Other 4xx will fail again."""


SEE_LOG = "see the server log"


class LLMError(Exception):
    """A completion failed. `retriable` says whether trying again can help.

    `message` may name internal hosts and the provider's words (for a learner and the log);
    `public` says what happened without them (what production mode stores for a client).
    """

    def __init__(
        self,
        message: str,
        *,
        retriable: bool,
        retry_after_s: float | None = None,
        status: int | None = None,
        public: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.public = public or message
        self.retriable = retriable
        self.retry_after_s = retry_after_s
        self.status = status

    def __repr__(self) -> str:
        return (
            f"LLMError({self.message!r}, retriable={self.retriable}, "
            f"retry_after_s={self.retry_after_s}, status={self.status})"
        )


def is_retriable_status(status: int) -> bool:
    return status in RETRIABLE_STATUSES or status >= 500


def parse_retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms` (OpenAI's) or `Retry-After` (seconds or HTTP date)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass  # a bad value here should not hide a good Retry-After
    when = now or datetime.now(UTC)
    return seconds_until(lowered.get("retry-after"), when.timestamp())


def provider_message(exc: openai.APIStatusError) -> str:
    """The provider's own words: `{"error": {"message": …}}`, `{"message": …}` or the raw text."""
    body = exc.body
    if isinstance(body, Mapping):
        error = body.get("error", body)
        if isinstance(error, Mapping) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str) and error:
            return error
    if isinstance(body, str) and body:
        return body
    try:
        text = exc.response.text
    except Exception:  # a streamed body that was never read
        text = ""
    return text.strip() or exc.message


def classify(exc: openai.OpenAIError, *, base_url: str, timeout_s: float) -> LLMError:
    """The LLMError for an exception raised by the openai SDK."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return LLMError(
            f"provider at {base_url} did not answer within {timeout_s:g}s (LLM_TIMEOUT_S)",
            retriable=True,
            public=f"the model provider did not answer within {timeout_s:g}s; {SEE_LOG}",
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return LLMError(
            f"could not reach the provider at {base_url}: {cause}",
            retriable=True,
            public=f"could not reach the model provider (connection error); {SEE_LOG}",
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retriable = is_retriable_status(status)
        return LLMError(
            f"provider answered {status}: {provider_message(exc)}",
            retriable=retriable,
            retry_after_s=parse_retry_after(exc.response.headers) if retriable else None,
            status=status,
            public=f"the model provider answered {status}; {SEE_LOG}",
        )
    if isinstance(exc, openai.APIResponseValidationError):
        # A 2xx whose body is not a completion: usually a proxy or gateway hiccup.
        return LLMError(
            f"provider sent an unusable response: {exc}",
            retriable=True,
            public=f"the model provider sent an unusable response; {SEE_LOG}",
        )
    if type(exc) is openai.APIError:
        # An error event inside a streamed answer (the HTTP status was already 200).
        return stream_error(exc)
    return LLMError(
        f"provider call failed: {exc}", retriable=False, public=f"the model call failed; {SEE_LOG}"
    )


def stream_error(exc: openai.APIError) -> LLMError:
    """An error the provider sent mid-stream: retriable unless it says the request is bad."""
    body = exc.body if isinstance(exc.body, Mapping) else {}
    kind = str(body.get("type") or "")
    code = body.get("code")
    retriable = kind != "invalid_request_error" or code == "rate_limit_exceeded"
    return LLMError(
        f"provider failed mid-stream: {exc.message}",
        retriable=retriable,
        public=f"the model provider failed mid-answer; {SEE_LOG}",
    )
