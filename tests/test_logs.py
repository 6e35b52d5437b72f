"""Log lines carry the request id; the format is tested line by line."""

from __future__ import annotations

import logging

from learninngest.logs import LOG_FORMAT, request_context, setup_logging
from tests.support import capture_log


def test_request_id_is_on_every_line_inside_the_context() -> None:
    logger = logging.getLogger("learninngest.test")
    logger.setLevel(logging.INFO)
    with capture_log("learninngest.test", LOG_FORMAT.replace("%(asctime)s ", "")) as captured:
        with request_context("01REQ"):
            logger.info("request enqueued")
        logger.info("outside")
    assert captured.lines == [
        "INFO learninngest.test [01REQ] request enqueued",
        "INFO learninngest.test [-] outside",
    ]


def test_setup_logging_is_idempotent() -> None:
    setup_logging("DEBUG")
    setup_logging("INFO")
    handlers = [h for h in logging.getLogger("learninngest").handlers if getattr(h, "_learninngest", False)]
    assert len(handlers) == 1
    assert logging.getLogger("learninngest").level == logging.INFO
