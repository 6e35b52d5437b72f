# %% [markdown]
# # More Inngest: replays, fan-out, cron, idempotency, AI calls and tests
#
# `inngest_functions.ipynb` taught the steps; `flow_control.ipynb` what happens to a
# burst. This notebook covers the rest of what a real application needs. Each lesson
# defines a function in a cell, runs it on the stack, prints the evidence, and asserts
# the fact it teaches.
#
# | Lesson | The idea | The SDK call |
# | --- | --- | --- |
# | 1 | Code outside steps runs on every call | (a counter) |
# | 2 | Fan-out: one event starts many runs | `ctx.step.send_event` |
# | 3 | A function on a schedule | `trigger=inngest.TriggerCron(cron=...)` |
# | 4 | One run per business key | `idempotency="event.data.order_id"` |
# | 5 | Let the engine call the model | `ctx.step.ai.infer` |
# | 6 | Testing a function with pytest | `inngest.experimental.mocked`, the kit |
#
# The engine's clock runs 1000x faster (`engine_time_scale=0.001`): half an hour of cron
# schedule passes in 1.8 s. The offline model takes 0.8 s per answer, so you can see
# who waits for it.

# %%
import collections
import datetime
import re
import subprocess
import sys
import time

import httpx
import inngest
from inngest.experimental import ai

from learninngest import kit

stack = kit.up(
    engine_time_scale=0.001,
    engine_db="memory",
    result_store_url="memory://",
    offline_latency_mean_ms=800,
    offline_latency_spread_ms=0,
    log_level="ERROR",
)


def send(name: str, **data: object) -> str:
    """Send one event with the backend's Inngest client; returns the id Inngest stored it under."""
    return stack.client.send_sync(inngest.Event(name=name, data=data))[0]


stack

# %% [markdown]
# ## 1. The replay pitfall: code outside steps runs on every call
#
# Inngest does not keep your function running between steps. It calls the function,
# the function runs until it reaches a step that has not run yet, runs it, and the
# call ends; the next call starts **from the top**, and every step that already ran
# hands back its stored result instead of running. So the function body runs once per
# step, and so does any code outside a step. Here an audit mail sits outside the steps
# by mistake; the welcome and tips mails are steps.

# %%
mailbox = []  # what our stand-in mailer "sent"


def mail(to: str, subject: str) -> str:
    mailbox.append(subject)
    return f"{subject} mail to {to}"


@stack.function(fn_id="onboard", trigger=inngest.TriggerEvent(event="demo/user.signed-up"))
async def onboard(ctx: inngest.Context) -> str:
    user = ctx.event.data["email"]
    mail("audit@example.com", "audit")  # ✗ outside any step: runs on every call
    account = await ctx.step.run("create-account", lambda: f"account of {user}")
    await ctx.step.run("welcome", mail, user, "welcome")  # ✓ a step: runs once
    await ctx.step.run("tips", mail, user, "tips")
    return account


# %%
run = kit.wait_for_run(send("demo/user.signed-up", email="ada@example.com"), onboard)
kit.print_run(run)
calls = kit.steps_of(run["run_id"])  # one timeline row per call of the function
print(f"the function was called {len(calls)} times; the mailbox holds:", dict(collections.Counter(mailbox)))

# %%
# NBVAL_CHECK_OUTPUT
counts = collections.Counter(mailbox)
assert counts["audit"] == len(calls) == 4 and counts["welcome"] == counts["tips"] == 1
dict(counts)

# %% [markdown]
# The rule: outside steps, only code that may run any number of times with the same
# result (read `ctx.event`, compute, build arguments). Anything with an effect
# (a mail, a payment, a write) or a different result each time (`time.time()`,
# `random`, `uuid4()`, a fresh database read) goes **inside** a step, whose result is
# stored and replayed. Move the audit mail into a step of its own, run the two cells
# again, and the counts become 1, 1, 1.

# %% [markdown]
# ## 2. Fan-out: one event, many runs
#
# A team is created with three members; each must get an invitation, independently
# (one failing invitation must not hold up the others). `ctx.step.send_event` sends an
# event per member from inside a step; each starts its own run of `invite`. Because it
# is a step, its result (the event ids) is stored: when a later step of the same run
# fails and the function is called again, the invitations are **not** sent a second
# time. Here the `summary` step fails on its first attempt to show that.


# %%
@stack.function(fn_id="invite", trigger=inngest.TriggerEvent(event="demo/team.invite"))
async def invite(ctx: inngest.Context) -> str:
    return await ctx.step.run("send-invite", lambda: f"invited {ctx.event.data['email']}")


