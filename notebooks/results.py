# %% [markdown]
# # Measuring the background pattern
#
# This notebook sends a batch of chat requests through the whole stack and
# measures, per request: the enqueue time (the POST), the queue wait (event
# received → the run's first step), the model time (the `generate` step), the
# total, the attempts and the tokens. It plots them, checks the answers, checks the
# concurrency limit against the runs' timelines, and compares polling with
# long-polling. The sentences under the figures are printed from the data, so they
# hold for whatever this run measured. Set `LEARNINNGEST_SMALL=1` for a quick run
# (CI does); `RESULTS_BATCH` sets the batch size.

# %%
import os
import time
from pathlib import Path

import httpx
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display
from matplotlib.patches import Patch
from tqdm import tqdm

from learninngest import kit

SMALL = os.environ.get("LEARNINNGEST_SMALL", "") not in ("", "0")
BATCH = int(os.environ.get("RESULTS_BATCH", 12 if SMALL else 40))
OUTPUT = Path("output")
OUTPUT.mkdir(exist_ok=True)
CSV = OUTPUT / f"results-{time.strftime('%Y%m%d-%H%M%S')}.csv"  # one file per run
print("batch size:", BATCH)

# %% [markdown]
# The model keeps `make run`'s latency (the offline model's defaults: a log-normal with
# a mean of 800 ms and a spread of 300 ms), and one call in ten answers 429. Results are
# kept in memory: the default SQLite file store syncs each write to disk, which adds
# the disk's sync time to every POST and is not what this notebook measures.

# %%
stack = kit.up(
    engine_time_scale=0.05,
    engine_db="memory",
    result_store_url="memory://",
    offline_fault_rate_429=0.1,
    log_level="ERROR",
)
MODEL_MEAN_MS = stack.settings.offline_latency_mean_ms
LIMIT = stack.settings.worker_concurrency  # chat_worker's concurrency limit
print(f"model latency: mean {MODEL_MEAN_MS:.0f} ms; chat_worker runs at most {LIMIT} steps at once")
stack

# %% [markdown]
# ## Send the batch
#
# One client sends the POSTs one after another, as fast as the backend answers them
# (a `tqdm` bar counts them); then each result is long-polled. `enqueue_ms` is the time
# of one POST. (Sending from several client threads at once would make each POST also
# wait for the others the backend is answering: that measures this notebook's
# threads, not the enqueue.) The questions cycle through six capitals, so each answer
# can be checked.

# %%
CAPITALS = {"France": "Paris", "Germany": "Berlin", "Japan": "Tokyo", "Italy": "Rome", "Spain": "Madrid"}
CAPITALS |= {"Canada": "Ottawa"}
countries = [list(CAPITALS)[n % len(CAPITALS)] for n in range(BATCH)]
questions = [f"What is the capital of {country}? (question {n})" for n, country in enumerate(countries)]

sent = []
with httpx.Client(base_url=stack.backend_url, timeout=30) as client:
    batch_start = time.time()
    for question in tqdm(questions, desc="enqueue", ncols=80):
        t0 = time.perf_counter()
        reply = client.post("/api/v1/chat", json={"query": question})
        enqueue_ms = (time.perf_counter() - t0) * 1000
        sent.append({"request_id": reply.json()["request_id"], "enqueue_ms": enqueue_ms})
    batch_s = time.time() - batch_start
finals = [kit.wait_for_result(s["request_id"], timeout=120) for s in sent]
assert all(f["status"] != "pending" for f in finals)  # every request ended: done, or error
errors = [f for f in finals if f["status"] == "error"]
print(f"{BATCH} POSTs in {batch_s:.2f} s; {len(finals) - len(errors)} done, {len(errors)} error(s)")
# A 429 four times in a row (about 1 request in 10,000 here) exhausts the retries: an honest error.


# %% [markdown]
# ## One row per request
#
# The queue wait and the model time come from the engine: the event's arrival, and the
# run's step timeline. A run is *in flight* from its first step's start to its end.


# %%
def when(text: str) -> pd.Timestamp:
    """An ISO time from the API as a UTC timestamp."""
    stamp = pd.Timestamp(text)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def ms(delta: pd.Timedelta) -> float:
    return delta.total_seconds() * 1000


