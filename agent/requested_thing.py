"""The thing a request names, and whether a request in a running conversation asks for a new thing or refines the
old one.

A served conversation showed why: after "levi's men's bootcut jeans" the turn "a hoodie, nothing for kids" searched
"hoodie levi men bootcut jeans", filtered to Levi's, and committed jeans again, because the profile reducer
(agent/state.py `merge_profile`) kept every earlier wish and brand. A request that names another product ("a
hoodie") starts a new search: its wishes and brand filter replace the old ones. A refinement ("in black", "cheaper",
"not for kids", "black ones", "something warmer") names no product and keeps them.

The thing is the head noun of the request's thing part (`agent.language.thing_part`: the words before its first
purpose, attribute or clause word): its last word that is not filler, an audience or relative word, a colour, a
material, a size or a comparative ("levi's men's bootcut jeans" -> "jean"; "a hoodie" -> "hoodie"; "black ones" ->
none). A part that opens with a preposition or a pointer ("in black", "with a hood", "more like B") names none, and
neither does one that says "one"/"ones" ("a warmer one", "bootcut ones in black": "one" stands for the old
thing).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agent.language import FILLER_WORDS, REFERENCE_WORDS, prepare, singular, thing_part, word_parts
from agent.profile import RELATIVES, Vocabulary, audience_words, extract_preferences
from agent.state import Profile
from tools.tokenize import ENGLISH_STOPWORDS

MODIFIER_WORDS: frozenset[str] = frozenset(
    {
        # colours
        *("black", "white", "grey", "gray", "navy", "blue", "red", "green", "pink", "purple", "brown", "beige"),
        *("tan", "khaki", "olive", "yellow", "orange", "ivory", "cream", "charcoal", "maroon", "burgundy", "teal"),
        *("dark", "light", "bright", "pastel", "neon", "plain", "solid", "striped", "plaid", "floral", "camo"),
        # materials
        *("cotton", "wool", "leather", "suede", "denim", "linen", "silk", "polyester", "nylon", "fleece", "down"),
        *("cashmere", "merino", "flannel", "canvas", "plastic", "glass", "steel", "stainless", "metal", "aluminum"),
        *("rubber", "nitrile", "latex", "vinyl", "wooden", "wood", "brass", "copper", "ceramic", "silicone"),
        # sizes and fits
        *("small", "medium", "large", "xl", "xxl", "xs", "big", "bigger", "smaller", "larger", "long", "short"),
        *("longer", "shorter", "tall", "petite", "slim", "regular", "loose", "tight", "wide", "narrow", "size"),
        # comparatives and degree
        *("cheaper", "warmer", "cooler", "lighter", "heavier", "thicker", "thinner", "softer", "stronger"),
        *("darker", "brighter", "nicer", "better", "simpler", "sturdier", "tougher", "faster", "quieter", "more"),
        *("less", "cheap", "warm", "waterproof", "digital", "analog", "different", "similar"),
    }
)
"""Words that say what a thing is like, not what it is: a request made only of these refines the old thing."""

_OPENERS = frozenset(
    {
        *("in", "with", "without", "but", "not", "no", "and", "or", "also", "maybe", "same", "similar", "like"),
        *("more", "less", "other", "another", "something", "anything", "one", "ones", "any", "what", "how"),
        *("cheaper", "only", "just", "instead", "now", "then", "preferably", "ideally", "from", "by"),
    }
)
"""First words of a request that refines: "in black", "with a hood", "something warmer", "any cheaper ones?"."""

_ONE = frozenset({"one", "ones"})
_INTERJECTION = re.compile(
    r"^\s*(?:no|nah|nope|actually|ok(?:ay)?|well|hmm+|um+|uh+|so|right|sorry|oh)\s*[,.!;:\u2014-]+\s*", re.IGNORECASE
)
"""A word set off before the request ("no, a soldering iron instead", "actually, a hoodie"): not its opener. "no
plastic" (no comma) still refines."""
_REQUEST_LEAD = frozenset(
    {
        *("i", "id", "i'd", "we", "need", "want", "would", "like", "looking", "for", "can", "could", "you", "please"),
        *("show", "me", "find", "get", "recommend", "suggest", "do", "have", "how", "about", "what", "a", "an"),
        *("some", "the", "pair", "of", "got", "m", "im", "searching", "after", "give", "us", "let", "see"),
    }
)
"""Request words before the thing ("could you show me a hoodie", "how about some gloves"): skipped before the
opener check, so only what follows them counts."""


def requested_thing(message: str, labels: Sequence[str] = (), ignore: frozenset[str] = frozenset()) -> list[str]:
    """The word key of the thing `message` asks for, as a one-element list ("a hoodie, nothing for kids" ->
    ["hoodie"]), or [] when it names none ("in black", "cheaper ones", "more like B"). With the previous picks'
    `labels`, a pick's letter is a pointer, not a thing; words in `ignore` (a brand's words) are never the thing."""
    words = word_parts(thing_part(_INTERJECTION.sub("", message)))
    index = 0
    while index < len(words) and words[index] in _REQUEST_LEAD:
        index += 1
    rest = words[index:]
    if not rest or rest[0] in _OPENERS or _ONE & set(rest):
        return []
    pointers = {label.lower() for label in labels}
    for word in reversed(rest):
        if (
            word in FILLER_WORDS
            or word in ENGLISH_STOPWORDS
            or word in MODIFIER_WORDS
            or word in REFERENCE_WORDS
            or word in pointers
            or word in ignore
            or word in RELATIVES
            or audience_words([word])
            or len(word) < 3
            or any(ch.isdigit() for ch in word)
        ):
            continue
        return [singular(word)]
    return []


def request_profile(message: str, vocabulary: Vocabulary | None = None, labels: Sequence[str] = ()) -> Profile:
    """What a request adds to the profile: `extract_preferences`, and the thing it names (`requested_thing`), by
    which `merge_profile` tells a new product from a refinement."""
    profile = extract_preferences(message, vocabulary, labels)
    named = frozenset(part for values in profile["constraints"].values() for v in values for part in word_parts(v))
    thing = requested_thing(prepare(message), labels, named)
    if thing:
        profile["thing"] = thing
    return profile
