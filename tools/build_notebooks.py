"""Builds notebooks/learning.ipynb and notebooks/results.ipynb from the cells below.

The notebooks are generated so that every cell stays one idea and the lessons can be
reviewed as plain Python; `make notebooks` rebuilds them and executes them in place
(committed executed, with outputs, as nbval compares them).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
CHECK = "# NBVAL_CHECK_OUTPUT\n"


def md(text: str) -> nbformat.NotebookNode:
    return new_markdown_cell(text.strip())


def code(text: str, *, check: bool = False) -> nbformat.NotebookNode:
    return new_code_cell((CHECK if check else "") + text.strip())


LEARNING = [
    md(
        """
# Slow LLM calls in the background: FastAPI + Inngest + LangChain

An LLM call can take seconds, fail with a rate limit, or hang. Doing it inside an
HTTP request ties up the client and loses the work when something breaks. The
pattern this notebook teaches:

```
client ──(1) POST /api/v1/chat──▶ backend ──(2) event app/chat.requested──▶ Inngest
   ◀── 202 {request_id} ──────────┘                                          │
                                                                (3) schedules a run
backend /api/inngest ◀──(4) calls chat_worker────────────────────────────────┘
   (5) step "generate" ──(6)──▶ LLM (offline model here, OpenRouter in production)
   (7) step "save" ──▶ result store
client ──(8) GET /api/v1/chat/result/{request_id}?wait=10──▶ the answer
```

Inngest owns the *when* and the *again*: it runs each step, retries the failed ones
with backoff, and calls a failure handler when retries run out. Each cell below
teaches one idea, with live requests, and checks what it teaches with an `assert`.
"""
    ),
    md(
        """
## 1. Start the whole stack in this kernel

`kit.up()` starts the backend (with the offline model mounted on it) and the local
Inngest engine, each on a free port of 127.0.0.1 in a background thread, and syncs
the app. It needs no network and no keys. The engine's clock runs 10x faster
(`engine_time_scale=0.1`) so retry backoff does not make you wait; the recorded
timeline keeps the real delays. This notebook keeps its state in memory.
"""
    ),
    code(
        """
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
"""
    ),
    md(
        """
## 2. Enqueue, then poll

`POST /api/v1/chat` answers **202 Accepted** at once with a `request_id`: the
model has not been called yet. Polling `GET /api/v1/chat/result/{id}` shows
`pending` until the background run has saved the answer.
"""
    ),
    code(
        """
t0 = time.perf_counter()
accepted = httpx.post(f"{stack.backend_url}/api/v1/chat", json={"query": "What is the capital of France?"})
enqueue_ms = (time.perf_counter() - t0) * 1000
print(accepted.status_code, accepted.json()["status"], f"in {enqueue_ms:.0f} ms")
request_id = accepted.json()["request_id"]

polls = 0
while (result := httpx.get(f"{stack.backend_url}/api/v1/chat/result/{request_id}").json())["status"] == "pending":
    polls += 1
    time.sleep(0.1)
print(f"done after {polls} polls, {(time.perf_counter() - t0) * 1000:.0f} ms in total")
assert accepted.status_code == 202 and result["status"] == "done"
"""
    ),
    md(
        """
## 3. Long-poll instead

`?wait=10` holds the request open until the result is final (or 10 s pass):
one request instead of many, and the answer arrives as soon as it is saved.
From here on the cells use the kit's small helpers, which make these same HTTP
calls: `kit.send` is the POST, `kit.wait_for_result` the long-poll,
`kit.runs_of` / `kit.steps_of` / `kit.timeline` read the runs (section 4).
"""
    ),
    code(
        """
t0 = time.perf_counter()
request_id = kit.send("What is the capital of France?")["request_id"]
result = httpx.get(f"{stack.backend_url}/api/v1/chat/result/{request_id}", params={"wait": 10}, timeout=15).json()
print(f"one long-poll, {(time.perf_counter() - t0) * 1000:.0f} ms")
assert result["status"] == "done"
"""
    ),
    code(
        """
{key: result[key] for key in ("status", "content", "model", "usage", "attempts")}
""",
        check=True,
    ),
    md(
        """
## 4. The event and the run it caused