rows, calls = [], []
for question, country, s, final in zip(questions, countries, sent, finals, strict=True):
    if final["status"] != "done":
        continue  # measured: the requests that produced an answer
    run = kit.runs_of(s["request_id"])[0]
    steps = kit.steps_of(run["run_id"])
    generate = [st for st in steps if st["name"] == "generate" and st["status"] == "Completed"][0]
    received = when(kit.event(run["event_id"])["received_at"])
    run_start = min(when(st["started_at"]) for st in steps)
    # Each call to the app (a step attempt, or the call that returns) holds a concurrency slot.
    calls += [
        (when(st["started_at"]), when(st["ended_at"]))
        for st in steps
        if st["op"] in ("StepRun", "RunComplete")
    ]
    rows.append(
        {
            "request_id": s["request_id"],
            "question": question,
            "expected": CAPITALS[country],
            "answer": final["content"],
            "received_at": received,
            "run_start": run_start,
            "run_end": when(run["ended_at"]),
            "enqueue_ms": s["enqueue_ms"],
            "queue_wait_ms": ms(run_start - received),
            "model_ms": generate["duration_ms"],
            "total_ms": ms(when(final["completed_at"]) - when(final["created_at"])),
            "attempts": final["attempts"],
            "tokens": final["usage"]["total_tokens"],
        }
    )
table = pd.DataFrame(rows)
table.to_csv(CSV, index=False)
MS = ["enqueue_ms", "queue_wait_ms", "model_ms", "total_ms"]
view = table[["received_at", *MS, "attempts", "tokens"]].copy()
view["received_at"] = view["received_at"].dt.strftime("%H:%M:%S.%f").str[:-3]  # UTC
view.round(0).astype({c: int for c in MS}).head()

# %%
table[[*MS, "attempts", "tokens"]].describe().round(0)

# %%
# NBVAL_CHECK_OUTPUT
# One row per answered request, each with at least one attempt and a token count.
assert len(table) == BATCH - len(errors) and (table["attempts"] >= 1).all() and (table["tokens"] > 0).all()
sorted(table.columns)

# %% [markdown]
# What the summary says, for this run:

# %%
median = table[MS].median()
print(
    f"A POST took {median['enqueue_ms']:.0f} ms (median): the backend recorded the request and "
    f"sent the event, then answered 202 without calling the model."
)
print(
    f"The model call (the generate step) took {median['model_ms']:.0f} ms (median; "
    f"{table['model_ms'].mean():.0f} ms mean against the model's configured {MODEL_MEAN_MS:.0f} ms): "
    f"{median['model_ms'] / median['enqueue_ms']:.0f}x the POST."
)
arriving = BATCH / batch_s  # requests per second
taken = LIMIT / (median["model_ms"] / 1000)  # about what LIMIT slots busy with model calls finish per second
print(
    f"From POST to saved result: {median['total_ms']:.0f} ms (median), of which {median['queue_wait_ms']:.0f} ms "
    f"waiting in the queue. The batch arrived at {arriving:.0f} requests/s; {LIMIT} slots each busy "
    f"{median['model_ms']:.0f} ms per call take about {taken:.1f}/s, "
    + ("so most requests waited for a slot." if arriving > taken else "so few had to wait for a slot.")
)
retried = table[table["attempts"] > 1]
print(f"{len(retried)} of {len(table)} answered requests needed more than one attempt (a 429, then a retry).")

# %% [markdown]
# ## The answers
#
# Fast is no use if the answers are wrong, or are another request's. Each request
# asked for one country's capital; its result must name that capital.

# %%
table["names_it"] = [exp in ans for exp, ans in zip(table["expected"], table["answer"], strict=True)]
print(f"{table['names_it'].sum()} of {len(table)} answers name the capital their question asked for")
table[["question", "answer", "expected", "names_it"]].head(6)

# %%
# NBVAL_CHECK_OUTPUT
assert table["names_it"].all(), table.loc[~table["names_it"], ["question", "answer"]]
"every answer names its question's capital"

# %% [markdown]
# ## Latency: histogram and CDF

# %%
fig, (hist, cdf) = plt.subplots(1, 2, figsize=(10, 3.5))
hist.hist(table["total_ms"], bins=15, label=f"{len(table)} answered requests")
hist.axvline(table["total_ms"].median(), color="C3", linestyle="--", label="median")
hist.set_xlabel("total ms (POST → result saved)")
hist.set_ylabel("requests")
hist.set_title("How long a request took, POST to saved result")
hist.legend(fontsize=8)
ordered = table["total_ms"].sort_values().reset_index(drop=True)
cdf.plot(ordered, (ordered.index + 1) / len(ordered), label="share finished within x ms")
cdf.set_xlabel("total ms")
cdf.set_ylabel("share of requests")
cdf.set_title("The same, cumulative")
cdf.grid(True)
cdf.legend(fontsize=8, loc="lower right")
plt.show()

