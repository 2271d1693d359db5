"""What a disputing user message is about: an item, a ruled-out attribute, a rationale claim, or an item they own.

Deterministic, like `agent.profile`: the default model (SmolLM2-135M) cannot be trusted to parse a complaint, and
`revise` must record the same negative constraint for the same message on every run.

Rules, in order (the first that applies decides):
1. Explicit arguments (a UI "That's wrong" button) win: `claim` makes the dispute a claim dispute about that text;
   `item_id` (one of the picks) becomes the only disputed item whatever the kind.
2. No picks: kind "item" with no items (the caller says there is nothing to revise).
3. Owned: "already" or "previously" with own/have/got/bought/purchased/ordered/use ("I already own that", "I have
   that one already", "already bought it"), or "I own" -> kind "owned", items = the referenced picks.
4. Attribute: the message rules something out (`profile.extract_preferences`: "I said no leather", "without
   leather") or an audience ("I said not for kids") -> kind "attribute", attribute = the first ruled-out phrase
   (none for an audience), items = the picks whose item contains any ruled-out phrase or is for the excluded
   audience (`profile.violation`; possibly none). A statement about a pick followed by a wish ("C is for women, I
   need men's") is an attribute dispute too, about the pick named (checked after claims, below).
5. Claim: the message negates a property or suitability ("that's not for beginners", "that is not waterproof", "it
   isn't stainless") or calls something false/untrue/incorrect/misleading, and a claim of the rationale shares a word
   with it -> kind "claim", claim = the claim sharing the most words (plural-tolerant; ties: the claim about a
   referenced pick, then the earlier claim), items = that claim's picks, else the referenced picks.
6. Otherwise an item is rejected ("not that one", "I don't like B", "wrong") -> kind "item", items = the referenced
   picks.

A referenced pick is found, in this order, by candidate label ("B", "option C"; capitals, as the prompt shows them,
via `claims.referenced_labels`, which knows "A good choice" from "A is wrong", in the first 2,000 characters; in
lower case only in a message of at most 6 words, as texting types it: "kk b pls ty", `claims.texted_labels`), by
ordinal ("the second one", "the last", "#2"), by the pick whose title shares the most words with the message ("the
caliper"); failing all, the top pick. Disputed items are always among the picks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Literal

from agent.claims import referenced_labels, texted_labels
from agent.item_kind import head_word
from agent.language import (
    COMPLAINT_WORDS,
    FILLER_WORDS,
    OWNED_BY_NOW,
    PICK_LEAD,
    asking_clauses,
    claimed_property,
    find_negations,
    pick_statements,
    prepare,
    read_words,
    singular,
)
from agent.profile import Vocabulary, audience_words, extract_preferences, violation
from agent.state import Claim, Dispute, Pick, Profile, empty_profile
from tools.catalog import Item
from tools.tokenize import tokenize

DisputeKind = Literal["item", "attribute", "claim", "owned"]

_ALREADY = re.compile(r"\b(?:already|previously)\b")
_OWN_VERB = re.compile(
    r"\b(?:own|owned|have|has|had|got|bought|purchased|ordered|use|using|wear|wearing|worn|in (?:my|our) \w+)\b"
)
# "I own", and "I have it" / "we have that one" (issue 18's "I've worn the lacoste polo for ages, I have it").
_I_OWN = re.compile(r"\b(?:i|we)\s+(?:already\s+)?own\b|\b(?:i|we) (?:already )?have (?:it|that|this|them|those)\b")
_I_BOUGHT = re.compile(
    r"\b(?:i|we|i'?ve|we'?ve)\s+(?:already\s+)?(?:bought|got|ordered|purchased|picked up|have had|had|"
    r"been using|been wearing|worn|used)\b|^\s*picked up\b"
)
_FALSE = re.compile(r"\b(?:false|untrue|incorrect|inaccurate|misleading|nonsense)\b")
_ORDINALS = {
    **{word: n for n, word in enumerate(("first", "second", "third", "fourth", "fifth"), start=1)},
    **{word: n for n, word in enumerate(("sixth", "seventh", "eighth", "ninth", "tenth"), start=6)},
    **{f"{n}{suffix}": n for n, suffix in zip(range(1, 11), ("st", "nd", "rd", *["th"] * 7), strict=True)},
    "top": 1,
    "last": -1,
    "middle": 99,  # _MIDDLE: resolved against the number of picks ("the middle one" of three is B)
}
_MIDDLE = 99
_ORDINAL = re.compile(
    r"\b(the\s+|your\s+|my\s+)?(" + "|".join(_ORDINALS) + r")\b"
    # the set's seventh round: "the third garment", "the first instrument", "the last pair"
    r"(\s+(?:one|option|pick|item|choice|suggestion|recommendation|product|result|garment|instrument|pair|piece|"
    r"model|unit|device|tool)s?\b)?"
)
# "anything B-ish but in olive?", "something C-esque, just waterproof" (the set's tenth round): the label itself
_LABEL_SUFFIX = re.compile(r"\b([A-Z])-(?:ish|esque)\b")
_NUMBERED = re.compile(r"(?:#|\b(?:number|option|pick|item|choice)\s*#?)([0-9]{1,2})\b")
# claims.referenced_labels takes time quadratic in its input (about 26 s for 100,000 characters, under 0.05 s for
# 2,000), so labels are looked for in the message's first 2,000 characters; a complaint names its item early.
_LABEL_WINDOW = 2000
_NEXT_WORD = re.compile(r"\s*([a-z0-9]+)")
# Words of a complaint that say nothing about which item or claim is meant.
_NOISE = FILLER_WORDS | frozenset(
    {
        *("already", "previously", "own", "owned", "got", "bought", "purchased", "ordered", "wrong", "true", "false"),
        *("untrue", "incorrect", "inaccurate", "misleading", "nonsense", "claim", "say", "says", "saying", "dislike"),
        *("hate", "first", "second", "third", "fourth", "fifth", "last", "top", "pick", "choice", "suggestion"),
        *("recommendation", "number", "suitable"),
    }
)


def find_dispute(
    message: str,
    picks: Sequence[Pick],
    claims: Sequence[Claim],
    items: Mapping[str, Item],
    *,
    item_id: str | None = None,
    claim: str | None = None,
    kind: DisputeKind | None = None,
) -> Dispute:
    """What `message` disputes about the previous turn's `picks` (best first) and rationale `claims`.

    `items` maps item ids to catalog items (for attribute disputes; a pick missing from it is judged by its title).
    `item_id` and `claim` are explicit choices, e.g. from a "That's wrong" button. `kind` is the kind when something
    else decided it (the learned classifier, agent/dispute_kind_model.py): the rules of that kind then read the rest.
    Raises ValueError when `item_id` is not one of the picks or `claim` is blank. See the module docstring for the
    rules.
    """
    pick_ids = list(dict.fromkeys(pick["item_id"] for pick in picks))
    if item_id is not None and item_id not in pick_ids:
        shown = ", ".join(pick_ids) or "none"
        raise ValueError(f"item {item_id!r} is not one of the recommended items ({shown}), so it cannot be disputed")
    if claim is not None and not claim.strip():
        raise ValueError("the disputed claim is empty")
    if not picks:
        return _dispute(message, "item", [])
    explicit = [item_id] if item_id is not None else None
    text = prepare(message)

    if claim is not None:
        matching = [c for c in claims if c["text"].strip() == claim.strip()]
        about = _claim_items(matching[0], pick_ids) if matching else []
        # A claim about no pick (e.g. about the user's history) rejects nothing: no unrelated item is punished.
        return _dispute(message, "claim", explicit or about, claim=claim)

    if (
        kind == "claim"
        and (_SAID_NO.search(text) or _RULE_IGNORED.search(text))
        and corrected_claim(message, picks) is None
    ):
        # "I said no stainless" is the guide's attribute dispute; the learned kind read it as a claim once the claim
        # disputes about stainless steel ("B isn't stainless steel") joined its development lines (the agent then
        # ruled nothing out and committed stainless items again).
        kind = "attribute"
    if kind == "attribute" and _MISTOOK.match(text):
        kind = "claim"  # "you mistook a tunic for a dress" names what a pick was called, as "X is not a Y" does
    if kind is not None and _IN_HISTORY.search(text):
        kind = "owned"  # "B is already in my order history" (the set's sixth round: read as an item dispute)
    if kind == "owned" and _RETURNED.search(text) and not _IN_HISTORY.search(text):
        # "sent C back twice already", "I returned that exact jacket within a week, so nope": the user had it and
        # no longer does, a rejection of the pick (the set's ninth round, 3 development lines read as owned)
        kind = "item"
    if kind is not None:
        return _of_kind(kind, message, picks, claims, items, explicit)

    owned = (_ALREADY.search(text) and _OWN_VERB.search(text)) or _I_OWN.search(text)
    if owned or (_I_BOUGHT.search(text) and referenced_picks(message, picks, fallback=False)):
        return _dispute(message, "owned", explicit or referenced_picks(message, picks))

    corrected = corrected_claim(message, picks)
    if corrected is not None and corrected[1]:
        # "a pH meter is not a multimeter", "B is a surgical mask, not an N95": the picks named, else those that are
        # what the user rules out, and when none is (the list moved on since), none: rejecting the top pick by
        # default punished a thermal paste for a pH pen. ("C isn't waterproof" rules nothing out: it disputes a
        # claim of the rationale, below.)
        are_it = _picks_that_are(picks, items, corrected[1])
        ids = explicit or corrected[2] or are_it
        return _dispute(message, "claim", ids, claim=_LEAD_RE.sub("", prepare(message)).strip())

    labels = [pick["label"] for pick in picks]
    profile = extract_preferences(message, labels=labels)
    if profile["unwanted"] or profile.get("exclude_audience"):
        violating = _violating(picks, items, profile)
        ids = explicit if explicit is not None else list(dict.fromkeys(violating))
        # "I said not for kids": the excluded audience is the profile's filter, not a word to rule out.
        attribute = profile["unwanted"][0] if profile["unwanted"] else None
        return _dispute(message, "attribute", ids, attribute=attribute)

    if _FALSE.search(text) or any(not n.ruled_out and _content(n.words) for n in find_negations(message)):
        referenced = referenced_picks(message, picks)
        disputed = _best_claim(message, claims, referenced)
        if disputed is not None:
            ids = explicit or _named_in_claim(message, picks, _claim_items(disputed, pick_ids)) or referenced
            return _dispute(message, "claim", ids, claim=disputed["text"])

    if any(pick_statements(read_words(message), labels)) and (profile["wanted"] or profile.get("audience")):
        # "C is for women, I need men's", "B is plastic and I wanted glass": what a pick is, then what is wanted
        # instead: the property is re-asserted, about the pick named.
        return _dispute(message, "attribute", explicit or referenced_picks(message, picks))

    return _dispute(message, "item", explicit or referenced_picks(message, picks))


def _violating(picks: Sequence[Pick], items: Mapping[str, Item], profile: Profile) -> list[str]:
    """The picks that have what the profile rules out (a ruled-out word or an excluded audience)."""
    return [pick["item_id"] for pick in picks if violation(_item_of(pick, items), profile) is not None]


def _picks_that_are(picks: Sequence[Pick], items: Mapping[str, Item], words: list[str]) -> list[str]:
    """The picks that are what a correction rules out ("a pH meter is not ..."): those whose title has any of its
    words. What a pick is is in its title; a description that mentions a pH meter (the Uni-T clamp meter's does)
    does not make the clamp meter one, and removing it "because you disputed 'a pH meter is not a multimeter'"
    dropped the one true multimeter left (the README's traps transcript)."""
    ruled = empty_profile()
    ruled["unwanted"] = words
    titles = {p["item_id"]: Item(item_id=p["item_id"], title=_item_of(p, items).title, text="") for p in picks}
    return [pick["item_id"] for pick in picks if violation(titles[pick["item_id"]], ruled) is not None]


def _of_kind(
    kind: DisputeKind,
    message: str,
    picks: Sequence[Pick],
    claims: Sequence[Claim],
    items: Mapping[str, Item],
    explicit: list[str] | None,
) -> Dispute:
    """The dispute of a given kind, read by that kind's rules above: an owned or item dispute is about the picks the
    message names; an attribute dispute about the picks that have what it rules out; a claim dispute about what a
    correction says the picks are, else the rationale's claim it shares most words with, else the message itself
    (about the picks it names, else the top pick, as the rules read "that's not for beginners")."""
    if kind in ("owned", "item"):
        return _dispute(message, kind, explicit or referenced_picks(message, picks))
    if kind == "attribute":
        profile = extract_preferences(message, labels=[pick["label"] for pick in picks])
        if not profile["unwanted"] and not profile.get("exclude_audience"):
            return _dispute(message, "attribute", explicit or referenced_picks(message, picks))
        violating = _violating(picks, items, profile)
        attribute = profile["unwanted"][0] if profile["unwanted"] else None
        return _dispute(message, "attribute", explicit or list(dict.fromkeys(violating)), attribute=attribute)
    stripped = _LEAD_RE.sub("", prepare(message)).strip() or message.strip()
    corrected = corrected_claim(message, picks)
    if corrected is not None:
        are_it = _picks_that_are(picks, items, corrected[1])
        return _dispute(message, "claim", explicit or corrected[2] or (are_it if corrected[1] else []), claim=stripped)
    referenced = referenced_picks(message, picks)
    disputed = _best_claim(message, claims, referenced)
    if disputed is not None:
        about = _claim_items(disputed, [pick["item_id"] for pick in picks])
        ids = explicit or _named_in_claim(message, picks, about) or referenced
        return _dispute(message, "claim", ids, claim=disputed["text"])
    return _dispute(message, "claim", explicit or referenced_picks(message, picks), claim=stripped)


def _named_in_claim(message: str, picks: Sequence[Pick], about: list[str]) -> list[str]:
    """The picks of a disputed claim that the message names by label or ordinal, when it names any of them, else
    all of them. One rationale sentence often describes every pick ("A is the Fluke 323 true-RMS clamp meter, B is
    the Uni-T UT202A, a true RMS meter, and C is FLIR's CM174"): "check again, B isn't true RMS" disputes B, and
    removed all three (4 development claim disputes of the fifth session)."""
    named = set(referenced_picks(message, picks, fallback=False, by_title=False)) & set(about)
    return [item_id for item_id in about if item_id in named] or about


_LEAD = (
    r"(?:(?:(?:that'?s |that is |it'?s |this is |the explanation is |you are |you're )?(?:wrong|not true|false|"
    r"incorrect|nonsense|off|not right|not accurate|inaccurate|mistaken)|come on|no|nope|hold on|wait|"
    # formal and non-native leads (the set's seventh round): "For the record, item B is not autoclavable", "I must
    # correct your description: ...", "please note that ...", "is mistake in explanation, ..."
    r"for the record|please note(?: that)?|note that|to be clear|just so we are clear|correction|"
    # the set's eighth round: "sorry, but ...", dictated "okay so ...", "um so ...", "hey so ..."
    r"sorry(?:,? but)?|(?:okay|ok|um|uh|hey|so)(?: so| uh)?|"
    r"(?:i must|let me|allow me to|i need to|i have to) correct [^:,]{0,30}|"
    r"(?:there )?is (?:a )?mistake in [a-z ]{0,20}|"
    # hedges before the claim ("pretty sure B isn't stainless steel", "correct me if I'm wrong, but the last one is
    # not latex-free"): 4 development claim disputes of the fourth session read the hedge as the pick
    r"(?:i'?m |i am )?(?:pretty|fairly|quite|almost) (?:sure|certain)(?: that)?|correct me if i'?m wrong|"
    r"i (?:could|may|might) be wrong|unless i'?m mistaken|if i'?m not mistaken|fyi|just so you know|i think|"
    r"i believe)[\s,:;!.-]*(?:but )?){0,2}"
)
# What may follow a claim: "..., the explanation is wrong", "... fyi".
_TAIL = (
    r"(?:[\s,;.!-]*(?:(?:so |and )?(?:the explanation|your explanation|your text|your description|your summary|that|it|"
    r"you)(?: is|'s| are|'re| write| wrote| said)? (?:wrong|incorrect|not right|mistaken)|fyi|btw|lol|"
    # a source or a pointer after the claim: "contrary to your summary", "I check the label of this"
    r"contrary to (?:your|the) [a-z ]{1,20}|despite what you (?:wrote|said)|(?:i|we) (?:check|checked|read|looked at) "
    r"[a-z ]{1,30}|come on|"
    # dictated punctuation and what follows it ("... not waterproof period your description is wrong")
    r"(?:period|full stop|new line)\b[^.!?]*))*[\s.!?]*$"
)
_LEAD_RE = re.compile(rf"^{_LEAD}")
_ART = r"(?:(?:a|an|the|some|only) )?"
# "a hoodie is not a jacket"; "a tank top doesn't count as a t-shirt" says the same (3 development phrasings).
_IS_NOT = re.compile(
    rf"^{_LEAD}(?P<x>[^,.;!?]+?) (?:(?:is|are|was|were|s) (?:not|(?P<no>no))|(?:does|do) not (?:count|qualify) as) "
    rf"(?:even )?(?P<art>{_ART})(?P<y>[^,.;!?]+?){_TAIL}"
)
# "you called C test tubes but it's a rack", "you described A as a jean, but it's a legging", "you said C is a
# pipette, it's actually a pump": Y (what the rationale said) is still wanted, X (what the pick is) is ruled out.
_ITS = (
    r",? (?:but |and |when |yet |while )?(?:it|that|they|this|these)(?: |')(?:is|s|are|re)"
    r"(?: actually| really| just| only)?"
)
_CALLED = re.compile(
    rf"^{_LEAD}(?:you )?(?:called|call|calling|described|describe|labell?ed|listed) (?P<p>[^,.;!?]+?) (?:as )?{_ART}"
    rf"(?P<y>[^,.;!?]+?){_ITS} {_ART}(?P<x>[^,.;!?]+?)[\s.!?]*$"
)
_SAYS = (
    r"(?:you (?:said|say|claimed|claim|wrote|write|told me)|(?:the|your) (?:explanation|description|rationale|text) "
    r"(?:says|said|claims|claimed))"
)
_SAID = re.compile(
    rf"^{_LEAD}{_SAYS} (?:that )?(?P<p>[^,.;!?]+?) (?:is|are|was|were|s) "
    rf"{_ART}(?P<y>[^,.;!?]+?){_ITS} {_ART}(?P<x>[^,.;!?]+?)[\s.!?]*$"
)
# "you wrote that C is waterproof, it isn't", "your explanation says C is 100% cotton, it's not": read as "C is not
# waterproof".
_SAID_NOT = re.compile(
    rf"^{_LEAD}{_SAYS} (?:that )?(?P<p>[^,.;!?]+?) (?:is|are|was|were|s) "
    rf"(?P<y>{_ART}[^,.;!?]+?){_ITS} (?:not|no)(?: at all)?[\s.!?]*$"
)
# "you mistook a tunic for a dress", "looks like you've mistaken a hydrometer for a refractometer": the pick that is X
# was called Y (the set's seventh round; read as "X is not a Y").
_MISTOOK = re.compile(
    rf"^{_LEAD}(?:[a-j]\?\s*)?(?:(?:it )?(?:looks|seems) like |i think )?you(?:'ve| have)? "
    r"(?:mistook|mistaken|confused) "
    rf"{_ART}(?P<x>[^,.;!?]+?) (?:for|with) {_ART}(?P<y>[^,.;!?]+?)(?: there| here)?{_TAIL}"
)
# "C isn't waterproof, it's water resistant", non-native "A is not stainless steel, is plastic": Y (what the rationale
# said) is wanted, X (what the pick is) ruled out; the guide's shape, read by no rule before the set's seventh round.
_ISNT_Y_ITS_X = re.compile(
    rf"^{_LEAD}(?P<p>[^,.;:!?]+?) (?:is|are|was|were|s) not {_ART}(?P<y>[^,.;:!?]+?)(?:{_ITS}|,? is) "
    rf"{_ART}(?P<x>[^,.;!?]+?){_TAIL}"
)
# "calling a hoodie a jacket is wrong", "calling a cylinder a beaker is a stretch": the pick that is X was called Y.
_CALLING = re.compile(
    rf"^{_LEAD}(?:calling|to call) {_ART}(?P<x>[^,.;!?]+?) (?:a|an|the) (?P<y>[^,.;!?]+?) (?:is|was|s) (?:just )?"
    r"(?:wrong|incorrect|a stretch|misleading|not right|nonsense|silly|ridiculous|a joke|false)[\s.!?]*$"
)
_IS_X_NOT_Y = re.compile(
    # no colon inside: "that's incorrect: A isn't PLA" is a lead and a claim, not "that" is "incorrect: a is"
    # "the last one holds 250 ml, not 500 ml", "B measures 6 inch, not 12 inch" (the set's sixth round)
    rf"^{_LEAD}(?P<p>[^,.;:!?]+?)(?: is| are| s|'s| holds| has| measures| weighs| comes in| fits) {_ART}"
    rf"(?P<x>[^,.;:!?]+?),? (?:and )?not {_ART}"
    r"(?P<y>[^,.;!?]+?)[\s.!?]*$"
)
# "B is more of a shirt than a jacket", "the second one's more a borescope than a microscope tbh": what the pick is
# (ruled out) and what the rationale said it was (still wanted); 4 development claim disputes of the fifth session.
_MORE_X_THAN_Y = re.compile(
    # "more of a", "more like a", "more a": "A is more comfortable than B" compares, it corrects nothing
    rf"^{_LEAD}(?P<p>[^,.;:!?]+?)(?: is| are| s|'s) (?:really |actually |basically )?(?:more (?:of |like )?|closer to )"
    rf"(?:a|an|some) (?P<x>[^,.;:!?]+?) than {_ART}(?P<y>[^,.;!?]+?)(?:[\s,]+(?:tbh|imo|honestly|really))?{_TAIL}"
)
_DOES_NOT = re.compile(
    rf"^{_LEAD}(?P<x>[^,.;!?]+?) (?:(?:(?:does|do) )?not (?:even )?(?:include|have|come with|contain)|"
    r"(?:has|have) no|lacks) "
    rf"{_ART}(?P<y>[^,.;!?]+?){_TAIL}"
)
_POINTER = re.compile(
    r"^(?:it|that|this|they|those|these|(?:the )?(?:first|second|third|1st|2nd|3rd|last|middle|top)(?: [a-z-]+)?|"
    # "the USB one is not even close to 200 MHz", "that bel-art one": a pick named by a word of its own
    r"(?:the|that|this) [a-z0-9-]+(?: [a-z0-9-]+)? ones?|"
    r"(?:the |item |option |pick |choice )?[a-j])$"
)


_SAID_NO = re.compile(r"\b(?:i|we) (?:said|asked for|told you|wanted|want|need) no\b")
# "you ignored the no-wool part", "you overlooked the bit where I said nothing with bluetooth": the user's rule, broken
_RULE_IGNORED = re.compile(
    r"\b(?:ignored|ignoring|skipped|overlooked|forgot|forgotten|missed)\b[^.!?]*\b(?:no|nothing|without)[ -]"
)
_RETURNED = re.compile(
    r"\b(?:returned|return(?:ing)? (?:it|them|that|this)|(?:sent|send|shipped|ship|took|take|brought|bring) "
    r"(?:[a-z0-9']{1,20} ){0,3}?back)\b"
)
_IN_HISTORY = re.compile(
    r"\b(?:order|purchase|purchasing|buying) history\b|\balready (?:have|own|owns|got)\b|"
    # ordered and on its way is owned (the set's ninth round): "already ordered C last night", "B's already on the
    # PO", "A is already on its way to me", "tracking says out for delivery"
    rf"\b(?:{OWNED_BY_NOW}|already on the po|out for delivery)\b|"
    r"\balready (?:lives|sits|is|lies) (?:on|in) (?:my|our)\b|"
    r"\balready in (?:my|our) (?:closet|wardrobe|drawer|lab|shop|kit|toolbox|collection|house|home)\b"
)


def _named_by(subject: str, picks: Sequence[Pick]) -> list[str]:
    """The picks a correction's subject names: by label or ordinal ("the second one"), else those whose title has
    every word of it ("a leather belt" -> "Gatorback Leather Tool Belt"). One shared word is not enough: "a pH meter"
    named the Uni-T "Clamp Meter" by "meter", and the revision removed the one multimeter left."""
    if not picks:
        return []
    pointed = referenced_picks(subject, picks, fallback=False, by_title=False)
    words = _content(subject)
    return pointed or [p["item_id"] for p in picks if words and words <= _content_of(p["title"])]


def corrected_claim(message: str, picks: Sequence[Pick]) -> tuple[list[str], list[str], list[str]] | None:
    """(wanted, ruled out, picks meant) of a correction: "a pH meter is not a multimeter" rules out pH meters and
    still wants a multimeter; "C isn't waterproof" wants waterproof, about C; "B is a surgical mask, not an N95
    respirator" rules out surgical masks and wants an N95 respirator; "C doesn't include slides" wants slides.
    None when the message is not one of these shapes.

    A correction may come after a clause of its own ("check again, B isn't true RMS", "per the listing, the last
    one isn't sherpa lined", "thanks for these! small thing: B isn't machine washable"): when the whole message is no
    correction, each clause suffix is tried, the longest first. The leads listed in `_LEAD` covered a few such
    clauses one by one; 4 development claim families of the fourth and fifth sessions (`check-again-nth-isnt`,
    `per-source-nth-isnt`) still lost their wish to a lead no list had."""
    text = _NEITHER.sub(r"\1 not \2 or ", prepare(message[:_LABEL_WINDOW]).strip())
    text = _UNAPOSTROPHED.sub(r"\1 not", _DICTATED.sub("", text))  # "the first one isnt non-iron"
    found = _corrected_text(text, picks)
    if found is not None:
        return found
    for clause in _CLAUSE_BREAK.finditer(text):
        found = _corrected_text(text[clause.end() :], picks)
        if found is not None:
            return found
    return None


_TASTE = re.compile(r"^(?:really |quite |exactly |at all )?(?:my|our|his|her|their|your)\b")
_UNAPOSTROPHED = re.compile(r"\b(is|are|was|were|does|do|did|has|have)nt\b")
_CLAUSE_BREAK = re.compile(r"[,:;.!?]+\s+|\s+[-\u2013\u2014]+\s+")


def _corrected_text(text: str, picks: Sequence[Pick]) -> tuple[list[str], list[str], list[str]] | None:
    """`corrected_claim` of a prepared text, as a whole."""
    subject, ruled_out, wanted = None, None, None
    if (found := _CALLING.match(text)) or (found := _MISTOOK.match(text)):
        ruled_out, wanted = claimed_property(found["x"]), claimed_property(found["y"])
        return [wanted], [ruled_out], _named_by(ruled_out, picks)
    if found := _SAID_NOT.match(text):
        return corrected_claim(f"{found['p']} is not {found['y']}", picks)
    if (
        (found := _IS_X_NOT_Y.match(text))
        or (found := _ISNT_Y_ITS_X.match(text))
        or (found := _MORE_X_THAN_Y.match(text))
        or (found := _CALLED.match(text))
        or (found := _SAID.match(text))
    ):
        subject, ruled_out, wanted = found["p"], found["x"], found["y"]
    elif (found := _IS_NOT.match(text)) or (found := _DOES_NOT.match(text)):
        subject, wanted = found["x"], found["y"]
        # "a windbreaker is no rain jacket" tells two kinds apart as "is not a" does
        tells_kinds_apart = bool(found.groupdict().get("art") or found.groupdict().get("no"))
        # "the Littmann isn't a cardiology stethoscope" names the pick, "a hoodie is not a jacket" a kind
        definite = not re.match(r"(?:a|an|some) ", subject.strip())
        if (definite or not tells_kinds_apart) and picks and _names_pick(subject, picks):
            # "Krazy Glue isn't waterproof": a pick named by its brand or kind, not a thing to rule out (with an
            # article, "a hoodie is not a jacket" tells two kinds apart).
            subject = "it"
            about_named = referenced_picks(found["x"], picks, fallback=False)
            corrected = corrected_claim(f"it is not {wanted}", picks)
            if corrected is not None:
                return corrected[0], corrected[1], about_named
    if wanted is None or subject is None:
        return None
    subject = _reported_pick(re.sub(r"^(?:a|an|the|some) ", "", subject.strip()))
    wanted = claimed_property(wanted)
    ruled_out = claimed_property(ruled_out) if ruled_out is not None else None
    if not _names_a_thing(wanted) or _POINTER.match(wanted) or _TASTE.match(wanted):
        # "B is not what I want", "... not for kids", "A is more of a jacket than B", "B is not my style" (a taste,
        # not a property the rationale gave it): nothing to want
        return None
    pointer = bool(_POINTER.match(subject))
    if ruled_out is None and not pointer:
        ruled_out = subject
    if wanted.endswith("-free") and ruled_out in (None, wanted.removesuffix("-free")):
        # "A is not latex-free", "you said A is latex-free but it's latex": the substance is what the user rules
        # out; nothing new is wanted.
        wanted, ruled_out = "", wanted.removesuffix("-free")
    by_label = {pick["label"].lower(): pick["item_id"] for pick in picks}
    subject = re.sub(r"^(?:item|option|pick|choice|the) (?=[a-j]$)", "", subject)  # "item B", "the B"
    # the text is lower-cased by now, and a lone "c" reads as a label only in context
    about = [by_label[subject]] if subject in by_label else _named_by(subject, picks)
    # "C isn't waterproof or breathable": each property the claim denies is wanted (the set's sixth round)
    wishes = [_ADVERB_LEAD.sub("", w) for w in _OR.split(wanted) if w.strip()] if wanted else []
    return wishes, [ruled_out.strip()] if ruled_out else [], about


# "A is neither 100% cotton nor pre-shrunk" reads as "A is not 100% cotton or pre-shrunk".
_NEITHER = re.compile(r"\b(is|are|was|were) neither (.+?) nor ")
_OR = re.compile(r"\s+(?:or|nor)\s+")
# Dictated punctuation ends the claim: "... not actually waterproof period your description is wrong"
_DICTATED = re.compile(r"\s+(?:period|full stop|new line)\b.*$")
_ADVERB_LEAD = re.compile(r"^(?:actually|even|really|exactly|quite|truly) ")


def _reported_pick(subject: str) -> str:
    """The pick a subject ends with when a source or a request to check comes first ("the product page says b",
    "according to the manufacturer the second one", "double check your notes: c"): the pick, not a thing to rule
    out (3 development claim disputes of the fifth session ruled out "product page says b"); else the subject."""
    subject = _ASIDE.split(subject)[-1].strip()  # "saving these for later (a", "sorry to nitpick - a"
    if _POINTER.match(subject):
        return subject
    words = subject.split()
    for start in range(1, len(words)):
        tail = " ".join(words[start:])
        if not _POINTER.match(tail) or tail in ("it", "that", "this", "they", "those", "these"):
            continue
        # A lone letter is a pick only after a source ("says b", "notes: c"): "vitamin c", "plan b" are things.
        if len(tail) > 1 or words[start - 1].endswith(":") or words[start - 1] in _REPORTING:
            return tail
    return subject


_REPORTING = frozenset(
    {
        *("says", "said", "say", "states", "stated", "claims", "shows", "lists", "confirms", "that"),
        # a clause before the pick ("not to nitpick, but A isn't a clamp meter", "oh and B isn't latex-free either",
        # "betcha C isn't a zip-up": the training supplement's claim disputes, out of sample for these rules)
        *("but", "and", "oh", "so", "also", "plus", "well", "ok", "okay", "betcha", "anything", "honestly", "wait"),
    }
)
_ASIDE = re.compile(r"\(|\s[-\u2013\u2014]+\s")


def _names_pick(phrase: str, picks: Sequence[Pick]) -> bool:
    """All the content words of `phrase` are in one pick's title and are not what it is ("krazy glue" for "Krazy
    Glue KG48348MR ... Tip"; not "leggings" for "hue women's solid skinny jeanz legging", whose kind it names)."""
    words = _content(phrase)
    # the kind with a word of the pick's own names the pick ("the Free Country jacket isn't waterproof"); the kind
    # alone does not
    return bool(words) and any(
        words <= _content_of(pick["title"]) and words - {head_word(pick["title"])} for pick in picks
    )


def _names_a_thing(phrase: str) -> bool:
    """A phrase with a word that is not filler, a stopword or an audience ("latex-free", "multimeter"; not "what I
    want", "for kids")."""
    return any(t not in FILLER_WORDS and not audience_words([t]) for t in tokenize(phrase))


PLUS_FEATURE = re.compile(
    r"^\s*" + PICK_LEAD + r"\s*(?:\+|\bplus\b)\s*[a-z]"
    # "keep going in the direction of B", "next round, lean harder toward A", "push further in B's direction"
    r"|\b(?:in the direction of|toward|towards)\s+" + PICK_LEAD + r"\b|\b[a-c]'?s direction\b"
    # "take the first one as your template", "treat the second pick as the baseline" (the set's eighth round)
    r"|\bas (?:the|a|your|my) (?:reference(?: point)?|baseline|template|benchmark|starting point)\b"
)
"""A pick plus a feature ("C plus pockets pls", "the 1st one + a carrying case") or a direction from it ("lean
toward A"): more like it."""
_LIKE = re.compile(
    r"\b(?:more like|like|similar to|same as|close to|in the style of|more of|others like|another|"
    # the set's sixth round: "got a close cousin of B?", "anything that's basically C's twin?", "the 1st one + a
    # carrying case", "C plus pockets pls"
    r"cousin|cousins|sibling|siblings|twin|same family as|direction|toward|towards)\b|^\s*"
    + PICK_LEAD
    + r"\s*(?:\+|\bplus\b)"
)


def asks_similar(message: str) -> bool:
    """Whether a request asks for more like something ("more like", "similar to", "like B but")."""
    return _LIKE.search(prepare(message[:_LABEL_WINDOW])) is not None


def similar_pick(message: str, picks: Sequence[Pick]) -> str | None:
    """The pick a request asks for more like ("more like the second one", "like B but in navy", "similar to the
    dial caliper"), else None."""
    if not picks or not asks_similar(message):
        return None
    pointed = referenced_picks(message, picks, fallback=False)
    return pointed[0] if len(pointed) == 1 else None


def dispute_preferences(
    message: str, dispute: Dispute, picks: Sequence[Pick], vocabulary: Vocabulary | None = None
) -> Profile:
    """What a dispute adds to the profile. A claim dispute names what the user rejects, so its words are not wishes
    (searching for them brought the disputed subject back: the revision simulator saw it), except what a
    correction says is wanted ("a pH meter is not a multimeter": multimeter wanted, pH meter ruled out). Other
    disputes keep the message's wishes, less the words that only point at a pick ("not the second one"). A correction
    is read as one whatever kind of dispute it was found to be."""
    labels = [pick["label"] for pick in picks]
    corrected = corrected_claim(message, picks)
    if dispute["kind"] == "claim" or corrected is not None:
        profile = empty_profile()
        if corrected is not None:
            wanted, ruled_out, _ = corrected
            profile["wanted"] = [t for phrase in wanted for t in tokenize(phrase) if t not in FILLER_WORDS]
            profile["unwanted"] = ruled_out
    else:
        profile = extract_preferences(wish_part(message, dispute), vocabulary, labels, COMPLAINT_WORDS)
    if dispute["attribute"] and dispute["attribute"] not in profile["unwanted"]:
        profile["unwanted"] = [*profile["unwanted"], dispute["attribute"]]
    return profile


def wish_part(message: str, dispute: Dispute) -> str:
    """The part of a disputing message its wishes are read from: for "I already own that Fluke clamp meter" or a
    rejected pick ("forget B", "A misses the mark", "the second one isn't right for me") only the clauses that ask
    for something (none here: the revision searched for clamp meters again, and "forget", "mark" and "right" were
    read as wishes in 5 of the 6 development item disputes added last), else all of it."""
    return asking_clauses(message) if dispute["kind"] in ("owned", "item") else message


def _dispute(
    message: str, kind: DisputeKind, item_ids: Sequence[str], *, attribute: str | None = None, claim: str | None = None
) -> Dispute:
    return {"message": message, "kind": kind, "item_ids": list(item_ids), "attribute": attribute, "claim": claim}


@lru_cache(maxsize=4096)
def _content_of(text: str) -> frozenset[str]:
    return frozenset(_content(text))


def _content(text: str) -> set[str]:
    """Plural-tolerant content words that could name an item or a claim's subject (labels and noise dropped); a
    possessive is also read joined ("levi's" -> "levi", "levis"), as users type it."""
    prepared = prepare(text)
    joined = re.findall(r"\b([a-z0-9]+)'s\b", prepared)
    words = [*tokenize(prepared), *(f"{word}s" for word in joined)]
    return {singular(token) for token in words if len(token) > 1 and token not in _NOISE}


def _item_of(pick: Pick, items: Mapping[str, Item]) -> Item:
    return items.get(pick["item_id"]) or Item(item_id=pick["item_id"], title=pick["title"], text=pick["title"])


def _claim_items(claim: Claim, pick_ids: Sequence[str]) -> list[str]:
    return [item_id for item_id in dict.fromkeys(claim["item_ids"]) if item_id in pick_ids]


def _best_claim(message: str, claims: Sequence[Claim], referenced: Sequence[str]) -> Claim | None:
    words = _content(message)
    best: tuple[int, bool, int] | None = None
    chosen: Claim | None = None
    for index, claim in enumerate(claims):
        overlap = len(words & _content(claim["text"]))
        if overlap == 0:
            continue
        score = (overlap, bool(set(claim["item_ids"]) & set(referenced)), -index)
        if best is None or score > best:
            best, chosen = score, claim
    return chosen


def referenced_picks(message: str, picks: Sequence[Pick], *, fallback: bool = True, by_title: bool = True) -> list[str]:
    """The picks the message points at (by label, ordinal or, with `by_title`, title words), else the top pick
    (`fallback`) or none."""
    by_label = {pick["label"]: pick["item_id"] for pick in reversed(picks)}
    text = _LABEL_SUFFIX.sub(r"\1", unicodedata.normalize("NFKC", message[:_LABEL_WINDOW]))
    labels = referenced_labels(text, list(by_label)) or texted_labels(text, list(by_label))
    if labels:
        return list(dict.fromkeys(by_label[label] for label in labels))
    text = prepare(message)
    positions = _ordinal_positions(text, {word for pick in picks for word in _content_of(pick["title"])})
    positions = [len(picks) // 2 + 1 if p == _MIDDLE and len(picks) % 2 else p for p in positions]
    ordered = [picks[p - 1 if p > 0 else p]["item_id"] for p in positions if p <= len(picks)]
    if ordered:
        return list(dict.fromkeys(ordered))
    if not by_title:
        return [picks[0]["item_id"]] if fallback else []
    best_id = title_pick(message, picks)
    return [best_id] if best_id is not None else [picks[0]["item_id"]] if fallback else []


def title_pick(message: str, picks: Sequence[Pick]) -> str | None:
    """The pick whose title shares the most content words with `message` (the first of equals), else None."""
    words = _content_of(message)
    best_overlap, best_id = 0, None
    for pick in picks:
        overlap = len(words & _content_of(pick["title"]))
        if overlap > best_overlap:
            best_overlap, best_id = overlap, pick["item_id"]
    return best_id


def _ordinal_positions(text: str, kinds: frozenset[str] | set[str] = frozenset()) -> list[int]:
    """1-based positions named by ordinals ("the second one", "the last" -> -1, "#2"), in order of mention.

    An ordinal counts when a word such as "one"/"option"/"pick" follows it, or after "the" when no content word follows
    ("the second is wrong") or a word of the picks' titles does ("how heavy is the second jacket?": `kinds`), so
    "the first aid kit" and "last time" are not references.
    """
    found: list[tuple[int, int]] = []
    for match in _ORDINAL.finditer(text):
        determiner, word, noun = match.groups()
        if noun is None:
            following = _NEXT_WORD.match(text, match.end())
            if determiner is None or determiner.strip() != "the" or word == "top":
                continue
            if following is not None and tokenize(following.group(1)) and singular(following.group(1)) not in kinds:
                continue
        found.append((match.start(), _ORDINALS[word]))
    found.extend((match.start(), int(match.group(1))) for match in _NUMBERED.finditer(text))
    return [position for _, position in sorted(found) if position != 0]
