"""Revision: a scripted user simulator that disputes the agent's answer, over many evaluation users.

Per user: a request turn made of the held-out item's category words ("I am looking for digital calipers"; for a
catalog without categories, 2-3 content words of its title), then ONE scripted dispute, its kind chosen by a seeded
rotation over `KINDS`:

- `owned`: "I already own that" (about the top pick);
- `item`: a "That's wrong" button on the second pick (`dispute_item`), message "That's wrong.";
- `attribute`: "I said no <word>", <word> a content word of the top pick's title that the request does not use
  (its brand when the title names it), so the request can still be served;
- `claim`: "That's not true: <claim>" with `dispute_claim=<claim>`, the first rationale claim about a pick (else the
  first claim); with no claim at all it falls back to `owned`.

Each dispute is judged by three criteria, recorded separately (success = all three):

- `gone`: no disputed item is among the new picks, and for `attribute` no new pick's catalog title or text contains
  the word (whole word, case-insensitive);
- `addressed`: the answer carries a revision summary that names the dispute (a disputed item's title, the word, "already
  own", or the disputed claim), and the new rationale does not repeat the disputed claim verbatim;
- `moved`: the list of picks changed.

The criteria are pure functions of what the simulator asked and what the agent answered, judged by the simulator's own
script rather than by the agent's reading of the message (an agent that misreads a dispute fails them).
"""

from __future__ import annotations

import json
import random
import re
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from agent.errors import AgentError
from agent.language import FILLER_WORDS, singular
from agent.session import TurnResult
from agent.state import Claim
from tools.catalog import Dataset, Item, UserHistory
from tools.errors import ToolsError
from tools.tokenize import ENGLISH_STOPWORDS, normalize_text

Kind = Literal["owned", "item", "attribute", "claim"]
KINDS: tuple[Kind, ...] = ("owned", "item", "attribute", "claim")
OWNED_MESSAGE = "I already own that"
ITEM_MESSAGE = "That's wrong."
CRITERIA = ("intent_ok", "gone", "addressed", "moved", "success")
"""Rates judged per dispute; `success` = gone and addressed and moved."""
ON_REQUEST = ("on_request_before", "on_request_after")
"""Reported beside them, not part of success: every pick of the request turn / of the revision mentions a word of
the request (so a revision that wanders off the request shows up even when the three criteria pass)."""
_TITLE_CHARS = 60
"""Characters of a title (or claim) that must appear in the revision summary; the agent shortens long ones."""
_WORD = re.compile(r"[a-z]{3,}")


class Agent(Protocol):
    """What the simulator needs of `agent.session.RecommenderAgent`."""

    def turn(
        self,
        thread: str,
        message: str,
        *,
        user_id: str | None = None,
        dispute_item: str | None = None,
        dispute_claim: str | None = None,
    ) -> TurnResult: ...


@dataclass(frozen=True)
class Script:
    """One scripted dispute: what the user says and what they dispute."""

    kind: Kind
    message: str
    disputed_items: tuple[str, ...]
    """Item ids the user means; they must not come back."""
    attribute: str | None = None
    claim: str | None = None
    dispute_item: str | None = None
    """The item of a "That's wrong" button, passed to `turn(dispute_item=...)`."""


@dataclass
class Outcome:
    """One simulated user: the request, the dispute and how the agent's revision did."""

    user_id: str
    planned: Kind
    kind: Kind | None = None
    """The kind actually played (`claim` falls back to `owned` when the rationale has no claim)."""
    request: str = ""
    message: str = ""
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    disputed_items: list[str] = field(default_factory=list)
    attribute: str | None = None
    claim: str | None = None
    intent: str | None = None
    intent_ok: bool = False
    gone: bool = False
    addressed: bool = False
    moved: bool = False
    on_request_before: bool = False
    on_request_after: bool = False
    summary: str = ""
    rationale_chars: int | None = None
    """Length of the revision's rationale (its generation dominates the dispute turn's time)."""
    request_s: float | None = None
    dispute_s: float | None = None
    error: str | None = None
    skipped: str | None = None
    """Why no dispute was played (the request turn recommended nothing)."""

    @property
    def success(self) -> bool:
        return self.gone and self.addressed and self.moved

    @property
    def judged(self) -> bool:
        return self.error is None and self.skipped is None and self.kind is not None


