"""Expression speed: microseconds per `evaluate()` call for the expressions triggers, waits
and cancels use (engine/cel/expressions.py), on a small event and on a 256 KiB one.

Pure CPU, no servers. Usage:
    python bench/expressions_eval.py [--n 20000]
Prints one line per expression; docs/performance.md ("Expressions") keeps the figures.
"""

from __future__ import annotations

import argparse
import time

from learninngest.engine.cel.expressions import evaluate

SMALL = {
    "name": "app/order.created",
    "data": {"id": "o-1", "user": {"id": "u-7"}, "total": 42, "tags": ["a"]},
}
BIG = {"name": "app/doc", "data": SMALL["data"] | {"blob": "x" * 256 * 1024}}
EXPRESSIONS = [
    "event.data.total > 10",
    "event.data.user.id == 'u-7' && event.data.total >= 42",
    "async.data.id == event.data.id",
    "event.data.missing == 'x'",
]


def per_call_us(expr: str, env: dict[str, object], n: int) -> float:
    evaluate(expr, env)  # compile once, as the engine does (cached)
    start = time.perf_counter()
    for _ in range(n):
        evaluate(expr, env)
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    args = parser.parse_args()
    print(f"{'expression':58} {'small µs':>9} {'256 KiB µs':>11}")
    for expr in EXPRESSIONS:
        small = per_call_us(expr, {"event": SMALL, "async": SMALL}, args.n)
        big = per_call_us(expr, {"event": BIG, "async": SMALL}, max(1, args.n // 100))
        print(f"{expr:58} {small:9.2f} {big:11.1f}")


if __name__ == "__main__":
    main()
