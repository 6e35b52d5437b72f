"""step.ai.infer and a step.run in one parallel group: the server makes the inference while the
app runs the step. The real server handles the opcodes of a reply at once: it enqueues the
planned step, which a worker runs, while it makes the AIGateway request."""

from __future__ import annotations

import contextlib
from typing import Any

import inngest
from fastapi import Request, Response
from inngest.experimental import ai

from learninngest.kit.servers import BackgroundServer
from learninngest.offline_model.app import OfflineModelConfig, create_offline_model_app
from tests.engine.harness import CaseContext
from tests.support import async_wait_for

APP_ID = "case-ai-infer-beside-step"
HOLD_S = 30.0  # how long the model holds its answer back waiting for the step (a bound, not a timing)


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["step_ran"] = False

    def note() -> str:
        box["step_ran"] = True
        return "noted"

    @client.create_function(
        fn_id="ask-and-note", retries=0, trigger=inngest.TriggerEvent(event="case/ai.beside")
    )
    async def ask_and_note(ctx: inngest.Context) -> list[Any]:
        adapter = ai.openai.Adapter(
            auth_key="offline-key", base_url=box["model_url"], model="learninngest-offline-1"
        )
        body = {"messages": [{"role": "user", "content": "What is the capital of Spain?"}]}
        answer, noted = await ctx.group.parallel(
            (
                lambda: ctx.step.ai.infer("ask", adapter=adapter, body=body),
                lambda: ctx.step.run("note", note),
            )
        )
        return [str(answer["choices"][0]["message"]["content"]), noted]

    return [ask_and_note]


def check(ctx: CaseContext) -> None:
    model = create_offline_model_app(OfflineModelConfig(latency_mean_ms=0, latency_spread_ms=0))
    step_ran_before_answer: list[bool] = []

    async def step_ran() -> None:
        assert ctx.box["step_ran"]

    @model.middleware("http")
    async def hold(request: Request, call_next: Any) -> Response:
        # The answer waits until the group's step has run: a server that made the inference
        # first and called the step after would leave it waiting the whole bound.
        with contextlib.suppress(AssertionError):
            await async_wait_for(step_ran, timeout=HOLD_S)
        step_ran_before_answer.append(ctx.box["step_ran"])
        return await call_next(request)  # type: ignore[no-any-return]

    with BackgroundServer(model, name="offline-model") as server:
        ctx.box["model_url"] = f"{server.url}/v1"
        run = ctx.wait_run(ctx.send("case/ai.beside"), "Completed", timeout=HOLD_S + 20)
        answer, noted = run["output"]
        assert "Madrid" in answer and noted == "noted"
        assert step_ran_before_answer == [True]
