"""Run-time knobs and live objects of the agent, read by nodes through `Runtime[Context]`.

Nothing here is checkpointed: the model, the retrievers and the tools are rebuilt by the process that resumes a
thread, while the conversation itself lives in `AgentState`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent.prior import Calibration, Prior
from agent.profile import Vocabulary
from agent.runtime import Recommender
from tools.catalog import Item
from tools.search import CatalogRetrievers


@dataclass
class Context:
    """What every node of one agent may use. One Context serves many threads of the same domain."""

    llm: Recommender
    """The model behind interpret, reason and commit (and free-form replies)."""
    retrievers: CatalogRetrievers
    """The domain's catalog, users and search indexes."""
    vocabulary: Vocabulary | None = None
    """Attribute values (brands...) the user may name as constraints."""
    prior: Prior | None = None
    """The fitted prior that orders candidates before the model reads them (agent/prior.py); None: retrieval order."""
    calibration: Calibration | None = None
    """How much the model's label scores count beside the prior when committing; None: no calibration for this
    model and domain, so the committed order is the prior's (said in the turn's notes)."""
    tool_model: Any = None
    """A LangChain chat model with tools bound (`bind_tools`), when the configured model writes its own tool
    calls; None: the deterministic planner writes them."""
    search_k: int = 20
    """Items each search asks for; candidates are then filtered (history, rejected, unwanted)."""
    max_candidates: int = 10
    """Candidates shown to the model (the prior's best), labelled A..; 10 keeps the prompt near 700 tokens (about
    1 s of prefill)."""
    commit_top: int = 3
    """Items committed per turn."""
    rationale_tokens: int = 96
    context_tokens: int = 2048
    reply_tokens: int = 48
    """Budget of a free-form reply (greetings, questions that are not requests)."""
    intent_cue_weight: float = 2.0
    """Nats added to intents whose cue words occur (see agent/intent.py for why)."""
    intent_model: Any = None
    """The learned intent classifier (agent/intent_model.py `IntentModel`); None: the model's labels plus the cues."""
    dispute_kind_model: Any = None
    """The learned dispute kind classifier (agent/dispute_kind_model.py `DisputeKindModel`); None: the rules decide."""
    phrase_model: Any = None
    """The learned tagger of a request's wanted phrases (agent/phrase_model.py `PhraseModel`); None: rules read them."""
    pick_model: Any = None
    """The learned pointer at the pick a message is about (agent/pick_model.py `PickModel`); None: the rules point."""
    speller: Any = None
    """Typo correction against the catalog's words (agent/spelling.py `Speller`); None: messages read as typed."""
    encoder: Any = None
    """The sentence encoder the intent classifier reads (the dense retriever's, shared)."""
    holdout: bool = False
    """Evaluation mode: the user's history stops before their held-out test item, which stays searchable."""

    @property
    def domain(self) -> str:
        return self.retrievers.domain

    def history(self, user_id: str | None) -> list[Item]:
        """The user's past items, oldest first (empty for a new user)."""
        if user_id is None:
            return []
        user = self.retrievers.user(user_id)
        if user is None:
            return []
        ids = user.test_history if self.holdout else user.all_items
        items = self.retrievers.dataset.items
        return [items[i] for i in ids]
