"""The phrase tagger experiment's plumbing (evals/phrase_tagger.py): words with their spans, labels aligned onto the
words as BIO tags, and tags decoded back into the phrases the protocol scores."""

from __future__ import annotations

from evals.phrase_tagger import _aligned, decode, word_spans


def test_labels_align_onto_words_and_decode_back() -> None:
    text, spans = word_spans("latex-free gloves, no Polyester please")
    assert [text[a:b] for _, a, b in spans] == ["latex-free", "gloves", ",", "no", "polyester", "please"]
    tags, complete = _aligned(spans, {"W": ["gloves"], "U": ["latex", "polyester"]})
    assert complete
    assert tags == ["B-U", "B-W", "O", "O", "B-U", "O"]
    assert decode(spans, tags) == (["gloves"], ["latex", "polyester"])


def test_a_phrase_that_is_not_in_the_message_leaves_the_line_out() -> None:
    _, spans = word_spans("a digital caliper")
    tags, complete = _aligned(spans, {"W": ["digital caliper", "large lcd"], "U": []})
    assert not complete
    assert tags == ["O", "B-W", "I-W"]


def test_an_orphan_inside_tag_starts_a_phrase() -> None:
    _, spans = word_spans("men's bootcut jeans")
    assert decode(spans, ["O", "I-W", "I-W"]) == (["bootcut jeans"], [])
    assert decode(spans, ["B-W", "B-W", "I-U"]) == (["men's", "bootcut"], ["jeans"])
