"""Settings to a LangChain ChatOpenAI: the offline model, OpenRouter or any OpenAI-compatible URL.

All three speak the OpenAI chat-completions protocol, so one client class serves them;
only the base URL, key, model name and a few headers differ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from learninngest.config import OFFLINE_MODEL_NAME, Settings
from learninngest.llm.errors import LLMError
from learninngest.offline_model.access import internal_key

if TYPE_CHECKING:  # imported by build_chat_model: LangChain loads with the first model call
    from langchain_openai import ChatOpenAI

OFFLINE_API_KEY = "offline"
NO_KEY_PLACEHOLDER = "not-needed"
"""Local servers (Ollama, vLLM, LM Studio) ignore the key, but the client refuses to run without one."""


def model_name(settings: Settings) -> str:
    """The model the configured provider will be asked for."""
    provider = settings.resolved_provider
    if provider == "offline":
        return OFFLINE_MODEL_NAME
    if provider == "openrouter":
        return settings.openrouter_model
    if not settings.llm_model:
        raise LLMError(
            "LLM_PROVIDER=openai-compatible needs LLM_MODEL (e.g. llama3.2 for Ollama)",
            retriable=False,
        )
    return settings.llm_model


def base_url(settings: Settings) -> str:
    provider = settings.resolved_provider
    if provider == "offline":
        return settings.offline_base_url
    if provider == "openrouter":
        return settings.openrouter_base_url.rstrip("/")
    if not settings.llm_base_url:
        raise LLMError(
            "LLM_PROVIDER=openai-compatible needs LLM_BASE_URL (e.g. http://127.0.0.1:11434/v1)",
            retriable=False,
        )
    return settings.llm_base_url.rstrip("/")


def _api_key(settings: Settings) -> str:
    provider = settings.resolved_provider
    if provider == "offline":
        if settings.offline_model_url is None and (settings.api_keys or settings.api_keys_file):
            # The model mounted on this backend admits only API keys, and this derived one.
            return internal_key(key.digest for key in settings.load_api_keys())
        return OFFLINE_API_KEY
    if provider == "openrouter":
        if not settings.openrouter_api_key:
            # Retrying cannot make a key appear: fail the run at once.
            raise LLMError(
                "LLM_PROVIDER=openrouter needs OPENROUTER_API_KEY: set it, or use LLM_PROVIDER=offline",
                retriable=False,
            )
        return settings.openrouter_api_key
    return settings.llm_api_key or NO_KEY_PLACEHOLDER


def _headers(settings: Settings) -> dict[str, str]:
    if settings.resolved_provider != "openrouter":
        return {}
    # OpenRouter's optional app attribution (https://openrouter.ai/docs/api-reference/overview).
    headers = {}
    if settings.openrouter_site_url:
        headers["HTTP-Referer"] = settings.openrouter_site_url
    if settings.openrouter_app_name:
        headers["X-Title"] = settings.openrouter_app_name
    return headers


def build_chat_model(
    settings: Settings,
    *,
    temperature: float,
    max_tokens: int,
    model: str | None = None,
    http_async_client: Any | None = None,
) -> ChatOpenAI:
    """The chat model for `settings`; raises a non-retriable LLMError when a setting is missing.

    `model` overrides the configured model name. `http_async_client` (an
    openai.DefaultAsyncHttpxClient) lets the caller own the connection pool's lifetime.
    """
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=model or model_name(settings),
        base_url=base_url(settings),
        api_key=_api_key(settings),
        default_headers=_headers(settings) or None,
        temperature=temperature,
        max_tokens=max_tokens,
        timeout=settings.llm_timeout_s,
        max_retries=0,  # Inngest retries the step; retrying here too would multiply attempts
        use_responses_api=False,  # every provider we target speaks chat completions
        http_async_client=http_async_client,
    )
