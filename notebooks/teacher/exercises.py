# %% [markdown]
# # Exercises: write Inngest functions, check them yourself
#
# Six short tasks on the same stack as `inngest_functions.ipynb`. Each task has a cell
# marked `# TODO`: change the function there, run the cell (it registers the function
# on the running stack), then run the check below it. A check runs your function and
# either prints `passed: ...` or stops with `NotYet: ...`, a sentence that says what is
# still wrong. Run a task's two cells again as often as you like.
#
# | Task | What to use | Where it is taught |
# | --- | --- | --- |
# | 1. Two steps | `ctx.step.run` | `inngest_functions.ipynb` 1 |
# | 2. Retry a flaky call | `retries=`, a step | `inngest_functions.ipynb` 1 |
# | 3. At most 2 at once | `concurrency=[inngest.Concurrency(limit=2)]` | `inngest_functions.ipynb` 7 |
# | 4. Record a failure | `on_failure=` | `learning.ipynb` 7 |
# | 5. Send an order once | `kit.send_event(..., id=...)` | `learning.ipynb` 8 |
# | 6. Wait for an approval | `ctx.step.wait_for_event` | `inngest_functions.ipynb` 3 |
#
# Start with the cell below: it starts the stack (the engine's clock runs 1000x faster,
# so an hour's timeout takes 3.6 s).

# %%
import datetime

import inngest

from learninngest import kit
from learninngest.kit import checks

stack = kit.up(engine_time_scale=0.001, engine_db="memory", result_store_url="memory://", log_level="ERROR")
stack

# %% [markdown]
# ## 1. Two steps
#
# The event `exercise/greet` carries a name. Step `compose` makes `"Hello, <name>"`;
# add a second step, `shout`, that returns the greeting in capitals, and return its
# result (for Ada: `"HELLO, ADA"`).


# %%
# TODO: add the step "shout" and return its result
@stack.function(fn_id="ex-greet", trigger=inngest.TriggerEvent(event="exercise/greet"))
async def greet(ctx: inngest.Context) -> str:
    name = ctx.event.data["name"]
    greeting = await ctx.step.run("compose", lambda: f"Hello, {name}")
    return greeting


# %%
checks.two_steps(greet)

# %% [markdown]
# ## 2. Retry a flaky call
#
# `weather` is a pretend service that times out twice, then answers. Call it in a step
# named `fetch` (so that a retry repeats that step only) and let Inngest retry it
# enough times for the run to complete with `"sunny in Paris"`.

# %%
weather = checks.FlakyService(fails=2)


# %%
# TODO: call weather(city) inside a step named "fetch", and allow enough retries
@stack.function(fn_id="ex-weather", trigger=inngest.TriggerEvent(event="exercise/weather"), retries=0)
async def forecast(ctx: inngest.Context) -> str:
    city = ctx.event.data["city"]
    return weather(city)


# %%
checks.retries(forecast, weather)

# %% [markdown]
# ## 3. At most 2 at once
#
# Making a thumbnail is slow and the image service takes two jobs at a time. Limit the
# function so that at most 2 runs work at the same time; the check sends 6 photos at
# once.


# %%
# TODO: let at most 2 runs of this function work at the same time
@stack.function(fn_id="ex-thumbnail", trigger=inngest.TriggerEvent(event="exercise/photo"))
async def thumbnail(ctx: inngest.Context) -> str:
    return await ctx.step.run("resize", checks.slow_resize, ctx.event.data["photo"])


# %%
checks.concurrency(thumbnail, limit=2)

# %% [markdown]
# ## 4. Record a failure
#
# The card service always declines, so every run of `payment` fails. Add a failure
# handler, `record_failure`, that appends the error message to `failures` (the
# handler's `ctx.event` is an `inngest/function.failed` event; its
# `data["error"]["message"]` is the message).

# %%
failures: list[str] = []


# %%
# TODO: write async def record_failure(ctx) and pass on_failure=record_failure
@stack.function(fn_id="ex-payment", trigger=inngest.TriggerEvent(event="exercise/payment"), retries=0)
async def payment(ctx: inngest.Context) -> str:
    return await ctx.step.run("charge", checks.declined_card)


# %%
checks.failure_handler(payment, failures)


# %% [markdown]
# ## 5. Send an order once
#
# A double click calls `place_order` twice for the same order, and the warehouse ships
# it twice. Make a second call with the same order start no second run: give the event
# an id made from the order id (Inngest drops an event whose id it has already seen).
# A different order must still start its own run.


# %%
@stack.function(fn_id="ex-order", trigger=inngest.TriggerEvent(event="exercise/order.placed"))
async def fulfil(ctx: inngest.Context) -> str:
    return await ctx.step.run("ship", lambda: f"shipped {ctx.event.data['order_id']}")


# %%
# TODO: give the event an id made from order_id
def place_order(order_id: str) -> str:
    """Send the order's event; returns the id the engine stored it under."""
    return kit.send_event("exercise/order.placed", {"order_id": order_id})[0]


# %%
checks.idempotent(place_order, fulfil)

# %% [markdown]
# ## 6. Wait for an approval
#
# An expense needs a manager's approval. Wait up to one hour for an
# `exercise/expense.approved` event with the same `expense_id` as the submitted one;
# return `"approved by <by>"` (the approval's `data["by"]`) when it comes, and
# `"expired"` when the hour passes without one.


# %%
# TODO: wait for the approval of this expense (one hour at most)
@stack.function(fn_id="ex-expense", trigger=inngest.TriggerEvent(event="exercise/expense.submitted"))
async def expense(ctx: inngest.Context) -> str:
    return "approved by nobody"


# %%
checks.approval(expense)

# %% [markdown]
# ## Done
#
# Stop the stack. `make exercises` runs this whole notebook and lists, per task,
# `passed` or what is still wrong.

# %%
kit.down()
