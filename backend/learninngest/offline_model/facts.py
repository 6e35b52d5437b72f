"""Pure: the offline model's small built-in set of facts, and tolerant matching.

A question matches a fact when, for each of the fact's keyword groups, at least one of
the group's words appears in the question. Matching ignores case, punctuation and word
order, so "what's France's capital?" finds the same fact as "What is the capital of
France?". When several facts match, the one with the most groups (the most specific) wins; on a tie, the first
listed wins (so "FastAPI, the Python framework" is about FastAPI).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Runs of letters and digits; everything else separates words.
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Fact:
    topic: str  # used as the markdown heading
    keywords: tuple[frozenset[str], ...]
    answer: str  # one or two plain sentences
    highlight: str  # the phrase set in **bold** in markdown mode


def _fact(topic: str, groups: str, answer: str, highlight: str) -> Fact:
    """Build a Fact from `groups` written as "capital | france french" (| separates groups)."""
    keywords = tuple(frozenset(group.split()) for group in groups.split("|"))
    return Fact(topic=topic, keywords=keywords, answer=answer, highlight=highlight)


FACTS: tuple[Fact, ...] = (
    _fact("Capital of France", "capital | france french", "The capital of France is Paris.", "Paris"),
    _fact("Capital of Germany", "capital | germany german", "The capital of Germany is Berlin.", "Berlin"),
    _fact("Capital of Japan", "capital | japan japanese", "The capital of Japan is Tokyo.", "Tokyo"),
    _fact("Capital of Italy", "capital | italy italian", "The capital of Italy is Rome.", "Rome"),
    _fact("Capital of Spain", "capital | spain spanish", "The capital of Spain is Madrid.", "Madrid"),
    _fact(
        "Capital of the United Kingdom",
        "capital | uk britain british england kingdom",
        "The capital of the United Kingdom is London.",
        "London",
    ),
    _fact("Capital of Canada", "capital | canada canadian", "The capital of Canada is Ottawa.", "Ottawa"),
    _fact(
        "Capital of Australia",
        "capital | australia australian",
        "The capital of Australia is Canberra.",
        "Canberra",
    ),
    _fact(
        "Boiling point of water",
        "boil boils boiling | water",
        "Water boils at 100 °C (212 °F) at sea-level pressure.",
        "100 °C",
    ),
    _fact(
        "Freezing point of water",
        "freeze freezes freezing melting | water",
        "Water freezes at 0 °C (32 °F) at sea-level pressure.",
        "0 °C",
    ),
    _fact(
        "Speed of light",
        "speed fast | light",
        "Light travels at about 299,792 km per second in a vacuum.",
        "299,792 km/s",
    ),
    _fact(
        "Chemical formula of water",
        "formula chemical h2o | water h2o",
        "The chemical formula of water is H2O: two hydrogen atoms and one oxygen atom.",
        "H2O",
    ),
    _fact(
        "Largest planet",
        "largest biggest | planet planets",
        "Jupiter is the largest planet in the Solar System.",
        "Jupiter",
    ),
    _fact(
        "Planets in the Solar System",
        "many number | planets",
        "The Solar System has eight planets.",
        "eight",
    ),
    _fact(
        "Tallest mountain",
        "tallest highest | mountain mountains peak",
        "Mount Everest is the highest mountain above sea level, at about 8,849 m.",
        "Mount Everest",
    ),
    _fact(
        "Theory of relativity",
        "relativity",
        "Albert Einstein developed the theory of relativity (special 1905, general 1915).",
        "Albert Einstein",
    ),
    _fact(
        "Romeo and Juliet",
        "romeo juliet | wrote author write",
        "William Shakespeare wrote Romeo and Juliet.",
        "William Shakespeare",
    ),
    _fact(
        "Photosynthesis",
        "photosynthesis",
        "Photosynthesis is how plants turn light, water and carbon dioxide into sugar and oxygen.",
        "light, water and carbon dioxide",
    ),
    _fact(
        "Largest ocean",
        "largest biggest | ocean oceans",
        "The Pacific is the largest ocean on Earth.",
        "Pacific",
    ),
    _fact(
        "HTTP 429",
        "429 | http status code error mean means",
        "HTTP 429 means Too Many Requests: the client should wait (see Retry-After) and retry.",
        "Too Many Requests",
    ),
    _fact(
        "Inngest",
        "inngest",
        "Inngest is an event-driven durable execution platform: functions triggered by "
        "events run as retried steps in the background.",
        "event-driven durable execution",
    ),
    _fact(
        "FastAPI",
        "fastapi",
        "FastAPI is a Python web framework for building APIs with type hints, based on "
        "Starlette and Pydantic.",
        "Python web framework",
    ),
    _fact(
        "LangChain",
        "langchain",
        "LangChain is a framework for building applications with large language models: "
        "one interface to many chat models, plus prompts, tools and chains.",
        "framework for building applications with large language models",
    ),
    _fact(
        "Python",
        "python",
        "Python is a general-purpose programming language known for readable code.",
        "general-purpose programming language",
    ),
)


def words(text: str) -> list[str]:
    """The question's words: lower case, punctuation dropped (apostrophes split words)."""
    return _WORD.findall(text.lower())


def find_fact(question: str) -> Fact | None:
    """The most specific fact whose every keyword group appears in `question`, if any."""
    present = set(words(question))
    best: Fact | None = None
    for fact in FACTS:
        if all(group & present for group in fact.keywords) and (
            best is None or len(fact.keywords) > len(best.keywords)
        ):
            best = fact
    return best
