"""Per-address rate limits believe X-Forwarded-For only from TRUSTED_PROXIES (off by default).

uvicorn alone believes it from 127.0.0.1, so anyone on the host (or a proxy that passes the
header on) could give every request a new address: 30 forged addresses passed a limit of 10.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from learninngest.config import SettingsError, get_settings
from tests.api.test_rate_limit import WINDOW_S, backend, in_one_window


def statuses(tmp_path: Path, dead_inngest_url: str, forwarded: list[str], **settings: object) -> list[int]:
    def scenario(attempt: int) -> list[int]:
        store_url = f"sqlite:///{tmp_path / f'results-{attempt}.db'}"
        limits = {"rate_limit_requests": 10, "rate_limit_window_s": WINDOW_S, **settings}
        with (
            backend(store_url, dead_inngest_url, **limits) as server,
            httpx.Client(base_url=server.url, timeout=30) as http,
        ):
            return [
                http.get("/api/v1/chat/result/x", headers={"X-Forwarded-For": address}).status_code
                for address in forwarded
            ]

    return in_one_window(scenario)


FORGED = [f"203.0.113.{n}" for n in range(30)]


def test_by_default_a_forged_forwarded_for_is_not_a_new_client(tmp_path: Path, dead_inngest_url: str) -> None:
    assert statuses(tmp_path, dead_inngest_url, FORGED) == [404] * 10 + [429] * 20


def test_a_trusted_proxy_says_who_the_client_is(tmp_path: Path, dead_inngest_url: str) -> None:
    assert statuses(tmp_path, dead_inngest_url, FORGED, trusted_proxies="127.0.0.1") == [404] * 30
    same = ["198.51.100.7"] * 11
    assert statuses(tmp_path, dead_inngest_url, same, trusted_proxies="127.0.0.0/8") == [404] * 10 + [429]


def test_a_trusted_proxy_must_be_an_address_or_a_network() -> None:
    assert (
        get_settings(trusted_proxies=" 10.0.0.5, 10.1.0.0/16 ,*").trusted_proxies == "10.0.0.5,10.1.0.0/16,*"
    )
    try:
        get_settings(trusted_proxies="nginx")
    except SettingsError as exc:
        assert "TRUSTED_PROXIES" in str(exc) and "not an IP address or network" in str(exc)
    else:
        raise AssertionError("a host name was accepted")
