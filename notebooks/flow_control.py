# %% [markdown]
# # Flow control: what happens to a burst of events
#
# A function rarely meets one event at a time. Inngest's *flow control* options decide,
# for a burst, which events start a run, when, and in what order, without a line of
# queueing code of your own. Each lesson below defines a function with one option,
# sends a burst in **one request** (so the events arrive together, whatever the
# machine's speed), prints what became of each event, draws its timeline, and asserts
# the fact the option promises.
#
# | Lesson | Option | What it does to the burst |
# | --- | --- | --- |
# | 1 | `throttle=inngest.Throttle(limit, period)` | **delays**: at most `limit` starts per period; none is dropped |
# | 2 | `rate_limit=inngest.RateLimit(limit, period, key)` | **drops**: events over the limit start no run |
# | 3 | `batch_events=inngest.Batch(max_size, timeout)` | **merges**: one run gets many events |
# | 4 | `singleton=inngest.Singleton(key, mode)` | **one at a time** per key: skip the newcomer, or cancel the old run |
# | 5 | `priority=inngest.Priority(run=...)` | **reorders** the runs waiting for a slot |
# | 6 | `timeouts=inngest.Timeouts(start, finish)` | **cancels** runs that wait or run too long |
#
# Debounce and concurrency are lessons 7 and 8 of `inngest_functions.ipynb`.
#
# **Reading the timelines.** The engine's clock runs 100x faster here
# (`engine_time_scale=0.01`): a 30 s throttle period takes 0.3 s. `kit.event_runs`
# gives one row per event, with times in *virtual* seconds since the first event arrived
# (what the run would see on a real server), and `kit.plot_event_runs` draws it: grey
# while an event waits, coloured while its run works, a cross where no run started.
# The virtual times carry the machine's noise times 100 (a real millisecond is 0.1 s
# here), so read them as "about 30 s", never to the tenth.

# %%
import asyncio
import datetime
import threading

import inngest
import matplotlib.pyplot as plt

from learninngest import kit

stack = kit.up(engine_time_scale=0.01, engine_db="memory", result_store_url="memory://", log_level="ERROR")


def burst(name: str, datas: list[dict]) -> list[str]:
    """Send several events in one request: they arrive together. Returns their ids."""
    return stack.client.send_sync([inngest.Event(name=name, data=data) for data in datas])


stack

# %% [markdown]
# ## 1. Throttle: delay the excess, drop nothing
#
# A partner's API accepts one report request every 30 seconds. With
# `throttle=inngest.Throttle(limit=1, period=30 s, burst=0)` the engine starts at most
# one run per 30 s; the others wait in the queue, in arrival order, and every one runs.
# (`burst`, 1 unless set, lets that many more start at once after a quiet spell.)


# %%
@stack.function(
    fn_id="partner-report",
    trigger=inngest.TriggerEvent(event="demo/report.requested"),
    throttle=inngest.Throttle(limit=1, period=datetime.timedelta(seconds=30), burst=0),
)
async def partner_report(ctx: inngest.Context) -> str:
    return await ctx.step.run("call-partner", lambda: f"report {ctx.event.data['n']} sent")


# %%
reports = burst("demo/report.requested", [{"n": n} for n in range(4)])
report_runs = [kit.wait_for_run(event_id, partner_report) for event_id in reports]
throttled = kit.event_runs(reports, labels=[f"report {n}" for n in range(4)])
kit.print_run(report_runs[-1])  # the last one: its Throttle row says how long it waited
throttled

# %%
kit.plot_event_runs(throttled, "Throttle, 1 start per 30 s: four requests at once, one start every 30 s")
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
# Every event ran (none dropped), and consecutive starts are at least one period apart:
# the throttle can only make a start later, never sooner, so this holds however busy the machine.
gaps = throttled["started_s"].sort_values().diff().dropna()
assert list(throttled["status"]) == ["Completed"] * 4
assert (gaps >= 30 * 0.95).all(), gaps
{"runs": len(report_runs), "each start at least 30 s after the previous": bool((gaps >= 28.5).all())}

