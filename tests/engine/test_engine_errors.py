"""An engine error while a run is active: retried a few times (scaled delay), then the run fails.

The error is provoked in-process: the executor's call-body builder raises for one function.
"""

from __future__ import annotations

from typing import Any

import inngest
import pytest

from learninngest.engine.run.executor import ENGINE_ERROR_LIMIT, Executor
from learninngest.engine.state.db import Run
from learninngest.engine.sync.functions import FunctionDef
from tests.engine.harness import EngineLog, local_engine, served


def make_functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["calls"] = 0

    @client.create_function(fn_id="broken", trigger=inngest.TriggerEvent(event="engine-error/broken"))
    async def broken(ctx: inngest.Context) -> str:
        box["calls"] += 1
        return "never"

    @client.create_function(fn_id="fine", trigger=inngest.TriggerEvent(event="engine-error/fine"))
    async def fine(ctx: inngest.Context) -> str:
        return "fine"

    return [broken, fine]


def test_a_run_hit_by_engine_errors_fails_with_an_engine_error(
    engine_log: EngineLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    with local_engine() as host, served(host, "engine-error", make_functions) as ctx:
        assert host.server is not None
        executor: Executor = host.server.app.state.engine.executor
        original = executor._body

        def body(run: Run, fn: FunctionDef, generation: int) -> bytes:
            if fn.slug == "engine-error-broken":
                raise RuntimeError("simulated engine bug")
            return original(run, fn, generation)

        monkeypatch.setattr(executor, "_body", body)
        run = ctx.wait_run(ctx.send("engine-error/broken"), "Failed", timeout=10)
        assert run["output"]["name"] == "EngineError"
        assert "engine error (RuntimeError: simulated engine bug)" in run["output"]["message"]
        assert f"{ENGINE_ERROR_LIMIT} times in a row" in run["output"]["message"]
        assert ctx.box["calls"] == 0
        rows = ctx.steps(run["run_id"])
        assert [(r["op"], r["status"], r["error"]["name"]) for r in rows] == [
            ("Engine", "Failed", "EngineError")
        ]
        # Other functions are not affected.
        assert ctx.wait_run(ctx.send("engine-error/fine"), "Completed")["output"] == "fine"

    ours = [line for line in engine_log.lines if f"run_id={run['run_id']}" in line]
    retried = [line for line in ours if "it will be retried" in line]
    assert len(retried) == ENGINE_ERROR_LIMIT - 1
    assert retried[0].startswith(f"ERROR engine error while running run_id={run['run_id']} (1 of 3)")
    assert any(
        line.startswith(f"ERROR engine error while running run_id={run['run_id']}; the run fails: ")
        for line in ours
    )
