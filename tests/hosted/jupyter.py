"""A real Jupyter server (or JupyterHub) for the hosted tests, and a notebook's kernel over its API.

`JupyterServer` runs `jupyter server` with a token and a base URL (as JupyterHub runs a
student's server), `Kernel` starts a kernel through the server's sessions API and runs
cells over the kernel's websocket, as a browser's notebook does: the stack then comes up
inside that kernel exactly as it does for a student. Every process is started in a
session of its own and stopped at the end, also when the test fails; its log stays in
the test's folder and is shown when it does not come up.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websocket

from learninngest.kit.servers import free_port

BIN = Path(sys.executable).parent
START_TIMEOUT_S = 60
CELL_TIMEOUT_S = 90


class HostedError(RuntimeError):
    """A server or a kernel did not do what the test needs; the message has its log."""


def stop_process_group(proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM to the process group we started (the process and its children), then SIGKILL."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # whatever of the group is left
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)


def isolated_jupyter_env(folder: Path, **extra: str) -> dict[str, str]:
    """The environment of a Jupyter process that reads and writes only under `folder`."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **extra}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    for name, sub in (
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("IPYTHONDIR", "ipython"),
    ):
        env[name] = str(folder / sub)
    env.pop("JUPYTER_TOKEN", None)
    return env


def wait_until_up(url: str, headers: dict[str, str], proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HostedError(f"{proc.args!r} exited with {proc.returncode}; its log:\n{tail(log)}")
        try:
            reply = httpx.get(url, headers=headers, timeout=2)
            if reply.status_code == 200:
                return
            last = f"{reply.status_code} {reply.text[:200]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.2)
    raise HostedError(f"{url} not up after {START_TIMEOUT_S} s ({last}); log:\n{tail(log)}")


def tail(path: Path, lines: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


@dataclass
class JupyterServer:
    """`jupyter server` with jupyter-server-proxy, on 127.0.0.1, under `base_url` (/user/ana/)."""

    folder: Path
    base_url: str = "/user/ana/"
    env: dict[str, str] = field(default_factory=dict)
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's base URL, ending with /."""
        return f"http://127.0.0.1:{self.port}{self.base_url}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    @property
    def root(self) -> Path:
        """The folder the server serves (a notebook `class/x.ipynb` runs its kernel in root/class)."""
        return self.folder / "root"

    def start(self) -> JupyterServer:
        self.port = free_port()
        root = self.root
        root.mkdir(parents=True, exist_ok=True)
        cmd = [
            str(BIN / "jupyter-server"),
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.base_url={self.base_url}",
            f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={self.token}",
        ]
        if os.geteuid() == 0:
            cmd.append("--allow-root")  # a container's root, as on this machine and in CI
        log = self.folder / "jupyter-server.log"
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                cmd,
                cwd=root,
                env=isolated_jupyter_env(self.folder, **self.env),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its kernels are in its group: one signal stops all
            )
        try:
            wait_until_up(f"{self.url}api/status", self.headers, self.proc, log)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process_group(self.proc)
            self.proc = None

    def log(self) -> str:
        return tail(self.folder / "jupyter-server.log")


@dataclass
class CellOutput:
    """What a cell showed: its stdout/stderr text, rich outputs (display data by MIME type), error."""

    text: str = ""
    data: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def html(self) -> str:
        return "\n".join(d["text/html"] for d in self.data if "text/html" in d)

    def plain(self) -> str:
        return "\n".join(d["text/plain"] for d in self.data if "text/plain" in d)


class Kernel:
    """A notebook's kernel on a Jupyter server: started by the sessions API, run over its websocket.

    `server_url` is the server's base URL (ending with /), as the browser reaches it: a
    Jupyter server directly, or a JupyterHub user's server through the hub's proxy.
    """

    def __init__(self, server_url: str, headers: dict[str, str], notebook: str) -> None:
        self.server_url = server_url
        self.headers = headers
        reply = httpx.post(
            f"{server_url}api/sessions",
            headers=headers,
            json={
                "path": notebook,
                "type": "notebook",
                "name": Path(notebook).name,
                "kernel": {"name": "python3"},
            },
            timeout=60,
        )
        if reply.status_code != 201:
            raise HostedError(f"could not start a kernel: {reply.status_code} {reply.text[:500]}")
        body = reply.json()
        self.session_id: str = body["id"]
        self.kernel_id: str = body["kernel"]["id"]
        ws_url = server_url.replace("http://", "ws://", 1)
        self.ws = websocket.create_connection(
            f"{ws_url}api/kernels/{self.kernel_id}/channels?session_id={uuid.uuid4().hex}",
            header=[f"{k}: {v}" for k, v in headers.items()],
            timeout=CELL_TIMEOUT_S,
        )

    def run(self, code: str, timeout: float = CELL_TIMEOUT_S) -> CellOutput:
        """Run one cell; its output once the kernel is idle again. Raises on an error in the cell."""
        msg_id = uuid.uuid4().hex
        self.ws.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "execute_request",
                        "username": "test",
                        "session": uuid.uuid4().hex,
                        "version": "5.3",
                        "date": "",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "content": {"code": code, "silent": False, "store_history": True, "allow_stdin": False},
                    "channel": "shell",
                    "buffers": [],
                }
            )
        )
        out = CellOutput()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise HostedError(
                    f"the cell did not finish in {timeout} s; output so far: {out.text[-2000:]}"
                )
            self.ws.settimeout(left)
            msg = json.loads(self.ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.text += content["text"]
            elif kind in ("display_data", "execute_result"):
                out.data.append(content["data"])
            elif kind == "error":
                out.error = (
                    "\n".join(content.get("traceback", [])) or f"{content['ename']}: {content['evalue']}"
                )
            elif kind == "status" and content["execution_state"] == "idle":
                break
        if out.error:
            raise HostedError(f"the cell raised:\n{out.error}\nstdout:\n{out.text[-2000:]}")
        return out

    def close(self) -> None:
        """Stop the kernel (its stack stops with it: `kit.down()` runs first)."""
        with contextlib.suppress(Exception):
            self.run("from learninngest import kit\nkit.down()", timeout=30)
        with contextlib.suppress(Exception):
            self.ws.close()
        with contextlib.suppress(httpx.HTTPError):
            httpx.delete(f"{self.server_url}api/sessions/{self.session_id}", headers=self.headers, timeout=30)
