"""step.ai.infer inside a parallel group, beside a sleep and a step: the server makes both
inferences (one fails once and is retried alone) while the sleep sleeps, as the real server
does (it makes an AIGateway request while it handles the group's other opcodes)."""

from __future__ import annotations

import datetime
from typing import Any

import inngest
from inngest.experimental import ai

from tests.engine.harness import CaseContext
from tests.engine.recorded_model import recorded_offline_model

APP_ID = "case-ai-infer-parallel"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    def ask(ctx: inngest.Context, step: str, question: str) -> Any:
        adapter = ai.openai.Adapter(
            auth_key="offline-key", base_url=box["model_url"], model="learninngest-offline-1"
        )
        body = {"messages": [{"role": "user", "content": question}]}
        return ctx.step.ai.infer(step, adapter=adapter, body=body)

    @client.create_function(fn_id="ask-two", retries=2, trigger=inngest.TriggerEvent(event="case/ai.two"))
    async def ask_two(ctx: inngest.Context) -> list[Any]:
        france, italy, _, note = await ctx.group.parallel(
            (
                lambda: ask(ctx, "ask-france", "What is the capital of France?"),
                lambda: ask(ctx, "ask-italy", "What is the capital of Italy? [fault:500]"),
                lambda: ctx.step.sleep("nap", datetime.timedelta(seconds=5)),
                lambda: ctx.step.run("note", lambda: "noted"),
            )
        )
        return [_text(france), _text(italy), note]

    return [ask_two]


def _text(answer: Any) -> str:
    return str(answer["choices"][0]["message"]["content"])


def check(ctx: CaseContext) -> None:
    with recorded_offline_model() as model:
        ctx.box["model_url"] = model.url
        run = ctx.wait_run(ctx.send("case/ai.two"), "Completed", timeout=20)
        france, italy, note = run["output"]
        assert "Paris" in france and "Rome" in italy and note == "noted"
        assert model.paths() == ["/v1/chat/completions"] * 3  # Italy's first answer was a 500
        if ctx.host.kind == "engine":
            rows = ctx.steps(run["run_id"])
            ai_rows = [(r["name"], r["status"]) for r in rows if r["op"] == "AIGateway"]
            assert sorted(ai_rows) == [
                ("ask-france", "Completed"),
                ("ask-italy", "Completed"),
                ("ask-italy", "Retrying"),
            ]
            assert next(r for r in rows if r["name"] == "nap")["status"] == "Completed"
