# %% [raw]
# # ASSIGNMENT CONFIG
# # The teacher's copy of the exercises, solved. `make handout` gives it to otter-grader's
# # `otter assign`, which writes notebooks/exercises.ipynb (every solution replaced by its
# # prompt: the broken or unfinished code a student starts from) and the tests of
# # notebooks/autograder/. `make test` runs this notebook as it is: every check passes on the
# # solutions. Write tasks, hints and checks here only; docs/grading.md has the workflow.
# name: exercises
# init_cell: true
# check_all_cell: false
# export_cell: false
# run_tests: false
# generate: false
# solutions_pdf: false
# tests:
#   files: false
#   ok_format: true

# %% [markdown]
# # Exercises: Inngest functions that have to be right
#
# Fifteen tasks on the stack of the lessons. Some ask for a function, some for a fix to
# one that runs but does the wrong thing. For each task:
#
# 1. run the cell that creates the pretend service the task's steps call (its name ends the
#    task's introduction), if there is one;
# 2. change the function in the cell marked `TODO` and run that cell (it registers the
#    function on the running stack; run it again after each change);
# 3. run the `grader.check(...)` cell below it. It sends events with **fresh random data
#    every time**, watches the run on the engine (its steps, attempts, outputs, how many
#    runs started) and answers `All test cases passed!`, or shows `NotYet: ...`, a sentence
#    saying what is still wrong.
#
# Each task has two hints, folded: a nudge, then the idea with a link to Inngest's docs.
# Nothing here needs the internet. The engine's clock runs 100x faster than real time, and
# the checks move it on by hand when they need a day to pass, so every check takes a few
# seconds. `make exercises` grades the whole notebook, as your teacher will.
#
# | Task | Idea |
# | --- | --- |
# | 1. A raffle that keeps changing its winner (fix) | steps are memoized; code outside steps runs again |
# | 2. A forecast that gives up too soon (fix) | retries happen inside the step that failed |
# | 3. Why did the payment fail? | failure handlers, after the last retry |
# | 4. A double click ships twice | the sender's event id |
# | 5. The client that resends (fix) | the function's idempotency key |
# | 6. An expense waits for its approval | `wait_for_event`, matched, with a timeout |
# | 7. No reminder after an upgrade | cancelling a sleeping run |
# | 8. An invoice that needs another function (fix) | `invoke` |
# | 9. Quotes, one after another (fix) | steps in parallel |
# | 10. One export at a time, per customer | concurrency with a key |
# | 11. Page the on-call once an hour | rate limit |
# | 12. Two orders a minute to the partner | throttle |
# | 13. Publish when the author pauses | debounce, with a timeout |
# | 14. Readings in batches (fix) | batching |
# | 15. One report build per team | singleton |
#
# Start the stack (the cell above this text sets up `grader`, which runs the checks). Its
# logs are kept to critical errors: the checks say what went wrong.

# %%
import datetime

import inngest

from learninngest import kit
from learninngest.kit import checks

stack = kit.up(engine_time_scale=0.01, engine_db="memory", result_store_url="memory://", log_level="CRITICAL")
stack

# %% [raw]
# # BEGIN QUESTION
# name: replay
# points: 1

# %% [markdown]
# ## 1. A raffle that keeps changing its winner (fix)
#
# `raffle` draws a winner among the entrants, announces them, ships the prize and returns
# the winner. The courier is often busy, so shipping is retried. Yet the person announced,
# the person who gets the prize and the winner returned are not the same. Fix the function
# so that each raffle draws one winner, who is announced, gets the prize and is returned.
# The service: `raffle_desk`.
#
# <details><summary>Hint 1: a nudge</summary>
#
# How many times does `raffle_desk.draw` run for one raffle? Print `raffle_desk.draws` after a run, and compare with the run's timeline (`kit.print_run(run)`): how many times was the function called?
# </details>
# <details><summary>Hint 2: the idea, and where to read about it</summary>
#
# Inngest calls a function again from the top after each step and hands back the stored result of every step that already succeeded; code outside steps runs again on every call. What must happen once, or give the same answer each time (a random choice, the time, a new id), belongs in a step. Read [How Inngest functions are executed](https://www.inngest.com/docs/learn/how-functions-are-executed).
# </details>

