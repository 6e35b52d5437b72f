"""Pure tests: answers, tokens, latency and the fault directive grammar (no IO)."""

from __future__ import annotations

import statistics

import pytest

from learninngest.offline_model.answers import (
    Message,
    answer,
    compose,
    latency_ms,
    question_of,
    wants_plain_text,
)
from learninngest.offline_model.directives import (
    DirectiveError,
    FaultSpec,
    find_directives,
    parse_directive,
    schedule_fault,
    strip_directives,
)
from learninngest.offline_model.facts import FACTS, find_fact
from learninngest.offline_model.tokens import (
    count_prompt_tokens,
    count_tokens,
    tokenize,
    truncate_tokens,
)

PLAIN = Message("system", "Answer concisely in plain text, without markdown.")


def ask(question: str, **kwargs: object) -> str:
    return answer([Message("user", question)], **kwargs).text  # type: ignore[arg-type]


# --- facts


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of France?",
        "what's the CAPITAL of france",
        "Capital city of France, please!!!",
        "France -- capital?",
        "Tell me France's capital.",
    ],
)
def test_capital_of_france_is_paris_whatever_the_wording(question: str) -> None:
    assert "Paris" in ask(question)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What is the capital of Japan?", "Tokyo"),
        ("At what temperature does water boil?", "100 °C"),
        ("What is the largest planet?", "Jupiter"),
        ("How many planets are in the solar system?", "eight"),
        ("Who wrote Romeo and Juliet?", "Shakespeare"),
        ("What is Inngest?", "durable execution"),
        ("What is FastAPI, the Python framework?", "Python web framework"),
        ("Explain LangChain", "framework for building applications"),
        ("What does HTTP 429 mean?", "Too Many Requests"),
        ("What's the chemical formula of water", "H2O"),
    ],
)
def test_built_in_facts(question: str, expected: str) -> None:
    assert expected in ask(question)
    assert expected in answer([PLAIN, Message("user", question)]).text


def test_fact_table_has_a_small_useful_size() -> None:
    assert 15 <= len(FACTS) <= 25


def test_unknown_question_gets_a_reply_that_uses_it() -> None:
    text = ask("How do I bake sourdough bread?")
    assert "How do I bake sourdough bread?" in text
    assert "`sourdough`" in text
    assert find_fact("How do I bake sourdough bread?") is None


def test_no_user_message_is_answered_politely() -> None:
    text = answer([Message("system", "You are helpful.")]).text
    assert "did not receive a question" in text


# --- determinism and variation


def test_same_messages_and_seed_give_the_same_answer() -> None:
    messages = [Message("user", "How do I bake sourdough bread?")]
    assert answer(messages, seed=3) == answer(messages, seed=3)
    assert answer(messages, seed=3, temperature=0.9) == answer(messages, seed=3, temperature=0.9)


def test_seed_changes_the_stand_in_reply() -> None:
    assert ask("How do I bake bread?", seed=1) != ask("How do I bake bread?", seed=2)


def test_temperature_zero_is_canonical_and_higher_varies_wording() -> None:
    question = "What is the capital of France?"
    canonical = compose(question, plain=True)
    assert compose(question, plain=True, seed=5, temperature=0) == canonical
    variants = {compose(question, plain=True, seed=s, temperature=1.0) for s in range(20)}
    assert len(variants) > 1
    assert all("Paris" in text for text in variants)


# --- markdown versus plain text


def test_markdown_without_a_plain_text_system_message() -> None:
    text = ask("What is the capital of France?")
    assert text.startswith("## ")
    assert "**Paris**" in text
    assert "\n- " in text
    assert "```" in ask("How do I bake bread?")


def test_plain_text_when_the_system_message_asks_for_it() -> None:
    for question in ("What is the capital of France?", "How do I bake bread?"):
        text = answer([PLAIN, Message("user", question)]).text
        assert not any(mark in text for mark in ("#", "**", "```", "\n- "))


@pytest.mark.parametrize(
    ("messages", "plain"),
    [
        ([Message("system", "Reply in PLAIN TEXT only.")], True),
        ([Message("developer", "use plain-text")], True),
        ([Message("user", "answer in plain text")], False),  # only instructions count
        ([Message("system", "You are helpful.")], False),
    ],
)
def test_wants_plain_text(messages: list[Message], plain: bool) -> None:
    assert wants_plain_text(messages) is plain


# --- tokens and truncation


def test_tokenizer_counts_words_and_punctuation() -> None:
    assert tokenize("Hello, world! It's 2025.") == ["Hello", ",", "world", "!", "It", "'", "s", "2025", "."]
    assert count_tokens("") == 0
    # 3 for reply priming, then 3 per message plus its tokens.
    assert count_prompt_tokens(["Hi!", "What is 2+2?"]) == 3 + (3 + 2) + (3 + 6)


