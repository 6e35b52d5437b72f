"""Functions written in a cell run on the running stack: define, run, redefine, remove."""

from __future__ import annotations

import httpx
import inngest
import pytest

from learninngest import kit
from learninngest.kit.stack import Stack, StackError


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
    with pytest.raises(StackError, match="cannot use batchEvents and debounce together"):

        @stack.function(  # Inngest refuses a function that both batches and debounces
            fn_id="bouncy",
            trigger=inngest.TriggerEvent(event="demo/bouncy"),
            debounce=inngest.Debounce(period=__import__("datetime").timedelta(seconds=5)),
            batch_events=inngest.Batch(max_size=5, timeout=__import__("datetime").timedelta(seconds=5)),
        )
        async def bouncy(ctx: inngest.Context) -> None:
            return None

    assert stack.functions == served


def test_unregister_of_an_unknown_function_names_what_is_served(stack: Stack) -> None:
    with pytest.raises(StackError, match="no function 'nope' is served; served: learninngest-chat-worker"):
        stack.unregister("nope")
