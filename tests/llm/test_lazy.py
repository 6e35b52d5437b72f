"""LangChain and openai load with the first model call, not with the backend (llm/lazy.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from learninngest.config import Settings
from learninngest.llm.lazy import complete

pytestmark = pytest.mark.anyio

HEAVY = ("langchain_core", "langchain_openai", "openai", "langsmith")

# A fresh interpreter (this one has imported LangChain for other tests): what `up` imports,
# a backend serving on a real port and answering /healthz, then the top-level packages loaded.
STARTED_BACKEND = """
import json, sys
import httpx
import learninngest.cli, learninngest.kit.stack
from learninngest.app import create_app
from learninngest.config import Settings
from learninngest.kit.servers import BackgroundServer

settings = Settings(
    llm_preload=sys.argv[1] == "preload", llm_provider="offline", offline_model_url="http://127.0.0.1:9/v1",
    result_store_url="memory://", inngest_base_url="http://127.0.0.1:9", reconcile_interval_s=0,
)
with BackgroundServer(create_app(settings), name="backend") as server:
    assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
    print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def started_backend_loads(tmp_path: Path, mode: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", STARTED_BACKEND, mode],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    loaded: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "learninngest" in loaded and "fastapi" in loaded  # it did start
    return loaded


def test_a_started_backend_has_not_imported_langchain_or_openai(tmp_path: Path) -> None:
    assert [name for name in HEAVY if name in started_backend_loads(tmp_path, "lazy")] == []


def test_llm_preload_imports_them_as_the_backend_starts(tmp_path: Path) -> None:
    assert [name for name in HEAVY if name in started_backend_loads(tmp_path, "preload")] == list(HEAVY)


async def test_the_lazy_complete_answers_as_the_module_it_loads(settings: Settings) -> None:
    completion = await complete(
        settings, query="What is the capital of France?", temperature=0.2, max_tokens=200, clean=True
    )
    assert "Paris" in completion.text
    assert completion.usage["completion_tokens"] > 0
