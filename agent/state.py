"""The agent's state: what one conversation (a LangGraph thread) remembers between turns and nodes.

Records inside the state are TypedDicts, i.e. plain dicts at run time: the checkpointer stores them as JSON-like
msgpack without importing any of our classes (LangGraph warns on, and can be set to refuse, custom types).
Reducers are pure functions, unit-tested in tests/unit/test_agent_state.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from langchain_core.messages import AnyMessage
from langgraph.graph import add_messages

from agent.records import INTENTS, ButtonHint, Candidate, Claim, Dispute, Intent, Pick, Profile, Revision, Shown

# The records are re-exported: the nodes and the UI read them together with the state.
__all__ = [
    "INTENTS",
    "AgentState",
    "ButtonHint",
    "Candidate",
    "Claim",
    "Dispute",
    "Intent",
    "Pick",
    "Profile",
    "Revision",
    "Shown",
    "append_records",
    "empty_profile",
    "merge_profile",
    "union_ids",
]


def merge_profile(old: Profile | None, new: Profile | None) -> Profile:
    """Union of wanted/unwanted/constraints, order kept; a word the user rules out stops being wanted. The audience
    is replaced by the latest one named; excluded audiences accumulate, less one the new message asks for.

    A request that names another product than the one before (`thing`, agent/requested_thing.py: "a hoodie" after
    "levi's men's bootcut jeans") starts over its wishes and attribute filters: the old ones were about the old
    product (kept, they searched "hoodie levi men bootcut jeans" filtered to Levi's and committed jeans again).
    What the user ruled out and who the item is for carry over ("no leather", "for men" still hold)."""
    old = old or empty_profile()
    if new is None:
        return old
    new_thing = new.get("thing", [])
    old_thing = old.get("thing", [])
    switched = bool(new_thing) and bool(old_thing) and not set(new_thing) & set(old_thing)
    unwanted = _union(old["unwanted"], new["unwanted"])
    wanted = [w for w in _union([] if switched else old["wanted"], new["wanted"]) if w not in set(unwanted)]
    constraints = {} if switched else {key: list(values) for key, values in old["constraints"].items()}
    for key, values in new["constraints"].items():
        constraints[key] = _union(constraints.get(key, []), values)
    merged: Profile = {"wanted": wanted, "unwanted": unwanted, "constraints": constraints}
    audience = new.get("audience") or old.get("audience")  # "now for women" replaces "for men"
    if audience:
        merged["audience"] = list(audience)
    excluded = [
        a
        for a in _union(old.get("exclude_audience", []), new.get("exclude_audience", []))
        if a not in set(new.get("audience", []))
    ]
    if excluded:
        merged["exclude_audience"] = excluded
    thing = new_thing or old_thing
    if thing:
        merged["thing"] = list(thing)
    return merged


def union_ids(old: Sequence[str] | None, new: Sequence[str] | None) -> list[str]:
    """Append-only set of ids (rejected items), first-seen order kept so transcripts are stable."""
    return _union(old or [], new or [])


def append_records(old: list[Revision] | None, new: list[Revision] | None) -> list[Revision]:
    """Revisions are a log: appended, never replaced."""
    return [*(old or []), *(new or [])]


def empty_profile() -> Profile:
    return {"wanted": [], "unwanted": [], "constraints": {}}


def _union(a: Sequence[str], b: Sequence[str]) -> list[str]:
    seen = dict.fromkeys(a)
    seen.update(dict.fromkeys(b))
    return list(seen)


@dataclass
class AgentState:
    """One conversation. Per-turn fields are overwritten by each turn; the others accumulate."""

    messages: Annotated[list[AnyMessage], add_messages] = field(default_factory=list)
    """The transcript: user turns, the planner's tool calls, tool results and the agent's answers."""
    domain: str = ""
    """The catalog this conversation is about; a thread never changes domain."""
    user_id: str | None = None
    """The catalog user whose history grounds the recommendations (None: a new user)."""
    turn: int = 0
    """Turns completed so far."""
    button: ButtonHint | None = None
    """This turn's "That's wrong" button press, given with the turn's message (None: the user typed)."""
    history: list[str] = field(default_factory=list)
    """This turn's view of the user's history ids, oldest first: read once, by `plan`."""
    profile: Annotated[Profile, merge_profile] = field(default_factory=empty_profile)
    """Wanted and unwanted attributes and constraints, accumulated over turns."""
    exclude: list[str] = field(default_factory=list)
    """What this turn's searches leave out (history and rejected items): the tools read it from here, never from
    the model's tool call (LangGraph's ToolNode fills `InjectedState` arguments)."""
    rejected: Annotated[list[str], union_ids] = field(default_factory=list)
    """Items the user rejected or already owns: excluded from every later search."""
    intent: Intent = "request"
    """This turn's intent, chosen over INTENTS by label log-probabilities."""
    intent_scores: dict[str, float] = field(default_factory=dict)
    """Log-probability of each intent label this turn (normalised over the allowed intents)."""
    asked: list[str] | None = None
    """A request's wanted words as `interpret` read them (the learned phrase tagger's, agent/phrase_model.py), which
    the planner searches first; None: the planner reads them from the message by the rules."""
    dispute: Dispute | None = None
    """What this turn disputes, when the intent is `dispute`."""
    candidates: list[Candidate] = field(default_factory=list)
    """This turn's retrieved candidates, in the order they were labelled for the model."""
    shown: Shown | None = None
    """What the model was shown this turn (rendered once by `reason`; `commit` ranks on it, `verify` checks
    against it)."""
    rationale: str = ""
    """This turn's rationale, as the model wrote it."""
    picks: list[Pick] = field(default_factory=list)
    """This turn's committed items, best first."""
    previous_picks: list[Pick] = field(default_factory=list)
    """The picks of the turn before, to say what changed."""
    claims: list[Claim] = field(default_factory=list)
    """This turn's rationale claims and their support."""
    grounding: float | None = None
    """Relational grounding of this turn's rationale: the share of its claims that tie a candidate to the user
    through a shown link and hold (agent/trust.py; None: no claims)."""
    trust: dict[str, Any] = field(default_factory=dict)
    """This turn's other trust figures: copy_rate, repeats, coverage (of the top pick), lexical (the old score)."""
    revisions: Annotated[list[Revision], append_records] = field(default_factory=list)
    """Every revision made in this conversation."""
    notes: list[str] = field(default_factory=list)
    """What the user should know about this turn (truncation, degraded search...)."""