# %%
raffle_desk = checks.RaffleDesk()

# %% [raw]
# # BEGIN SOLUTION

# %%
""" # BEGIN PROMPT
# TODO: fix it: one winner per raffle
@stack.function(fn_id="ex-raffle", trigger=inngest.TriggerEvent(event="exercise/raffle"), retries=2)
async def raffle(ctx: inngest.Context) -> str:
    entrants = ctx.event.data["entrants"]
    winner = raffle_desk.draw(entrants)
    await ctx.step.run("announce", raffle_desk.announce, winner)
    await ctx.step.run("ship-prize", raffle_desk.ship, winner)
    return winner
"""  # END PROMPT


# BEGIN SOLUTION NO PROMPT
@stack.function(fn_id="ex-raffle", trigger=inngest.TriggerEvent(event="exercise/raffle"), retries=2)
async def raffle(ctx: inngest.Context) -> str:
    entrants = ctx.event.data["entrants"]
    winner = await ctx.step.run("draw", raffle_desk.draw, entrants)
    await ctx.step.run("announce", raffle_desk.announce, winner)
    await ctx.step.run("ship-prize", raffle_desk.ship, winner)
    return winner


# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
# NBVAL_CHECK_OUTPUT
checks.replay(raffle, raffle_desk)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: retries
# points: 1

# %% [markdown]
# ## 2. A forecast that gives up too soon (fix)
#
# The weather service times out now and then, up to 3 times in a row, before it answers.
# `forecast` calls it and keeps the answer in a step named `fetch`, but the run fails at
# the first timeout. Make Inngest retry the call, and only the call, until the forecast
# comes back, and return the forecast. The service: `weather`.
#
# <details><summary>Hint 1: a nudge</summary>
#
# Which line raises when the service times out, and is that line inside a step? Look at a run's timeline: which row failed, and how many times?
# </details>
# <details><summary>Hint 2: the idea, and where to read about it</summary>
#
# Inngest retries a step that raised, each attempt after a pause (a backoff), up to the function's `retries`; the timeline keeps every attempt with its error. Code outside steps is not retried as a step: the whole function is called again. Read [Retries](https://www.inngest.com/docs/features/inngest-functions/error-retries/retries).
# </details>

# %%
weather = checks.FlakyWeather()

# %% [raw]
# # BEGIN SOLUTION

# %%
""" # BEGIN PROMPT
# TODO: retry the call to the weather service, inside a step
@stack.function(fn_id="ex-weather", trigger=inngest.TriggerEvent(event="exercise/weather"), retries=0)
async def forecast(ctx: inngest.Context) -> str:
    city = ctx.event.data["city"]
    report = weather.fetch(city)
    return await ctx.step.run("fetch", lambda: report)
"""  # END PROMPT


# BEGIN SOLUTION NO PROMPT
@stack.function(fn_id="ex-weather", trigger=inngest.TriggerEvent(event="exercise/weather"), retries=3)
async def forecast(ctx: inngest.Context) -> str:
    city = ctx.event.data["city"]
    return await ctx.step.run("fetch", weather.fetch, city)


# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
# NBVAL_CHECK_OUTPUT
checks.retries(forecast, weather)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: failure_handler
# points: 1

# %% [markdown]
# ## 3. Why did the payment fail?
#
# `payment` charges a card in a step. The card service declines every time, with a message
# that names the reason and a bank reference (a new one at each attempt); after its retry
# the run fails. Add a failure handler that stores, in `failures`, under the order id, the
# exact error message the run failed with. The services: `cards` and the dict `failures`.
#
# <details><summary>Hint 1: a nudge</summary>
#
# Something has to run after the run has failed for good, after its last retry. What does Inngest hand that code? Print its `ctx.event`.
# </details>
# <details><summary>Hint 2: the idea, and where to read about it</summary>
#
# A function can name a failure handler (`on_failure=`): Inngest runs it once the function has failed after its retries, with an `inngest/function.failed` event whose data holds the error (its name and message) and the event of the run that failed. Read [Failure handlers](https://www.inngest.com/docs/features/inngest-functions/error-retries/failure-handlers).
# </details>

# %%
cards = checks.CardService()
failures: dict[str, str] = {}

# %% [raw]
# # BEGIN SOLUTION

