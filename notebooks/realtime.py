# %% [markdown]
# # Realtime: stream from a function to a browser
#
# A run's result waits in the store until someone asks for it. Sometimes the page wants
# to see the work **while it happens**: "searching…", "3 of 10 done", an answer word by
# word. Inngest's **Realtime** does that: the function *publishes* messages to a
# **channel** (any name: a user, a document, a run) under a **topic** (a kind of message
# in it), and a page *subscribes* to the channel's topics it holds a **token** for.
#
# | Lesson | The idea | The SDK call |
# | --- | --- | --- |
# | 1 | A function publishes, a subscriber sees each message live, in order | `realtime.publish` |
# | 2 | A token names its topics and lasts a minute | `realtime.get_subscription_token` |
# | 3 | The chat answer streamed through Realtime (no Redis of one's own) | `STREAM_CHANNEL=realtime` |
#
# The Inngest server serves Realtime (`POST /v1/realtime/publish`, `POST
# /v1/realtime/token` and the socket `/v1/realtime/connect`); the kit's engine serves
# them as the Dev Server does, so this code runs unchanged on the Dev Server and on
# Inngest Cloud. In a browser the subscriber is the npm package `@inngest/realtime`;
# here `kit.subscribe(token)` opens the same socket from Python.

# %%
import inngest
from inngest.experimental import realtime

from learninngest import kit

stack = kit.up(
    engine_db="memory",
    result_store_url="memory://",
    stream_channel="realtime",  # lesson 3: the backend's token stream goes through Realtime
    offline_latency_mean_ms=800,
    offline_latency_spread_ms=0,
    log_level="ERROR",
)
stack

# %% [markdown]
# ## 1. Publish from a function, subscribe from a page
#
# An import of a few files: each file is a step, and after each one the function
# publishes where it is to the channel `import:<user>`, topic `progress`; at the end a
# `done` message on the topic `status`. Publishing is a plain HTTP call to the Inngest
# server, so it goes **inside a step** (like any call with an effect): a retried run does
# not publish the steps that already ran a second time.


# %%
@stack.function(fn_id="import-files", trigger=inngest.TriggerEvent(event="demo/import.requested"))
async def import_files(ctx: inngest.Context) -> int:
    user, files = ctx.event.data["user"], ctx.event.data["files"]
    channel = f"import:{user}"

    async def import_one(name: str, number: int) -> int:
        rows = len(name) * 10  # stands in for the real work
        progress = {"file": name, "done": number, "of": len(files)}
        await realtime.publish(stack.client, channel, "progress", progress)
        return rows

    for number, name in enumerate(files, 1):
        await ctx.step.run(f"import-{name}", import_one, name, number)
    done = {"state": "done", "files": len(files)}
    await ctx.step.run("announce", realtime.publish, stack.client, channel, "status", done)
    return len(files)


# %% [markdown]
# The page needs a token first. Your backend makes it (with the signing key, on the
# server: never in the browser) for exactly the topics this user may see, and hands it to
# the page; with `@inngest/realtime` the page then does
# `for await (const message of await subscribe(token)) ...`. Here:

# %%
token = realtime.get_subscription_token_sync(stack.client, "import:ana", ["progress", "status"])
print({**token, "key": token["key"][:24] + "…"})  # the key is a JWT signed by the Inngest server
page = kit.subscribe(token)

files = ["orders.csv", "customers.csv", "invoices.csv"]
event_id = stack.client.send_sync(
    inngest.Event(name="demo/import.requested", data={"user": "ana", "files": files})
)[0]
for message in page.wait(len(files) + 1):
    print(f"{message['topic']:>8}: {message['data']}")

# %%
# NBVAL_CHECK_OUTPUT
run = kit.wait_for_run(event_id, import_files)
got = page.messages
assert [m["topic"] for m in got] == ["progress"] * 3 + ["status"]
assert [m["data"]["done"] for m in got[:3]] == [1, 2, 3]  # in the order they were published
assert run["status"] == "Completed" and got[-1]["data"] == {"state": "done", "files": 3}
[(m["kind"], m["channel"], m["topic"]) for m in got]

