"""The functions a connect worker serves in these tests, and a worker process to kill.

`python -m tests.engine.connect.worker_app ENGINE_URL APP_ID INSTANCE_ID MARKER_DIR [--hang]`
connects to the engine and serves the functions until it is killed: no HTTP port at all.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import inngest
from inngest.connect import connect


def make_functions(
    client: inngest.Inngest, instance_id: str, marker_dir: Path, *, hang: bool = False
) -> list[inngest.Function[Any]]:
    @client.create_function(
        fn_id="steps", trigger=inngest.TriggerEvent(event="test/connect.steps"), retries=0
    )
    async def steps(ctx: inngest.Context) -> dict[str, Any]:
        async def one() -> int:
            return int(ctx.event.data["n"]) + 1

        first = await ctx.step.run("one", one)

        async def two() -> int:
            return first * 10

        second = await ctx.step.run("two", two)
        return {"first": first, "second": second, "worker": instance_id}

    @client.create_function(fn_id="hold", trigger=inngest.TriggerEvent(event="test/connect.hold"), retries=3)
    async def hold(ctx: inngest.Context) -> str:
        async def held() -> str:
            # The test knows the call reached this worker when the marker is there.
            (marker_dir / f"{instance_id}.{ctx.attempt}").write_text(ctx.run_id)
            if hang:
                await asyncio.sleep(3600)  # killed before this ends
            return f"done by {instance_id}"

        return await ctx.step.run("held", held)

    return [steps, hold]


def client_for(engine_url: str, app_id: str) -> inngest.Inngest:
    return inngest.Inngest(
        app_id=app_id, is_production=False, api_base_url=engine_url, event_api_base_url=engine_url
    )


async def _main(engine_url: str, app_id: str, instance_id: str, marker_dir: Path, hang: bool) -> None:
    client = client_for(engine_url, app_id)
    conn = connect(
        [(client, make_functions(client, instance_id, marker_dir, hang=hang))], instance_id=instance_id
    )
    await conn.start()


if __name__ == "__main__":
    url, app, instance, markers = sys.argv[1:5]
    asyncio.run(_main(url, app, instance, Path(markers), "--hang" in sys.argv[5:]))
