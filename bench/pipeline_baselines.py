"""The baselines of bench/pipeline.py: the same API shape, the same LangChain call, other plumbing.

Each serves `POST /api/v1/chat` (202, `result_url`) and `GET /api/v1/chat/result/{id}?wait=S`
like the backend, and makes the same LLM call as the backend with LLM_STREAM=false: ChatOpenAI
(built from the same settings by `learninngest.llm.provider.build_chat_model`, the backend's
request defaults) to the offline model given by OFFLINE_MODEL_URL, the same messages, `user` =
request id. Each is written the way its own users write it: ONE chat model per process, built at
import and shared by every call (as LangChain's docs and the Celery/arq guides do), not one per call:

- inline: the POST handler awaits `llm.ainvoke` itself, then answers (the result is ready at once);
- background: FastAPI BackgroundTasks run `llm.ainvoke` after the 202;
- celery-api / celery-worker: the POST queues a Celery task (Redis broker and results); the
  thread-pool worker calls the sync `llm.invoke` (no event loop per task);
- arq-api / arq-worker: the POST queues an arq job (Redis); the worker awaits `llm.ainvoke` on
  arq's own loop.

A GET on a Redis-backed result re-reads it every 10 ms until done or `wait` is over.
Usage (bench/pipeline.py starts these): python bench/pipeline_baselines.py KIND --port P
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
import uuid
from typing import Any

import uvicorn
from fastapi import BackgroundTasks, FastAPI
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from learninngest.api.schemas import ChatRequest as BackendChatRequest
from learninngest.config import get_settings
from learninngest.llm.cleaning import clean_text
from learninngest.llm.complete import CLEAN_SYSTEM_PROMPT
from learninngest.llm.provider import build_chat_model

POLL_S = 0.01
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
DEFAULTS = BackendChatRequest(query="-")  # the backend's request defaults, so the call is the same

# One shared model per process, as users write it (bench/pipeline.py posts the defaults only).
llm = build_chat_model(get_settings(), temperature=DEFAULTS.temperature, max_tokens=DEFAULTS.max_tokens)


class ChatRequest(BaseModel):
    query: str
    clean: bool = DEFAULTS.clean


def _messages(body: dict[str, Any]) -> list[BaseMessage]:
    messages: list[BaseMessage] = [HumanMessage(body["query"])]
    if body["clean"]:
        messages.insert(0, SystemMessage(CLEAN_SYSTEM_PROMPT))
    return messages


def _result(message: BaseMessage, body: dict[str, Any]) -> dict[str, Any]:
    text = str(message.content)
    return {
        "status": "done",
        "content": clean_text(text) if body["clean"] else text,
        "model": message.response_metadata.get("model_name"),
    }


async def call_model(body: dict[str, Any], request_id: str) -> dict[str, Any]:
    return _result(await llm.ainvoke(_messages(body), user=request_id), body)


def call_model_sync(body: dict[str, Any], request_id: str) -> dict[str, Any]:
    return _result(llm.invoke(_messages(body), user=request_id), body)


def _accepted(request_id: str) -> dict[str, Any]:
    return {"request_id": request_id, "result_url": f"/api/v1/chat/result/{request_id}"}


def local_app(*, background: bool) -> FastAPI:
    """inline or BackgroundTasks: results in a dict of this process."""
    app = FastAPI()
    results: dict[str, dict[str, Any]] = {}
    done: dict[str, asyncio.Event] = {}

    async def run(body: dict[str, Any], request_id: str) -> None:
        results[request_id] = await call_model(body, request_id)
        done[request_id].set()

    @app.post("/api/v1/chat", status_code=202)
    async def chat(body: ChatRequest, tasks: BackgroundTasks) -> dict[str, Any]:
        request_id = uuid.uuid4().hex
        done[request_id] = asyncio.Event()
        if background:
            tasks.add_task(run, body.model_dump(), request_id)
        else:
            await run(body.model_dump(), request_id)
        return _accepted(request_id)

    @app.get("/api/v1/chat/result/{request_id}")
    async def result(request_id: str, wait: float = 0) -> dict[str, Any]:
        event = done.get(request_id)
        if event is not None and wait:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), wait)
        return results.pop(request_id, {"status": "pending"}) | {"request_id": request_id}

    return app


# --- Celery
def celery_app() -> Any:
    from celery import Celery

    app = Celery("bench", broker=REDIS_URL, backend=REDIS_URL)
    app.conf.update(task_ignore_result=False, worker_hijack_root_logger=False, result_expires=600)

    @app.task(name="bench.chat")
    def chat(body: dict[str, Any], request_id: str) -> dict[str, Any]:
        # A thread-pool worker runs sync tasks: the sync call on the shared model.
        return call_model_sync(body, request_id)

    return app


def celery_api() -> FastAPI:
    from celery.result import AsyncResult

    capp = celery_app()
    app = FastAPI()

    @app.post("/api/v1/chat", status_code=202)
    async def chat(body: ChatRequest) -> dict[str, Any]:
        request_id = uuid.uuid4().hex
        # apply_async blocks on the broker round trip: off the loop, as a Celery user would.
        await asyncio.to_thread(
            capp.send_task, "bench.chat", args=[body.model_dump(), request_id], task_id=request_id
        )
        return _accepted(request_id)

    @app.get("/api/v1/chat/result/{request_id}")
    async def result(request_id: str, wait: float = 0) -> dict[str, Any]:
        deadline = time.monotonic() + wait
        handle = AsyncResult(request_id, app=capp)
        while True:
            if await asyncio.to_thread(handle.ready):
                return await asyncio.to_thread(handle.get, timeout=1) | {"request_id": request_id}
            if time.monotonic() >= deadline:
                return {"status": "pending", "request_id": request_id}
            await asyncio.sleep(POLL_S)

    return app


# --- arq
async def arq_chat(_ctx: dict[str, Any], body: dict[str, Any], request_id: str) -> dict[str, Any]:
    return await call_model(body, request_id)


def arq_settings() -> Any:
    from arq.connections import RedisSettings

    class WorkerSettings:
        functions = [arq_chat]
        redis_settings = RedisSettings.from_dsn(REDIS_URL)
        max_jobs = 64
        poll_delay = POLL_S
        keep_result = 600

    return WorkerSettings


def arq_api() -> FastAPI:
    from contextlib import asynccontextmanager

    from arq import create_pool
    from arq.jobs import Job, JobStatus

    pool: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # noqa: ANN202
        pool["redis"] = await create_pool(arq_settings().redis_settings)
        yield
        await pool["redis"].aclose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/api/v1/chat", status_code=202)
    async def chat(body: ChatRequest) -> dict[str, Any]:
        request_id = uuid.uuid4().hex
        await pool["redis"].enqueue_job("arq_chat", body.model_dump(), request_id, _job_id=request_id)
        return _accepted(request_id)

    @app.get("/api/v1/chat/result/{request_id}")
    async def result(request_id: str, wait: float = 0) -> dict[str, Any]:
        deadline = time.monotonic() + wait
        job = Job(request_id, pool["redis"])
        while True:
            if await job.status() == JobStatus.complete:
                return await job.result(timeout=1) | {"request_id": request_id}
            if time.monotonic() >= deadline:
                return {"status": "pending", "request_id": request_id}
            await asyncio.sleep(POLL_S)

    return app


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "kind", choices=["inline", "background", "celery-api", "celery-worker", "arq-api", "arq-worker"]
    )
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if args.kind == "celery-worker":
        celery_app().worker_main(["worker", "-P", "threads", "-c", "64", "--loglevel", "WARNING"])
        return 0
    if args.kind == "arq-worker":
        from arq.worker import run_worker

        run_worker(arq_settings())
        return 0
    apps = {
        "inline": lambda: local_app(background=False),
        "background": lambda: local_app(background=True),
        "celery-api": celery_api,
        "arq-api": arq_api,
    }
    uvicorn.run(apps[args.kind](), host="127.0.0.1", port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
