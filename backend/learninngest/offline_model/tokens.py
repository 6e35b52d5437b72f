"""Pure: the offline model's tokenizer, token counts and truncation.

The tokenizer is deliberately simple and documented (docs/offline-model.md) so that a
learner can check a count by hand: one token per run of word characters and one per
punctuation mark. Real tokenizers (BPE) give counts of the same order for English text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# A word (letters, digits, underscore) or any single non-space character.
_TOKEN = re.compile(r"\w+|[^\w\s]")

#: Tokens added per message for the role and the separators around it, as chat formats do.
PER_MESSAGE_OVERHEAD = 3
#: Tokens that prime the assistant's reply, counted once per request.
REPLY_PRIMING = 3


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    return sum(1 for _ in _TOKEN.finditer(text))


def count_prompt_tokens(contents: Iterable[str]) -> int:
    """Prompt tokens for messages with these texts (as sent, fault directives included)."""
    total = REPLY_PRIMING
    for content in contents:
        total += PER_MESSAGE_OVERHEAD + count_tokens(content)
    return total


def truncate_tokens(text: str, max_tokens: int | None) -> tuple[str, bool]:
    """Cut `text` after its `max_tokens`-th token; return (text, was_truncated).

    The cut happens at the end of a token, so the kept text has exactly `max_tokens`
    tokens and keeps its original spacing and line breaks up to that point.
    """
    if max_tokens is None:
        return text, False
    if max_tokens <= 0:
        return "", _TOKEN.search(text) is not None
    for index, match in enumerate(_TOKEN.finditer(text), start=1):
        if index == max_tokens:
            rest = text[match.end() :]
            if _TOKEN.search(rest) is None:
                return text, False
            return text[: match.end()], True
    return text, False
