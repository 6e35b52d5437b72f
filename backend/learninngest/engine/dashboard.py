"""A few server-rendered HTML pages over the state (placeholder, filled in below)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter


def build_router(engine: Any) -> APIRouter:
    return APIRouter()
