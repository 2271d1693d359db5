"""The teacher that cannot lie: a deterministic writer that composes a rationale from a candidate's computed links.

Given what the model was shown (`agent.records.Shown`: the labelled candidates in the prior's order, each with its
links to the history and the request, agent/evidence.py) and the item to argue for, it writes 2-4 sentences:

    1. the pick and its strongest link       "Candidate C is from Neiko, like your Neiko 01407A Electronic Digital."
    2. its next link, when it has one        "12 shoppers who bought your ... also bought option C."
    3. a contrast with the strongest other candidate (most links): its own strongest link, or that it has none,
       and that the pick has more links when it does
                                             "Option A also links to you: it shares "caliper" with your ..."

Each sentence says only what a link says, naming the history items by their first title words, so every claim holds
by construction (agent/trust.py checks it like any model's). A pick without links says so instead of inventing one.
Phrasings are drawn from small sets by a seeded generator, so a student learns the links, not one sentence.

It teaches (training/annotate.py `--teacher evidence`) and is the `teacher-rationale` baseline of the evals; it never
writes or rewrites what the served model says.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

from agent.records import Shown, ShownLink
from tools.catalog import Item

NAME_WORDS = 4
"""Title words that name a history item in a sentence ("Neiko 01407A Electronic Digital"): enough to recognise it,
far below the 8-word spans the copy rate counts as recited."""
NAME_TOKENS = 5
"""...and at most this many word tokens as the copy rate counts them: "E-FFB250N-100 16/14-Gauge" is 6 of them, and a
longer name plus the words around it would make an 8-token span of the prompt."""

_REF = ("candidate {l}", "option {l}", "candidate {l}")

_BRAND = (
    "{Ref} is from {brand}, like your {h}.",
    "Like your {h}, {ref} is made by {brand}.",
    "{Ref} shares the brand {brand} with your {h}.",
)
_WORDS = (
    "{Ref} shares {words} with your {h}.",
    "Like your {h}, {ref} is described by {words}.",
    "{Ref} has {words} in common with your {h}.",
)
_TOGETHER = (
    "{n} shoppers who bought your {h} also bought {ref}.",
    "{Ref} was bought with your {h} by {n} shoppers.",
    "Shoppers who had your {h} also bought {ref} ({n} of them).",
)
_TOGETHER_ONE = (
    "One shopper who bought your {h} also bought {ref}.",
    "{Ref} was bought with your {h} by one shopper.",
)
_REQUEST = (
    "{Ref} has {words}, as you asked.",
    "You asked for {words}, and {ref} has it.",
)
_CONTRAST = (
    "{Ref} also links to you: {reason}.",
    "{Ref} has a link too, as {reason}.",
)
_CONTRAST_NONE = (
    "{Ref} has no link to your history or request.",
    "Nothing ties {ref} to your history or request.",
)
_NO_LINKS = (
    "No candidate has a link to your history or request, so {ref} is only a guess.",
    "None of the candidates links to your history or request, so {ref} is a guess.",
)
_PICK_NO_LINKS = (
    "{Ref} has no link to your history or request, so this pick is a guess.",
    "Nothing ties {ref} to your history or request, so it is a guess.",
)
_FEWER = (", but {ref2} has more links to you.", ", though {ref2} has more of them.")


_TOKEN = re.compile(r"\w+")


_ABBREVIATION = re.compile(r"(?:[A-Za-z]{1,4}\.)+")


def _clean(word: str) -> str:
    """A title word fit for the middle of a sentence: no quotes, and "u.s." as "us" (a full stop inside a name
    would end the sentence for the claim splitter)."""
    word = word.strip("\"'“”()[]!?")
    return word.replace(".", "") if _ABBREVIATION.fullmatch(word) else word.rstrip(".")


_FILLER = frozenset({"the", "and", "for", "with", "pack", "set", "new"})


def _name(item: Item) -> str:
    words: list[str] = []
    tokens = 0
    title = item.title.split()
    if title and title[0].lower() == "the":
        title = title[1:]  # "your the children's place baby"
    for word in (w for w in map(_clean, title) if w):
        if len(words) == NAME_WORDS:
            break
        tokens += len(_TOKEN.findall(word))
        if words and tokens > NAME_TOKENS:
            break
        words.append(word)
    return " ".join(words).rstrip(",;:-") or item.item_id


class _Names:
    """History items by name: in full the first time, by their first word after ("your Osborn item"), so that
    three sentences about one item do not repeat a 4-word sequence three times (a loop, to the trust check)."""

    def __init__(self, items: Mapping[str, Item], *, said: Iterable[str] = ()) -> None:
        self.items = items
        self.said: set[str] = set(said)

    def __call__(self, item_id: str) -> str:
        item = self.items[item_id]
        if item_id in self.said:
            tokens = _TOKEN.findall(item.title)
            word = next((t for t in tokens if t.isalpha() and len(t) > 2 and t.lower() not in _FILLER), "")
            return f"{word} item" if word else "item"
        self.said.add(item_id)
        return _name(item)


def _quoted(words: Sequence[str]) -> str:
    shown = [f'"{w}"' for w in words]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _history(link: ShownLink, names: _Names) -> str:
    said = list(dict.fromkeys(names(h) for h in link["history"][:2] if h in names.items))
    if len(said) == 1 and len(link["history"][:2]) == 2 and said[0].endswith(" item"):
        return said[0] + "s"  # two items already named, by the same first word: "your HATCHBOX items"
    if len(said) == 2 and not any(name.endswith(" item") for name in said):
        # "your carhartt men's weathered duck and washed duck": the shared head once, or a third mention of
        # "carhartt men's" would be a 4-word loop to the trust check.
        first, second = said[0].split(), said[1].split()
        common = 0
        while common < min(len(first), len(second)) - 1 and first[common].lower() == second[common].lower():
            common += 1
        return f"{said[0]} and {' '.join(second[common:])}" if common else " and your ".join(said)
    return " and your ".join(said)


def _phrasings(link: ShownLink, names: _Names) -> tuple[Sequence[str], dict[str, str]] | None:
    """The templates that can state `link` and the fields they are filled with; None for a link that names no shown
    item."""
    kind = link["kind"]
    h = _history(link, names)
    if kind != "request" and not h:
        return None
    if kind == "brand":
        return _BRAND, {"brand": link["words"][0], "h": h}
    if kind == "words":
        return _WORDS, {"words": _quoted(link["words"]), "h": h}
    if kind == "together":
        return (_TOGETHER if link["count"] != 1 else _TOGETHER_ONE), {"n": str(link["count"]), "h": h}
    if kind == "request" and link["words"]:
        return _REQUEST, {"words": _quoted(link["words"]), "h": h}
    return None


def _sentence(link: ShownLink, ref: str, names: _Names, rng: random.Random) -> str | None:
    """One sentence stating `link` of the candidate called `ref`; None for a link that names no shown item."""
    found = _phrasings(link, names)
    if found is None:
        return None
    templates, fields = found
    return _fill(rng.choice(templates), ref, **fields)


def _reason(link: ShownLink, names: _Names) -> str | None:
    """A link as a clause for the contrast sentence ("it shares "caliper" with your Neiko ...")."""
    h = _history(link, names)
    kind = link["kind"]
    if kind == "brand" and h:
        return f"it is from {link['words'][0]} like your {h}"
    if kind == "words" and h:
        return f"it shares {_quoted(link['words'])} with your {h}"
    if kind == "together" and h:
        return f"it was bought with your {h} by {link['count']} shopper{'s' if link['count'] != 1 else ''}"
    if kind == "request" and link["words"]:
        return f"it has {_quoted(link['words'])} as you asked"
    return None


def _fill(template: str, ref: str, **fields: str) -> str:
    text = template.format(ref=ref, Ref=ref[0].upper() + ref[1:], **fields)
    return text[0].upper() + text[1:]


def write_rationale(shown: Shown, pick: str, items: Mapping[str, Item], rng: random.Random) -> str:
    """2-4 sentences arguing for the shown candidate `pick` from its links, contrasted with the first other candidate
    in the shown order. ValueError when `pick` was not shown."""
    index = shown["candidate_ids"].index(pick)
    links = shown["links"][index] if shown["links"] else []

    def ref(i: int) -> str:
        return rng.choice(_REF).format(l=shown["labels"][i])

    names = _Names(items)
    own = [s for s in (_sentence(link, ref(index), names, rng) for link in links[:2]) if s]
    if not own and not any(shown["links"] or []):
        return _fill(rng.choice(_NO_LINKS), ref(index))
    sentences = own[:2] if own else [_fill(rng.choice(_PICK_NO_LINKS), ref(index))]
    others = [i for i in range(len(shown["candidate_ids"])) if i != index]
    if others:
        # The strongest rival: the other candidate with the most links, the earliest shown on a tie (the prior's
        # order when serving).
        other = max(others, key=lambda i: (len(shown["links"][i]) if shown["links"] else 0, -i))
        other_links = shown["links"][other] if shown["links"] else []
        reasons = [r for r in (_reason(link, names) for link in other_links[:1]) if r]
        if reasons:
            contrast = _fill(rng.choice(_CONTRAST), ref(other), reason=reasons[0])
            if len(own) > len(other_links):
                pick_ref = ref(index)
                contrast = contrast.rstrip(".") + rng.choice(_FEWER).format(ref2=pick_ref)
            sentences.append(contrast)
        else:
            sentences.append(_fill(rng.choice(_CONTRAST_NONE), ref(other)))
    return " ".join(sentences)


@dataclass(frozen=True)
class Choices:
    """What the writer could say about the shown candidates, each sentence true by construction, in the shape of
    its rationales: one or two sentences for the pick (by two different links), then one contrast with another
    candidate."""

    own: dict[str, list[list[str]]]
    """Label -> per link of that candidate, the sentences stating it: in each phrasing, under each way of calling
    the candidate and of naming its history items (in full, or by first word as on a second mention); for a
    candidate without links, one group: that it has none."""
    contrast: dict[str, list[str]]
    """Label -> the contrast sentences about that candidate: any of its links as a clause, or that it has none."""

    def all(self) -> list[str]:
        groups = [g for per in self.own.values() for g in per] + list(self.contrast.values())
        return sorted({s for g in groups for s in g})


def rationale_choices(shown: Shown, items: Mapping[str, Item]) -> Choices:
    """Every sentence the writer could say about the candidates of `shown` (agent/claim_grammar.py decodes the
    served rationale over them: the model chooses what to say)."""
    own: dict[str, list[list[str]]] = {}
    contrast: dict[str, list[str]] = {}
    links_of = shown["links"] or [[] for _ in shown["candidate_ids"]]
    anything = any(links_of)
    for label, links in zip(shown["labels"], links_of, strict=True):
        refs = sorted({form.format(l=label) for form in _REF})
        if not links:
            own[label] = [sorted(_fill(t, r) for r in refs for t in (_PICK_NO_LINKS if anything else _NO_LINKS))]
            contrast[label] = sorted(_fill(t, r) for r in refs for t in _CONTRAST_NONE)
            continue
        groups: list[list[str]] = []
        against: set[str] = set()
        for link in links:
            stated: set[str] = set()
            # Each of its (at most two) history items named in full or, as on a second mention, by first word.
            named = link["history"][:2]
            for said in (set(c) for r in range(len(named) + 1) for c in combinations(named, r)):
                found = _phrasings(link, _Names(items, said=said))
                reason = _reason(link, _Names(items, said=said))
                for ref in refs:
                    if found is not None:
                        templates, fields = found
                        stated.update(_fill(t, ref, **fields) for t in templates)
                    if reason is not None:
                        against.update(_fill(t, ref, reason=reason) for t in _CONTRAST)
            if stated:
                groups.append(sorted(stated))
        own[label] = groups
        contrast[label] = sorted(against)
    return Choices(own, contrast)
