# %% [markdown]
# # Slow LLM calls in the background: FastAPI + Inngest + LangChain
#
# An LLM call can take seconds, fail with a rate limit, or hang. Doing it inside an
# HTTP request ties up the client and loses the work when something breaks. The
# pattern this notebook teaches:
#
# ```
# client ──(1) POST /api/v1/chat──▶ backend ──(2) event app/chat.requested──▶ Inngest
#    ◀── 202 {request_id} ──────────┘                                          │
#                                                                 (3) schedules a run
# backend /api/inngest ◀──(4) calls chat_worker────────────────────────────────┘
#    (5) step "generate" ──(6)──▶ LLM (offline model here, OpenRouter in production)
#    (7) step "save" ──▶ result store
# client ──(8) GET /api/v1/chat/result/{request_id}?wait=10──▶ the answer
# ```
#
# Inngest owns the *when* and the *again*: it runs each step, retries the failed ones
# with backoff, and calls a failure handler when retries run out. Each cell below
# teaches one idea, with live requests, and checks what it teaches with an `assert`.

# %% [markdown]
# ## 1. Start the whole stack in this kernel
#
# `kit.up()` starts the backend (with the offline model mounted on it) and the local
# Inngest engine, each on a free port of 127.0.0.1 in a background thread, and syncs
# the app. It needs no network and no keys. The engine's clock runs 10x faster
# (`engine_time_scale=0.1`) so retry backoff does not make you wait; the recorded
# timeline keeps the real delays. This notebook keeps its state in memory.

# %%
import asyncio
import time

import httpx

from learninngest import kit

stack = kit.up(
    engine_time_scale=0.1,
    engine_db="memory",
    result_store_url="memory://",
    offline_latency_mean_ms=400,
    offline_latency_spread_ms=150,
    log_level="WARNING",
)
stack

# %% [markdown]
# ## 2. Enqueue, then poll
#
# `POST /api/v1/chat` answers **202 Accepted** at once with a `request_id`: the
# model has not been called yet. Polling `GET /api/v1/chat/result/{id}` shows
# `pending` until the background run has saved the answer.

# %%
t0 = time.perf_counter()
accepted = httpx.post(f"{stack.backend_url}/api/v1/chat", json={"query": "What is the capital of France?"})
enqueue_ms = (time.perf_counter() - t0) * 1000
print(accepted.status_code, accepted.json()["status"], f"in {enqueue_ms:.0f} ms")
request_id = accepted.json()["request_id"]

polls = 0
while (result := httpx.get(f"{stack.backend_url}/api/v1/chat/result/{request_id}").json())[
    "status"
] == "pending":
    polls += 1
    time.sleep(0.1)
print(f"done after {polls} polls, {(time.perf_counter() - t0) * 1000:.0f} ms in total")
assert accepted.status_code == 202 and result["status"] == "done"

# %% [markdown]
# ## 3. Long-poll instead
#
# `?wait=10` holds the request open until the result is final (or 10 s pass):
# one request instead of many, and the answer arrives as soon as it is saved.
# From here on the cells use the kit's small helpers, which make these same HTTP
# calls: `kit.send` is the POST, `kit.wait_for_result` the long-poll,
# `kit.runs_of` / `kit.steps_of` / `kit.timeline` read the runs (section 4).

# %%
t0 = time.perf_counter()
request_id = kit.send("What is the capital of France?")["request_id"]
result = httpx.get(
    f"{stack.backend_url}/api/v1/chat/result/{request_id}", params={"wait": 10}, timeout=15
).json()
print(f"one long-poll, {(time.perf_counter() - t0) * 1000:.0f} ms")
assert result["status"] == "done"

# %%
# NBVAL_CHECK_OUTPUT
{key: result[key] for key in ("status", "content", "model", "usage", "attempts")}

# %% [markdown]
# ## 3b. Or stream it: the answer token by token
#
# `GET /api/v1/chat/{id}/stream` answers with Server-Sent Events while the run works:
# `status` (running, attempt n), a `token` per piece of text as the model produces it,
# `retry` when a failed attempt is retried (its partial text is to be dropped), and a
# last `done`. The worker streams the model's answer (LangChain's `astream`) and
# publishes each piece to a *stream channel*; the endpoint reads that channel.
# `[fault:500,after=4]` makes the offline model fail after four tokens, so you see a
# retry mid-answer. `kit.stream_events` yields the events as they arrive.

