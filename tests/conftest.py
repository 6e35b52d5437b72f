"""Fixtures shared by every test folder.

Each test gets a clean environment (no INNGEST_*/OPENROUTER_* leaking in from the
developer's shell or .env) and its own SQLite file, so tests never share state.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import SCREENSHOTS, browser  # noqa: F401 - a fixture for the browser tests
from tests.postgres_server import postgres_url  # noqa: F401 - a fixture for the store and e2e tests
from tests.processes import processes  # noqa: F401 - engines and backends to kill -9 or freeze
from tests.redis_server import durable_redis, redis_url  # noqa: F401 - fixtures for the store and e2e tests

_PREFIXES = (
    "INNGEST_",
    "OPENROUTER_",
    "LLM_",
    "OFFLINE_",
    "RESULT_",
    "IDEMPOTENCY_",
    "LONG_POLL_",
    "SERVER_",
    "CORS_",
    "WORKER_",
    "API_KEYS",
    "RATE_LIMIT_",
    "RECONCILE_",
    "EVENT_SEND",
    "BACKEND_",
    # A hosted Jupyter server's variables change the links the kit prints (browser_urls.py):
    # `make test` run inside JupyterHub, Binder or Codespaces must see a laptop's defaults.
    "KIT_",
    "JUPYTERHUB_",
    "BINDER_",
    "CODESPACE",
    "GITHUB_CODESPACES_",
)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.upper().startswith(_PREFIXES) or name.upper() in {"HOST", "PORT", "PUBLIC_URL"}:
            monkeypatch.delenv(name, raising=False)
    # The offline model is "slow" by default (it teaches the pattern); tests want it instant.
    monkeypatch.setenv("OFFLINE_LATENCY_MEAN_MS", "0")
    monkeypatch.setenv("OFFLINE_LATENCY_SPREAD_MS", "0")
    # Settings also read `.env` from the working directory: run each test from its own folder.
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    """A SQLite file of this test's own: tests never see each other's rows."""
    return tmp_path / "test.db"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say where the browser tests left their screenshots (when they ran)."""
    if SCREENSHOTS.is_dir() and any(SCREENSHOTS.glob("*.png")):
        terminalreporter.write_line(f"browser screenshots: {SCREENSHOTS}")
