"""Trust metrics of one rationale, computed on the served pass and on every evaluated one (what a person would check
before believing an explanation):

- copy rate: the share of the rationale's words inside spans of COPY_SPAN or more words copied verbatim from the
  prompt (a model that recites candidate lines explains nothing);
- repetition: a sentence said twice, or a 4-word sequence said REPEAT_TIMES times or more (a loop);
- relational grounding: the share of claims that tie a named candidate to this user through one of its computed
  links (agent/evidence.py) and say nothing the candidate, the history items it is linked to and the request do not
  back, or that say a candidate has no link when it has none; a copied claim never counts;
- coverage: whether the committed top item is named in such a claim.

The old lexical check (agent/claims.py `check_claims`), which counts any echo of catalog text as support, is kept
beside these and reported as "lexical support", named for what it measures.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from agent.claims import BOILERPLATE, Evidence, check_claims, split_claims
from agent.language import stem
from agent.records import Claim, Shown, ShownLink
from tools.catalog import Item
from tools.tokenize import tokenize

COPY_SPAN = 8
"""Words in a row that count as copying: the issue's threshold; 8 words rarely repeat by chance in 2-4 sentences."""
REPEAT_TIMES = 3
MAX_UNBACKED = 0.2
"""Share of a claim's content words its pool may lack and the claim still be true (one word in five: an adjective
of praise the boilerplate list does not know)."""

_WORD = re.compile(r"\w+")
_RELATION_WORDS = frozenset(
    stem(w)
    for w in (
        *("bought", "together", "shopper", "shoppers", "customers", "people", "users", "also", "same", "brand"),
        *("share", "shares", "shared", "sharing", "link", "links", "linked", "asked", "request", "requested"),
        *("match", "matches", "matching", "history", "your", "you", "own", "owned", "made"),
        *(
            "described",
            "common",
            "ties",
            "tied",
            "guess",
            "place",
            "list",
            "item",
            "items",
            "too",
            "more",
            "still",
            "though",
        ),
    )
)
"""Words that state a relation rather than a fact about an item: never "unbacked"."""
_TOGETHER_CUES = frozenset(stem(w) for w in ("bought", "together", "shopper", "shoppers", "customers"))
_HISTORY_CUES = frozenset(stem(w) for w in ("history", "histories", "previous", "past", "earlier"))
"""Words that say the link is to the history: such a claim is true only through a brand, words or together link,
not a request link ("shares "multimeter" with your history item" to a user who only asked for a multimeter)."""
_REQUEST_CUES = frozenset(stem(w) for w in ("asked", "request", "requested"))
"""Words that say the link is to the request: true only through a request link."""
_NEGATIONS = frozenset({"no", "not", "none", "nothing", "guess", "without"})
"""Words of a claim that a candidate has no link ("B has no link to your history"): true exactly when it has none."""


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def copy_rate(rationale: str, prompt: str) -> float:
    """Share of the rationale's words covered by a span of COPY_SPAN+ words that also occurs in the prompt."""
    words = _words(rationale)
    if len(words) < COPY_SPAN:
        return 0.0
    source = _words(prompt)
    grams = {tuple(source[i : i + COPY_SPAN]) for i in range(len(source) - COPY_SPAN + 1)}
    covered = [False] * len(words)
    for i in range(len(words) - COPY_SPAN + 1):
        if tuple(words[i : i + COPY_SPAN]) in grams:
            covered[i : i + COPY_SPAN] = [True] * COPY_SPAN
    return sum(covered) / len(words)


def repeats(rationale: str) -> bool:
    """A sentence said twice, or a 4-word sequence said REPEAT_TIMES+ times."""
    sentences = Counter(" ".join(_words(s)) for s in split_claims(rationale))
    if any(n > 1 for s, n in sentences.items() if s):
        return True
    words = _words(rationale)
    grams = Counter(tuple(words[i : i + 4]) for i in range(len(words) - 3))
    return bool(grams) and max(grams.values()) >= REPEAT_TIMES


def _terms(text: str) -> set[str]:
    return {stem(t) for t in tokenize(text)}


def _item_terms(item: Item) -> set[str]:
    terms = _terms(item.title) | _terms(item.text)
    for value in item.attributes.values():
        for part in [value] if isinstance(value, str) else value:
            terms |= _terms(str(part))
    return terms


