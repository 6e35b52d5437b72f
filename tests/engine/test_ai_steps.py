"""step.ai.infer in the engine (ai_steps.py): each inference counts its own attempts and waits
for its own backoff, an answer reaches the function while another inference waits for its
retry, and an inference cut by a restart is asked for again.

The cases ai_infer_parallel, ai_infer_beside_step and ai_infer_own_attempts show what both
hosts share; these look at the engine's timeline and clock.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import inngest
import pytest
from fastapi import Request, Response
from inngest.experimental import ai

from learninngest.engine.app import create_engine_app
from learninngest.kit.servers import BackgroundServer
from learninngest.offline_model.app import OfflineModelConfig, create_offline_model_app
from tests.engine.harness import CaseContext, Host, engine_settings, local_engine, served
from tests.support import wait_for

ALWAYS_FAILS = "[fault:500x9]"


def make_functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    def ask(ctx: inngest.Context, step: str, question: str) -> Any:
        adapter = ai.openai.Adapter(
            auth_key="offline-key", base_url=box["model_url"], model="learninngest-offline-1"
        )
        body = {"messages": [{"role": "user", "content": question}]}
        return ctx.step.ai.infer(step, adapter=adapter, body=body)

    def text(answer: Any) -> Any:
        return answer["choices"][0]["message"]["content"] if "choices" in answer else answer

    @client.create_function(fn_id="own-attempts", retries=2, trigger=inngest.TriggerEvent(event="ai/own"))
    async def own_attempts(ctx: inngest.Context) -> list[Any]:
        answers = await ctx.group.parallel(
            (
                lambda: ask(ctx, "once", "What is the capital of France? [fault:500]"),
                lambda: ask(ctx, "never", f"What is the capital of Italy? {ALWAYS_FAILS}"),
            )
        )
        return [text(a) for a in answers]

    box["heard"] = None

    @client.create_function(fn_id="heard-early", retries=2, trigger=inngest.TriggerEvent(event="ai/early"))
    async def heard_early(ctx: inngest.Context) -> list[Any]:
        async def first() -> Any:
            answer = await ask(ctx, "quick", "What is the capital of Spain?")
            box["heard"] = text(answer)  # on the first call that has the answer
            return text(answer)

        # Race mode: at request version 2 the Dev Server calls the function while a step of
        # the group is pending (the flaky inference) only in race mode.
        return list(
            await ctx.group.parallel(
                (first, lambda: ask(ctx, "flaky", "What is the capital of Peru? [fault:500]")),
                parallel_mode=inngest.ParallelMode.RACE,
            )
        )

    @client.create_function(fn_id="one-ask", retries=0, trigger=inngest.TriggerEvent(event="ai/one"))
    async def one_ask(ctx: inngest.Context) -> Any:
        return text(await ask(ctx, "ask", "What is the capital of France?"))

    return [own_attempts, heard_early, one_ask]


@pytest.fixture
def model() -> Iterator[tuple[str, list[str], threading.Event]]:
    """The offline model: its /v1 URL, the questions it was asked, and a gate its answers wait
    for (open unless a test closes it)."""
    app = create_offline_model_app(OfflineModelConfig(latency_mean_ms=0, latency_spread_ms=0))
    asked: list[str] = []
    gate = threading.Event()
    gate.set()

    @app.middleware("http")
    async def record(request: Request, call_next: Any) -> Response:
        asked.append((await request.json())["messages"][0]["content"].split("?")[0])
        await asyncio.to_thread(gate.wait, 30)
        return await call_next(request)  # type: ignore[no-any-return]

    with BackgroundServer(app, name="offline-model") as server:
        yield f"{server.url}/v1", asked, gate


def _rows(ctx: CaseContext, run_id: str) -> list[tuple[str, int, str]]:
    return sorted((r["name"], r["attempt"], r["status"]) for r in ctx.steps(run_id) if r["op"] == "AIGateway")


def test_each_inference_counts_its_own_attempts(model: tuple[str, list[str], threading.Event]) -> None:
    """retries=2: one inference fails once and then answers, the other fails on all three of
    its own attempts, however the first one's attempts went."""
    with local_engine() as host, served(host, "ai-steps", make_functions) as ctx:
        ctx.box["model_url"], asked, _ = model
        run = ctx.wait_run(ctx.send("ai/own"), "Completed", timeout=20)
        paris, failure = run["output"]
        assert "Paris" in paris
        assert isinstance(failure, dict) and "error" in failure, failure  # the last answer's body
        assert sorted(asked) == ["What is the capital of France"] * 2 + ["What is the capital of Italy"] * 3
        assert _rows(ctx, run["run_id"]) == [
            ("never", 0, "Retrying"),
            ("never", 1, "Retrying"),
            ("never", 2, "Failed"),
            ("once", 0, "Retrying"),
            ("once", 1, "Completed"),
        ]


def test_an_answer_reaches_the_function_while_another_inference_waits_for_its_retry(
    model: tuple[str, list[str], threading.Event],
) -> None:
    """The clock is slowed (time scale 100: the first backoff is some 25 minutes): the function
    is called with the answer it has at once, not when the other inference is retried."""
    with local_engine(time_scale=100.0) as host, served(host, "ai-steps", make_functions) as ctx:
        ctx.box["model_url"], asked, _ = model
        event_id = ctx.send("ai/early")
        heard = wait_for(lambda: _truthy(ctx.box["heard"]), timeout=15)
        assert "Madrid" in heard
        run_id = ctx.runs(event_id)[0]["run_id"]
        assert ctx.run(run_id)["status"] == "Running"
        assert _rows(ctx, run_id) == [("flaky", 0, "Retrying"), ("quick", 0, "Completed")]
        assert sorted(asked) == ["What is the capital of Peru", "What is the capital of Spain"]
        with host.rest() as rest:
            assert rest.delete(f"/v1/runs/{run_id}").status_code == 200


def test_an_inference_cut_by_a_restart_is_asked_for_again(
    tmp_path: Path, model: tuple[str, list[str], threading.Event]
) -> None:
    settings = engine_settings(db_path=str(tmp_path / "engine.db"))
    first = BackgroundServer(create_engine_app(settings), name="engine", port=settings.port).start()
    model_url, asked, gate = model
    gate.clear()  # the model holds its answer: the engine stops while it waits for it
    try:
        with served(Host("engine", first.url), "ai-steps", make_functions) as ctx:
            ctx.box["model_url"] = model_url
            event_id = ctx.send("ai/one")
            run_id = ctx.wait_run(event_id, "Running")["run_id"]
            ctx.wait_step(run_id, "ask", "Inferring")
            wait_for(lambda: _truthy(asked), timeout=10)
            first.stop()
            gate.set()
            second = BackgroundServer(create_engine_app(settings), name="engine", port=settings.port).start()
            try:
                run = ctx.wait_run(event_id, "Completed", timeout=20)
                assert "Paris" in run["output"]
                statuses = [r["status"] for r in ctx.steps(run_id) if r["op"] == "AIGateway"]
                assert statuses == ["Interrupted", "Completed"]
                assert asked == ["What is the capital of France"] * 2
            finally:
                second.stop()
    finally:
        gate.set()
        first.stop()


def _truthy(value: Any) -> Any:
    assert value, value
    return value