def test_usage_counts_match_the_text() -> None:
    messages = [PLAIN, Message("user", "What is the capital of France?")]
    result = answer(messages)
    assert result.prompt_tokens == count_prompt_tokens(m.content for m in messages)
    assert result.completion_tokens == count_tokens(result.text)
    assert result.total_tokens == result.prompt_tokens + result.completion_tokens


def test_max_tokens_truncates_with_finish_reason_length() -> None:
    messages = [Message("user", "How do I bake bread?")]
    full = answer(messages)
    cut = answer(messages, max_tokens=7)
    assert full.finish_reason == "stop"
    assert cut.finish_reason == "length"
    assert cut.completion_tokens == 7
    assert full.text.startswith(cut.text)
    roomy = answer(messages, max_tokens=full.completion_tokens)
    assert roomy == full


def test_truncate_tokens_edges() -> None:
    assert truncate_tokens("a b c", None) == ("a b c", False)
    assert truncate_tokens("a b c", 3) == ("a b c", False)
    assert truncate_tokens("a, b c", 2) == ("a,", True)
    assert truncate_tokens("a b", 0) == ("", True)


# --- latency


def test_latency_is_zero_without_a_mean_and_fixed_without_spread() -> None:
    assert latency_ms(0, 100, seed=1, key="k", call=0) == 0
    assert latency_ms(250, 0, seed=1, key="k", call=0) == 250


def test_latency_is_seeded_and_has_the_configured_mean() -> None:
    draws = [latency_ms(800, 300, seed=9, key="k", call=n) for n in range(2000)]
    assert draws == [latency_ms(800, 300, seed=9, key="k", call=n) for n in range(2000)]
    assert min(draws) > 0
    assert max(draws) <= 800 + 5 * 300
    assert 700 < statistics.mean(draws) < 900
    assert draws != [latency_ms(800, 300, seed=10, key="k", call=n) for n in range(2000)]


# --- the directive grammar


@pytest.mark.parametrize(
    ("body", "spec"),
    [
        ("429", FaultSpec("429")),
        ("429x2", FaultSpec("429", count=2)),
        ("429x2,retry_after=3", FaultSpec("429", count=2, retry_after_s=3.0)),
        (" 429 X2 , retry_after = 0.5 ", FaultSpec("429", count=2, retry_after_s=0.5)),
        ("500x1", FaultSpec("500")),
        ("502", FaultSpec("502")),
        ("503x*,retry_after=2", FaultSpec("503", count=None, retry_after_s=2.0)),
        ("400", FaultSpec("400")),
        ("401", FaultSpec("401")),
        ("TIMEOUT", FaultSpec("timeout")),
        ("slow=250", FaultSpec("slow", slow_ms=250)),
        ("slow=250x2", FaultSpec("slow", count=2, slow_ms=250)),
    ],
)
def test_parse_good_directives(body: str, spec: FaultSpec) -> None:
    assert parse_directive(body) == spec


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("418", "expected [fault:"),
        ("", "expected [fault:"),
        ("429x0", "count must be"),
        ("429x1001", "count must be"),
        ("429x", "expected [fault:"),
        ("slow", "expected [fault:"),
        ("slow=fast", "expected [fault:"),
        ("429,foo=1", "unknown option"),
        ("429,retry_after", "unknown option"),
        ("500,retry_after=1", "only applies to 429 and 503"),
        ("slow=3600001", "slow must be 0..3600000 milliseconds"),
        ("slow=" + "9" * 5000, "slow must be 0..3600000 milliseconds"),
        ("429x" + "1" * 5000, "count must be"),
        ("429,retry_after=soon", "retry_after must be"),
        ("429,retry_after=-1", "retry_after must be"),
    ],
)
def test_bad_directives_say_why(body: str, reason: str) -> None:
    with pytest.raises(DirectiveError, match="bad fault directive") as caught:
        parse_directive(body)
    assert reason in str(caught.value)


def test_a_huge_directive_is_quoted_short() -> None:
    with pytest.raises(DirectiveError) as caught:
        parse_directive("slow=" + "9" * 5000)
    assert len(str(caught.value)) < 200


def test_directives_are_found_in_order_and_removed_from_the_question() -> None:
    text = "[fault:429x2] What is the capital   of France? [Fault: 500]"
    assert find_directives(text) == [FaultSpec("429", count=2), FaultSpec("500")]
    assert strip_directives(text) == "What is the capital of France?"
    assert question_of([Message("user", text)]) == "What is the capital of France?"
    assert find_directives("a [note] and [faults] are not directives") == []
    with pytest.raises(DirectiveError):
        find_directives("[fault:42]")


def test_schedule_follows_the_directives_then_stops() -> None:
    specs = [FaultSpec("429", count=2), FaultSpec("500")]
    kinds = [getattr(schedule_fault(specs, call), "kind", None) for call in range(5)]
    assert kinds == ["429", "429", "500", None, None]
    forever = [FaultSpec("503", count=None)]
    assert schedule_fault(forever, 99) == forever[0]
    assert schedule_fault([], 0) is None
