"""step.ai.infer: the server calls the model (here the offline model, started by the check),
memoizes its answer, retries a failed call like a step, and hands a final failure back as
the step's value. The function's own code never calls the model."""

from __future__ import annotations

from typing import Any

import httpx
import inngest
from inngest.experimental import ai

from tests.engine.harness import CaseContext
from tests.engine.recorded_model import recorded_offline_model

APP_ID = "case-ai-infer"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["bodies"] = 0  # times a function body ran past the inference

    async def ask(ctx: inngest.Context) -> dict[str, Any]:
        adapter = ai.openai.Adapter(
            auth_key="offline-key", base_url=box["model_url"], model="learninngest-offline-1"
        )
        answer = await ctx.step.ai.infer(
            "ask-model",
            adapter=adapter,
            body={"messages": [{"role": "user", "content": ctx.event.data["question"]}]},
        )
        box["bodies"] += 1
        return {"answer": answer}

    @client.create_function(fn_id="ask", retries=2, trigger=inngest.TriggerEvent(event="case/ai.ask"))
    async def ask_fn(ctx: inngest.Context) -> dict[str, Any]:
        return await ask(ctx)

    @client.create_function(fn_id="ask-once", retries=0, trigger=inngest.TriggerEvent(event="case/ai.once"))
    async def ask_once(ctx: inngest.Context) -> dict[str, Any]:
        return await ask(ctx)

    return [ask_fn, ask_once]


def check(ctx: CaseContext) -> None:
    with recorded_offline_model() as model:
        ctx.box["model_url"] = model.url

        # The first call fails with 500, the retry answers: one memoized answer, two model calls.
        question = "What is the capital of France? [fault:500]"
        run = ctx.wait_run(ctx.send("case/ai.ask", {"question": question}), "Completed")
        answer = run["output"]["answer"]
        assert answer["object"] == "chat.completion"
        assert "Paris" in answer["choices"][0]["message"]["content"]
        assert model.seen == [("/v1/chat/completions", "Bearer offline-key")] * 2
        assert ctx.box["bodies"] == 1  # the function resumed once, with the memoized answer
        if ctx.host.kind == "engine":
            rows = [s for s in ctx.steps(run["run_id"]) if s["name"] == "ask-model"]
            assert [(r["op"], r["attempt"], r["status"]) for r in rows] == [
                ("AIGateway", 0, "Retrying"),
                ("AIGateway", 1, "Completed"),
            ]
            assert rows[0]["error"]["name"] == "Error making AI request: unsuccessful status code: 500"
            assert rows[1]["output"] == answer
        # The Dev Server's GraphQL shows the step as an AI gateway call (both hosts answer it).
        query = "query ($id: String!) { run(runID: $id) { hasAI trace { childrenSpans { name stepOp } } } }"
        resp = httpx.post(f"{ctx.host.url}/v0/gql", json={"query": query, "variables": {"id": run["run_id"]}})
        gql_run = resp.json()["data"]["run"]
        assert gql_run["hasAI"] is True
        assert {"name": "ask-model", "stepOp": "AI_GATEWAY"} in gql_run["trace"]["childrenSpans"]

        # Out of attempts: the model's error body comes back as the step's value (no raise).
        run = ctx.wait_run(ctx.send("case/ai.once", {"question": "Hi [fault:500x*]"}), "Completed")
        assert run["output"]["answer"]["error"]["error"]["type"] == "server_error"