The backend sent one event, `app/chat.requested`, whose `id` is the request id:
that `id` is the de-duplication key (Inngest drops a second event with the same
id). The `event_ids` in the 202 answer are something else: the ids Inngest gave
the stored event, used to look up its runs. The engine matched the event to
`chat_worker` and started a run. Both are visible through the Inngest REST API,
exactly as on the real Dev Server, and on the engine's dashboard
(`stack.urls["dashboard"]`, then a run's page at `/runs/<run_id>`).
"""
    ),
    code(
        """
events = kit.recent_events(limit=20)
ours = [e for e in events if e["id"] == request_id]
assert len(ours) == 1
event = ours[0]
event["name"], event["id"] == request_id, sorted(event["data"])
""",
        check=True,
    ),
    code(
        """
runs = kit.runs_of(request_id)
assert [run["status"] for run in runs] == ["Completed"]
kit.as_table(runs, ["run_id", "function_slug", "status", "run_started_at", "ended_at"])
"""
    ),
    md(
        """
The run's steps (the local engine's own timeline endpoint): one row per call to
`/api/inngest`. `generate` called the model, `save` wrote the store, and each was
memoized so a later call never repeats it; the last row, `function` /
`RunComplete`, is the final call in which the function returned its value.
"""
    ),
    code(
        """
steps = kit.as_table(kit.steps_of(runs[0]["run_id"]), ["name", "op", "attempt", "status", "duration_ms"])
steps
"""
    ),
    code(
        """
list(steps["name"])
""",
        check=True,
    ),
    md(
        """
## 5. `clean` or raw

By default (`clean: true`) the worker asks the model for plain text and strips
any markdown that still comes back. `clean: false` returns the answer as the
model wrote it.
"""
    ),
    code(
        """
raw = kit.wait_for_result(kit.send("Explain Inngest steps", clean=False)["request_id"])["content"]
clean = kit.wait_for_result(kit.send("Explain Inngest steps", clean=True)["request_id"])["content"]
print("RAW:\\n" + raw + "\\n\\nCLEAN:\\n" + clean)
assert "**" in raw and "**" not in clean
""",
        check=True,
    ),
    md(
        """
## 6. Retries: a rate limit, twice

The offline model fails on demand: `[fault:429x2]` in the question makes its
first two calls for this request answer **429 Too Many Requests** with
`Retry-After: 1`. The worker turns that into `RetryAfterError`, so Inngest waits
as the provider asked and calls again. The third attempt succeeds.
"""
    ),
    code(
        """
request_id = kit.send("[fault:429x2] What is the capital of France?")["request_id"]
result = kit.wait_for_result(request_id)  # the log lines below are the worker and the engine retrying
"""
    ),
    code(
        """
assert result["status"] == "done" and result["attempts"] == 3
print(result["status"], "after", result["attempts"], "attempts:", result["content"])
""",
        check=True,
    ),
    code(
        """
timeline = kit.timeline(request_id)  # the request's run and its steps, one row per call
timeline[["run_status", "name", "op", "attempt", "status", "intended_delay_ms", "error"]]
"""
    ),
    md(
        """
Read the table: the two failed calls show as step `function`, op `Call`, not
`generate`. A `RetryAfterError` fails the whole call to `/api/inngest` (the SDK
answers 500 with `retry-after`), so the engine only knows that the function
failed; the next call runs `generate` again because it was never memoized.
`attempt` counts from 0 as Inngest does (`ctx.attempt`), so attempt 2 is the
third try, which is the `attempts: 3` the backend reports.
"""
    ),
    code(
        """
retries = timeline[timeline["status"] == "Retrying"]
assert len(retries) == 2 and timeline["attempt"].max() == 2
# The backoff the engine applied is the provider's Retry-After (1 s), not its own schedule.
[round(delay / 1000) for delay in retries["intended_delay_ms"]]
""",
        check=True,
    ),
    md(
        """
## 7. A permanent failure

`[fault:400]` makes the provider answer **400 Bad Request**. Retrying cannot
help, so the worker raises `NonRetriableError`: Inngest stops at once, marks the
run `Failed` and emits `inngest/function.failed`, which runs the worker's
failure handler. The handler records the error, so the request never stays
`pending`.
"""
    ),
    code(
        """
request_id = kit.send("[fault:400] What is the capital of France?")["request_id"]
result = kit.wait_for_result(request_id)  # the log lines show the run failing at once
"""
    ),
    code(
        """
assert result["status"] == "error" and result["attempts"] == 1
{key: result[key] for key in ("status", "error", "attempts")}
""",
        check=True,
    ),
    code(
        """
runs = kit.runs_of(request_id)
assert runs[0]["status"] == "Failed"
failed = [e for e in kit.recent_events(limit=50) if e["name"] == "inngest/function.failed"
          and e["data"]["run_id"] == runs[0]["run_id"]]
assert len(failed) == 1
runs[0]["status"], failed[0]["name"], failed[0]["data"]["function_id"]
""",
        check=True,
    ),
    md(
        """
