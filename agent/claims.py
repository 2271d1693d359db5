"""Deterministic claim grounding: is each sentence of a rationale backed by the words of its evidence?

Method. `split_claims` cuts the rationale into sentence-level claims. Each claim is tied to the candidates it names
(by label such as "Candidate B" or "(C)", by item id, or by most of a title's distinctive words). Its content words are
the lexical tokenizer's terms, lightly de-suffixed (`stem`), less rationale boilerplate ("user", "fit",
"recommend"...; `BOILERPLATE`). They are looked up in the claim's evidence: the catalog fields of the candidates it
names (of every candidate when it names none), the user's history and what the user said. A claim is supported when
at least `threshold` of its content words are found; a turn's grounding score is the share of its supported claims.

    "B is waterproof glue." with B = "Gorilla Wood Glue" -> support 0.5, missing ["waterproof"]: unsupported at 0.6.

Why deterministic: this is the default faithfulness measure, run by the `verify` node on every turn and by the CPU
evaluation, so it must be cheap, need no second model and give the same score for the same turn on every machine
and run. The other measure, ragas faithfulness with an LLM judge, is computed elsewhere and catches paraphrases this
one cannot.
Known limits of a lexical check: a paraphrase ("water-resistant" for "waterproof") counts as unsupported, negation is
ignored ("B is not leather" needs "leather" in its evidence), and a claim that echoes the user's own words is supported
by the conversation even when the item lacks the property.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from agent.language import stem
from agent.records import Claim
from tools.catalog import HIDDEN_ATTRIBUTES, AttributeValue, Item
from tools.tokenize import ENGLISH_STOPWORDS, tokenize

MIN_CLAIM_WORDS = 3
"""Fragments with fewer words ("Answer: B", "Overall.") state nothing checkable and are dropped."""
MAX_REASON_CHARS = 160


@dataclass(frozen=True)
class Evidence:
    """What a rationale may cite: the labelled candidates, the user's history and what the user said."""

    candidates: Mapping[str, Item]
    """Label -> candidate item, e.g. {"A": item, "B": item}, as the prompt listed them."""
    history: Sequence[Item] = ()
    """The user's past items."""
    conversation: Sequence[str] = ()
    """The user's messages in this conversation."""


# --- word normalisation -------------------------------------------------------------------------------------------


def _terms(text: str) -> list[str]:
    return [stem(token) for token in tokenize(text)]


_BOILERPLATE_WORDS = """
    user users customer shopper person people they candidate candidates item items product products option options
    choice choices pick label letter answer rationale recommendation recommend recommended suggest suggested
    history previous previously past earlier before bought buy purchased purchase owned interacted reviewed
    like liked likes love loved enjoy enjoyed interest interested want wanted need needed looking look
    fit fits fitting good great best better nice excellent perfect ideal suitable suit suits strong solid
    listed list attribute attributes based match matches matching also would could may might must make makes
    well one ones seem seems similar related relevant consistent overall therefore thus since given
    especially particularly really likely probably definitely choose chose chosen consider considering think believe
    mention mentioned say said cite cited show shows align aligns made use used work works help helps get
    provide provides offer offers feature features include includes come comes kind something anything
"""
BOILERPLATE: frozenset[str] = frozenset(stem(word) for word in _BOILERPLATE_WORDS.split())
"""Words every rationale uses about any item ("the user would like candidate B, a great fit based on their history"):
they carry no checkable fact, so they are not content words. Stored normalised."""


def _item_terms(item: Item) -> set[str]:
    """Every normalised word of an item's id, title, text, attribute names and attribute values."""
    words = set(_terms(item.item_id))
    words.update(_terms(item.title))
    words.update(_terms(item.text))
    for key, value in item.attributes.items():
        words.update(_terms(key))
        for part in _values(value):
            words.update(_terms(part))
    return words


def _values(value: AttributeValue) -> list[str]:
    return [value] if isinstance(value, str) else [str(part) for part in value]


# --- splitting into claims ----------------------------------------------------------------------------------------

