"""Builds the one `inngest.Inngest` client from settings (local engine, Dev Server or Cloud)."""

from __future__ import annotations

import logging

import inngest

from learninngest.config import Settings


def build_inngest_client(settings: Settings) -> inngest.Inngest:
    """The same client talks to the local engine, `inngest-cli dev` or Inngest Cloud.

    Origins come from settings rather than the SDK's own env lookup, so one process
    (a notebook kernel, a test) can hold several apps pointing at different servers.
    """
    return inngest.Inngest(
        app_id=settings.inngest_app_id,
        is_production=not settings.is_dev,
        api_base_url=settings.inngest_api_url,
        event_api_base_url=settings.inngest_event_url,
        signing_key=settings.inngest_signing_key,
        event_key=settings.inngest_event_key,
        logger=logging.getLogger("learninngest.inngest"),
    )
