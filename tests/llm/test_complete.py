"""complete() against the offline model over HTTP: answers, clean vs raw, usage, and errors.

Each test passes its own `user`, because the offline model counts fault directives per
user: `[fault:429x2]` fails the first two calls of that user only.
"""

from __future__ import annotations

import pytest

from learninngest.config import OFFLINE_MODEL_NAME, Settings
from learninngest.kit.servers import free_port
from learninngest.llm.complete import Completion, LLMError, complete

pytestmark = pytest.mark.anyio

QUESTION = "What is the capital of France?"


async def ask(settings: Settings, query: str, *, clean: bool = True, user: str) -> Completion:
    return await complete(settings, query=query, temperature=0.2, max_tokens=200, clean=clean, user=user)


async def test_answers_the_question(settings: Settings) -> None:
    completion = await ask(settings, QUESTION, user="paris")

    assert "Paris" in completion.text
    assert completion.model == OFFLINE_MODEL_NAME
    assert completion.finish_reason in {"stop", "length"}


async def test_usage_is_counted(settings: Settings) -> None:
    usage = (await ask(settings, QUESTION, user="usage")).usage

    assert set(usage) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


async def test_clean_asks_for_plain_text_and_cleans_it(settings: Settings) -> None:
    cleaned = await ask(settings, QUESTION, clean=True, user="clean")

    assert "Paris" in cleaned.text
    assert cleaned.text == cleaned.text.strip()
    for marker in ("**", "```", "\n#", "\n- "):
        assert marker not in cleaned.text


async def test_raw_answer_is_markdown_and_left_as_sent(settings: Settings) -> None:
    raw = await ask(settings, QUESTION, clean=False, user="raw")

    assert "Paris" in raw.text
    assert raw.text == raw.raw_text
    # Without the "plain text" system prompt the offline model answers in markdown.
    assert any(marker in raw.text for marker in ("**", "#", "- ", "*"))


async def test_rate_limit_is_retriable_with_retry_after(settings: Settings) -> None:
    query = f"{QUESTION} [fault:429x2]"
    for _ in range(2):
        with pytest.raises(LLMError) as caught:
            await ask(settings, query, user="rate-limited")
        assert caught.value.retriable is True
        assert caught.value.status == 429
        assert caught.value.retry_after_s is not None and caught.value.retry_after_s > 0
        assert "provider answered 429" in caught.value.message

    # The third call of the same request goes through, as an Inngest retry would.
    assert "Paris" in (await ask(settings, query, user="rate-limited")).text


async def test_bad_request_is_not_retriable(settings: Settings) -> None:
    with pytest.raises(LLMError) as caught:
        await ask(settings, f"{QUESTION} [fault:400]", user="bad-request")
    assert caught.value.retriable is False
    assert caught.value.status == 400
    assert caught.value.message.startswith("provider answered 400: ")


async def test_server_error_is_retriable(settings: Settings) -> None:
    with pytest.raises(LLMError) as caught:
        await ask(settings, f"{QUESTION} [fault:500x1]", user="server-error")
    assert caught.value.retriable is True
    assert caught.value.status == 500


async def test_timeout_is_retriable(settings: Settings) -> None:
    impatient = settings.model_copy(update={"llm_timeout_s": 0.5})

    # [fault:timeout] hangs far longer than this client waits.
    with pytest.raises(LLMError) as caught:
        await ask(impatient, f"{QUESTION} [fault:timeout]", user="timeout")

    assert caught.value.retriable is True
    assert "LLM_TIMEOUT_S" in caught.value.message


async def test_closed_port_is_retriable() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nobody listens there
    settings = Settings(llm_provider="offline", offline_model_url=url, llm_timeout_s=5)

    with pytest.raises(LLMError) as caught:
        await ask(settings, QUESTION, user="closed")

    assert caught.value.retriable is True
    assert caught.value.status is None
    assert url in caught.value.message


async def test_missing_openrouter_key_fails_before_any_call() -> None:
    settings = Settings(llm_provider="openrouter")
    with pytest.raises(LLMError, match="OPENROUTER_API_KEY") as caught:
        await ask(settings, QUESTION, user="no-key")
    assert caught.value.retriable is False


# --- streaming (on_token): the deltas as they come, the same Completion at the end


async def streamed(
    settings: Settings, query: str, *, user: str, clean: bool = False
) -> tuple[Completion, list[str]]:
    deltas: list[str] = []

    async def on_token(text: str) -> None:
        deltas.append(text)

    completion = await complete(
        settings, query=query, temperature=0.2, max_tokens=200, clean=clean, user=user, on_token=on_token
    )
    return completion, deltas


async def test_streaming_hands_over_each_delta_and_the_same_completion(settings: Settings) -> None:
    whole = await ask(settings, QUESTION, clean=False, user="stream-a")
    completion, deltas = await streamed(settings, QUESTION, user="stream-b")

    assert len(deltas) > 5
    assert "".join(deltas) == completion.raw_text == whole.raw_text
    assert completion.usage == whole.usage  # usage from the stream's last chunk (stream_usage)
    assert completion.model == OFFLINE_MODEL_NAME
    assert completion.finish_reason == "stop"


async def test_a_streamed_clean_answer_is_cleaned_at_the_end(settings: Settings) -> None:
    completion, deltas = await streamed(settings, QUESTION, user="stream-clean", clean=True)
    assert "".join(deltas) == completion.raw_text
    assert "Paris" in completion.text


async def test_an_error_mid_stream_is_retriable_after_the_tokens_sent(settings: Settings) -> None:
    deltas: list[str] = []

    async def on_token(text: str) -> None:
        deltas.append(text)

    with pytest.raises(LLMError) as caught:
        await complete(
            settings,
            query=f"{QUESTION} [fault:502,after=4]",
            temperature=0,
            max_tokens=200,
            clean=False,
            user="stream-fault",
            on_token=on_token,
        )
    assert caught.value.retriable
    assert "mid-stream" in caught.value.message and "fault 502" in caught.value.message
    assert len(deltas) == 4


async def test_llm_stream_off_gives_the_whole_text_as_one_delta(settings: Settings) -> None:
    off = settings.model_copy(update={"llm_stream": False})
    completion, deltas = await streamed(off, QUESTION, user="stream-off")
    assert deltas == [completion.raw_text]