_LINE_BREAK = re.compile(r"\r\n|[\n\r\u2028\u2029\u0085•▪‣●]")
_LIST_MARKER = re.compile(r"^(?:[-*+–—·]+|\(?\d{1,2}[.)])\s+")
# A sentence ends in . ! ? (then maybe quotes or brackets) before a space or the end: "3.5" and "1/2" never split.
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)|;")
_LIST_ITEM = re.compile(r"[A-Z]|\d{1,2}")
_INITIALISM = re.compile(r"(?:[a-z]\.)+[a-z]")
# Abbreviations that never end a sentence, then ones that end it only when the next word is not lower case or a number.
_ABBREVIATIONS = frozenset(
    {"e.g", "i.e", "eg", "approx", "appx", "vs", "incl", "cf", "ca", "esp", "viz", "mr", "mrs", "ms", "dr", "st", "fig"}
)
_MAYBE_ABBREVIATIONS = frozenset(
    {
        *("etc", "inc", "ltd", "co", "corp", "no", "nos", "ft", "oz", "lb", "lbs", "in", "yd", "yds", "pc", "pcs"),
        *("pkg", "qty", "min", "max", "mm", "cm", "jr", "sr", "assn", "bros", "intl", "mfg"),
    }
)


def split_claims(rationale: str) -> list[str]:
    """The sentences of a rationale, stripped, in order; fragments of fewer than MIN_CLAIM_WORDS words are dropped.

    Splits on . ! ? ; newlines and bullets, but not inside numbers ("3.5", "1/2"), after abbreviations ("e.g.",
    "approx.", "in. pipe") or after a label or number opening a list entry ("B. A sanding roll", "2. Glue"). A ";" is
    dropped, other terminators are kept, and list markers ("-", "*", "1.") are removed.
    """
    claims: list[str] = []
    for line in _LINE_BREAK.split(rationale):
        for piece in _sentences(_LIST_MARKER.sub("", line.strip())):
            text = _LIST_MARKER.sub("", piece.strip()).strip()
            if sum(1 for word in text.split() if any(ch.isalnum() for ch in word)) >= MIN_CLAIM_WORDS:
                claims.append(text)
    return claims