# %%
request_id = kit.send("What is the capital of France? [fault:500,after=4]")["request_id"]
for message in kit.stream_events(request_id):
    if message.event == "token":
        print(message.data["text"], end="", flush=True)  # printed as it comes
    elif message.event == "retry":
        print(f"  <- failed; attempt {message.data['attempt']} starts, drop that text:")
    elif message.event in ("done", "error"):
        last = message
print(f"\n[{last.event}]")

# %% [markdown]
# The stream is a *view* of the run, not its record. The answer a client can trust is
# still the one step "save" wrote to the result store, the same row `GET /result`
# reads; the stream's last event (`done`) is read from that store too, not from the
# tokens. If a client misses tokens (a dropped connection, a channel that is down),
# `done` still carries the whole answer, and the run never depended on the stream.

# %%
# NBVAL_CHECK_OUTPUT
stored = kit.wait_for_result(request_id)
assert last.data["content"] == stored["content"] and stored["attempts"] == 2
{"streamed done": last.data["content"], "stored": stored["content"], "attempts": stored["attempts"]}

# %% [markdown]
# ## 4. The event and the run it caused
#
# The backend sent one event, `app/chat.requested`, whose `id` is the request id:
# that `id` is the de-duplication key (Inngest drops a second event with the same
# id). The `event_ids` in the 202 answer are something else: the ids Inngest gave
# the stored event, used to look up its runs. The engine matched the event to
# `chat_worker` and started a run. Both are visible through the Inngest REST API,
# exactly as on the real Dev Server, and on the engine's dashboard
# (`stack.urls["dashboard"]`, then a run's page at `/runs/<run_id>`).

# %% [markdown]
# The contract between the sender (`api/`) and the receiver (`worker/`) is one small
# module, `events.py`. `kit.show` prints it live from the installed package (not a
# copy), with the file's own line numbers; `# ◀` marks the line that makes a re-sent
# request harmless.

# %%
from learninngest import events

kit.show(events, start="CHAT_REQUESTED =", mark='"id": payload.request_id')

# %%
# NBVAL_CHECK_OUTPUT
received = kit.recent_events(limit=20)
ours = [e for e in received if e["id"] == request_id]
print(len(ours), "stored event(s) carry the request id")
assert len(ours) == 1
event = ours[0]
event["name"], event["id"] == request_id, sorted(event["data"])

# %% [markdown]
# The event as Inngest stored it: `id` is the sender's (the request id), `internal_id`
# is the server's own.

# %%
import json

print(json.dumps({key: event[key] for key in ("name", "id", "internal_id", "data")}, indent=2))

# %% [markdown]
# The run it caused: its function, status and output, one line per step, and a link
# to the run's page on the engine's dashboard (open it: the same timeline, as HTML).

# %%
runs = kit.runs_of(request_id)
kit.print_run(runs[0])
assert [run["status"] for run in runs] == ["Completed"]

# %% [markdown]
# The run's steps (the local engine's own timeline endpoint): one row per call to
# `/api/inngest`. `generate` called the model, `save` wrote the store, and each was
# memoized so a later call never repeats it; the last row, `function` /
# `RunComplete`, is the final call in which the function returned its value.

# %%
steps = kit.as_table(kit.steps_of(runs[0]["run_id"]), ["name", "op", "attempt", "status", "duration_ms"])
steps

# %%
# NBVAL_CHECK_OUTPUT
list(steps["name"])

# %% [markdown]
# ### The code that ran
#
# `chat_worker`, from `worker/chat_worker.py`: one `@client.create_function` with its
# trigger and options, then two `ctx.step.run` calls (marked). Each step is a unit of
# work Inngest records: once `generate` has returned, its result is stored, and a later
# call of the function gets it back instead of calling the model again.

# %%
from learninngest.worker import chat_worker

kit.show(
    chat_worker.build_chat_worker,
    start="@client.create_function",
    end='return {"request_id"',
    mark=["trigger=", 'ctx.step.run("generate"', 'ctx.step.run("save"'],
)

# %% [markdown]
# ## 5. `clean` or raw
#
# By default (`clean: true`) the worker asks the model for plain text and strips
# any markdown that still comes back. `clean: false` returns the answer as the
# model wrote it.

# %%
# NBVAL_CHECK_OUTPUT
raw = kit.wait_for_result(kit.send("Explain Inngest steps", clean=False)["request_id"])["content"]
clean = kit.wait_for_result(kit.send("Explain Inngest steps", clean=True)["request_id"])["content"]
print("RAW:\n" + raw + "\n\nCLEAN:\n" + clean)
assert "**" in raw and "**" not in clean

