"""Computed evidence: the facts that tie each candidate to this user, shown next to it in the prompt, written into
the teacher's rationales and checked in the model's.

Links of a candidate (`candidate_links`), each naming the history items it ties to:
    brand      the candidate's brand is the brand of a history item            brand Neiko as #2
    words      distinctive title or category words it shares with history items  "caliper", "digital" as #1, #3
    together   shoppers who have it together with a history item (co-occurrence)  bought with #1 by 12 shoppers
    request    words of what the user asked for that the candidate has        asked: "digital"

"Distinctive" is by inverse document frequency over the catalog's titles and categories: a word on more than
COMMON_SHARE of the items ("industrial", "scientific", "pack") ties nothing to anything. Words are compared
through `agent.claims.stem`, the verifier's own stemmer, so a link is exactly what the verifier can find.
Links hold history item ids; the prompt shows them as the positions of the history lines it kept.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from agent.claims import BOILERPLATE
from agent.language import FILLER_WORDS, REFERENCE_WORDS, affirmed_text, stem
from agent.records import ShownLink
from agent.unsupported import strip_unsupported
from tools.catalog import Item
from tools.cooccur import CoOccurrence
from tools.tokenize import tokenize

LinkKind = Literal["brand", "words", "together", "request"]

MAX_WORDS = 3
"""Shared words shown per candidate: the rarest ones; a fourth adds prompt length and little else."""
COMMON_SHARE = 0.05
"""Words on more than this share of a catalog's items are too common to tie a candidate to a history item."""


@dataclass(frozen=True)
class Link:
    """One fact that ties a candidate to the user."""

    kind: LinkKind
    words: tuple[str, ...]
    """The words the fact rests on, as the catalog writes them (a brand, shared words, request words); empty for
    `together`."""
    history: tuple[str, ...] = ()
    """Ids of the history items it ties the candidate to (none for `request`)."""
    count: int = 0
    """Shoppers who have the candidate with the history item (`together` only)."""


UNIT_WORDS = frozenset(
    {
        *("lbs", "lb", "kg", "mm", "cm", "ml", "oz", "ounce", "ounces", "inch", "inches", "feet", "foot", "yd", "gram"),
        *("grams", "pack", "packs", "pcs", "piece", "pieces", "count", "set", "sets", "size", "sizes", "pair", "pairs"),
        *("box", "color", "colors", "colour", "style", "new", "version", "model", "item", "accuracy", "dimensional"),
        *("grade", "series", "length", "wall"),
    }
)
"""Words titles share by template, not by kind ("1.75mm 1kg (2.2 lbs) Dimensional Accuracy +/- 0.03 mm" in every
filament title): never a link."""


def _item_words(item: Item) -> list[str]:
    """The words of an item's title and category attribute, as tokens: no numbers, units or one- and two-letter
    tokens."""
    text = item.title + " " + " ".join(v for k, v in item.attributes.items() if k == "category" and isinstance(v, str))
    return [t for t in tokenize(text) if len(t) > 2 and t.isalpha() and t not in UNIT_WORDS]


@dataclass(frozen=True)
class WordStats:
    """Document frequency of each normalised word over one catalog."""

    df: Mapping[str, int]
    items: int

    def idf(self, term: str) -> float:
        return math.log((1 + self.items) / (1 + self.df.get(term, 0)))

    def distinctive(self, term: str) -> bool:
        return term not in BOILERPLATE and self.df.get(term, 0) <= COMMON_SHARE * self.items


def word_stats(items: Iterable[Item]) -> WordStats:
    df: Counter[str] = Counter()
    n = 0
    for item in items:
        n += 1
        df.update({stem(t) for t in _item_words(item)})
    return WordStats(dict(df), n)


_STATS: dict[int, tuple[Mapping[str, Item], WordStats]] = {}


def catalog_stats(items: Mapping[str, Item]) -> WordStats:
    """`word_stats` of a catalog, computed once per catalog object and process (6,300 items: about 0.3 s)."""
    found = _STATS.get(id(items))
    if found is None or found[0] is not items:
        found = (items, word_stats(items.values()))  # the mapping is kept, so its id cannot be reused
        _STATS[id(items)] = found
    return found[1]


def _brand(item: Item) -> str | None:
    value = item.attributes.get("brand")
    return value.strip() if isinstance(value, str) and value.strip() else None


def candidate_links(
    item: Item,
    history: Sequence[Item],
    *,
    request: Sequence[str] = (),
    stats: WordStats,
    cooccur: CoOccurrence | None = None,
) -> list[Link]:
    """The links of `item` to `history` (oldest first) and to the request's words, strongest kinds first."""
    links: list[Link] = []
    brand = _brand(item)
    if brand:
        same = tuple(h.item_id for h in history if (_brand(h) or "").casefold() == brand.casefold())
        if same:
            links.append(Link("brand", (brand,), same))
    own: dict[str, str] = {}
    for token in _item_words(item):
        term = stem(token)
        if stats.distinctive(term) and (not brand or term not in {stem(t) for t in tokenize(brand)}):
            own.setdefault(term, token)
    shared: dict[str, list[str]] = {}
    for h in history:
        for term in {stem(t) for t in _item_words(h)} & set(own):
            shared.setdefault(term, []).append(h.item_id)
    if shared:
        best = sorted(shared, key=lambda term: (-stats.idf(term), own[term]))[:MAX_WORDS]
        ids = tuple(dict.fromkeys(i for term in best for i in shared[term]))
        links.append(Link("words", tuple(own[term] for term in best), ids))
    if cooccur is not None:
        counts = [(h.item_id, cooccur.together(item.item_id, h.item_id)) for h in history]
        counts = [(h_id, n) for h_id, n in counts if n > 0]
        if counts:
            h_id, n = max(counts, key=lambda pair: pair[1])
            links.append(Link("together", (), (h_id,), n))
    if request:
        terms = {stem(t) for t in tokenize(item.title + " " + item.text)}
        asked = [w for w in dict.fromkeys(request) if stem(w) in terms and stem(w) not in BOILERPLATE]
        if asked:
            links.append(Link("request", tuple(asked[:MAX_WORDS])))
    return links


