# %% [markdown]
# # Inngest functions, one feature per lesson
#
# `learning.ipynb` followed one request through the backend's own function. This
# notebook is about writing functions. Each lesson has a cell that defines one and
# registers it on the running stack (`@stack.function`), a cell that sends the event
# that triggers it and prints the run, its steps and the fact the lesson is about, and
# a cell that asserts that fact. Change a function, run its cell again (the same
# `fn_id` replaces it), then run the next cell to see the new behaviour.
#
# | Lesson | The SDK call |
# | --- | --- |
# | 1. Steps are memoized | `ctx.step.run` |
# | 2. A durable sleep | `ctx.step.sleep` |
# | 3. Waiting for a person | `ctx.step.wait_for_event` |
# | 4. Calling another function | `ctx.step.invoke` |
# | 5. Steps in parallel | `ctx.group.parallel` |
# | 6. Cancelling a run | `cancel=[inngest.Cancel(...)]`, `DELETE /v1/runs/{id}` |
# | 7. At most N at once | `concurrency=[inngest.Concurrency(limit=N)]` |
# | 8. One run per burst | `debounce=inngest.Debounce(period=...)` |
#
# Then `flow_control.ipynb` (throttle, rate limit, batching, singleton, priority,
# timeouts, each with its timeline) and `more_inngest.ipynb` (the replay pitfall,
# fan-out, cron, idempotency, `step.ai.infer`, testing with pytest).

# %% [markdown]
# ## Start the stack
#
# The engine's clock runs 1000x faster here (`engine_time_scale=0.001`): a 30-minute
# sleep takes 1.8 s, and the timeline still records the 30 minutes. Logs are kept to
# errors so the outputs stay short.

# %%
import datetime
import time

import httpx
import inngest

from learninngest import kit

stack = kit.up(engine_time_scale=0.001, engine_db="memory", result_store_url="memory://", log_level="ERROR")


def send(name: str, **data: object) -> str:
    """Send one event with the backend's Inngest client; returns the id Inngest stored it under."""
    return stack.client.send_sync(inngest.Event(name=name, data=data))[0]


stack

# %% [markdown]
# ## 1. Steps are memoized
#
# A function is called again from the top after each step, but a step that has
# succeeded is never run again: Inngest stores its result and the SDK hands it back.
# Here `charge` fails on its first attempt and is retried; the counters show that
# `fetch-price`, already done, ran once.

# %%
calls = {"fetch-price": 0, "charge": 0}


@stack.function(fn_id="checkout", trigger=inngest.TriggerEvent(event="demo/checkout"), retries=2)
async def checkout(ctx: inngest.Context) -> dict:
    def fetch_price() -> int:
        calls["fetch-price"] += 1
        return 42  # imagine a slow pricing service

    def charge(price: int) -> str:
        calls["charge"] += 1
        if ctx.attempt == 0:
            raise RuntimeError("card service timed out")  # the first attempt fails
        return f"charged {price} EUR"

    price = await ctx.step.run("fetch-price", fetch_price)
    receipt = await ctx.step.run("charge", charge, price)
    return {"price": price, "receipt": receipt}


# %%
run = kit.wait_for_run(send("demo/checkout"), checkout)
kit.print_run(run)

# %%
# NBVAL_CHECK_OUTPUT
assert calls == {"fetch-price": 1, "charge": 2}, calls
calls

# %% [markdown]
# ## 2. A durable sleep
#
# `ctx.step.sleep` ends the call: the engine keeps a timer and calls the function again
# when it is due, so a run can wait for days without holding a worker, and a restart
# does not lose it. While it sleeps the run is `Running` and nothing executes.


# %%
@stack.function(fn_id="onboarding", trigger=inngest.TriggerEvent(event="demo/signup"))
async def onboarding(ctx: inngest.Context) -> str:
    email = ctx.event.data["email"]
    await ctx.step.run("welcome", lambda: f"welcome mail to {email}")
    await ctx.step.sleep("wait-30-min", datetime.timedelta(minutes=30))
    return await ctx.step.run("tips", lambda: f"tips mail to {email}")


