"""Issue 19's targets as ratios of the same round, from `bench/pipeline.py --json FILE`.

Each round runs every system once, one after the other, so a round's ratio compares systems
measured minutes apart on the same machine; the median of the rounds' ratios is what
docs/performance.md quotes, each round's beside it. CPU per request is shown twice: the
systems' own processes (the issue's measure), and with the redis-server's CPU added for the
systems that use it (Celery's and arq's broker and result backend).

    python bench/pipeline_ratios.py FILE [--system learninngest] [--before learninngest-before]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

REDIS_USERS = ("celery", "arq")


def _cpu(name: str, figures: dict[str, float], with_broker: bool) -> float:
    uses_redis = name.split("-")[0] in REDIS_USERS or "redis" in name.split("-")
    return figures["cpu"] + (figures.get("cpu_broker", 0.0) if with_broker and uses_redis else 0.0)


def _row(label: str, ratios: list[float]) -> str:
    each = ", ".join(f"{r:.2f}" for r in ratios)
    return f"| {label} | {statistics.median(ratios):.2f}× ({each}) |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--system", default="learninngest")
    parser.add_argument("--before", default="learninngest-before")
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = json.loads(args.file.read_text())["results"]
    keys = sorted({key.split("|", 1)[1] for key in results}, key=lambda k: [float(x) for x in k.split("|")])
    for setting in keys:
        ms, c = setting.split("|")
        ours = results.get(f"{args.system}|{setting}")
        if not ours:
            continue
        print(
            f"\nmodel {ms} ms, C = {c}: {args.system} ÷ other, per round\n\n| measure | median (each round) |"
        )
        print("| --- | --- |")
        for other in (*REDIS_USERS, args.before):
            theirs = results.get(f"{other}|{setting}")
            if not theirs:
                continue
            pairs = list(zip(ours, theirs, strict=False))
            print(_row(f"throughput ÷ {other}", [a["throughput"] / b["throughput"] for a, b in pairs]))
            print(_row(f"CPU per request ÷ {other}", [a["cpu"] / b["cpu"] for a, b in pairs]))
            if other in REDIS_USERS:
                print(
                    _row(
                        f"CPU per request ÷ {other} with its redis-server",
                        [_cpu(args.system, a, True) / _cpu(other, b, True) for a, b in pairs],
                    )
                )
                print(_row(f"overhead p50 ÷ {other}", [a["p50"] / b["p50"] for a, b in pairs]))
        woken = [f"{r['woken_p50']:.1f}" for r in ours]
        gets = [f"{r['gets']:.2f}" for r in ours]
        print(f"| {args.system}: woken p50 ms by round | {', '.join(woken)} |")
        print(f"| {args.system}: GETs per result by round | {', '.join(gets)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
