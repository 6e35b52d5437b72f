"""One test per settings error message: each names the variable to fix."""

from __future__ import annotations

import pytest

from learninngest.config import SettingsError, get_settings


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
        ("RESULT_STORE_URL", "postgres://x", "RESULT_STORE_URL: Value error, must start with sqlite://"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL: Value error, must be one of DEBUG"),
        ("LLM_PROVIDER", "gpt", "LLM_PROVIDER: Input should be 'auto', 'offline'"),
        ("OFFLINE_FAULT_RATE_429", "2", "OFFLINE_FAULT_RATE_429: Input should be less than or equal to 1"),
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


def test_cloud_mode_uses_cloud_origins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNGEST_DEV", "0")
    monkeypatch.setenv("INNGEST_SIGNING_KEY", "signkey-prod-12345678")
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