# %%
event_id = send("demo/signup", email="ada@example.com")
asleep = kit.wait_for_step(event_id, onboarding, "wait-30-min")
print("while asleep: step", asleep["op"], asleep["status"])
t0 = time.monotonic()
run = kit.wait_for_run(event_id, onboarding)
print(f"woke after {time.monotonic() - t0:.1f} s of real time")
kit.print_run(run)

# %%
# NBVAL_CHECK_OUTPUT
minutes = round(asleep["intended_delay_ms"] / 60_000)  # the virtual time the run slept
assert minutes == 30 and run["status"] == "Completed"
asleep["op"], minutes, run["output"]

# %% [markdown]
# ## 3. Waiting for a person
#
# A refund needs a manager's approval. `ctx.step.wait_for_event` pauses the run until
# an event named `demo/refund.approved` arrives whose `order_id` matches this run's
# (`if_exp` compares the awaited event, `async`, with the triggering one, `event`), or
# until the timeout; then it returns the event, or `None`.


# %%
@stack.function(fn_id="refund", trigger=inngest.TriggerEvent(event="demo/refund.requested"))
async def refund(ctx: inngest.Context) -> str:
    order = ctx.event.data["order_id"]
    approval = await ctx.step.wait_for_event(
        "wait-for-approval",
        event="demo/refund.approved",
        if_exp="async.data.order_id == event.data.order_id",
        timeout=datetime.timedelta(days=1),
    )
    if approval is None:
        return f"order {order}: nobody approved within a day, no refund"
    return await ctx.step.run(
        "pay-back", lambda: f"order {order}: refunded, approved by {approval.data['by']}"
    )


# %% [markdown]
# Ask for a refund, see the run waiting, then approve it.

# %%
event_id = send("demo/refund.requested", order_id="A-1")
kit.wait_for_step(event_id, refund, "wait-for-approval")
print("before the approval:", kit.wait_for_run(event_id, refund, status=("Running",))["status"])
send("demo/refund.approved", order_id="A-1", by="Grace")
approved = kit.wait_for_run(event_id, refund)
kit.print_run(approved)

# %% [markdown]
# Another refund that nobody approves. Rather than wait a day (86 s even here), move
# the engine's clock a day on with `kit.advance_clock`: the wait times out at once and
# returns `None`.

# %%
# NBVAL_CHECK_OUTPUT
unapproved = send("demo/refund.requested", order_id="B-2")
kit.wait_for_step(unapproved, refund, "wait-for-approval")
kit.advance_clock(datetime.timedelta(days=1, minutes=1))  # the engine's time, not this kernel's
ignored = kit.wait_for_run(unapproved, refund)
assert approved["output"] == "order A-1: refunded, approved by Grace"
assert ignored["output"] == "order B-2: nobody approved within a day, no refund"
approved["output"], ignored["output"]

# %% [markdown]
# ## 4. Calling another function
#
# `ctx.step.invoke` starts another function with the data you give it, waits for its
# run to end and returns its result, as a step: memoized, and visible as its own run.


# %%
@stack.function(fn_id="vat", trigger=inngest.TriggerEvent(event="demo/vat.compute"))
async def vat(ctx: inngest.Context) -> float:
    return round(ctx.event.data["amount"] * 0.2, 2)


@stack.function(fn_id="invoice", trigger=inngest.TriggerEvent(event="demo/invoice"))
async def invoice(ctx: inngest.Context) -> dict:
    amount = ctx.event.data["amount"]
    tax = await ctx.step.invoke("compute-vat", function=vat, data={"amount": amount})
    return {"amount": amount, "vat": tax, "total": amount + tax}


# %%
run = kit.wait_for_run(send("demo/invoice", amount=100), invoice)
kit.print_run(run)
invoked = next(e for e in kit.recent_events(limit=10) if e["name"] == "inngest/function.invoked")
child = kit.wait_for_run(invoked["internal_id"], vat)
kit.print_run(child)

# %%
# NBVAL_CHECK_OUTPUT
assert run["output"] == {"amount": 100, "vat": 20.0, "total": 120.0} and child["output"] == 20.0
run["output"], child["output"]

