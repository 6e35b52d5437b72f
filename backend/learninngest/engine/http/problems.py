"""Errors of the engine's JSON APIs as exceptions; one handler gives them the Dev Server's shape."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response


class Problem(Exception):
    """An answer that is an error: `{"error": message, "status": status, "data": null}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def problem_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return JSONResponse({"error": exc.message, "status": exc.status, "data": None}, exc.status)
