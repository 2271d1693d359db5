"""`--teacher evidence`: self-annotation by the evidence writer, a teacher that sees the target and cannot lie.

For each training pair it draws the example's candidates exactly as the SFT builder would (training/sft_data.py
`draw_candidates`: the target among 19 others, a seeded share of them the BM25 retriever's top for the history,
shuffled), renders the serving prompt with every candidate's links (agent/ranking.py `show`), and has
`agent.evidence_writer.write_rationale` argue for the target from its links. The row keeps the candidates, so the
SFT builder renders the very prompt the rationale was written against, labels included.

With a `paraphraser` (`--paraphrase --teacher FILE`: any LLM, e.g. a larger model behind vLLM), the LLM rewrites
each written rationale in its own words (agent/prompts.py `render_paraphrase_prompt`) and the paraphrase is judged
instead; a row keeps the writer's text in `written`. An LLM cannot slip a lie past the filter: what it adds that no
link backs makes the claim fail.

The same trust checks that score the served model (agent/trust.py) are its filter: a rationale is kept only when it
copies no 8-word span of the prompt beyond COPY_LIMIT, does not repeat itself, has MIN_RELATIONAL of its claims
relational and true, and argues for the target. A row records its trust figures.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from agent.answer import summary_line
from agent.evidence_writer import write_rationale
from agent.prompts import ChatTokenizer, Role, render_paraphrase_prompt
from agent.ranking import show
from agent.runtime import Recommender
from agent.trust import Trust, relational_claims, trust
from tools.catalog import Dataset
from tools.cooccur import CoOccurrence
from training.requests import synthetic_request
from training.sft_data import _rng, draw_candidates, example_request

if TYPE_CHECKING:
    from tools.search import Retriever
    from training.annotate import Pair

EVIDENCE_TEACHER = "evidence"
"""The `--teacher` value that selects this teacher."""
WRITER_VERSION = "evidence-writer-1"
"""Recorded as each row's teacher: bump when the writer's sentences change."""
COPY_LIMIT = 0.10
MIN_RELATIONAL = 0.9
"""The issue's goals for a served rationale, applied to every training target."""
NEW_USER_SHARE = 0.5
"""Of the pairs shown with a request, the share shown as a new user's (no history): a chat's first turn."""
FOLLOW_UP_SHARE = 0.0
"""Default share of the request pairs shown as the turn after a dispute (`--follow-up-share`)."""
PREVIOUS_PICKS = 3
"""The picks the assistant's earlier answer names, as a served answer commits 3."""
_DISPUTES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("I already own the first one", (0,)),
    ("not the first one", (0,)),
    ("I don't like the second one", (1,)),
    ("the second one is wrong", (1,)),
    ("the first two are not what I want", (0, 1)),
    ("none of these, show me something else", (0, 1, 2)),
    ("I already have the third one", (2,)),
    ("that's wrong, try again", (0,)),
)
"""Item disputes as users type them, with the picks they rule out. A served turn after one shows the earlier
answer's summary line and the dispute line; the 3,214 rows of the first evidence run had none, and the student then
called the picks it had just made "your history item" (the README's transcript)."""


@dataclass(frozen=True)
class TrustVerdict:
    accepted: bool
    reason: str | None
    """None when accepted, else a key of training.annotate.REASONS."""
    grounding: float | None
    """Relational grounding (agent/trust.py)."""


def judge_trust(rationale: str, figures: Trust, *, target_links: int = 1) -> TrustVerdict:
    """The first of no_evidence (the target has no link: nothing to teach but a guess), empty, degenerate (a loop),
    copied, unsupported, no_target_claim that holds, else accepted."""
    if target_links == 0:
        return TrustVerdict(False, "no_evidence", figures.relational)
    if not any(ch.isalnum() for ch in rationale):
        return TrustVerdict(False, "empty", None)
    if figures.repeats:
        return TrustVerdict(False, "degenerate", figures.relational)
    if figures.copy_rate > COPY_LIMIT:
        return TrustVerdict(False, "copied", figures.relational)
    if figures.relational is None or figures.relational < MIN_RELATIONAL:
        return TrustVerdict(False, "unsupported", figures.relational)
    if not figures.coverage:
        return TrustVerdict(False, "no_target_claim", figures.relational)
    return TrustVerdict(True, None, figures.relational)