# %%
""" # BEGIN PROMPT
# TODO: a failure handler that stores the error message in failures[order_id]
@stack.function(fn_id="ex-payment", trigger=inngest.TriggerEvent(event="exercise/payment"), retries=1)
async def payment(ctx: inngest.Context) -> str:
    order, total = ctx.event.data["order_id"], ctx.event.data["total"]
    return await ctx.step.run("charge", cards.charge, order, total)
"""  # END PROMPT


# BEGIN SOLUTION NO PROMPT
async def record_failure(ctx: inngest.Context) -> None:
    order = ctx.event.data["event"]["data"]["order_id"]
    failures[order] = ctx.event.data["error"]["message"]


@stack.function(
    fn_id="ex-payment",
    trigger=inngest.TriggerEvent(event="exercise/payment"),
    retries=1,
    on_failure=record_failure,
)
async def payment(ctx: inngest.Context) -> str:
    order, total = ctx.event.data["order_id"], ctx.event.data["total"]
    return await ctx.step.run("charge", cards.charge, order, total)


# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
# NBVAL_CHECK_OUTPUT
checks.failure_handler(payment, failures, cards)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: dedupe
# points: 1

# %% [markdown]
# ## 4. A double click ships twice
#
# `fulfil` ships an order when `exercise/order.placed` arrives. The shop calls
# `place_order(order_id)` when the customer clicks *Buy*; a double click calls it twice and
# the warehouse ships twice. Change `place_order` so that a second call for the same order
# starts no run, while every other order still ships. The service: `warehouse`.
#
# <details><summary>Hint 1: a nudge</summary>
#
# Inngest can recognise an event it has already received, if you tell it how. What do the two sends of one order have in common, and what differs between two orders?
# </details>
# <details><summary>Hint 2: the idea, and where to read about it</summary>
#
# An event may carry an `id` chosen by its sender: within 24 hours Inngest stores a second event with the same id but starts nothing for it (`kit.send_event(..., id=...)`). Read [Handling idempotency](https://www.inngest.com/docs/guides/handling-idempotency).
# </details>

# %%
warehouse = checks.Warehouse()


@stack.function(fn_id="ex-order", trigger=inngest.TriggerEvent(event="exercise/order.placed"))
async def fulfil(ctx: inngest.Context) -> str:
    return await ctx.step.run("ship", warehouse.ship, ctx.event.data["order_id"])


# %% [raw]
# # BEGIN SOLUTION

# %%
""" # BEGIN PROMPT
# TODO: one run per order, however often it is sent
def place_order(order_id: str) -> str:
    # sends the order's event; returns the id the engine stored it under
    return kit.send_event("exercise/order.placed", {"order_id": order_id})[0]
"""  # END PROMPT


# BEGIN SOLUTION NO PROMPT
def place_order(order_id: str) -> str:
    # sends the order's event; returns the id the engine stored it under
    return kit.send_event("exercise/order.placed", {"order_id": order_id}, id=f"order-placed-{order_id}")[0]


# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
# NBVAL_CHECK_OUTPUT
checks.dedupe(place_order, fulfil, warehouse)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: idempotency
# points: 1

# %% [markdown]
# ## 5. The client that resends (fix)
#
# The shop's client sends `exercise/checkout` and, when it hears nothing back for a while,
# sends it again: a new event, with a new id, for the same cart. The customer is charged
# twice. Change `checkout` (not the client) so that Inngest starts at most one run per
# cart. The service: `bank`.
#
# <details><summary>Hint 1: a nudge</summary>
#
# The two events differ (a new id, `attempt` 2), so the sender's id cannot help. What stays the same in both that Inngest could compare?
# </details>
# <details><summary>Hint 2: the idea, and where to read about it</summary>
#
# A function can declare an idempotency key, an expression over the event: Inngest starts at most one run per value of it in 24 hours, whatever the events' ids. Read [Handling idempotency](https://www.inngest.com/docs/guides/handling-idempotency) (at the function level).
# </details>

# %%
bank = checks.Bank()

# %% [raw]
# # BEGIN SOLUTION