# %% [markdown]
# ## 5. Steps in parallel
#
# Three suppliers each take half a second to quote. `ctx.group.parallel` takes
# callables that each start a step. The first call only *plans* them (the `StepPlanned`
# rows); the engine then calls the three steps at once, and the run goes on when all
# have answered.

# %%
import asyncio


@stack.function(fn_id="quotes", trigger=inngest.TriggerEvent(event="demo/quotes"))
async def quotes(ctx: inngest.Context) -> list:
    async def quote(shop: str) -> dict:
        await asyncio.sleep(0.5)  # a slow supplier
        return {"shop": shop, "price": 10 * len(shop)}

    steps = tuple(
        (lambda shop=shop: ctx.step.run(f"quote-{shop}", quote, shop)) for shop in ("north", "south", "east")
    )
    return list(await ctx.group.parallel(steps))


# %%
run = kit.wait_for_run(send("demo/quotes"), quotes)
kit.print_run(run)
spans = kit.as_table([s for s in kit.steps_of(run["run_id"]) if s["op"] == "StepRun"])
spans[["name", "started_at", "ended_at", "duration_ms"]]

# %%
# NBVAL_CHECK_OUTPUT
# They overlapped: each began before any had ended.
assert spans["started_at"].max() < spans["ended_at"].min()
sorted(quote["shop"] for quote in run["output"])

# %% [markdown]
# ## 6. Cancelling a run
#
# A trial sends a reminder after two days, unless the user upgrades first.
# `cancel=[inngest.Cancel(...)]` names the event that cancels a run (here, an upgrade
# by the same user); a sleeping or waiting run is cancelled at once.


# %%
@stack.function(
    fn_id="trial",
    trigger=inngest.TriggerEvent(event="demo/trial.started"),
    cancel=[inngest.Cancel(event="demo/trial.upgraded", if_exp="async.data.user == event.data.user")],
)
async def trial(ctx: inngest.Context) -> str:
    await ctx.step.sleep("two-days", datetime.timedelta(days=2))
    return await ctx.step.run("remind", lambda: f"reminder to {ctx.event.data['user']}")


# %%
event_id = send("demo/trial.started", user="ada")
kit.wait_for_step(event_id, trial, "two-days")
send("demo/trial.upgraded", user="ada")
by_event = kit.wait_for_run(event_id, trial)
kit.print_run(by_event)

# %% [markdown]
# From outside, any run can be cancelled through the REST API: `DELETE /v1/runs/{id}`
# (the same call on the real Dev Server and on Cloud, with the signing key as bearer).

# %%
event_id = send("demo/trial.started", user="bob")
sleeping = kit.wait_for_step(event_id, trial, "two-days")
reply = httpx.delete(f"{stack.inngest_url}/v1/runs/{sleeping['run_id']}")
by_api = kit.wait_for_run(event_id, trial)
print("DELETE answered", reply.status_code, "- run is now", by_api["status"])

# %%
# NBVAL_CHECK_OUTPUT
assert by_event["status"] == by_api["status"] == "Cancelled"
by_event["status"], by_api["status"]

# %% [markdown]
# ## 7. At most N at once
#
# `concurrency=[inngest.Concurrency(limit=2)]`: however many events arrive, at most
# two runs of the function execute a step at the same time; the others wait in the
# queue. Six resize jobs arrive together.


# %%
@stack.function(
    fn_id="resize",
    trigger=inngest.TriggerEvent(event="demo/image.uploaded"),
    concurrency=[inngest.Concurrency(limit=2)],
)
async def resize(ctx: inngest.Context) -> str:
    async def work() -> str:
        await asyncio.sleep(0.3)  # the slow part
        return f"resized {ctx.event.data['image']}"

    return await ctx.step.run("resize", work)


# %%
event_ids = [send("demo/image.uploaded", image=f"img-{n}.png") for n in range(6)]  # all at once
runs = [kit.wait_for_run(event_id, resize) for event_id in event_ids]
spans = kit.as_table([s for r in runs for s in kit.steps_of(r["run_id"]) if s["name"] == "resize"])
most = max(((spans["started_at"] <= t) & (spans["ended_at"] > t)).sum() for t in spans["started_at"])
print(f"{len(runs)} runs, at most {most} resizing at once (limit 2)")

