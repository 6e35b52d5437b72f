"""The README's configuration table and .env.example list every setting, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from learninngest.config import Settings

ROOT = Path(__file__).resolve().parents[1]
VARIABLES = sorted(name.upper() for name in Settings.model_fields)


@pytest.mark.parametrize("variable", VARIABLES)
def test_every_setting_is_in_the_readme_table(variable: str) -> None:
    table = (ROOT / "README.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    assert f"`{variable}`" in table


@pytest.mark.parametrize("variable", VARIABLES)
def test_every_setting_is_in_env_example(variable: str) -> None:
    assert re.search(rf"^#?\s?{variable}=", (ROOT / ".env.example").read_text(), re.MULTILINE)


def test_env_example_names_only_real_settings() -> None:
    names = re.findall(r"^#?\s?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE)
    assert sorted(set(names) - set(VARIABLES)) == []
