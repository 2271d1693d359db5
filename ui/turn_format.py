"""Front-end-neutral text of a turn: tool calls, grounding marks, key attributes. Plain strings, no UI library."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from agent.session import TurnResult
from agent.state import Claim

HIDDEN_TOOL_ARGS = frozenset({"exclude", "user_id"})
"""Arguments the agent fills in from the state (InjectedState): noise to a reader."""

SUPPORTED, UNSUPPORTED = "✓", "✗"

# Attributes that only link to other records (clothing's size/colour variants) say nothing to a shopper.
_SKIPPED_ATTRIBUTES = frozenset({"variants"})


_LABEL = re.compile(r"\b(?:[Oo]ption|[Cc]andidate)\s+([A-T])\b")


def rationale_labels(result: TurnResult) -> str | None:
    """Where the candidates the rationale names stand in the list shown: "in the rationale: H is #1, A is #2, D was
    not picked". The rationale names candidates by their labels among the 20 the model ranked ("Option H has "men"
    and "hoodie""), which the numbered list does not show; None when it names none."""
    positions = {item.get("label"): n for n, item in enumerate(result.items, start=1)}
    said = list(dict.fromkeys(_LABEL.findall(result.rationale)))
    if not said:
        return None
    return "in the rationale: " + ", ".join(
        f"{label} is #{positions[label]}" if label in positions else f"{label} was not picked" for label in said
    )


def tool_call_text(name: str, args: Mapping[str, Any]) -> str:
    """`search_catalog(query='digital caliper', k=20)`, the arguments the state injects left out."""
    shown = ", ".join(f"{k}={v!r}" for k, v in args.items() if k not in HIDDEN_TOOL_ARGS)
    return f"{name}({shown})"


def grounding_summary(result: TurnResult) -> str | None:
    """ "grounding 67%: 2 of 3 claims tie an item to you and hold", then what else a reader should know (copied
    prompt text, a loop, a top pick the rationale never argued for); None when the turn recommended nothing."""
    if result.grounding is None:
        return None
    held = sum(bool(c.get("relational")) for c in result.claims)
    text = f"grounding {result.grounding:.0%}: {held} of {len(result.claims)} claims tie an item to you and hold"
    trust = result.trust or {}
    if trust.get("copy_rate"):
        text += f"; {trust['copy_rate']:.0%} of the rationale copies the prompt"
    if trust.get("repeats"):
        text += "; the rationale repeats itself"
    if trust.get("coverage") is False:
        text += "; the top pick is not argued for"
    return text


def claim_line(claim: Claim) -> str:
    """A claim with its mark: ✓ when it ties an item to the user through a shown link and holds (agent/trust.py),
    ✗ otherwise, copied or repeated lines included: "✓ Like your Neiko caliper, A is a digital caliper."."""
    return f"{SUPPORTED if claim.get('relational') else UNSUPPORTED} {claim['text']}"


def claims_about(item_id: str, claims: Sequence[Claim]) -> list[Claim]:
    """The rationale's claims that are about this item, in rationale order, each text once."""
    seen: set[str] = set()
    out: list[Claim] = []
    for claim in claims:
        if item_id in claim["item_ids"] and claim["text"] not in seen:
            seen.add(claim["text"])
            out.append(claim)
    return out


def distinct_claims(claims: Sequence[Claim]) -> list[Claim]:
    """Claims with repeated texts dropped (a small model repeats itself), first occurrence kept."""
    seen: set[str] = set()
    out: list[Claim] = []
    for claim in claims:
        if claim["text"] not in seen:
            seen.add(claim["text"])
            out.append(claim)
    return out


def key_attributes(attributes: Mapping[str, Any], *, limit: int = 4, max_chars: int = 80) -> list[tuple[str, str]]:
    """Up to `limit` (name, value) pairs worth showing on a card; lists joined, long values cut."""
    out: list[tuple[str, str]] = []
    for name, value in attributes.items():
        if name in _SKIPPED_ATTRIBUTES or value in (None, "", [], ()):
            continue
        text = ", ".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)
        if len(text) > max_chars:
            text = text[: max_chars - 1].rstrip() + "…"
        out.append((name, text))
        if len(out) == limit:
            break
    return out


def disputed_claim(claims: Sequence[Claim]) -> str | None:
    """The claim a "That's wrong" on the whole rationale disputes: the first one that does not hold, else the
    first claim; None for a rationale without claims."""
    unsupported = [c["text"] for c in claims if not c.get("relational")]
    if unsupported:
        return unsupported[0]
    return claims[0]["text"] if claims else None