@dataclass
class EvidenceTeacher:
    """Writes and judges one rationale per pair; no model involved (about 5 ms a pair)."""

    dataset: Dataset
    tokenizer: ChatTokenizer
    seed: int
    retriever: Retriever | None = None
    num_negatives: int = 19
    hard_negative_share: float = 0.5
    context_tokens: int = 2048
    rationale_tokens: int = 96
    cooccur: CoOccurrence | None = field(default=None, repr=False)
    paraphraser: Recommender | None = None
    max_tokens: int = 96
    request_share: float = 0.0
    """Seeded share of pairs shown with a request for the target's kind (training/requests.py); half of those as a
    new user's (no history), and their candidates, when drawn from the retriever, are its top for the request."""
    follow_up_share: float = FOLLOW_UP_SHARE
    """Seeded share of the request pairs shown as the turn after an item dispute: the request, the earlier answer
    (the retriever's top 3 for it, the target not among them), the dispute; the disputed picks are left out of the
    candidates, as the graph leaves them out."""
    _user_items: dict[str, set[str]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.cooccur is None and self.dataset.users:
            self.cooccur = CoOccurrence.of(self.dataset)
        # Every item of each user, looked up once per pair (8,442 users on scientific: not rebuilt per pair).
        self._user_items = {u.user_id: set(u.all_items) for u in self.dataset.users}

    def _request(self, pair: Pair) -> tuple[list[tuple[Role, str]], Pair]:
        """The pair's conversation (one request, or none) and the pair as shown (no history for a new user)."""
        rng = _rng(self.seed, pair.user_id, pair.target, "request")
        if rng.random() >= self.request_share:
            return [], pair
        text = synthetic_request(self.dataset.items[pair.target], rng)
        if text is None:
            return [], pair
        if rng.random() < NEW_USER_SHARE:
            pair = replace(pair, history=())
        return [("user", text)], pair

    def _follow_up(
        self, pair: Pair, conversation: list[tuple[Role, str]], user_items: set[str]
    ) -> tuple[list[tuple[Role, str]], str | None, set[str]]:
        """The conversation after an item dispute (request, earlier answer, dispute), the dispute line, and the
        disputed picks; the pair's single request unchanged (None, no picks) when the draw says no."""
        rng = _rng(self.seed, pair.user_id, pair.target, "follow-up")
        if not conversation or rng.random() >= self.follow_up_share:
            return conversation, None, set()
        request = conversation[0][1]
        if self.retriever is not None:
            hits = self.retriever.search(request, PREVIOUS_PICKS + 1, exclude=user_items).item_ids
        else:
            pool = sorted(i for i in self.dataset.items if i not in user_items)
            hits = rng.sample(pool, min(len(pool), PREVIOUS_PICKS + 1))
        picks = [i for i in hits if i != pair.target][:PREVIOUS_PICKS]
        message, ruled_out = rng.choice(_DISPUTES)
        if not picks or max(ruled_out) >= len(picks):
            return conversation, None, set()
        answer = summary_line([{"title": self.dataset.items[i].title} for i in picks])  # type: ignore[typeddict-item]
        turns: list[tuple[Role, str]] = [*conversation, ("assistant", answer), ("user", message)]
        # The graph's dispute line for an item dispute is the user's words (no claim, no attribute read).
        return turns, message, {picks[n] for n in ruled_out}

    @property
    def name(self) -> str:
        """Each row's `teacher`: the writer's version, and the paraphrasing model when there is one."""
        if self.paraphraser is None:
            return WRITER_VERSION
        return f"{WRITER_VERSION}+paraphrase:{self.paraphraser.name}"

    def info(self) -> dict[str, Any]:
        """What the card records about this teacher."""
        return {
            "spec": EVIDENCE_TEACHER,
            "name": self.name,
            "num_negatives": self.num_negatives,
            "hard_negative_share": self.hard_negative_share if self.retriever is not None else 0.0,
            "retriever": type(self.retriever).__name__ if self.retriever is not None else None,
            "copy_limit": COPY_LIMIT,
            "min_relational": MIN_RELATIONAL,
            "paraphraser": self.paraphraser.name if self.paraphraser is not None else None,
            "request_share": self.request_share,
            "new_user_share_of_requests": NEW_USER_SHARE,
            "follow_up_share_of_requests": self.follow_up_share,
        }

    def annotate_pair(self, pair: Pair) -> dict[str, Any]:
        from training.annotate import row_for

        started = time.perf_counter()
        user_items = {*pair.history, pair.target} | self._user_items.get(pair.user_id, set())
        conversation, pair = self._request(pair)
        conversation, dispute, disputed = self._follow_up(pair, conversation, user_items)
        drawn = draw_candidates(
            self.dataset,
            user_items | disputed,
            pair.target,
            pair.history,
            seed=self.seed,
            user_id=pair.user_id,
            num_negatives=self.num_negatives,
            hard_negative_share=self.hard_negative_share,
            retriever=self.retriever,
            query=conversation[0][1] if conversation else None,
        )
        request = example_request(self.dataset, pair.history, drawn.ids, conversation, self.cooccur, dispute=dispute)
        extra: dict[str, Any] = {"conversation": [list(turn) for turn in conversation]} if conversation else {}
        if dispute is not None:
            extra["dispute"] = dispute
        shown = show(
            self.tokenizer, request, context_tokens=self.context_tokens, rationale_tokens=self.rationale_tokens
        )
        rng = random.Random(_rng(self.seed, pair.user_id, pair.target, "evidence-writer").random())
        written = rationale = write_rationale(shown, pair.target, self.dataset.items, rng)
        if self.paraphraser is not None:
            from training.annotate import _ask_teacher, clean_rationale

            prompt = render_paraphrase_prompt(self.paraphraser.tokenizer, written)
            text, error = _ask_teacher(self.paraphraser, prompt, self.max_tokens)
            extra["written"] = written
            if error:
                return row_for(self.dataset.domain, pair, clean_rationale(text), TrustVerdict(False, error, None),
                               self.name, time.perf_counter() - started, None, candidates=shown["candidate_ids"],
                               hard_negatives=drawn.hard, **extra)  # fmt: skip
            rationale = clean_rationale(text)
        judged = relational_claims(rationale, shown, self.dataset.items)
        figures = trust(rationale, shown, judged, pair.target)
        target_links = len(shown["links"][shown["candidate_ids"].index(pair.target)])
        verdict = judge_trust(rationale, figures, target_links=target_links)
        return row_for(
            self.dataset.domain,
            pair,
            rationale,
            verdict,
            self.name,
            time.perf_counter() - started,
            None,
            candidates=shown["candidate_ids"],
            hard_negatives=drawn.hard,
            trust=asdict(figures),
            **extra,
        )
