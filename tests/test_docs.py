"""The README's configuration table and .env.example list every setting, and nothing else;
docs/setup.md's Windows line runs what `make test` runs; every link between the docs works."""

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


def _makefile_recipe(target: str) -> list[str]:
    lines = (ROOT / "Makefile").read_text().split(f"\n{target}:", 1)[1].splitlines()[1:]
    return [
        line.strip() for line in lines[: next(i for i, line in enumerate(lines) if not line.startswith("\t"))]
    ]


def test_the_windows_test_line_runs_the_makefile_test_commands() -> None:
    # The PowerShell line is maintained by hand: it must run the same pytest commands as
    # `make test` (same arguments, same environment), or Windows users grade something else.
    windows = next(
        line for line in (ROOT / "docs" / "setup.md").read_text().splitlines() if line.endswith("# make test")
    )
    windows = windows.split("#", 1)[0]
    for command in _makefile_recipe("test"):
        if "pytest" not in command:
            continue
        env, _, args = command.partition("$(BIN)/pytest")
        for assignment in env.split():
            name, value = assignment.split("=", 1)
            assert f"$env:{name}={value};" in windows, f"setup.md's Windows line lacks {name}={value}"
        assert f".venv\\Scripts\\pytest{args}" in windows, f"setup.md's Windows line lacks: pytest{args}"


DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("page", DOCS, ids=lambda page: page.name)
def test_every_relative_link_leads_to_a_file(page: Path) -> None:
    # The README points into docs/ and the docs at each other: a moved or renamed page
    # must not leave a link behind.
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text())
    for link in links:
        if "://" in link or link.startswith("mailto:"):
            continue
        assert (page.parent / link).exists(), f"{page.relative_to(ROOT)} links to {link}, which is not there"
