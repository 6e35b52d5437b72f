"""`learninngest up | serve | engine | db upgrade | api-key`: usage errors end with a --help hint."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import TYPE_CHECKING

from learninngest import __version__
from learninngest.serving import gc_freeze

if TYPE_CHECKING:  # imported lazily at run time: `engine` processes never load the backend's settings
    from learninngest.config import Settings

# httpx imports its own command-line tool whenever click is installed (uvicorn brings it):
# click, rich and pygments, ~3 MiB of RSS in each process `up` starts, never used by them. A
# None entry in sys.modules makes that import fail the documented way; httpx then defines a
# stub `httpx.main`. Only before httpx is first imported, i.e. in the CLI's own processes.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None: "not importable"

# Ready to paste as printed: the shell keeps the request id for the next two commands.
CURL_EXAMPLE = """\
  id=$(curl -s -X POST {backend}/api/v1/chat -H 'Content-Type: application/json' \\
       -d '{{"query": "What is the capital of France?"}}' \\
       | python3 -c 'import json, sys; print(json.load(sys.stdin)["request_id"])')
  curl -s -w '\\n' "{backend}/api/v1/chat/result/$id?wait=10"
  curl -sN "{backend}/api/v1/chat/$id/stream"      # the answer token by token (SSE)
Or open the chat page: {backend}/"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\nTry '{self.prog} --help' for help.\n")


def _port_error(port: int, flag: str) -> int:
    print(f"error: port {port} is already in use; pick another with {flag} PORT", file=sys.stderr)
    return 2


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="learninngest", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    up = commands.add_parser("up", help="backend + offline model + local Inngest engine")
    up.add_argument("--host", help="interface for both servers (default HOST, 127.0.0.1)")
    up.add_argument("--port", type=int, help="backend port (default PORT, 8000)")
    up.add_argument("--engine-port", type=int, default=8288, help="engine port (default 8288)")
    up.add_argument(
        "--workers",
        type=int,
        dest="backend_workers",
        metavar="N",
        help="backend processes serving the port (default BACKEND_WORKERS, 1); >1 needs a shared store",
    )

    serve = commands.add_parser("serve", help="the backend only (needs an Inngest server)")
    serve.add_argument("--host", help="interface (default HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default PORT, 8000)")

    db = commands.add_parser("db", help="the result store's schema (PostgreSQL)")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", parser_class=_Parser, required=True)
    db_commands.add_parser("upgrade", help="apply the schema migrations RESULT_STORE_URL lacks (idempotent)")

    commands.add_parser(
        "api-key", help="print a new API key and the hashed line for API_KEYS / API_KEYS_FILE"
    )

    from learninngest.engine.main import add_engine_arguments

    engine = commands.add_parser("engine", help="the local Inngest engine only (like inngest-cli dev)")
    add_engine_arguments(engine)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    """Settings from env and `.env`; a flag given on the command line wins over its variable."""
    from learninngest.config import SettingsError, get_settings

    overrides = {
        name: getattr(args, name)
        for name in ("host", "port", "backend_workers")
        if getattr(args, name, None) is not None
    }
    try:
        return get_settings(**overrides)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_up(args: argparse.Namespace) -> int:
    from learninngest.kit.stack import Stack, StackError
    from learninngest.logs import setup_logging
    from learninngest.serving.ports import port_in_use

    settings = _settings(args)
    for port, flag in ((settings.port, "--port"), (args.engine_port, "--engine-port")):
        if port_in_use(port, settings.host):
            return _port_error(port, flag)
    setup_logging(settings.log_level)
    # The engine in a process of its own: backend and engine each get a core (one GIL each).
    stack = Stack(
        settings=settings,
        backend_port=settings.port,
        engine_port=args.engine_port,
        engine_process=True,
        backend_processes=settings.backend_workers,
    )
    # Ctrl-C stops everything, even when started from a parent that ignores SIGINT (a job
    # started with `&` in a script, some CI runners): Python would keep that ignore otherwise.
    # `kill` / `docker stop` send SIGTERM: stop as cleanly. Either may come while the stack is
    # still starting: whatever has started is stopped.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    gc_freeze.enable()  # a server process from here on (serving/gc_freeze.py)
    try:
        try:
            stack.up()
        except StackError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(repr(stack))
        if stack.processes is not None:
            print(
                f"  {'processes':<14} {stack.processes.count} backend processes, pids {stack.processes.pids}"
            )
            _warn_about_streams(settings)
        print("\nTry it:\n" + CURL_EXAMPLE.format(backend=stack.backend_url))
        print("\nCtrl-C stops everything.", flush=True)
        ended = stack.wait()
        print(f"error: {ended}; stopping everything (see its output above)", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nstopping… (requests still in flight get up to 3 s to finish)", flush=True)
        # Requests cut off by the shutdown are expected now: no tracebacks for them.
        logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
    finally:
        stack.down()
    return 0


def _warn_about_streams(settings: Settings) -> None:
    shared = settings.stream_channel in {"redis", "realtime"} or (
        settings.stream_channel == "auto" and settings.result_store_url.startswith(("redis://", "rediss://"))
    )
    if not shared:
        logging.getLogger("learninngest.kit").warning(
            "several backend processes with RESULT_STORE_URL=%s: a token stream (…/stream) shows the "
            "tokens only when it is served by the process that runs the request's step; otherwise "
            "just its status and the final answer. A redis:// store or STREAM_CHANNEL=realtime "
            "streams across processes.",
            settings.result_store_url.split("://", 1)[0] + "://…",
        )


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from learninngest.app import create_app
    from learninngest.serving.limits import ServerLimits, uvicorn_config
    from learninngest.serving.ports import port_in_use

    settings = _settings(args)
    if port_in_use(settings.port, settings.host):
        return _port_error(settings.port, "--port")
    limits = ServerLimits.from_settings(settings)
    config = uvicorn_config(
        create_app(settings), host=settings.host, port=settings.port, limits=limits, log_level="warning"
    )
    gc_freeze.enable()  # a server process from here on (serving/gc_freeze.py)
    uvicorn.Server(config).run()
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    import asyncio

    from learninngest.store import open_store
    from learninngest.store.base import StoreUnavailable
    from learninngest.store.finishing import redact_url

    settings = _settings(args)
    store = open_store(settings.result_store_url)
    upgrade = getattr(store, "upgrade", None)
    if upgrade is None:
        # SQLite creates its tables on first use; memory and Redis have no schema.
        print(f"{redact_url(settings.result_store_url)}: nothing to upgrade (schema made on first use)")
        return 0
    try:
        applied = asyncio.run(upgrade())
    except StoreUnavailable as exc:
        print(f"error: {exc}. Check RESULT_STORE_URL.", file=sys.stderr)
        return 1
    where = redact_url(settings.result_store_url)
    print(f"{where}: applied migration(s) {applied}" if applied else f"{where}: schema is up to date")
    return 0


def cmd_api_key(_args: argparse.Namespace) -> int:
    from learninngest.api.keys import new_key_line

    key, line = new_key_line()
    print(f"API key (give it to the client; it is not stored): {key}")
    print(f"line for API_KEYS / API_KEYS_FILE (name it: replace 'client='): {line}")
    return 0


def cmd_engine(args: argparse.Namespace) -> int:
    from learninngest.engine.main import run_engine

    return run_engine(args)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"up": cmd_up, "serve": cmd_serve, "engine": cmd_engine, "db": cmd_db, "api-key": cmd_api_key}
    if args.command is None:
        parser.print_help()
        return 2
    return handlers[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
