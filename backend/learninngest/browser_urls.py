"""Where a person's browser reaches a server of this machine: directly, or through a proxy.

The kit's servers listen on 127.0.0.1. On a laptop the browser runs on the same machine
and opens `http://127.0.0.1:<port>/` as it is. On JupyterHub, Binder or a remote Jupyter
server it does not: there the Jupyter server's own proxy (jupyter-server-proxy) passes
`<server base>/proxy/<port>/` on to the port, and on GitHub Codespaces a forwarded port
has a host name of its own. A *template* with `{port}` says which:
`/user/ana/proxy/{port}/` or `https://name-{port}.app.github.dev/`.

`detect()` picks the template from KIT_PROXY_URL ("auto": from the environment a hosted
Jupyter server gives its kernels), `from_prefix()` from the `X-Forwarded-Prefix` that
jupyter-server-proxy sends with a request. Only loopback URLs are translated: any other
address is already one the browser can reach, or not ours to change. Pure: no IO.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

AUTO = "auto"
OFF = "off"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
# jupyter-server-proxy's context path: "<server base_url>proxy/<port>" (no trailing slash).
_PROXY_PREFIX = re.compile(r"^(?P<base>/(?:.*/)?)proxy/(?P<port>\d{1,5})/?$")


@dataclass(frozen=True)
class BrowserUrls:
    """How a browser reaches a port of this machine; `template` None: at 127.0.0.1 directly."""

    template: str | None = None
    source: str = ""
    """What the template came from, for a person: "JupyterHub (JUPYTERHUB_SERVICE_PREFIX)"."""

    @property
    def hosted(self) -> bool:
        return self.template is not None

    def url(self, url: str) -> str:
        """`url` as a browser opens it: a loopback URL through the template, any other as it is."""
        if self.template is None:
            return url
        parts = urlsplit(url)
        if parts.hostname is None or parts.port is None or parts.hostname not in LOOPBACK_HOSTS:
            return url
        base = self.template.replace("{port}", str(parts.port))
        tail = parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else "")
        return base.rstrip("/") + "/" + tail


DIRECT = BrowserUrls()


def check_template(value: str) -> str:
    """KIT_PROXY_URL's value, checked: "auto", "off", or a path or http(s) URL with one {port}."""
    text = value.strip()
    if text.lower() in {AUTO, OFF, ""}:
        return text.lower() or OFF
    if text.count("{port}") != 1:
        raise ValueError("must be auto, off, or a URL with one {port}, e.g. /user/ana/proxy/{port}/")
    probe = urlsplit(text.replace("{port}", "1"))
    if not (text.startswith("/") or (probe.scheme in {"http", "https"} and probe.netloc)):
        raise ValueError("must start with / (a path on the Jupyter server) or http(s)://")
    return text


def detect(setting: str, environ: Mapping[str, str]) -> BrowserUrls:
    """From KIT_PROXY_URL (`setting`) and, when it is "auto", the environment of a hosted kernel."""
    setting = check_template(setting)
    if setting == OFF:
        return DIRECT
    if setting != AUTO:
        return BrowserUrls(setting, "KIT_PROXY_URL")
    return _from_environment(environ)


def _from_environment(environ: Mapping[str, str]) -> BrowserUrls:
    prefix = environ.get("JUPYTERHUB_SERVICE_PREFIX", "")
    if prefix.startswith("/"):
        # Binder runs its servers on a JupyterHub too; its own variables only say so.
        where = (
            "Binder" if environ.get("BINDER_LAUNCH_HOST") or environ.get("BINDER_REQUEST") else "JupyterHub"
        )
        # An absolute public URL (JupyterHub.public_url set) makes links that work outside
        # the notebook too; without one, a path on the hub's own origin does.
        public = environ.get("JUPYTERHUB_PUBLIC_URL", "")
        base = public if urlsplit(public).scheme in {"http", "https"} else prefix
        return BrowserUrls(f"{base.rstrip('/')}/proxy/{{port}}/", f"{where} (JUPYTERHUB_SERVICE_PREFIX)")
    name = environ.get("CODESPACE_NAME", "")
    domain = environ.get("GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN", "")
    if environ.get("CODESPACES", "").lower() == "true" and name and domain:
        return BrowserUrls(f"https://{name}-{{port}}.{domain}/", "GitHub Codespaces (CODESPACE_NAME)")
    return DIRECT


def from_prefix(prefix: str) -> BrowserUrls | None:
    """From jupyter-server-proxy's `X-Forwarded-Prefix` (`/user/ana/proxy/8123`); None if not one."""
    match = _PROXY_PREFIX.match(prefix)
    if match is None:
        return None
    return BrowserUrls(f"{match['base']}proxy/{{port}}/", "the Jupyter server's proxy (X-Forwarded-Prefix)")
