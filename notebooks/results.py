# %% [markdown]
# # Measuring the background pattern
#
# This notebook sends a batch of chat requests through the whole stack and
# measures, per request: the enqueue time (the POST), the queue wait (event
# received → run started), the model time (the `generate` step), the total, the
# attempts and the tokens. It then plots them and compares polling with
# long-polling. Set `LEARNINNGEST_SMALL=1` for a quick run (CI does);
# `RESULTS_BATCH` sets the batch size.

# %%
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

# %%
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

# %% [markdown]
# ## Send the batch
#
# All requests are enqueued at once from a few client threads (a `tqdm` bar
# counts them), then each result is long-polled. One in ten model calls answers
# 429 (`offline_fault_rate_429=0.1`), so some requests need a second attempt.

# %%
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


# %% [markdown]
# ## One row per request
#
# The queue wait (the engine received the event → the run's first call) and the model
# time (the `generate` step) come from the engine: its events and the run's step timeline.


# %%
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
    rows.append(
        {
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
        }
    )
table = pd.DataFrame(rows)
table.to_csv(CSV, index=False)
table.head()

# %%
table[["enqueue_ms", "queue_wait_ms", "model_ms", "total_ms", "attempts", "tokens"]].describe().round(1)

# %%
# NBVAL_CHECK_OUTPUT
# One row per answered request, each with at least one attempt and a token count.
assert len(table) == BATCH - len(errors) and (table["attempts"] >= 1).all() and (table["tokens"] > 0).all()
sorted(table.columns)

# %% [markdown]
# How to read the summary: `enqueue_ms` is the POST alone (the event is stored,
# the model is not called yet), and includes this kernel's own client threads
# competing with the in-kernel stack; `queue_wait_ms` is time spent waiting for one
# of `chat_worker`'s 4 concurrency slots (`WORKER_CONCURRENCY`), which grows when
# the whole batch arrives at once; `model_ms` is the `generate` step; `total_ms`
# runs from the POST to the saved result.

# %% [markdown]
# ## Latency: histogram and CDF

# %%
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

# %% [markdown]
# Most requests finish within a few model calls of each other; the long tail on the
# right is the queue (requests that arrived behind a full set of 4 runs) and the
# retried ones (a 429 and its `Retry-After`).

# %% [markdown]
# ## A timeline of runs, and queue wait against concurrency

# %%
t0 = table["sent_at"].min()
fig, (timeline, wait) = plt.subplots(1, 2, figsize=(10, 3.5))
for row, r in enumerate(table.sort_values("run_start").itertuples()):
    timeline.barh(row, r.run_end - r.run_start, left=r.run_start - t0, color="C1" if r.attempts > 1 else "C0")
timeline.set_xlabel("seconds since the first POST (orange: retried)")
timeline.set_ylabel("run")
in_flight = [
    ((table["run_start"] <= r.received_at) & (table["run_end"] > r.received_at)).sum()
    for r in table.itertuples()
]
wait.scatter(in_flight, table["queue_wait_ms"])
wait.set_xlabel("runs in flight when the engine received the event")
wait.set_ylabel("queue wait ms")
plt.show()


# %% [markdown]
# On the left, runs start in waves of at most 4 (the concurrency limit) and the
# orange ones were retried. On the right, the queue wait is near zero while fewer
# than 4 runs are in flight, and grows once all 4 slots are taken: a request then
# waits for earlier ones to finish.

# %% [markdown]
# ## Polling or long-polling?
#
# The same kind of request read two ways: polling every 100 ms, and one
# long-poll. Count the GET requests each needs for one result.


# %%
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
        reply = httpx.get(
            f"{stack.backend_url}/api/v1/chat/result/{request_id}", params={"wait": 10}, timeout=15
        )
        if reply.json()["status"] != "pending":
            return count


n = 3 if SMALL else 10
polling = [polls_needed(kit.send(f"poll {i}")["request_id"]) for i in range(n)]
long_polling = [long_polls_needed(kit.send(f"long-poll {i}")["request_id"]) for i in range(n)]
comparison = pd.DataFrame({"polling (100 ms)": polling, "long-poll (wait=10)": long_polling})
comparison.describe().loc[["mean", "max"]]

# %%
# NBVAL_CHECK_OUTPUT
assert max(long_polling) == 1 and sum(polling) >= sum(long_polling)
"long-poll: one request per result"

# %% [markdown]
# ## Read a previous run
#
# Each run saves its table as a CSV under `notebooks/output/` (git-ignored). This
# section reads the newest one an earlier run wrote (or this run's, the first
# time) and sets it beside this run; it needs no stack, so after the first cell
# it can be run on its own to study a saved run.

# %%
saved = sorted(OUTPUT.glob("results-*.csv"))
previous_file = ([f for f in saved if f != CSV] or [CSV])[-1]
previous = pd.read_csv(previous_file)
print(f"read {previous_file.name}: {len(previous)} requests")
pd.DataFrame(
    {"this run": table["total_ms"].describe(), previous_file.name: previous["total_ms"].describe()}
).round(1)

# %%
# NBVAL_CHECK_OUTPUT
# A saved table has the same columns as a fresh one.
assert list(previous.columns) == list(table.columns)
"same columns"

# %%
# NBVAL_CHECK_OUTPUT
kit.down()
stack.running