# %%
""" # BEGIN PROMPT
# TODO: at most one run per cart
@stack.function(fn_id="ex-checkout", trigger=inngest.TriggerEvent(event="exercise/checkout"))
async def checkout(ctx: inngest.Context) -> str:
    cart, total = ctx.event.data["cart_id"], ctx.event.data["total"]
    return await ctx.step.run("charge", bank.charge, cart, total)
"""  # END PROMPT


# BEGIN SOLUTION NO PROMPT
@stack.function(
    fn_id="ex-checkout",
    trigger=inngest.TriggerEvent(event="exercise/checkout"),
    idempotency="event.data.cart_id",
)
async def checkout(ctx: inngest.Context) -> str:
    cart, total = ctx.event.data["cart_id"], ctx.event.data["total"]
    return await ctx.step.run("charge", bank.charge, cart, total)


# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
# NBVAL_CHECK_OUTPUT
checks.idempotency(checkout, bank)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: approval
# points: 1

# %% [markdown]
# ## 6. An expense waits for its approval
#
# When an expense is submitted (`exercise/expense.submitted`, with `expense_id` and
# `total`), wait up to two days for `exercise/expense.approved` with the same `expense_id`.
# If it comes, pay the expense in a step (`payroll.pay(expense_id, total)`) and return
# `"approved by <by>"`, where `<by>` is the approval's `data["by"]`. If two days pass with
# no approval, return `"expired"` and pay nothing. Approvals of other expenses arrive too.
# The service: `payroll`.
#
# <details><summary>Hint 1: a nudge</summary>
#
# A step can pause the run until an event arrives, or until a timeout passes. What does it give back in each case, and how do you tell it which approval belongs to this expense?
# </details>
# <details><summary>Hint 2: the idea, and where to read about it</summary>
#
# `ctx.step.wait_for_event` waits for an event by name, up to a timeout, and returns it (or None on timeout); an `if_exp` expression compares the awaited event (`async`) with the one that started the run (`event`). Read [Wait for an event](https://www.inngest.com/docs/reference/python/steps/wait-for-event).
# </details>

# %%
payroll = checks.Payroll()

# %% [raw]
# # BEGIN SOLUTION

# %%
""" # BEGIN PROMPT
# TODO: wait for this expense's approval (two days at most), then pay it
@stack.function(fn_id="ex-expense", trigger=inngest.TriggerEvent(event="exercise/expense.submitted"))
async def expense(ctx: inngest.Context) -> str:
    return "approved by nobody"
"""  # END PROMPT


# BEGIN SOLUTION NO PROMPT
@stack.function(fn_id="ex-expense", trigger=inngest.TriggerEvent(event="exercise/expense.submitted"))
async def expense(ctx: inngest.Context) -> str:
    expense_id, total = ctx.event.data["expense_id"], ctx.event.data["total"]
    approval = await ctx.step.wait_for_event(
        "wait-for-approval",
        event="exercise/expense.approved",
        if_exp="async.data.expense_id == event.data.expense_id",
        timeout=datetime.timedelta(days=2),
    )
    if approval is None:
        return "expired"
    await ctx.step.run("pay", payroll.pay, expense_id, total)
    return f"approved by {approval.data['by']}"


# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
# NBVAL_CHECK_OUTPUT
checks.approval(expense, payroll)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: cancel
# points: 1

# %% [markdown]
# ## 7. No reminder after an upgrade
#
# `trial` sleeps three days, then mails the user a reminder that the trial ends. When the
# user upgrades (`exercise/trial.upgraded`, with `user`), their trial run should be
# cancelled, so no reminder goes out; other users' trials carry on. The service: `mailer`.
#
# <details><summary>Hint 1: a nudge</summary>
#
# The run sleeps for days and the upgrade arrives while it sleeps: no code of the function runs then. Who can stop a sleeping run?
# </details>
# <details><summary>Hint 2: the idea, and where to read about it</summary>
#
# A function can name events that cancel its runs, with an expression that matches the cancelling event (`async`) to the event that started the run (`event`); a sleeping or waiting run is cancelled at once. Read [Cancel on events](https://www.inngest.com/docs/features/inngest-functions/cancellation/cancel-on-events).
# </details>

# %%
mailer = checks.Mailer()

# %% [raw]
# # BEGIN SOLUTION