# %% [markdown]
# ## 6. Retries: a rate limit, twice
#
# The offline model fails on demand: `[fault:429x2]` in the question makes its
# first two calls for this request answer **429 Too Many Requests** with
# `Retry-After: 1`. The worker turns that into `RetryAfterError`, so Inngest waits
# as the provider asked and calls again. The third attempt succeeds.

# %% [markdown]
# The code that decides: `retries=` on the function (Inngest retries a failed step up
# to that many times), and `to_inngest_error`, which tells Inngest *how* to retry.

# %%
kit.show(
    chat_worker.build_chat_worker,
    start="@client.create_function",
    end="on_failure=on_failure",
    mark="retries=",
)

# %%
kit.show(chat_worker.to_inngest_error, mark=["NonRetriableError(", "RetryAfterError("])

# %%
request_id = kit.send("[fault:429x2] What is the capital of France?")["request_id"]
result = kit.wait_for_result(request_id)  # the log lines below are the worker and the engine retrying

# %%
# NBVAL_CHECK_OUTPUT
print(result["status"], "after", result["attempts"], "attempts:", result["content"])
assert result["status"] == "done" and result["attempts"] == 3

# %%
timeline = kit.timeline(request_id)  # the request's run and its steps, one row per call
timeline[["run_status", "name", "op", "attempt", "status", "intended_delay_ms", "error"]]

# %% [markdown]
# Read the table: the two failed calls show as step `function`, op `Call`, not
# `generate`. A `RetryAfterError` fails the whole call to `/api/inngest` (the SDK
# answers 500 with `retry-after`), so the engine only knows that the function
# failed; the next call runs `generate` again because it was never memoized.
# `attempt` counts from 0 as Inngest does (`ctx.attempt`), so attempt 2 is the
# third try, which is the `attempts: 3` the backend reports.

# %%
# NBVAL_CHECK_OUTPUT
retries = timeline[timeline["status"] == "Retrying"]
print(len(retries), "calls retried; the last attempt is number", timeline["attempt"].max())
assert len(retries) == 2 and timeline["attempt"].max() == 2
# The backoff the engine applied is the provider's Retry-After (at most 1 s: the SDK sends a
# wake time, so what the reply took to arrive comes off it), not its own schedule (15 s, 30 s…).
all(delay <= 1000 for delay in retries["intended_delay_ms"])

# %% [markdown]
# ## 7. A permanent failure
#
# `[fault:400]` makes the provider answer **400 Bad Request**. Retrying cannot
# help, so the worker raises `NonRetriableError`: Inngest stops at once, marks the
# run `Failed` and emits `inngest/function.failed`, which runs the worker's
# failure handler. The handler records the error, so the request never stays
# `pending`.

# %% [markdown]
# The failure handler is a plain function passed as `on_failure=` (see above). Inngest
# calls it in a run of its own, triggered by `inngest/function.failed`:

# %%
kit.show(
    chat_worker.build_chat_worker,
    start="async def on_failure",
    end="notify(request_id)",
    mark="finish_with_retries",
)

# %%
request_id = kit.send("[fault:400] What is the capital of France?")["request_id"]
result = kit.wait_for_result(request_id)  # the log lines show the run failing at once

# %%
# NBVAL_CHECK_OUTPUT
print({key: result[key] for key in ("status", "error", "attempts")})
assert result["status"] == "error" and result["attempts"] == 1

# %%
# NBVAL_CHECK_OUTPUT
runs = kit.runs_of(request_id)
print("the run:", runs[0]["status"])
assert runs[0]["status"] == "Failed"
failed = [
    e
    for e in kit.recent_events(limit=50)
    if e["name"] == "inngest/function.failed" and e["data"]["run_id"] == runs[0]["run_id"]
]
print("its failure events:", [(e["name"], e["data"]["function_id"]) for e in failed])
assert len(failed) == 1

# %% [markdown]
# The failure event started a run of its own: the handler, with the id the SDK gave it
# (`<function id>-failure`). Here it is, with its dashboard page. It has no step of its
# own: the handler records the error in a single call, the `function` / `RunComplete`
# row (the last row of every run: the call in which the function returned).

# %%
handler_run = kit.wait_for_run(failed[0]["internal_id"])
kit.print_run(handler_run)
assert handler_run["function_slug"] == "learninngest-chat-worker-failure"
assert handler_run["status"] == "Completed"
assert [step["op"] for step in kit.steps_of(handler_run["run_id"])] == ["RunComplete"]

# %% [markdown]
# ## 8. Idempotency: the same request twice, one run
#
# A client that retries a POST (a timeout, a double click) must not pay for two
# LLM calls. With the same `Idempotency-Key` header, the second POST returns the
# first `request_id` and sends no event.

