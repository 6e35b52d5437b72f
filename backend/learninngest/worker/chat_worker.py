"""chat_worker: step "generate" calls llm/, step "save" writes store/; on failure, store error.

The only place that knows Inngest function semantics: which errors are retried,
which are final, and what happens once retries are exhausted.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Mapping
from typing import Any

import inngest

from learninngest.config import Settings
from learninngest.events import CHAT_REQUESTED, ChatRequested
from learninngest.llm.errors import LLMError
from learninngest.llm.lazy import complete
from learninngest.logs import request_context
from learninngest.store.base import ResultStore, Status
from learninngest.stream.base import Channel
from learninngest.stream.publisher import RunStream
from learninngest.worker.retry_write import finish_with_retries

log = logging.getLogger("learninngest.worker")

CHAT_WORKER_ID = "chat-worker"
CANCELLED_HANDLER_ID = "chat-cancelled"

Notify = Callable[[str], None]


def to_inngest_error(exc: LLMError, *, dev: bool = True) -> Exception:
    """Translate a sorted LLM error into what tells Inngest to retry or stop.

    Its message becomes the stored error once retries run out: in production mode
    (`dev=False`) the sentence without hosts or the provider's words (those go to the log).
    """
    message = exc.message if dev else exc.public
    if not exc.retriable:
        return inngest.NonRetriableError(message)
    if exc.retry_after_s is not None:
        return inngest.RetryAfterError(
            message, retry_after=datetime.timedelta(seconds=max(exc.retry_after_s, 0.0))
        )
    return RuntimeError(message)


def failure_message(error: Any) -> str:
    """The sentence stored for a failed request, from the failure event's `error` object."""
    if not isinstance(error, Mapping):
        return str(error) if error else "the run failed"
    message = str(error.get("message") or error.get("error") or "the run failed")
    return message


def request_id_of(failure_event_data: Mapping[str, Any]) -> str:
    """The request id inside an `inngest/function.failed|cancelled` event (its original event)."""
    original = failure_event_data.get("event") or {}
    return str((original.get("data") or {}).get("request_id", "?"))


def build_chat_functions(
    client: inngest.Inngest,
    settings: Settings,
    store: ResultStore,
    notify: Notify = lambda _request_id: None,
    channel: Channel | None = None,
) -> list[inngest.Function]:
    """Every function the backend serves: the worker, and what records a cancelled run."""
    return [
        build_chat_worker(client, settings, store, notify, channel),
        build_cancel_handler(client, settings, store, notify),
    ]


def build_cancel_handler(
    client: inngest.Inngest,
    settings: Settings,
    store: ResultStore,
    notify: Notify = lambda _request_id: None,
) -> inngest.Function:
    """A cancelled run calls no failure handler (Inngest semantics): record it, or it stays pending."""
    worker_id = f"{settings.inngest_app_id}-{CHAT_WORKER_ID}"

    @client.create_function(
        fn_id=CANCELLED_HANDLER_ID,
        name="chat_worker cancelled",
        trigger=inngest.TriggerEvent(
            event="inngest/function.cancelled", expression=f"event.data.function_id == '{worker_id}'"
        ),
    )
    async def chat_cancelled(ctx: inngest.Context) -> None:
        data = ctx.event.data or {}
        request_id = request_id_of(data)
        with request_context(request_id):
            message = f"The run was cancelled (run {data.get('run_id')}); send the request again."
            record = await finish_with_retries(store, request_id, status=Status.error, error=message)
            log.warning("run cancelled (run %s)", data.get("run_id"))
            if record is not None:
                notify(request_id)

    return chat_cancelled


def build_chat_worker(
    client: inngest.Inngest,
    settings: Settings,
    store: ResultStore,
    notify: Notify = lambda _request_id: None,
    channel: Channel | None = None,
) -> inngest.Function:
    """Build `chat_worker` bound to this backend's settings and store (a factory, no globals).

    With a `channel`, step "generate" streams the answer and publishes what happens (attempt,
    tokens) to it; the durable result is still written by step "save" alone.
    """

    async def on_failure(ctx: inngest.Context) -> None:
        data = ctx.event.data or {}
        request_id = request_id_of(data)
        with request_context(request_id):
            message = failure_message(data.get("error") or {})
            record = await finish_with_retries(store, request_id, status=Status.error, error=message)
            log.error("run failed: %s (run %s)", message, data.get("run_id"))
            if record is not None:
                notify(request_id)

    @client.create_function(
        fn_id=CHAT_WORKER_ID,
        name="chat_worker",
        trigger=inngest.TriggerEvent(event=CHAT_REQUESTED),
        retries=settings.worker_retries,
        concurrency=[inngest.Concurrency(limit=settings.worker_concurrency)],
        on_failure=on_failure,
    )
    async def chat_worker(ctx: inngest.Context) -> dict[str, Any]:
        payload = ChatRequested.model_validate(ctx.event.data)
        stream = RunStream(channel, payload.request_id, flush_s=settings.stream_flush_ms / 1000)
        with request_context(payload.request_id):

            async def generate() -> dict[str, Any]:
                attempt = ctx.attempt + 1  # Inngest's attempt of this step
                # `attempts` counts LLM calls really made: after an Inngest server crash a step
                # runs again with the same attempt number (at-least-once), and the count says so.
                calls = await store.count_attempt(payload.request_id) or attempt
                # A second call (a retry, or a step run again) tells the stream to drop the text.
                await stream.start_attempt(calls)
                if attempt == 1:
                    log.info("run started (run %s)", ctx.run_id)
                else:
                    log.warning("step generate retried: attempt %d (run %s)", attempt, ctx.run_id)
                try:
                    completion = await complete(
                        settings,
                        query=payload.query,
                        temperature=payload.temperature,
                        max_tokens=payload.max_tokens,
                        clean=payload.clean,
                        user=payload.request_id,
                        on_token=stream.token if channel is not None else None,
                    )
                except LLMError as exc:
                    kind = "retriable" if exc.retriable else "not retriable"
                    log.warning("LLM call failed on attempt %d (%s): %s", attempt, kind, exc)
                    raise to_inngest_error(exc, dev=settings.is_dev) from exc
                finally:
                    await stream.text_complete()  # tokens still batched go out before the step ends
                return {
                    "content": completion.text,
                    "model": completion.model,
                    "usage": completion.usage,
                    "attempts": calls,
                }

            result = await ctx.step.run("generate", generate)

            async def save() -> str:
                await store.finish(
                    payload.request_id,
                    status=Status.done,
                    content=result["content"],
                    model=result["model"],
                    usage=result["usage"],
                    attempts=result["attempts"],
                )
                log.info("done after %d attempt(s)", result["attempts"])
                notify(payload.request_id)
                await stream.done(attempts=result["attempts"])
                return "saved"

            await ctx.step.run("save", save)
            # The result again in the run's output: the reconciler can still record it from
            # the Inngest REST API if this backend's store write was lost.
            return {"request_id": payload.request_id, **result}

    return chat_worker
