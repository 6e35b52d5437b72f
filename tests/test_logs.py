"""Log lines carry the request id; the format is tested line by line."""

from __future__ import annotations

import logging

import pytest

from learninngest.logs import RequestIdFilter, request_context, setup_logging


def test_request_id_is_on_every_line_inside_the_context(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("learninngest.test")
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.INFO, logger="learninngest"):
        logging.getLogger("learninngest").propagate = True
        with request_context("01REQ"):
            logger.info("request enqueued")
        logger.info("outside")
    ids = [record.request_id for record in caplog.records]  # type: ignore[attr-defined]
    assert ids == ["01REQ", "-"]


def test_setup_logging_is_idempotent() -> None:
    setup_logging("DEBUG")
    setup_logging("INFO")
    handlers = [h for h in logging.getLogger("learninngest").handlers if getattr(h, "_learninngest", False)]
    assert len(handlers) == 1
    assert logging.getLogger("learninngest").level == logging.INFO
