"""Error responses in OpenAI's shape, so every client parses them like the real thing.

{"error": {"message": "...", "type": "...", "param": null, "code": ...}}
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


def openai_error(
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    code: str | int | None = None,
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def install_error_handlers(app: FastAPI) -> None:
    """Replace FastAPI's `{"detail": ...}` bodies with OpenAI-style errors."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # OpenAI answers 400 (not 422) to a malformed body; clients map 400 to BadRequestError.
        problems = []
        first_param: str | None = None
        for error in exc.errors():
            loc = [str(part) for part in error.get("loc", ()) if part != "body"]
            where = ".".join(loc) or "body"
            first_param = first_param or where
            problems.append(f"{where}: {error.get('msg', 'invalid')}")
        message = "Invalid request body: " + "; ".join(problems)
        return openai_error(400, message, param=first_param)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else None
        message = str(exc.detail)
        if exc.status_code == 404:
            message = "Unknown path. The offline model serves /v1/chat/completions and /v1/models."
        return openai_error(exc.status_code, message, code=code, headers=exc.headers)
