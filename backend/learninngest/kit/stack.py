"""Stack: the offline model, an Inngest server and the backend, started in-process.

`Stack.up()` starts the backend (with the offline model mounted on it), then the
Inngest server (the local engine by default), then syncs the app; it is
idempotent, and `down()` frees the threads and ports. Its display lists the URLs:
the pages as the browser opens them (through a hosted Jupyter server's proxy when
there is one, browser_urls.py), the servers as code in this process reaches them.
Several stacks on one machine never share a port (free ports) or a state file
(state_folder.py).
"""

from __future__ import annotations

import atexit
import html
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from learninngest import browser_urls
from learninngest.app import create_app
from learninngest.browser_urls import DIRECT, BrowserUrls
from learninngest.config import DEFAULT_ENGINE_DB, DEFAULT_RESULT_STORE_URL, Settings, get_settings
from learninngest.kit import state_folder
from learninngest.kit.servers import BackgroundServer, ServerStartError, free_port
from learninngest.serving.backend_processes import BackendProcessError, BackendProcesses
from learninngest.serving.child_process import stop_child
from learninngest.serving.limits import ServerLimits
from learninngest.serving.parent_death import env_for_child
from learninngest.worker.serve import SERVE_PATH

if TYPE_CHECKING:
    import inngest

    from learninngest.worker.serve import ServedFunctions

log = logging.getLogger("learninngest.kit")
BROWSER_PAGES = ("chat page", "swagger", "dashboard")
"""The entries of `urls` a person opens in a browser (the others are for code in this process)."""


class StackError(RuntimeError):
    """A part of the stack could not start; the message says which and what to do."""