def _link_cue(link: ShownLink, claim_terms: set[str], numbers: set[str]) -> bool:
    """Whether a claim states this link: its brand or words, or "bought together" (with the right count if any)."""
    if link["kind"] == "together":
        said_count = not numbers or str(link["count"]) in numbers
        return bool(claim_terms & _TOGETHER_CUES) and said_count
    return any(_terms(w) and _terms(w) <= claim_terms for w in link["words"])


@dataclass(frozen=True)
class Trust:
    """The trust figures of one rationale."""

    copy_rate: float
    repeats: bool
    relational: float | None
    """Share of claims that are relational and true; None when there are no claims."""
    coverage: bool | None
    """Whether the committed top item is named in a relational, true claim; None when nothing was committed."""
    lexical: float | None
    """The old lexical score (share of claims whose words appear somewhere in their evidence)."""
    stopped_repeat: bool = False
    """Whether decoding stopped where the rationale began to repeat itself (agent/ranking.py `explain`): the text
    shown ends before the repeat, so `repeats` is of what a user reads and this is how often the model looped."""


def relational_claims(
    rationale: str, shown: Shown, items: Mapping[str, Item], claims: Sequence[Claim] | None = None
) -> list[tuple[Claim, bool]]:
    """Each claim with whether it ties a candidate to the user through a shown link and says nothing unbacked.

    `claims` are the lexical check's claims of the same rationale (computed here when not given): they carry which
    candidates each claim names.
    """
    if claims is None:
        labelled = {label: items[i] for label, i in zip(shown["labels"], shown["candidate_ids"], strict=True)}
        history = [items[i] for i in shown["history_ids"]]
        users = [t["text"] for t in shown["conversation"] if t["role"] == "user"]
        claims = check_claims(rationale, Evidence(labelled, history, users))
    index = {item_id: n for n, item_id in enumerate(shown["candidate_ids"])}
    request = set().union(*(_terms(t["text"]) for t in shown["conversation"] if t["role"] == "user"))
    prompt_words = shown["prompt"]
    label_terms = {label.lower() for label in shown["labels"]}
    out: list[tuple[Claim, bool]] = []
    for claim in claims:
        text = claim["text"]
        if copy_rate(text, prompt_words) > 0:
            out.append((claim, False))
            continue
        claim_terms = _terms(text)
        numbers = {t for t in tokenize(text) if t.isdigit()}
        good = False
        for item_id in claim["item_ids"]:
            if item_id not in index:
                continue
            links = shown["links"][index[item_id]] if shown["links"] else []
            if not links and _NEGATIONS & set(_words(text)):
                good = True  # says this candidate has no link, and it has none: relational and true
                break
            pool = _item_terms(items[item_id]) | request | _RELATION_WORDS | BOILERPLATE | label_terms
            for link in links:
                for h in link["history"]:
                    pool |= _item_terms(items[h])
            # A number in a history item's name ("E-FFB250N-100") is not a count of shoppers.
            counts = numbers - pool
            pool |= {str(link["count"]) for link in links if link["kind"] == "together"}
            stated = [link for link in links if _link_cue(link, claim_terms, counts)]
            if not stated or not _relation_holds(stated, claim_terms):
                continue
            content = claim_terms - BOILERPLATE - _RELATION_WORDS - label_terms
            unbacked = content - pool
            if not content or len(unbacked) <= MAX_UNBACKED * len(content):
                good = True
                break
        out.append((claim, good))
    return out


def _relation_holds(stated: Sequence[ShownLink], claim_terms: set[str]) -> bool:
    """Whether the links a claim states are of the kind it says: to the history, to the request, or either when
    it names neither ("C is from Neiko, like your Neiko 01407A" says "your" and names the item itself)."""
    kinds = {link["kind"] for link in stated}
    if claim_terms & _HISTORY_CUES and not kinds - {"request"}:
        return False
    return not (claim_terms & _REQUEST_CUES and "request" not in kinds)


def trust(rationale: str, shown: Shown, judged: Sequence[tuple[Claim, bool]], top_item: str | None) -> Trust:
    """Every trust figure of a rationale, from its judged claims (`relational_claims`) and the item committed first."""
    relational = sum(good for _, good in judged) / len(judged) if judged else None
    coverage = None
    if top_item is not None:
        coverage = any(good and top_item in claim["item_ids"] for claim, good in judged)
    lexical = sum(c["supported"] for c, _ in judged) / len(judged) if judged else None
    return Trust(copy_rate(rationale, shown["prompt"]), repeats(rationale), relational, coverage, lexical)
