"""The plain records the agent keeps in its state: TypedDicts, i.e. dicts at run time.

Kept apart from agent/state.py so that code which only reads or checks records (the claim verifier, the training
filter in training/annotate.py) runs without LangGraph or LangChain installed, e.g. on a bare GPU box.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

Intent = Literal["request", "dispute", "accept", "question", "other"]
INTENTS: tuple[Intent, ...] = ("request", "dispute", "accept", "question", "other")
"""`question`: asks about a pick or the explanation ("why the second one?", "is B waterproof?"); answered from the
pick's evidence and the catalog, the list unchanged."""


class Profile(TypedDict):
    """What the user wants and does not want, accumulated over the conversation."""

    wanted: list[str]
    """Words and phrases the user asked for ("beginner", "stainless steel")."""
    unwanted: list[str]
    """Words and phrases the user ruled out ("leather"); items whose text contains one are never shown."""
    constraints: dict[str, list[str]]
    """Exact attribute filters taken from catalog values the user named, e.g. {"brand": ["Gorilla"]}."""
    audience: NotRequired[list[str]]
    """Who the item is for, as the user said it ("men", "girls"...; agent/profile.py AUDIENCES): a hard filter
    against items whose titles name another audience. The latest request that names one replaces it."""
    exclude_audience: NotRequired[list[str]]
    """Who the item must not be for ("not for kids", "women's jeans, not girls'"): items whose titles name it
    ("kids" also covers boys' and girls' items) are never shown. Accumulates like `unwanted`; asking for an
    audience again lifts its exclusion."""
    thing: NotRequired[list[str]]
    """The word key of the product the latest request named ("jean" for "levi's men's bootcut jeans";
    agent/requested_thing.py). A request naming another one ("a hoodie") replaces the wishes and brand filters
    about the old one; a refinement ("in black") names none and keeps them."""


class Candidate(TypedDict):
    """An item the retrieval tools returned this turn."""

    item_id: str
    title: str
    score: float
    """Best fused retrieval score over the tool calls that returned it."""
    source: str
    """The tool that found it first (search_catalog, similar_items...)."""
    prior: float
    """The prior's score (agent/prior.py); candidates are kept and shown in its order."""


class Claim(TypedDict):
    """One sentence-level claim of a rationale and whether its evidence supports it."""

    text: str
    item_ids: list[str]
    """Candidates the claim is about (by label, id or title); empty for claims about the user."""
    supported: bool
    support: float
    """Share of the claim's content words found in its evidence, 0..1."""
    missing: list[str]
    """Content words of the claim that no evidence contains."""
    relational: NotRequired[bool]
    """True when the claim ties a named candidate to the user through one of its shown links and says nothing
    unbacked (agent/trust.py); `supported` is only the lexical check."""


class Pick(TypedDict):
    """A committed recommendation."""

    item_id: str
    title: str
    label: str
    """The candidate label (A, B, ...) the model ranked it by."""
    logprob: float
    reason: str
    """A short reason taken from the rationale's supported claims about this item (or from its matching fields)."""
    grounded: bool
    """True when the reason comes from a supported claim of the rationale."""


class Dispute(TypedDict):
    """What the user disputed, as found in their message (or given by a "That's wrong" button)."""

    message: str
    kind: Literal["item", "attribute", "claim", "owned"]
    item_ids: list[str]
    """Items the dispute is about (rejected from now on)."""
    attribute: str | None
    """A word or phrase the user ruled out ("leather"), recorded as unwanted."""
    claim: str | None
    """The rationale claim the user disputed, if one matched."""


class Turn(TypedDict):
    """One line of the conversation as a prompt shows it."""

    role: Literal["user", "assistant"]
    text: str


class ShownLink(TypedDict):
    """One link the prompt showed for a candidate (agent/evidence.py `Link`)."""

    kind: str
    words: list[str]
    history: list[str]
    count: int


class Shown(TypedDict):
    """What the model was shown for one recommendation: rendered once (`agent.ranking.show`), then ranked on and
    checked against as it is. A served turn keeps it in the state; the evals and the SFT builder make the same one."""

    prompt: str
    """The prompt text up to and including "Rationale:"; the model continues with its rationale."""
    labels: list[str]
    candidate_ids: list[str]
    """`candidate_ids[i]` is the item labelled `labels[i]`, in the order the model read them."""
    history_ids: list[str]
    """The history items the prompt kept (after capping and truncation), oldest first."""
    conversation: list[Turn]
    """The conversation lines the prompt kept, oldest first (cut as shown)."""
    dispute: str | None
    """The dispute line the prompt carried, if any (not something the user said, so not evidence)."""
    links: list[list[ShownLink]]
    """Per candidate (label order), the links the prompt showed; empty lists when it showed none."""
    item_chars: int
    """Characters each item line was cut to."""
    num_tokens: int
    notes: list[str]
    """What had to be dropped or cut to fit the context, in words a user can read."""


class ButtonHint(TypedDict, total=False):
    """A "That's wrong" button press: the item or the rationale claim it was pressed on."""

    item_id: str
    claim: str


class Revision(TypedDict):
    """What a revision changed and why."""

    turn: int
    dispute: Dispute
    removed: list[str]
    added: list[str]
    kept: list[str]
    summary: str
