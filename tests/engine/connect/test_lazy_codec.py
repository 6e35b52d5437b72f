"""protobuf and inngest-py's connect package load with the first connect request, not with the engine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("google.protobuf", "inngest.connect")  # what the codec imports

# A fresh interpreter (this one has imported the codec for other tests): what `up` imports, an
# engine serving on a real port, the heavy modules loaded when it answers /health, then after a
# bad POST /v0/connect/start (the codec reads it) and the status of that reply.
STARTED_ENGINE = """
import json, sys
import httpx
import learninngest.cli
from learninngest.engine.app import create_engine_app
from learninngest.engine.settings import EngineSettings
from learninngest.kit.servers import BackgroundServer

heavy = sys.argv[1:]
with BackgroundServer(create_engine_app(EngineSettings(db_path=None)), name="engine") as server:
    assert httpx.get(server.url + "/health", timeout=10).status_code == 200
    idle = [name for name in heavy if name in sys.modules]
    status = httpx.post(server.url + "/v0/connect/start", content=b"not protobuf", timeout=10).status_code
    used = [name for name in heavy if name in sys.modules]
print(json.dumps({"idle": idle, "status": status, "used": used}))
"""


def test_a_started_engine_loads_the_connect_codec_with_the_first_connect_request(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", STARTED_ENGINE, *HEAVY],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["idle"] == []
    assert seen["status"] == 400  # the codec read the body and refused it
    assert seen["used"] == list(HEAVY)
