"""What the Slack bot says, as Block Kit: a turn's answer, its items with "That's wrong" buttons, and notices.

Pure functions over `TurnResult` (no Slack client here), so the formatting is tested without Slack. Limits kept:
a section's text at most 3,000 characters, a button value at most 2,000, 50 blocks a message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent.session import TurnResult
from ui.turn_format import grounding_summary, key_attributes, rationale_labels

DISPUTE_ACTION_PREFIX = "dispute_item_"
"""action_id of the n-th item's "That's wrong" button is this plus n: ids must be unique within a message."""
DISPUTE_ACTION = re.compile(rf"^{DISPUTE_ACTION_PREFIX}\d+$")
DISPUTE_TEXT = "That's wrong."
"""The user message a button press stands for (as `/dispute N` in `llmrec chat`)."""

_SECTION_CHARS = 2900
_TITLE_CHARS = 250
_SLACK_ID = re.compile(r"^[A-Za-z0-9_]{1,32}$")
_SLACK_TS = re.compile(r"^\d{1,12}\.\d{1,8}$")
_MENTION = re.compile(r"<@[A-Z0-9_]+(?:\|[^>]*)?>")
_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")

Attributes = Callable[[str], Mapping[str, Any]]
"""item id -> its catalog attributes (empty when unknown)."""


class BadPayloadError(ValueError):
    """A Slack payload (an event, a button's value) lacks what the bot needs or holds something malformed."""


@dataclass(frozen=True)
class Where:
    """The Slack thread a conversation lives in."""

    team: str
    channel: str
    thread_ts: str

    @property
    def thread(self) -> str:
        """The LangGraph thread id: the same Slack thread always gives the same id, two threads never share one."""
        return f"slack:{self.team}:{self.channel}:{self.thread_ts}"


def where(team: Any, channel: Any, thread_ts: Any) -> Where:
    """Validate the parts of a thread id (they come from a payload, so from outside)."""
    team = team or "T"
    parts = (("team", team, _SLACK_ID), ("channel", channel, _SLACK_ID), ("ts", thread_ts, _SLACK_TS))
    for name, value, shape in parts:
        if not isinstance(value, str) or not shape.match(value):
            raise BadPayloadError(f"the payload's {name} is missing or malformed")
    return Where(str(team), str(channel), str(thread_ts))


def dispute_value(thread: str, item_id: str) -> str:
    """The value a "That's wrong" button carries: which conversation, which item."""
    return json.dumps({"thread": thread, "item": item_id}, separators=(",", ":"))


def parse_dispute_value(value: Any) -> tuple[str, str]:
    """(thread, item id) of a button's value; BadPayloadError when it is not one of ours."""
    try:
        data: Any = json.loads(value) if isinstance(value, str) and len(value) <= 2000 else None
    except json.JSONDecodeError:
        data = None
    thread = data.get("thread") if isinstance(data, dict) else None
    item = data.get("item") if isinstance(data, dict) else None
    if not (isinstance(thread, str) and thread.startswith("slack:") and isinstance(item, str) and item):
        raise BadPayloadError("the button's value is not a conversation and an item")
    return thread, item


def message_text(text: Any, bot_user_id: str | None = None) -> str:
    """What the user typed: mentions of the bot removed, Slack's link markup and &-escapes undone."""
    if not isinstance(text, str):
        return ""
    out = _MENTION.sub(lambda m: "" if bot_user_id and m.group(0).startswith(f"<@{bot_user_id}") else m.group(0), text)
    out = _LINK.sub(lambda m: str(m.group(2) or m.group(1)), out)
    return out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def mentions(text: Any, user_id: str | None) -> bool:
    return bool(user_id) and isinstance(text, str) and f"<@{user_id}" in text


def escape(text: str) -> str:
    """Slack mrkdwn's three control characters; everything else in catalog text shows as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _section(text: str, accessory: dict[str, Any] | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, _SECTION_CHARS)}}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def _context(lines: Sequence[str]) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(line, _SECTION_CHARS)} for line in lines]}


def item_blocks(thread: str, items: Sequence[Mapping[str, Any]], attributes: Attributes) -> list[dict[str, Any]]:
    """One section per item: title, key attributes, reason, grounding mark, and its "That's wrong" button."""
    blocks = []
    for n, item in enumerate(items, start=1):
        lines = [f"*{n}. {escape(_cut(item['title'], _TITLE_CHARS))}*  `{escape(item['item_id'])}`"]
        attrs = key_attributes(attributes(item["item_id"]))
        if attrs:
            lines.append(escape(" · ".join(f"{name}: {value}" for name, value in attrs)))
        lines.append(f"_Why:_ {escape(item['reason'])}")
        lines.append(
            ":white_check_mark: grounded: a claim of the rationale that ties it to you and holds"
            if item["grounded"]
            else ":grey_question: not grounded: the reason is its links, not the rationale"
        )
        button = {
            "type": "button",
            "action_id": f"{DISPUTE_ACTION_PREFIX}{n}",
            "text": {"type": "plain_text", "text": "That's wrong"},
            "style": "danger",
            "value": dispute_value(thread, item["item_id"]),
        }
        blocks.append(_section("\n".join(lines), button))
    return blocks


def answer_message(result: TurnResult, attributes: Attributes) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text for notifications, blocks) of one turn: what changed, the rationale, then the items."""
    blocks: list[dict[str, Any]] = []
    if result.revision is not None:
        blocks.append(_section(f"*{escape(result.revision['summary'])}*"))
    if result.items:
        if result.rationale.strip():
            blocks.append(_section(f"*Rationale:* {escape(result.rationale.strip())}"))
            # The rationale names candidates by labels the numbered items do not show ("Option H has ...").
            if (labels := rationale_labels(result)) is not None:
                blocks.append(_context([escape(labels)]))
        blocks.append({"type": "divider"})
        blocks.extend(item_blocks(result.thread, result.items, attributes))
        footer = [summary] if (summary := grounding_summary(result)) is not None else []
        footer.extend(f"note: {escape(note)}" for note in result.notes)
        if footer:
            blocks.append(_context(footer))
    else:
        blocks.append(_section(escape(result.answer or "I have nothing to add.")))
        if result.notes:
            blocks.append(_context([f"note: {escape(note)}" for note in result.notes]))
    fallback = result.revision["summary"] if result.revision is not None else result.answer
    return _cut(fallback or "Here is what I found.", _SECTION_CHARS), blocks[:50]


def notice_message(sentence: str) -> tuple[str, list[dict[str, Any]]]:
    """A sentence for the user (a refusal, a failure): never a traceback."""
    return _cut(sentence, _SECTION_CHARS), [_section(f":warning: {escape(sentence)}")]
