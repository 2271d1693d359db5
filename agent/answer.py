"""The agent's answer text (Markdown): what it recommends and why, how well grounded, and what changed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from agent.claims import shorten, templated_reason
from agent.evidence import describe_links
from agent.records import ShownLink
from agent.state import Claim, Dispute, Pick, Revision
from tools.catalog import Item

_WHY = {
    "owned": "you already own it",
    "attribute": "it has {attribute}, which you ruled out",
    "claim": "you disputed “{claim}”",
    "item": "you rejected it",
}


def pick_reason(
    item: Item,
    claims: Sequence[Claim],
    links: Sequence[ShownLink],
    history: Mapping[str, Item],
    wanted: Sequence[str] = (),
) -> tuple[str, bool]:
    """The per-item "why" a person reads, and whether it is the rationale's own claim.

    The first claim about `item` that the trust check calls relational and true (agent/trust.py), else the item's
    own links in words ("same brand (Neiko) as your Neiko 01407A Electronic Digital"), else its catalog fields. Never
    another item's line: a claim counts only if it names this item.
    """
    for claim in claims:
        if claim.get("relational") and item.item_id in claim["item_ids"]:
            return shorten(claim["text"]), True
    described = describe_links(links, history)
    if described:
        return shorten(described[0].upper() + described[1:]), False
    return shorten(templated_reason(item, "", wanted)), False


def revision_record(turn: int, dispute: Dispute, before: Sequence[Pick], after: Sequence[Pick]) -> Revision:
    """What a revision changed, and a sentence saying why."""
    old = [p["item_id"] for p in before]
    new = [p["item_id"] for p in after]
    removed = [i for i in old if i not in new]
    added = [i for i in new if i not in old]
    kept = [i for i in new if i in old]
    titles = {p["item_id"]: p["title"] for p in [*before, *after]}
    why = _WHY[dispute["kind"]].format(attribute=dispute["attribute"] or "", claim=_short(dispute["claim"] or ""))
    parts = [f"You said “{_short(dispute['message'])}”."]
    disputed_gone = [i for i in dispute["item_ids"] if i in removed]
    if disputed_gone:
        parts.append(f"I removed {_names(disputed_gone, titles)} because {why}.")
    other_gone = [i for i in removed if i not in disputed_gone]
    if other_gone:
        parts.append(f"I also dropped {_names(other_gone, titles)} after searching again.")
    if dispute["kind"] == "claim" and not dispute["item_ids"]:
        parts.append(
            f"That claim was about none of my recommendations; I set it aside: “{_short(dispute['claim'] or '')}”."
        )
    if dispute["kind"] == "attribute" and dispute["attribute"]:
        if not dispute["item_ids"]:
            parts.append(f"None of my recommendations has {dispute['attribute']}.")
        parts.append(f"From now on I leave out anything with {dispute['attribute']}.")
    if added:
        parts.append(f"New: {_names(added, titles)}.")
    if not removed and not added:
        parts.append("The search found nothing better, so the list is unchanged.")
    return Revision(turn=turn, dispute=dispute, removed=removed, added=added, kept=kept, summary=" ".join(parts))


def format_answer(
    picks: Sequence[Pick],
    claims: Sequence[Claim],
    grounding: float | None,
    revision: Revision | None,
    notes: Sequence[str],
) -> str:
    """Markdown: the revision first (when there is one), then the items with their reasons, then grounding."""
    lines: list[str] = []
    if revision is not None:
        lines += [revision["summary"], ""]
    if picks:
        lines.append("I recommend:")
        for n, pick in enumerate(picks, start=1):
            mark = "" if pick["grounded"] else " (from its links, not from my reasoning)"
            lines.append(f"{n}. **{pick['title']}** [{pick['item_id']}]: {pick['reason']}{mark}")
    else:
        lines.append("I found no catalog items that match. Try other words, or tell me what you are looking for.")
    if claims:
        held = sum(bool(c.get("relational")) for c in claims)
        share = f"{grounding:.0%}" if grounding is not None else "n/a"
        lines += [
            "",
            f"Grounding: {held} of {len(claims)} claims in my reasoning tie an item to your history or request and "
            f"hold ({share}).",
        ]
        unbacked = [c["text"] for c in claims if not c.get("relational")]
        if unbacked:
            lines.append("Not backed, so ignore: " + " | ".join(_short(t) for t in unbacked[:3]))
    if notes:
        lines += ["", "Notes: " + "; ".join(notes)]
    return "\n".join(lines)


def summary_line(picks: Sequence[Pick]) -> str:
    """One line for later prompts: what was recommended."""
    if not picks:
        return "I found nothing matching."
    return "I recommended: " + "; ".join(f"{p['title'][:60]}" for p in picks) + "."


def _names(ids: Sequence[str], titles: dict[str, str]) -> str:
    return ", ".join(f"“{_short(titles.get(i, i), 70)}”" for i in ids)


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
