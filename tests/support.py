"""Test helpers shared by every test folder: wait for a fact with a deadline, never a fixed sleep."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

from learninngest.logs import RequestIdFilter

T = TypeVar("T")


def wait_for(check: Callable[[], T], timeout: float = 10.0, interval: float = 0.02) -> T:
    """Call `check` until it returns without raising (AssertionError etc.) and return its value."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except Exception:
            if time.monotonic() > deadline:
                raise
        time.sleep(interval)


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.02) -> None:
    """Wait until `predicate()` is truthy (`wait_for` stops at the first value that does not raise)."""

    def check() -> None:
        assert predicate(), "still false"

    wait_for(check, timeout=timeout, interval=interval)


async def async_wait_for(
    check: Callable[[], Awaitable[T]],
    timeout: float = 10.0,  # noqa: ASYNC109 - same signature as wait_for
    interval: float = 0.02,
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await check()
        except Exception:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(interval)


_TIMING = re.compile(r"\d+(\.\d+)?\s?(ms|s)\b")


def mask_timings(line: str) -> str:
    """Replace durations like `12.3ms` or `0.5 s` so log lines can be compared exactly."""
    return _TIMING.sub("<t>", line)


class LogLines(logging.Handler):
    """Collects formatted log lines (from any thread); `%(request_id)s` is available."""

    def __init__(self, fmt: str) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.addFilter(RequestIdFilter())
        self.setFormatter(logging.Formatter(fmt))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.contextmanager
def capture_log(
    name: str, fmt: str = "%(levelname)s %(name)s [%(request_id)s] %(message)s"
) -> Iterator[LogLines]:
    """The lines logger `name` (and its children) writes inside the block."""
    handler = LogLines(fmt)
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def established_tcp(
    pid: int | str = "self", *, local_port: int | None = None, remote_port: int | None = None
) -> int:
    """Established TCP connections that process `pid` holds, with this port at its own end
    (`local_port`: a server's side) or at the far end (`remote_port`: a client's side). Linux /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] != "01" or fields[9] not in inodes:  # 01: ESTABLISHED
            continue
        here, there = (int(address.split(":")[1], 16) for address in fields[1:3])
        if (local_port is None or here == local_port) and (remote_port is None or there == remote_port):
            count += 1
    return count
