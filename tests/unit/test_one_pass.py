"""One explain -> rank -> check pass for every path (agent/ranking.py): a served turn, an evaluated case and a training
example of the same inputs render byte-identical prompts; a turn renders once and checks against what it showed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from agent.banned_words import NO_HISTORY_WORDS, banned_token_ids
from agent.prompts import INSTRUCTION, SYSTEM_PROMPT, RecRequest, answer_prompt
from agent.ranking import check, evidence, label_of, run_pass, show
from agent.records import Shown
from agent.session import RecommenderAgent
from agent.settings import AgentSettings, ModelSettings
from evals.llm_systems import LLMScorer
from evals.systems import Query
from tests.retrievaldata import small_catalog
from tools.search import CatalogRetrievers
from training.sft_data import build_sft_examples

RATIONALE_TOKENS = 12
CONTEXT_TOKENS = 2048


class CountingTokenizer:
    """The real tokenizer, counting the rationale prompts it renders (the system prompt marks them)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.renders = 0

    def apply_chat_template(self, conversation: list[dict[str, str]], **kwargs: Any) -> Any:
        if conversation and conversation[0]["content"] == SYSTEM_PROMPT:
            self.renders += 1
        return self.inner.apply_chat_template(conversation, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class RecordingLLM:
    """The tiny model with a counting tokenizer; records every prompt it generates from and ranks after."""

    def __init__(self, llm: Any, recite: str | None = None) -> None:
        self.inner = llm
        self.name = llm.name
        self.tokenizer = CountingTokenizer(llm.tokenizer)
        self.recite = recite
        self.generated: list[str] = []
        self.banned: list[list[int]] = []
        self.grammars: list[str | None] = []
        self.rationale_decoding = llm.rationale_decoding
        self.ranked: list[str] = []

    def generate(
        self,
        prompt: str,
        max_tokens: int,
        stop: Sequence[str] = (),
        stream: bool = False,
        banned: Sequence[int] = (),
        grammar: str | None = None,
    ) -> Iterator[str]:
        self.generated.append(prompt)
        self.banned.append(list(banned))
        self.grammars.append(grammar)
        if self.recite is not None:  # a model obeying an injection: it recites the agent's instructions
            return iter(["Sure. ", self.recite])
        return self.inner.generate(prompt, max_tokens, stop, stream, banned, grammar)  # type: ignore[no-any-return]

    def label_logprobs(self, prompt: str, labels: Sequence[str]) -> dict[str, float]:
        self.ranked.append(prompt)
        return self.inner.label_logprobs(prompt, labels)  # type: ignore[no-any-return]


@pytest.fixture
def agent_over(small_retrievers: CatalogRetrievers, tmp_path: Path) -> Iterator[Any]:
    opened: list[RecommenderAgent] = []

    def make(llm: Any) -> RecommenderAgent:
        agent = RecommenderAgent.open(
            "scientific",
            llm=llm,
            retrievers=small_retrievers,
            model_settings=ModelSettings(rationale_max_tokens=RATIONALE_TOKENS, context_tokens=CONTEXT_TOKENS),
            agent_settings=AgentSettings(checkpoint_url=str(tmp_path / "checkpoints.sqlite")),
        )
        opened.append(agent)
        return agent

    yield make
    for agent in opened:
        agent.close()


def test_served_evaluated_and_trained_prompts_are_byte_identical(agent_over: Any, tiny_llm: Any) -> None:
    agent = agent_over(tiny_llm)
    agent.turn("same-1", "a digital caliper", user_id="u1")
    state = agent.values("same-1")
    served: Shown = state["shown"]
    assert served["history_ids"] == list(small_catalog().users[0].all_items)  # u1's whole history, as served
    assert served["conversation"] == [{"role": "user", "text": "a digital caliper"}]

    dataset = small_catalog()
    scorer = LLMScorer("llm-base", ModelSettings(context_tokens=CONTEXT_TOKENS), RATIONALE_TOKENS, llm=tiny_llm)
    scorer.fit(dataset)
    query = Query("u1", tuple(served["history_ids"]), context=("a digital caliper",), domain="scientific", turn_id="t")
    scorer.score(query, served["candidate_ids"])
    evaluated = scorer.passes[query.key].shown

    target = served["candidate_ids"][1]
    row = {
        "domain": "scientific",
        "user_id": "u1",
        "target": target,
        "history": served["history_ids"],
        "candidates": served["candidate_ids"],
        "conversation": [["user", "a digital caliper"]],
        "rationale": state["rationale"],
        "accepted": True,
    }
    (trained,) = build_sft_examples(
        [row],
        dataset,
        tiny_llm.tokenizer,
        seed=1,
        context_tokens=CONTEXT_TOKENS,
        rationale_tokens=RATIONALE_TOKENS,
        split_seed=2026,  # u1 is a training user at this split seed
    )

    assert evaluated == served
    assert trained["prompt"] == served["prompt"]
    label = label_of(served, target)
    assert (
        trained["prompt"] + trained["completion"] == answer_prompt(served["prompt"], state["rationale"]) + f" {label}"
    )


def test_a_turn_renders_once_and_ranks_on_what_it_showed(agent_over: Any, tiny_llm: Any) -> None:
    llm = RecordingLLM(tiny_llm)
    agent = agent_over(llm)
    agent.turn("once-1", "a digital caliper", user_id="u1")
    state = agent.values("once-1")
    assert llm.tokenizer.renders == 1
    assert state["shown"]["prompt"] in llm.generated
    assert llm.ranked[-1] == answer_prompt(state["shown"]["prompt"], state["rationale"])
    # Picks carry the labels the model read them under.
    for pick in state["picks"]:
        assert pick["label"] == label_of(state["shown"], pick["item_id"])


def test_a_button_press_is_this_turns_field_only(agent_over: Any, tiny_llm: Any) -> None:
    agent = agent_over(tiny_llm)
    first = agent.turn("button-1", "a digital caliper")
    pressed = first.items[0]["item_id"]
    agent.turn("button-1", "That's wrong", dispute_item=pressed)
    state = agent.values("button-1")
    assert state["button"] == {"item_id": pressed}
    assert pressed in state["rejected"]
    agent.turn("button-1", "thanks, something for sanding instead")
    state = agent.values("button-1")
    assert state["button"] is None
    assert all(not m.additional_kwargs for m in state["messages"] if m.type == "human")


def _shown_with_history(tokenizer: Any, history: list[str], candidates: list[str]) -> Shown:
    items = small_catalog().items
    request = RecRequest(
        history=[items[i] for i in history], candidates=[items[i] for i in candidates], domain="scientific"
    )
    return show(tokenizer, request, context_tokens=CONTEXT_TOKENS, rationale_tokens=RATIONALE_TOKENS)


def test_checking_uses_only_what_the_prompt_showed(tiny_llm: Any) -> None:
    items = small_catalog().items
    ids = sorted(items)
    glue = "B0000223UV"  # Gorilla Glue: only in the history the prompt drops
    history = [glue, *[i for i in ids if i != glue][:10]]
    candidates = [i for i in ids if i not in history][:3]
    shown = _shown_with_history(tiny_llm.tokenizer, history, candidates)
    assert glue not in shown["history_ids"] and len(shown["history_ids"]) == 10  # the prompt shows the last 10
    assert [item.item_id for item in evidence(shown, items).history] == shown["history_ids"]
    claim = "The user bought waterproof polyurethane glue from Gorilla."
    (checked,) = check(shown, claim, items).claims
    assert not checked["supported"], "a history item the model never saw cannot back a claim"
    shown_all = _shown_with_history(tiny_llm.tokenizer, [*history[-3:], glue], candidates)
    assert check(shown_all, claim, items).claims[0]["supported"]


def test_the_evaluated_pass_withholds_recited_instructions(tiny_llm: Any) -> None:
    items = small_catalog().items
    ids = sorted(items)
    request = RecRequest(history=[items[ids[0]]], candidates=[items[i] for i in ids[1:5]], domain="scientific")
    done = run_pass(
        RecordingLLM(tiny_llm, recite=INSTRUCTION),
        request,
        rationale_tokens=RATIONALE_TOKENS,
        context_tokens=CONTEXT_TOKENS,
    )
    assert done.withheld and INSTRUCTION[:40] not in done.rationale
    assert done.rationale == "Sure."
    assert any("withheld" in note for note in done.notes)


def test_a_loop_is_stopped_before_the_repeat(tiny_llm: Any) -> None:
    # The model's own sentences up to the first one it says again; the repeat is not shown, and the pass says so.
    from agent.ranking import LOOP_NOTE, before_repeat

    items = small_catalog().items
    ids = sorted(items)
    request = RecRequest(history=[items[ids[0]]], candidates=[items[i] for i in ids[1:5]], domain="scientific")
    looping = "A has the brand of your first item. B is a glue. A has the brand of your first item. C is a tape."
    done = run_pass(
        RecordingLLM(tiny_llm, recite=looping),
        request,
        rationale_tokens=RATIONALE_TOKENS,
        context_tokens=CONTEXT_TOKENS,
    )
    assert done.rationale == "Sure. A has the brand of your first item. B is a glue."
    assert done.trust.stopped_repeat and not done.trust.repeats and LOOP_NOTE in done.notes
    # A 4-word run a third time inside one unfinished sentence: only the whole sentences before it are kept.
    assert before_repeat("B is a glue. 3DP 3DP 3DP 3DP 3DP 3DP 3DP") == len("B is a glue.")
    assert before_repeat("3DP 3DP 3DP 3DP 3DP 3DP") == 0
    plain = run_pass(RecordingLLM(tiny_llm), request, rationale_tokens=RATIONALE_TOKENS, context_tokens=CONTEXT_TOKENS)
    assert not plain.trust.repeats


def test_a_new_user_is_never_told_about_a_history(tiny_llm: Any) -> None:
    """No history shown: every spelling of "history" is banned in decoding (agent/banned_words.py); with a history
    nothing is."""
    recording = RecordingLLM(tiny_llm)
    dataset = small_catalog()
    items = list(dataset.items.values())
    history_ids = banned_token_ids(tiny_llm.tokenizer, NO_HISTORY_WORDS)
    assert len(history_ids) >= 4  # " history", "history", " History", "History" are single tokens for SmolLM2
    new_user = RecRequest(history=[], candidates=items[:5], conversation=[("user", "a digital caliper")])
    run_pass(recording, new_user, rationale_tokens=RATIONALE_TOKENS, context_tokens=CONTEXT_TOKENS)
    assert recording.banned[-1] == history_ids
    known = RecRequest(history=items[5:7], candidates=items[:5], conversation=[("user", "a digital caliper")])
    run_pass(recording, known, rationale_tokens=RATIONALE_TOKENS, context_tokens=CONTEXT_TOKENS)
    assert recording.banned[-1] == []


def test_grounded_decoding_sends_the_grammar_and_bans_nothing(tiny_llm: Any) -> None:
    recording = RecordingLLM(tiny_llm)
    items = list(small_catalog().items.values())
    new_user = RecRequest(history=[], candidates=items[:5], conversation=[("user", "a digital caliper")])
    recording.rationale_decoding = "grounded"
    run_pass(recording, new_user, rationale_tokens=RATIONALE_TOKENS, context_tokens=CONTEXT_TOKENS)
    assert recording.banned[-1] == [] and recording.grammars[-1] is not None
    assert recording.grammars[-1].startswith("root ::= pick")
    recording.rationale_decoding = "free"
    run_pass(recording, new_user, rationale_tokens=RATIONALE_TOKENS, context_tokens=CONTEXT_TOKENS)
    assert recording.grammars[-1] is None and recording.banned[-1]