# %%
""" # BEGIN PROMPT
# TODO: an upgrade of the same user cancels the trial run
@stack.function(fn_id="ex-trial", trigger=inngest.TriggerEvent(event="exercise/trial.started"))
async def trial(ctx: inngest.Context) -> str:
    user = ctx.event.data["user"]
    await ctx.step.sleep("three-days", datetime.timedelta(days=3))
    return await ctx.step.run("remind", mailer.send, user, "Your trial ends tomorrow")
"""  # END PROMPT


# BEGIN SOLUTION NO PROMPT
@stack.function(
    fn_id="ex-trial",
    trigger=inngest.TriggerEvent(event="exercise/trial.started"),
    cancel=[inngest.Cancel(event="exercise/trial.upgraded", if_exp="async.data.user == event.data.user")],
)
async def trial(ctx: inngest.Context) -> str:
    user = ctx.event.data["user"]
    await ctx.step.sleep("three-days", datetime.timedelta(days=3))
    return await ctx.step.run("remind", mailer.send, user, "Your trial ends tomorrow")


# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
# NBVAL_CHECK_OUTPUT
checks.cancel(trial, mailer)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: invoke
# points: 1

# %% [markdown]
# ## 8. An invoice that needs another function (fix)
#
# `vat` (`ex-vat`) computes the VAT of a total for a country. `invoice` should return
# `{"total": total, "vat": <ex-vat's result>, "with_vat": total + vat}`, rounded to cents.
# Today it sends an event that starts `ex-vat`, but never gets its result. Make `invoice`
# call `ex-vat` and use what it returns. The service: `office`.
#
# <details><summary>Hint 1: a nudge</summary>
#
# Sending an event is fire-and-forget: the sender goes on at once. Is there a step that starts another function and waits for what it returns?
# </details>
# <details><summary>Hint 2: the idea, and where to read about it</summary>
#
# `ctx.step.invoke` runs another Inngest function as a step of this one: it gets a run of its own, and its result comes back to the caller (memoized like any step's). Read [Invoke](https://www.inngest.com/docs/reference/python/steps/invoke).
# </details>

# %%
office = checks.VatOffice()


@stack.function(fn_id="ex-vat", trigger=inngest.TriggerEvent(event="exercise/vat.requested"))
async def vat(ctx: inngest.Context) -> float:
    return await ctx.step.run("compute", office.compute, ctx.event.data["country"], ctx.event.data["total"])


# %% [raw]
# # BEGIN SOLUTION

# %%
""" # BEGIN PROMPT
# TODO: get the VAT from ex-vat and use it
@stack.function(fn_id="ex-invoice", trigger=inngest.TriggerEvent(event="exercise/invoice"))
async def invoice(ctx: inngest.Context) -> dict:
    country, total = ctx.event.data["country"], ctx.event.data["total"]
    request = inngest.Event(name="exercise/vat.requested", data={"country": country, "total": total})
    await ctx.step.send_event("ask-for-vat", request)
    tax = 0.0  # never comes back
    return {"total": total, "vat": tax, "with_vat": round(total + tax, 2)}
"""  # END PROMPT


# BEGIN SOLUTION NO PROMPT
@stack.function(fn_id="ex-invoice", trigger=inngest.TriggerEvent(event="exercise/invoice"))
async def invoice(ctx: inngest.Context) -> dict:
    country, total = ctx.event.data["country"], ctx.event.data["total"]
    tax = await ctx.step.invoke("get-vat", function=vat, data={"country": country, "total": total})
    return {"total": total, "vat": tax, "with_vat": round(total + tax, 2)}


# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
# NBVAL_CHECK_OUTPUT
checks.invoke(invoice, vat, office)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: parallel
# points: 1

# %% [markdown]
# ## 9. Quotes, one after another (fix)
#
# `best_quote` asks each supplier for a quote and returns the cheapest. It asks them one
# after the other, each waiting for the previous answer. Make it ask them all at once, each
# in its own step, and return the cheapest quote (the dict the supplier returned). The
# service: `suppliers`.
#
# <details><summary>Hint 1: a nudge</summary>
#
# An `await` inside a loop waits for each step before starting the next one. How can Inngest be told about several steps at the same time?
# </details>
# <details><summary>Hint 2: the idea, and where to read about it</summary>
#
# `ctx.group.parallel` takes callables that each start a step: Inngest first plans them all (the `StepPlanned` rows of the timeline), then runs them at the same time and returns their results together. Read [Parallel steps](https://www.inngest.com/docs/guides/step-parallelism).
# </details>