def render_links(links: Sequence[Link], positions: Mapping[str, int]) -> str:
    """The prompt's line for a candidate's links; references to history items the prompt did not keep are
    dropped, and a link left with none goes with them. "none" when nothing is left."""
    parts: list[str] = []
    for link in links:
        where = sorted({positions[h] for h in link.history if h in positions})
        if link.kind != "request" and not where:
            continue
        shown = ", ".join(f"#{p}" for p in where)
        if link.kind == "brand":
            parts.append(f"brand {link.words[0]} as {shown}")
        elif link.kind == "words":
            parts.append(", ".join(f'"{w}"' for w in link.words) + f" as {shown}")
        elif link.kind == "together":
            parts.append(f"bought with {shown} by {link.count} shopper{'s' if link.count != 1 else ''}")
        else:
            parts.append("asked: " + ", ".join(f'"{w}"' for w in link.words))
    return "; ".join(parts) if parts else "none"


def request_words(text: str) -> list[str]:
    """Content words of what the user asked for (the latest request), for `request` links; not what it rules out
    ("anything but Levi's" linked every Levi's item as `asked: "levi's"`, and the student argued for the brand
    the user had just excluded)."""
    return [t for t in tokenize(affirmed_text(text)) if len(t) > 2 and not t.isdigit()]


def asked_text(conversation: Sequence[tuple[str, str]], disputed: bool, earlier_disputes: Collection[str] = ()) -> str:
    """The user's words that `asked:` links match: the latest user message that asks for something, or, on the turn
    after a dispute, the latest before it. A dispute names what was wrong ("a pH meter is not a multimeter", "I
    already own the first one"): read as a request, its words made every pH meter an `asked: "meter"` match and the
    student argued for what the user had just ruled out. The graph's profile carries the dispute's own wishes into
    the search."""
    said = [text for role, text in conversation if role == "user"]
    if disputed and len(said) >= 2:
        said = said[:-1]
    # `earlier_disputes`: the messages of earlier turns that were disputes, never what a later turn asked for.
    said = [text for text in said if text.strip() not in {d.strip() for d in earlier_disputes}] or said[-1:]
    # A refinement that asks for nothing a catalog item can have ("under 50 dollars please", "cheaper please")
    # refines the request before it, which the profile keeps and the search still runs: its links are that
    # request's. Read alone it linked no candidate to anything, and the student invented links in its place ("G
    # shares the brand DROK with your DROK ..." to a new user, the README transcript's price turn).
    for text in reversed(said):
        if asks_something(text):
            return text
    return said[-1] if said else ""


def asks_something(message: str) -> bool:
    """Whether a message names anything an item could have: a content word beyond request filler, words that point
    at a pick ("more like the second one") and the constraints the catalog cannot honour (agent/unsupported.py); a
    question about a pick ("is B auto-ranging?") asks for no item either. Read as requests, both left the next
    turn's candidates without an `asked:` link (the README's traps transcript: "No candidate has a link to your
    history or request" for a multimeter, after "a pH meter is not a multimeter")."""
    if _PICK_QUESTION.search(message):
        return False
    return any(
        word not in FILLER_WORDS and word not in REFERENCE_WORDS for word in request_words(strip_unsupported(message))
    )


_PICK_QUESTION = re.compile(
    r"^\s*(?i:is|are|was|does|do|did|can|could|will|would|has|have|how|what|why|which)\b[^?]*"
    r"(?:\b[A-HJ]\b|\b(?i:first|second|third|last|middle|top) (?i:one|pick|option)\b)[^?]*\?\s*$"
)
"""A question about a pick: a question word, a pick (a capital label, "I" excepted, or an ordinal), a question mark."""


def links_for(
    candidates: Sequence[Item],
    history: Sequence[Item],
    *,
    request_text: str,
    catalog: Mapping[str, Item],
    cooccur: CoOccurrence | None,
) -> list[list[Link]]:
    """Every candidate's links (same order): what a served turn, an evaluated case and a training example compute
    alike. `request_text` is the user's latest message (empty when there is none)."""
    stats = catalog_stats(catalog)
    asked = request_words(request_text)
    return [candidate_links(item, history, request=asked, stats=stats, cooccur=cooccur) for item in candidates]


def _name(item: Item, words: int = 4) -> str:
    """A short name for an item in a sentence: its first few title words ("Neiko 01407A Electronic Digital")."""
    return " ".join(item.title.split()[:words]) or item.item_id


def describe_links(links: Sequence[ShownLink], history: Mapping[str, Item]) -> str:
    """The shown links of a candidate as one sentence for a person, naming the history items (not their numbers):
    the per-item "why" when the rationale gave none. "" when there are none."""
    parts: list[str] = []
    for link in links:
        ids = [h for h in link["history"] if h in history]
        names = ", ".join(_name(history[h]) for h in ids[:2])
        words = link["words"]
        kind = link["kind"]
        if kind == "brand" and names:
            parts.append(f"same brand ({words[0]}) as your {names}")
        elif kind == "words" and names:
            parts.append(", ".join(words) + f", like your {names}")
        elif kind == "together" and names:
            count = link["count"]
            parts.append(f"bought with your {names} by {count} shopper{'s' if count != 1 else ''}")
        elif kind == "request" and words:
            parts.append("has " + ", ".join(f"“{w}”" for w in words) + " as you asked")
    return "; ".join(parts)
