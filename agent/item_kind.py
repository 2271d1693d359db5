"""What an item is, read from its title and category, and how well it is the thing a request names.

A request names a thing ("a good multimeter for electronics hobby work"): the user wants multimeters, and the rest
says what for. Text search cannot tell an item that *is* a multimeter from one that mentions it: in the scientific
catalog 8 titles say "multimeter", and only 3 are multimeters (OWON B35T, a Uni-T clamp meter, an OWON scope with
a meter); the others are a case *for* one, test clips, probe leads, a pH pen and a panel gauge. BM25 over the
request ranked the DROK gauge, alligator clips and the pH pen first (README, issue 16), and a new user has no
history for the sequential recommender to correct that.

Amazon titles put the product first and its uses after a preposition ("Hard Travel Case for Etekcity ... Clamp
Meter Multimeters"; "OWON B35T Plus Multimeter with True RMS ..."), so:

- the *head segment* of a title is what comes before the first ",", "(", " - ", "for", "with", "compatible",
  "fits", "by", "includes";
- its *head word* is the last word of that segment that is not a size, a number or a model code (the compound
  noun's head: "... Multimeter Probe Test Lead Cable 0.6M" is a cable); a generic head ("tool", "kit") stands also
  for the word before it ("... Clamp Meter Multimeter Test Tool" is a multimeter);
- the category's last word names the catalog's own kind ("... Clamp Meters", "... Test Probes & Leads").

`kind_scores` gives each candidate, for each thing the request names, 3 when it is the head word (2 when the head
segment joins two kinds with "and"), 2 when it is the category's last word, 1 when it is only somewhere in the head
segment (a modifier: "Multimeter Tester"), and 0 when it comes after the cut (an accessory *for* it) or not at all;
summed over the named things. The agent puts higher
scores first (agent/nodes.py): naming the thing is a constraint, as "men's" is, not a hint to be outweighed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agent.language import prepare, singular, word_parts
from tools.catalog import Item

KIND_STEP = 100.0
"""What one point of kind score adds to a candidate's committed score: a tier, not a weight (see agent/nodes.py)."""

_CUT = re.compile(
    r",|;|\(|\[|\s[-\u2013\u2014|/]\s|\s(?:for|with|w/|compatible|fits|fit|by|includes|including|featuring|made)\s"
)
_SIZES = frozenset(
    {
        "xs", "s", "m", "l", "xl", "xxl", "xxxl", "2xl", "3xl", "small", "medium", "large", "x", "pack", "pcs", "pc",
        "piece", "pieces", "set", "count", "ct", "inch", "inches", "mm", "cm", "ml", "oz", "lb", "lbs", "ft",
        "black", "white", "blue", "red", "grey", "gray", "green", "navy", "pink", "brown", "beige", "purple",
    }
)  # fmt: skip
"""Trailing words that say how many, how big or which colour, not what ("... Nitrile Gloves Large" is gloves)."""
_GENERIC = frozenset({"tool", "kit", "device", "instrument", "equipment", "unit", "system"})
"""Heads that say only that the item is some kind of gear: the word before them says which ("Clamp Meter Multimeter
Test Tool" is a multimeter, "Inspection Camera Kit" a camera, "Stethoscope Kit" a stethoscope). In the scientific
catalog 172 titles end in "kit" and 26 in "tool"; read as the kind, the Uni-T UT204 clamp multimeter scored as a mere
mention of "multimeter", as the DROK battery gauge does, and the gauge came third for "a good multimeter"."""
_GENERIC_MODIFIERS = frozenset({"test", "testing", "measuring", "measurement", "diagnostic"})
"""Words that qualify a generic head rather than name a kind ("Test Tool", "Measuring Instrument")."""


def _key(word: str) -> str:
    return singular(word)


def head_segment(title: str) -> list[str]:
    """The word keys of the title's part before its first cut ("OWON B35T Plus Multimeter with True RMS ..." ->
    ["owon", "b35t", "plus", "multimeter"])."""
    text = prepare(title)
    first = _CUT.split(f" {text} ", maxsplit=1)[0]
    return [_key(w) for w in word_parts(first)]


def head_word(title: str) -> str | None:
    """The last word of the head segment that is not a size, colour, count or code (None for an empty title)."""
    return _head_of(head_segment(title))


def _head_of(segment: Sequence[str]) -> str | None:
    for word in reversed(segment):
        if word in _SIZES or any(ch.isdigit() for ch in word) or len(word) < 3:
            continue
        return word
    return None


def _behind_generic(segment: Sequence[str], head: str | None) -> str | None:
    """For a generic head ("... Multimeter Test Tool"), the word that says which gear it is ("multimeter")."""
    if head not in _GENERIC:
        return None
    words = list(segment)
    while words and (words[-1] != head):
        words.pop()  # drop what trails the head (sizes, codes) and the head itself below
    for word in reversed(words[:-1]):
        if word in _GENERIC or word in _GENERIC_MODIFIERS or word in _SIZES or len(word) < 3:
            continue
        if any(ch.isdigit() for ch in word):
            return None  # "Pac-Kit 2": a model code, not a kind
        return word
    return None


def head_kinds(title: str) -> list[str]:
    """What an item is: its head word, the word a generic head stands for ("Clamp Meter Multimeter Test Tool" ->
    ["tool", "multimeter"]), and for a combined device the kinds its head segment joins with "and"
    ("Oscilloscope and Digital Multimeter" -> ["multimeter", "oscilloscope"])."""
    segment = head_segment(title)
    head = _head_of(segment)
    joined = [segment[i - 1] for i, word in enumerate(segment) if word == "and" and i > 0]
    return [k for k in dict.fromkeys([head, _behind_generic(segment, head), *joined]) if k]


def category_word(item: Item) -> str | None:
    """The last word of the item's category ("... Electrical Testing Clamp Meters" -> "meter"), if it has one."""
    category = item.attributes.get("category")
    if not isinstance(category, str):
        return None
    words = word_parts(category)
    return _key(words[-1]) if words else None


def kind_score(item: Item, things: Sequence[str]) -> int:
    """How much `item` is each of `things` (word keys, see the module docstring), summed."""
    words = head_segment(item.title)
    head = _head_of(words)
    heads = {head, _behind_generic(words, head)} - {None}
    segment = set(words)
    category = category_word(item)
    score = 0
    # "Oscilloscope and Digital Multimeter": a combined device is partly the thing, as its category would say, and a
    # shopper asking for a multimeter expects the OWON B35T multimeter before the Owon oscilloscope that has one.
    head_score = 2 if "and" in segment else 3
    for thing in things:
        if thing in heads:
            score += head_score
        elif thing == category:
            score += 2
        elif thing in segment:
            score += 1
    return score


def named_things(request_words: Sequence[str], items: Sequence[Item]) -> list[str]:
    """The words of a request (keys, in order) that name a kind among `items`: the head word or category word of at
    least one of them. "multimeter electronics hobby work" over the multimeter search -> ["multimeter"]."""
    kinds = {head_word(i.title) for i in items} | {category_word(i) for i in items}
    out: list[str] = []
    for word in request_words:
        key = _key(word)
        if key in kinds and key not in out:
            out.append(key)
    return out


def kind_scores(items: Sequence[Item], things: Sequence[str]) -> list[int]:
    return [kind_score(item, things) for item in items]