# %%
suppliers = checks.Suppliers()

# %% [raw]
# # BEGIN SOLUTION

# %%
""" # BEGIN PROMPT
# TODO: ask every supplier at once
@stack.function(fn_id="ex-quotes", trigger=inngest.TriggerEvent(event="exercise/quote"))
async def best_quote(ctx: inngest.Context) -> dict:
    item = ctx.event.data["item"]
    quotes = []
    for shop in ctx.event.data["shops"]:
        quotes.append(await ctx.step.run(f"quote-{shop}", suppliers.quote, shop, item))
    return min(quotes, key=lambda quote: quote["price"])
"""  # END PROMPT


# BEGIN SOLUTION NO PROMPT
@stack.function(fn_id="ex-quotes", trigger=inngest.TriggerEvent(event="exercise/quote"))
async def best_quote(ctx: inngest.Context) -> dict:
    item = ctx.event.data["item"]
    asks = tuple(
        (lambda shop=shop: ctx.step.run(f"quote-{shop}", suppliers.quote, shop, item))
        for shop in ctx.event.data["shops"]
    )
    quotes = await ctx.group.parallel(asks)
    return min(quotes, key=lambda quote: quote["price"])


# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
# NBVAL_CHECK_OUTPUT
checks.parallel(best_quote, suppliers)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: concurrency
# points: 1

# %% [markdown]
# ## 10. One export at a time, per customer
#
# Exporting a customer's data locks their account: two exports of the same customer at the
# same time clash. Exports of different customers may run together. Make Inngest run at
# most one export per customer at a time. The service: `exports`.
#
# <details><summary>Hint 1: a nudge</summary>
#
# A limit for the whole function would make every customer wait for every other. What should the limit be counted per?
# </details>
# <details><summary>Hint 2: the idea, and where to read about it</summary>
#
# A concurrency limit caps how many runs execute at once; with a `key`, an expression over the event, the cap applies to each value of the key separately. Read [Concurrency](https://www.inngest.com/docs/guides/concurrency).
# </details>

# %%
exports = checks.ExportService()

# %% [raw]
# # BEGIN SOLUTION

# %%
""" # BEGIN PROMPT
# TODO: at most one export per customer at a time
@stack.function(fn_id="ex-export", trigger=inngest.TriggerEvent(event="exercise/export.requested"))
async def export(ctx: inngest.Context) -> str:
    customer, export_id = ctx.event.data["customer"], ctx.event.data["export_id"]
    return await ctx.step.run("export", exports.export, customer, export_id)
"""  # END PROMPT


# BEGIN SOLUTION NO PROMPT
@stack.function(
    fn_id="ex-export",
    trigger=inngest.TriggerEvent(event="exercise/export.requested"),
    concurrency=[inngest.Concurrency(limit=1, key="event.data.customer")],
)
async def export(ctx: inngest.Context) -> str:
    customer, export_id = ctx.event.data["customer"], ctx.event.data["export_id"]
    return await ctx.step.run("export", exports.export, customer, export_id)


# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
# NBVAL_CHECK_OUTPUT
checks.concurrency(export, exports)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: rate_limit
# points: 1

# %% [markdown]
# ## 11. Page the on-call once an hour
#
# A flapping sensor sends an alert for every reading. Page the on-call at most once per
# hour per sensor: the first alert of the hour pages, the others are dropped (not kept for
# later). Other sensors page on their own. The service: `pager`.
#
# <details><summary>Hint 1: a nudge</summary>
#
# Inngest's flow control can delay runs, merge events into one run, or drop events. Which one drops, and per what?
# </details>
# <details><summary>Hint 2: the idea, and where to read about it</summary>
#
# A rate limit lets at most `limit` runs start per `period` (per value of its `key`) and skips the events over it: they start no run at all. Read [Rate limiting](https://www.inngest.com/docs/guides/rate-limiting).
# </details>

# %%
pager = checks.Pager()

# %% [raw]
# # BEGIN SOLUTION