# %% [markdown]
# Realtime keeps nothing: a message published while nobody listens is gone, and a page
# that subscribes late sees only what comes after. That is why the run's **result** still
# comes from the run (or, in the backend, from the store): Realtime is the live view.

# %%
page.close()

# %% [markdown]
# ## 2. A token names its topics and lasts a minute
#
# Bob's page holds a token for his own channel; Ana's page one for her `status` topic
# only. A new import for Ana: her `status` page hears the end, not the progress; Bob's page
# hears nothing of it. The server filters, not the page.

# %%
bob = kit.subscribe(realtime.get_subscription_token_sync(stack.client, "import:bob", ["progress", "status"]))
ana_status = kit.subscribe(realtime.get_subscription_token_sync(stack.client, "import:ana", ["status"]))

second = stack.client.send_sync(
    inngest.Event(name="demo/import.requested", data={"user": "ana", "files": ["a.csv", "b.csv"]})
)[0]
kit.wait_for_run(second, import_files)
print("ana's status page:", [m["data"] for m in ana_status.wait(1)])
print("bob's page:", bob.messages)

# %%
# NBVAL_CHECK_OUTPUT
assert [m["topic"] for m in ana_status.messages] == ["status"] and bob.messages == []
bob.close()
ana_status.close()
len(ana_status.messages), len(bob.messages)

# %% [markdown]
# A token is a JWT the server signed; it names the topics and expires **one minute** after
# it was made (the page asks the backend for a fresh one when it reconnects). The kit's
# engine can move its clock on instead of waiting a minute:

# %%
stale = realtime.get_subscription_token_sync(stack.client, "import:ana", ["progress"])
kit.advance_clock(61 / stack.settings.engine_time_scale)  # virtual seconds: 61 real ones
try:
    kit.subscribe(stale)
    refused = None
except kit.SubscribeRefused as error:
    refused = error
print("refused:", refused)

# %%
# NBVAL_CHECK_OUTPUT
assert refused is not None and refused.status == 401 and "expired" in refused.reason
refused.status

# %% [markdown]
# ## 3. The chat answer, streamed through Realtime
#
# `learning.ipynb` streamed the answer token by token through a **channel** of the
# backend: in-process, or Redis when several backend processes share the work. With
# `STREAM_CHANNEL=realtime` (set in the first cell) the worker publishes the tokens to
# Realtime instead, in batches (one message per 50 ms of tokens), and every backend process
# subscribes to the channel `learninngest-chat`: a client of any process sees a run
# another executes, with no Redis of one's own; on Inngest Cloud that is the whole setup.
# The code that publishes:

# %%
from learninngest.stream import realtime as realtime_channel  # noqa: E402

kit.show(realtime_channel.RealtimeChannel._flush, mark=["/v1/realtime/publish"])

# %% [markdown]
# A page listening to the backend's channel beside the usual `/stream` of the request:

# %%
raw = kit.subscribe(realtime.get_subscription_token_sync(stack.client, "learninngest-chat", ["chat"]))
request_id = kit.send("What is the capital of France?", clean=False)["request_id"]
streamed = list(kit.stream_events(request_id))
answer = kit.wait_for_result(request_id)
# The backend's messages on the channel, up to the one that carries this request's `done`.
mine = raw.wait_until(
    lambda m: m["data"]["request_id"] == request_id and m["data"]["events"][-1]["type"] == "done"
)
batches = [m["data"]["events"] for m in mine if m["data"]["request_id"] == request_id]
tokens = [e for batch in batches for e in batch if e["type"] == "token"]
print(
    f"/stream gave {sum(m.event == 'token' for m in streamed)} tokens; Realtime carried them in {sum(1 for b in batches if any(e['type'] == 'token' for e in b))} messages"
)
print("answer:", answer["content"])

# %%
# NBVAL_CHECK_OUTPUT
assert (
    "".join(e["data"]["text"] for e in tokens)
    == answer["content"]
    == "".join(m.data["text"] for m in streamed if m.event == "token")
)
assert streamed[-1].event == "done" and "Paris" in answer["content"]
raw.close()
streamed[-1].event

# %% [markdown]
# ## Stop the stack

# %%
# NBVAL_CHECK_OUTPUT
kit.down()
stack.running
