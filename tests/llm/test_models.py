"""Chat models lent per call: reused on a loop with a pool (the backend's), made per call elsewhere."""

from __future__ import annotations

import asyncio

import pytest

from learninngest.config import Settings
from learninngest.llm.complete import complete
from learninngest.llm.models import lend_chat_model, pooled_models

pytestmark = pytest.mark.anyio

OPTIONS = {"temperature": 0.2, "max_tokens": 50}


async def test_without_a_pool_each_call_gets_a_new_model_whose_client_is_closed_after(
    settings: Settings,
) -> None:
    async with lend_chat_model(settings, **OPTIONS) as first:
        http = first.http_async_client
    async with lend_chat_model(settings, **OPTIONS) as second:
        assert second is not first
    assert http.is_closed


async def test_a_pool_lends_the_same_warm_model_again_and_closes_it_at_the_end(settings: Settings) -> None:
    async with pooled_models():
        async with lend_chat_model(settings, **OPTIONS) as first:
            pass
        async with lend_chat_model(settings, **OPTIONS) as again:
            assert again is first
            http = again.http_async_client
        # Other options: another model (they are part of the model, not of the call).
        async with lend_chat_model(settings, temperature=0.9, max_tokens=50) as other:
            assert other is not first
        assert not http.is_closed
    assert http.is_closed


async def test_calls_in_flight_at_once_each_get_their_own_model(settings: Settings) -> None:
    held: list[object] = []
    entered = asyncio.Event()

    async def hold() -> None:
        async with lend_chat_model(settings, **OPTIONS) as chat:
            held.append(chat)
            if len(held) == 2:
                entered.set()
            await entered.wait()

    async with pooled_models():
        await asyncio.gather(hold(), hold())
    assert held[0] is not held[1]


async def test_pooled_completions_answer_as_unpooled_ones(settings: Settings) -> None:
    ask = {"query": "What is the capital of France?", "temperature": 0.2, "max_tokens": 200, "clean": True}
    plain = await complete(settings, user="pool-a", **ask)
    async with pooled_models():
        first = await complete(settings, user="pool-a", **ask)
        second = await complete(settings, user="pool-a", **ask)
    assert plain.text == first.text == second.text
    assert "Paris" in first.text
