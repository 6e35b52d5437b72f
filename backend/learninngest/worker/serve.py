"""Mounts /api/inngest on the backend: a thin adapter, no logic of its own.

In production mode (INNGEST_DEV=0) the registered URL comes from settings, not from the
sync request's Host header; the SDK refuses unsigned sync requests; and signed requests
dated more than 5 minutes from now are refused (`signature_window`).
"""

from __future__ import annotations

import inngest
import inngest.fast_api
from fastapi import FastAPI

from learninngest.config import Settings
from learninngest.worker.signature_window import SignatureWindow

SERVE_PATH = "/api/inngest"


def mount_inngest(
    app: FastAPI,
    client: inngest.Inngest,
    functions: list[inngest.Function],
    settings: Settings,
) -> None:
    origin, prefix = settings.serve_url
    inngest.fast_api.serve(
        app,
        client,
        functions,
        serve_origin=origin,
        serve_path=SERVE_PATH,
        # Where the Inngest server calls, when a reverse proxy strips a path prefix.
        public_path=f"{prefix}{SERVE_PATH}" if prefix else None,
        # In dev mode the SDK always allows unsigned syncs (the Dev Server signs nothing).
        enable_unauthed_sync=settings.is_dev,
    )
    if not settings.is_dev:
        app.add_middleware(SignatureWindow, path=SERVE_PATH)
