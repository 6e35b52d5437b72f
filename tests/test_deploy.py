"""deploy/: the compose file is valid Compose, and names only settings and commands that exist.

No container runtime runs here (nor in CI): the file is checked against the Compose
specification's JSON schema that check-jsonschema carries, offline; it has not been run.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from learninngest.cli import build_parser
from learninngest.config import Settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_the_compose_file_follows_the_compose_specification() -> None:
    proc = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec", str(DEPLOY / "compose.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_backend_is_configured_with_real_settings_only() -> None:
    services = compose()["services"]
    fields = {name.upper() for name in Settings.model_fields}
    for name in ("backend", "migrate"):
        environment = services[name]["environment"]
        assert set(environment) <= fields, set(environment) - fields
    backend = services["backend"]["environment"]
    # Production mode: signed Inngest, a shared store, keys.
    assert backend["INNGEST_DEV"] == "0"
    assert backend["RESULT_STORE_URL"].startswith("postgresql://")
    assert "API_KEYS" in backend and "PUBLIC_URL" in backend
    assert backend["TRUSTED_PROXIES"] == "*"  # nginx says who the client is, for per-address limits
    assert services["backend"]["deploy"]["replicas"] > 1


def test_the_commands_it_runs_exist() -> None:
    services = compose()["services"]
    migrate = services["migrate"]["command"]
    assert migrate[:1] == ["learninngest"]
    assert build_parser().parse_args(migrate[1:]).db_command == "upgrade"
    assert services["inngest"]["command"][:2] == ["inngest", "start"]
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert 'CMD ["learninngest", "serve"]' in dockerfile
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (wanted,) = re.findall(r'pip install "\.\[([a-z,]+)\]"', dockerfile)
    assert set(wanted.split(",")) <= set(extras)
    for mounted in ("nginx.conf", "postgres-init.sql"):
        assert (DEPLOY / mounted).is_file()
