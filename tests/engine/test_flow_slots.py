"""Keyed concurrency slots in priority order (engine/flow/slots.py), driven in one event loop."""

from __future__ import annotations

import asyncio

from learninngest.engine.flow.slots import Slots


async def _run(slots: Slots, name: str, wants: list[tuple[str, int]], score: float, log: list[str],
               gate: asyncio.Event) -> None:  # fmt: skip
    async with slots.hold(wants, score):
        log.append(name)
        await gate.wait()


def test_waiters_get_the_slot_lowest_score_first() -> None:
    async def main() -> list[str]:
        slots, log, gate = Slots(), [], asyncio.Event()
        holder = asyncio.create_task(_run(slots, "holder", [("fn:a", 1)], 0.0, log, gate))
        await asyncio.sleep(0)
        tasks = [
            asyncio.create_task(_run(slots, name, [("fn:a", 1)], score, log, gate))
            for name, score in (("late", 30.0), ("urgent", -5.0), ("normal", 10.0))
        ]
        await asyncio.sleep(0)
        assert log == ["holder"] and slots.waiting == 3
        gate.set()
        await asyncio.gather(holder, *tasks)
        return log

    assert asyncio.run(main()) == ["holder", "urgent", "normal", "late"]


def test_every_key_must_fit_and_other_keys_are_not_blocked() -> None:
    async def main() -> None:
        slots, log, gate = Slots(), [], asyncio.Event()
        a = asyncio.create_task(_run(slots, "ana-1", [("fn:f", 5), ("env:ana", 1)], 0.0, log, gate))
        await asyncio.sleep(0)
        b = asyncio.create_task(_run(slots, "ana-2", [("fn:f", 5), ("env:ana", 1)], 1.0, log, gate))
        c = asyncio.create_task(_run(slots, "bo-1", [("fn:f", 5), ("env:bo", 1)], 2.0, log, gate))
        await asyncio.sleep(0)
        assert log == ["ana-1", "bo-1"]  # bo is not held back by ana's key
        assert slots.used("fn:f") == 2 and slots.used("env:ana") == 1
        gate.set()
        await asyncio.gather(a, b, c)
        assert log == ["ana-1", "bo-1", "ana-2"] and slots.used("fn:f") == 0

    asyncio.run(main())


def test_a_cancelled_waiter_leaves_no_trace() -> None:
    async def main() -> None:
        slots, log, gate = Slots(), [], asyncio.Event()
        holder = asyncio.create_task(_run(slots, "holder", [("k", 1)], 0.0, log, gate))
        await asyncio.sleep(0)
        waiter = asyncio.create_task(_run(slots, "waiter", [("k", 1)], 1.0, log, gate))
        await asyncio.sleep(0)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        assert slots.waiting == 0
        gate.set()
        await holder
        assert slots.used("k") == 0 and log == ["holder"]

    asyncio.run(main())


def test_no_keys_no_wait() -> None:
    async def main() -> None:
        async with Slots().hold([], 0.0):
            pass

    asyncio.run(main())