# %%
first = kit.send("What is the capital of France?", idempotency_key="lesson-8")
second = kit.send("What is the capital of France?", idempotency_key="lesson-8")
kit.wait_for_result(first["request_id"])
print("first POST :", first["request_id"])
print("second POST:", second["request_id"])
print("runs of the request:", len(kit.runs_of(first["request_id"])))

# %%
# NBVAL_CHECK_OUTPUT
assert first["request_id"] == second["request_id"]
assert len(kit.runs_of(first["request_id"])) == 1
"same request, one run"

# %% [markdown]
# One level down, Inngest itself de-duplicates by the event's `id` (the line marked in
# `events.py`). Send the same event again straight to Inngest, as a backend that
# retried its send would: it is stored, and starts no run.

# %%
original = [e for e in kit.recent_events(limit=50) if e["id"] == first["request_id"]][0]
again = kit.send_event(original["name"], original["data"], id=original["id"])
print("re-sent event stored as", again[0], "- runs it started:", kit.runs_of_event(again[0]))
print("the first event's runs:", len(kit.runs_of_event(original["internal_id"])))

# %%
# NBVAL_CHECK_OUTPUT
assert kit.runs_of_event(again[0]) == [] and len(kit.runs_of_event(original["internal_id"])) == 1
"same event id, one run"

# %% [markdown]
# ## 9. Many requests at once, and the concurrency limit
#
# `chat_worker` is declared with `concurrency=[Concurrency(limit=settings.worker_concurrency)]`
# (the `WORKER_CONCURRENCY` setting, 4 unless set; the cell below prints it). Send 10
# requests at once: the engine starts that many runs, queues the rest, and starts the
# next as one finishes. The `generate` steps in the timeline never overlap more than
# that many deep.

# %%
kit.show(
    chat_worker.build_chat_worker,
    start="@client.create_function",
    end="on_failure=on_failure",
    mark="concurrency=",
)

# %%
LIMIT = stack.settings.worker_concurrency
print("WORKER_CONCURRENCY:", LIMIT)
ids = [kit.send(f"Question number {n}: what is a background job?")["request_id"] for n in range(10)]
results = [kit.wait_for_result(i) for i in ids]
print(sum(r["status"] == "done" for r in results), "of", len(results), "requests done")
assert all(r["status"] == "done" for r in results)

rows = []
for i in ids:
    run = kit.runs_of(i)[0]
    for step in kit.steps_of(run["run_id"]):
        if step["name"] == "generate":
            rows.append({"request": i[-6:], "start": step["started_at"], "end": step["ended_at"]})
spans = kit.as_table(rows)
spans["start"] = spans["start"].astype("datetime64[ns, UTC]")
spans["end"] = spans["end"].astype("datetime64[ns, UTC]")
most = max(((spans["start"] <= t) & (spans["end"] > t)).sum() for t in spans["start"])
print(f"most generate steps running at once: {most} (limit {LIMIT})")
assert most <= LIMIT

# %%
import matplotlib.pyplot as plt

t0 = spans["start"].min()
fig, ax = plt.subplots(figsize=(7, 3))
for row, span in enumerate(spans.sort_values("start").itertuples()):
    label = "a generate step (the model call)" if row == 0 else "_nolegend_"
    ax.barh(
        row,
        (span.end - span.start).total_seconds(),
        left=(span.start - t0).total_seconds(),
        color="C0",
        label=label,
    )
ax.set_xlabel("seconds since the first run started")
ax.set_ylabel("request, in start order")
ax.set_title(f"10 requests at once: at most {LIMIT} generate steps at a time")
ax.legend(loc="lower right", fontsize=8)
plt.show()


# %% [markdown]
# ## 10. Your own Inngest function, on the running stack
#
# Everything so far ran the backend's own function. Now write one. `stack.client` is
# the backend's `inngest.Inngest` client; `@stack.function(...)` takes the same
# arguments as `client.create_function` and also registers the function on the
# running backend, which then re-syncs with the engine (no restart). This is how the
# backend serves `/api/inngest`: the SDK's own FastAPI adapter, behind a route whose
# function list can change.

# %%
from learninngest.worker import serve

kit.show(
    serve.ServedFunctions,
    start="def _build(",
    end="await self._app(",
    mark=["inngest.fast_api.serve(", "self._app("],
)

# %%
# NBVAL_CHECK_OUTPUT
import inngest


@stack.function(fn_id="hello", trigger=inngest.TriggerEvent(event="demo/hello"))
async def hello(ctx: inngest.Context) -> str:
    name = ctx.event.data["name"]
    return await ctx.step.run("greet", lambda: f"hello, {name}")