@dataclass
class Stack:
    """Everything a lesson needs, on 127.0.0.1. Ports 0 = free ports."""

    settings: Settings = field(default_factory=get_settings)
    backend_port: int = 0
    engine_port: int = 0
    engine_process: bool = False
    """Run the local engine as a child process (`learninngest up`: a core of its own), not a thread."""
    backend_processes: int = 1
    """Above 1: the backend in that many child processes on one port (`learninngest up --workers`),
    not in a thread; functions written in cells then cannot be served (they live in this process)."""
    backend: BackgroundServer | None = None
    processes: BackendProcesses | None = None
    engine: BackgroundServer | None = None
    state: state_folder.StateFolder | None = None
    """The folder of this stack's state files, locked while it runs (None: no files)."""
    browser: BrowserUrls = DIRECT
    """How a browser reaches the pages: directly, or through a hosted Jupyter server's proxy."""
    _cli_process: subprocess.Popen[bytes] | None = None
    _external_url: str | None = None

    # --- lifecycle
    def up(self) -> Stack:
        if self.running:
            return self
        base = self.settings
        backend_port = self.backend_port or free_port()
        engine_port = self.engine_port or free_port()
        inngest_url = self._inngest_url(engine_port)
        settings = base.model_copy(
            update={"port": backend_port, "inngest_base_url": inngest_url, "inngest_dev": "1"}
        )
        self.browser = browser_urls.detect(settings.kit_proxy_url, os.environ)
        try:
            settings = self._own_state(settings)
        except state_folder.StateFolderError as exc:
            raise StackError(str(exc)) from exc
        self.settings = settings
        try:
            # Closed gate: POST /chat answers 503 until sync() below has registered the functions.
            if self.backend_processes > 1:
                self.processes = BackendProcesses(settings, self.backend_processes).start()
            else:
                self.backend = BackgroundServer(
                    create_app(settings, wait_for_sync=True),
                    name="backend",
                    host=settings.host,
                    port=backend_port,
                    limits=ServerLimits.from_settings(settings),
                ).start()
            # A connect worker syncs itself over its socket: the server gets no app URL.
            app_url = "" if settings.inngest_connect else f"{self.backend_url}{SERVE_PATH}"
            self._start_inngest(engine_port, app_url)
            self.sync()
        except (ServerStartError, StackError, BackendProcessError) as exc:
            self.down()
            raise StackError(str(exc)) from exc
        atexit.register(self.down)
        log.info("stack up: backend %s, inngest %s", self.backend_url, self.inngest_url)
        return self

    def down(self) -> None:
        # The Inngest server first: it stops calling the backend before the backend goes.
        # A connect worker is the other way round: it says goodbye on its socket (pause,
        # finish the calls in hand, close), which needs the server still there.
        connect = self.settings.inngest_connect
        if connect:
            self._stop_backends()
        if self._cli_process is not None:
            stop_child(self._cli_process)
        if self.engine is not None:
            self.engine.stop()
        if not connect:
            self._stop_backends()
        self.engine = None
        self._cli_process = None
        if self.state is not None:
            self.state.release()  # another stack in this folder may use it now
            self.state = None

    def _stop_backends(self) -> None:
        if self.backend is not None:
            self.backend.stop()
        if self.processes is not None:
            self.processes.stop()
        self.backend = self.processes = None

    @property
    def running(self) -> bool:
        if self.processes is not None:
            return self.processes.running
        return self.backend is not None and self.backend.running

    def wait(self) -> str:
        """Block while the backend serves; return a sentence when a backend process ended."""
        while True:
            if self.processes is None:
                time.sleep(3600)  # one in-process backend: it ends only with us
                continue
            ended = self.processes.wait()
            if ended:
                return ended

    def _own_state(self, settings: Settings) -> Settings:
        """`settings` whose default state files lie in a folder no other running stack uses."""
        engine_file = settings.kit_inngest_server == "local" and settings.engine_db == DEFAULT_ENGINE_DB
        store_file = settings.result_store_url == DEFAULT_RESULT_STORE_URL
        if not (engine_file or store_file or settings.kit_inngest_server == "cli"):
            return settings  # state in memory, or in files somebody chose on purpose
        self.state = state_folder.claim()
        if self.state.path == state_folder.ROOT:
            return settings
        folder = self.state.path
        log.info("stack state in %s: another stack uses %s", folder, state_folder.ROOT)
        update: dict[str, object] = {}
        if engine_file:
            update["engine_db"] = str(folder / "engine.db")
        if store_file:
            update["result_store_url"] = f"sqlite:///{folder / 'results.db'}"
        return settings.model_copy(update=update)

    # --- the Inngest server
    def _inngest_url(self, engine_port: int) -> str:
        kind = self.settings.kit_inngest_server
        if kind.startswith(("http://", "https://")):
            self._external_url = kind.rstrip("/")
            return self._external_url
        return f"http://{self.settings.host}:{engine_port}"

    def _start_inngest(self, port: int, app_url: str) -> None:
        kind = self.settings.kit_inngest_server
        if self._external_url:
            return  # an Inngest server somebody else runs; we only sync to it
        if kind == "cli":
            self._start_cli(port, app_url)
            return
        if kind != "local":
            raise StackError(f"KIT_INNGEST_SERVER={kind!r} is not one of: local, cli, or an http(s) URL.")
        db = self.settings.engine_db
        if db and db != "memory":
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        if self.engine_process:
            self._start_engine_process(port, app_url, db if db and db != "memory" else None)
            return
        from learninngest.engine.app import create_engine_app
        from learninngest.engine.settings import EngineSettings

        engine_settings = EngineSettings(
            host=self.settings.host,
            port=port,
            app_urls=[app_url] if app_url else [],
            db_path=db if db and db != "memory" else None,
            time_scale=self.settings.engine_time_scale,
            retention_s=self.settings.engine_retention_s,
            connect_lease_s=self.settings.engine_connect_lease_s,
        )
        self.engine = BackgroundServer(
            create_engine_app(engine_settings), name="engine", host=self.settings.host, port=port
        )
        self.engine.start()

    def _start_engine_process(self, port: int, app_url: str, db: str | None) -> None:
        """`learninngest engine` as a child: its own GIL, so engine and backend use two cores."""
        cmd = [sys.executable, "-m", "learninngest", "engine", "--host", self.settings.host]
        cmd += ["-u", app_url] if app_url else []
        cmd += ["--port", str(port), "--time-scale", str(self.settings.engine_time_scale)]
        cmd += ["--db", db] if db else ["--memory"]
        cmd += ["--retention", str(self.settings.engine_retention_s)]
        cmd += ["--connect-lease", str(self.settings.engine_connect_lease_s)]
        cmd += ["--log-level", self.settings.log_level]
        cmd += ["--connect-gateway-port", "0"]  # the gateway on --port only: port + 1 may be taken
        # Output goes where ours goes (the terminal of `learninngest up`). The engine stops
        # when this process dies, even by SIGKILL (serving/parent_death.py, Linux).
        self._cli_process = subprocess.Popen(cmd, env=env_for_child())
        self._wait_for_health(port, "the local engine", "its output above")

    def _start_cli(self, port: int, app_url: str) -> None:
        binary = self.settings.inngest_cli or shutil.which("inngest-cli") or shutil.which("inngest")
        if not binary:
            raise StackError(
                "KIT_INNGEST_SERVER=cli but no inngest-cli binary was found: set INNGEST_CLI "
                "to its path, or use KIT_INNGEST_SERVER=local."
            )
        cmd = [binary, "dev", "--no-discovery", "--port", str(port)] + (["-u", app_url] if app_url else [])
        # Its log goes to a file: a pipe nobody reads would block the Dev Server once full.
        log_path = (self.state.path if self.state else state_folder.ROOT) / "inngest-cli.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log_file:
            self._cli_process = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT)
        self._wait_for_health(port, f"inngest-cli ({binary})", str(log_path))

    def _wait_for_health(self, port: int, what: str, log_hint: str) -> None:
        assert self._cli_process is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._cli_process.poll() is not None:
                raise StackError(f"{what} exited with {self._cli_process.returncode}; see {log_hint}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code < 500:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise StackError(f"{what} did not answer on port {port} within 30 s; see {log_hint}")

    def sync(self, timeout: float = 15.0) -> dict[str, object]:
        """PUT the backend's /api/inngest: the SDK registers its functions with the server.

        With INNGEST_CONNECT the connect worker registers them in its handshake: wait for it."""
        assert self.backend is not None or self.processes is not None
        if self.settings.inngest_connect:
            return self._wait_for_connect(max(timeout, 30.0))
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                reply = httpx.put(f"{self.backend_url}{SERVE_PATH}", timeout=10)
                body = reply.json()
                # The SDK answers 200 even when the server refused: read the body (fact sheet §11).
                if reply.status_code == 200 and isinstance(body, dict) and body.get("ok"):
                    self._open_gates()  # the backend may take requests now
                    return body
                last = (
                    str(body.get("error") or body.get("message") or body)
                    if isinstance(body, dict)
                    else str(body)
                )
                if "refused" in last:
                    break  # the server read the functions and said no: retrying cannot help
            except (httpx.HTTPError, ValueError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.1)
        raise StackError(f"could not sync the app with {self.inngest_url}: {last}")

    def _wait_for_connect(self, timeout: float) -> dict[str, object]:
        """The app synced by its connect worker(s); the SDK retries its start every 5 s."""
        if self.processes is not None and self.settings.kit_inngest_server != "local":
            raise StackError("INNGEST_CONNECT with several backend processes needs the local engine")
        deadline = time.monotonic() + timeout
        last = "no connect worker yet"
        while time.monotonic() < deadline:
            if self.processes is None and self.backend is not None:
                worker = self.backend.app.state.connect_worker
                ready = worker is not None and worker.active
            else:  # several processes: the local engine lists the app once a worker synced it
                try:
                    apps = httpx.get(f"{self.inngest_url}/v1/apps", timeout=5).json()["data"]["apps"]
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    apps, last = [], f"{type(exc).__name__}: {exc}"
                ready = any(
                    a.get("app_id") == self.settings.inngest_app_id and str(a.get("url", "")).startswith("ws")
                    for a in apps
                )
            if ready:
                self._open_gates()
                return {"ok": True, "connect": True}
            time.sleep(0.1)
        raise StackError(
            f"the connect worker did not connect to {self.inngest_url} within {timeout:g}s: {last}"
        )

    def _open_gates(self) -> None:
        if self.processes is not None:
            try:
                self.processes.open_gates()  # any of them answered the PUT: every one registers the same
            except BackendProcessError as exc:
                raise StackError(str(exc)) from exc
        elif self.backend is not None:
            self.backend.app.state.sync_gate.open()

    # --- functions written in cells
    @property
    def client(self) -> inngest.Inngest:
        """The backend's `inngest.Inngest` client: create functions with it, send events with it."""
        return self._app_state().inngest

    @property
    def functions(self) -> list[str]:
        """The ids of the functions the backend serves at /api/inngest right now."""
        return self._served().ids()

    def function(self, **options: Any) -> Callable[[Callable[..., Any]], inngest.Function]:
        """`@stack.function(fn_id=..., trigger=...)`: `client.create_function`, then `register`."""

        def decorate(handler: Callable[..., Any]) -> inngest.Function:
            return self.register(self.client.create_function(**options)(handler))

        return decorate

    def register(self, fn: inngest.Function) -> inngest.Function:
        """Serve `fn` on the running backend (same id: replaced) and re-sync with the Inngest server."""
        served = self._served()
        before = served.functions
        served.add(fn)
        try:
            self.sync()
        except StackError:
            served.set(before)  # keep serving what the server accepted
            raise
        return fn

    def unregister(self, fn: inngest.Function | str) -> None:
        """Stop serving a function (the object, or its id) and re-sync: its trigger starts no run."""
        fn_id = fn if isinstance(fn, str) else fn.id
        if not self._served().remove(fn_id):
            raise StackError(f"no function {fn_id!r} is served; served: {', '.join(self.functions)}")
        self.sync()

    def _app_state(self) -> Any:
        if self.processes is not None:
            raise StackError(
                f"The backend runs in {self.processes.count} processes: functions written in cells "
                "need it in this one (backend_processes=1)."
            )
        if self.backend is None:
            raise StackError("The stack is down: call `stack = kit.up()` first.")
        return self.backend.app.state

    def _served(self) -> ServedFunctions:
        return self._app_state().functions

    # --- where things are
    @property
    def backend_url(self) -> str:
        if self.processes is not None:
            return self.processes.url
        return self.backend.url if self.backend else ""

    @property
    def inngest_url(self) -> str:
        return self.settings.inngest_api_url

    @property
    def urls(self) -> dict[str, str]:
        """Pages (BROWSER_PAGES) as a browser opens them; servers as this process reaches them."""
        page = self.browser.url
        return {
            "chat page": page(f"{self.backend_url}/"),
            "backend": self.backend_url,
            "swagger": page(f"{self.backend_url}/docs"),
            "offline model": self.settings.offline_base_url,
            "inngest": self.inngest_url,
            "dashboard": page(f"{self.inngest_url}/"),
        }

    def _notes(self) -> list[str]:
        """What a person needs to read the URLs right; nothing for a lone stack on a laptop."""
        notes = []
        if self.browser.hosted:
            notes.append(
                f"pages open through {self.browser.source}; backend, offline model and inngest "
                "are addresses for code in this kernel"
            )
        if self.state is not None and self.state.path != state_folder.ROOT:
            notes.append(f"state in {self.state.path} (another stack uses {state_folder.ROOT})")
        return notes

    def __repr__(self) -> str:
        state = "up" if self.running else "down"
        lines = [f"Stack ({state})"] + [f"  {name:<14} {url}" for name, url in self.urls.items()]
        return "\n".join(lines + [f"  ({note})" for note in self._notes()])

    def _repr_html_(self) -> str:
        state = "up" if self.running else "down"
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{self._cell(name, url)}</td></tr>"
            for name, url in self.urls.items()
        )
        notes = "".join(f"<p><i>{html.escape(note)}</i></p>" for note in self._notes())
        return f"<b>Stack ({state})</b><table>{rows}</table>{notes}"

    def _cell(self, name: str, url: str) -> str:
        if self.browser.hosted and name not in BROWSER_PAGES:
            return f"<code>{html.escape(url)}</code>"  # the kernel's address: no use as a link
        return f"<a href='{html.escape(url)}' target='_blank'>{html.escape(url)}</a>"
