"""Settings: one object, read from the environment and `.env`, built by a factory.

Every setting has a default that works offline. A bad value stops start-up with a
message that names the environment variable to fix.

`.env` is looked for in the current folder and in the project root (the nearest folder
above with a `pyproject.toml`), so `make run` at the root and a notebook kernel running
in `notebooks/` read the same file.
"""

from __future__ import annotations

import ipaddress
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_OPENROUTER_MODEL = "google/gemini-3-flash-preview"
OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"
OFFLINE_MODEL_NAME = "learninngest-offline-1"
OFFLINE_MOUNT_PATH = "/offline"

DEFAULT_ENGINE_DB = ".learninngest/engine.db"
DEFAULT_RESULT_STORE_URL = "sqlite:///.learninngest/results.db"

DEV_SERVER_URL = "http://127.0.0.1:8288"
CLOUD_API_URL = "https://api.inngest.com"
CLOUD_EVENT_URL = "https://inn.gs"

if TYPE_CHECKING:
    from learninngest.api.keys import ApiKey

LLMProvider = Literal["auto", "offline", "openrouter", "openai-compatible"]


class SettingsError(ValueError):
    """A setting has a bad value; the message names the environment variable."""


class Settings(BaseSettings):
    """Everything the backend can be told. Field name == environment variable (upper case)."""

    # Which `.env` files: env_files(), chosen when settings are built (see below).
    model_config = SettingsConfigDict(
        env_file=None, env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Arguments beat the environment, which beats `.env`; the folder is the current one
        # at build time, not at import time.
        dotenv = DotEnvSettingsSource(settings_cls, env_file=env_files())
        return init_settings, env_settings, dotenv, file_secret_settings

    # --- the backend's own HTTP server
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    public_url: str | None = None  # how others reach this backend; default http://host:port
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cors_allow_credentials: bool = False
    log_level: str = "INFO"
    # Limits of every HTTP server the kit starts (serving/limits.py); a proxy may add its own.
    server_timeout_keep_alive_s: int = Field(5, ge=1, le=3600)
    server_header_timeout_s: float = Field(10.0, gt=0, le=3600)
    server_body_timeout_s: float = Field(30.0, gt=0, le=3600)
    server_limit_concurrency: int = Field(400, ge=2, le=100_000)
    server_max_incomplete_event_bytes: int = Field(16_384, ge=1024, le=1_048_576)

    # --- Inngest
    inngest_app_id: str = "learninngest"
    inngest_dev: str = "1"  # "1"/"true": Dev Server (or the local engine); "0": Cloud
    inngest_base_url: str | None = None  # default: the Dev Server (127.0.0.1:8288) or Cloud
    inngest_event_api_base_url: str | None = None  # default: inngest_base_url, or Cloud's
    inngest_signing_key: str | None = None
    inngest_signing_key_fallback: str | None = None
    inngest_event_key: str | None = None
    inngest_serve_origin: str | None = None
    # True: take calls as a connect worker (an outbound WebSocket, worker/connect_worker.py)
    # instead of on /api/inngest; `learninngest up` then syncs through the worker.
    inngest_connect: bool = False
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
    llm_stream: bool = True  # stream the answer (astream) so /stream shows tokens as they come
    llm_preload: bool = False  # import LangChain at start, not with the first model call (llm/lazy.py)

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
    engine_db: str | None = DEFAULT_ENGINE_DB  # "" or "memory" for a throwaway engine
    # `learninngest up` serves the backend from this many processes on one port (serving/backend_processes.py)
    backend_workers: int = Field(1, ge=1, le=64)
    engine_retention_s: float = Field(7 * 86_400, gt=0)  # the stack's engine: finished runs kept this long
    # The stack's engine: how long a connect worker holds a call without extending its lease
    # (the server's 2 minutes); shorter, and a dead worker's call is retried sooner.
    engine_connect_lease_s: float = Field(120.0, ge=1, le=3600)
    # How a browser reaches the kit's servers (browser_urls.py): "auto" (JupyterHub, Binder,
    # Codespaces detected), "off" (127.0.0.1), or a template such as /user/ana/proxy/{port}/
    kit_proxy_url: str = "auto"

    # --- results
    result_store_url: str = DEFAULT_RESULT_STORE_URL
    # Connections each Redis pool of a process (the store's, the streams') may open; 0: as many
    # as SERVER_LIMIT_CONCURRENCY. Past it a request waits up to REDIS_POOL_TIMEOUT_S, then 503.
    redis_max_connections: int = Field(0, ge=0, le=100_000)
    redis_pool_timeout_s: float = Field(5.0, gt=0, le=60)
    idempotency_ttl_s: int = Field(86_400, ge=1)
    result_retention_s: int = Field(7 * 86_400, ge=1)  # final records are purged this long after
    long_poll_max_waiters: int = Field(300, ge=1)  # ?wait= requests held at once, per process
    long_poll_reread_s: float = Field(0.5, gt=0, le=30)  # re-read of a store others write (sqlite)

    # --- token streams (GET /api/v1/chat/{id}/stream; a view, the record is the store)
    stream_heartbeat_s: float = Field(15.0, gt=0, le=300)  # an SSE comment this often keeps proxies open
    stream_ttl_s: int = Field(3600, ge=10)  # a request's stream events are kept this long after the last
    # Where the worker publishes a request's events and /stream reads them: "auto" follows the
    # store (Redis store: Redis; else in-process), or "memory", "redis" (RESULT_STORE_URL's
    # Redis), "realtime" (Inngest Realtime on the Inngest server: no Redis of one's own).
    stream_channel: Literal["auto", "memory", "redis", "realtime"] = "auto"
    stream_realtime_channel: str = Field("learninngest-chat", min_length=1, max_length=200)
    # Tokens after the first are sent in batches at most this often (stream/publisher.py); 0: each at once
    stream_flush_ms: float = Field(50.0, ge=0, le=1000)

    # --- production mode: API keys and rate limits (api/auth.py, api/rate_limit.py); off by default
    api_keys: SecretStr | None = None  # "name=key,name2=sha256:<hex>"; set: Bearer keys on /api/v1
    api_keys_file: str | None = None  # the same entries, one per line
    rate_limit_requests: int = Field(0, ge=0, le=1_000_000)  # per key (or address) per window; 0: off
    rate_limit_window_s: int = Field(60, ge=1, le=86_400)
    rate_limit_max_pending: int = Field(0, ge=0, le=100_000)  # pending requests per key; 0: off
    auth_failure_limit: int = Field(10, ge=0, le=100_000)  # failed keys per address a minute, then 429
    # Reverse proxies whose X-Forwarded-For/-Proto are believed ("10.0.0.5,10.1.0.0/16" or "*");
    # empty: none, the client address is the connection's (uvicorn alone trusts 127.0.0.1).
    trusted_proxies: str = ""

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

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        items = [item.strip() for item in value.split(",") if item.strip()]
        for item in items:
            if item != "*":
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError:
                    raise ValueError(
                        f"{item!r} is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/8, *)"
                    ) from None
        return ",".join(items)

    @field_validator("kit_proxy_url")
    @classmethod
    def _proxy_template(cls, value: str) -> str:
        from learninngest.browser_urls import check_template

        return check_template(value)

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
        if not value.startswith(
            ("sqlite://", "memory://", "redis://", "rediss://", "postgresql://", "postgres://")
        ):
            raise ValueError("must start with sqlite://, memory://, redis:// or postgresql://")
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
    def serve_url(self) -> tuple[str | None, str | None]:
        """(origin, path) the SDK registers for /api/inngest; (None, None) = from the request.

        In production the request's Host header must not decide where Inngest sends signed
        calls, so the URL comes from INNGEST_SERVE_ORIGIN, else PUBLIC_URL (its path kept,
        for a backend behind a path prefix). Dev mode keeps the request's host, as before.
        """
        if self.inngest_serve_origin:
            return _origin(self.inngest_serve_origin), None
        if self.is_dev or not self.public_url:
            return None, None
        prefix = urlsplit(self.public_url).path.rstrip("/")
        return _origin(self.public_url), prefix or None

    @property
    def redis_pool_size(self) -> int:
        """The most connections one Redis pool opens (REDIS_MAX_CONNECTIONS, or the connection cap)."""
        return self.redis_max_connections or self.server_limit_concurrency

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

    def load_api_keys(self) -> list[ApiKey]:
        """The API keys of API_KEYS and API_KEYS_FILE, hashed; [] when authentication is off."""
        from learninngest.api.keys import ApiKeyError, load_keys

        secret = self.api_keys.get_secret_value() if self.api_keys else None
        try:
            return load_keys(secret, self.api_keys_file)
        except ApiKeyError as exc:
            raise SettingsError(str(exc)) from None

    def check(self) -> Settings:
        """Cross-field checks that need several values; raise SettingsError naming the variable."""
        if self.cors_allow_credentials and "*" in self.cors_origins:
            raise SettingsError(
                "CORS_ALLOW_CREDENTIALS=true cannot be used with CORS_ORIGINS containing '*': "
                "list the allowed origins explicitly."
            )
        if self.cors_allow_credentials and any(o.lower() == "null" for o in self.cors_origins):
            # Sandboxed iframes, file:// pages and data: URLs all send `Origin: null`, so
            # allowing it with credentials lets any such page read the answers, like '*'.
            raise SettingsError(
                "CORS_ALLOW_CREDENTIALS=true cannot be used with CORS_ORIGINS containing 'null' "
                "(any sandboxed page sends it): list the real origins explicitly."
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
        if self.long_poll_max_waiters >= self.server_limit_concurrency:
            raise SettingsError(
                f"LONG_POLL_MAX_WAITERS={self.long_poll_max_waiters} must be below "
                f"SERVER_LIMIT_CONCURRENCY={self.server_limit_concurrency}, so that waiting "
                "long-polls leave room for other requests."
            )
        if self.backend_workers > 1 and self.result_store_url.startswith("memory://"):
            raise SettingsError(
                f"BACKEND_WORKERS={self.backend_workers} (or up --workers) needs a result store the "
                "processes share, but RESULT_STORE_URL=memory:// lives inside one process: use "
                "sqlite:///path.db, redis://host:port/db or postgresql://..., or one worker."
            )
        if self.result_retention_s < self.idempotency_ttl_s:
            raise SettingsError(
                f"RESULT_RETENTION_S={self.result_retention_s} is shorter than IDEMPOTENCY_TTL_S="
                f"{self.idempotency_ttl_s}: a replayed Idempotency-Key must still find its result. "
                "Raise RESULT_RETENTION_S or lower IDEMPOTENCY_TTL_S."
            )
        if self.reconcile_after_s <= self.event_send_timeout_s:
            raise SettingsError(
                f"RECONCILE_AFTER_S={self.reconcile_after_s:g} must be greater than EVENT_SEND_TIMEOUT_S="
                f"{self.event_send_timeout_s:g}: the reconciler must not judge a request whose event "
                "is still being sent."
            )
        keys = self.load_api_keys()
        if self.rate_limit_max_pending and not keys:
            raise SettingsError(
                f"RATE_LIMIT_MAX_PENDING={self.rate_limit_max_pending} counts pending requests per API "
                "key: set API_KEYS (or API_KEYS_FILE) too, or set RATE_LIMIT_MAX_PENDING=0."
            )
        if self.stream_channel == "redis" and not self.result_store_url.startswith(("redis://", "rediss://")):
            raise SettingsError(
                "STREAM_CHANNEL=redis streams through the result store's Redis, but RESULT_STORE_URL "
                "is not a redis:// URL: use STREAM_CHANNEL=auto, memory or realtime, or a Redis store."
            )
        if not self.is_dev and not self.inngest_signing_key:
            raise SettingsError(
                "INNGEST_DEV=0 (Cloud mode) needs INNGEST_SIGNING_KEY: set it, or set INNGEST_DEV=1."
            )
        if not self.is_dev and not (self.inngest_serve_origin or self.public_url):
            # Otherwise the SDK registers whatever Host header the sync request carried.
            raise SettingsError(
                "INNGEST_DEV=0 (Cloud mode) needs PUBLIC_URL (or INNGEST_SERVE_ORIGIN): the public "
                "URL Inngest calls this backend at, e.g. https://api.example.com."
            )
        return self


def _origin(url: str) -> str:
    # The SDK joins absolute paths onto the origin, so a path part would be dropped anyway.
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        raise SettingsError(f"not a URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def env_files(folder: Path | None = None) -> tuple[Path, ...]:
    """The `.env` files settings read, weakest first: the project root's, then the folder's.

    The project root is the nearest folder at or above `folder` (default: the current one)
    holding a `pyproject.toml`; outside a project only the folder's own `.env` counts.
    """
    here = (folder or Path.cwd()).resolve()
    for parent in (here, *here.parents):
        if (parent / "pyproject.toml").is_file():
            if parent != here:
                return (parent / ".env", here / ".env")
            break
    return (here / ".env",)


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
