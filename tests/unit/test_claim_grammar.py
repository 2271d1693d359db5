"""Grounded decoding (agent/claim_grammar.py): the rationale is decoded over sentences that are all true of the shown
links, checked with the trust check itself on real users, compiled by xgrammar for the real tokenizer, and obeyed by
a real forward pass of the local backend."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest
import xgrammar

from agent.claim_grammar import MAX_SENTENCES, rationale_grammar
from agent.evidence_writer import rationale_choices, write_rationale
from agent.prompts import RecRequest
from agent.ranking import run_pass
from agent.records import Shown
from agent.trust import relational_claims
from tests.unit.test_trust import _cases


@pytest.fixture(scope="module")
def cases(scientific_catalog: Any, smollm2_tokenizer: Any) -> list[tuple[Shown, str]]:
    return list(_cases(scientific_catalog, smollm2_tokenizer, 60))


_COMPILERS: dict[int, xgrammar.GrammarCompiler] = {}


def _matcher(grammar: str, tokenizer: Any) -> xgrammar.GrammarMatcher:
    if id(tokenizer) not in _COMPILERS:
        _COMPILERS[id(tokenizer)] = xgrammar.GrammarCompiler(xgrammar.TokenizerInfo.from_huggingface(tokenizer))
    return xgrammar.GrammarMatcher(_COMPILERS[id(tokenizer)].compile_grammar(grammar))


def test_every_sentence_the_grammar_allows_is_true(cases: list[tuple[Shown, str]], scientific_catalog: Any) -> None:
    """The trust check (agent/trust.py) judges every allowed sentence relational and true: what grounded decoding can
    say is exactly what the check accepts, on 60 real users' prompts (about 200-400 sentences each)."""
    checked = 0
    for shown, _ in cases:
        sentences = rationale_choices(shown, scientific_catalog.items).all()
        # Judged in one text (the claim splitter cuts it back into these sentences): one check per prompt.
        judged = relational_claims(" ".join(sentences), shown, scientific_catalog.items)
        assert [c["text"] for c, _ in judged] == sentences
        bad = [c["text"] for c, good in judged if not good]
        assert not bad, bad[:3]
        checked += len(judged)
    assert checked > 60 * 100


def test_the_grammar_takes_the_teachers_rationales_and_refuses_inventions(
    cases: list[tuple[Shown, str]], scientific_catalog: Any, smollm2_tokenizer: Any
) -> None:
    items = scientific_catalog.items
    taught = 0
    for n, (shown, target) in enumerate(cases[:20]):
        rationale = write_rationale(shown, target, items, random.Random(n))
        if "more links" in rationale or "more of them" in rationale:
            continue  # the contrast's ", but ... has more links to you" is left out of the grammar
        assert _matcher(rationale_grammar(shown, items), smollm2_tokenizer).accept_string(rationale), rationale
        taught += 1
    assert taught >= 5
    shown, _ = cases[0]
    grammar = rationale_grammar(shown, items)
    choices = rationale_choices(shown, items)
    label = shown["labels"][0]
    invented = f'Candidate {label} shares "multimeter" with your history item.'
    assert not _matcher(grammar, smollm2_tokenizer).accept_string(invented)

    # The teacher's shape: the pick's own sentences are about one candidate by different links, one contrast ends it.
    def accepts(text: str) -> bool:
        return bool(_matcher(grammar, smollm2_tokenizer).accept_string(text))

    first, second = [groups[0] for groups in choices.own.values() if groups][:2]
    assert not accepts(f"{first[0]} {second[0]}")
    contrast = next(c for cs in choices.contrast.values() for c in cs)
    assert accepts(f"{first[0]} {contrast}")
    assert not accepts(f"{first[0]} {contrast} {contrast}")
    for shown, _ in cases:
        grammar = rationale_grammar(shown, items)
        linked = [groups for groups in rationale_choices(shown, items).own.values() if len(groups) >= 2]
        if linked and len(linked[0][0]) >= 2:
            one, other = linked[0][0], linked[0][1]
            assert accepts(f"{one[0]} {other[0]}")  # two links of the pick
            assert not accepts(f"{one[0]} {one[1]}")  # one link said twice
            break
    else:
        raise AssertionError("no case with a candidate of two links")


def test_a_grounded_pass_says_only_allowed_sentences(tiny_llm: Any, scientific_catalog: Any) -> None:
    """A real forward pass (the tiny random model, which left to itself writes noise) under the grammar."""
    items = list(scientific_catalog.items.values())
    request = RecRequest(
        history=items[:3], candidates=items[10:20], domain="scientific", conversation=[("user", "a digital caliper")]
    )
    tiny_llm.rationale_decoding = "grounded"
    try:
        done = run_pass(tiny_llm, request, rationale_tokens=96, context_tokens=2048)
    finally:
        tiny_llm.rationale_decoding = "free"
    allowed = set(rationale_choices(done.shown, scientific_catalog.items).all())
    said = [s for s in re.split(r"(?<=\.) ", done.rationale) if s]
    assert said and all(s in allowed for s in said), done.rationale
    assert len(said) <= MAX_SENTENCES - 1


def test_no_candidates_no_sentences() -> None:
    shown: Shown = {"prompt": "", "labels": [], "candidate_ids": [], "history_ids": [], "conversation": [],
                    "dispute": None, "links": [], "item_chars": 0, "num_tokens": 0, "notes": []}  # fmt: skip
    assert rationale_grammar(shown, {}) == 'root ::= ""\n'


def test_a_fixed_pick_limits_the_rationale_to_that_candidate() -> None:
    from agent.prior import Calibration, fixed_top

    calibration = Calibration("d", "m", llm_weight=0.04, llm_weight_stderr=0.02, position_bias={})
    assert fixed_top([3.0, 1.0, 0.5], calibration) == 0  # lead 2.0 > 0.04 x 20 nats
    assert fixed_top([1.0, 3.5, 0.5], calibration) == 1
    assert fixed_top([3.0, 2.5, 0.5], calibration) is None  # 0.5: the labels can overturn it
    assert fixed_top([0.1, 0.2], None) == 1  # no calibration: the prior's order is committed
    assert fixed_top([], None) is None
    assert calibration.fixed_top([3.0, 1.0]) == 0


def test_a_fixed_pick_grammar_allows_only_that_candidates_own_sentences(
    cases: list[tuple[Shown, str]], scientific_catalog: Any, smollm2_tokenizer: Any
) -> None:
    items = scientific_catalog.items
    for shown, _ in cases:
        choices = rationale_choices(shown, items)
        owned = [label for label, groups in choices.own.items() if any(groups)]
        if len(owned) >= 2:
            break
    else:
        raise AssertionError("no case with two candidates that can be argued for")
    pick, other = owned[0], owned[1]
    grammar = rationale_grammar(shown, items, pick)
    assert _matcher(grammar, smollm2_tokenizer).accept_string(next(g for g in choices.own[pick] if g)[0])
    assert not _matcher(grammar, smollm2_tokenizer).accept_string(next(g for g in choices.own[other] if g)[0])
    assert rationale_grammar(shown, items, "not a label") == rationale_grammar(shown, items)
