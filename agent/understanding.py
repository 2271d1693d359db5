"""What the agent understands of one user message, as one plain record: the reading its graph acts on.

`read_message` runs the same parts as the graph's `interpret` and `revise` nodes (agent/intent.py, agent/profile.py,
agent/dispute.py) on a message and the previous turn's picks, and says what they found in the fields of the
labelled understanding set (tests/data/UNDERSTANDING.md): intent, wanted and ruled-out phrases, hard filters,
constraints the catalog cannot honour, the pick the message is about, and for a dispute its kind and claim. The
`understanding` protocol (evals/understanding.py) scores it against the labels, so a figure says how often the agent
reads a message right, not how often some separate parser does.

`llm=None` reads the intent by the cue rules alone (agent/intent.py `cue_prior`); with the model it is the served
intent (the label log-probabilities plus the cues).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

from agent.claims import referenced_labels, split_claims
from agent.dispute import corrected_claim, dispute_preferences, find_dispute, wish_part
from agent.dispute_kind_model import DisputeKindModel, learned_kind
from agent.intent import allowed_intents, classify_intent, cue_prior
from agent.intent_model import IntentModel
from agent.language import COMPLAINT_WORDS
from agent.learned import MessageEncoder
from agent.off_topic import off_topic_reason
from agent.phrase_model import (
    PhraseModel,
    RulesReading,
    TaggedLine,
    claim_phrases,
    served_phrases,
)
from agent.pick_model import PickModel, PointerCase, consults, pick_features, point_at, rules_pointed
from agent.profile import Vocabulary, extract_preferences, naming_values, wanted_phrases
from agent.records import Claim, Pick
from agent.runtime import Recommender
from agent.spelling import Speller
from agent.unsupported import unsupported_constraints
from tools.catalog import Item
from tools.progress import progress_enabled

if TYPE_CHECKING:  # agent/understanding_set.py reads PreviousPick from here
    from agent.understanding_set import Line


@dataclass(frozen=True)
class PreviousPick:
    """A pick of the previous turn as a user saw it."""

    label: str
    title: str
    item_id: str | None = None
    """Its catalog id when known (attribute disputes read the item); else judged by its title."""


@dataclass(frozen=True)
class Reading:
    """The agent's reading of one message, in the labelled set's fields."""

    intent: str
    wanted: list[str]
    unwanted: list[str]
    filters: dict[str, list[str]]
    unsupported: list[str]
    item: int | None
    """1-based index of the previous pick the message is about, else None."""
    dispute_kind: str | None
    claim: str | None
    intent_scores: dict[str, float] = field(default_factory=dict)
    pointed_by_rules: list[int] = field(default_factory=list)
    """1-based indices of the picks the rules read the message as about (agent/pick_model.py `rules_pointed`)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


CatalogContext = tuple[Mapping[str, Item], Vocabulary, dict[str, str], Speller]


def catalog_context(domain: str) -> CatalogContext:
    """What reading a message of `domain` needs of its catalog: the items, the vocabulary of attribute values, the
    item id of each title (lower case) and the speller."""
    from tools.datasets import load_dataset

    items = load_dataset(domain).items
    by_title: dict[str, str] = {}
    for item_id, item in items.items():
        by_title.setdefault(item.title.strip().lower(), item_id)
    return items, Vocabulary.from_items(items.values()), by_title, Speller.from_items(items.values())


def _picks(previous: Sequence[PreviousPick]) -> list[Pick]:
    return [
        Pick(item_id=p.item_id or f"pick-{i}", title=p.title, label=p.label, logprob=0.0, reason="", grounded=False)
        for i, p in enumerate(previous)
    ]


def _claims(rationale: str, picks: Sequence[Pick]) -> list[Claim]:
    by_label = {p["label"]: p["item_id"] for p in picks}
    return [
        Claim(
            text=text,
            item_ids=[by_label[label] for label in referenced_labels(text, list(by_label))],
            supported=True,
            support=1.0,
            missing=[],
        )
        for text in split_claims(rationale)
    ]


def _rule_intent(message: str, has_picks: bool) -> tuple[str, dict[str, float]]:
    allowed = allowed_intents(has_picks)
    scores = cue_prior(message, allowed, 2.0)
    best = max(allowed, key=lambda intent: (scores[intent], -allowed.index(intent)))
    return best, {str(k): v for k, v in scores.items()}