## 8. Idempotency: the same request twice, one run

A client that retries a POST (a timeout, a double click) must not pay for two
LLM calls. With the same `Idempotency-Key` header, the second POST returns the
first `request_id` and sends no event.
"""
    ),
    code(
        """
first = kit.send("What is the capital of France?", idempotency_key="lesson-8")
second = kit.send("What is the capital of France?", idempotency_key="lesson-8")
kit.wait_for_result(first["request_id"])
assert first["request_id"] == second["request_id"]
assert len(kit.runs_of(first["request_id"])) == 1
"same request, one run"
""",
        check=True,
    ),
    md(
        """
## 9. Many requests at once, and the concurrency limit

`chat_worker` is declared with `concurrency=[Concurrency(limit=4)]`
(`WORKER_CONCURRENCY`). Send 10 requests at once: the engine starts four runs,
queues the rest, and starts the next as one finishes. The `generate` steps in
the timeline never overlap more than four deep.
"""
    ),
    code(
        """
ids = [kit.send(f"Question number {n}: what is a background job?")["request_id"] for n in range(10)]
results = [kit.wait_for_result(i) for i in ids]
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
print("most generate steps running at once:", most)
assert most <= 4
"""
    ),
    code(
        """
import matplotlib.pyplot as plt

t0 = spans["start"].min()
fig, ax = plt.subplots(figsize=(7, 3))
for row, span in enumerate(spans.sort_values("start").itertuples()):
    ax.barh(row, (span.end - span.start).total_seconds(), left=(span.start - t0).total_seconds())
ax.set_xlabel("seconds since the first run started")
ax.set_ylabel("request")
ax.set_title("generate steps: at most 4 at once")
plt.show()
"""
    ),
    md(
        """
## 10. `asyncio.run` in a cell

Jupyter already runs an event loop, so a plain `asyncio.run(...)` copied from a
script would fail with *"cannot be called from a running event loop"*. `kit.up()`
applied `nest_asyncio` once (only because it found a running loop), so script code
works unchanged here.
"""
    ),
    code(
        """
async def ask(question: str) -> dict:
    async with httpx.AsyncClient(base_url=stack.backend_url, timeout=15) as client:
        accepted = (await client.post("/api/v1/chat", json={"query": question})).json()
        reply = await client.get(f"/api/v1/chat/result/{accepted['request_id']}", params={"wait": 10})
        return reply.json()


answer = asyncio.run(ask("What is the capital of France?"))
assert kit.nest_asyncio_applied()
answer["status"], answer["content"]
""",
        check=True,
    ),
    md(
        """
## 11. Moving to the real world