# %% [markdown]
# ## 2. Rate limit: drop the excess
#
# A text-message alert must reach a user at most once an hour, however many times the
# alarm fires. `rate_limit=inngest.RateLimit(limit=1, period=1 h, key="event.data.user")`
# counts per user: over the limit, the event is stored but **starts no run**. The
# engine records why (`kit.flow_of(event_id)`, the engine's `/v1/events/{id}/flow`).


# %%
@stack.function(
    fn_id="sms-alert",
    trigger=inngest.TriggerEvent(event="demo/alarm"),
    rate_limit=inngest.RateLimit(limit=1, period=datetime.timedelta(hours=1), key="event.data.user"),
)
async def sms_alert(ctx: inngest.Context) -> str:
    return await ctx.step.run("send-sms", lambda: f"SMS to {ctx.event.data['user']}")


# %%
users = ["ana", "ana", "ana", "ben", "ana"]
alarms = burst("demo/alarm", [{"user": user} for user in users])
kit.wait_for_run(alarms[0], sms_alert), kit.wait_for_run(alarms[3], sms_alert)
limited = kit.event_runs(alarms, labels=[f"alarm {n}: {user}" for n, user in enumerate(users, 1)])
print("why ana's second alarm started no run:", kit.flow_of(alarms[1])[0]["detail"])
limited

# %%
kit.plot_event_runs(limited, "Rate limit, 1 per hour per user: ana's repeats are dropped")
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
assert list(limited["status"]) == ["Completed", "no run", "no run", "Completed", "no run"]
assert list(limited["decision"]) == ["", "rate_limited", "rate_limited", "", "rate_limited"]
limited[["event", "decision", "status"]]

# %% [markdown]
# ## 3. Batching: one run for many events
#
# Sending a welcome digest per sign-up is wasteful; one per group of sign-ups is not.
# `batch_events=inngest.Batch(max_size=3, timeout=20 s)` collects events and starts one
# run when three have arrived, or 20 s after the first, whichever comes first; the run
# gets them all as `ctx.events`. Seven sign-ups make two full batches and a last one
# of a single event, which starts at its timeout.


# %%
@stack.function(
    fn_id="welcome-digest",
    trigger=inngest.TriggerEvent(event="demo/signed-up"),
    batch_events=inngest.Batch(max_size=3, timeout=datetime.timedelta(seconds=20)),
)
async def welcome_digest(ctx: inngest.Context) -> list[str]:
    return [event.data["email"] for event in ctx.events]


# %% [markdown]
# A batch's run hangs off its first event (here the 1st, 4th and 7th): wait for those
# three runs, then look at every event.

# %%
emails = [f"user{n}@example.com" for n in range(7)]
signups = burst("demo/signed-up", [{"email": email} for email in emails])
digests = [kit.wait_for_run(signups[n], welcome_digest) for n in (0, 3, 6)]
for run in digests:
    kit.print_run(run)
batched = kit.event_runs(signups, labels=emails)
batched["batch"] = batched["run_id"].rank(method="dense").astype(int)  # which run took the event
batched

# %%
kit.plot_event_runs(batched, "Batch of up to 3, or 20 s: seven sign-ups, three runs")
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
sizes = batched.groupby("batch")["event"].count().tolist()
assert sizes == [3, 3, 1] and (batched["decision"] == "batched").all()
assert [run["output"] for run in digests] == [emails[:3], emails[3:6], emails[6:]]
{"events per run": sizes}

# %% [markdown]
# ## 4. Singleton: one run at a time per key
#
# A user's data export must not run twice at once. `singleton=inngest.Singleton(key=
# "event.data.user", mode="skip")` skips an event while a run for the same user is
# active: it is recorded as a run with status `Skipped`, whose timeline names the run
# it yielded to. `mode="cancel"` does the opposite: the new event wins and the active
# run is cancelled. Each export here waits for a `demo/export.release` event, so it is
# still running when the next request arrives.