@stack.function(fn_id="create-team", trigger=inngest.TriggerEvent(event="demo/team.created"), retries=1)
async def create_team(ctx: inngest.Context) -> list[str]:
    team, members = ctx.event.data["team"], ctx.event.data["members"]
    invitations = [inngest.Event(name="demo/team.invite", data={"team": team, "email": m}) for m in members]
    ids = await ctx.step.send_event("invite-each", invitations)

    def summary() -> str:
        if ctx.attempt == 0:
            raise RuntimeError("the summary service timed out")  # fails once, then the run is retried
        return f"{len(ids)} invitations for {team}"

    await ctx.step.run("summary", summary)
    return ids


# %%
members = ["ana@example.com", "ben@example.com", "cy@example.com"]
team_run = kit.wait_for_run(send("demo/team.created", team="blue", members=members), create_team)
kit.print_run(team_run)
invites = [kit.wait_for_run(event_id, invite) for event_id in team_run["output"]]
sent = [e for e in kit.recent_events(limit=50, name="demo/team.invite") if e["data"]["team"] == "blue"]
print(f"{len(sent)} invitation events were sent; their runs:", [r["output"] for r in invites])
kit.event_runs(team_run["output"], labels=members)

# %%
# NBVAL_CHECK_OUTPUT
assert len(sent) == 3 and sorted(r["output"] for r in invites) == [f"invited {m}" for m in members]
assert [s["status"] for s in kit.steps_of(team_run["run_id"]) if s["name"] == "summary"] == [
    "Retrying",
    "Completed",
]
sorted(r["output"] for r in invites)

# %% [markdown]
# `step.send_event` starts runs and moves on (fire and forget); `step.invoke`
# (`inngest_functions.ipynb`, lesson 4) starts one run and waits for its result.
#
# ## 3. A function on a schedule: cron
#
# `trigger=inngest.TriggerCron(cron="*/30 * * * *")` runs the function every half hour
# (UTC), with no event sent by anyone: the engine starts each run with an
# `inngest/scheduled.timer` event whose time is the schedule's. The engine's cron runs on
# its virtual clock, which started when the stack did and runs 1000x faster here, so a
# half hour is 1.8 s. We let three runs happen, then remove the function so its
# schedule stops.


# %%
@stack.function(fn_id="half-hourly-digest", trigger=inngest.TriggerCron(cron="*/30 * * * *"))
async def digest(ctx: inngest.Context) -> str:
    at = datetime.datetime.fromtimestamp(ctx.event.ts / 1000, datetime.UTC)
    return await ctx.step.run("build-digest", lambda: f"digest of {at:%H:%M} (virtual time)")


# %%
def finished_digests() -> list[tuple[dict, dict]]:
    """(timer event, its run) of every cron run that has completed, in schedule order."""
    ticks = sorted(kit.recent_events(limit=20, name="inngest/scheduled.timer"), key=lambda e: e["ts"])
    return [(t, r) for t in ticks for r in kit.runs_of_event(t["internal_id"]) if r["status"] == "Completed"]


deadline = time.monotonic() + 30
while len(done := finished_digests()) < 3:
    assert time.monotonic() < deadline, f"only {len(done)} cron runs after 30 s"
    time.sleep(0.1)
stack.unregister(digest)  # no more runs: the schedule goes with the function
ticks, digests = zip(*done[:3], strict=True)
for tick, run in done[:3]:
    print(tick["name"], tick["data"], "->", run["output"])