# %%
""" # BEGIN PROMPT
# TODO: at most one page per sensor per hour; drop the rest
@stack.function(fn_id="ex-alert", trigger=inngest.TriggerEvent(event="exercise/sensor.alert"))
async def alert(ctx: inngest.Context) -> str:
    return await ctx.step.run("page", pager.page, ctx.event.data["sensor"], ctx.event.data["reading"])
"""  # END PROMPT


# BEGIN SOLUTION NO PROMPT
@stack.function(
    fn_id="ex-alert",
    trigger=inngest.TriggerEvent(event="exercise/sensor.alert"),
    rate_limit=inngest.RateLimit(limit=1, period=datetime.timedelta(hours=1), key="event.data.sensor"),
)
async def alert(ctx: inngest.Context) -> str:
    return await ctx.step.run("page", pager.page, ctx.event.data["sensor"], ctx.event.data["reading"])


# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
# NBVAL_CHECK_OUTPUT
checks.rate_limit(alert, pager)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: throttle
# points: 1

# %% [markdown]
# ## 12. Two orders a minute to the partner
#
# The partner's API accepts 2 orders a minute (a burst of up to 3 at once is tolerated).
# Orders arrive in bursts. Every order must reach the partner, later if need be, never
# faster than that. The service: `partner`.
#
# <details><summary>Hint 1: a nudge</summary>
#
# Unlike the alerts of task 11, nothing may be dropped here. Which flow control makes runs wait for their turn instead?
# </details>
# <details><summary>Hint 2: the idea, and where to read about it</summary>
#
# A throttle lets at most `limit` runs start per `period` (plus a `burst` at once, 1 by default); the runs over it wait in a queue until their turn, none is dropped. Read [Throttling](https://www.inngest.com/docs/guides/throttling).
# </details>

# %%
partner = checks.PartnerApi()

# %% [raw]
# # BEGIN SOLUTION

# %%
""" # BEGIN PROMPT
# TODO: no more than 2 orders a minute reach the partner; none is dropped
@stack.function(fn_id="ex-partner", trigger=inngest.TriggerEvent(event="exercise/partner.order"))
async def submit(ctx: inngest.Context) -> str:
    return await ctx.step.run("submit", partner.submit, ctx.event.data["order_id"])
"""  # END PROMPT


# BEGIN SOLUTION NO PROMPT
@stack.function(
    fn_id="ex-partner",
    trigger=inngest.TriggerEvent(event="exercise/partner.order"),
    throttle=inngest.Throttle(limit=2, period=datetime.timedelta(minutes=1)),
)
async def submit(ctx: inngest.Context) -> str:
    return await ctx.step.run("submit", partner.submit, ctx.event.data["order_id"])


# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
# NBVAL_CHECK_OUTPUT
checks.throttle(submit, partner)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: debounce
# points: 1

# %% [markdown]
# ## 13. Publish when the author pauses
#
# A wiki sends `exercise/page.edited` (with `page` and `text`) on every save. Publish a page
# to the search index once its author pauses for 30 minutes, with the latest text; while
# they keep editing without such a pause, publish it at least every two hours all the same.
# Pages do not wait for each other. The service: `index`.
#
# <details><summary>Hint 1: a nudge</summary>
#
# Publishing on every edit is too often, publishing the first edit of a burst is too early. Which flow control waits for the events to stop, and keeps the last one? And what stops it from waiting forever?
# </details>
# <details><summary>Hint 2: the idea, and where to read about it</summary>
#
# A debounce starts one run per burst, with the burst's last event, once `period` has passed without a new one (per value of its `key`); its `timeout` caps how long it waits in total. Read [Debounce](https://www.inngest.com/docs/guides/debounce).
# </details>

# %%
index = checks.SearchIndex()

# %% [raw]
# # BEGIN SOLUTION

# %%
""" # BEGIN PROMPT
# TODO: publish once the author pauses 30 minutes (the latest text), at least every 2 hours
@stack.function(fn_id="ex-publish", trigger=inngest.TriggerEvent(event="exercise/page.edited"))
async def publish(ctx: inngest.Context) -> str:
    page, text = ctx.event.data["page"], ctx.event.data["text"]
    return await ctx.step.run("publish", index.publish, page, text)
"""  # END PROMPT