# %%
# NBVAL_CHECK_OUTPUT
assert all(r["status"] == "Completed" for r in runs) and most <= 2
"at most 2 at once"

# %% [markdown]
# ## 8. One run per burst: debounce
#
# A search box sends an event per keystroke, but only the last query is worth a run.
# `debounce` holds the function's events per key (`event.data.user` here) and starts
# one run, with the **last** event, once `period` has passed without a new one
# (`timeout=` would cap the wait). The first row of the run's timeline, op `Debounce`,
# says how many events it waited for and how long. Six keystrokes arrive together.


# %%
@stack.function(
    fn_id="search",
    trigger=inngest.TriggerEvent(event="demo/keystroke"),
    debounce=inngest.Debounce(period=datetime.timedelta(seconds=2), key="event.data.user"),
)
async def search(ctx: inngest.Context) -> str:
    return f"results for {ctx.event.data['query']!r}"


# %%
typed = ["i", "in", "inn", "inng", "innge", "inngest"]
keystrokes = [inngest.Event(name="demo/keystroke", data={"user": "ana", "query": q}) for q in typed]
keystroke_ids = stack.client.send_sync(keystrokes)  # one request: they arrive together
searched = kit.wait_for_run(keystroke_ids[-1], search)
kit.print_run(searched)
print("runs of the other keystrokes:", sum(len(kit.runs_of_event(i)) for i in keystroke_ids[:-1]))
debounced = kit.steps_of(searched["run_id"])[0]  # the Debounce row
waited = debounced["intended_delay_ms"] / 1000
print(
    f"the run took the last of {debounced['output']['events']} keystrokes, {waited:.1f} s (virtual) after the first:"
)
print(f"  {waited - 3.05:.1f} s from the first keystroke to the last + the 2 s period of quiet after it")
print("  + 1.05 s: Inngest starts a debounced run that long after its period (so does the engine)")

# %% [markdown]
# Why more than 2 s? The server starts a debounced run 1.05 s after its period (its timer
# job is queued 50 ms + 1 s late, so that it never races the debounce's expiry), and the
# period restarts with each keystroke, while the wait is counted from the first. The six arrive in one request, but the engine takes them in one after
# another, a fraction of a millisecond apart; at this notebook's 1000x speed every real
# millisecond is a virtual second, so that fraction shows as part of a second. With
# keystrokes typed a second apart on a real server, the same rule reads: the run starts
# 2 s after the last one.

# %%
# NBVAL_CHECK_OUTPUT
assert searched["output"] == "results for 'inngest'"
assert all(kit.runs_of_event(i) == [] for i in keystroke_ids[:-1])
assert debounced["op"] == "Debounce" and debounced["output"]["events"] == 6 and waited >= 3.05
searched["output"], debounced["output"]["events"]

# %% [markdown]
# The engine implements Inngest's other flow-control options the same way, each with
# its rows in the timeline (`docs/engine.md` lists them); `flow_control.ipynb` teaches
# each of them with a burst of events and its timeline:
#
# | Option | What it does |
# | --- | --- |
# | `throttle=inngest.Throttle(limit=, period=, burst=)` | at most `limit` runs start per period; the others wait |
# | `rate_limit=inngest.RateLimit(limit=, period=, key=)` | events over the limit are dropped: no run |
# | `batch_events=inngest.Batch(max_size=, timeout=)` | one run gets many events as `ctx.events` |
# | `singleton=inngest.Singleton(mode="skip" or "cancel", key=)` | one run at a time per key |
# | `priority=inngest.Priority(run="int(event.data.priority)")` | queued runs with a higher factor start first (an integer: event numbers are doubles to the server) |
# | `concurrency=[inngest.Concurrency(limit=, key=, scope=)]` | at most N at once per key value |
# | `timeouts=inngest.Timeouts(start=, finish=)` | cancels runs that wait or run too long |

# %% [markdown]
# ## Stop the stack

# %%
# NBVAL_CHECK_OUTPUT
kit.down()
stack.running
