"""The rationale-first prompt: layout, identical text for serving and training, truncation that never raises."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from agent.errors import PromptTooLongError
from agent.prompts import (
    ANSWER_PREFIX,
    LABELS,
    RATIONALE_PREFIX,
    SYSTEM_PROMPT,
    RecRequest,
    format_rationale,
    item_line,
    render_prompt,
    training_text,
)
from tools.catalog import Item


def _item(i: int, chars: int = 0) -> Item:
    return Item(
        item_id=f"I{i}",
        title=f"Item number {i}" + " extra words" * chars,
        text="",
        attributes={"brand": f"Brand{i % 3}", "variants": ["X", "Y"]},
        domain="test",
    )


@pytest.fixture(scope="module")
def tokenizer(smollm2_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(smollm2_dir))


def test_layout(tokenizer: Any) -> None:
    request = RecRequest(
        history=[_item(1), _item(2)],
        candidates=[_item(10), _item(11), _item(12)],
        conversation=[("user", "I need something for my lab")],
    )
    p = render_prompt(tokenizer, request)
    assert p.text.endswith(RATIONALE_PREFIX)
    assert SYSTEM_PROMPT in p.text
    assert p.text.index("1. Item number 1\n") < p.text.index("2. Item number 2\n")  # oldest first, numbered
    assert "A. Item number 10" in p.text and "C. Item number 12" in p.text
    assert "User: I need something for my lab" in p.text
    assert "variants" not in p.text  # bookkeeping attributes are not shown
    assert p.labels == ("A", "B", "C")
    assert p.with_rationale("  it fits.  ").endswith(RATIONALE_PREFIX + " it fits.\n" + ANSWER_PREFIX)


def test_training_text_is_byte_identical_to_serving(tokenizer: Any) -> None:
    request = RecRequest(history=[_item(1)], candidates=[_item(10), _item(11)])
    served = render_prompt(tokenizer, request)
    prompt, completion = training_text(served.text, served.label_of("I11"), "Brand1 matches the history.")
    assert prompt == served.text
    assert prompt + completion == served.with_rationale("Brand1 matches the history.") + " B"


def test_format_rationale_strips_answer_prefix() -> None:
    assert format_rationale(" fits Answer:") == " fits"
    assert format_rationale("   ") == ""


def test_item_line_is_cut() -> None:
    line = item_line(_item(1, chars=100), max_chars=50)
    assert len(line) == 50 and line.endswith("...")


def test_long_history_is_truncated_oldest_first(tokenizer: Any, caplog: pytest.LogCaptureFixture) -> None:
    history = [_item(i, chars=3) for i in range(200)]
    request = RecRequest(history=history, candidates=[_item(1000 + i) for i in range(20)])
    with caplog.at_level(logging.INFO, logger="agent.prompts"):
        p = render_prompt(tokenizer, request, context_tokens=900, max_history_items=None)
    assert p.num_tokens <= 900
    assert p.history_dropped > 0 and p.history_kept + p.history_dropped == 200
    assert "Item number 199 extra" in p.text and "Item number 0 extra" not in p.text
    assert f"({p.history_dropped} older items omitted)" in p.text
    assert any("truncated" in r.message for r in caplog.records)


def test_history_cap(tokenizer: Any) -> None:
    request = RecRequest(history=[_item(i) for i in range(30)], candidates=[_item(100)])
    p = render_prompt(tokenizer, request, max_history_items=10)
    assert p.history_kept == 10 and p.history_dropped == 20
    assert "Item number 29\n" in p.text and "Item number 19\n" not in p.text


def test_huge_message_is_cut_not_refused(tokenizer: Any) -> None:
    request = RecRequest(
        history=[_item(1)],
        candidates=[_item(10), _item(11)],
        conversation=[("user", "old turn"), ("assistant", "old answer"), ("user", "microscope " * 50_000)],
    )
    p = render_prompt(tokenizer, request, context_tokens=1024)
    assert p.num_tokens <= 1024
    assert "[message cut]" in p.text
    assert p.turns_dropped == 2
    assert any("last message" in n for n in p.notes)


def test_candidates_that_cannot_fit_raise(tokenizer: Any) -> None:
    request = RecRequest(history=[], candidates=[_item(i, chars=30) for i in range(20)])
    with pytest.raises(PromptTooLongError, match="LLMREC_CONTEXT_TOKENS"):
        render_prompt(tokenizer, request, context_tokens=256, reserve_tokens=64)


@pytest.mark.parametrize(
    ("candidates", "match"),
    [([], "at least one"), ([_item(i) for i in range(len(LABELS) + 1)], "at most"), ([_item(1), _item(1)], "unique")],
)
def test_bad_candidate_lists(tokenizer: Any, candidates: list[Item], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        render_prompt(tokenizer, RecRequest(history=[], candidates=candidates))


def test_links_are_shown_per_candidate_and_follow_the_kept_history(tokenizer: Any) -> None:
    from agent.evidence import Link

    history = [_item(i) for i in range(12)]  # the prompt keeps the last 10: I2..I11, shown as 1..10
    links = [
        [Link("brand", ("Brand2",), ("I11", "I0")), Link("words", ("caliper",), ("I0",))],
        [Link("together", (), ("I3",), 12), Link("request", ("digital",))],
        [],
    ]
    request = RecRequest(history=history, candidates=[_item(20), _item(21), _item(22)], links=links)
    p = render_prompt(tokenizer, request)
    assert "A. Item number 20\n   links: brand Brand2 as #10\n" in p.text  # I0 was dropped, I11 is line 10
    assert '"caliper"' not in p.text  # a link to a dropped history item goes with it
    assert '   links: bought with #2 by 12 shoppers; asked: "digital"\n' in p.text
    assert "C. Item number 22\n   links: none\n" in p.text
    assert [len(per) for per in p.links] == [1, 2, 0] and p.links[0][0].history == ("I11",)
