"""Pure: messages and seed to answer text, token counts and latency. No IO, no clock.

The same messages, seed and temperature always give the same answer. Markdown is used
unless a system message asks for plain text (the backend's clean mode does), so the
effect of cleaning is visible in the notebooks.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from learninngest.offline_model.directives import strip_directives
from learninngest.offline_model.facts import Fact, find_fact, words
from learninngest.offline_model.seeding import digest, rng, unit
from learninngest.offline_model.tokens import count_prompt_tokens, count_tokens, truncate_tokens

_PLAIN_TEXT = re.compile(r"plain[\s-]*text", re.IGNORECASE)
_INSTRUCTION_ROLES = {"system", "developer"}
# Temperature 0 (or none) always picks the first, canonical phrasing.
_FACT_INTROS = ("", "Short answer: ", "Here is what I know: ", "From the built-in facts: ")
_OTHER_INTROS = ("", "Good question. ", "Let me see. ", "Thanks for asking. ")
# A word string reads better than a 45-line list here.
_STOPWORDS = frozenset(
    "a an and are as at be by can could do does did for from how i in is it me my of on or "  # noqa: SIM905
    "please should tell that the this to was what when where which who why will with would "
    "you your".split()
)


@dataclass(frozen=True)
class Message:
    role: str
    content: str  # the message's text, as sent


@dataclass(frozen=True)
class Answer:
    text: str
    finish_reason: Literal["stop", "length"]
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def wants_plain_text(messages: Sequence[Message]) -> bool:
    """True when a system (or developer) message asks for plain text."""
    return any(m.role in _INSTRUCTION_ROLES and _PLAIN_TEXT.search(m.content) for m in messages)


def question_of(messages: Sequence[Message]) -> str:
    """The last user message's text without fault directives ("" when there is none)."""
    for message in reversed(messages):
        if message.role == "user":
            return strip_directives(message.content)
    return ""


def variant_of(seed: int, temperature: float | None, question: str, choices: int) -> int:
    """Which phrasing to use: 0 at temperature 0 or none, else fixed by seed+temperature."""
    if not temperature or choices <= 1:
        return 0
    return int(unit("variant", seed, round(temperature, 3), question) * choices)


def keywords(question: str, limit: int = 5) -> list[str]:
    seen: list[str] = []
    for word in words(question):
        if word not in _STOPWORDS and word not in seen:
            seen.append(word)
    return seen[:limit]


def compose(question: str, *, plain: bool, seed: int = 0, temperature: float | None = None) -> str:
    """The full (untruncated) answer text for `question`."""
    if not question.strip():
        if plain:
            return "I did not receive a question. Send a user message with your question."
        return "## No question\n\nI did not receive a question. Send a **user** message."
    fact = find_fact(question)
    intros = _FACT_INTROS if fact is not None else _OTHER_INTROS
    intro = intros[variant_of(seed, temperature, question, len(intros))]
    if fact is not None:
        return _fact_text(fact, question, intro, plain)
    return _fallback_text(question, intro, plain, seed)


def _fact_text(fact: Fact, question: str, intro: str, plain: bool) -> str:
    if plain:
        return f"{intro}{fact.answer}"
    bolded = fact.answer.replace(fact.highlight, f"**{fact.highlight}**", 1)
    if bolded == fact.answer:
        bolded = f"{fact.answer} (**{fact.highlight}**)"
    return (
        f"## {fact.topic}\n\n{intro}{bolded}\n\n"
        f"- **Question:** {question}\n"
        "- **Source:** the offline model's built-in facts\n"
    )


def _fallback_text(question: str, intro: str, plain: bool, seed: int) -> str:
    words_used = keywords(question)
    reply_id = digest("reply", seed, question)[:8]
    if plain:
        about = ", ".join(words_used) if words_used else "nothing in particular"
        return (
            f'{intro}I have no built-in fact for "{question}". I am the offline model: I '
            f"answer a small set of known questions and give a fixed stand-in reply to "
            f"anything else. Your question is about: {about}. Reply {reply_id}."
        )
    listed = ", ".join(f"`{word}`" for word in words_used) or "_none_"
    summary = json.dumps(
        {"question": question, "known_fact": False, "keywords": words_used, "reply": reply_id},
        ensure_ascii=False,
    )
    return (
        "## Offline answer\n\n"
        f"{intro}You asked: **{question}**\n\n"
        "I have no built-in fact for this, so here is a deterministic stand-in reply:\n\n"
        f"- **Key words:** {listed}\n"
        f"- **Reply id:** `{reply_id}` (same question and seed, same reply)\n\n"
        f"```json\n{summary}\n```\n"
    )


def answer(
    messages: Sequence[Message],
    *,
    seed: int = 0,
    temperature: float | None = None,
    max_tokens: int | None = None,
) -> Answer:
    """Answer the last user message; cut at `max_tokens` with finish_reason "length"."""
    full = compose(
        question_of(messages), plain=wants_plain_text(messages), seed=seed, temperature=temperature
    )
    text, truncated = truncate_tokens(full, max_tokens)
    return Answer(
        text=text,
        finish_reason="length" if truncated else "stop",
        prompt_tokens=count_prompt_tokens(m.content for m in messages),
        completion_tokens=count_tokens(text),
    )


def latency_ms(mean_ms: float, spread_ms: float, *, seed: int, key: str, call: int) -> float:
    """A seeded draw from a log-normal with this mean and standard deviation (0 if mean is 0).

    Log-normal because real LLM latencies are never negative and have a long right tail.
    The draw depends on the call number too, so repeated calls vary, reproducibly.
    """
    if mean_ms <= 0:
        return 0.0
    if spread_ms <= 0:
        return mean_ms
    sigma2 = math.log(1 + (spread_ms / mean_ms) ** 2)
    mu = math.log(mean_ms) - sigma2 / 2
    draw = rng("latency", seed, key, call).lognormvariate(mu, math.sqrt(sigma2))
    # A cap keeps one unlucky draw from stalling a classroom demo.
    return min(draw, mean_ms + 5 * spread_ms)
