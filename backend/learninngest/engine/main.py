"""`learninngest engine`: flags named like `inngest-cli dev`; runs uvicorn in the foreground.

    learninngest engine -u http://127.0.0.1:8000/api/inngest
replaces
    npx inngest-cli dev -u http://127.0.0.1:8000/api/inngest --no-discovery
"""

from __future__ import annotations

import argparse
import logging
import sys

from learninngest.engine.settings import DEFAULT_DB_PATH, EngineSettings
from learninngest.retention import DEFAULT_RETENTION_S


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-u",
        "--sdk-url",
        dest="app_urls",
        action="append",
        default=[],
        metavar="URL",
        help="an app's serve URL to sync at start-up (repeatable), e.g. http://127.0.0.1:8000/api/inngest",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", "-p", type=int, default=8288, help="port to listen on (default 8288)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--db", default=DEFAULT_DB_PATH, metavar="PATH", help=f"SQLite file (default {DEFAULT_DB_PATH})"
    )
    where.add_argument("--memory", action="store_true", help="keep the state in memory (lost on exit)")
    parser.add_argument(
        "--signing-key", default=None, help="sign calls and require the SDK's bearer (cloud mode)"
    )
    parser.add_argument("--signing-key-fallback", default=None, help="a second accepted signing key")
    parser.add_argument("--event-key", default=None, help="only accept events sent with this key")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        metavar="F",
        help="real wait = intended delay x F for backoff, sleeps, timeouts and cron schedules (e.g. 0.01)",
    )
    parser.add_argument("--max-concurrency", type=int, default=64, help="runs called at once (default 64)")
    parser.add_argument(
        "--call-timeout", type=float, default=300.0, metavar="S", help="seconds per call to an app"
    )
    parser.add_argument(
        "--retention",
        type=float,
        default=DEFAULT_RETENTION_S,
        metavar="S",
        help="seconds to keep finished runs, their steps and old events (default 604800, 7 days)",
    )
    parser.add_argument(
        "--inline-state-limit",
        type=int,
        default=1024 * 1024,
        metavar="BYTES",
        help="larger call bodies go with use_api: the SDK fetches the run state (default 1 MiB)",
    )
    parser.add_argument(
        "--connect-gateway-port",
        type=int,
        default=None,
        metavar="PORT",
        help="connect workers' WebSocket gateway (default: --port + 1, as the Dev Server; "
        "0: only on --port, at /v0/connect)",
    )
    parser.add_argument(
        "--connect-lease",
        type=float,
        default=120.0,
        metavar="S",
        help="seconds a connect worker holds a call without extending it (default 120)",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
        help="the engine's log level (default INFO: one line per run event)",
    )
    # Accepted so that `npx inngest-cli dev -u URL --no-discovery` works with `learninngest engine`
    # in its place: this engine never discovers or polls apps, it syncs the -u URLs only.
    for flag in ("--no-discovery", "--no-poll"):
        parser.add_argument(
            flag, action="store_true", help="accepted for inngest-cli compatibility (always on)"
        )


def settings_from_args(args: argparse.Namespace) -> EngineSettings:
    return EngineSettings(
        host=args.host,
        port=args.port,
        app_urls=list(args.app_urls or []),
        db_path=None if args.memory else args.db,
        signing_key=args.signing_key,
        signing_key_fallback=args.signing_key_fallback,
        event_key=args.event_key,
        time_scale=args.time_scale,
        max_concurrency=args.max_concurrency,
        call_timeout_s=args.call_timeout,
        retention_s=args.retention,
        inline_state_limit=args.inline_state_limit,
        connect_gateway_port=_gateway_port(args),
        connect_lease_s=getattr(args, "connect_lease", 120.0),
    )


def _gateway_port(args: argparse.Namespace) -> int | None:
    port = getattr(args, "connect_gateway_port", None)
    if port is None:
        return int(args.port) + 1
    return port or None


def run_engine(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C. Returns the process exit code."""
    import uvicorn

    from learninngest.engine.app import create_engine_app
    from learninngest.serving import gc_freeze
    from learninngest.serving.limits import uvicorn_config
    from learninngest.serving.parent_death import follow_parent
    from learninngest.serving.ports import port_in_use

    settings = settings_from_args(args)
    if settings.time_scale <= 0:
        print("error: --time-scale must be greater than 0", file=sys.stderr)
        return 2
    if settings.retention_s <= 0:
        print("error: --retention must be greater than 0 seconds", file=sys.stderr)
        return 2
    if port_in_use(settings.port, settings.host):
        print(f"error: port {settings.port} is already in use; pick another with --port", file=sys.stderr)
        return 2
    gateway = settings.connect_gateway_port
    if gateway and port_in_use(gateway, settings.host):
        print(
            f"error: port {gateway} (the connect gateway) is already in use; pick another with "
            "--connect-gateway-port (0: serve it on --port only)",
            file=sys.stderr,
        )
        return 2
    if settings.connect_lease_s < 1:
        print("error: --connect-lease must be at least 1 second", file=sys.stderr)
        return 2
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=getattr(args, "log_level", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        # One line per engine event is enough; httpx would add a line per HTTP call.
        logging.getLogger("httpx").setLevel(logging.WARNING)
    mode = "cloud (signed)" if settings.signing_key else "dev"
    login = " (log in with the signing key)" if settings.signing_key else ""
    print(
        f"LearnInngest engine ({mode}) on http://{settings.host}:{settings.port}  dashboard: /{login}",
        file=sys.stderr,
    )
    # The same limits as every kit server (serving/limits.py): slow requests cannot pile up.
    config = uvicorn_config(
        create_engine_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
    )
    follow_parent()  # started by `learninngest up`: stop with it, even if it is SIGKILLed
    gc_freeze.enable()  # a server process from here on (serving/gc_freeze.py)
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":  # python -m learninngest.engine.main -u URL
    _parser = argparse.ArgumentParser(prog="learninngest engine")
    add_engine_arguments(_parser)
    sys.exit(run_engine(_parser.parse_args()))
