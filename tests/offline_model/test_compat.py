"""The offline model as its clients see it: LangChain's ChatOpenAI, a mount, the CLI."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import httpx
import openai
import pytest
from fastapi import FastAPI
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from learninngest.config import OFFLINE_MODEL_NAME, Settings
from learninngest.kit.servers import BackgroundServer, free_port
from learninngest.offline_model.app import OfflineModelConfig, create_offline_model_app
from tests.support import wait_for


def ask(base_url: str, prompt: object, *, user: str | None = None, **kwargs: object) -> AIMessage:
    """ChatOpenAI(...).ainvoke(prompt) against `base_url`, as the backend's llm/ does it."""

    async def run() -> AIMessage:
        # Our own async client, closed in this event loop: LangChain's shared default one
        # would outlive asyncio.run() and leave sockets open (a ResourceWarning, so an error).
        async with httpx.AsyncClient() as client:
            llm = ChatOpenAI(
                base_url=f"{base_url}/v1",
                api_key="offline",  # type: ignore[arg-type]
                model=OFFLINE_MODEL_NAME,
                max_retries=0,
                timeout=5,
                http_async_client=client,
                **kwargs,  # type: ignore[arg-type]
            )
            extra = {"user": user} if user else {}
            return await llm.ainvoke(prompt, **extra)  # type: ignore[arg-type]

    return asyncio.run(run())


def test_langchain_chat_openai_gets_content_and_token_usage(base_url: str) -> None:
    reply = ask(base_url, "What is the capital of France?")
    assert "Paris" in reply.content
    usage = reply.response_metadata["token_usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    assert reply.response_metadata["finish_reason"] == "stop"
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["output_tokens"] == usage["completion_tokens"]


def test_langchain_plain_text_and_max_tokens(base_url: str) -> None:
    messages = [SystemMessage("Answer in plain text."), HumanMessage("What is Inngest?")]
    reply = ask(base_url, messages, max_tokens=4)
    assert reply.response_metadata["finish_reason"] == "length"
    assert reply.response_metadata["token_usage"]["completion_tokens"] == 4
    assert "#" not in reply.content


def test_langchain_sees_a_429_as_a_rate_limit_error(base_url: str) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        ask(base_url, "[fault:429,retry_after=2] hello", user="lc-429")
    assert caught.value.response.headers["Retry-After"] == "2"


def test_mounted_under_offline_like_the_backend_does(http: httpx.Client) -> None:
    parent = FastAPI()
    parent.mount("/offline", create_offline_model_app())
    with BackgroundServer(parent, name="parent") as server:
        models = http.get(f"{server.url}/offline/v1/models").json()
        assert models["data"][0]["id"] == OFFLINE_MODEL_NAME
        reply = ask(f"{server.url}/offline", "Capital of Italy?")
        assert "Rome" in reply.content


def test_config_from_settings() -> None:
    settings = Settings(
        offline_latency_mean_ms=5,
        offline_latency_spread_ms=2,
        offline_seed=42,
        offline_fault_rate_429=0.1,
        offline_fault_rate_500=0.2,
    )
    config = OfflineModelConfig.from_settings(settings)
    assert config == OfflineModelConfig(
        latency_mean_ms=5, latency_spread_ms=2, seed=42, fault_rate_429=0.1, fault_rate_500=0.2
    )


def test_runs_on_its_own_with_python_m(http: httpx.Client) -> None:
    port = free_port()
    command = [sys.executable, "-m", "learninngest.offline_model", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        response = wait_for(lambda: http.get(f"http://127.0.0.1:{port}/v1/models"), timeout=15)
        assert response.json()["data"][0]["id"] == OFFLINE_MODEL_NAME
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_the_openai_sdk_streams_chunks_and_usage(base_url: str) -> None:
    with openai.OpenAI(base_url=f"{base_url}/v1", api_key="offline", max_retries=0, timeout=5) as client:
        chunks = list(
            client.chat.completions.create(
                model=OFFLINE_MODEL_NAME,
                messages=[{"role": "user", "content": "What is the capital of France?"}],
                stream=True,
                stream_options={"include_usage": True},
                user="compat-stream",
            )
        )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "Paris" in text
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_the_openai_sdk_raises_on_an_error_mid_stream(base_url: str) -> None:
    with openai.OpenAI(base_url=f"{base_url}/v1", api_key="offline", max_retries=0, timeout=5) as client:
        stream = client.chat.completions.create(
            model=OFFLINE_MODEL_NAME,
            messages=[{"role": "user", "content": "What is the capital of France? [fault:500,after=2]"}],
            stream=True,
            user="compat-stream-fault",
        )
        with pytest.raises(openai.APIError, match="fault 500"):
            list(stream)
