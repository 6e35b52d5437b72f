"""Engine: the composer. The one place that builds the engine's parts and hands each its collaborators.

Every part is built here as a sibling of the others, with what it needs passed in, and one
`RunHooks` (run/hooks.py) for what the run loop asks of the rest: emit an event (intake),
start an invoked run (flow control), a run finished (AI steps forget its requests). Nothing
is patched on after construction and no part reaches through another. The HTTP surface
(app.py, http/) reads parts from here; nothing here imports it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from learninngest.engine.clock import Clock
from learninngest.engine.connect import Connect
from learninngest.engine.flow.control import FlowControl
from learninngest.engine.ids import UlidFactory
from learninngest.engine.realtime import Realtime
from learninngest.engine.run.ai_steps import AiSteps
from learninngest.engine.run.checkpoint import Checkpoints
from learninngest.engine.run.cron import Cron
from learninngest.engine.run.executor import Executor
from learninngest.engine.run.hooks import RunHooks
from learninngest.engine.run.intake import Intake
from learninngest.engine.run.lifecycle import RunLifecycle
from learninngest.engine.run.outcomes import Outcomes
from learninngest.engine.run.queue import RunQueue
from learninngest.engine.settings import EngineSettings
from learninngest.engine.state.db import State
from learninngest.engine.state.retention import purge_periodically
from learninngest.engine.sync.functions import FunctionDef
from learninngest.engine.sync.registry import Registry
from learninngest.engine.wire.client_pool import ClientPool
from learninngest.engine.wire.driver import ByScheme, HttpDriver
from learninngest.engine.wire.endpoint_driver import EndpointDriver


class Engine:
    """The parts of one engine (`app.state.engine`); the state opens when the engine starts."""

    def __init__(self, settings: EngineSettings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or Clock(settings.time_scale)
        self.ids = UlidFactory()
        self.state = State(settings.db_path)
        self.registry = Registry(settings, self.state, self.clock)
        self.hooks = RunHooks(
            emit=self._emit, start_invoked=self._start_invoked, run_finished=(self._run_finished,)
        )
        self.queue = RunQueue()
        self.runs = RunLifecycle(self.state, self.clock, self.queue, self.ids, self.hooks)
        self.http = ClientPool(settings.call_timeout_s)
        self.connect = Connect(settings, self.registry, self.ids)
        self.driver = EndpointDriver(
            settings,
            ByScheme(http=HttpDriver(settings, self.http), connect=self.connect.router),
            self.http,
            self.state,
            self.registry,
        )
        self.ai = AiSteps(self.state, self.clock, self.runs, self.http, settings.call_timeout_s)
        self.outcomes = Outcomes(self.state, self.clock, self.runs, self.registry, self.ai, self.hooks)
        self.flow = FlowControl(self.state, self.clock, self.registry, self.runs)
        self.executor = Executor(
            settings,
            self.state,
            self.clock,
            self.registry,
            self.queue,
            self.runs,
            self.outcomes,
            self.ai,
            self.flow,
            self.driver,
        )
        self.realtime = Realtime(settings.signing_key, self.registry.keys, self.clock, self.ids)
        self.checkpoints = Checkpoints(
            self.state,
            self.clock,
            self.registry,
            self.runs,
            self.outcomes,
            self._emit,
            settings.signing_key,
            stream_token=self.realtime.stream_token,
            fresh_s=settings.checkpoint_fresh_s if settings.dispatch_validation else None,
        )
        self.cron = Cron(self.state, self.clock, self.registry, self.runs, self.hooks)
        self.intake = Intake(settings, self.state, self.clock, self.registry, self.runs, self.flow, self.ids)
        self._purge: asyncio.Task[None] | None = None

    # --- the hooks: each hands the run loop's request to the part that answers it
    def _emit(self, event: dict[str, Any], match: bool) -> str:
        return self.intake.ingest_internal(event, match)

    def _start_invoked(self, fn: FunctionDef, event: dict[str, Any], event_id: str) -> None:
        self.flow.on_invoke(fn, event, event_id)

    def _run_finished(self, run_id: str) -> None:
        self.ai.forget(run_id)

    # --- lifecycle
    async def start(self) -> None:
        self.state.open()
        self.registry.load()
        self.http.open()
        await self.executor.start()
        self.cron.start()
        self.flow.start()
        await self.connect.start()
        # A moved clock (a test, POST /v1/clock/advance) wakes whoever sleeps until a due time.
        self.clock.on_advance(self.queue.wake)
        self.clock.on_advance(self.flow.wake)
        self.clock.on_advance(self.cron.wake)
        self._purge = asyncio.create_task(
            purge_periodically(self.state, self.clock, self.settings.retention_s), name="engine-purge"
        )

    async def stop(self) -> None:
        """Stop calling apps; every run stays in the state where it was (re-called on start)."""
        if self._purge is not None:
            self._purge.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purge
            self._purge = None
        await self.realtime.stop()
        await self.connect.stop()
        await self.executor.stop()
        await self.flow.stop()
        await self.cron.stop()
        await self.http.aclose()
        self.state.close()
