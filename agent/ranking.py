"""The one explain -> rank -> check pass that a served turn, an evaluated case and a training example share.

    shown = show(llm.tokenizer, request, ...)     render once: the record of what the model was shown
    explanation = explain(llm, shown, ...)        the rationale, streamed, cut by the leak guard
    ranked = rank(llm, shown, rationale)          one forward pass orders every candidate (verbalizer ranking)
    checked = check(shown, rationale, items)      each claim against exactly the evidence the prompt showed

`run_pass` chains the four for the evals and the benchmarks; the agent's nodes call them one by one (reason renders
and explains, commit ranks, verify checks) over the `Shown` record kept in the state; the SFT data builder calls
`show` alone. So the same inputs render byte-identical prompts on all three paths (tests/unit/test_one_pass.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from agent.banned_words import banned_token_ids, banned_words
from agent.claim_grammar import MAX_SENTENCES, rationale_grammar
from agent.claims import Evidence, check_claims
from agent.guard import WITHHELD_NOTE, LeakGuard
from agent.prompts import (
    ANSWER_PREFIX,
    ChatTokenizer,
    RecRequest,
    agent_instructions,
    answer_prompt,
    format_rationale,
    render_prompt,
)
from agent.records import Claim, Shown, ShownLink
from agent.runtime import Recommender
from agent.trust import Trust, relational_claims, repeats, trust
from tools.catalog import Item

_SENTENCE_END = re.compile(r"[.!?](?=\s)")
LOOP_NOTE = "the model began to repeat itself; its rationale was stopped before the repeat"


def sentence_cut(text: str, limit: int) -> int | None:
    """The index just after the `limit`-th sentence end of `text` (a stop followed by a space), or None."""
    for n, match in enumerate(_SENTENCE_END.finditer(text), start=1):
        if n == limit:
            return match.end()
    return None


@dataclass(frozen=True)
class Explanation:
    rationale: str
    """The model's rationale, cut at ANSWER_PREFIX and where it started reciting the agent's instructions."""
    withheld: bool
    """Whether the leak guard cut it."""
    stopped_repeat: bool = False
    """Whether generation stopped where the rationale began to repeat itself (`agent.trust.repeats`)."""


def before_repeat(text: str) -> int:
    """The end of the longest run of whole sentences at the start of `text` that does not repeat itself
    (`agent.trust.repeats`), or 0."""
    stripped = text.rstrip()
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    if stripped.endswith((".", "!", "?")):
        ends.append(len(stripped))
    return next((end for end in sorted(set(ends), reverse=True) if not repeats(text[:end])), 0)


@dataclass(frozen=True)
class Ranked:
    order: tuple[str, ...]
    """Candidate item ids, best first; only ever the shown candidates."""
    logprobs: dict[str, float]
    """Item id -> log-probability of its label, normalised over the candidates."""


@dataclass(frozen=True)
class Checked:
    claims: list[Claim]
    """The rationale's claims, each with its lexical support and whether it is relational and true."""
    trust: Trust
    """Copy rate, repetition, relational grounding, coverage of the top item, lexical support (agent/trust.py)."""

    @property
    def grounding(self) -> float | None:
        """Relational grounding: the share of claims that tie a candidate to the user and are true."""
        return self.trust.relational


@dataclass(frozen=True)
class Pass:
    """Everything one pass produced."""

    shown: Shown
    rationale: str
    withheld: bool
    order: tuple[str, ...]
    logprobs: dict[str, float]
    claims: list[Claim]
    trust: Trust
    """The rationale's trust figures; coverage is of the model's own top item."""

    @property
    def grounding(self) -> float | None:
        """Relational grounding (agent/trust.py)."""
        return self.trust.relational

    @property
    def notes(self) -> list[str]:
        return [
            *self.shown["notes"],
            *([WITHHELD_NOTE] if self.withheld else []),
            *([LOOP_NOTE] if self.trust.stopped_repeat else []),
        ]


def show(tokenizer: ChatTokenizer, request: RecRequest, *, context_tokens: int, rationale_tokens: int) -> Shown:
    """Render the rationale prompt once and record what it showed (`agent.prompts.render_prompt` fits it)."""
    prompt = render_prompt(tokenizer, request, context_tokens=context_tokens, reserve_tokens=rationale_tokens)
    return Shown(
        prompt=prompt.text,
        labels=list(prompt.labels),
        candidate_ids=list(prompt.candidate_ids),
        history_ids=list(prompt.history_ids),
        conversation=[{"role": role, "text": text} for role, text in prompt.conversation],
        dispute=prompt.dispute,
        links=[
            [ShownLink(kind=k.kind, words=list(k.words), history=list(k.history), count=k.count) for k in per]
            for per in (prompt.links or [() for _ in prompt.candidate_ids])
        ],
        item_chars=prompt.item_chars,
        num_tokens=prompt.num_tokens,
        notes=list(prompt.notes),
    )


def label_of(shown: Shown, item_id: str) -> str:
    """The label the model read `item_id` under; ValueError for an item that was not shown."""
    return shown["labels"][shown["candidate_ids"].index(item_id)]


