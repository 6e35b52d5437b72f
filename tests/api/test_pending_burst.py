"""RATE_LIMIT_MAX_PENDING holds against a burst, on every store, through the whole stack.

The pending count used to be read before the request was recorded, so 50 POSTs at once
all passed a limit of 5. Now recording the request is the reservation (store.create with
max_pending, atomic in each store), and a request that ends, here by its run being
cancelled, frees its slot.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.e2e.conftest import make_stack
from tests.store.conftest import empty_postgres
from tests.support import wait_for

ALICE = "alice-key-0123456789abcdef"
SLOW = {"query": "[fault:slow=600000] What is the capital of France?"}  # pending until cancelled
BURST = 50


def store_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'results.db'}"
    if kind == "memory":
        return "memory://"
    url: str = request.getfixturevalue(f"{kind}_url")
    if kind == "redis":
        with redis.Redis.from_url(url) as client:
            client.flushdb()
    else:
        empty_postgres(url)
    return url


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["sqlite", "memory", "redis", "postgres"])
def test_a_burst_of_posts_takes_only_the_free_pending_slots(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    stack = make_stack(
        tmp_path,
        result_store_url=store_url(kind, request, tmp_path),
        api_keys=f"alice={ALICE}",
        rate_limit_max_pending=5,
        worker_concurrency=100,  # every accepted request runs at once
    ).up()
    headers = {"Authorization": f"Bearer {ALICE}"}
    try:
        with httpx.Client(base_url=stack.backend_url, timeout=60, headers=headers) as http:
            accepted = [http.post("/api/v1/chat", json=SLOW) for _ in range(5)]
            assert [reply.status_code for reply in accepted] == [202] * 5
            assert http.post("/api/v1/chat", json=SLOW).status_code == 429
            cancelled = accepted[0].json()["request_id"]

            def run_of_cancelled() -> str:
                runs = http.get(f"/api/v1/chat/{cancelled}/runs").json()["runs"]
                assert runs, "no run yet"
                return str(runs[0]["run_id"])

            run_id = wait_for(run_of_cancelled, timeout=30)
            httpx.delete(f"{stack.inngest_url}/v1/runs/{run_id}").raise_for_status()

            def ended() -> dict[str, Any]:
                result = http.get(f"/api/v1/chat/result/{cancelled}", params={"wait": 5}).json()
                assert result["status"] == "error", result
                return result

            wait_for(ended, timeout=60)  # its end frees its slot: exactly one is free now

        async def burst() -> list[int]:
            limits = httpx.Limits(max_connections=BURST)
            async with httpx.AsyncClient(
                base_url=stack.backend_url, timeout=60, headers=headers, limits=limits
            ) as client:
                replies = await asyncio.gather(
                    *(client.post("/api/v1/chat", json=SLOW) for _ in range(BURST))
                )
            return [reply.status_code for reply in replies]

        statuses = asyncio.run(burst())
        assert (statuses.count(202), statuses.count(429)) == (1, BURST - 1), statuses
    finally:
        stack.down()
