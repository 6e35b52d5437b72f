"""Mounts /api/inngest on the backend: a thin adapter, no logic of its own."""

from __future__ import annotations

import inngest
import inngest.fast_api
from fastapi import FastAPI

from learninngest.config import Settings

SERVE_PATH = "/api/inngest"


def mount_inngest(
    app: FastAPI,
    client: inngest.Inngest,
    functions: list[inngest.Function],
    settings: Settings,
) -> None:
    inngest.fast_api.serve(
        app,
        client,
        functions,
        serve_origin=settings.inngest_serve_origin,
        serve_path=SERVE_PATH,
    )
