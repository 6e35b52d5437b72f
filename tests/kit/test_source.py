"""kit.show: the source a lesson teaches, read from the package, a range and marked lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from learninngest import events, kit
from learninngest.worker import chat_worker, serve


def test_show_prints_a_module_with_its_path_and_line_numbers() -> None:
    source = kit.show(events)
    assert source.path == "learninngest/events.py" and source.first_line == 1
    assert 'CHAT_REQUESTED = "app/chat.requested"' in repr(source)
    assert source._repr_markdown_().startswith("`learninngest/events.py, lines 1-")


def test_show_a_range_by_marker_and_mark_the_lines_that_matter() -> None:
    source = kit.show(
        chat_worker.build_chat_worker,
        start="@client.create_function",
        end="on_failure=on_failure",
        mark="retries=",
    )
    assert source.lines[0].strip().startswith("@client.create_function")
    assert source.lines[-1].strip() == "on_failure=on_failure,"
    marked = [line for line in source.text.splitlines() if line.endswith("# ◀")]
    assert len(marked) == 1 and "retries=settings.worker_retries" in marked[0]
    # Line numbers are the file's own, so the lesson points at the real place.
    file_lines = Path(chat_worker.__file__).read_text().splitlines()
    assert file_lines[source.first_line - 1] == source.lines[0]


def test_show_accepts_an_inngest_function() -> None:
    import inngest

    client = inngest.Inngest(app_id="t", is_production=False)

    @client.create_function(fn_id="f", trigger=inngest.TriggerEvent(event="t/e"))
    async def f(ctx: inngest.Context) -> str:
        return "from f"

    assert 'return "from f"' in kit.show(f).text


def test_a_marker_that_is_gone_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r"no line contains 'no such line'; was the code changed\?"):
        kit.show(serve, start="no such line")
    with pytest.raises(ValueError, match="no shown line contains 'absent'"):
        kit.show(serve.mount_inngest, mark="absent")
