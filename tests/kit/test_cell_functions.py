"""Functions written in a cell run on the running stack: define, run, redefine, remove."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import inngest
import pytest

from learninngest import kit
from learninngest.kit.stack import Stack, StackError


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    monkeypatch.setenv("RESULT_STORE_URL", f"sqlite:///{tmp_path / 'results.db'}")
    monkeypatch.setenv("ENGINE_DB", "memory")
    monkeypatch.setenv("ENGINE_TIME_SCALE", "0.01")
    yield kit.up()
    kit.down()


def engine_function_ids(stack: Stack) -> set[str]:
    apps = httpx.get(f"{stack.inngest_url}/v1/apps").json()["data"]["apps"]
    return {fn["slug"] for app in apps for fn in app["functions"]}


def test_define_run_redefine_and_remove_a_function(stack: Stack) -> None:
    @stack.function(fn_id="hello", trigger=inngest.TriggerEvent(event="demo/hello"))
    async def hello(ctx: inngest.Context) -> str:
        return f"hello, {ctx.event.data['name']}"

    assert "learninngest-hello" in stack.functions
    assert "learninngest-hello" in engine_function_ids(stack)  # the engine knows it: re-synced
    first = kit.wait_for_run(kit.send_event("demo/hello", {"name": "Ada"})[0], hello)
    assert (first["status"], first["output"]) == ("Completed", "hello, Ada")

    @stack.function(fn_id="hello", trigger=inngest.TriggerEvent(event="demo/hello"))
    async def hello_again(ctx: inngest.Context) -> str:
        return f"bonjour, {ctx.event.data['name']}"

    assert stack.functions.count("learninngest-hello") == 1  # replaced, not added
    second = kit.wait_for_run(kit.send_event("demo/hello", {"name": "Ada"})[0], "hello")
    assert second["output"] == "bonjour, Ada"

    stack.unregister("hello")
    assert "learninngest-hello" not in stack.functions
    assert "learninngest-hello" not in engine_function_ids(stack)
    event_id = kit.send_event("demo/hello", {"name": "Ada"})[0]
    # Triggers are matched when the event arrives: a run would exist by now.
    assert kit.runs_of_event(event_id) == []
    # The backend's own functions were never touched.
    assert "learninngest-chat-worker" in stack.functions


def test_register_takes_a_function_made_with_the_client(stack: Stack) -> None:
    @stack.client.create_function(fn_id="twice", trigger=inngest.TriggerEvent(event="demo/twice"))
    async def twice(ctx: inngest.Context) -> int:
        return int(await ctx.step.run("double", lambda: ctx.event.data["n"] * 2))

    stack.register(twice)
    run = kit.wait_for_run(stack.client.send_sync(inngest.Event(name="demo/twice", data={"n": 21}))[0], twice)
    assert run["output"] == 42
    assert [s["name"] for s in kit.steps_of(run["run_id"])][0] == "double"


def test_a_refused_function_is_not_served_and_the_error_says_why(stack: Stack) -> None:
    served = list(stack.functions)
    with pytest.raises(StackError, match="debounce is not supported"):

        @stack.function(
            fn_id="bouncy",
            trigger=inngest.TriggerEvent(event="demo/bouncy"),
            debounce=inngest.Debounce(period=__import__("datetime").timedelta(seconds=5)),
        )
        async def bouncy(ctx: inngest.Context) -> None:
            return None

    assert stack.functions == served


def test_unregister_of_an_unknown_function_names_what_is_served(stack: Stack) -> None:
    with pytest.raises(StackError, match="no function 'nope' is served; served: learninngest-chat-worker"):
        stack.unregister("nope")


def test_wait_for_a_sleeping_step_then_cancel_and_print_the_run(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    import datetime

    @stack.function(fn_id="napper", trigger=inngest.TriggerEvent(event="demo/nap"))
    async def napper(ctx: inngest.Context) -> str:
        await ctx.step.sleep("nap", datetime.timedelta(hours=10))  # 6 min at the test's time scale
        return "woke"

    event_id = kit.send_event("demo/nap", {})[0]
    nap = kit.wait_for_step(event_id, napper, "nap")
    assert (nap["op"], nap["status"]) == ("Sleep", "Sleeping")
    assert httpx.delete(f"{stack.inngest_url}/v1/runs/{nap['run_id']}").status_code == 200
    run = kit.wait_for_run(event_id, napper)
    assert run["status"] == "Cancelled"
    kit.print_run(run)
    printed = capsys.readouterr().out
    assert printed.startswith("run of learninngest-napper: Cancelled\n")
    assert "waits 36000 s (virtual)" in printed
    assert f"dashboard: {stack.inngest_url}/runs/{run['run_id']}" in printed
    assert httpx.get(kit.run_url(run)).status_code == 200


def test_waiting_for_a_run_that_never_comes_says_what_it_saw(stack: Stack) -> None:
    event_id = kit.send_event("demo/nobody-listens", {})[0]
    with pytest.raises(TimeoutError, match="no run of learninngest-ghost in .* after 0.2 s \\(no run\\)"):
        kit.wait_for_run(event_id, "ghost", timeout=0.2)
