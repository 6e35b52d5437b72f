"""browser_urls.py: which URL a browser opens for a server of this machine (pure, no servers)."""

from __future__ import annotations

import pytest

from learninngest.browser_urls import DIRECT, BrowserUrls, check_template, detect, from_prefix
from learninngest.config import SettingsError, get_settings

HUB = {"JUPYTERHUB_SERVICE_PREFIX": "/user/ana/", "JUPYTERHUB_PUBLIC_URL": ""}


def test_locally_every_url_stays_as_it_is() -> None:
    urls = detect("auto", {"HOME": "/home/ana"})
    assert urls == DIRECT and not urls.hosted
    assert urls.url("http://127.0.0.1:8123/docs") == "http://127.0.0.1:8123/docs"


def test_on_jupyterhub_loopback_urls_go_through_the_users_proxy() -> None:
    urls = detect("auto", HUB)
    assert urls.hosted and urls.source == "JupyterHub (JUPYTERHUB_SERVICE_PREFIX)"
    assert urls.url("http://127.0.0.1:8123/") == "/user/ana/proxy/8123/"
    assert urls.url("http://127.0.0.1:8123/docs") == "/user/ana/proxy/8123/docs"
    assert urls.url("http://localhost:9000/runs/01ABC?x=1") == "/user/ana/proxy/9000/runs/01ABC?x=1"
    # Not a server of this machine: nothing to translate.
    assert urls.url("https://app.inngest.com/") == "https://app.inngest.com/"


def test_a_public_hub_url_makes_absolute_links() -> None:
    urls = detect("auto", HUB | {"JUPYTERHUB_PUBLIC_URL": "https://hub.example.org/user/ana/"})
    assert urls.url("http://127.0.0.1:8123/") == "https://hub.example.org/user/ana/proxy/8123/"


def test_binder_is_a_jupyterhub_and_says_so() -> None:
    env = {
        "JUPYTERHUB_SERVICE_PREFIX": "/binder/jupyter/user/org-repo-x1/",
        "BINDER_LAUNCH_HOST": "https://b/",
    }
    urls = detect("auto", env)
    assert urls.source.startswith("Binder")
    assert urls.url("http://127.0.0.1:8123/") == "/binder/jupyter/user/org-repo-x1/proxy/8123/"


def test_codespaces_forwarded_ports_have_host_names_of_their_own() -> None:
    env = {
        "CODESPACES": "true",
        "CODESPACE_NAME": "ana-kit-x7",
        "GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN": "app.github.dev",
    }
    assert (
        detect("auto", env).url("http://127.0.0.1:8123/docs") == "https://ana-kit-x7-8123.app.github.dev/docs"
    )


def test_an_explicit_template_wins_and_off_turns_detection_off() -> None:
    assert detect("/user/ben/proxy/{port}/", {}).url("http://127.0.0.1:1/") == "/user/ben/proxy/1/"
    assert detect("/user/ben/proxy/{port}/", HUB).source == "KIT_PROXY_URL"
    assert detect("off", HUB) == DIRECT


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("/user/ana/proxy/", "one {port}"),
        ("/a/{port}/{port}/", "one {port}"),
        ("user/{port}/", "must start with /"),
        ("ftp://host/{port}/", "must start with /"),
    ],
)
def test_a_bad_template_is_refused_naming_the_variable(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_template(value)
    with pytest.raises(SettingsError, match="KIT_PROXY_URL"):
        get_settings(kit_proxy_url=value)


def test_jupyter_server_proxys_prefix_gives_the_template_of_its_other_ports() -> None:
    urls = from_prefix("/user/ana/proxy/8123")
    assert urls == BrowserUrls("/user/ana/proxy/{port}/", urls.source if urls else "")
    assert from_prefix("/proxy/8123") is not None  # a server at / (no hub)
    assert from_prefix("/user/ana/somewhere") is None
    assert from_prefix("") is None
