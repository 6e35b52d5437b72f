"""Settings: one object, read from the environment and `.env`, built by a factory.

Every setting has a default that works offline. A bad value stops start-up with a
message that names the environment variable to fix.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_OPENROUTER_MODEL = "google/gemini-3-flash-preview"
OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"
OFFLINE_MODEL_NAME = "learninngest-offline-1"
OFFLINE_MOUNT_PATH = "/offline"

DEV_SERVER_URL = "http://127.0.0.1:8288"
CLOUD_API_URL = "https://api.inngest.com"
CLOUD_EVENT_URL = "https://inn.gs"

LLMProvider = Literal["auto", "offline", "openrouter", "openai-compatible"]


class SettingsError(ValueError):
    """A setting has a bad value; the message names the environment variable."""


class Settings(BaseSettings):
    """Everything the backend can be told. Field name == environment variable (upper case)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # --- the backend's own HTTP server
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    public_url: str | None = None  # how others reach this backend; default http://host:port
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cors_allow_credentials: bool = False
    log_level: str = "INFO"

    # --- Inngest
    inngest_app_id: str = "learninngest"
    inngest_dev: str = "1"  # "1"/"true": Dev Server (or the local engine); "0": Cloud
    inngest_base_url: str | None = None  # default: the Dev Server (127.0.0.1:8288) or Cloud
    inngest_event_api_base_url: str | None = None  # default: inngest_base_url, or Cloud's
    inngest_signing_key: str | None = None
    inngest_signing_key_fallback: str | None = None
    inngest_event_key: str | None = None
    inngest_serve_origin: str | None = None
    worker_retries: int = Field(3, ge=0, le=20)
    worker_concurrency: int = Field(4, ge=1, le=1000)
    # POST /chat waits this long for the send; at most 25 s, below the SDK's own 30 s per try,
    # so that a slow server always meets our deadline (request kept pending), never the SDK's.
    event_send_timeout_s: float = Field(5.0, gt=0, le=25)

    # --- every request ends: the backend's reconciler (worker/reconciler.py)
    reconcile_interval_s: float = Field(30.0, ge=0)  # 0 turns the periodic sweep off
    reconcile_after_s: float = Field(60.0, gt=0)  # a request pending this long is checked with Inngest

    # --- LLM
    llm_provider: LLMProvider = "auto"
    openrouter_api_key: str | None = None
    openrouter_model: str = DEFAULT_OPENROUTER_MODEL
    openrouter_site_url: str | None = None
    openrouter_app_name: str | None = "LearnInngest"
    openrouter_base_url: str = OPENROUTER_BASE_URL
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_model: str | None = None
    llm_timeout_s: float = Field(60.0, gt=0)

    # --- offline model (mounted on the backend at /offline unless offline_model_url is set)
    offline_model_url: str | None = None
    offline_latency_mean_ms: float = Field(800.0, ge=0)  # a "slow" LLM, so the pattern shows
    offline_latency_spread_ms: float = Field(300.0, ge=0)
    offline_seed: int = 0
    offline_fault_rate_429: float = Field(0.0, ge=0, le=1)
    offline_fault_rate_500: float = Field(0.0, ge=0, le=1)
    offline_retry_after_s: float = Field(1.0, ge=0)  # Retry-After sent with a simulated 429
    offline_timeout_s: float = Field(120.0, gt=0)  # how long [fault:timeout] hangs

    # --- the kit's stack (learninngest up, kit.up() in notebooks)
    kit_inngest_server: str = "local"  # "local" engine, "cli" (a real inngest-cli binary), or a URL
    inngest_cli: str | None = None  # path of the real `inngest` / `inngest-cli` binary
    engine_time_scale: float = Field(1.0, gt=0, le=10)
    engine_db: str | None = ".learninngest/engine.db"  # "" or "memory" for a throwaway engine

    # --- results
    result_store_url: str = "sqlite:///.learninngest/results.db"
    idempotency_ttl_s: int = Field(86_400, ge=1)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        # CORS_ORIGINS="http://a.test,http://b.test" (a JSON list works too).
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [item.strip() for item in text.split(",") if item.strip()]
        return value

    @field_validator(
        "public_url",
        "inngest_base_url",
        "inngest_event_api_base_url",
        "inngest_serve_origin",
        "openrouter_base_url",
        "openrouter_site_url",
        "llm_base_url",
        "offline_model_url",
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL")
        return value.strip()

    @field_validator("inngest_dev")
    @classmethod
    def _dev_flag(cls, value: str) -> str:
        return value.strip()

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("result_store_url")
    @classmethod
    def _store_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "memory://", "redis://", "rediss://")):
            raise ValueError("must start with sqlite://, memory:// or redis://")
        return value

    # --- derived values (no IO)
    @property
    def is_dev(self) -> bool:
        return self.inngest_dev.lower() not in {"", "0", "false", "no", "off"}

    @property
    def inngest_api_url(self) -> str:
        """Where the Inngest server's API lives (sync, REST v1), as the SDK would resolve it."""
        if self.inngest_base_url:
            return _origin(self.inngest_base_url)
        if self.is_dev:
            dev = self.inngest_dev
            if dev.lower() in {"1", "true", "yes", "on"}:
                return DEV_SERVER_URL
            return _origin(dev if "://" in dev else f"http://{dev}")
        return CLOUD_API_URL

    @property
    def inngest_event_url(self) -> str:
        """Where events are sent (`POST /e/{key}`)."""
        if self.inngest_event_api_base_url:
            return _origin(self.inngest_event_api_base_url)
        if self.inngest_base_url or self.is_dev:
            return self.inngest_api_url
        return CLOUD_EVENT_URL

    @property
    def own_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @cached_property
    def resolved_provider(self) -> Literal["offline", "openrouter", "openai-compatible"]:
        if self.llm_provider != "auto":
            return self.llm_provider
        if self.llm_base_url:
            return "openai-compatible"
        if self.openrouter_api_key:
            return "openrouter"
        return "offline"

    @property
    def offline_base_url(self) -> str:
        """Base URL of the offline model's OpenAI-compatible API (ends with /v1)."""
        if self.offline_model_url:
            return self.offline_model_url.rstrip("/")
        return f"{self.own_url}{OFFLINE_MOUNT_PATH}/v1"

    def check(self) -> Settings:
        """Cross-field checks that need several values; raise SettingsError naming the variable."""
        if self.cors_allow_credentials and "*" in self.cors_origins:
            raise SettingsError(
                "CORS_ALLOW_CREDENTIALS=true cannot be used with CORS_ORIGINS containing '*': "
                "list the allowed origins explicitly."
            )
        provider = self.resolved_provider
        if provider == "openrouter" and not self.openrouter_api_key:
            raise SettingsError(
                "LLM_PROVIDER=openrouter needs OPENROUTER_API_KEY: set it, or use LLM_PROVIDER=offline."
            )
        if provider == "openai-compatible" and not self.llm_base_url:
            raise SettingsError(
                "LLM_PROVIDER=openai-compatible needs LLM_BASE_URL (e.g. http://127.0.0.1:11434/v1)."
            )
        if provider == "openai-compatible" and not self.llm_model:
            raise SettingsError(
                "An OpenAI-compatible provider (LLM_BASE_URL) needs LLM_MODEL, the model name it serves "
                "(e.g. llama3.2)."
            )
        if self.reconcile_after_s <= self.event_send_timeout_s:
            raise SettingsError(
                f"RECONCILE_AFTER_S={self.reconcile_after_s:g} must be greater than EVENT_SEND_TIMEOUT_S="
                f"{self.event_send_timeout_s:g}: the reconciler must not judge a request whose event "
                "is still being sent."
            )
        if not self.is_dev and not self.inngest_signing_key:
            raise SettingsError(
                "INNGEST_DEV=0 (Cloud mode) needs INNGEST_SIGNING_KEY: set it, or set INNGEST_DEV=1."
            )
        return self


def _origin(url: str) -> str:
    # The SDK joins absolute paths onto the origin, so a path part would be dropped anyway.
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        raise SettingsError(f"not a URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def get_settings(**overrides: object) -> Settings:
    """Build settings from env and `.env`, plus explicit overrides; errors name the variable."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    return settings.check()


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        name = str(error["loc"][0]).upper() if error["loc"] else "?"
        lines.append(f"{name}: {error['msg']} (got {error.get('input')!r})")
    return "Invalid settings: " + "; ".join(lines)