def read_message(
    message: str,
    previous: Sequence[PreviousPick] = (),
    rationale: str = "",
    *,
    items: Mapping[str, Item] | None = None,
    vocabulary: Vocabulary | None = None,
    llm: Recommender | None = None,
    intent_model: IntentModel | None = None,
    dispute_kind_model: DisputeKindModel | None = None,
    encoder: MessageEncoder | None = None,
    phrase_model: PhraseModel | None = None,
    pick_model: PickModel | None = None,
    speller: Speller | None = None,
    cue_weight: float = 2.0,
) -> Reading:
    """The agent's reading of `message` after `previous` picks (best first) and their `rationale`. The intent comes
    from `intent_model` (with `encoder`) when given, else from `llm` plus the cues, else from the cues alone; a
    dispute's kind from `dispute_kind_model` (with `encoder`) when given, else from the rules of agent/dispute.py;
    a request's and a dispute's wanted phrases from `phrase_model` (with `encoder`) when given (agent/phrase_model.py
    `served_wanted`), else from the rules; the pick it is about from `pick_model` when given (agent/pick_model.py),
    else from the rules."""
    picks = _picks(previous)
    if off_topic_reason(message) is not None:  # as the graph reads it (agent/nodes.py `_intent`)
        intent, scores = "other", {"other": 0.0}
    elif intent_model is not None and encoder is not None:
        intent, scores = intent_model.classify(encoder, message, bool(picks))
    elif llm is None:
        intent, scores = _rule_intent(message, bool(picks))
    else:
        found, scores = classify_intent(
            llm, message, shown=[p["title"] for p in picks], has_picks=bool(picks), cue_weight=cue_weight
        )
        intent = str(found)
    empty = Reading(intent, [], [], {"audience": [], "exclude_audience": [], "brand": []}, [], None, None, None, scores)
    if intent == "other":
        return empty
    typed = message  # the learned readers read the message as typed, as the graph's nodes do
    if speller is not None:  # as the graph's nodes read it: the intent from the message as typed, the rest spelled
        message = speller.correct(message)[0]
    profile = extract_preferences(message, vocabulary, [p["label"] for p in picks])
    if intent not in ("request", "dispute"):  # as served: only these change the profile ("I'll take the Fluke")
        profile = {"wanted": [], "unwanted": [], "constraints": {}}
    filters = {
        "audience": list(profile.get("audience", [])),
        "exclude_audience": list(profile.get("exclude_audience", [])),
        "brand": [b.lower() for b in profile["constraints"].get("brand", [])],
    }
    unsupported = unsupported_constraints(message)
    index_of = {p["item_id"]: i + 1 for i, p in enumerate(picks)}
    labels = [p["label"] for p in picks]
    if intent == "dispute":
        kind = learned_kind(dispute_kind_model, encoder, typed)  # as `revise` reads it (agent/nodes.py)
        dispute = find_dispute(message, picks, _claims(rationale, picks), items or {}, kind=kind)
        by_rules = rules_pointed(message, picks, dispute)
        preferences = dispute_preferences(message, dispute, picks, vocabulary)
        # The filters a dispute sets are those `revise` records: none for a claim, only what an owned-dispute asks
        # for ("I already own that Fluke clamp meter" names the pick, it asks for no Fluke).
        filters = {
            "audience": list(preferences.get("audience", [])),
            "exclude_audience": list(preferences.get("exclude_audience", [])),
            "brand": [b.lower() for b in preferences["constraints"].get("brand", [])],
        }
        corrected = corrected_claim(message, picks)
        if corrected is not None:
            wanted = corrected[0]
        elif dispute["kind"] == "claim":
            wanted = []
        else:  # as `revise` reads the wishes (agent/nodes.py): the learned tagger's when one is shipped
            wanted = wanted_phrases(wish_part(message, dispute), vocabulary, labels, COMPLAINT_WORDS)
            rules = RulesReading(intent, wanted, list(preferences["unwanted"]), labels, dispute["kind"])
            brands = naming_values(rules.unwanted, vocabulary)
            wanted, preferences["unwanted"] = served_phrases(phrase_model, encoder, message, rules, brands)
        if dispute["kind"] == "claim":  # as `revise` reads them: the tagger's where the rules read none
            rules = RulesReading(intent, wanted, list(preferences["unwanted"]), labels, "claim")
            wanted, preferences["unwanted"] = claim_phrases(phrase_model, encoder, message, rules)
        pointed = point_at(pick_model, message, picks, intent, dispute, by_rules)
        return Reading(
            intent,
            wanted,
            list(preferences["unwanted"]),
            filters,
            unsupported,
            index_of[pointed] if pointed is not None else None,
            dispute["kind"],
            dispute["claim"],
            scores,
            [index_of[i] for i in by_rules],
        )
    by_rules = rules_pointed(message, picks, None) if picks else []
    pointed = point_at(pick_model, message, picks, intent, None, by_rules)
    item = index_of[pointed] if pointed is not None else None
    wanted = wanted_phrases(message, vocabulary, labels) if intent == "request" else []
    unwanted = list(profile["unwanted"]) if intent == "request" else []
    # As `interpret` reads a request (agent/nodes.py `_asked`): the learned tagger's phrases when one is shipped.
    brands = naming_values(unwanted, vocabulary)
    rules = RulesReading(intent, wanted, unwanted, labels)
    wanted, unwanted = served_phrases(phrase_model, encoder, message, rules, brands)
    return Reading(
        intent, wanted, unwanted, filters, unsupported, item, None, None, scores, [index_of[i] for i in by_rules]
    )