def _sentences(line: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(line):
        mark = match.group()
        if mark != ";" and not _ends_sentence(line, start, match):
            continue
        pieces.append(line[start : match.start()] + ("" if mark == ";" else mark))
        start = match.end()
    pieces.append(line[start:])
    return pieces


def _ends_sentence(line: str, start: int, match: re.Match[str]) -> bool:
    mark = match.group()
    if "!" in mark or "?" in mark or mark.startswith(".."):
        return True
    words = line[start : match.start()].split()
    if not words:
        return True
    if len(words) == 1 and _LIST_ITEM.fullmatch(words[0]):
        return False
    previous = words[-1].lstrip("([{\"'“‘").lower()
    following = line[match.end() :].lstrip()[:1]
    if previous in _ABBREVIATIONS:
        return False
    if previous in _MAYBE_ABBREVIATIONS or _INITIALISM.fullmatch(previous):
        return not (following.islower() or following.isdigit())
    return True


# --- which candidates a claim names --------------------------------------------------------------------------------

# A standalone run of capitals: not inside a word, a hyphenation ("T-shirt"), "R&D", "A/B" or "U.S."; "B's" allowed.
_LABEL_TOKEN = re.compile(r"(?<![\w'’\-/&.])[A-Z]+(?![\w\-/&]|['’](?!s\b)|\.\w)")
_PREVIOUS_WORD = re.compile(r"([A-Za-z]+)[\s:#]*$")
_NEXT_WORD = re.compile(r"\s+([A-Za-z]+)(-?)")
_CLOSES = re.compile(r"\s*(?:[.,;:!?)\]]|$)|\s+[-–—]\s")
_CONNECTOR = re.compile(r"\s*(?:,|&|/|,?\s*and|,?\s*or)\s*", re.IGNORECASE)
_CONNECTOR_THEN_LABEL = re.compile(r"\s*(?:,|&|/|and|or)\s*([A-Z])(?![\w\-])")
_LABEL_KEYWORDS = frozenset(
    {
        *("candidate", "candidates", "option", "options", "item", "items", "choice", "choices", "pick", "picks"),
        *("label", "labels", "letter", "letters", "answer", "product", "products", "number", "recommendation"),
    }
)
# After these words a capital letter is a value, not a label: "vitamin C", "size M", "Plan B", "rated R".
_NOT_LABEL_AFTER = frozenset(
    {
        *("vitamin", "vitamins", "size", "sizes", "type", "types", "grade", "class", "plan", "usb", "section"),
        *("part", "model", "zone", "group", "level", "category", "phase", "series", "mark", "rated", "rating"),
        *("cup", "shape", "row", "column", "unit", "mr", "mrs", "ms", "dr", "st", "jr", "sr"),
    }
)
# Words that follow a label as a subject: "B is", "A fits", "C would", "D also". The pronoun "I" takes none of the
# third-person verbs except "was", and all of the modals.
_THIRD_PERSON = frozenset(
    {
        *("is", "has", "was", "does", "fits", "offers", "matches", "seems", "looks", "provides", "includes", "comes"),
        *("features", "suits", "gives", "makes", "contains", "uses", "costs", "shares", "meets", "supports"),
        *("works", "covers", "adds", "targets", "complements", "pairs", "appears", "remains", "stands", "sounds"),
        *("feels", "lacks", "requires", "allows", "focuses", "goes", "belongs", "delivers", "aligns", "lists"),
        *("mentions", "shows", "sells", "weighs", "measures"),
    }
)
_MODALS_AND_LINKERS = frozenset(
    {
        *("would", "could", "can", "will", "might", "may", "should", "must"),
        *("also", "since", "though", "although", "therefore", "thus", "however"),
    }
)
# The article "A" is followed by a noun phrase, which never starts with a function word except these ("A few", "A
# very", "A no-frills"...). So "A" followed by any other stopword ("A and C", "A because") is a label.
_AFTER_LABEL_A = (ENGLISH_STOPWORDS | _THIRD_PERSON | _MODALS_AND_LINKERS) - {
    *("few", "very", "more", "most", "further", "once", "no", "same", "other", "such", "own"),
    *("s", "t", "d", "ll", "m", "re", "ve"),
}
_AFTER_LABEL_I = _THIRD_PERSON - {"was"}


def referenced_labels(claim: str, labels: Collection[str]) -> list[str]:
    """The candidate labels a claim mentions, in order of first mention, without repeats.

    Counted: a label after a keyword ("Candidate B", "option C", "items A and C"), in brackets ("(A)", "[B]"),
    opening the claim ("B: ...", "B. ...", "B) ..."), in a list ("A, B"), or standing alone ("I recommend D").
    Labels must be written in capitals, as the prompt lists them. Two labels are English words and need more:
    "A" counts only where the article cannot stand ("A is", "A and C", "A.", not "A good choice"), and "I" only where
    the pronoun cannot ("I is", "I:", "(I)", "Candidate I", not "I think"). A capital after "vitamin", "size", "Plan"...
    is a value, not a label.
    """
    allowed = set(labels)
    found: list[str] = []
    last_end: int | None = None
    for match in _LABEL_TOKEN.finditer(claim):
        token = match.group()
        if token not in allowed:
            continue
        chained = last_end is not None and _CONNECTOR.fullmatch(claim, last_end, match.start()) is not None
        if _is_label(token, claim[: match.start()], claim[match.end() :], chained, allowed):
            found.append(token)
            last_end = match.end()
    return list(dict.fromkeys(found))


TEXTED_WORDS = 6
"""A message of at most 6 words may type a label in lower case: "kk b pls ty", "c ftw, gettin it"."""
_TEXTED_LABEL = re.compile(r"(?<![\w'.-])([b-hj-z])(?![\w'.-])")


def texted_labels(message: str, labels: Collection[str]) -> list[str]:
    """The labels a short texted message types in lower case ("kk b pls ty", "c ftw, gettin it", "b or c?"), in order
    of mention: after picks, a lone letter that is a label names its pick as the capital does. Never "a" or "i" (the
    article and the pronoun), nor a letter after a word that makes it a value ("vitamin c", "usb c", "type b")."""
    if len(message.split()) > TEXTED_WORDS:
        return []
    found: list[str] = []
    for match in _TEXTED_LABEL.finditer(message):
        label = match.group(1).upper()
        previous = _PREVIOUS_WORD.search(message[: match.start()])
        if label in labels and not (previous and previous.group(1).lower() in _NOT_LABEL_AFTER):
            found.append(label)
    return list(dict.fromkeys(found))


def _is_label(token: str, before: str, after: str, chained: bool, labels: Collection[str]) -> bool:
    previous = _PREVIOUS_WORD.search(before)
    previous_word = previous.group(1).lower() if previous else ""
    if previous_word in _NOT_LABEL_AFTER:
        return False
    bracketed = re.search(r"[(\[]\s*$", before) is not None and re.match(r"\s*[)\]]", after) is not None
    if previous_word in _LABEL_KEYWORDS or bracketed:
        return True
    if token not in ("A", "I"):
        return True
    following = _NEXT_WORD.match(after)
    next_word = following.group(1) if following and not following.group(2) else ""
    closes = _CLOSES.match(after) is not None
    if token == "A":
        # A capital "A" after a lower-case word or a comma is no article: an article mid-sentence is written "a"
        # ("yes, A please", "would A work for hiking?", "how does A compare to B?").
        mid_sentence = re.search(r"[a-z,]\s*$", before) is not None
        return chained or closes or next_word in _AFTER_LABEL_A or mid_sentence
    if re.match(r"\s*[:)]", after) or (not before.strip() and after.startswith(".")):
        return True
    if chained and (closes or next_word in {"and", "or", "are", "both"}):
        return True
    then_label = _CONNECTOR_THEN_LABEL.match(after)
    return next_word in _AFTER_LABEL_I or (then_label is not None and then_label.group(1) in labels)


def _mentioned_ids(claim: str, candidates: Iterable[Item]) -> list[str]:
    """Ids cited in brackets ("[B00004YO6O]") or, when 6 characters or longer, bare; short bare ids are too often
    quantities or years ("2019") to count."""
    ids: list[str] = []
    for item in candidates:
        if not item.item_id:
            continue
        escaped = re.escape(item.item_id)
        bracketed = re.search(rf"[(\[]\s*{escaped}\s*[)\]]", claim, re.IGNORECASE)
        bare = len(item.item_id) >= 6 and re.search(rf"(?<![\w/.-]){escaped}(?![\w/-])", claim, re.IGNORECASE)
        if bracketed or bare:
            ids.append(item.item_id)
    return ids


# A title is named when most (60%) of its distinctive words appear, at most 4 of them: catalog titles run to 15 words
# and a model quotes a few. At least 2 title words must appear, so "Glue" alone never names "Gorilla Glue".
_TITLE_SHARE = 0.6
_TITLE_MAX_NEEDED = 4
_TITLE_MIN_WORDS = 2


def _titled_ids(claim_terms: set[str], titles: Mapping[str, set[str]]) -> list[str]:
    """Candidates whose titles the claim quotes: `titles` maps item id -> its title's words (less boilerplate)."""
    ids: list[str] = []
    for item_id, words in titles.items():
        others: set[str] = set()
        for other_id, other_words in titles.items():
            if other_id != item_id:
                others |= other_words
        distinctive = words - others
        if not distinctive:
            continue
        needed = min(math.ceil(_TITLE_SHARE * len(distinctive)), _TITLE_MAX_NEEDED)
        if len(distinctive & claim_terms) >= needed and len(words & claim_terms) >= _TITLE_MIN_WORDS:
            ids.append(item_id)
    return ids


# --- checking ----------------------------------------------------------------------------------------------------


def _content_words(claim: str, ignored: set[str]) -> list[tuple[str, str]]:
    """(as written, normalised) content words of a claim, deduplicated on the normalised form, in order."""
    seen: dict[str, str] = {}
    for token in tokenize(claim):
        term = stem(token)
        if term not in BOILERPLATE and term not in ignored and term not in seen:
            seen[term] = token
    return [(token, term) for term, token in seen.items()]


def check_claims(rationale: str, evidence: Evidence, *, threshold: float = 0.6) -> list[Claim]:
    """Split a rationale into claims and check each against its evidence (see the module docstring).

    A claim's evidence is the words of the candidates it names, else of every candidate, plus the history's and the
    conversation's. `support` is the share of its content words found there and `missing` the others (as the
    tokenizer wrote them, in order). A claim with no content words ("B is a great fit for this user") is supported
    with support 1.0: it asserts nothing that could be false, so marking it would only punish filler.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
    labels = list(evidence.candidates)
    by_label = dict(evidence.candidates)
    label_terms = {label.lower() for label in labels}
    candidate_terms = {item.item_id: _item_terms(item) for item in by_label.values()}
    titles = {item.item_id: set(_terms(item.title)) - BOILERPLATE - label_terms for item in by_label.values()}
    background: set[str] = set()
    for item in evidence.history:
        background |= _item_terms(item)
    for message in evidence.conversation:
        background.update(_terms(message))
    every_candidate = set().union(*candidate_terms.values()) if candidate_terms else set()

    claims: list[Claim] = []
    for text in split_claims(rationale):
        named = [by_label[label].item_id for label in referenced_labels(text, labels)]
        named += _mentioned_ids(text, by_label.values())
        named += _titled_ids(set(_terms(text)), titles)
        item_ids = list(dict.fromkeys(named))
        pool = background | (set().union(*(candidate_terms[i] for i in item_ids)) if item_ids else every_candidate)
        words = _content_words(text, label_terms)
        missing = [token for token, term in words if term not in pool]
        support = 1.0 - len(missing) / len(words) if words else 1.0
        claims.append(
            {
                "text": text,
                "item_ids": item_ids,
                "supported": support >= threshold,
                "support": support,
                "missing": missing,
            }
        )
    return claims


def grounding_score(claims: Sequence[Claim]) -> float | None:
    """The share of claims that are supported; None when there are no claims (no rationale is not 0% faithful)."""
    if not claims:
        return None
    return sum(1 for claim in claims if claim["supported"]) / len(claims)


def marked_rationale(claims: Sequence[Claim]) -> str:
    """The claims joined with spaces, each unsupported one wrapped as "[unsupported: <claim>]"."""
    return " ".join(claim["text"] if claim["supported"] else f"[unsupported: {claim['text']}]" for claim in claims)


# --- per-item reasons ----------------------------------------------------------------------------------------------


def reason_for(item: Item, label: str, claims: Sequence[Claim], wanted: Sequence[str] = ()) -> tuple[str, bool]:
    """A short reason (at most MAX_REASON_CHARS) for committing `item`, and whether it comes from the rationale.

    The first supported claim about the item gives (its text, True). Otherwise the reason is built from the item's own
    fields, (text, False): the attributes that contain a `wanted` word or phrase (else its first two attributes), then
    the wanted words found elsewhere in the item, e.g. "brand: PORTER-CABLE; matches 'sanding'". Never empty.
    """
    for claim in claims:
        if claim["supported"] and item.item_id in claim["item_ids"]:
            return shorten(claim["text"]), True
    return shorten(templated_reason(item, label, wanted)), False


def templated_reason(item: Item, label: str, wanted: Sequence[str]) -> str:
    item_words = _item_terms(item)
    hits = [phrase.strip() for phrase in dict.fromkeys(wanted) if _phrase_in(phrase, item_words)]
    shown: list[tuple[str, list[str]]] = []
    fallback: list[tuple[str, list[str]]] = []
    for key, value in item.attributes.items():
        values = [part.strip() for part in _values(value) if part.strip()]
        if key in HIDDEN_ATTRIBUTES or not values:
            continue
        fallback.append((key, values))
        value_words = {term for part in values for term in _terms(part)}
        if any(_phrase_in(phrase, value_words) for phrase in hits):
            shown.append((key, values))
    shown = shown or fallback[:2]
    shown_words = {term for _, values in shown for part in values for term in _terms(part)}
    parts = [f"{key}: {', '.join(values[:3])}" for key, values in shown]
    parts += [f"matches '{phrase}'" for phrase in hits if not _phrase_in(phrase, shown_words)]
    if not parts:
        parts = [f"candidate {label}: {item.title.strip() or item.item_id}".strip().rstrip(":")]
    return "; ".join(parts)


def _phrase_in(phrase: str, words: set[str]) -> bool:
    terms = set(_terms(phrase))
    return bool(terms) and terms <= words


def shorten(text: str, limit: int = MAX_REASON_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"
