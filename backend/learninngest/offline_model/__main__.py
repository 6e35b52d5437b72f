"""`python -m learninngest.offline_model [--host 127.0.0.1] [--port 8399]`: the model alone.

Settings (OFFLINE_SEED, OFFLINE_LATENCY_MEAN_MS, ...) come from the environment and `.env`.
"""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn
from pydantic import ValidationError

from learninngest.config import Settings
from learninngest.offline_model.app import OfflineModelConfig, create_offline_model_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m learninngest.offline_model",
        description="Run the deterministic OpenAI-compatible offline model on its own.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8399, help="port to listen on")
    parser.add_argument("--log-level", default="info", help="uvicorn and model log level")
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        # Only the offline model's own settings matter here; report them plainly.
        print(f"Invalid settings: {exc}", file=sys.stderr)
        return 2
    # One line per injected fault is the point of running it alone; show them.
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    app = create_offline_model_app(OfflineModelConfig.from_settings(settings))
    print(f"offline model: http://{args.host}:{args.port}/v1 (Ctrl+C to stop)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level.lower())
    return 0


if __name__ == "__main__":
    sys.exit(main())
