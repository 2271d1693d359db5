"""Requests a shopper could have typed for an item, so the student also learns the served case of a chat.

The evaluation protocols show the model a history and no message, but a chat shows the user's request, and a new
user has only that: the prompt says "The user has no history yet." and the candidates' links are `asked:` words.
Trained only on history rows, the student never saw either (the 2,895 accepted rows of the first evidence run had
no conversation). So a seeded share of the evidence teacher's pairs carries a request for the target's kind, written
from its title the way item_kind reads titles: the head word ("... Digital Caliper with ..." -> "caliper"), with the
word before it when that is a plain modifier ("digital caliper"), in one of a few phrasings.
"""

from __future__ import annotations

import random

from agent.item_kind import head_segment, head_word
from agent.language import prepare, singular, word_parts
from tools.catalog import Item

_TEMPLATES = (
    "I need {x}",
    "I'm looking for {x}",
    "can you recommend {x}?",
    "show me {x}",
    "do you have {x}?",
    "{x}, please",
    "I want to buy {x}",
    "I'd like {x}",
)
_NOT_KINDS = frozenset(
    {"number", "original", "style", "size", "color", "colour", "series", "model", "edition", "version", "type", "new"}
)
"""Head words that say which one, not what ("... Brief Panty Number 2633")."""
_MODIFIER_MIN = 4
"""Shortest modifier kept: "mm", "pc", "xl" and model codes say nothing a shopper asks for."""


def synthetic_request(item: Item, rng: random.Random) -> str | None:
    """A request for what `item` is, or None when its title names no kind (a bare model code)."""
    head = head_word(item.title)
    brand = item.attributes.get("brand")
    brand_words = {singular(w) for w in word_parts(prepare(brand))} if isinstance(brand, str) else set()
    if head is None or head in _NOT_KINDS or head in brand_words:  # "a dewalt" names a maker, not a thing
        return None
    surface = {singular(w): w for w in word_parts(prepare(item.title))}  # the title's own form: "gloves", "jeans"
    segment = head_segment(item.title)
    words = [surface.get(head, head)]
    at = max((i for i, w in enumerate(segment) if w == head), default=-1)
    if at > 0:
        before = segment[at - 1]
        if before.isalpha() and len(before) >= _MODIFIER_MIN and rng.random() < 0.6:
            words.insert(0, surface.get(before, before))
    thing = " ".join(words)
    if not words[-1].endswith("s"):  # one countable thing takes an article; "gloves", "jeans" do not
        thing = ("an " if thing[0] in "aeiou" else "a ") + thing
    return rng.choice(_TEMPLATES).format(x=thing)