# %%
# NBVAL_CHECK_OUTPUT
half_hours = [tick["ts"] // 1000 % 1800 for tick in ticks]  # seconds past the half hour
assert len(ticks) == 3 and half_hours == [0, 0, 0] and len({tick["ts"] for tick in ticks}) == 3
assert all(run["status"] == "Completed" and run["cron"] == "*/30 * * * *" for run in digests)
{"runs": len(digests), "each on its own half hour (virtual)": True}

# %% [markdown]
# ## 4. One run per business key: `idempotency=`
#
# A customer double-clicks "pay": two `demo/order.placed` events for order A-1, each
# with its own id, then one for order B-2. `learning.ipynb` de-duplicated by the event's
# `id`, which needs the sender to set it. The function option
# `idempotency="event.data.order_id"` de-duplicates by what the event *says*: one run
# per order id within 24 hours, whoever sent it. It is per function: another function
# on the same event (`notify-warehouse`, without the option) still runs for every event.


# %%
@stack.function(
    fn_id="charge-order",
    trigger=inngest.TriggerEvent(event="demo/order.placed"),
    idempotency="event.data.order_id",
)
async def charge_order(ctx: inngest.Context) -> str:
    return await ctx.step.run("charge", lambda: f"charged order {ctx.event.data['order_id']}")


@stack.function(fn_id="notify-warehouse", trigger=inngest.TriggerEvent(event="demo/order.placed"))
async def notify_warehouse(ctx: inngest.Context) -> str:
    return f"warehouse told about {ctx.event.data['order_id']}"


# %%
orders = stack.client.send_sync(
    [inngest.Event(name="demo/order.placed", data={"order_id": o}) for o in ("A-1", "A-1", "B-2")]
)
[kit.wait_for_run(event_id, notify_warehouse) for event_id in orders]
runs_per_event = [
    [r["function_slug"].removeprefix("learninngest-") for r in kit.runs_of_event(e)] for e in orders
]
for order, ran in zip(("A-1", "A-1 again", "B-2"), runs_per_event, strict=True):
    print(f"order {order:<10} started runs of: {ran}")

# %%
# NBVAL_CHECK_OUTPUT
charged = sum("charge-order" in ran for ran in runs_per_event)
notified = sum("notify-warehouse" in ran for ran in runs_per_event)
assert (charged, notified) == (2, 3) and "charge-order" not in runs_per_event[1]
{"charge-order runs": charged, "notify-warehouse runs": notified}

# %% [markdown]
# ## 5. `step.ai.infer`: the engine calls the model
#
# The backend's `chat_worker` calls the model inside `ctx.step.run`: the app makes the
# HTTP request, and the engine's call to `/api/inngest` stays open until the model has
# answered. `ctx.step.ai.infer` hands the request to the engine instead: the function
# returns at once with a description of the request (URL, body, key), the **engine**
# calls the model, stores the answer as the step's result, and calls the function again
# with it. Below, the same question both ways, against the offline model's
# OpenAI-compatible endpoint; `[fault:500]` makes the model's first answer fail, so each
# way also shows its retry. `timed` records when each call of the function began and
# ended.

# %%
MODEL_URL = stack.settings.offline_base_url  # the offline model's OpenAI-compatible /v1
MODEL = ai.openai.Adapter(auth_key="offline-key", base_url=MODEL_URL, model="learninngest-offline-1")


def question(who: str) -> dict:
    """The chat body; `who` makes each way's question its own, so each gets its own fault."""
    return {"messages": [{"role": "user", "content": f"What is the capital of France, {who}? [fault:500]"}]}


calls_of: dict[str, list[tuple[float, float]]] = {"step.run": [], "step.ai.infer": []}  # (began, ended)


def timed(way: str):
    """Wrap a handler so each call the engine makes is recorded in calls_of[way]."""

    def wrap(handler):
        async def timed_handler(ctx: inngest.Context) -> str:
            began = time.time()
            try:
                return await handler(ctx)
            finally:
                calls_of[way].append((began, time.time()))

        return timed_handler

    return wrap


@stack.function(fn_id="ask-in-a-step", trigger=inngest.TriggerEvent(event="demo/ask.step"))
@timed("step.run")
async def ask_in_a_step(ctx: inngest.Context) -> str:
    async def call_model() -> dict:
        async with httpx.AsyncClient(timeout=30) as http:  # the app calls the model
            reply = await http.post(
                f"{MODEL_URL}/chat/completions",
                json={"model": "learninngest-offline-1", **question("app")},
                headers={"Authorization": "Bearer offline-key"},
            )
            reply.raise_for_status()
            return reply.json()

    answer = await ctx.step.run("ask-model", call_model)
    return answer["choices"][0]["message"]["content"]


@stack.function(fn_id="ask-the-engine", trigger=inngest.TriggerEvent(event="demo/ask.infer"))
@timed("step.ai.infer")
async def ask_the_engine(ctx: inngest.Context) -> str:
    answer = await ctx.step.ai.infer(
        "ask-model", adapter=MODEL, body=question("engine")
    )  # the engine calls the model
    return answer["choices"][0]["message"]["content"]


# %%
by_app = kit.wait_for_run(send("demo/ask.step"), ask_in_a_step)
by_engine = kit.wait_for_run(send("demo/ask.infer"), ask_the_engine)
for way, run in (("step.run", by_app), ("step.ai.infer", by_engine)):
    print(
        f"--- {way}: the function's calls took",
        [round((end - began) * 1000) for began, end in calls_of[way]],
        "ms",
    )
    kit.print_run(run)
rows = kit.as_table(
    [
        s | {"way": w}
        for w, r in (("step.run", by_app), ("step.ai.infer", by_engine))
        for s in kit.steps_of(r["run_id"])
    ]
)
rows[["way", "name", "op", "attempt", "status", "duration_ms"]]

# %% [markdown]
# Read it: with `step.run` the model's 0.8 s is inside a call of the function (a
# `StepRun` row, and one call of about 800 ms). With `step.ai.infer` the same 0.8 s is
# an `AIGateway` row, the engine's own request, while every call of the function took
# a few milliseconds: the app was not running while the model thought. Both retried
# the failed first answer as a step (the `Retrying` rows).

# %%
# NBVAL_CHECK_OUTPUT
model_rows = rows[(rows["name"] == "ask-model") & (rows["status"] == "Completed")]
assert list(model_rows["op"]) == ["StepRun", "AIGateway"]
# step.run: the model's 0.8 s (a wait in the model, so never shorter) is inside one call of the function.
assert max(end - began for began, end in calls_of["step.run"]) >= 0.8
# step.ai.infer: no call of the function was in flight while the engine asked the model
# (1 ms of slack: the timeline's times are rounded to the millisecond).
gateway = model_rows[model_rows["op"] == "AIGateway"].iloc[0]
asked = [datetime.datetime.fromisoformat(gateway[key]).timestamp() for key in ("started_at", "ended_at")]
assert all(end <= asked[0] + 0.001 or began >= asked[1] - 0.001 for began, end in calls_of["step.ai.infer"])
assert list(rows[rows["name"] == "ask-model"]["status"]) == ["Retrying", "Completed"] * 2
assert "Paris" in by_app["output"] and "Paris" in by_engine["output"]
{"the app called the model in": "StepRun", "the engine called the model in": "AIGateway", "both": "Paris"}

# %% [markdown]
# What changes with `step.ai.infer`:
#
# - The app answers at once and is free while the model thinks: on a serverless host no
#   invocation is billed for the wait, and the engine's call timeout does not bound the
#   model's time.
# - The engine needs to reach the model (here the offline model on 127.0.0.1; on
#   Inngest Cloud, a public URL) and gets the key with the request (`auth_key`; this
#   engine keeps it in memory only).
# - The model's whole answer (the JSON) is the step's stored result.
# - The kit's `chat_worker` keeps `step.run` with LangChain: it streams tokens to the
#   chat page as they come and sorts the provider's errors into retriable or not,
#   which a request the engine makes cannot do.

# %% [markdown]
# ## 6. Testing an Inngest function with pytest
#
# A function is code: test it like code. Two ways, for two questions:
#
# - **Unit tests, no server**: the SDK's `inngest.experimental.mocked.trigger(fn, event,
#   client, step_stubs=...)` calls the function the way Inngest does (from the top
#   after each step, retrying failures at once, sleeping not at all). Steps run for
#   real; a `wait_for_event` or `invoke` needs a stub (`mocked.Timeout` for "nobody
#   answered"). Fast, so test every branch this way.
# - **An integration test on the kit**: `kit.up()` in a fixture, `stack.register(fn)`,
#   events over HTTP, the engine's timeline to assert on. Slower, but it checks what a
#   stub cannot: that the wait's expression matches the real approval event, that the
#   steps ran in the order the timeline shows.
#
# The function under test, `examples/refunds.py` (built by a factory, so each test can
# hand it the client it needs):

# %%
sys.path.insert(0, "examples")
import refunds  # noqa: E402 - from the examples folder just added to the path

kit.show(refunds.refund_function, mark=["wait_for_event", '"pay-back"'])

# %% [markdown]
# And its tests, `examples/test_refunds.py`:

# %%
import test_refunds  # noqa: E402

kit.show(test_refunds)

# %% [markdown]
# Run them as you would in a terminal (`pytest notebooks/examples`):

# %%
tests = subprocess.run(
    [
        sys.executable,
        "-m",
        "pytest",
        "examples/test_refunds.py",
        "-q",
        "--color=no",
        "-p",
        "no:cacheprovider",
    ],
    capture_output=True,
    text=True,
    timeout=300,
)
print(tests.stdout[-2000:], tests.stderr[-2000:])

# %%
# NBVAL_CHECK_OUTPUT
assert tests.returncode == 0, tests.stdout
re.search(r"\d+ passed", tests.stdout).group()

# %% [markdown]
# Try it: in `examples/refunds.py`, delete the `wait_for_event` (refund without
# approval) and run the cell above again: `test_without_an_approval_nothing_is_paid`
# fails and shows what the function returned instead.
#
# ## Stop the stack

# %%
# NBVAL_CHECK_OUTPUT
kit.down()
stack.running
