# %% [markdown]
# # Connect workers: your functions with no inbound port
#
# So far Inngest *called* the backend: every step was an HTTP request from the Inngest
# server to the app's `/api/inngest`. That needs the app to be reachable from the
# server: a public URL, a port open to it. A **connect worker** turns this around: the
# app dials out to the server over a WebSocket and keeps it open, and the server sends
# the calls down that socket. Nothing reaches into the app; it works behind a NAT or a
# firewall that lets nothing in.
#
# | | `serve` (HTTP) | `connect` (WebSocket) |
# | --- | --- | --- |
# | who opens the connection | the Inngest server, once per call | the app, once, and keeps it |
# | what the app exposes | `/api/inngest` on a reachable URL | nothing |
# | how the app is synced | the server PUTs its URL | the worker's handshake carries its functions |
# | the Inngest code | `inngest.fast_api.serve(app, client, functions)` | `inngest.connect.connect([(client, functions)])` |
# | a worker dies mid-call | the HTTP call fails, the step is retried | its lease runs out, the step is retried on another worker |
#
# | Lesson | What it shows |
# | --- | --- |
# | 1 | The Inngest code: the backend's own connect worker |
# | 2 | The stack started with `inngest_connect=True`: the engine knows a socket, no URL |
# | 3 | A chat request answered through the socket |
# | 4 | A worker killed mid-call: another one finishes the call |
#
# The engine's clock runs 100x faster (`engine_time_scale=0.01`), so a retry's backoff
# passes in a blink; its connect lease is 4 s instead of the server's 2 minutes
# (`engine_connect_lease_s=4`), so lesson 4 does not wait long for a dead worker.

# %%
import httpx

from learninngest import kit
from learninngest.kit import connect_demo
from learninngest.worker.connect_worker import ConnectWorker

stack = kit.up(
    inngest_connect=True,
    engine_time_scale=0.01,
    engine_connect_lease_s=4,
    engine_db="memory",
    result_store_url="memory://",
    offline_latency_mean_ms=300,
    offline_latency_spread_ms=0,
    log_level="ERROR",
)
stack

# %% [markdown]
# ## 1. The Inngest code: `inngest.connect.connect`
#
# With `INNGEST_CONNECT=1` (here `kit.up(inngest_connect=True)`) the backend starts this
# worker in its lifespan, for the same client and functions it would serve over HTTP.
# `connect(...)` takes a list of `(client, functions)`; `start()` dials the server,
# sends the functions in its handshake (that is the sync), then waits for calls.

# %%
kit.show(ConnectWorker.start, mark=("connect(", "self._conn.start()"))

# %% [markdown]
# ## 2. The engine knows a socket, not a URL
#
# An app synced over HTTP is listed with the URL the server calls. A connect worker's
# app has no URL to call: the engine lists it as `ws://connect?app_name=…`. The
# engine's `GET /v0/connect/envs/{env}/conns` (the Dev Server's route) lists the live
# connections: the worker's instance, the apps it serves, its SDK, and its status
# (0 connected, 1 ready, 2 draining).

# %%
apps = httpx.get(f"{stack.inngest_url}/v1/apps").json()["data"]["apps"]
conns = httpx.get(f"{stack.inngest_url}/v0/connect/envs/dev/conns").json()["data"]
for app in apps:
    print(f"app {app['app_id']}: url {app['url']}, {len(app['functions'])} functions")
for conn in conns:
    served = ", ".join(conn["all_worker_groups"])
    print(
        f"connection {conn['instance_id']}: serves {served}, {conn['sdk_language']}, status {conn['status']}"
    )

# %%
# NBVAL_CHECK_OUTPUT
assert [a["url"] for a in apps] == ["ws://connect?app_name=learninngest"]
assert [(list(c["all_worker_groups"]), c["status"]) for c in conns] == [(["learninngest"], 1)]
{"app urls": [a["url"] for a in apps], "connections": len(conns)}

# %% [markdown]
# ## 3. A chat request answered through the socket
#
# Nothing changes for the client: `POST /api/v1/chat`, then `GET` the result. Behind
# it, the engine sends each step of `chat_worker` (`generate`, then `save`) down the
# worker's socket instead of POSTing to `/api/inngest`, and the worker sends the step's
# result back up the same socket.

# %%
accepted = kit.send("What is the capital of France?")
result = kit.wait_for_result(accepted["request_id"], timeout=30)
(chat_run,) = kit.runs_of(accepted["request_id"])
print(result["status"], "→", result["content"])
kit.print_run(chat_run)

# %%
# NBVAL_CHECK_OUTPUT
steps = [(s["name"], s["status"]) for s in kit.steps_of(chat_run["run_id"]) if s["op"] == "StepRun"]
assert result["status"] == "done" and "Paris" in result["content"]
assert steps == [("generate", "Completed"), ("save", "Completed")]
result["status"], steps

# %% [markdown]
# ## 4. A worker killed mid-call: another one finishes the call
#
# Two workers serve the same app, `connect-demo`. Its function builds a report in a
# step; the first worker, `doomed`, runs in a process of its own and hangs in that step.
# We kill it (SIGKILL: no goodbye on its socket) while it holds the call, with a second
# worker, `spare`, connected. The engine gave `doomed` the call with a **lease** that
# the worker must keep extending while it works; a dead worker stops extending it, so
# once the lease has run out (4 s here) the attempt fails
# (`ConnectWorkerStoppedResponding`) and the step is retried like any failed step, on
# a worker that is alive. The workers' code:

# %%
kit.show(connect_demo.make_functions)

# %%
doomed = connect_demo.WorkerProcess(stack.inngest_url, "doomed", hang=True)
doomed.wait_ready()  # connected, and connect-demo synced through its handshake
(event_id,) = kit.send_event("demo/report.requested", {"n": 1})
print(doomed.wait_for_line("building report 1"))  # the call is in doomed's hands
with connect_demo.in_thread(stack.inngest_url, "spare"):
    doomed.kill()
    report = kit.wait_for_run(event_id, status=("Completed", "Failed"), timeout=60)
kit.print_run(report)
timeline = kit.steps_of(report["run_id"])
lost = [s for s in timeline if s["status"] == "Retrying"]  # the call doomed took with it
built = [(s["attempt"], s["status"]) for s in timeline if s["name"] == "build"]
for row in lost:
    print(f"attempt {row['attempt']} lost: {row['error']['name']}: {row['error']['message']}")

# %% [markdown]
# The timeline has no `build` row for attempt 0: the step never finished, so all the
# engine knows is that the call failed (the `function` row, `Retrying`, with the reason).
# Attempt 1 ran `build` on `spare` (its printed line above), and the run completed.

# %%
# NBVAL_CHECK_OUTPUT
assert report["status"] == "Completed" and report["output"] == "report 1 built by spare"
assert [(s["attempt"], s["error"]["name"]) for s in lost] == [(0, "ConnectWorkerStoppedResponding")]
assert built == [(1, "Completed")]
report["output"], built

# %% [markdown]
# ## Stop the stack
#
# `kit.down()` stops the backend (its connect worker says goodbye on its socket and
# finishes the calls in its hands) and the engine.

# %%
kit.down()
