"""Binder's and Codespaces' files, checked offline (neither service can be reached from here).

Binder: `repo2docker --no-build` writes the Dockerfile mybinder.org would build from this
repository, without Docker and without the network; the test reads it. Codespaces: the
devcontainer.json is checked against a schema of the properties it uses (written from
the Dev Container reference: the official schema cannot be downloaded here), with no
other property allowed, so that a misspelt key fails here rather than being ignored
there. docs/hosted.md says what was run for real and what only checked.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / ".binder"
REPO2DOCKER = Path(sys.executable).parent / "repo2docker"

LIFECYCLE = {
    "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}, {"type": "object"}]
}
PORT_ATTRIBUTES = {
    "type": "object",
    "properties": {
        "label": {"type": "string"},
        "onAutoForward": {
            "enum": ["notify", "openBrowser", "openBrowserOnce", "openPreview", "silent", "ignore"]
        },
        "protocol": {"enum": ["http", "https"]},
    },
    "additionalProperties": False,
}
DEVCONTAINER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "image"],
    "properties": {
        "name": {"type": "string"},
        # A published dev container image: registry/path:tag.
        "image": {"type": "string", "pattern": r"^[a-z0-9.-]+(/[a-z0-9._-]+)+:[A-Za-z0-9._-]+$"},
        "features": {"type": "object"},
        "onCreateCommand": LIFECYCLE,
        "postCreateCommand": LIFECYCLE,
        "forwardPorts": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 65535}},
        "portsAttributes": {"type": "object", "additionalProperties": PORT_ATTRIBUTES},
        "otherPortsAttributes": PORT_ATTRIBUTES,
        "containerEnv": {"type": "object", "additionalProperties": {"type": "string"}},
        "customizations": {
            "type": "object",
            "properties": {
                "vscode": {
                    "type": "object",
                    "properties": {
                        "extensions": {
                            "type": "array",
                            "items": {
                                "type": "string",
                                "pattern": r"^[a-z0-9A-Z][a-z0-9A-Z-]*\.[a-z0-9A-Z][a-z0-9A-Z-]*$",
                            },
                        },
                        "settings": {"type": "object"},
                    },
                    "additionalProperties": False,
                }
            },
        },
    },
    "additionalProperties": False,
}


def conda_pins(path: Path) -> set[str]:
    deps = yaml.safe_load(path.read_text())["dependencies"]
    return {d for d in deps if isinstance(d, str) and d != "pip"}


def test_binder_installs_the_same_pins_as_the_learners_environment() -> None:
    # The root environment.yml installs the kit with pip from the source tree, which repo2docker
    # has not copied in yet when it builds the environment; .binder/ has the same conda
    # packages and installs the kit in postBuild.
    assert conda_pins(BINDER / "environment.yml") == conda_pins(ROOT / "environment.yml")
    notebooks = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"][
        "notebooks"
    ]
    assert any(dep.startswith("jupyter-server-proxy") for dep in notebooks)
    assert any(pin.startswith("jupyter-server-proxy") for pin in conda_pins(BINDER / "environment.yml"))
    post_build = BINDER / "postBuild"
    assert os.access(post_build, os.X_OK)
    assert 'pip install --no-cache-dir -e ".[notebooks]"' in post_build.read_text()


def test_repo2docker_builds_the_environment_then_installs_the_kit_from_the_source(tmp_path: Path) -> None:
    if not REPO2DOCKER.exists():
        pytest.fail("repo2docker is missing: it is in the dev extra (`make install`)", pytrace=False)
    done = subprocess.run(
        [
            str(REPO2DOCKER),
            "--no-build",
            "--no-run",
            "--debug",
            "--user-id",
            "1000",
            "--user-name",
            "jovyan",
            ".",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "Building conda environment for python=3.11" in out
    lines = out.splitlines()

    def first(pattern: str) -> int:
        found = [i for i, line in enumerate(lines) if re.search(pattern, line)]
        assert found, f"{pattern!r} not in the Dockerfile:\n{out}"
        return found[0]

    environment = first(r"env update .*--file \"\.binder/environment\.yml\"")
    source = first(r"^COPY --chown=1000:1000 src/ ")
    post_build = first(r"^RUN \./\.binder/postBuild$")
    assert environment < source < post_build  # the kit is installed once its source is there
    assert "USER ${NB_USER}" in lines[source:post_build]  # as the notebook user, not root


def test_the_devcontainer_uses_documented_properties_only() -> None:
    config = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text())
    jsonschema.validate(config, DEVCONTAINER_SCHEMA)
    # Its commands are this repository's: make targets that exist.
    makefile = (ROOT / "Makefile").read_text()
    target = config["postCreateCommand"].removeprefix("make ").split()[0]
    assert re.search(rf"^{re.escape(target)}:", makefile, re.MULTILINE), target
    assert "lab:" in makefile and 8888 in config["forwardPorts"]


def test_a_misspelt_devcontainer_key_is_caught() -> None:
    config = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text())
    with pytest.raises(jsonschema.ValidationError, match="postCreateComand"):
        jsonschema.validate({**config, "postCreateComand": "make install"}, DEVCONTAINER_SCHEMA)
