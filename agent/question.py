"""Answering a question about the picks ("why the second one?", "is B waterproof?", "what brand is A?") from the
pick's own reason and the catalog's text, without changing the list: the catalog decides what can be confirmed, and
what it does not hold (prices, ratings, delivery) is said, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from agent.dispute import referenced_picks
from agent.language import FILLER_WORDS, read_words, singular, word_parts
from agent.records import Pick
from agent.unsupported import CATALOG_LACKS, unsupported_constraints
from tools.catalog import Item
from tools.tokenize import tokenize

_ASKING = frozenset(
    {
        *("why", "what", "which", "how", "does", "do", "did", "can", "could", "will", "would", "is", "are", "come"),
        *("made", "use", "work", "pick", "picked", "choose", "chose", "chosen", "first", "second", "third", "last"),
        *("list", "brand", "material", "mean", "explain", "choice", "choices", "different", "difference", "one"),
        *("ones", "handle", "measure", "fit", "fits", "size", "a", "b", "c", "d", "e", "f", "g", "h"),
    }
)
"""Words of a question that ask rather than name a property to look up."""
_MAX_CHECKED = 3


def _asked_words(message: str) -> list[str]:
    """The words a question asks the catalog about, a hyphenated one whole ("is B auto-ranging?" -> "auto-ranging")."""
    asked: dict[str, None] = {}
    for word in read_words(message):
        terms = [t for t in tokenize(word.text) if t not in _ASKING and t not in FILLER_WORDS]
        if terms:
            asked.setdefault(word.text if "-" in word.text and len(terms) > 1 else terms[0])
            asked.update(dict.fromkeys(terms[1:]) if "-" not in word.text else {})
    return list(asked)[:_MAX_CHECKED]


def _mentions(item: Item, word: str) -> bool:
    """Whether the item's text has the word, plurals tolerated; a hyphenated word as its parts in a row, with or
    without the hyphen ("auto-ranging" finds "Auto-Ranging", "auto ranging" and "autoranging")."""
    keys = [singular(part) for part in word_parts(word)]
    text = [singular(part) for part in word_parts(item.text)]
    if len(keys) == 1:
        return keys[0] in text
    joined = "".join(keys)
    return any(text[i : i + len(keys)] == keys for i in range(len(text))) or joined in text


def _facts(item: Item) -> str:
    brand = item.attributes.get("brand")
    parts = [f"brand {brand}"] if isinstance(brand, str) and brand.strip() else []
    category = item.attributes.get("category")
    if isinstance(category, str) and category.strip():
        parts.append(f"category {category.split('>')[-1].strip()}")
    elif isinstance(category, (list, tuple)) and category:
        parts.append(f"category {str(category[-1]).strip()}")
    return "; ".join(parts)


def answer_question(
    message: str, picks: Sequence[Pick], items: Mapping[str, Item], pointed: Sequence[str] | None = None
) -> str:
    """What the catalog says about the pick(s) the question points at (`pointed`, when something else read them:
    agent/pick_model.py; else the picks it names by label, ordinal or title words); the list stays as it is."""
    if not picks:
        return "There are no recommendations yet to ask about: tell me what you are looking for."
    if pointed is None:
        pointed = referenced_picks(message, picks, fallback=False)
    chosen = [p for p in picks if p["item_id"] in pointed] or list(picks)
    lines: list[str] = []
    words = _asked_words(message)
    for pick in chosen:
        item = items.get(pick["item_id"])
        head = f"{pick['label']}. {pick['title']}"
        facts = _facts(item) if item is not None else ""
        lines.append(f"{head}" + (f" ({facts})" if facts else ""))
        if pick.get("reason"):
            lines.append(f"Why I picked it: {pick['reason']}")
        if item is not None and len(chosen) == 1:
            for word in words:
                if _mentions(item, word):
                    lines.append(f"The catalog's description mentions “{word}”.")
                else:
                    lines.append(f"The catalog's description does not mention “{word}”, so I cannot confirm it.")
    for kind in unsupported_constraints(message):
        lines.append(CATALOG_LACKS[kind][0].upper() + CATALOG_LACKS[kind][1:] + ".")
    lines.append("The list is unchanged; say “that's wrong” to dispute a pick, or ask for something else.")
    return "\n".join(lines)
