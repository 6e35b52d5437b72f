"""One test per settings error message: each names the variable to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from learninngest.config import SettingsError, env_files, get_settings


def test_defaults_work_offline() -> None:
    settings = get_settings()
    assert settings.resolved_provider == "offline"
    assert settings.is_dev
    assert settings.inngest_api_url == "http://127.0.0.1:8288"
    assert settings.offline_base_url == "http://127.0.0.1:8000/offline/v1"
    assert settings.openrouter_model == "google/gemini-3-flash-preview"
    assert settings.worker_retries == 3


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("PORT", "abc", "PORT: Input should be a valid integer"),
        ("PORT", "70000", "PORT: Input should be less than or equal to 65535"),
        ("WORKER_RETRIES", "-1", "WORKER_RETRIES: Input should be greater than or equal to 0"),
        ("EVENT_SEND_TIMEOUT_S", "0", "EVENT_SEND_TIMEOUT_S: Input should be greater than 0"),
        ("EVENT_SEND_TIMEOUT_S", "60", "EVENT_SEND_TIMEOUT_S: Input should be less than or equal to 25"),
        ("RECONCILE_INTERVAL_S", "-1", "RECONCILE_INTERVAL_S: Input should be greater than or equal to 0"),
        ("LLM_BASE_URL", "ftp://x", "LLM_BASE_URL: Value error, must be an http:// or https:// URL"),
        ("INNGEST_BASE_URL", "localhost", "INNGEST_BASE_URL: Value error, must be an http"),
        ("RESULT_STORE_URL", "mysql://x", "RESULT_STORE_URL: Value error, must start with sqlite://"),
        ("RATE_LIMIT_REQUESTS", "-1", "RATE_LIMIT_REQUESTS: Input should be greater than or equal to 0"),
        ("RATE_LIMIT_WINDOW_S", "0", "RATE_LIMIT_WINDOW_S: Input should be greater than or equal to 1"),
        ("RATE_LIMIT_MAX_PENDING", "x", "RATE_LIMIT_MAX_PENDING: Input should be a valid integer"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL: Value error, must be one of DEBUG"),
        ("LLM_PROVIDER", "gpt", "LLM_PROVIDER: Input should be 'auto', 'offline'"),
        ("OFFLINE_FAULT_RATE_429", "2", "OFFLINE_FAULT_RATE_429: Input should be less than or equal to 1"),
        ("RESULT_RETENTION_S", "0", "RESULT_RETENTION_S: Input should be greater than or equal to 1"),
        ("ENGINE_RETENTION_S", "0", "ENGINE_RETENTION_S: Input should be greater than 0"),
        ("ENGINE_CONNECT_LEASE_S", "0", "ENGINE_CONNECT_LEASE_S: Input should be greater than or equal"),
        ("LONG_POLL_MAX_WAITERS", "0", "LONG_POLL_MAX_WAITERS: Input should be greater than or equal to 1"),
        ("LONG_POLL_REREAD_S", "0", "LONG_POLL_REREAD_S: Input should be greater than 0"),
        ("SERVER_HEADER_TIMEOUT_S", "0", "SERVER_HEADER_TIMEOUT_S: Input should be greater than 0"),
        ("SERVER_BODY_TIMEOUT_S", "-1", "SERVER_BODY_TIMEOUT_S: Input should be greater than 0"),
        (
            "SERVER_LIMIT_CONCURRENCY",
            "1",
            "SERVER_LIMIT_CONCURRENCY: Input should be greater than or equal to 2",
        ),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as info:
        get_settings()
    assert expected in str(info.value)


def test_cors_wildcard_with_credentials_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "*")
    monkeypatch.setenv("CORS_ALLOW_CREDENTIALS", "true")
    with pytest.raises(SettingsError, match="CORS_ALLOW_CREDENTIALS=true cannot be used with CORS_ORIGINS"):
        get_settings()


def test_cors_null_origin_with_credentials_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "http://app.test, null")
    monkeypatch.setenv("CORS_ALLOW_CREDENTIALS", "true")
    with pytest.raises(SettingsError, match="cannot be used with CORS_ORIGINS containing 'null'"):
        get_settings()
    monkeypatch.setenv("CORS_ALLOW_CREDENTIALS", "false")
    assert get_settings().cors_origins == ["http://app.test", "null"]


def test_retention_shorter_than_the_idempotency_ttl_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESULT_RETENTION_S", "60")
    monkeypatch.setenv("IDEMPOTENCY_TTL_S", "3600")
    with pytest.raises(SettingsError, match="RESULT_RETENTION_S=60 is shorter than IDEMPOTENCY_TTL_S=3600"):
        get_settings()


def test_several_backend_workers_with_the_memory_store_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESULT_STORE_URL", "memory://")
    monkeypatch.setenv("BACKEND_WORKERS", "2")
    with pytest.raises(
        SettingsError, match="BACKEND_WORKERS=2 .* RESULT_STORE_URL=memory:// lives inside one"
    ):
        get_settings()
    monkeypatch.setenv("RESULT_STORE_URL", "sqlite:///results.db")
    assert get_settings().backend_workers == 2


def test_long_poll_waiters_must_leave_room_below_the_concurrency_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LONG_POLL_MAX_WAITERS", "400")
    monkeypatch.setenv("SERVER_LIMIT_CONCURRENCY", "400")
    with pytest.raises(
        SettingsError, match="LONG_POLL_MAX_WAITERS=400 must be below SERVER_LIMIT_CONCURRENCY=400"
    ):
        get_settings()


def test_cors_origins_accept_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "http://a.test, http://b.test")
    assert get_settings().cors_origins == ["http://a.test", "http://b.test"]


def test_openrouter_provider_needs_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_PROVIDER", "openrouter")
    with pytest.raises(SettingsError, match="LLM_PROVIDER=openrouter needs OPENROUTER_API_KEY"):
        get_settings()


def test_openrouter_key_selects_openrouter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-test")
    assert get_settings().resolved_provider == "openrouter"


def test_openai_compatible_needs_a_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_PROVIDER", "openai-compatible")
    with pytest.raises(SettingsError, match="needs LLM_BASE_URL"):
        get_settings()


def test_cloud_mode_needs_a_signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNGEST_DEV", "0")
    with pytest.raises(SettingsError, match="INNGEST_DEV=0 .* needs INNGEST_SIGNING_KEY"):
        get_settings()


def test_cloud_mode_needs_a_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNGEST_DEV", "0")
    monkeypatch.setenv("INNGEST_SIGNING_KEY", "signkey-prod-12345678")
    with pytest.raises(SettingsError, match=r"INNGEST_DEV=0 .* needs PUBLIC_URL \(or INNGEST_SERVE_ORIGIN\)"):
        get_settings()
    monkeypatch.setenv("INNGEST_SERVE_ORIGIN", "https://app.internal:8443")
    assert get_settings().serve_url == ("https://app.internal:8443", None)


def test_serve_url_comes_from_settings_in_cloud_mode_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_URL", "https://api.example.com/llm/")
    assert get_settings().serve_url == (None, None)  # dev mode: the request's host, as before
    monkeypatch.setenv("INNGEST_DEV", "0")
    monkeypatch.setenv("INNGEST_SIGNING_KEY", "signkey-prod-12345678")
    assert get_settings().serve_url == ("https://api.example.com", "/llm")


def test_cloud_mode_uses_cloud_origins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNGEST_DEV", "0")
    monkeypatch.setenv("INNGEST_SIGNING_KEY", "signkey-prod-12345678")
    monkeypatch.setenv("PUBLIC_URL", "https://api.example.com")
    settings = get_settings()
    assert (settings.inngest_api_url, settings.inngest_event_url) == (
        "https://api.inngest.com",
        "https://inn.gs",
    )


@pytest.mark.parametrize(
    ("dev", "origin"),
    [
        ("1", "http://127.0.0.1:8288"),
        ("http://127.0.0.1:9999", "http://127.0.0.1:9999"),
        ("127.0.0.1:9999", "http://127.0.0.1:9999"),
    ],
)
def test_inngest_dev_url_like_the_sdk(monkeypatch: pytest.MonkeyPatch, dev: str, origin: str) -> None:
    monkeypatch.setenv("INNGEST_DEV", dev)
    assert get_settings().inngest_api_url == origin


def test_dotenv_file_is_read(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    (tmp_path / ".env").write_text("WORKER_RETRIES=7\n")
    monkeypatch.chdir(tmp_path)
    assert get_settings().worker_retries == 7


def test_openai_compatible_needs_a_model_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:11434/v1")
    with pytest.raises(SettingsError, match="needs LLM_MODEL"):
        get_settings()
    monkeypatch.setenv("LLM_MODEL", "llama3.2")
    assert get_settings().resolved_provider == "openai-compatible"


def _project(root: Path, env: str | None = None) -> Path:
    """A project folder (it has a pyproject.toml) with an optional `.env` and a notebooks/ folder."""
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    if env is not None:
        (root / ".env").write_text(env)
    (root / "notebooks").mkdir()
    return root / "notebooks"


def test_a_notebook_kernel_reads_the_project_roots_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Jupyter starts the kernel in notebooks/: the `.env` next to pyproject.toml still counts.
    monkeypatch.chdir(_project(tmp_path, "WORKER_RETRIES=7\nOFFLINE_SEED=5\n"))
    settings = get_settings()
    assert (settings.worker_retries, settings.offline_seed) == (7, 5)


def test_the_current_folders_env_wins_over_the_roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebooks = _project(tmp_path, "WORKER_RETRIES=7\nOFFLINE_SEED=5\n")
    (notebooks / ".env").write_text("WORKER_RETRIES=2\n")
    monkeypatch.chdir(notebooks)
    settings = get_settings()
    assert (settings.worker_retries, settings.offline_seed) == (2, 5)


def test_the_environment_and_arguments_win_over_env_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(_project(tmp_path, "WORKER_RETRIES=7\nOFFLINE_SEED=5\n"))
    monkeypatch.setenv("WORKER_RETRIES", "1")
    settings = get_settings(offline_seed=9)
    assert (settings.worker_retries, settings.offline_seed) == (1, 9)


def test_a_bad_value_in_the_roots_env_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(_project(tmp_path, "WORKER_RETRIES=many\n"))
    with pytest.raises(SettingsError, match="WORKER_RETRIES: Input should be a valid integer"):
        get_settings()


def test_env_files_stop_at_the_project_root(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("WORKER_RETRIES=7\n")  # above the project: never read
    project = tmp_path / "project"
    project.mkdir()
    notebooks = _project(project)
    assert env_files(notebooks) == (project / ".env", notebooks / ".env")
    assert env_files(project) == (project / ".env",)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert env_files(outside) == (outside / ".env",)


def test_this_repositorys_notebooks_share_the_root_env() -> None:
    root = Path(__file__).resolve().parents[1]
    assert env_files(root / "notebooks") == (root / ".env", root / "notebooks" / ".env")


# --- API keys (api/keys.py): errors name the variable, never show the key


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("short", "API_KEYS: entry 1 is shorter than 16 characters"),
        (
            "ok=abcdefghijklmnopqrstuvwxyz, bad name=abcdefghijklmnopqrstuvwxyz",
            "API_KEYS: entry 2 has a bad name",
        ),
        ("ops=sha256:abc", "API_KEYS: entry 1 starts with sha256: but is not 64 hex digits"),
    ],
)
def test_a_bad_api_key_entry_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: str
) -> None:
    monkeypatch.setenv("API_KEYS", value)
    with pytest.raises(SettingsError) as info:
        get_settings()
    assert expected in str(info.value)
    assert "abcdefghijklmnopqrstuvwxyz" not in str(info.value)


def test_api_keys_file_that_cannot_be_read_or_is_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_KEYS_FILE", str(tmp_path / "missing.txt"))
    with pytest.raises(SettingsError, match="API_KEYS_FILE: cannot read"):
        get_settings()
    (tmp_path / "empty.txt").write_text("# no keys yet\n")
    monkeypatch.setenv("API_KEYS_FILE", str(tmp_path / "empty.txt"))
    with pytest.raises(SettingsError, match="API_KEYS_FILE: .* holds no key"):
        get_settings()


def test_api_keys_from_env_and_file_plain_or_hashed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    hashed = hashlib.sha256(b"the-second-key-of-alice").hexdigest()
    (tmp_path / "keys.txt").write_text(f"# rotation: both of alice's keys\nalice=sha256:{hashed}\n")
    monkeypatch.setenv("API_KEYS", "alice=the-first-key-of-alice, bob-key-without-a-name")
    monkeypatch.setenv("API_KEYS_FILE", str(tmp_path / "keys.txt"))
    settings = get_settings()
    names = [key.name for key in settings.load_api_keys()]
    assert names[0] == "alice" and names[2] == "alice"
    assert names[1].startswith("key-") and len(names[1]) == 16
    assert "the-first-key-of-alice" not in repr(settings)  # a secret, never printed


def test_rate_limit_max_pending_needs_api_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMIT_MAX_PENDING", "3")
    with pytest.raises(SettingsError, match="RATE_LIMIT_MAX_PENDING=3 counts pending requests per API key"):
        get_settings()
    monkeypatch.setenv("API_KEYS", "alice=the-first-key-of-alice")
    assert get_settings().rate_limit_max_pending == 3


def test_dev_mode_has_no_keys_and_no_limits() -> None:
    settings = get_settings()
    assert settings.load_api_keys() == []
    assert (settings.rate_limit_requests, settings.rate_limit_max_pending) == (0, 0)


def test_reconciler_waits_longer_than_a_send(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILE_AFTER_S", "5")
    monkeypatch.setenv("EVENT_SEND_TIMEOUT_S", "10")
    with pytest.raises(
        SettingsError, match="RECONCILE_AFTER_S=5 must be greater than EVENT_SEND_TIMEOUT_S=10"
    ):
        get_settings()


def test_every_request_ends_settings_have_bounded_defaults() -> None:
    settings = get_settings()
    assert (settings.event_send_timeout_s, settings.reconcile_interval_s, settings.reconcile_after_s) == (
        5,
        30,
        60,
    )


def test_a_redis_stream_channel_needs_a_redis_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAM_CHANNEL", "redis")
    with pytest.raises(SettingsError, match="STREAM_CHANNEL=redis streams through the result store's Redis"):
        get_settings()


def test_a_realtime_stream_channel_needs_no_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAM_CHANNEL", "realtime")
    assert get_settings().stream_channel == "realtime"