def read_line(
    line: Line,
    context: CatalogContext,
    *,
    spell: bool = True,
    llm: Recommender | None = None,
    intent_model: IntentModel | None = None,
    dispute_kind_model: DisputeKindModel | None = None,
    phrase_model: PhraseModel | None = None,
    pick_model: PickModel | None = None,
    encoder: MessageEncoder | None = None,
) -> Reading:
    """`read_message` of a labelled line (agent/understanding_set.py): its message after its previous picks (their
    catalog ids found by title) and their rationale, with its catalog's `context` (`catalog_context`); typos
    corrected unless `spell` is False."""
    items, vocabulary, by_title, speller = context
    previous = [PreviousPick(p.label, p.title, by_title.get(p.title.strip().lower())) for p in line.previous]
    return read_message(
        line.message,
        previous,
        line.rationale,
        items=items,
        vocabulary=vocabulary,
        llm=llm,
        intent_model=intent_model,
        dispute_kind_model=dispute_kind_model,
        phrase_model=phrase_model,
        pick_model=pick_model,
        encoder=encoder,
        speller=speller if spell else None,
    )


@dataclass(frozen=True)
class ReadLine:
    """A labelled line as the agent reads it by the rules, with the learned intent and dispute kind: the input of
    the learned readers fitted after those (the phrase tagger, the pick pointer)."""

    line: Line
    reading: Reading
    spelled: str
    """The message with its typos corrected, as the agent reads it."""
    picks: list[Pick]
    """The previous picks, with their catalog ids where the titles are in the catalog."""


def read_lines(
    lines: Sequence[Line],
    *,
    intent_model: IntentModel,
    dispute_kind_model: DisputeKindModel | None,
    encoder: MessageEncoder,
    progress: bool = True,
) -> list[ReadLine]:
    """Each labelled line read as the agent reads it, before the phrase tagger and the pick pointer: with the
    learned intent and dispute kind, and the rules' phrases and picks."""
    contexts = {domain: catalog_context(domain) for domain in sorted({line.domain for line in lines})}
    out = []
    for line in tqdm(lines, desc="Reading labelled messages", disable=not progress_enabled(progress)):
        context = contexts[line.domain]
        reading = read_line(
            line, context, intent_model=intent_model, dispute_kind_model=dispute_kind_model, encoder=encoder
        )
        previous = [PreviousPick(p.label, p.title, context[2].get(p.title.strip().lower())) for p in line.previous]
        out.append(ReadLine(line, reading, context[3].correct(line.message)[0], _picks(previous)))
    return out


def tagged_lines(read: Sequence[ReadLine]) -> list[TaggedLine]:
    """Read lines as the phrase tagger (agent/phrase_model.py) reads them: each message spelled as the agent reads
    it, with the agent's reading of it by the rules (the learned intent and dispute kind, the rules' phrases)."""
    out = []
    for one in read:
        reading, labels = one.reading, [p.label for p in one.line.previous]
        rules = RulesReading(reading.intent, reading.wanted, reading.unwanted, labels, reading.dispute_kind)
        out.append(TaggedLine(one.spelled, rules, one.line.expected["wanted"], one.line.expected["unwanted"]))
    return out


def pointer_case(one: ReadLine) -> PointerCase | None:
    """A read line with picks as the pick pointer (agent/pick_model.py) is fitted on: the features of each pick and
    of "none in particular", and the row that is right; None for a line the agent does not ask the pointer about:
    without picks, read as chit-chat (it points at nothing) or as a correction (the rules point: `consults`)."""
    reading, picks = one.reading, one.picks
    disputing = reading.intent == "dispute"
    if not picks or reading.intent == "other" or not consults(one.spelled, picks, disputing=disputing):
        return None
    rules = [picks[i - 1]["item_id"] for i in reading.pointed_by_rules]
    x = pick_features(one.spelled, picks, reading.intent, reading.dispute_kind, rules)
    item = one.line.expected["item"]
    return x, len(picks) if item is None else int(item) - 1
