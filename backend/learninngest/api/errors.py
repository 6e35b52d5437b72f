"""Maps our exceptions to a status and a message that says what to do.

A 503's detail names internal addresses (the Inngest server, the Redis host) and the
settings to fix: a learner needs that hint, an outside client must not see it. In
production mode (INNGEST_DEV=0) the detail goes to the log and the client gets a generic
message (still with the request_id, to find the log line).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from learninngest.config import Settings
from learninngest.store.base import StoreBusy, StoreUnavailable

log = logging.getLogger("learninngest.api")


# FastAPI's own answer when a body is JSON but cannot be decoded by Python (invalid UTF-8,
# an integer of thousands of digits, nesting deeper than the recursion limit).
FASTAPI_BODY_ERROR = "There was an error parsing the body"
BODY_NOT_JSON = (
    "The request body could not be read as JSON: send UTF-8 JSON with numbers of at most "
    "4300 digits and nesting of at most a few hundred levels, "
    'e.g. {"query": "What is the capital of France?"}.'
)


class ApiError(Exception):
    """An error a client should see: HTTP status plus one sentence with the next step."""

    status_code = 500

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None, **extra: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}  # e.g. WWW-Authenticate, Retry-After
        self.extra = extra  # e.g. request_id, so the client can still read the recorded error


class NotFound(ApiError):
    status_code = 404


class BadRequest(ApiError):
    status_code = 400


class IdempotencyConflict(ApiError):
    status_code = 409


class InngestUnavailable(ApiError):
    status_code = 503
    generic = "The background queue is unavailable, so the request was not accepted. Retry in a moment."


class RunsUnavailable(InngestUnavailable):
    generic = "The run history is unavailable right now. Retry in a moment."


STORE_GENERIC = "The result store is unavailable. Retry in a moment."
STORE_BUSY_GENERIC = "The server is busy. Retry in a moment."
BUSY_RETRY_AFTER_S = 1


def for_client(settings: Settings, detail: str, generic: str) -> str:
    """`detail` in dev mode (the hint helps learners); `generic` in production mode."""
    return detail if settings.is_dev else generic


class SendUnconfirmed(InngestUnavailable):
    """The event send hit its deadline: it may still arrive, so the request stays pending."""

    generic = (
        "The background queue did not confirm the request in time; it may still run. Read its "
        "result with the request_id, or retry with the same Idempotency-Key (no second run)."
    )


def _validation_detail(exc: RequestValidationError) -> list[dict[str, object]]:
    details = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        field = ".".join(loc[1:]) if len(loc) > 1 else ".".join(loc)
        if error.get("type") == "extra_forbidden":
            message = f"unknown field '{field}': remove it (allowed: query, temperature, max_tokens, clean)"
        else:
            message = f"{field}: {error.get('msg')}"
        details.append({"loc": loc, "msg": message, "type": error.get("type")})
    return details


def _counted(request: Request, response: Response) -> Response:
    """An error answer still tells the client where it stands with the rate limit."""
    for name, value in getattr(request.state, "rate_limit_headers", {}).items():
        response.headers.setdefault(name, value)
    return response


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        detail = exc.detail
        generic = getattr(exc, "generic", None)
        if generic and not request.app.state.settings.is_dev:
            detail = generic  # whoever raised it logged the detail
        reply = JSONResponse(
            {"detail": detail, **exc.extra}, status_code=exc.status_code, headers=exc.headers
        )
        return _counted(request, reply)

    @app.exception_handler(StoreUnavailable)
    async def _store_down(request: Request, exc: StoreUnavailable) -> Response:
        settings = request.app.state.settings
        if isinstance(exc, StoreBusy):  # up, but every connection in use: not an outage
            log.warning("result store busy: %s", exc)
            detail = f"The result store is busy ({exc}). Retry in a moment."
            reply = JSONResponse(
                {"detail": for_client(settings, detail, STORE_BUSY_GENERIC)},
                status_code=503,
                headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
            )
            return _counted(request, reply)
        log.error("result store unavailable: %s", exc)
        detail = f"The result store is unavailable ({exc}). Check RESULT_STORE_URL and that the store is up."
        reply = JSONResponse({"detail": for_client(settings, detail, STORE_GENERIC)}, status_code=503)
        return _counted(request, reply)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return _counted(request, JSONResponse({"detail": _validation_detail(exc)}, status_code=422))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and exc.detail == FASTAPI_BODY_ERROR:
            # The same status as any other unusable body (422), with a sentence that says why.
            detail = [{"loc": ["body"], "msg": BODY_NOT_JSON, "type": "json_invalid"}]
            return _counted(request, JSONResponse({"detail": detail}, status_code=422))
        return _counted(request, await http_exception_handler(request, exc))