def explain(
    llm: Recommender,
    shown: Shown,
    *,
    max_tokens: int,
    protected: Sequence[str],
    items: Mapping[str, Item],
    on_token: Callable[[str], None] | None = None,
    pick: str | None = None,
) -> Explanation:
    """The model's rationale for `shown`, streamed to `on_token` through the leak guard (`protected`: the texts it
    may not recite). `max_tokens=0` writes none: the ranking then reads the labels straight after the prompt, the
    "no chain of thought" ablation. With `llm.rationale_decoding == "grounded"` it is decoded over the sentences
    that are true of the shown links (agent/claim_grammar.py; `items`: the shown history and candidates), for the
    candidate labelled `pick` when the commit's top is known before the labels are read."""
    if max_tokens <= 0:
        return Explanation("", False)
    guard = LeakGuard(protected, emit=on_token)
    said = ""
    looped = False
    # Always streamed, so that generation stops the moment the rationale has said its MAX_SENTENCES sentences
    # (closing the stream stops the local model at its next token and makes vLLM abort the request), or the moment
    # it says a sentence twice or a 4-word run a third time: the loop of a small model (5% of the stage-1 student's
    # scientific rationales, 22-44% of the base's) ends there, the same way in both backends, and the rationale
    # kept is what it said before the repeat.
    if getattr(llm, "rationale_decoding", "free") == "grounded":
        # Only true sentences can be said, so no word needs banning (and a ban could leave the grammar no token).
        grammar: str | None = rationale_grammar(shown, items, pick)
        banned: list[int] = []
    else:
        grammar, banned = None, banned_token_ids(llm.tokenizer, banned_words(shown))
    stream = llm.generate(
        shown["prompt"], max_tokens, stop=[ANSWER_PREFIX], stream=True, banned=banned, grammar=grammar
    )
    try:
        for chunk in stream:
            cut = sentence_cut(said + chunk, MAX_SENTENCES)
            piece = chunk if cut is None else (said + chunk)[len(said) : cut]
            text = said + piece
            if repeats(text.split(ANSWER_PREFIX, 1)[0]):
                kept = before_repeat(text)
                guard.feed(text[len(said) : kept])
                said, looped = text[:kept], True
                break
            said += piece
            guard.feed(piece)
            if cut is not None:
                break
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    guard.close()
    # Cut here too: a server that ignores `stop` must not put its answer (or anything after it) into the rationale.
    rationale = format_rationale(said.split(ANSWER_PREFIX, 1)[0]).strip()
    rationale, withheld = guard.clean(rationale)
    return Explanation(rationale, withheld, looped)


def rank(llm: Recommender, shown: Shown, rationale: str) -> Ranked:
    """Order every shown candidate by its label's log-probability after the rationale: one forward pass.

    Only the shown labels are scored, so only shown candidates can come back: an item the agent did not retrieve
    cannot be ranked, whatever the rationale says.
    """
    scores = llm.label_logprobs(answer_prompt(shown["prompt"], rationale), shown["labels"])
    by_item = {item_id: scores[label] for label, item_id in zip(shown["labels"], shown["candidate_ids"], strict=True)}
    # Ties keep candidate order: deterministic, and the caller controls candidate order (the evals shuffle it).
    order = tuple(sorted(shown["candidate_ids"], key=lambda i: -by_item[i]))
    return Ranked(order, by_item)


def evidence(shown: Shown, items: Mapping[str, Item]) -> Evidence:
    """What a claim may rest on: the shown candidates by label, the shown history, what the user said as shown."""
    return Evidence(
        candidates={label: items[i] for label, i in zip(shown["labels"], shown["candidate_ids"], strict=True)},
        history=[items[i] for i in shown["history_ids"]],
        conversation=[turn["text"] for turn in shown["conversation"] if turn["role"] == "user"],
    )


def check(shown: Shown, rationale: str, items: Mapping[str, Item], top_item: str | None = None) -> Checked:
    """Split the rationale into claims, check each against `evidence(shown, items)` and against the shown links,
    and measure the rationale's trust figures; `top_item`: the item committed first (for coverage)."""
    lexical = check_claims(rationale, evidence(shown, items))
    judged = relational_claims(rationale, shown, items, lexical)
    claims: list[Claim] = [{**claim, "relational": good} for claim, good in judged]
    return Checked(claims, trust(rationale, shown, judged, top_item))


def run_pass(
    llm: Recommender,
    request: RecRequest,
    *,
    rationale_tokens: int,
    context_tokens: int,
    on_token: Callable[[str], None] | None = None,
) -> Pass:
    """Show, explain (leak guard included), rank and check one request, exactly as a served turn does."""
    shown = show(llm.tokenizer, request, context_tokens=context_tokens, rationale_tokens=rationale_tokens)
    items = {item.item_id: item for item in [*request.history, *request.candidates]}
    return finish_pass(llm, shown, items, domain=request.domain, rationale_tokens=rationale_tokens, on_token=on_token)


def shown_label(shown: Shown, item_id: str | None) -> str | None:
    """The label `item_id` was shown under, else None (not shown, or no item)."""
    if item_id is None or item_id not in shown["candidate_ids"]:
        return None
    return label_of(shown, item_id)


def finish_pass(
    llm: Recommender,
    shown: Shown,
    items: Mapping[str, Item],
    *,
    domain: str,
    rationale_tokens: int,
    on_token: Callable[[str], None] | None = None,
    pick: str | None = None,
) -> Pass:
    """Explain, rank and check what `show` rendered (for callers that look at the prompt first, e.g. a cache); the
    rationale argues for the candidate labelled `pick` when given (agent/prior.py `fixed_top`)."""
    explanation = explain(
        llm,
        shown,
        max_tokens=rationale_tokens,
        protected=agent_instructions(domain),
        items=items,
        on_token=on_token,
        pick=pick,
    )
    ranked = rank(llm, shown, explanation.rationale)
    checked = check(shown, explanation.rationale, items, ranked.order[0])
    return Pass(
        shown=shown,
        rationale=explanation.rationale,
        withheld=explanation.withheld,
        order=ranked.order,
        logprobs=ranked.logprobs,
        claims=checked.claims,
        trust=replace(checked.trust, stopped_repeat=explanation.stopped_repeat),
    )
