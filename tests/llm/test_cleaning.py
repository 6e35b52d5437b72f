"""clean_text: markdown in, plain text out (pure)."""

from __future__ import annotations

import pytest

from learninngest.llm.cleaning import clean_text


@pytest.mark.parametrize(
    ("markdown", "plain"),
    [
        ("# The answer\n\nParis.", "The answer\n\nParis."),
        ("### Deep heading", "Deep heading"),
        ("**Paris** is the *capital*.", "Paris is the capital."),
        ("__bold__ and _italic_ and ***both***", "bold and italic and both"),
        ("**a *nested* phrase**", "a nested phrase"),
        ("- one\n- two\n* three\n+ four", "one\ntwo\nthree\nfour"),
        ("1. first\n2) second", "first\nsecond"),
        ("> quoted", "quoted"),
        ("see [the docs](https://example.com)", "see the docs"),
        ("use `pip install` now", "use pip install now"),
        ("~~old~~ new", "old new"),
        ("a\n\n---\n\nb", "a\n\nb"),
        ("  lots   of \t spaces  ", "lots of spaces"),
        ("a\n\n\n\n\nb", "a\n\nb"),
        ("line one\r\nline two", "line one\nline two"),
        ("", ""),
    ],
)
def test_markdown_becomes_plain_text(markdown: str, plain: str) -> None:
    assert clean_text(markdown) == plain


def test_code_fences_go_but_code_lines_stay() -> None:
    markdown = "Run this:\n\n```python\nprint('hi')\nx = 2 * 3 * 4\n```\n\nDone."
    assert clean_text(markdown) == "Run this:\n\nprint('hi')\nx = 2 * 3 * 4\n\nDone."


def test_code_inside_fences_is_not_cleaned_as_markdown() -> None:
    assert clean_text("```\n# not a heading\n- not a bullet\n```") == "# not a heading\n- not a bullet"


def test_words_with_underscores_and_arithmetic_are_left_alone() -> None:
    assert clean_text("call snake_case_name with 2*3*4") == "call snake_case_name with 2*3*4"


def test_bullets_can_be_kept() -> None:
    assert clean_text("- one\n- **two**", keep_bullets=True) == "- one\n- two"


def test_plain_text_is_unchanged() -> None:
    text = "The capital of France is Paris."
    assert clean_text(text) == text