The backend you just used runs unchanged against the real services; only
settings change (see the README's configuration table):

| You want | Set |
| --- | --- |
| the real Inngest Dev Server | run `npx inngest-cli@latest dev -u http://127.0.0.1:8000/api/inngest --no-discovery` and `learninngest serve` (`INNGEST_DEV=1`), or `kit.up(kit_inngest_server="cli")` with `INNGEST_CLI` |
| Inngest Cloud | `INNGEST_DEV=0`, `INNGEST_SIGNING_KEY`, `INNGEST_EVENT_KEY`; deploy and sync `https://your-host/api/inngest` |
| OpenRouter | `OPENROUTER_API_KEY` (and `OPENROUTER_MODEL`) |
| Ollama, vLLM, LM Studio | `LLM_PROVIDER=openai-compatible`, `LLM_BASE_URL`, `LLM_MODEL` |
| results shared by several workers | `RESULT_STORE_URL=redis://…` |

With Inngest Cloud every call to `/api/inngest` is signed and verified, and
`/api/v1/chat/{id}/runs` reads the runs with your signing key.
"""
    ),
    md(
        """
## 12. Stop the stack

`stack.down()` stops the servers and frees their ports (the kernel exiting does
the same); `kit.up()` would start a fresh one.
"""
    ),
    code(
        """
stack.down()
stack.running
""",
        check=True,
    ),
]


RESULTS = [
    md(
        """
# Measuring the background pattern

This notebook sends a batch of chat requests through the whole stack and
measures, per request: the enqueue time (the POST), the queue wait (event
received → run started), the model time (the `generate` step), the total, the
attempts and the tokens. It then plots them and compares polling with
long-polling. Set `LEARNINNGEST_SMALL=1` for a quick run (CI does);
`RESULTS_BATCH` sets the batch size.
"""
    ),
    code(
        """
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import matplotlib.pyplot as plt
import pandas as pd
from tqdm import tqdm

from learninngest import kit

SMALL = os.environ.get("LEARNINNGEST_SMALL", "") not in ("", "0")
BATCH = int(os.environ.get("RESULTS_BATCH", 12 if SMALL else 40))
OUTPUT = Path("output")
OUTPUT.mkdir(exist_ok=True)
CSV = OUTPUT / f"results-{time.strftime('%Y%m%d-%H%M%S')}.csv"  # one file per run
print("batch size:", BATCH)
"""
    ),
    code(
        """
stack = kit.up(
    engine_time_scale=0.05,
    engine_db="memory",
    result_store_url="memory://",
    offline_latency_mean_ms=300,
    offline_latency_spread_ms=120,
    offline_fault_rate_429=0.1,
    log_level="ERROR",
)
stack
"""
    ),
    md(
        """
## Send the batch

All requests are enqueued at once from a few client threads (a `tqdm` bar
counts them), then each result is long-polled. One in ten model calls answers
429 (`offline_fault_rate_429=0.1`), so some requests need a second attempt.
"""
    ),
    code(
        """
questions = [f"Question {n}: why run slow LLM calls in the background?" for n in range(BATCH)]


def enqueue(question: str) -> dict:
    t0 = time.time()
    reply = httpx.post(f"{stack.backend_url}/api/v1/chat", json={"query": question}, timeout=30)
    return {"request_id": reply.json()["request_id"], "sent_at": t0, "enqueue_ms": (time.time() - t0) * 1000}


with ThreadPoolExecutor(max_workers=8) as pool:
    sent = list(tqdm(pool.map(enqueue, questions), total=BATCH, desc="enqueue", ncols=80))
finals = [kit.wait_for_result(s["request_id"], timeout=60) for s in sent]
assert all(f["status"] != "pending" for f in finals)  # every request ended: done, or error
errors = [f for f in finals if f["status"] == "error"]
# A 429 four times in a row (about 1 request in 10,000 here) exhausts the retries: an honest error.
print(f"{len(finals) - len(errors)} done, {len(errors)} error(s) after retries ran out")
"""
    ),
    md(
        """
## One row per request

The queue wait (the engine received the event → the run's first call) and the model
time (the `generate` step) come from the engine: its events and the run's step timeline.
"""
    ),
    code(
        """
def ts(text: str) -> float:
    return pd.Timestamp(text).timestamp()


rows = []
for s, final in zip(sent, finals, strict=True):
    if final["status"] != "done":
        continue  # measured: the requests that produced an answer
    run = kit.runs_of(s["request_id"])[0]
    steps = kit.steps_of(run["run_id"])
    generate = [st for st in steps if st["name"] == "generate" and st["status"] == "Completed"][0]
    first = min(ts(st["started_at"]) for st in steps)
    received = ts(kit.event(run["event_id"])["received_at"])
    rows.append({
        "request_id": s["request_id"],
        "sent_at": s["sent_at"],
        "enqueue_ms": s["enqueue_ms"],
        "queue_wait_ms": (first - received) * 1000,
        "model_ms": generate["duration_ms"],
        "total_ms": (ts(final["completed_at"]) - ts(final["created_at"])) * 1000,
        "attempts": final["attempts"],
        "tokens": final["usage"]["total_tokens"],
        "received_at": received,
        "run_start": first,
        "run_end": ts(run["ended_at"]),
    })
table = pd.DataFrame(rows)
table.to_csv(CSV, index=False)
table.head()
"""
    ),
    code(
        """
table[["enqueue_ms", "queue_wait_ms", "model_ms", "total_ms", "attempts", "tokens"]].describe().round(1)
"""
    ),
    code(
        """
# One row per answered request, each with at least one attempt and a token count.
assert len(table) == BATCH - len(errors) and (table["attempts"] >= 1).all() and (table["tokens"] > 0).all()
sorted(table.columns)
""",
        check=True,
    ),
    md(
        """
How to read the summary: `enqueue_ms` is the POST alone (the event is stored,
the model is not called yet), and includes this kernel's own client threads
competing with the in-kernel stack; `queue_wait_ms` is time spent waiting for one
of `chat_worker`'s 4 concurrency slots (`WORKER_CONCURRENCY`), which grows when
the whole batch arrives at once; `model_ms` is the `generate` step; `total_ms`
runs from the POST to the saved result.
"""
    ),
    md("## Latency: histogram and CDF"),
    code(
        """
fig, (hist, cdf) = plt.subplots(1, 2, figsize=(10, 3.5))
hist.hist(table["total_ms"], bins=15)
hist.set_xlabel("total ms (POST → result saved)")
hist.set_ylabel("requests")
ordered = table["total_ms"].sort_values().reset_index(drop=True)
cdf.plot(ordered, (ordered.index + 1) / len(ordered))
cdf.set_xlabel("total ms")
cdf.set_ylabel("share of requests")
cdf.grid(True)
plt.show()
"""
    ),
    md(
        """
Most requests finish within a few model calls of each other; the long tail on the
right is the queue (requests that arrived behind a full set of 4 runs) and the
retried ones (a 429 and its `Retry-After`).
"""
    ),
    md("## A timeline of runs, and queue wait against concurrency"),
    code(
        """
t0 = table["sent_at"].min()
fig, (timeline, wait) = plt.subplots(1, 2, figsize=(10, 3.5))
for row, r in enumerate(table.sort_values("run_start").itertuples()):
    timeline.barh(row, r.run_end - r.run_start, left=r.run_start - t0, color="C1" if r.attempts > 1 else "C0")
timeline.set_xlabel("seconds since the first POST (orange: retried)")
timeline.set_ylabel("run")
in_flight = [
    ((table["run_start"] <= r.received_at) & (table["run_end"] > r.received_at)).sum() for r in table.itertuples()
]
wait.scatter(in_flight, table["queue_wait_ms"])
wait.set_xlabel("runs in flight when the engine received the event")
wait.set_ylabel("queue wait ms")
plt.show()
"""
    ),
    md(
        """
On the left, runs start in waves of at most 4 (the concurrency limit) and the
orange ones were retried. On the right, the queue wait is near zero while fewer
than 4 runs are in flight, and grows once all 4 slots are taken: a request then
waits for earlier ones to finish.
"""
    ),
    md(
        """
## Polling or long-polling?

The same kind of request read two ways: polling every 100 ms, and one
long-poll. Count the GET requests each needs for one result.
"""
    ),
    code(
        """
def polls_needed(request_id: str) -> int:
    count = 0
    while True:
        count += 1
        if httpx.get(f"{stack.backend_url}/api/v1/chat/result/{request_id}").json()["status"] != "pending":
            return count
        time.sleep(0.1)


def long_polls_needed(request_id: str) -> int:
    count = 0
    while True:
        count += 1
        reply = httpx.get(f"{stack.backend_url}/api/v1/chat/result/{request_id}", params={"wait": 10}, timeout=15)
        if reply.json()["status"] != "pending":
            return count


n = 3 if SMALL else 10
polling = [polls_needed(kit.send(f"poll {i}")["request_id"]) for i in range(n)]
long_polling = [long_polls_needed(kit.send(f"long-poll {i}")["request_id"]) for i in range(n)]
comparison = pd.DataFrame({"polling (100 ms)": polling, "long-poll (wait=10)": long_polling})
comparison.describe().loc[["mean", "max"]]
"""
    ),
    code(
        """
assert max(long_polling) == 1 and sum(polling) >= sum(long_polling)
"long-poll: one request per result"
""",
        check=True,
    ),
    md(
        """
## Read a previous run

Each run saves its table as a CSV under `notebooks/output/` (git-ignored). This
section reads the newest one an earlier run wrote (or this run's, the first
time) and sets it beside this run; it needs no stack, so after the first cell
it can be run on its own to study a saved run.
"""
    ),
    code(
        """
saved = sorted(OUTPUT.glob("results-*.csv"))
previous_file = ([f for f in saved if f != CSV] or [CSV])[-1]
previous = pd.read_csv(previous_file)
print(f"read {previous_file.name}: {len(previous)} requests")
pd.DataFrame({"this run": table["total_ms"].describe(), previous_file.name: previous["total_ms"].describe()}).round(1)
"""
    ),
    code(
        """
# A saved table has the same columns as a fresh one.
assert list(previous.columns) == list(table.columns)
"same columns"
""",
        check=True,
    ),
    code(
        """
kit.down()
stack.running
""",
        check=True,
    ),
]


def write(path: Path, cells: list[nbformat.NotebookNode]) -> None:
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    nbformat.write(notebook, path)


def main() -> int:
    write(NOTEBOOKS / "learning.ipynb", LEARNING)
    write(NOTEBOOKS / "results.ipynb", RESULTS)
    # Cells are formatted like the rest of the code, so `ruff format --check` passes on them.
    ruff = Path(sys.executable).with_name("ruff")
    subprocess.run([str(ruff), "format", "-q", str(NOTEBOOKS)], check=True)
    print("wrote", NOTEBOOKS / "learning.ipynb", NOTEBOOKS / "results.ipynb")
    return 0


if __name__ == "__main__":
    sys.exit(main())
