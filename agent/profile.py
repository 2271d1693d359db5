"""Preferences from a user message: wanted words, ruled-out words and attribute constraints (DESIGN, `interpret`).

Deterministic on purpose: the default model is SmolLM2-135M, too small to extract slots reliably, so extraction is
regular expressions plus the catalog's own attribute vocabulary, the same on every machine and run. Every pattern is
linear in the message length (no nested quantifiers over the same characters), so a 100,000-character paste is
cheap.

Text is normalised as `tools.tokenize.normalize_text` does (NFKC, no accents, lower case); control characters,
terminal escape sequences and zero-width characters are dropped, "n't" becomes " not", "w/o" becomes "without", and
a slash between words is read as "or". Punctuation (. , ; : ! ? brackets, newline, a free-standing dash) separates
clauses.

Negations. A ruled-out (unwanted) phrase follows one of these triggers:
- "no" ("no leather", "I said no leather", "no more leather"),
- "not" ("not leather", "preferably not plastic", "not a backpack", "not made of plastic", "gloves that are not
  latex"),
- "not" + "want"/"need"/"like" ("don't want X", "do not want X", "would not like X"), "not a fan of", "not into",
  "not interested in", "not looking for",
- "without", "avoid", "hate", "dislike", "except", "excluding", "exclude", "neither", "allergic to",
  "stay away from", "nothing" ("nothing with wool", "nothing made of wool").
After the trigger a few filler words are skipped ("without a zipper", "don't want anything made of leather"), then the
phrase is 1-3 content words, ended by punctuation, a stopword ("and", "but", "in"...), "please", "thanks" or a word
such as "one(s)" or "stuff"; "no leather or suede", "neither wool nor silk" and "no leather, suede or wool" rule out
each (a comma list only when it ends in "or": in "no leather, suede is fine" suede stays wanted).

Nothing is ruled out when the negation is about something else, and the negated words are not wanted either:
- suitability or degree: "not for beginners", "not for kids", "nothing too expensive", "don't want to spend much";
- a statement of fact about an item: "not" after a copula or auxiliary ("that's not waterproof", "it isn't
  stainless", "it does not fit"), unless a relative clause opens it ("which is not", "that are not");
- an answer or an idiom: "no, thanks", "no idea", "not sure", "not that one", "I don't like B" (a label), "I hate
  the second one" (an ordinal), "no more than 50", "not 100% sure" (a number alone is never ruled out; "no 80 grit"
  is).

Wanted words are the lexical tokenizer's terms of everything outside negated spans, in order and without repeats,
less request filler ("want", "need", "looking", "recommend", "please"...; `FILLER_WORDS`).

Constraints are catalog attribute values (`Vocabulary`) named outside negated spans, matched as whole words without
regard to case or punctuation ("porter cable" finds "PORTER-CABLE"). A value named inside a ruled-out phrase is
ruled out instead, as the catalog spells it, lower-cased ("no Gorilla glue" -> unwanted "gorilla").

Matching ruled-out words against items (`violation`) is whole-word and plural-tolerant ("zippers" matches "Zipper"),
never a substring ("wool" does not match "woolen").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from agent.state import Profile
from agent.unsupported import strip_unsupported
from tools.catalog import Item
from tools.tokenize import ENGLISH_STOPWORDS, normalize_text, tokenize

FILLER_WORDS: frozenset[str] = frozenset(
    {
        *("want", "wants", "wanted", "wanting", "need", "needs", "needed", "looking", "look", "search", "searching"),
        *("recommend", "recommendation", "recommendations", "suggest", "suggestion", "suggestions", "show", "buy"),
        *("buying", "get", "getting", "find", "give", "help", "something", "anything", "stuff", "thing", "things"),
        *("item", "items", "product", "products", "option", "options", "one", "ones", "please", "pls", "plz"),
        *("thanks", "thank", "thx", "hi", "hello", "hey", "ok", "okay", "yes", "yeah", "sure", "like", "love"),
        *("prefer", "preferably", "ideally", "maybe", "perhaps", "really", "actually", "also", "still", "said"),
        *("told", "mean", "meant", "instead", "else", "another", "good", "great", "nice", "cool", "best", "id"),
        *("im", "ive", "kind", "sort", "let", "lets", "tell", "know", "think", "would", "could", "already"),
        *("nothing", "nope", "nah", "yep", "yup"),
    }
)
"""Request filler: never wanted, never part of a search query."""

REFERENCE_WORDS: frozenset[str] = frozenset(
    {
        *("first", "second", "third", "fourth", "fifth", "last", "middle", "top", "1st", "2nd", "3rd", "former"),
        *("latter", "similar", "same", "close", "closer", "style", "version", "others", "other", "minus", "these"),
        *("those", "ones", "list", "pick", "picks", "choice", "choices", "suggestion", "suggestions"),
    }
)
"""Words that point at the previous picks ("more like the second one", "similar to B but in navy"): not wishes
once there are picks to point at (with the picks' one-letter labels)."""

COMMON_WORDS: frozenset[str] = frozenset(
    {
        *("generic", "unknown", "unbranded", "none", "na", "brand", "new", "original", "official", "standard"),
        *("universal", "basic", "classic", "premium", "professional", "pro", "plus", "max", "ultra", "super", "best"),
        *("good", "great", "top", "prime", "select", "value", "quality", "smart", "simple", "easy", "home", "house"),
        *("small", "large", "big", "little", "mini", "part", "parts", "tool", "tools", "supply", "supplies", "store"),
        *("shop", "direct", "world", "international", "industrial", "scientific", "lab", "products", "product"),
        *("company", "co", "inc", "ltd", "llc", "corp", "group", "usa", "america", "american", "global", "general"),
    }
)
"""Words a shopper types without meaning a brand: a catalog value made only of these and stopwords ("Generic",
"Small Parts") is never a constraint."""

_MAX_VALUE_WORDS = 4
_MIN_VALUE_CHARS = 3
_MAX_PHRASE_WORDS = 3

# --- normalisation and words ------------------------------------------------------------------------------------------

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_ZERO_WIDTH = re.compile(r"[\u00ad\u200b-\u200f\u2060\ufeff]")
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[a-z]")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_WITHOUT = re.compile(r"\bw/o\b")
_WORD_SLASH = re.compile(r"(?<![0-9])/|/(?![0-9])")
_CONTRACTIONS = (
    (re.compile(r"\bcan't\b"), "can not"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bain't\b"), "is not"),
    (re.compile(r"\bshan't\b"), "shall not"),
    (re.compile(r"n't\b"), " not"),
)
_LEX = re.compile(
    r"(?P<word>[a-z0-9]+(?:[./][0-9]+|['\-][a-z0-9]+)*)|(?P<brk>[.,;:!?()\[\]{}|\n\u2022\u3001\u3002]|(?<!\S)-+(?!\S))"
)
_PART = re.compile(r"[a-z0-9]+(?:[./][0-9]+)*")
_NO_APOSTROPHE = {
    **{f"{aux}nt": (aux, "not") for aux in ("do", "does", "did", "is", "are", "was", "were", "has", "have", "had")},
    **{f"{aux}nt": (aux, "not") for aux in ("would", "could", "should")},
    "cant": ("can", "not"),
    "im": ("i", "m"),
    "thats": ("that", "s"),
}


@dataclass(frozen=True, slots=True)
class _Word:
    text: str
    """The word as normalised ("porter-cable", "men's"), or the punctuation of a clause break (",")."""
    parts: tuple[str, ...]
    """Its letter-and-digit runs ("porter", "cable"), stopwords included; none for a break."""
    content: bool
    """At least one part is not a stopword."""

    @property
    def is_break(self) -> bool:
        return not self.parts


def _prepare(text: str) -> str:
    text = normalize_text(text).translate(_APOSTROPHES)
    text = _CONTROL.sub(" ", _ANSI_ESCAPE.sub(" ", _ZERO_WIDTH.sub("", text))).replace("&", " and ")
    text = _WORD_SLASH.sub(" or ", _WITHOUT.sub(" without ", text))
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return text


def _word(text: str) -> _Word:
    parts = tuple(_PART.findall(text))
    return _Word(text, parts, any(part not in ENGLISH_STOPWORDS for part in parts))


def _words(message: str) -> list[_Word]:
    words: list[_Word] = []
    for match in _LEX.finditer(_prepare(message)):
        text = match.group("word")
        if text is None:
            words.append(_Word(match.group("brk").strip()[:1], (), False))
        elif text in _NO_APOSTROPHE:
            words.extend(_word(part) for part in _NO_APOSTROPHE[text])
        else:
            words.append(_word(text))
    return words


def _value_key(value: str) -> str:
    """How a catalog value and a message are compared: letter-and-digit runs, stopwords kept ("PORTER-CABLE" ->
    "porter cable", "Dixon Valve & Coupling" -> "dixon valve and coupling")."""
    return " ".join(_PART.findall(_prepare(value)))


def singular(word: str) -> str:
    """A plural-tolerant key for one token ("batteries" -> "battery", "boxes" -> "box", "zippers" -> "zipper"); words
    ending in "ss", "us" or "is" ("stainless", "cactus") are kept. Only equality of keys matters, not that they are
    words."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


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
                    key = _value_key(value)
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
        for entries in index.values():
            entries.sort(key=lambda entry: -len(entry[0]))
        return index

    def _find(self, words: Sequence[_Word]) -> list[tuple[str, str, int, int]]:
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


# --- negations --------------------------------------------------------------------------------------------------------

_Trigger = Literal["phrase", "no", "not", "fact"]

_PHRASE_TRIGGERS: tuple[tuple[str, ...], ...] = (
    ("stay", "away", "from"),
    ("allergic", "to"),
    *((word,) for word in ("without", "avoid", "avoiding", "hate", "dislike", "except", "excluding", "exclude")),
    ("anything", "but"),
    ("other", "than"),
    ("minus",),
    ("nothing",),
    ("neither",),
)
_AFTER_NOT: tuple[tuple[str, ...], ...] = (
    ("a", "fan", "of"),
    ("a", "big", "fan", "of"),
    ("crazy", "about"),
    ("keen", "on"),
    ("interested", "in"),
    ("looking", "for"),
    ("into",),
    *((verb,) for verb in ("want", "wanting", "need", "like")),
)
_COPULAS = frozenset(
    {
        *("is", "are", "was", "were", "be", "been", "am", "m", "s", "re", "do", "does", "did", "can", "could", "will"),
        *("would", "should", "shall", "might", "may", "must", "has", "have", "had"),
    }
)
_ADVERBS = frozenset({"really", "actually", "definitely", "certainly", "just", "still", "probably", "clearly", "even"})
_ARTICLES = frozenset({"a", "an", "the", "any"})
# Skipped between a phrase trigger and what it rules out: "without a zipper", "anything made of leather".
_LEAD = frozenset(
    {
        *_ARTICLES,
        *("some", "all", "those", "these", "anything", "something", "stuff", "things", "items", "products", "made"),
        *("of", "with", "in", "from", "containing", "contains", "that", "which", "has", "have", "having"),
        *("including", "more"),
    }
)
_NOT_LEAD = _ARTICLES | {"made", "of", "in", "from", "with", "containing"}
# Words that end a ruled-out phrase without being part of it.
_ENDERS = frozenset(
    {
        *("please", "pls", "plz", "thanks", "thank", "thx", "either", "anymore", "instead", "though", "whatsoever"),
        *("etc", "ever", "one", "ones", "stuff", "thing", "things", "item", "items", "product", "products", "option"),
        *("options", "pick", "picks", "choice", "choices", "want", "need", "like", "prefer", "without", "avoid"),
        *("hate", "except", "nothing", "neither", "nor"),
    }
)
# A negation whose first word is one of these rules nothing out ("no idea", "not sure", "no problem").
_JUNK = frozenset(
    {
        *("sure", "quite", "exactly", "necessarily", "certain", "idea", "problem", "problems", "worries", "worry"),
        *("way", "matter", "longer", "doubt", "rush", "hurry", "clue", "need", "needed", "necessary", "deal"),
        *("kidding", "offense", "offence", "pressure", "preference", "expensive", "cheap", "pricey", "costly"),
        *("overpriced", "fancy", "bad", "good", "great", "fine", "ok", "okay", "happy", "interested", "convinced"),
        *("keen", "impressed", "helpful", "useful", "relevant", "right", "correct", "true", "wrong", "yet", "enough"),
        *("much", "many", "lot", "lots", "else", "particular", "really", "thanks", "thank", "one", "ones", "way"),
        *("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "last"),
        *("1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th", "10th", "recommendation", "suggestion"),
        *("stock", "mood", "budget"),
    }
)


@dataclass(frozen=True)
class Negation:
    """One negated span of a message."""

    words: str
    """The words after the trigger, normalised ("leather", "for beginners", "waterproof")."""
    ruled_out: tuple[str, ...]
    """The phrases it rules out ("leather"); empty for a suitability, factual or idiomatic negation."""


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    after: int
    """First word after the trigger."""
    end: int
    """One past the last negated word."""
    phrases: tuple[tuple[int, int], ...]
    """Word ranges of the ruled-out phrases."""


def _starts_phrase(words: Sequence[_Word], index: int) -> bool:
    if index >= len(words):
        return False
    word = words[index]
    if not word.content or word.text in _JUNK or word.text in _ENDERS or len(word.text) == 1:
        return False
    # A number may open a phrase ("no 80 grit") but not be all of it ("no 50", "not 100% sure").
    end = _phrase_end(words, index)
    return any(ch.isalpha() for later in words[index:end] for ch in later.text)


def _phrase_end(words: Sequence[_Word], start: int) -> int:
    end = start
    while end < len(words) and end - start < _MAX_PHRASE_WORDS and words[end].content:
        if end > start and (words[end].text in _ENDERS or words[end].text in _JUNK):
            break
        end += 1
    return end


def _trigger(words: Sequence[_Word], index: int) -> tuple[_Trigger, int] | None:
    """The kind of negation starting at `index` and the index of the first word after its trigger, if any."""
    texts = [word.text for word in words[index : index + 4]]
    if texts[0] == "no":
        return "no", index + 1
    if texts[0] == "not":
        for sequence in _AFTER_NOT:
            if tuple(texts[1 : 1 + len(sequence)]) == sequence:
                return "phrase", index + 1 + len(sequence)
        previous = index - 1
        while previous >= 0 and words[previous].text in _ADVERBS:
            previous -= 1
        if previous >= 0 and words[previous].parts and words[previous].parts[-1] in _COPULAS:
            # "gloves which aren't latex", "gloves that are not latex": a relative clause states a preference.
            relative = words[previous - 1].text if previous > 0 else ""
            if relative == "which" or (relative == "that" and words[previous].text in ("are", "were")):
                return "not", index + 1
            return "fact", index + 1
        return "not", index + 1
    for sequence in _PHRASE_TRIGGERS:
        if tuple(texts[: len(sequence)]) == sequence:
            return "phrase", index + len(sequence)
    return None


def _read_span(words: Sequence[_Word], start: int, after: int, kind: _Trigger) -> _Span:
    lead = {"phrase": _LEAD, "no": frozenset({"more"}), "not": _NOT_LEAD, "fact": frozenset()}[kind]
    index = after
    while index < len(words) and words[index].text in lead:
        index += 1
    if kind == "no" and index > after and index < len(words) and words[index].text == "than":
        kind = "fact"  # "no more than 50": a limit, not a ruled-out thing
    if kind != "fact" and _starts_phrase(words, index):
        phrases = [(index, _phrase_end(words, index))]
        phrases += _coordinated(words, phrases[0][1])
        return _Span(start, after, phrases[-1][1], tuple(phrases))
    if kind == "no":
        # "no idea": the one word is negated; "no, thanks" and "no I meant..." negate nothing.
        end = index + 1 if index < len(words) and words[index].content else index
        return _Span(start, after, end, ())
    while index < len(words) and not words[index].is_break and not words[index].content:
        index += 1
    end = index
    while end < len(words) and end - index < _MAX_PHRASE_WORDS and words[end].content:
        if words[end].text in _ENDERS or words[end].text in FILLER_WORDS:
            break
        end += 1
    return _Span(start, after, end, ())


def _coordinated(words: Sequence[_Word], end: int) -> list[tuple[int, int]]:
    """Phrases joined to the one ending at `end` by "or"/"nor" ("no leather or suede", "no leather, suede or wool").
    A comma list counts only when it ends in "or"/"nor": "no leather, suede is fine" rules out leather alone."""
    found: list[tuple[int, int]] = []
    pending: list[tuple[int, int]] = []
    index = end
    while index < len(words) and words[index].text in (",", "or", "nor"):
        joiner = words[index].text
        index += 1
        if joiner == "," and index < len(words) and words[index].text in ("or", "nor"):
            joiner = words[index].text
            index += 1
        while index < len(words) and words[index].text in _ARTICLES:
            index += 1
        if not _starts_phrase(words, index):
            break
        pending.append((index, _phrase_end(words, index)))
        index = pending[-1][1]
        if joiner != ",":
            found += pending
            pending = []
    return found


def _spans(words: Sequence[_Word]) -> list[_Span]:
    spans: list[_Span] = []
    index = 0
    while index < len(words):
        found = _trigger(words, index)
        if found is None:
            index += 1
            continue
        span = _read_span(words, index, found[1], found[0])
        spans.append(span)
        index = max(span.end, found[1])
    return spans


def _phrase_text(words: Sequence[_Word], start: int, end: int) -> str:
    return " ".join(word.text for word in words[start:end] if not word.is_break)


def find_negations(message: str) -> list[Negation]:
    """Every negated span of `message`, in order, and what each rules out (see the module docstring for the rules).
    Ruled-out phrases here are the words as typed; `extract_preferences` also maps named catalog values."""
    words = _words(message)
    return [
        Negation(
            words=_phrase_text(words, span.after, span.end),
            ruled_out=tuple(_phrase_text(words, start, end) for start, end in span.phrases),
        )
        for span in _spans(words)
    ]


# --- the public API ---------------------------------------------------------------------------------------------------


LONG_MESSAGE_WORDS = 40
"""Past this many words a message usually tells a story around its request (the labelled set's long messages run
60-150 words); only its sentences that ask for, prefer or rule out something are read for wishes."""
_ASKS = re.compile(
    r"\b(?:looking for|look for|need|needs|want|wants|would like|i'?d like|recommend|suggest|find me|show me|"
    r"something|anything|ideally|prefer|preferably|must|should|has to|have to|no |not |without|avoid|hoping|"
    r"after|in the market|searching|any (?:good )?(?:ideas|suggestions))",
)
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")


def asked_part(message: str) -> str:
    """The sentences of a long message that ask for something (all of it when none does, or when it is short)."""
    if len(message.split()) <= LONG_MESSAGE_WORDS:
        return message
    sentences = [s for s in _SENTENCE.split(message) if s.strip()]
    asking = [s for s in sentences if _ASKS.search(_prepare(s))]
    return " . ".join(asking) if asking else message


def prepare(text: str) -> str:
    """The message as every rule here reads it: normalised, contractions expanded ("isn't" -> "is not"), "w/o" ->
    "without", control characters and escapes dropped."""
    return _prepare(text)


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
    words = _words(strip_unsupported(asked_part(message)))
    spans = _spans(words)
    negated = _negated(words, spans)
    named = vocabulary._find(words) if vocabulary is not None else []

    unwanted: dict[str, None] = {}
    for index, substance in _free_of(words):  # "latex-free gloves": latex ruled out, gloves wanted
        negated[index] = 1
        unwanted[substance] = None
    for span in spans:
        for start, end in span.phrases:
            values = [value for _, value, first, last in named if first < end and last > start]
            for phrase in values or [_phrase_text(words, start, end)]:
                unwanted[" ".join(_prepare(phrase).split())] = None

    constraints: dict[str, list[str]] = {}
    for attribute, value, first, last in named:
        if not any(negated[first:last]) and value not in constraints.get(attribute, []):
            constraints.setdefault(attribute, []).append(value)

    wanted: dict[str, None] = {}
    for index, word in enumerate(words):
        if word.is_break or negated[index]:
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
    audience = _audiences(part for index, word in enumerate(words) if not negated[index] for part in word.parts)
    audience = list(dict.fromkeys([*audience, *_relatives(words, negated)]))
    if audience:
        profile["audience"] = audience
    return profile


def _free_of(words: Sequence[_Word]) -> list[tuple[int, str]]:
    """(position, substance) of each "<substance>-free" word ("latex-free", "bpa-free", "powder-free")."""
    return [
        (index, word.text.removesuffix("-free"))
        for index, word in enumerate(words)
        if word.text.endswith("-free") and len(word.text) > len("-free")
    ]


def _negated(words: Sequence[_Word], spans: Sequence[_Span]) -> bytearray:
    negated = bytearray(len(words))
    for span in spans:
        negated[span.start : span.end] = b"\x01" * (span.end - span.start)
    return negated


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
    words = _words(strip_unsupported(asked_part(message)))
    negated = _negated(words, _spans(words))
    for index, _ in _free_of(words):
        negated[index] = 1
    named = vocabulary._find(words) if vocabulary is not None else []
    for _, _, first, last in named:
        negated[first:last] = b"\x01" * (last - first)
    phrases: dict[str, None] = {}
    run: list[str] = []
    for index, word in enumerate([*words, _Word(".", (), False)]):
        keep = (
            index < len(words)
            and not word.is_break
            and not negated[index]
            and not _audiences(word.parts)
            and word.text not in RELATIVES
            and any(
                token not in FILLER_WORDS and not _reference(token, labels) and token not in ignore
                for token in tokenize(word.text)
            )
        )
        if keep:
            run.append(word.text.removesuffix("'s"))
        elif run:
            phrases.setdefault(" ".join(run))
            run = []
    return list(phrases)


# --- who an item is for ----------------------------------------------------------------------------------------------

AUDIENCES: dict[str, frozenset[str]] = {
    "men": frozenset({"men", "mens", "gentlemen"}),
    "women": frozenset({"women", "womens", "ladies", "womans"}),
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
_AUDIENCE_OF = {word: name for name, words in AUDIENCES.items() for word in words}
RELATIVES: dict[str, str] = {
    **dict.fromkeys(("husband", "dad", "father", "boyfriend", "brother", "grandpa", "grandfather", "uncle"), "men"),
    **dict.fromkeys(
        ("wife", "mom", "mum", "mother", "girlfriend", "sister", "grandma", "grandmother", "aunt"), "women"
    ),
    **dict.fromkeys(("son", "nephew", "grandson"), "boys"),
    **dict.fromkeys(("daughter", "niece", "granddaughter", "goddaughter"), "girls"),
}
"""Who an item is for when the user buys it for a relative ("a cardigan for my wife"): only after "for my/her/his/
our", since a relative merely mentioned ("my husband already owns B") names no audience."""


def _relatives(words: Sequence[_Word], negated: bytearray) -> list[str]:
    found = []
    for index in range(len(words) - 2):
        if words[index].text == "for" and words[index + 1].text in ("my", "her", "his", "our", "a"):
            relative = words[index + 2].text.removesuffix("'s")
            if relative in RELATIVES and not negated[index + 2]:
                found.append(RELATIVES[relative])
    return found


def _audiences(words: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(_AUDIENCE_OF[w] for w in words if w in _AUDIENCE_OF))


def item_audiences(item: Item) -> list[str]:
    """The audiences an item's title names ("levi's men's 505 jeans" -> ["men"]); [] when it names none."""
    return _audiences(_PART.findall(_prepare(item.title)))


def audience_conflict(item: Item, audience: Sequence[str]) -> str | None:
    """Why `item` is not for `audience` ("for women"), or None when it is (or its title names no audience)."""
    if not audience:
        return None
    named = item_audiences(item)
    allowed = frozenset().union(*(_COMPATIBLE[a] for a in audience))
    if not named or allowed & set(named):
        return None
    return "for " + " and ".join(named)


def search_query(message: str, profile: Profile, max_words: int = 16, labels: Sequence[str] = ()) -> str:
    """The planner's search query: the message's wanted words, then the profile's earlier wanted words that are not
    already in it (profile order), at most `max_words`; a word of any ruled-out phrase, from the profile or from the
    message, never appears. "" when nothing is left."""
    if max_words < 1:
        raise ValueError(f"max_words must be at least 1, got {max_words}")
    now = extract_preferences(message, labels=labels)
    banned = {key for phrase in (*profile["unwanted"], *now["unwanted"]) for key in _keys(phrase)}
    seen: set[str] = set()
    words: list[str] = []
    for entry in (*now["wanted"], *profile["wanted"]):
        for token in tokenize(entry):
            key = singular(token)
            if token in FILLER_WORDS or key in banned or key in seen or _reference(token, labels):
                continue
            seen.add(key)
            words.append(token)
            if len(words) == max_words:
                return " ".join(words)
    return " ".join(words)


def violation(item: Item, profile: Profile) -> str | None:
    """The first ruled-out phrase of `profile` (in its order) that `item`'s title, text or an attribute value contains
    as whole words, plurals tolerated ("zippers" matches "Zipper"), or the audience it is for when the user asked
    for another ("for women" after "men's jeans"); None when there is none."""
    conflict = audience_conflict(item, profile.get("audience", []))
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
