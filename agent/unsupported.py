"""Constraints this kind of catalog cannot honour: the bundled catalogs carry titles, categories and brands, but no
prices, ratings or delivery. A request that names one ("a multimeter under $50", "top rated", "arrives by Friday")
is searched without it, and the answer says so instead of pretending to filter (tests/data/UNDERSTANDING.md lists
the phrasings; "best" alone is filler, never a rating).
"""

from __future__ import annotations

import re

_PATTERNS: dict[str, re.Pattern[str]] = {
    "price": re.compile(
        r"(\$\s?\d|\d\s?(?:dollars?|bucks|usd|eur|euros?|quid|pounds?)\b|\b(?:price[ds]?|pricey|prices|cost[s]?|"
        r"cheap(?:er|est|ly)?|budget|afford(?:able)?|inexpensive|expensive|on sale|discount(?:ed)?|bargain|"
        r"break the bank|how much|spend|money|deal)\b)",
        re.IGNORECASE,
    ),
    "rating": re.compile(
        r"\b(?:(?:well|highly|best|top|good|great)[ -]?(?:rated|reviewed)|ratings?|reviews?|reviewed|\d(?:\.\d)?\s?"
        r"stars?|five stars?|stars? rating)\b",
        re.IGNORECASE,
    ),
    "delivery": re.compile(
        r"\b(?:ship(?:s|ped|ping)?|deliver(?:y|ed|s)?|arriv(?:e|es|al)|in stock|out of stock|prime|overnight|"
        r"next[- ]day|before the weekend|by (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow))\b",
        re.IGNORECASE,
    ),
}
CATALOG_LACKS = {
    "price": "this catalog has no prices, so I could not filter or compare by price",
    "rating": "this catalog has no ratings or reviews, so I could not use them",
    "delivery": "this catalog has no delivery or stock information, so I could not check it",
}


def unsupported_constraints(message: str) -> list[str]:
    """The kinds of constraint (`price`, `rating`, `delivery`) the message names that the catalog cannot honour, in
    the order they first appear."""
    found = [(m.start(), kind) for kind, pattern in _PATTERNS.items() if (m := pattern.search(message[:5000]))]
    return [kind for _, kind in sorted(found)]
