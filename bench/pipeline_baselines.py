"""The baselines of bench/pipeline.py: the same API shape, the same LangChain call, other plumbing.

Each serves `POST /api/v1/chat` (202, `result_url`) and `GET /api/v1/chat/result/{id}?wait=S`
like the backend, and makes the same LLM call (`learninngest.llm.complete`: ChatOpenAI to the
offline model given by OFFLINE_MODEL_URL):

- inline: the POST handler awaits the call itself, then answers (the result is ready at once);
- background: FastAPI BackgroundTasks run the call after the 202;
- celery-api / celery-worker: the POST queues a Celery task (Redis broker and results);
- arq-api / arq-worker: the POST queues an arq job (Redis), the worker awaits the call.

A GET on a Redis-backed result re-reads it every 10 ms until done or `wait` is over.
Usage (bench/pipeline.py starts these): python bench/pipeline_baselines.py KIND --port P
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import sys
import time
import uuid
from typing import Any

import uvicorn
from fastapi import BackgroundTasks, FastAPI
from pydantic import BaseModel

from learninngest.config import get_settings
from learninngest.llm.complete import complete

POLL_S = 0.01
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


settings = functools.cache(get_settings)  # built once, as the backend does


class ChatRequest(BaseModel):
    query: str
    temperature: float = 0.7
    max_tokens: int = 256
    clean: bool = False


async def call_model(body: dict[str, Any], request_id: str) -> dict[str, Any]:
    completion = await complete(
        settings(),
        query=body["query"],
        temperature=body["temperature"],
        max_tokens=body["max_tokens"],
        clean=body["clean"],
        user=request_id,
    )
    return {"status": "done", "content": completion.text, "model": completion.model}


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
        # A thread-pool worker runs sync tasks: one event loop per call (what asyncio.run does).
        return asyncio.run(call_model(body, request_id))

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