# %%
async def export(ctx: inngest.Context) -> str:
    # Waiting keeps the run active until the release event; a real export would work here.
    await ctx.step.wait_for_event("work", event="demo/export.release", timeout=datetime.timedelta(hours=1))
    return f"export {ctx.event.data['n']} for {ctx.event.data['user']}"


skip_export = stack.function(
    fn_id="export-skip",
    trigger=inngest.TriggerEvent(event="demo/export.skip"),
    singleton=inngest.Singleton(key="event.data.user", mode="skip"),
)(export)
cancel_export = stack.function(
    fn_id="export-cancel",
    trigger=inngest.TriggerEvent(event="demo/export.cancel"),
    singleton=inngest.Singleton(key="event.data.user", mode="cancel"),
)(export)

# %% [markdown]
# In each mode: ana's first export starts and waits; then ana's second and ben's first
# arrive together. Once every export that runs is waiting, one release event ends them.

# %%
singles = []
for mode, fn in (("skip", skip_export), ("cancel", cancel_export)):
    ana_1 = burst(f"demo/export.{mode}", [{"user": "ana", "n": 1}])[0]
    kit.wait_for_step(ana_1, fn, "work")  # ana's first export is running: it waits
    ana_2, ben_1 = burst(f"demo/export.{mode}", [{"user": "ana", "n": 2}, {"user": "ben", "n": 1}])
    for event_id in (ben_1,) if mode == "skip" else (ana_2, ben_1):
        kit.wait_for_step(event_id, fn, "work")
    singles += [ana_1, ana_2, ben_1]
burst("demo/export.release", [{}])  # every waiting export finishes
exports = [kit.wait_for_run(event_id) for event_id in singles]
singleton = kit.event_runs(
    singles, labels=[f"{m}: {who}" for m in ("skip", "cancel") for who in ("ana 1", "ana 2", "ben 1")]
)
for run in exports[1], exports[3]:  # skip mode's ana 2, cancel mode's ana 1
    row = kit.steps_of(run["run_id"])[-1]
    print(f"{row['op']} {row['status']}: {row['output']['reason']}")
singleton

# %%
kit.plot_event_runs(singleton, "Singleton per user: skip the newcomer, or cancel the running one")
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
assert list(singleton["status"]) == [
    "Completed",
    "Skipped",
    "Completed",
    "Cancelled",
    "Completed",
    "Completed",
]
dict(zip(singleton["event"], singleton["status"], strict=True))

# %% [markdown]
# ## 5. Priority: who goes first when runs wait
#
# A support queue answers one ticket at a time (`concurrency` of 1). Enterprise
# customers should not wait behind free ones: `priority=inngest.Priority(run=
# "event.data.plan == 'enterprise' ? 120 : 0")` lets a run jump ahead of runs queued up
# to 120 s before it. A first ticket holds the only slot (its step waits for this
# notebook to release it) while four more arrive; then the queue drains.

# %%
holding, release = (
    threading.Event(),
    threading.Event(),
)  # the first ticket's step sets one, waits for the other


@stack.function(
    fn_id="support-ticket",
    trigger=inngest.TriggerEvent(event="demo/ticket"),
    concurrency=[inngest.Concurrency(limit=1)],
    priority=inngest.Priority(run="event.data.plan == 'enterprise' ? 120 : 0"),
)
async def support_ticket(ctx: inngest.Context) -> str:
    async def answer() -> str:
        if ctx.event.data["who"] == "first":
            holding.set()
            await asyncio.to_thread(release.wait, 30)  # holds the only slot until released
        return f"answered {ctx.event.data['who']}"

    return await ctx.step.run("answer", answer)


# %%
first = burst("demo/ticket", [{"who": "first", "plan": "free"}])[0]
assert holding.wait(30), "the first ticket never started"
ticket_plans = [("free-1", "free"), ("free-2", "free"), ("big-co", "enterprise"), ("free-3", "free")]
tickets = burst("demo/ticket", [{"who": who, "plan": plan} for who, plan in ticket_plans])
release.set()
queued = [kit.wait_for_run(event_id, support_ticket) for event_id in [first, *tickets]]
prioritised = kit.event_runs([first, *tickets], labels=["first", *(who for who, _ in ticket_plans)])
prioritised.sort_values("started_s")

