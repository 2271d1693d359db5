"""Constraints this kind of catalog cannot honour: the bundled catalogs carry titles, categories and brands, but no
prices, ratings or delivery. A request that names one ("a multimeter under $50", "top rated", "arrives by Friday")
is searched without it, and the answer says so instead of pretending to filter (tests/data/UNDERSTANDING.md lists
the phrasings; "best" alone is filler, never a rating).
"""

from __future__ import annotations

import re

from agent.language import asked_part

_DAYS = r"(?:today|tomorrow|tonight|monday|tuesday|wednesday|thursday|friday|saturday|sunday|the weekend|next week)"
_SHIPPING_GOODS = (
    r"(?:box|boxe|bag|label|tape|supplie|scale|envelope|container|material|carton|mailer|tube|crate|pallet|sticker)s?"
)
"""What one buys for shipping ("a shipping box", "delivery bags"): products, not wishes about delivery."""
_PATTERNS: dict[str, re.Pattern[str]] = {
    "price": re.compile(
        r"(?:\b(?:under|below|less than|no more than|at most|max(?:imum)?|around|about|for)\s+)?"
        # "$30-40 range", "$20 to $30": the range, its upper end and the word "range" are one price
        r"(?:\$\s?\d+(?:[.,]\d+)?(?:\s?(?:-|to)\s?\$?\d+(?:[.,]\d+)?)?(?: range)?|"
        r"\b(?:\d+|twenty|thirty|forty|fifty|a hundred|hundred)\s?(?:dollars?|bucks|usd|euros?|"
        r"quid|pounds?)\b)|\b(?:(?:not|nothing) too |too )?(?:cheap(?:er|est|ly)?|budget(?:[ -]friendly)?|"
        r"afford(?:able)?|inexpensive|expensive|pricey|overpriced|price[ds]?|prices|costs?|discount(?:ed)?|"
        r"bargain)\b|\bon sale\b|"
        r"\b(?:(?:sorted by |the )?(?:lowest|cheapest)[ -]pric(?:e|ed|es)|the cheaper the better|how much|"
        r"spend)\b|\b(?:(?:will|would|does|do|can) not |won'?t |doesn'?t )?"
        r"break the bank\b|"
        # money idioms (the set's sixth round): "money's tight", "on a shoestring", "go easy on my wallet"
        r"\bmoney(?:'?s| is) tight\b|\b(?:on a )?shoestring\b|\b(?:go )?easy on (?:my|the|our) (?:wallet|budget)\b|"
        r"\bwallet[- ]friendly\b|\bstrapped for cash\b|"
        # other currencies and unit prices (the set's seventh round): "max £25", "less than 50 CAD", "10 cents per
        # glove", "under a dollar a slide", "$5 per shirt"
        r"(?:\b(?:under|below|less than|no more than|at most|max(?:imum)?|around|about|like|at)\s+)?"
        r"(?:[£€¥]\s?\d+(?:[.,]\d+)?|\b\d+(?:[.,]\d+)?\s?(?:cad|aud|gbp|eur|cents?|pence)\b|"
        r"\b(?:a|one) (?:dollar|buck)\b)"
        r"(?:\s+(?:per|a|each) (?:pair|piece|slide|glove|shirt|unit|pack|box|item|one))?|"
        r"(?<=\d) (?:per|a|each) (?:pair|piece|slide|glove|shirt|unit|pack|box|item)\b|"
        # "got a $50 gift card", "stay inside my $25 gift card balance" (the set's eighth round)
        r"\b(?:a |my |the )?gift ?cards?(?: balance)?\b|"
        # coupons and codes (the set's tenth round): "any promo codes for a rain jacket?", "got any coupons on gloves?"
        r"\b(?:coupons?|promo(?:tional)?(?: codes?)?|discount codes?|vouchers?)\b",
        re.IGNORECASE,
    ),
    "rating": re.compile(
        r"\b(?:(?:at least |over |above )?(?:(?:well|highly|best|highest|top|good|great|better|poorly|badly|low|"
        r"lowly)[ -]?(?:rated|reviewed)|"
        # reviews ruled out are a rating too (the set's tenth round): "no bad reviews", "a bunch of negative reviews"
        r"(?:with )?(?:lots of |a ton of |tons of |good |great |many |positive |glowing |rave |excellent |bad |"
        r"negative |poor |terrible |awful |mixed |low |"
        r"(?:\d(?:\.\d)?|one|two|three|four|five)[ -]?stars? )*"
        r"(?:reviews?|reviewers?|ratings?)(?: (?:rave|love|like|praise)(?: about)?)?|"
        # "the joggers customers rate highest"
        r"(?:(?:customers|buyers|people|users|reviewers) )?rates? (?:it |them )?(?:highest|highly|best|the highest)|"
        # a count of reviews (the set's ninth round): "at least 1,000 reviews", "500+ reviews", "2k ratings"
        r"(?:(?:with )?(?:at least |over |more than |)\d[\d,.]*\+?k?\+? (?:reviews?|ratings?))|"
        r"(?:\d(?:\.\d)?|one|two|three|four|five)[ -]?stars?(?: rated)?"
        r"(?: and up| or more| or better| or higher| plus)?|rated))\b|"
        # a score asked for (the set's tenth round): "scoring at least 4.8 out of 5", "90%+ positive"; the user's own
        # score of a pick is none ("the SainSmart is maybe a 3 out of 10 for me")
        r"\b(?:at least|over|above|minimum|min|scor(?:e|es|ed|ing)|rated) \d(?:\.\d)? out of (?:5|10|five|ten)\b|"
        r"\b\d{2,3} ?%\+? (?:positive|approval|satisfaction)\b|"
        # star emoji and signs: "⭐⭐⭐⭐ or more", "4⭐+", "only 5★"
        r"(?:\d(?:\.\d)?\s?)?[\u2b50\u2605]+\ufe0f?\+?(?: (?:or|and) (?:more|better|higher|above|up))?",
        re.IGNORECASE,
    ),
    "delivery": re.compile(
        # where it ships (the set's ninth round): "that can ship to an APO address", "ships to Canada"
        r"\b(?:(?:that |which )?(?:'ll |ll |can |will )?(?:ships?|shipping|deliver(?:s|ed|y)?) (?:to|into|out to) "
        r"[^,.;!?\n]{1,40}|"
        # ("tracking says out for delivery" tells where an order is, it asks for nothing)
        r"(?:that |which )?(?:can |will )?(?:ships?|shipping|shipped|arriv(?:e|es|al)|(?<!out for )deliver(?:y|ed|s)?)"
        # a thing for shipping is a product, not a wish about delivery ("a shipping box", "delivery bags")
        rf"(?! {_SHIPPING_GOODS}\b)"
        rf"(?: (?:fast|faster|quickly|quicker|sooner|free|overnight|(?:by |before |on )?{_DAYS}))*|"
        r"(?:that'?s |is |are |that are )?(?:in|out of|in-)[ ]?stock"
        rf"(?: right now| now)?|(?:before|by) {_DAYS}|prime|overnight|next[- ]day|"
        # "I can't wait weeks for it to show up", "won't take forever to get here" (the set's eighth round)
        r"(?:can not|cannot|can't) wait (?:weeks|days|a week|long|forever)(?: for it)?"
        r"(?: to (?:show up|arrive|get here))?|"
        r"(?:will not|won't|does not|doesn't) take forever(?: to (?:get here|arrive|ship|show up|come))?)\b",
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
    # In a long message only what it asks for counts: "the cheap multimeter that came in my first kit" and "our
    # budget was cut" are the story, not a constraint (the understanding set's rule for long messages).
    message = asked_part(message)
    found = [(m.start(), kind) for kind, pattern in _PATTERNS.items() if (m := pattern.search(message[:5000]))]
    return [kind for _, kind in sorted(found)]


def strip_unsupported(message: str) -> str:
    """The message with what names an unsupported constraint cut out (a clause break in its place), so that
    "cheap nitrile gloves under $20" is searched as "nitrile gloves" and neither "cheap" nor "20" becomes a wish."""
    head, tail = message[:5000], message[5000:]
    for pattern in _PATTERNS.values():
        head = pattern.sub(" , ", head)
    return head + tail