stack.functions  # the ids the backend serves now: the SDK prefixes the app id

# %% [markdown]
# Send the event with the client (`send_sync`: a cell is not async), wait for the run
# it started, and print it.

# %%
event_ids = stack.client.send_sync(inngest.Event(name="demo/hello", data={"name": "Ada"}))
run = kit.wait_for_run(event_ids[0], hello)
kit.print_run(run)
assert run["output"] == "hello, Ada"

# %% [markdown]
# Edit the function and run its cell again: the same `fn_id` replaces it. Try it:
# change the greeting below, run the cell, and the next run answers the new way
# (the check compares the run's output with what your `greeting` returns).


# %%
def greeting(name: str) -> str:
    return f"bonjour, {name}"  # change me


@stack.function(fn_id="hello", trigger=inngest.TriggerEvent(event="demo/hello"))
async def hello(ctx: inngest.Context) -> str:
    name = ctx.event.data["name"]
    return await ctx.step.run("greet", lambda: greeting(name))


run = kit.wait_for_run(
    stack.client.send_sync(inngest.Event(name="demo/hello", data={"name": "Ada"}))[0], hello
)
print("the run answered:", run["output"], "| greeting('Ada') is:", greeting("Ada"))
assert run["output"] == greeting("Ada")  # the new definition ran, not the old one

# %% [markdown]
# `stack.unregister` removes it and re-syncs: the event is still stored, and starts
# no run (the engine's warning says so). `notebooks/inngest_functions.ipynb` goes on
# from here: steps, sleeps, waiting for an event, invoking, parallel steps,
# cancelling, concurrency.

# %%
stack.unregister(hello)
event_ids = stack.client.send_sync(inngest.Event(name="demo/hello", data={"name": "Ada"}))
print("served:", stack.functions)
print("runs the event started:", kit.runs_of_event(event_ids[0]))
assert "learninngest-hello" not in stack.functions and kit.runs_of_event(event_ids[0]) == []

# %% [markdown]
# ## 11. `asyncio.run` in a cell
#
# Jupyter already runs an event loop, so a plain `asyncio.run(...)` copied from a
# script would fail with *"cannot be called from a running event loop"*. `kit.up()`
# applied `nest_asyncio` once (only because it found a running loop), so script code
# works unchanged here.


# %%
# NBVAL_CHECK_OUTPUT
async def ask(question: str) -> dict:
    async with httpx.AsyncClient(base_url=stack.backend_url, timeout=15) as client:
        accepted = (await client.post("/api/v1/chat", json={"query": question})).json()
        reply = await client.get(f"/api/v1/chat/result/{accepted['request_id']}", params={"wait": 10})
        return reply.json()


answer = asyncio.run(ask("What is the capital of France?"))
print("nest_asyncio applied by kit.up():", kit.nest_asyncio_applied())
assert kit.nest_asyncio_applied()
answer["status"], answer["content"]

# %% [markdown]
# ## 12. Moving to the real world
#
# The backend you just used runs unchanged against the real services; only
# settings change (see the README's configuration table):
#
# | You want | Set |
# | --- | --- |
# | the real Inngest Dev Server | run `npx inngest-cli@latest dev -u http://127.0.0.1:8000/api/inngest --no-discovery` and `learninngest serve` (`INNGEST_DEV=1`), or `kit.up(kit_inngest_server="cli")` with `INNGEST_CLI` |
# | Inngest Cloud | `INNGEST_DEV=0`, `INNGEST_SIGNING_KEY`, `INNGEST_EVENT_KEY` and `PUBLIC_URL=https://your-host` (the URL registered with Inngest; start-up stops without it, or `INNGEST_SERVE_ORIGIN`); deploy and sync `https://your-host/api/inngest` |
# | OpenRouter | `OPENROUTER_API_KEY` (and `OPENROUTER_MODEL`) |
# | Ollama, vLLM, LM Studio | `LLM_PROVIDER=openai-compatible`, `LLM_BASE_URL`, `LLM_MODEL` |
# | results shared by several workers | `RESULT_STORE_URL=redis://…` |
#
# With Inngest Cloud every call to `/api/inngest` is signed and verified (an
# unsigned sync, such as a plain `curl -X PUT`, is refused), and
# `/api/v1/chat/{id}/runs` reads the runs with your signing key.

# %% [markdown]
# ## 13. Stop the stack
#
# `stack.down()` stops the servers and frees their ports (the kernel exiting does
# the same); `kit.up()` would start a fresh one.

# %%
# NBVAL_CHECK_OUTPUT
stack.down()
stack.running