@dataclass
class RevisionReport:
    """Every simulated user of one domain, with per-kind and overall rates."""

    domain: str
    model: str
    seed: int
    outcomes: list[Outcome]

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per kind played, and `all`: n judged, each criterion's rate, errors, skips, mean turn seconds."""
        groups: dict[str, list[Outcome]] = {kind: [] for kind in KINDS}
        for outcome in self.outcomes:
            groups[outcome.kind or outcome.planned].append(outcome)
        groups["all"] = list(self.outcomes)
        return {name: _stats(rows) for name, rows in groups.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "model": self.model,
            "seed": self.seed,
            "users": len(self.outcomes),
            "summary": self.summary(),
            "outcomes": [asdict(o) | {"success": o.success} for o in self.outcomes],
        }

    def to_markdown(self) -> str:
        header = (
            "| kind | n | intent ok | gone | addressed | moved | success | on request before | on request after "
            "| errors | skipped | request s | dispute s |"
        )
        lines = [
            f"### Revision: {self.domain} ({len(self.outcomes)} users, model {self.model}, seed {self.seed})",
            "",
            header,
            "|" + "---|" * (header.count("|") - 1),
        ]
        for name, stats in self.summary().items():
            rates = " | ".join(_rate(stats[c]) for c in (*CRITERIA, *ON_REQUEST))
            lines.append(
                f"| {name} | {stats['n']} | {rates} | {stats['errors']} | {stats['skipped']} | "
                f"{_secs(stats['request_s'])} | {_secs(stats['dispute_s'])} |"
            )
        errors = [o for o in self.outcomes if o.error]
        if errors:
            lines += ["", "Errors: " + "; ".join(f"{o.user_id}: {o.error[:120]}" for o in errors[:5] if o.error)]
        return "\n".join(lines)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)