# BEGIN SOLUTION NO PROMPT
@stack.function(
    fn_id="ex-publish",
    trigger=inngest.TriggerEvent(event="exercise/page.edited"),
    debounce=inngest.Debounce(
        period=datetime.timedelta(minutes=30), key="event.data.page", timeout=datetime.timedelta(hours=2)
    ),
)
async def publish(ctx: inngest.Context) -> str:
    page, text = ctx.event.data["page"], ctx.event.data["text"]
    return await ctx.step.run("publish", index.publish, page, text)


# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
# NBVAL_CHECK_OUTPUT
checks.debounce(publish, index)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: batch
# points: 1

# %% [markdown]
# ## 14. Readings in batches (fix)
#
# Sensors send one reading per event, and `ingest` inserts each with a database round trip
# of its own. Insert them in batches instead: up to 10 readings per run, waiting at most 5
# seconds for a batch to fill. Every reading must be inserted exactly once. The service:
# `db`.
#
# <details><summary>Hint 1: a nudge</summary>
#
# Runs can start with several events at once. When they do, where does the function find them all?
# </details>
# <details><summary>Hint 2: the idea, and where to read about it</summary>
#
# `batch_events=` collects events into one run (`max_size` events, or fewer once `timeout` has passed); the run gets them all in `ctx.events` (`ctx.event` is only the first). Read [Batching events](https://www.inngest.com/docs/guides/batching).
# </details>

# %%
db = checks.Database()

# %% [raw]
# # BEGIN SOLUTION

# %%
""" # BEGIN PROMPT
# TODO: up to 10 readings per run, each inserted once
@stack.function(fn_id="ex-ingest", trigger=inngest.TriggerEvent(event="exercise/reading"))
async def ingest(ctx: inngest.Context) -> int:
    return await ctx.step.run("insert", db.insert_many, [ctx.event.data])
"""  # END PROMPT


# BEGIN SOLUTION NO PROMPT
@stack.function(
    fn_id="ex-ingest",
    trigger=inngest.TriggerEvent(event="exercise/reading"),
    batch_events=inngest.Batch(max_size=10, timeout=datetime.timedelta(seconds=5)),
)
async def ingest(ctx: inngest.Context) -> int:
    return await ctx.step.run("insert", db.insert_many, [event.data for event in ctx.events])


# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
# NBVAL_CHECK_OUTPUT
checks.batch(ingest, db)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: singleton
# points: 1

# %% [markdown]
# ## 15. One report build per team
#
# Building a team's report takes minutes. A request that arrives while that team's report
# is building should be skipped (the build in progress already has its data); requests for
# other teams build meanwhile; once a build is done, a new request builds again. The
# service: `reports`.
#
# <details><summary>Hint 1: a nudge</summary>
#
# Neither a queue (the extra request would build later) nor a limit over time (a request after the build would be refused): while one run of a team is in progress, others of that team are not started at all.
# </details>
# <details><summary>Hint 2: the idea, and where to read about it</summary>
#
# A singleton allows one run at a time per value of its `key`; in mode `skip` a new run is skipped while one is in progress (mode `cancel` would cancel the running one instead). Read [Singleton functions](https://www.inngest.com/docs/guides/singleton).
# </details>

# %%
reports = checks.ReportBuilder()

# %% [raw]
# # BEGIN SOLUTION

# %%
""" # BEGIN PROMPT
# TODO: skip a team's request while its report is building
@stack.function(fn_id="ex-report", trigger=inngest.TriggerEvent(event="exercise/report.requested"))
async def report(ctx: inngest.Context) -> str:
    return await ctx.step.run("build", reports.build, ctx.event.data["team"])
"""  # END PROMPT


# BEGIN SOLUTION NO PROMPT
@stack.function(
    fn_id="ex-report",
    trigger=inngest.TriggerEvent(event="exercise/report.requested"),
    singleton=inngest.Singleton(key="event.data.team", mode="skip"),
)
async def report(ctx: inngest.Context) -> str:
    return await ctx.step.run("build", reports.build, ctx.event.data["team"])


# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
# NBVAL_CHECK_OUTPUT
checks.singleton(report, reports)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# ## Done
#
# Run `make exercises` in a terminal: it grades this notebook as your teacher will (every
# task, whatever happened to its check cell) and lists what is still wrong. The stack
# stops with the kernel.
