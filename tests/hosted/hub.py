"""A real JupyterHub for a class of students, on 127.0.0.1, for the hosted tests.

The hub is `jupyterhub` from PyPI with configurable-http-proxy from npm (installed by
`make hub-proxy` into tests/hosted/hub_proxy). Students log in with the dummy
authenticator; their servers are `jupyterhub-singleuser` processes started by the simple
local-process spawner, with jupyter-server-proxy as on any hub. A service token lets the
test drive the hub's REST API: start a student's server, then reach it through the hub.

Everything runs in a folder of the test's own (database, cookie secret, homes) and every
port is a free one. The hub is started in a process group of its own; at the end it gets
SIGTERM (it stops the students' servers and its proxy), then the whole group, and any
student server still running (they run in sessions of their own), gets SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from learninngest.kit.servers import free_port
from tests.hosted.jupyter import BIN, START_TIMEOUT_S, HostedError, stop_process_group, tail, wait_until_up

ROOT = Path(__file__).resolve().parents[2]
HUB_PROXY = ROOT / "tests" / "hosted" / "hub_proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
SERVICE = "class-test"

CONFIG = """\
c = get_config()  # noqa: F821 - JupyterHub's config loader defines it
c.JupyterHub.bind_url = "http://127.0.0.1:{port}/"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.ConfigurableHTTPProxy.pid_file = {proxy_pid!r}
c.JupyterHub.db_url = "sqlite:///{db}"
c.JupyterHub.cookie_secret_file = {cookie_secret!r}
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = set({users!r})
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {homes!r}
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.args = {args!r}
c.Spawner.notebook_dir = {notebook_dir!r}
c.Spawner.environment = {environment!r}
c.Spawner.start_timeout = {timeout}
c.Spawner.http_timeout = {timeout}
c.JupyterHub.services = [{{"name": "{service}", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [
    {{
        "name": "{service}",
        "scopes": ["admin:users", "admin:servers", "admin:server_state", "access:servers", "list:users"],
        "services": ["{service}"],
    }}
]
"""


def proxy_installed() -> bool:
    return HUB_PROXY.exists()


@dataclass
class Hub:
    """JupyterHub with `users`, each server serving `notebook_dir` (one shared class folder)."""

    folder: Path
    users: tuple[str, ...]
    notebook_dir: Path
    environment: dict[str, str] = field(default_factory=dict)
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    _server_pids: set[int] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def user_url(self, user: str) -> str:
        """A student's server through the hub's proxy, ending with /."""
        return f"{self.url}/user/{user}/"

    def start(self) -> Hub:
        self.port = free_port()
        config = self.folder / "jupyterhub_config.py"
        config.write_text(
            CONFIG.format(
                port=self.port,
                hub_port=free_port(),
                api_port=free_port(),
                proxy=str(HUB_PROXY),
                proxy_pid=str(self.folder / "proxy.pid"),
                db=self.folder / "jupyterhub.sqlite",
                cookie_secret=str(self.folder / "cookie_secret"),
                users=sorted(self.users),
                homes=str(self.folder / "home" / "{username}"),
                singleuser=str(BIN / "jupyterhub-singleuser"),
                args=["--allow-root"] if os.geteuid() == 0 else [],
                notebook_dir=str(self.notebook_dir),
                environment=self.environment,
                timeout=START_TIMEOUT_S,
                service=SERVICE,
                token=self.token,
            )
        )
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        env["CONFIGPROXY_AUTH_TOKEN"] = uuid.uuid4().hex
        log = self.folder / "jupyterhub.log"
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "jupyterhub"), "-f", str(config)],
                cwd=self.folder,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until_up(f"{self.url}/hub/api/", self.headers, self.proc, log)
        except BaseException:
            self.stop()
            raise
        return self

    def start_server(self, user: str) -> None:
        """Start a student's server (as their "Start My Server" button does); wait until it is ready."""
        reply = httpx.post(f"{self.url}/hub/api/users/{user}/server", headers=self.headers, timeout=30)
        if reply.status_code not in (201, 202):
            raise HostedError(
                f"could not start {user}'s server: {reply.status_code} {reply.text}\n{self.log()}"
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            model = httpx.get(f"{self.url}/hub/api/users/{user}", headers=self.headers, timeout=10).json()
            server = (model.get("servers") or {}).get("", {})
            if pid := (server.get("state") or {}).get("pid"):
                self._server_pids.add(int(pid))  # to be sure it stops, even if the hub does not
            if server.get("ready"):
                return
            time.sleep(0.3)
        raise HostedError(f"{user}'s server not ready after {START_TIMEOUT_S} s\n{self.log()}")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process_group(self.proc, timeout=20)  # the hub stops its students' servers first
            self.proc = None
        for pid in self._server_pids:
            with contextlib.suppress(OSError):
                # Still that student's server (not a new process that got its pid)? Each runs
                # in a session, so a group, of its own: its kernels go with it.
                if b"jupyterhub-singleuser" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.killpg(pid, signal.SIGKILL)
        self._server_pids.clear()

    def log(self) -> str:
        return tail(self.folder / "jupyterhub.log", 80)