# %%
kit.plot_event_runs(prioritised, "Priority: big-co (enterprise, +120 s) overtakes the free tickets")
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
order = list(prioritised.sort_values("started_s")["event"])
assert order == ["first", "big-co", "free-1", "free-2", "free-3"], order
order

# %% [markdown]
# ## 6. Timeouts: cancel what waits or runs too long
#
# `timeouts=inngest.Timeouts(start=..., finish=...)`: `start` cancels a run not started
# within that time of being queued, `finish` one not finished within that time of its
# first call (sleeping and waiting count). Two functions show both: a report that must
# start within 30 minutes, behind a throttle of one per hour, and a job that must finish
# within 2 minutes but sleeps for an hour. Rather than wait the half hour, the cell moves
# the engine's clock on with `kit.advance_clock`. The run's last timeline row says which
# limit cancelled it.


# %%
@stack.function(
    fn_id="fresh-report",
    trigger=inngest.TriggerEvent(event="demo/fresh-report"),
    throttle=inngest.Throttle(limit=1, period=datetime.timedelta(hours=1), burst=0),
    timeouts=inngest.Timeouts(start=datetime.timedelta(minutes=30)),
)
async def fresh_report(ctx: inngest.Context) -> str:
    return f"report {ctx.event.data['n']}"


@stack.function(
    fn_id="quick-job",
    trigger=inngest.TriggerEvent(event="demo/quick-job"),
    timeouts=inngest.Timeouts(finish=datetime.timedelta(minutes=2)),
)
async def quick_job(ctx: inngest.Context) -> str:
    await ctx.step.sleep("too-long", datetime.timedelta(hours=1))
    return "never"


# %%
fresh = burst("demo/fresh-report", [{"n": 1}, {"n": 2}])
slow = burst("demo/quick-job", [{}])
kit.wait_for_run(fresh[0])  # report 1 runs at once; report 2 waits for the throttle
kit.wait_for_run(slow[0])  # the quick job: cancelled by its own 2 minutes
kit.advance_clock(datetime.timedelta(minutes=31))  # the engine's time: past report 2's limit
timed = [kit.wait_for_run(event_id) for event_id in [*fresh, *slow]]
timeouts = kit.event_runs([*fresh, *slow], labels=["report 1", "report 2 (throttled)", "quick job"])
for run in timed[1:]:
    kit.print_run(run)
timeouts

# %%
kit.plot_event_runs(timeouts, "Timeouts: start within 30 min, finish within 2 min")
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
last_rows = [kit.steps_of(run["run_id"])[-1] for run in timed[1:]]
assert list(timeouts["status"]) == ["Completed", "Cancelled", "Cancelled"]
assert [(row["op"], row["name"]) for row in last_rows] == [
    ("Timeout", "timeouts.start"),
    ("Timeout", "timeouts.finish"),
]
[row["error"]["message"] for row in last_rows]

# %% [markdown]
# ## Which option for which problem
#
# | The problem | The option | Events over the limit |
# | --- | --- | --- |
# | a partner allows N calls per minute | `throttle` | wait, then run |
# | a user must not get the same alert twice an hour | `rate_limit` | dropped |
# | many small events, one piece of work | `batch_events` | merged into one run |
# | only the last of a burst matters (search as you type) | `debounce` | merged: the last one runs |
# | two runs for one key must never overlap | `singleton` | skipped, or replace the running one |
# | some customers first | `priority` | reordered |
# | at most N at once (a model's capacity) | `concurrency` | wait for a slot |
# | stale work is worthless | `timeouts` | cancelled |
#
# Every option also takes a `key` (an expression over the event), so the limit applies
# per user, per customer or per tenant instead of to the whole function.

# %% [markdown]
# ## Stop the stack

# %%
# NBVAL_CHECK_OUTPUT
kit.down()
stack.running