# %%
fast, slow = table["total_ms"].quantile([0.1, 0.9])
print(f"The fastest tenth finished within {fast:.0f} ms, the slowest tenth after {slow:.0f} ms.")
print(
    f"Correlation of the total with the queue wait: {table['total_ms'].corr(table['queue_wait_ms']):.2f}; "
    f"with the model time: {table['total_ms'].corr(table['model_ms']):.2f} (the larger one is where the spread comes from)."
)

# %% [markdown]
# ## The concurrency limit, from the runs' timelines
#
# `chat_worker` has `concurrency=[Concurrency(limit=WORKER_CONCURRENCY)]` (4 unless
# set). The limit counts calls to the app that execute at the same time: a run holds a
# slot while its steps are being called, and gives it back while it waits out a
# `Retry-After` (or sleeps, or waits for an event). So more runs than the limit can be
# *in flight* (started, not ended), but never more step calls than the limit at once. Left: each run, queued (light)
# then in flight (dark; orange when retried). Middle: step calls and runs in flight
# over time. Right: each request's queue wait against the runs queued ahead of it when
# its event arrived.


# %%
def at_once(spans: list[tuple[pd.Timestamp, pd.Timestamp]]) -> pd.Series:
    """How many spans are open at each moment one opens or closes (closing first on ties)."""
    marks = sorted(
        [(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans], key=lambda m: (m[0], m[1])
    )
    return pd.Series([step for _, step in marks], index=[t for t, _ in marks]).cumsum()


t0 = table["received_at"].min()


def secs(stamps: pd.Series | pd.Index) -> pd.Series:
    return (pd.Series(stamps) - t0).dt.total_seconds()


executing = at_once(calls)
in_flight = at_once(list(zip(table["run_start"], table["run_end"], strict=True)))
table["queued_ahead"] = [
    ((table["received_at"] < r.received_at) & (table["run_start"] > r.received_at)).sum()
    for r in table.itertuples()
]

fig, (runs_ax, slots_ax, wait_ax) = plt.subplots(1, 3, figsize=(14, 3.8))
for row, r in enumerate(table.sort_values("received_at").itertuples()):
    start, end, received = secs([r.run_start, r.run_end, r.received_at])
    runs_ax.barh(row, start - received, left=received, color="0.85")
    runs_ax.barh(row, end - start, left=start, color="C1" if r.attempts > 1 else "C0")
runs_ax.set_xlabel("seconds since the first event")
runs_ax.set_ylabel("request, in arrival order")
runs_ax.invert_yaxis()  # the first request on top
runs_ax.set_title("Each run: queued, then in flight")
runs_ax.legend(
    handles=[
        Patch(color="0.85", label="queued"),
        Patch(color="C0", label="in flight"),
        Patch(color="C1", label="in flight, retried"),
    ],
    fontsize=8,
)
slots_ax.step(secs(executing.index), executing.values, where="post", label="step calls executing")
slots_ax.step(secs(in_flight.index), in_flight.values, where="post", label="runs in flight", alpha=0.6)
slots_ax.axhline(LIMIT, color="red", linestyle="--", label=f"limit {LIMIT}")
slots_ax.set_xlabel("seconds since the first event")
slots_ax.set_ylabel("at the same time")
slots_ax.set_title("Step calls and runs at once")
slots_ax.legend(fontsize=8)
wait_ax.scatter(table["queued_ahead"], table["queue_wait_ms"], label="a request")
wait_ax.set_xlabel("runs queued ahead when the event arrived")
wait_ax.set_ylabel("queue wait ms")
wait_ax.set_title("Queue wait against the queue ahead")
wait_ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
print(
    f"At most {executing.max()} step calls executed at once (limit {LIMIT}); at most {in_flight.max()} runs "
    f"were in flight at once."
)
bins = pd.cut(
    table["queued_ahead"].rename("runs queued ahead"),
    [-1, 0, LIMIT, 2 * LIMIT, float("inf")],
    labels=["none", f"1 to {LIMIT}", f"{LIMIT + 1} to {2 * LIMIT}", f"more than {2 * LIMIT}"],
)
waits = table.groupby(bins, observed=True)["queue_wait_ms"].agg(["count", "median"]).round(0)
waits.rename(columns={"count": "requests", "median": "median queue wait ms"})

# %%
# NBVAL_CHECK_OUTPUT
# The engine's promise: never more step calls at once than the limit.
assert executing.max() <= LIMIT, executing.max()
"step calls at once: within the limit"

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
# ## Time to the first word: polling, long-poll or a stream
#
# The same questions read three ways, one request after another, each timed from its
# POST: polling every 250 ms, one long-poll, and the Server-Sent Events stream
# (`GET /api/v1/chat/{id}/stream`, see lesson 3b of `learning.ipynb`). With polling
# and long-poll the first word arrives with the whole answer; the stream hands over
# each token as the model writes it. `bench/ttft.py` measures the same at scale.


# %%
def result_url(request_id: str) -> str:
    return f"{stack.backend_url}/api/v1/chat/result/{request_id}"


def timed(mode: str, question: str) -> dict:
    start = time.perf_counter()
    request_id = kit.send(question)["request_id"]
    first = None
    if mode == "stream":
        for message in kit.stream_events(request_id):
            if message.event == "token" and first is None:
                first = time.perf_counter()
    elif mode == "long-poll":
        while (
            httpx.get(result_url(request_id), params={"wait": 10}, timeout=15).json()["status"] == "pending"
        ):
            pass
    else:
        while httpx.get(result_url(request_id)).json()["status"] == "pending":
            time.sleep(0.25)
    total = time.perf_counter() - start
    first_ms = (total if first is None else first - start) * 1000
    return {"mode": mode, "first word ms": first_ms, "total ms": total * 1000}


MODES = ["polling (250 ms)", "long-poll", "stream"]
rounds = 2 if SMALL else 5
timings = pd.DataFrame(
    [
        timed(mode, f"What is the capital of {country}?")
        for country in list(CAPITALS)[:rounds]
        for mode in MODES
    ]
)
first_word = timings.groupby("mode")[["first word ms", "total ms"]].median().round(0).loc[MODES]
first_word

# %%
streamed = first_word.loc["stream"]
print(
    f"median of {rounds} rounds: the stream showed its first word after {streamed['first word ms']:.0f} ms, "
    f"its whole answer after {streamed['total ms']:.0f} ms; long-poll showed everything at once "
    f"after {first_word.loc['long-poll', 'total ms']:.0f} ms."
)

# %%
# NBVAL_CHECK_OUTPUT
# The stream showed text before the answer was complete (the `done` event comes last). A
# stream opened after an answer ended gets only its result (docs/api.md), its first word with
# the whole: on a very busy machine one round may be such a one, so the check is on the medians.
assert streamed["first word ms"] < streamed["total ms"]
"stream: the first word before the whole answer"

# %% [markdown]
# ## Read a previous run
#
# Each run saves its table as a CSV under `notebooks/output/` (git-ignored). This
# section reads the newest saved run (this one, when the notebook ran from the top) and
# sets it beside the one saved before it, if there is one. It needs no stack and no
# variable but the first cell's, so after the first cell it can be run on its own to
# study saved runs.

# %%
saved = sorted(OUTPUT.glob("results-*.csv"))  # the names sort by time
if not saved:
    print("No saved run yet: run the notebook from the top once (its 'One row per request' cell saves one).")
else:
    newest = pd.read_csv(saved[-1])
    same_layout = [f for f in saved[:-1] if list(pd.read_csv(f, nrows=0).columns) == list(newest.columns)]
    print(f"read {saved[-1].name}: {len(newest)} requests")
    if not same_layout:
        print("No earlier run to compare with (run the notebook again to compare two).")
    else:
        previous = pd.read_csv(same_layout[-1])
        print(f"read {same_layout[-1].name}: {len(previous)} requests")
        display(
            pd.DataFrame(
                {
                    saved[-1].name: newest["total_ms"].describe(),
                    same_layout[-1].name: previous["total_ms"].describe(),
                }
            ).round(0)
        )

# %%
# NBVAL_CHECK_OUTPUT
# A saved run reads back with what each row recorded.
assert saved, "no saved run"
assert {"request_id", "enqueue_ms", "queue_wait_ms", "model_ms", "total_ms", "attempts", "tokens"} <= set(
    newest.columns
)
"the saved run reads back"

# %% [markdown]
# ## Stop the stack

# %%
# NBVAL_CHECK_OUTPUT
kit.down()
stack.running
