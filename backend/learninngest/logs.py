"""Logging setup: one line per event that matters, with the request id on every line."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    """Adds `record.request_id` (from the context, or `extra=`) so every line can show it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


@contextlib.contextmanager
def request_context(request_id: str) -> Iterator[None]:
    """Every log line written inside this block carries `request_id`."""
    token = request_id_var.set(request_id)
    try:
        yield
    finally:
        request_id_var.reset(token)


def setup_logging(level: str = "INFO") -> None:
    """Configure the `learninngest` loggers once (idempotent: safe to call from every entry point)."""
    root = logging.getLogger("learninngest")
    root.setLevel(level)
    if not any(getattr(h, "_learninngest", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.addFilter(RequestIdFilter())
        handler._learninngest = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        # Our handler prints our lines; the root logger must not print them a second time.
        root.propagate = False
