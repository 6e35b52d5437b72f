"""Maps our exceptions to a status and a message that says what to do."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from learninngest.store.base import StoreUnavailable

log = logging.getLogger("learninngest.api")


class ApiError(Exception):
    """An error a client should see: HTTP status plus one sentence with the next step."""

    status_code = 500

    def __init__(self, detail: str, **extra: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra  # e.g. request_id, so the client can still read the recorded error


class NotFound(ApiError):
    status_code = 404


class IdempotencyConflict(ApiError):
    status_code = 409


class InngestUnavailable(ApiError):
    status_code = 503


class SendUnconfirmed(InngestUnavailable):
    """The event send hit its deadline: it may still arrive, so the request stays pending."""


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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail, **exc.extra}, status_code=exc.status_code)

    @app.exception_handler(StoreUnavailable)
    async def _store_down(_request: Request, exc: StoreUnavailable) -> JSONResponse:
        log.error("result store unavailable: %s", exc)
        detail = f"The result store is unavailable ({exc}). Check RESULT_STORE_URL and that the store is up."
        return JSONResponse({"detail": detail}, status_code=503)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_detail(exc)}, status_code=422)
