"""Preferences from a user message: wanted words, ruled-out words and attribute constraints (DESIGN, `interpret`).

Deterministic on purpose: the default model is SmolLM2-135M, too small to extract slots reliably, so extraction is
regular expressions plus the catalog's own attribute vocabulary, the same on every machine and run. Every pattern is
linear in the message length (no nested quantifiers over the same characters), so a 100,000-character paste is
cheap.

Messages are read through the language layer (`agent/language.py`: normalising, words, negation scope, filler
words); its docstring has the negation rules.

Wanted words are the lexical tokenizer's terms of everything outside negated spans, in order and without repeats,
less request filler ("want", "need", "looking", "recommend", "please"...; `FILLER_WORDS`).

Constraints are catalog attribute values (`Vocabulary`) named outside negated spans, matched as whole words without
regard to case or punctuation ("porter cable" finds "PORTER-CABLE"). A value named inside a ruled-out phrase is
ruled out instead, as the catalog spells it, lower-cased ("no Gorilla glue" -> unwanted "gorilla").

Matching ruled-out words against items (`violation`) is whole-word and plural-tolerant ("zippers" matches "Zipper"),
never a substring ("wool" does not match "woolen").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from agent.language import (
    FILLER_WORDS,
    REFERENCE_WORDS,
    Word,
    asked_part,
    asked_parts,
    free_of,
    negated_mask,
    negation_spans,
    phrase_text,
    pick_statements,
    prepare,
    read_words,
    rephrase,
    singular,
    thing_part,
    value_key,
    word_parts,
)
from agent.state import Profile
from agent.unsupported import strip_unsupported
from tools.catalog import Item
from tools.tokenize import ENGLISH_STOPWORDS, tokenize

COMMON_WORDS: frozenset[str] = frozenset(
    {
        *("generic", "unknown", "unbranded", "none", "na", "brand", "new", "original", "official", "standard"),
        *("universal", "basic", "classic", "premium", "professional", "pro", "plus", "max", "ultra", "super", "best"),
        *("good", "great", "top", "prime", "select", "value", "quality", "smart", "simple", "easy", "home", "house"),
        *("small", "large", "big", "little", "mini", "part", "parts", "tool", "tools", "supply", "supplies", "store"),
        *("shop", "direct", "world", "international", "industrial", "scientific", "lab", "products", "product"),
        *("company", "co", "inc", "ltd", "llc", "corp", "group", "usa", "america", "american", "global", "general"),
        *("alternative", "alternatives", "authentic", "authentics", "limited", "modern", "athletic", "essentials"),
    }
)
"""Words a shopper types without meaning a brand: a catalog value made only of these and stopwords ("Generic",
"Small Parts") is never a constraint."""

_MAX_VALUE_WORDS = 4
_MIN_VALUE_CHARS = 3


def _keys(text: str) -> list[str]:
    return [singular(token) for token in tokenize(text)]


# --- the catalog's vocabulary -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """Attribute values of one catalog the user may name, e.g. brands.

    Built from the catalog by `from_items`; a value is kept when it is short (at most 4 words), seen on enough items,
    and cannot be typed by accident: at least 3 letters or digits, at least one letter, and not made only of
    stopwords and `COMMON_WORDS`. So "Generic", "Small Parts" and the one-letter "A" never fire; neither does "3M"
    (2 characters, and "3m" is also three metres).
    """

    values: Mapping[str, Mapping[str, str]]
    """Attribute -> {normalised value ("porter cable") -> value as in the catalog ("PORTER-CABLE")}."""

    @classmethod
    def from_items(
        cls, items: Iterable[Item], attributes: Sequence[str] = ("brand",), min_count: int = 2
    ) -> Vocabulary:
        """The nameable values of `attributes` seen on at least `min_count` items. Of several spellings of one
        normalised value, the most frequent is kept (the first seen on a tie)."""
        counts: dict[str, Counter[str]] = {attribute: Counter() for attribute in attributes}
        spellings: dict[str, dict[str, Counter[str]]] = {attribute: {} for attribute in attributes}
        for item in items:
            for attribute in attributes:
                raw = item.attributes.get(attribute)
                values = [raw] if isinstance(raw, str) else list(raw or [])
                keys_here: set[str] = set()
                for value in values:
                    key = value_key(value)
                    if not key:
                        continue
                    spellings[attribute].setdefault(key, Counter())[value.strip()] += 1
                    keys_here.add(key)
                counts[attribute].update(keys_here)
        return cls(
            {
                attribute: {
                    key: spellings[attribute][key].most_common(1)[0][0]
                    for key, count in counts[attribute].items()
                    if count >= min_count and _nameable(key)
                }
                for attribute in attributes
            }
        )

    @cached_property
    def _by_first_part(self) -> dict[str, list[tuple[tuple[str, ...], str, str]]]:
        """First part -> (parts, attribute, catalog value), longest first, so "first aid only" beats "first aid"."""
        index: dict[str, list[tuple[tuple[str, ...], str, str]]] = {}
        for attribute, values in self.values.items():
            for key, value in values.items():
                parts = tuple(key.split())
                if parts:
                    index.setdefault(parts[0], []).append((parts, attribute, value))
                if len(parts) >= 2 and parts[-1] == "s":  # "Levi's" is also typed "levis"
                    joined = (*parts[:-2], parts[-2] + "s")
                    index.setdefault(joined[0], []).append((joined, attribute, value))
        for entries in index.values():
            entries.sort(key=lambda entry: -len(entry[0]))
        return index

    def _find(self, words: Sequence[Word]) -> list[tuple[str, str, int, int]]:
        """(attribute, catalog value, first word, one past the last word) of each value named, left to right;
        values never span a clause break."""
        flat: list[tuple[str, int]] = []
        for index, word in enumerate(words):
            flat.extend((part, index) for part in word.parts)
            if word.is_break:
                flat.append(("", index))
        found: list[tuple[str, str, int, int]] = []
        position = 0
        while position < len(flat):
            step = 1
            for parts, attribute, value in self._by_first_part.get(flat[position][0], ()):
                end = position + len(parts)
                if end <= len(flat) and all(flat[position + k][0] == part for k, part in enumerate(parts)):
                    found.append((attribute, value, flat[position][1], flat[end - 1][1] + 1))
                    step = len(parts)
                    break
            position += step
        return found


def _nameable(key: str) -> bool:
    parts = key.split()
    return (
        len(parts) <= _MAX_VALUE_WORDS
        and len(key.replace(" ", "")) >= _MIN_VALUE_CHARS
        and any(ch.isalpha() for ch in key)
        and not all(part in ENGLISH_STOPWORDS or part in COMMON_WORDS for part in parts)
    )


# --- the public API ---------------------------------------------------------------------------------------------------


def naming_values(phrases: Sequence[str], vocabulary: Vocabulary | None) -> list[str]:
    """The phrases that name a catalog value the user may type (a brand: "levi's", "wrangler"). A brand ruled out
    is a filter, like the brands asked for, and the rules read those (agent/phrase_model.py `served_phrases`)."""
    if vocabulary is None:
        return []
    return [phrase for phrase in phrases if vocabulary._find(read_words(phrase))]


def _read(message: str) -> tuple[list[Word], bytearray]:
    """The words a message's wishes are read from, and which of them are read for what they rule out only: what it
    asks for and what it rules out (`asked_parts`: a long message's story is dropped, and "my fingers are not as
    nimble" names no wish), paraphrases put one way (`rephrase`), without what names an unsupported constraint."""
    asks, rules = asked_parts(message)
    words = read_words(strip_unsupported(rephrase(asks)))
    if not rules:
        return words, bytearray(len(words))
    ruling = read_words(strip_unsupported(rephrase(rules)))
    return [*words, Word(".", (), False), *ruling], bytearray(len(words) + 1) + b"\x01" * len(ruling)


def _reference(token: str, labels: Sequence[str]) -> bool:
    return bool(labels) and (token in REFERENCE_WORDS or token in {label.lower() for label in labels})


def extract_preferences(
    message: str,
    vocabulary: Vocabulary | None = None,
    labels: Sequence[str] = (),
    ignore: frozenset[str] = frozenset(),
) -> Profile:
    """What `message` asks for, rules out and constrains (see the module docstring for the rules). With the previous
    picks' `labels`, words that only point at a pick ("the second one", "B") are not wanted.

    >>> extract_preferences("a digital caliper for beginners, no leather please")["unwanted"]
    ['leather']
    """
    words, only_rules = _read(message)
    spans = negation_spans(words)
    negated = negated_mask(words, spans)
    described = bytearray(max(d, r) for d, r in zip(pick_statements(words, labels), only_rules, strict=True))
    named = vocabulary._find(words) if vocabulary is not None else []

    unwanted: dict[str, None] = {}
    for index, substance in free_of(words):  # "latex-free gloves": latex ruled out, gloves wanted
        negated[index] = 1
        unwanted[substance] = None
    for span in spans:
        for start, end in span.phrases:
            values = [value for _, value, first, last in named if first < end and last > start]
            if not values and _only_audience(words[start:end]):
                continue  # "not girls'", "not the children's kind": an excluded audience, below
            for phrase in values or [phrase_text(words, start, end)]:
                unwanted[" ".join(prepare(phrase).split())] = None

    constraints: dict[str, list[str]] = {}
    for attribute, value, first, last in named:
        if (
            not any(negated[first:last])
            and not any(described[first:last])
            and not (labels and _points(words, first))
            and value not in constraints.get(attribute, [])
        ):
            constraints.setdefault(attribute, []).append(value)

    wanted: dict[str, None] = {}
    for index, word in enumerate(words):
        if word.is_break or negated[index] or described[index]:
            continue
        for token in tokenize(word.text):
            if (
                token not in FILLER_WORDS
                and not _reference(token, labels)
                and token not in RELATIVES
                and token not in ignore
            ):
                wanted.setdefault(token)
    profile: Profile = {"wanted": list(wanted), "unwanted": list(unwanted), "constraints": constraints}
    asked = bytearray(max(n, d) for n, d in zip(negated, described, strict=True))
    audience = audience_words(part for index, word in enumerate(words) if not asked[index] for part in word.parts)
    audience = list(dict.fromkeys([*audience, *_relatives(words, asked)]))
    if audience:
        profile["audience"] = audience
    ruling_out = negated_mask(words, [span for span in spans if not span.fact])  # not "that's not for kids"
    excluded = [
        a
        for a in audience_words(part for index, word in enumerate(words) if ruling_out[index] for part in word.parts)
        if a not in audience
    ]
    if excluded:
        profile["exclude_audience"] = excluded
    return profile


_POINTING = frozenset({"the", "that", "those", "this", "these", "your"})


def _points(words: Sequence[Word], first: int) -> bool:
    """A catalog value after "the"/"that"/"those" once there are picks points at one ("I'll take the Fluke", "I
    already own that Fluke clamp meter", "the lacoste one but in navy"): a reference, not a filter."""
    return first > 0 and words[first - 1].text in _POINTING


def _only_audience(words: Sequence[Word]) -> bool:
    """A phrase made only of audience words and filler ("girls'", "children's kind", "a boys' one")."""
    parts = [part for word in words for part in word.parts if part not in ENGLISH_STOPWORDS and part != "s"]
    return bool(audience_words(parts)) and all(part in _AUDIENCE_OF or part in FILLER_WORDS for part in parts)


def wanted_phrases(
    message: str,
    vocabulary: Vocabulary | None = None,
    labels: Sequence[str] = (),
    ignore: frozenset[str] = frozenset(),
) -> list[str]:
    """The wanted words of `extract_preferences` grouped as the user wrote them: runs of adjacent wanted words,
    split by punctuation, stopwords ("with", "for", "and"), filler, audience words and named catalog values
    ("a digital caliper with a large lcd" -> ["digital caliper", "large lcd"]; "men's bootcut jeans" ->
    ["bootcut jeans"], the audience being a filter). For reports and answers; the search uses the words."""
    words, only_rules = _read(message)
    negated = bytearray(max(n, r) for n, r in zip(negated_mask(words, negation_spans(words)), only_rules, strict=True))
    for index, described in enumerate(pick_statements(words, labels)):
        negated[index] |= described
    for index, _ in free_of(words):
        negated[index] = 1
    named = vocabulary._find(words) if vocabulary is not None else []
    for _, _, first, last in named:
        negated[first:last] = b"\x01" * (last - first)
    keeps = [
        _named_noun(words, index)
        or (
            not word.is_break
            and not negated[index]
            and not audience_words(word.parts)
            and word.text not in RELATIVES
            and any(
                token not in FILLER_WORDS and not _reference(token, labels) and token not in ignore
                for token in tokenize(word.text)
            )
        )
        for index, word in enumerate(words)
    ]
    phrases: dict[str, None] = {}
    run: list[str] = []
    for index, word in enumerate([*words, Word(".", (), False)]):
        joins = (  # "box of 100", "easy to use", "set of filament colors": one phrase (tests/data/UNDERSTANDING.md)
            bool(run)
            and (word.text == "of" or (word.text == "to" and run[-1] in _EASE))
            and index + 1 < len(words)
            and keeps[index + 1]
            and not negated[index]
        )
        if run and word.text in _PACKS and index + 1 < len(words) and words[index + 1].text == "of":
            phrases.setdefault(" ".join(run))  # "nitrile gloves box of 100": the pack size is a phrase of its own
            run = []
        if index < len(words) and (keeps[index] or joins):
            run.append(word.text.removesuffix("'s"))
        elif run:
            phrases.setdefault(" ".join(run))
            run = []
    return list(phrases)


_PACKS = frozenset({"box", "pack", "case", "bag", "roll", "bottle", "carton", "set", "kit", "pair"})
_DOWN_ITEMS = frozenset(
    {"jacket", "jackets", "parka", "parkas", "vest", "vests", "coat", "coats", "puffer", "booties", "comforter"}
)
_CAN_BEFORE = frozenset({"safety", "gas", "trash", "garbage", "watering", "spray", "oil", "fuel", "paint", "storage"})


def _named_noun(words: Sequence[Word], index: int) -> bool:
    """A stopword that names a thing where it stands: "down" before a garment ("a packable down jacket"), "can"
    after what it holds ("a safety can, no plastic")."""
    text = words[index].text
    if text == "down":
        return index + 1 < len(words) and words[index + 1].text in _DOWN_ITEMS
    if text in ("can", "cans"):
        return index > 0 and words[index - 1].text in _CAN_BEFORE
    return False


_EASE = frozenset({"easy", "simple", "quick", "safe", "comfortable", "hard", "ready"})
"""Words after which "to" joins a property ("easy to read"), not a purpose ("gloves to protect my hands")."""


# --- who an item is for ----------------------------------------------------------------------------------------------

AUDIENCES: dict[str, frozenset[str]] = {
    "men": frozenset({"men", "mens", "gentlemen", "gents", "fellas"}),
    "women": frozenset({"women", "womens", "ladies", "womans", "gals"}),
    "boys": frozenset({"boy", "boys"}),
    "girls": frozenset({"girl", "girls"}),
    "kids": frozenset({"kid", "kids", "child", "childrens", "children", "toddler", "toddlers", "baby", "infant"}),
    "unisex": frozenset({"unisex"}),
}
"""Audience -> the words that name it, as a catalog title writes them ("men's" reads as "men" + "s"). "man",
"male" and "female" are left out: "man-made", "male connector" and "female plug" name no shopper."""
_COMPATIBLE: dict[str, frozenset[str]] = {
    "men": frozenset({"men", "unisex"}),
    "women": frozenset({"women", "unisex"}),
    "boys": frozenset({"boys", "kids", "unisex"}),
    "girls": frozenset({"girls", "kids", "unisex"}),
    "kids": frozenset({"kids", "boys", "girls", "unisex"}),
    "unisex": frozenset({"unisex", "men", "women"}),
}
# What excluding an audience rules out: "not for kids" drops boys' and girls' items too.
_WITHIN: dict[str, frozenset[str]] = {
    **{name: frozenset({name}) for name in AUDIENCES},
    "kids": frozenset({"kids", "boys", "girls"}),
}
_AUDIENCE_OF = {word: name for name, words in AUDIENCES.items() for word in words}
RELATIVES: dict[str, str] = {
    **dict.fromkeys(("husband", "dad", "father", "boyfriend", "brother", "grandpa", "grandfather", "uncle"), "men"),
    **dict.fromkeys(
        ("wife", "mom", "mum", "mother", "girlfriend", "sister", "grandma", "grandmother", "aunt"), "women"
    ),
    **dict.fromkeys(("son", "nephew", "grandson"), "boys"),
    **dict.fromkeys(("daughter", "niece", "granddaughter", "goddaughter"), "girls"),
    # in-laws are grown-ups, step-children children ("a quarter-zip sweater for my father-in-law", "for my stepson")
    **dict.fromkeys(("father-in-law", "brother-in-law", "son-in-law", "stepdad", "stepfather"), "men"),
    **dict.fromkeys(("mother-in-law", "sister-in-law", "daughter-in-law", "stepmom", "stepmother"), "women"),
    **dict.fromkeys(("stepson",), "boys"),
    **dict.fromkeys(("stepdaughter",), "girls"),
    # what people call them (the set's sixth round: "a flannel for the hubby", "maxi dress for wifey", "granny needs
    # a lighted pocket magnifier", "a beginner microscope for my kiddo")
    **dict.fromkeys(("hubby", "gramps", "grandad", "granddad", "grandpop", "pops"), "men"),
    **dict.fromkeys(("wifey", "granny", "nana", "gran", "grandmom", "missus", "missis"), "women"),
    **dict.fromkeys(("kiddo", "kiddos", "kiddie", "kiddies"), "kids"),
    **dict.fromkeys(("great-grandpa", "great-grandfather", "great-uncle", "grandson-in-law"), "men"),
    **dict.fromkeys(("great-grandma", "great-grandmother", "great-aunt", "granddaughter-in-law"), "women"),
    **dict.fromkeys(("great-grandson", "great-nephew"), "boys"),
    **dict.fromkeys(("great-granddaughter", "great-niece"), "girls"),
}
"""Who an item is for when the user buys it for a relative ("a cardigan for my wife"): only after "for my/her/his/
our", since a relative merely mentioned ("my husband already owns B") names no audience."""


def _relatives(words: Sequence[Word], negated: bytearray) -> list[str]:
    """Audiences of the relatives an item is for: "for my wife", "for grandma", "for the niece", "to give to my
    dad" (the last three found by issue 18's new phrasings)."""
    found = []
    for index, word in enumerate(words[:-1]):
        if word.text not in ("for", "to", "get", "buy", "give", "buying", "getting", "gifting"):  # "to get my niece"
            continue
        at = index + 1
        if words[at].text in ("my", "me", "her", "his", "our", "a", "the", "their", "your") and at + 1 < len(words):
            at += 1
        relative = words[at].text.removesuffix("'s")
        if relative in RELATIVES and not negated[at]:
            found.append(RELATIVES[relative])
    # "granny needs a lighted pocket magnifier", "my husband wants a flannel shirt": the relative who needs it
    for index, word in enumerate(words[:-1]):
        if word.text in RELATIVES and words[index + 1].text in _NEEDS and not negated[index]:
            found.append(RELATIVES[word.text])
    # "keep it secret from my son, I'm getting him a microscope", "my niece outgrew her leggings, find her some new
    # ones": a pronoun the item is for stands for the relative named before it, when they agree (the set's ninth
    # round: 6 development requests named the relative only as "him" or "her")
    named: list[str] = []
    for index, word in enumerate(words):
        relative = word.text.removesuffix("'s")
        if relative in RELATIVES and (index == 0 or relative != word.text or words[index - 1].text in ("my", "our")):
            named.append(RELATIVES[relative])
        elif word.text in _PRONOUN_AUDIENCES and index > 0 and words[index - 1].text in _FOR_SOMEONE and named:
            agreeing = [a for a in named if a in _PRONOUN_AUDIENCES[word.text]]
            if agreeing and not negated[index]:
                found.append(agreeing[-1])
    return found


_PRONOUN_AUDIENCES = {"him": ("men", "boys"), "her": ("women", "girls")}
_FOR_SOMEONE = frozenset(
    {"for", "get", "getting", "buy", "buying", "find", "surprise", "gift", "gifting", "give", "order", "treat"}
)


_NEEDS = frozenset({"needs", "wants", "asked", "requested", "could", "would"})


def audience_words(words: Iterable[str]) -> list[str]:
    """The audiences that `words` (tokens) name ("kids" -> ["kids"], "womens" -> ["women"])."""
    return list(dict.fromkeys(_AUDIENCE_OF[w] for w in words if w in _AUDIENCE_OF))


def item_audiences(item: Item) -> list[str]:
    """The audiences an item's title names ("levi's men's 505 jeans" -> ["men"]); [] when it names none."""
    return audience_words(word_parts(item.title))


def audience_conflict(item: Item, audience: Sequence[str], exclude: Sequence[str] = ()) -> str | None:
    """Why `item` is not for `audience` ("for women") or is for an `exclude`d one ("for kids"), or None when it is
    fine (or its title names no audience)."""
    if not audience and not exclude:
        return None
    named = item_audiences(item)
    if not named:
        return None
    banned = frozenset().union(*(_WITHIN[a] for a in exclude))
    if banned & set(named):
        return "for " + " and ".join(a for a in named if a in banned)
    if not audience:
        return None
    allowed = frozenset().union(*(_COMPATIBLE[a] for a in audience))
    if allowed & set(named):
        return None
    return "for " + " and ".join(named)


def search_query(
    message: str,
    profile: Profile,
    max_words: int = 16,
    labels: Sequence[str] = (),
    asked: Sequence[str] | None = None,
) -> str:
    """The planner's search query: the message's wanted words (`asked`, as the turn read them, when given), then the
    profile's earlier wanted words that are not already in it (profile order), at most `max_words`; a word of any
    ruled-out phrase, from the profile or from the message, never appears. "" when nothing is left."""
    if max_words < 1:
        raise ValueError(f"max_words must be at least 1, got {max_words}")
    now = extract_preferences(message, labels=labels)
    banned = {key for phrase in (*profile["unwanted"], *now["unwanted"]) for key in _keys(phrase)}
    seen: set[str] = set()
    words: list[str] = []
    for entry in (*(now["wanted"] if asked is None else asked), *profile["wanted"]):
        for token in tokenize(entry):
            key = singular(token)
            if token in FILLER_WORDS or key in banned or key in seen or _reference(token, labels):
                continue
            seen.add(key)
            words.append(token)
            if len(words) == max_words:
                return " ".join(words)
    return " ".join(words)


def thing_query(message: str, labels: Sequence[str] = (), asked: Sequence[str] | None = None) -> str:
    """The message's wanted words that name the thing asked for (before its first purpose word: "a good multimeter
    | for electronics hobby work" -> "multimeter"); "" when none or when nothing follows the thing ("in black").
    Searched on its own as well, because the whole request ranks items that mention its other words first: BM25
    over "multimeter electronics hobby work" left the OWON B35T multimeter out of its top 20; "multimeter" alone has
    it 7th."""
    head = thing_part(message)
    if tokenize(head) == tokenize(asked_part(message)):
        return ""  # nothing after the thing: the whole request is already searched
    read = extract_preferences(message, labels=labels)["wanted"] if asked is None else asked
    wanted = {singular(t) for phrase in read for t in tokenize(phrase)}
    words = [t for t in tokenize(head) if singular(t) in wanted and t not in FILLER_WORDS]
    return " ".join(dict.fromkeys(words))


def violation(item: Item, profile: Profile) -> str | None:
    """The first ruled-out phrase of `profile` (in its order) that `item`'s title, text or an attribute value contains
    as whole words, plurals tolerated ("zippers" matches "Zipper"), or the audience it is for when the user asked
    for another ("for women" after "men's jeans") or ruled one out ("for kids" after "not for kids"); None when
    there is none."""
    conflict = audience_conflict(item, profile.get("audience", []), profile.get("exclude_audience", []))
    if conflict is not None:
        return conflict
    if not profile["unwanted"]:
        return None
    fields = [item.title, item.text]
    for value in item.attributes.values():
        fields.extend([value] if isinstance(value, str) else value)
    keyed = [_keys(field) for field in fields]
    for phrase in profile["unwanted"]:
        keys = _keys(phrase)
        if keys and any(_contains(field, keys) for field in keyed):
            return phrase
    return None


def _contains(words: Sequence[str], phrase: Sequence[str]) -> bool:
    if len(phrase) == 1:
        return phrase[0] in words
    first, size = phrase[0], len(phrase)
    return any(
        words[index] == first and list(words[index : index + size]) == list(phrase)
        for index in range(len(words) - size + 1)
    )