def _stats(rows: Sequence[Outcome]) -> dict[str, Any]:
    judged = [o for o in rows if o.judged]
    n = len(judged)
    out: dict[str, Any] = {"n": n}
    for criterion in (*CRITERIA, *ON_REQUEST):
        out[criterion] = sum(bool(getattr(o, criterion)) for o in judged) / n if n else None
    out["errors"] = sum(o.error is not None for o in rows)
    out["skipped"] = sum(o.skipped is not None for o in rows)
    requests = [o.request_s for o in rows if o.request_s is not None]
    disputes = [o.dispute_s for o in rows if o.dispute_s is not None]
    out["request_s"] = statistics.fmean(requests) if requests else None
    out["dispute_s"] = statistics.fmean(disputes) if disputes else None
    return out


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _secs(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


# --- the script -------------------------------------------------------------------------------------------------


def kind_rotation(n: int, seed: int) -> list[Kind]:
    """The dispute kind of each of `n` users: KINDS in turn from a seeded start, so every kind is played about
    equally often and the same seed plays the same kinds."""
    start = random.Random(seed).randrange(len(KINDS))
    return [KINDS[(start + index) % len(KINDS)] for index in range(n)]


def request_message(item: Item) -> str:
    """The request a user with held-out `item` makes (as benchmarks/agent.py builds it): the last three words of its
    category, or 2-3 content words of its title for a catalog without categories."""
    category = str(item.attributes.get("category", "") or "").split()[-3:]
    if category:
        return "I am looking for " + " ".join(category).lower()
    words = list(dict.fromkeys(w for w in _WORD.findall(normalize_text(item.title)) if _content_word(w)))
    return "I am looking for " + " ".join(words[:3] or ["something"])


def _content_word(word: str) -> bool:
    return word not in ENGLISH_STOPWORDS and word not in FILLER_WORDS


def attribute_word(item: Item, request: str) -> str | None:
    """A word to rule out after recommending `item`: its brand when its title names it, else the first content word of
    its title; never a word (or its singular) of the request. None when the title has no such word."""
    asked = {singular(w) for w in _WORD.findall(normalize_text(request))}
    words = [w for w in _WORD.findall(normalize_text(item.title)) if _content_word(w) and singular(w) not in asked]
    brand = normalize_text(str(item.attributes.get("brand", "") or "")).split()
    if len(brand) == 1 and brand[0] in words:
        return brand[0]
    return words[0] if words else None


def has_word(text: str, word: str) -> bool:
    """Whether `text` contains `word` as a whole word, case- and accent-insensitive."""
    return re.search(rf"(?<![a-z0-9]){re.escape(normalize_text(word))}(?![a-z0-9])", normalize_text(text)) is not None


def _claim_to_dispute(claims: Sequence[Claim], picks: Sequence[str]) -> Claim | None:
    about_pick = [c for c in claims if c["text"].strip() and set(c["item_ids"]) & set(picks)]
    any_claim = [c for c in claims if c["text"].strip()]
    chosen = about_pick or any_claim
    return chosen[0] if chosen else None


def make_script(kind: Kind, result: TurnResult, items: Mapping[str, Item], request: str) -> Script:
    """The dispute of `kind` against the request turn's `result` (falling back to `owned` where `kind` cannot be
    played: a `claim` with no claim, an `attribute` with no usable word). `result` must have picks."""
    picks = [i["item_id"] for i in result.items]
    top = picks[0]
    if kind == "item":
        second = picks[1] if len(picks) > 1 else top
        return Script("item", ITEM_MESSAGE, (second,), dispute_item=second)
    if kind == "attribute":
        word = attribute_word(items[top], request) if top in items else None
        if word is not None:
            violating = tuple(i for i in picks if i in items and _mentions(items[i], word))
            return Script("attribute", f"I said no {word}", violating or (top,), attribute=word)
    if kind == "claim":
        claim = _claim_to_dispute(result.claims, picks)
        if claim is not None:
            text = " ".join(claim["text"].split())
            about = tuple(i for i in dict.fromkeys(claim["item_ids"]) if i in picks)
            return Script("claim", f"That's not true: {text}", about, claim=claim["text"])
    return Script("owned", OWNED_MESSAGE, (top,))


def serves_request(result: TurnResult, items: Mapping[str, Item], request: str) -> bool:
    """Whether every pick of `result` mentions (title or catalog text, plurals tolerated) a content word of
    `request`; False when there is no pick."""
    asked = {singular(w) for w in _WORD.findall(normalize_text(request)) if _content_word(w)}
    if not result.items or not asked:
        return False
    for pick in result.items:
        item = items.get(pick["item_id"])
        text = item.title + " " + item.text if item is not None else str(pick.get("title", ""))
        if not asked & {singular(w) for w in _WORD.findall(normalize_text(text))}:
            return False
    return True


def _mentions(item: Item, word: str) -> bool:
    return has_word(item.title, word) or has_word(item.text, word)


# --- the criteria -----------------------------------------------------------------------------------------------


def judge_gone(script: Script, after: TurnResult, items: Mapping[str, Item]) -> bool:
    """No disputed item is among the new picks; for `attribute`, no new pick mentions the word."""
    new = [i["item_id"] for i in after.items]
    if any(item_id in new for item_id in script.disputed_items):
        return False
    if script.attribute is not None:
        for pick in after.items:
            item = items.get(pick["item_id"])
            text = item.title + " " + item.text if item is not None else str(pick.get("title", ""))
            if has_word(text, script.attribute):
                return False
    return True


def judge_addressed(script: Script, after: TurnResult, titles: Mapping[str, str]) -> bool:
    """The answer says what changed and names the dispute; the new rationale does not repeat a disputed claim."""
    summary = after.revision["summary"] if after.revision else ""
    if not summary.strip() or _squash(summary) not in _squash(after.answer):
        return False
    said = _squash(summary)
    names = [_squash(titles[i])[:_TITLE_CHARS] for i in script.disputed_items if i in titles]
    if script.kind == "owned":
        names.append("already own")
    if script.attribute is not None:
        names.append(_squash(script.attribute))
    if script.claim is not None:
        names.append(_squash(script.claim)[:_TITLE_CHARS])
    if not any(name and name in said for name in names):
        return False
    return script.claim is None or _squash(script.claim) not in _squash(after.rationale)


def judge_moved(before: TurnResult, after: TurnResult) -> bool:
    """The list of picks changed (membership or order)."""
    return [i["item_id"] for i in before.items] != [i["item_id"] for i in after.items]


def _squash(text: str) -> str:
    return " ".join(normalize_text(text).split())


# --- the simulator ----------------------------------------------------------------------------------------------


def sample_users(users: Sequence[UserHistory], n: int | None, seed: int) -> list[UserHistory]:
    """`n` users with a held-out test item, sampled with `seed` (all of them, in order, when `n` is None)."""
    testable = [u for u in users if u.test is not None]
    if n is None or n >= len(testable):
        return testable
    return random.Random(seed).sample(testable, n)


def simulate_disputes(agent: Agent, users: Sequence[UserHistory], dataset: Dataset, *, seed: int) -> RevisionReport:
    """Play a request and one scripted dispute for each of `users` (each in its own thread); see the module docstring.

    Errors of a turn (TurnFailedError and the like) are recorded in the user's outcome, never raised.
    """
    outcomes: list[Outcome] = []
    for index, (user, planned) in enumerate(zip(users, kind_rotation(len(users), seed), strict=True)):
        outcomes.append(_simulate_one(agent, user, planned, dataset, thread=f"revision-{seed}-{index}"))
    model = getattr(getattr(getattr(agent, "context", None), "llm", None), "name", "unknown")
    return RevisionReport(domain=dataset.domain, model=str(model), seed=seed, outcomes=outcomes)


def _simulate_one(agent: Agent, user: UserHistory, planned: Kind, dataset: Dataset, *, thread: str) -> Outcome:
    outcome = Outcome(user_id=user.user_id, planned=planned)
    if user.test is None or user.test not in dataset.items:
        outcome.skipped = "no held-out test item"
        return outcome
    outcome.request = request_message(dataset.items[user.test])
    try:
        started = time.perf_counter()
        before = agent.turn(thread, outcome.request, user_id=user.user_id)
        outcome.request_s = time.perf_counter() - started
        outcome.before = [i["item_id"] for i in before.items]
        if not before.items:
            outcome.skipped = f"the request turn recommended nothing (intent {before.intent})"
            return outcome
        script = make_script(planned, before, dataset.items, outcome.request)
        outcome.kind, outcome.message = script.kind, script.message
        outcome.disputed_items, outcome.attribute, outcome.claim = (
            list(script.disputed_items),
            script.attribute,
            script.claim,
        )
        started = time.perf_counter()
        after = agent.turn(
            thread, script.message, user_id=user.user_id, dispute_item=script.dispute_item, dispute_claim=script.claim
        )
        outcome.dispute_s = time.perf_counter() - started
    except (AgentError, ToolsError, ValueError, RuntimeError, OSError) as exc:
        outcome.error = f"{type(exc).__name__}: {exc}"
        return outcome
    titles = {i["item_id"]: str(i["title"]) for i in [*before.items, *after.items]}
    outcome.after = [i["item_id"] for i in after.items]
    outcome.intent = after.intent
    outcome.intent_ok = after.intent == "dispute"
    outcome.summary = after.revision["summary"] if after.revision else ""
    outcome.gone = judge_gone(script, after, dataset.items)
    outcome.addressed = judge_addressed(script, after, titles)
    outcome.moved = judge_moved(before, after)
    outcome.on_request_before = serves_request(before, dataset.items, outcome.request)
    outcome.on_request_after = serves_request(after, dataset.items, outcome.request)
    outcome.rationale_chars = len(after.rationale)
    return outcome
