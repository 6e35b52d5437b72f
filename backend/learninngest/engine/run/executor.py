"""The run loop: call an app's /api/inngest step by step, apply outcomes, finish runs.

One asyncio task per due run; it takes its function's concurrency slot, then a global slot
(never holding a global slot while it waits for its function's), keeps both while it calls
the app, and gives them back when the run sleeps, waits, backs off or ends. An engine error
while a run is active reschedules it; after ENGINE_ERROR_LIMIT of them in a row the run fails
with an `EngineError` instead of being retried forever.
The planned steps of a parallel group are called at once, each extra call on a slot of its
own (like the real server). How a reply changes a run is in outcomes.py; creating, waking
and finishing runs in lifecycle.py; the call itself goes through a driver (wire/driver.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from learninngest.engine.clock import Clock
from learninngest.engine.flow.control import FlowControl
from learninngest.engine.run import defers
from learninngest.engine.run.ai_steps import AiSteps
from learninngest.engine.run.lifecycle import RunLifecycle
from learninngest.engine.run.outcomes import Outcomes
from learninngest.engine.run.queue import RunQueue
from learninngest.engine.settings import EngineSettings
from learninngest.engine.state.db import State
from learninngest.engine.state.models import FUNCTION_RETRY, EngineOp, Run, RunStatus, StepStatus
from learninngest.engine.sync.functions import FunctionDef
from learninngest.engine.wire import protocol
from learninngest.engine.wire.driver import Driver

if TYPE_CHECKING:
    from learninngest.engine.sync.registry import Registry

log = logging.getLogger("learninngest.engine")

# Engine errors in a row after which a run fails instead of being rescheduled again.
ENGINE_ERROR_LIMIT = 3
# Intended delay before a run hit by an engine error is activated again (time scale applies).
ENGINE_ERROR_DELAY_S = 15.0


def _may_retry(outcome: protocol.Outcome) -> bool:
    """A failed call, or a step error: its reply may schedule a retry of the run."""
    if isinstance(outcome, protocol.CallFailed):
        return True
    return isinstance(outcome, protocol.Ops) and any(o.op == "StepError" for o in outcome.ops)


class Executor:
    """The run loop. Built by the composer (engine/compose.py) with every collaborator."""

    def __init__(
        self,
        settings: EngineSettings,
        state: State,
        clock: Clock,
        registry: Registry,
        queue: RunQueue,
        runs: RunLifecycle,
        outcomes: Outcomes,
        ai: AiSteps,
        flow: FlowControl,
        driver: Driver,
    ) -> None:
        self.settings = settings
        self.state = state
        self.clock = clock
        self.registry = registry
        self.queue = queue
        self.runs = runs
        self.outcomes = outcomes
        self.ai = ai
        self.flow = flow
        self.driver = driver
        self._loop_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(1)
        self._engine_errors: dict[str, int] = {}
        self._stopping = False

    # --- lifecycle
    async def start(self) -> None:
        # Fresh loop-bound objects: the same app may be started again in another event loop.
        self.queue.clear()
        self._slots = asyncio.Semaphore(max(1, self.settings.max_concurrency))
        self._engine_errors = {}
        self._tasks = set()
        self._stopping = False
        # Work that was due, retrying or sleeping when the engine stopped carries on.
        for run_id, due in self.state.due_runs():
            self.queue.schedule(run_id, due)
        self._loop_task = asyncio.create_task(self._loop(), name="engine-run-loop")

    async def stop(self) -> None:
        """Stop calling apps; the state keeps every run where it was (re-called on start)."""
        self._stopping = True
        tasks = [t for t in (self._loop_task, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def idle(self, poll_s: float = 0.01) -> None:
        """Drain mode for tests and benches: return when nothing is running or due now."""
        while True:
            nxt = self.queue.next_due()
            if self.queue.active == 0 and (nxt is None or nxt > self.clock.now() + 0.5):
                return
            await asyncio.sleep(poll_s)

    async def _loop(self) -> None:
        while not self._stopping:
            for run_id in self.queue.pop_due(self.clock.now()):
                task = asyncio.create_task(self._activate(run_id), name=f"run-{run_id}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            nxt = self.queue.next_due()
            await self.queue.wait(None if nxt is None else max(0.0, nxt - self.clock.now()))

    # --- one activation of one run
    async def _activate(self, run_id: str) -> None:
        try:
            run = self.state.get_run(run_id)
            if run is None or run.finished:
                return
            fn = self.registry.get(run.function_slug)
            if fn is None:
                self.runs.fail_unsupported(
                    run, f"function {run.function_slug} is not registered any more (re-sync its app?)"
                )
                return
            if run.status == RunStatus.SCHEDULED:
                # Flow control may hold a queued run back (throttle, priority, timeouts.start).
                again_at = self.flow.before_start(run, fn)
                if again_at is not None:
                    if again_at != float("inf"):
                        self.queue.schedule(run_id, again_at)
                    return
            # The function's slots first (flow control: its limit and keyed limits, in priority
            # order): a run queued behind them must not sit on a global slot that runs of
            # other functions (failure handlers...) could use.
            async with self.flow.slots(run, fn), self._slots:
                again, first = True, True
                held: Run | None = run
                while again and not self._stopping:
                    # The run as the last call left it, read again only if something else
                    # (an event, a cancel, a timeout) wrote it since.
                    if held is None:
                        current = self.state.get_run(run_id)
                    else:
                        current = None if held.finished else self.state.latest(held)
                    if current is None or current.finished:
                        break
                    (again, held), first = await self._step(current, fn, first), False
            self._engine_errors.pop(run_id, None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._engine_error(run_id, exc)
        finally:
            self.queue.done(run_id)

    def _engine_error(self, run_id: str, exc: Exception) -> None:
        """A bug or a broken state, not a failed call: retry the run a few times, then fail it."""
        count = self._engine_errors.get(run_id, 0) + 1
        self._engine_errors[run_id] = count
        if count < ENGINE_ERROR_LIMIT:
            log.exception(
                "engine error while running run_id=%s (%d of %d); it will be retried",
                run_id,
                count,
                ENGINE_ERROR_LIMIT,
            )
            self.queue.schedule(run_id, self.clock.due_after(ENGINE_ERROR_DELAY_S))
            return
        self._engine_errors.pop(run_id, None)
        reason = (
            f"engine error ({type(exc).__name__}: {exc}) {count} times in a row while running this run; "
            "the engine gave up on it (a LearnInngest engine bug or a broken state, not the app)"
        )
        log.exception("engine error while running run_id=%s; the run fails: %s", run_id, reason)
        try:
            run = self.state.get_run(run_id)
            if run is not None and not run.finished:
                now = self.clock.now()
                err = protocol.error_object("EngineError", reason)
                with self.state.tx():
                    self.runs.row(
                        run,
                        step_id="step",
                        name="function",
                        op=EngineOp.ENGINE,
                        status=StepStatus.FAILED,
                        started=now,
                        ended=now,
                        error=err,
                    )
                    self.runs.finish(run, RunStatus.FAILED, err)
        except Exception:
            log.exception("run_id=%s could not be marked failed either; it stays as it is", run_id)

    async def _step(self, run: Run, fn: FunctionDef, first: bool = True) -> tuple[bool, Run | None]:
        """One call to the app, or the calls of a group's planned steps and the inferences the
        run asked for (made at the same time, as the real server does); True to call again,
        with the run as the call saved it (None: read it again).

        `first`: the activation's first call. A run woken while it waits with nothing due (a
        restart, a stale wake-up) has nothing to call; one whose last reply moved it on, or
        whose pause ended (news), is called again; a planned step is called when its retry is
        due, and only then, whatever else happens meanwhile.
        """
        now = self.clock.now()
        lost = self.ai.drop_lost(run)  # inferences a restart cut: the app asks again
        soonest = run.next_due()
        # Due before everything the run waits for: something asked for a call (a pause resumed
        # by an event or an invoked run, an answer, a reply that moved the run on).
        news = lost or (run.due is not None and (soonest is None or run.due < soonest))
        ended = [p for p in run.pauses if (d := p.get("deadline")) is not None and d <= now]
        for pause in ended:
            self.runs.wake(run, pause)  # sleep over, wait or invoke timed out
        ready = run.ready_planned(now)
        asking = self.ai.pending(run)
        reasking = run.inference_retries_due(now)
        retry = run.retries.get(FUNCTION_RETRY)
        retrying = retry is not None and float(retry["due"]) <= now  # the function call's retry
        waiting = run.pauses or run.retries
        if first and waiting and not (ended or ready or asking or reasking or news or retrying):
            # Still paused (activated early, after a restart or a stale wake-up): nothing to call.
            run.due = run.next_due()
            self.state.save_run(run)
            if run.due is not None:
                self.queue.schedule(run.run_id, run.due)
            return False, None
        if run.status == RunStatus.SCHEDULED:
            run.status = RunStatus.RUNNING
            self.flow.started(run, fn)
            log.info("run started run_id=%s fn=%s event_id=%s", run.run_id, run.function_slug, run.event_id)
        if ready or asking:
            return await self._group(run, fn, ready, bool(ended) or news), None
        if retrying:
            # The function's call retries with its own attempt (news that came meanwhile goes
            # with it: the body holds every memoized step).
            run.attempt = run.step_attempt(FUNCTION_RETRY)
        elif reasking and not (ended or news):
            # The call that asks for an inference again makes its retry's attempt, as the real
            # server's retried queue item does.
            run.attempt = max(run.step_attempt(s) for s in reasking)
        elif not reasking and self._group_pending(run):
            return self._wait_for_group(run), None
        return await self._discover(run, fn, retrying)

    def _group_pending(self, run: Run) -> bool:
        """Request version 2, wait mode: a step of the run's last group is not memoized yet, so
        the function is not called (the Dev Server enqueues the next call only when SaveStep
        reports no pending step; in race mode after every step, so no group is kept)."""
        group = self.runs.group_pending.get(run.run_id)
        if not group:
            return False
        if all(step_id in run.memo for step_id in group):
            del self.runs.group_pending[run.run_id]
            return False
        return True

    def _wait_for_group(self, run: Run) -> bool:
        """Back to the run's pauses and retries until the group's last step ends (False)."""
        run.due = run.next_due()
        self.state.save_run(run)
        if run.due is not None:
            self.queue.schedule(run.run_id, run.due)
        return False

    def _before_discovery(self, run: Run) -> None:
        """Request version 2: the call after a group's last step clears disable_immediate_execution
        (the Dev Server's maybeResetForceStepPlan, on every discovery it enqueues after a step),
        so the function runs its next step at once again instead of planning it."""
        if run.request_version >= 2 and not self._group_pending(run):
            self.runs.no_immediate.discard(run.run_id)

    async def _group(self, run: Run, fn: FunctionDef, ready: list[str], news: bool) -> bool:
        """Call the planned steps that are due and make the inferences asked for, all at once."""
        jobs = []
        if self.ai.pending(run):
            # step.ai.infer: the engine makes the requests itself (ai_steps.py), not a call.
            jobs.append(self.ai.infer(run, fn))
        if ready:
            jobs.append(self._planned(run, fn, ready, news))
        async with asyncio.TaskGroup() as tasks:
            started = [tasks.create_task(job) for job in jobs]
        again = any(t.result() for t in started)
        latest = self.state.get_run(run.run_id)
        # A pause ended meanwhile and no call saw it yet (no planned step was called): call now.
        return again or (news and not ready and latest is not None and not latest.finished)

    async def _discover(self, run: Run, fn: FunctionDef, retrying: bool = False) -> tuple[bool, Run | None]:
        """Call the function with `stepId=step`: it runs, or reports its next steps. True to
        call again, with the run as the reply saved it.

        `retrying`: the call is the function call's pending retry (it is used up)."""
        started = self.clock.now()
        seen = set(run.memo)
        self._before_discovery(run)
        outcome = await self._call(run, fn, "step")
        # The stored run: a pause may have ended while the call was in flight. It is `run`
        # itself when nothing wrote the run meanwhile (its unsaved status and attempt are set
        # below anyway).
        latest = self.state.latest(run)
        if latest is None or latest.finished:
            log.info("run_id=%s ended while its call was in flight; reply discarded", run.run_id)
            return False, None
        # The reply is judged at the attempt the call made.
        latest.attempt = run.attempt
        if retrying:
            latest.retries.pop(FUNCTION_RETRY, None)
        if latest.status == RunStatus.SCHEDULED:
            latest.status = RunStatus.RUNNING
        again = self.outcomes.apply(latest, fn, "step", outcome, started)
        return again or self._has_news(latest, seen), latest

    def _has_news(self, run: Run, seen: set[str]) -> bool:
        """A pause ended (or an inference was answered) while the call was in flight: its result
        is memoized but the app did not see it, so call the function again now rather than at
        the next deadline. `run`: as the reply saved it."""
        # Steps the call checkpointed (run/checkpoint.py) were run by the app itself: not news.
        seen = seen | self.runs.checkpointed.pop(run.run_id, set())
        latest = None if run.finished else self.state.latest(run)
        return latest is not None and not latest.finished and bool(set(latest.memo) - seen)

    async def _call(self, run: Run, fn: FunctionDef, target: str) -> protocol.Outcome:
        """One call of the function (`target`: "step", or a planned step's hash), in flight
        under a new dispatch generation, which its header and body carry."""
        with self.runs.dispatches.call(run.run_id) as generation:
            body = self._body(run, fn, generation)
            return await self.driver.call(protocol.call_url(fn.url, target), body, generation)

    def _body(self, run: Run, fn: FunctionDef, generation: int) -> bytes:
        def build(use_api: bool) -> bytes:
            return protocol.encode(
                protocol.build_call_body(
                    event=run.event,
                    events=run.events,
                    memo=run.memo,
                    run_id=run.run_id,
                    attempt=run.attempt,
                    max_attempts=fn.max_attempts,
                    stack=run.stack,
                    version=run.request_version,
                    use_api=use_api,
                    disable_immediate_execution=run.run_id in self.runs.no_immediate,
                    fn_id=fn.uuid,
                    qi_id=run.run_id,  # the run is the engine's queue item
                    defers=defers.call_entries(run) if run.defers else None,
                    generation=generation,
                )
            )

        body = build(False)
        if len(body) <= self.settings.inline_state_limit:
            return body
        # Too big to send at every call: the SDK fetches the state from /v0/runs/{id}/…
        log.debug(
            "run_id=%s state is %d bytes (limit %d): call with use_api",
            run.run_id,
            len(body),
            self.settings.inline_state_limit,
        )
        return build(True)

    async def _planned(self, run: Run, fn: FunctionDef, ready: list[str], news: bool = False) -> bool:
        """Call the planned steps of a parallel group that are due (`ready`: all but those
        waiting for their retry) at once and apply the replies; each call makes its step's own
        attempt. `news`: a pause ended before the calls (the function must hear of it).

        The run's own slots make the first call, so the group always makes progress; each
        extra call first takes a global slot and the function's slot, and is not made at all
        if the run's own worker got through the calls first (no deadlock when every slot is
        held by a run with a group).

        Wait mode (the default): replies are applied once all are in, in planned order, those
        that may retry last; then the function is called again if a step finished (a step that
        retries does so after its own backoff, while the run goes on). Race mode
        (`parallelMode: "race"` on the planned steps): each successful reply is applied when it
        comes and the function is called again right away (`stepId=step`), so a fast branch
        moves on to its next steps while the others still run; the steps it plans join the
        group. Replies that may retry
        are applied at the end, as in wait mode.
        """
        race = any(t in run.race for t in run.planned)
        memo_start = len(run.memo)
        jobs: asyncio.Queue[str] = asyncio.Queue()
        results: asyncio.Queue[tuple[str, protocol.Outcome, float, float]] = asyncio.Queue()
        workers: list[asyncio.Task[None]] = []

        async def work(keep: bool) -> None:
            """Make the calls in `jobs`; `keep`: wait for more (the run's own worker) or stop."""
            while keep or not jobs.empty():
                target = await jobs.get()
                current = self.state.get_run(run.run_id) or run
                if target != "step":
                    current.attempt = current.step_attempt(target)  # each step its own attempt
                else:
                    self._before_discovery(current)  # race mode: after each finished step
                started = self.clock.now()
                outcome = await self._call(current, fn, target)
                await results.put((target, outcome, started, self.clock.now()))

        async def extra() -> None:
            async with self.flow.slots(run, fn), self._slots:
                # Slots got: help with what is left, then give them back (an idle helper must
                # not sit on a slot that other runs could use).
                await work(keep=False)

        def submit(targets: list[str]) -> int:
            """Queue calls; returns how many. One worker rides on the run's own slots and waits
            for more; each other call gets a helper that first takes slots of its own."""
            for target in targets:
                jobs.put_nowait(target)
            helpers = len(targets)
            if not workers and targets:
                workers.append(asyncio.create_task(work(keep=True)))
                helpers -= 1
            workers.extend(asyncio.create_task(extra()) for _ in range(helpers))
            return len(targets)

        def failed_worker() -> BaseException | None:
            for task in workers:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    return task.exception()
            return None

        replies: dict[str, tuple[protocol.Outcome, float, float]] = {}
        deferred: list[str] = []
        in_flight = set(ready)
        outstanding = submit(list(ready))
        discovering, rediscover, again = False, False, True
        try:
            while outstanding:
                getter = asyncio.create_task(results.get())
                running = [w for w in workers if not w.done()]
                await asyncio.wait([getter, *running], return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    if (exc := failed_worker()) is not None:
                        raise exc  # an engine error, not a failed call: _activate retries the run
                    continue
                target, outcome, started, ended = getter.result()
                outstanding -= 1
                if target == "step":
                    discovering = False
                elif not race or _may_retry(outcome):
                    replies[target] = (outcome, started, ended)
                    if race:
                        deferred.append(target)
                    continue
                latest = self.state.get_run(run.run_id)
                if latest is None or latest.finished:
                    log.info("run_id=%s ended while its calls were in flight; replies discarded", run.run_id)
                    return False
                memoized = len(latest.memo)
                again = self.outcomes.apply(latest, fn, target, outcome, started, ended)
                latest = self.state.get_run(run.run_id)
                if latest is None or latest.finished:
                    return False
                new = [t for t in latest.ready_planned(self.clock.now()) if t not in in_flight]
                in_flight.update(new)
                outstanding += submit(new)
                # A finished step, or a call that ran one itself: the function may move on.
                if target != "step" or rediscover or (again and len(latest.memo) > memoized):
                    # Race: a branch finished a step; let the function say what comes next.
                    if discovering:
                        rediscover = True
                    else:
                        discovering, rediscover = True, False
                        outstanding += submit(["step"])
        finally:
            for task in workers:
                task.cancel()
            for task in workers:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if race:
            order = deferred
        else:
            order = sorted(replies, key=lambda t: (_may_retry(replies[t][0]), run.planned.index(t)))
        for target in order:
            latest = self.state.get_run(run.run_id)
            if latest is None or latest.finished:
                log.info("run_id=%s ended while its calls were in flight; replies discarded", run.run_id)
                return False
            outcome, started, ended = replies[target]
            again = self.outcomes.apply(latest, fn, target, outcome, started, ended) and again
        latest = self.state.get_run(run.run_id)
        if latest is None or latest.finished:
            return False
        moved = again or news or len(latest.memo) > memo_start
        if moved and (latest.pauses or latest.retries) and not latest.ready_planned(self.clock.now()):
            if self._group_pending(latest):
                # Request version 2: the Dev Server calls the function only once no step of the
                # group is pending (a pause, a step waiting for its retry).
                return self._wait_for_group(latest)
            # The group is done for now but a pause (an inference) or a step's retry is not: ask
            # the function what comes next now, like the real server at request version 1,
            # where each finished step and each ended pause enqueues a call of its own.
            return (await self._discover(latest, fn))[0]
        return moved
