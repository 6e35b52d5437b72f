"""ClientPool: one client per call in flight, reused last-in first-out, all closed at the end."""

from __future__ import annotations

import asyncio

import pytest

from learninngest.engine.wire.client_pool import ClientPool


def test_clients_are_reused_and_only_as_many_as_calls_at_once() -> None:
    async def scenario() -> None:
        pool = ClientPool(call_timeout_s=5.0)
        async with pool.lend() as first:
            pass
        async with pool.lend() as again:
            assert again is first  # a warm client (and its keep-alive connection) is reused
        async with pool.lend() as a, pool.lend() as b:
            assert a is not b  # two calls in flight never share a connection pool
        assert pool.size == 2
        lent = pool.lend()
        client = await lent.__aenter__()
        await pool.aclose()
        assert client.is_closed and pool.size == 0
        await lent.__aexit__(None, None, None)
        with pytest.raises(RuntimeError):
            async with pool.lend():
                pass

    asyncio.run(scenario())
