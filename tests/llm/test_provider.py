"""Settings to ChatOpenAI: which URL, key, model and headers each provider gets (no IO)."""

from __future__ import annotations

from typing import Any

import pytest

from learninngest.config import OFFLINE_MODEL_NAME, OPENROUTER_BASE_URL, Settings
from learninngest.llm.errors import LLMError
from learninngest.llm.provider import NO_KEY_PLACEHOLDER, build_chat_model, model_name


def build(**settings: Any) -> Any:
    return build_chat_model(Settings(**settings), temperature=0.3, max_tokens=50)


def test_offline() -> None:
    chat = build(llm_provider="offline", offline_model_url="http://127.0.0.1:5555/v1/")
    assert chat.openai_api_base == "http://127.0.0.1:5555/v1"
    assert chat.openai_api_key is not None and chat.openai_api_key.get_secret_value() == "offline"
    assert chat.model_name == OFFLINE_MODEL_NAME
    assert (chat.temperature, chat.max_tokens) == (0.3, 50)


def test_every_provider_leaves_retries_to_inngest_and_uses_the_timeout() -> None:
    for settings in (
        {"llm_provider": "offline"},
        {"llm_provider": "openrouter", "openrouter_api_key": "k"},
        {"llm_provider": "openai-compatible", "llm_base_url": "http://h/v1", "llm_model": "m"},
    ):
        chat = build(llm_timeout_s=12.5, **settings)
        assert chat.max_retries == 0
        assert chat.request_timeout == 12.5


def test_openrouter() -> None:
    chat = build(
        llm_provider="openrouter",
        openrouter_api_key="sk-or-1",
        openrouter_model="vendor/model",
        openrouter_site_url="https://school.example",
        openrouter_app_name="My class",
    )
    assert chat.openai_api_base == OPENROUTER_BASE_URL
    assert chat.openai_api_key is not None
    assert chat.openai_api_key.get_secret_value() == "sk-or-1"
    assert chat.model_name == "vendor/model"
    assert chat.default_headers == {"HTTP-Referer": "https://school.example", "X-Title": "My class"}


def test_openrouter_headers_only_when_set() -> None:
    chat = build(openrouter_api_key="k", openrouter_app_name=None)  # auto -> openrouter
    assert not chat.default_headers


def test_openrouter_without_a_key_is_not_retriable() -> None:
    with pytest.raises(LLMError, match="OPENROUTER_API_KEY") as caught:
        build(llm_provider="openrouter")
    assert caught.value.retriable is False


def test_openai_compatible() -> None:
    chat = build(llm_base_url="http://127.0.0.1:11434/v1/", llm_model="llama3.2")  # auto
    assert chat.openai_api_base == "http://127.0.0.1:11434/v1"
    assert chat.openai_api_key is not None
    assert chat.openai_api_key.get_secret_value() == NO_KEY_PLACEHOLDER
    assert chat.model_name == "llama3.2"

    keyed = build(llm_base_url="http://h/v1", llm_model="m", llm_api_key="secret")
    assert keyed.openai_api_key is not None and keyed.openai_api_key.get_secret_value() == "secret"


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        ({"llm_provider": "openai-compatible", "llm_model": "m"}, "LLM_BASE_URL"),
        ({"llm_provider": "openai-compatible", "llm_base_url": "http://h/v1"}, "LLM_MODEL"),
    ],
)
def test_openai_compatible_missing_settings(settings: dict[str, Any], variable: str) -> None:
    with pytest.raises(LLMError, match=variable) as caught:
        build(**settings)
    assert caught.value.retriable is False


def test_model_name() -> None:
    assert model_name(Settings()) == OFFLINE_MODEL_NAME
    assert model_name(Settings(openrouter_api_key="k", openrouter_model="a/b")) == "a/b"
    assert model_name(Settings(llm_base_url="http://h/v1", llm_model="qwen")) == "qwen"


def test_model_override() -> None:
    chat = build_chat_model(Settings(), temperature=0, max_tokens=5, model="other")
    assert chat.model_name == "other"
