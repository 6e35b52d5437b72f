"""Two step.ai.infer calls of one group, each failing once, with `retries=1` (two attempts):
each inference counts its own attempts, so both get their second attempt and succeed. (With
one counter for the group, the second failure would use up the last attempt.)"""

from __future__ import annotations

from typing import Any

import inngest
from inngest.experimental import ai

from tests.engine.harness import CaseContext
from tests.engine.recorded_model import recorded_offline_model

APP_ID = "case-ai-infer-own-attempts"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    def ask(ctx: inngest.Context, step: str, question: str) -> Any:
        adapter = ai.openai.Adapter(
            auth_key="offline-key", base_url=box["model_url"], model="learninngest-offline-1"
        )
        return ctx.step.ai.infer(
            step, adapter=adapter, body={"messages": [{"role": "user", "content": question}]}
        )

    @client.create_function(fn_id="ask-both", retries=1, trigger=inngest.TriggerEvent(event="case/ai.both"))
    async def ask_both(ctx: inngest.Context) -> list[Any]:
        answers = await ctx.group.parallel(
            (
                lambda: ask(ctx, "ask-france", "What is the capital of France? [fault:500]"),
                lambda: ask(ctx, "ask-italy", "What is the capital of Italy? [fault:500]"),
            )
        )
        # A failed inference comes back as the error body (inngest-py does not raise): keep it.
        return [a["choices"][0]["message"]["content"] if "choices" in a else a for a in answers]

    return [ask_both]


def check(ctx: CaseContext) -> None:
    with recorded_offline_model() as model:
        ctx.box["model_url"] = model.url
        run = ctx.wait_run(ctx.send("case/ai.both"), "Completed", timeout=20)
        france, italy = run["output"]
        assert "Paris" in str(france) and "Rome" in str(italy), run["output"]
        assert model.paths() == ["/v1/chat/completions"] * 4  # each failed once, then answered
        if ctx.host.kind == "engine":
            rows = [
                (r["name"], r["attempt"], r["status"])
                for r in ctx.steps(run["run_id"])
                if r["op"] == "AIGateway"
            ]
            assert sorted(rows) == [
                ("ask-france", 0, "Retrying"),
                ("ask-france", 1, "Completed"),
                ("ask-italy", 0, "Retrying"),
                ("ask-italy", 1, "Completed"),
            ]
