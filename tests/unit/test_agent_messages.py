"""User messages are cleaned, bounded and refused when empty, with sentences a user can act on."""

from __future__ import annotations

import pytest

from agent.errors import EmptyMessageError
from agent.messages import clean_message


@pytest.mark.parametrize("text", ["", "   ", "\x00\x1b\x07", "\n\t \n"])
def test_empty_messages_are_refused(text: str) -> None:
    with pytest.raises(EmptyMessageError, match="Please type a message"):
        clean_message(text)


def test_control_characters_removed_emoji_kept() -> None:
    text, notes = clean_message("a caliper\x00 for my 👩‍🔬 lab\x1b[31m")
    assert text == "a caliper for my 👩‍🔬 lab[31m"
    assert "\u200d" in text, "the zero-width joiner of the emoji sequence must survive"
    assert notes == ["removed control characters from your message"]


def test_huge_message_is_cut_with_a_note() -> None:
    text, notes = clean_message("c" * 100_000, max_chars=4000)
    assert len(text) <= 4000
    assert notes and "100,000 characters" in notes[0]


def test_lone_surrogates_do_not_crash() -> None:
    text, _ = clean_message("glue \ud800 please")
    assert text.startswith("glue")
