"""The rationale-first prompt: the one place its text is defined. Serving and training both render it here.

Layout of a rendered prompt (through the tokenizer's chat template):

    system:    SYSTEM_PROMPT
    user:      the user's history (oldest first), the conversation so far, the labelled candidates, INSTRUCTION
    assistant: "Rationale:" <the model writes its rationale> "\nAnswer:" <one label token>

Ranking reads the next-token log-probabilities of the labels after ANSWER_PREFIX: one forward pass ranks every
candidate. Training renders the same text with the rationale and the label filled in, so the two never drift apart.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from agent.errors import PromptTooLongError
from agent.evidence import Link, render_links
from tools.catalog import HIDDEN_ATTRIBUTES, Item

log = logging.getLogger(__name__)

LABELS: tuple[str, ...] = tuple("ABCDEFGHIJKLMNOPQRST")
"""Candidate labels; 20 is the most the OpenAI logprobs API returns at once (top_logprobs <= 20)."""

SYSTEM_PROMPT = (
    "You are LLM-Rec, a recommender that explains itself. You only recommend the listed candidates, and every "
    "reason you give is one of their listed links to the user's history or request."
)
INSTRUCTION = (
    "In 2 to 4 sentences, say which candidates fit this user and why, in your own words, using their links; a "
    'candidate without links has none to give. Then give the letter of the best candidate after "Answer:".'
)
PROMPT_VERSION = 2
"""Bump when the text of the rationale prompt changes: adapters and calibrations record the version they fit."""
DISPUTE_NOTE = "The user disputed the last recommendation: {what}. Do not repeat it."
"""The line after the conversation when the model re-reasons after a dispute."""
RATIONALE_PREFIX = "Rationale:"
ANSWER_PREFIX = "Answer:"

# Titles are cut to this many characters first (a scientific title runs to 200); what ties an item to the user is on
# its links line, not in a long category path. Shrunk further (to 50, then 35) only when the prompt still does not
# fit: 20 candidates at 70 characters and their links take about 800 tokens.
_ITEM_CHARS = (70, 50, 35)
# Conversation turns a prompt shows at most: 8 lines of about 25 tokens each leave the candidates room in 2,048.
MAX_TURNS = 8
# A single user message longer than the context is cut to these lengths, in turn, rather than refused.
_LAST_MESSAGE_CHARS = (2000, 500, 200)

Role = Literal["user", "assistant"]


class ChatTokenizer(Protocol):
    """The slice of a Hugging Face tokenizer that rendering needs."""

    def apply_chat_template(self, conversation: list[dict[str, str]], **kwargs: object) -> object: ...

    def encode(self, text: str, add_special_tokens: bool = ...) -> list[int]: ...


@dataclass(frozen=True)
class RecRequest:
    """Everything the model sees for one recommendation."""

    history: Sequence[Item]
    """Items the user interacted with, oldest first."""
    candidates: Sequence[Item]
    """Items to choose from, labelled A, B, C... in this order."""
    conversation: Sequence[tuple[Role, str]] = ()
    """The chat so far, oldest first; constraints live here."""
    domain: str = ""
    dispute: str | None = None
    """What the user disputed last (a claim, an attribute or their words), shown as DISPUTE_NOTE after the chat."""
    links: Sequence[Sequence[Link]] | None = None
    """Per candidate (same order), its links to the history and the request (agent/evidence.py); None: no links
    lines (a prompt without computed evidence)."""


@dataclass(frozen=True)
class RenderedPrompt:
    """A prompt ready for the model, plus what had to be dropped to fit the context."""

    text: str
    """The prompt up to and including RATIONALE_PREFIX: the model continues with its rationale."""
    labels: tuple[str, ...]
    candidate_ids: tuple[str, ...]
    history_kept: int
    history_dropped: int
    turns_dropped: int
    item_chars: int
    num_tokens: int
    notes: list[str] = field(default_factory=list)
    history_ids: tuple[str, ...] = ()
    """The history items shown, oldest first (numbered 1.. in the prompt)."""
    links: tuple[tuple[Link, ...], ...] = ()
    """Per candidate, the links the prompt showed: only references to shown history items are kept."""
    conversation: tuple[tuple[Role, str], ...] = ()
    """The conversation turns shown, oldest first, as cut."""
    dispute: str | None = None

    def with_rationale(self, rationale: str) -> str:
        """The prompt after the rationale, ending in ANSWER_PREFIX: the next token is a candidate label."""
        return answer_prompt(self.text, rationale)

    def label_of(self, item_id: str) -> str:
        return self.labels[self.candidate_ids.index(item_id)]


def format_rationale(rationale: str) -> str:
    """The rationale exactly as it follows RATIONALE_PREFIX (one leading space, no trailing whitespace)."""
    text = rationale.strip()
    if text.endswith(ANSWER_PREFIX):
        text = text[: -len(ANSWER_PREFIX)].rstrip()
    return " " + text if text else ""


def answer_prompt(prompt: str, rationale: str) -> str:
    """`prompt` (ending in RATIONALE_PREFIX) after the rationale, ending in ANSWER_PREFIX: the next token is a label."""
    return prompt + format_rationale(rationale) + "\n" + ANSWER_PREFIX


def training_text(prompt: str, label: str, rationale: str) -> tuple[str, str]:
    """(prompt, completion) for supervised fine-tuning: the completion is the rationale, then the answer label."""
    return prompt, answer_prompt("", rationale) + " " + label


_TEACHER_ITEM_CHARS = 120
"""The LLM teacher reads whole attribute lines (one target, 10 history items: room to spare)."""


def item_line(item: Item, max_chars: int = _TEACHER_ITEM_CHARS) -> str:
    """One line per item: the title, then the attributes a rationale may cite."""
    parts = [item.title.strip() or item.item_id]
    for key, value in item.attributes.items():
        if key in HIDDEN_ATTRIBUTES or not value:
            continue
        shown = ", ".join(value) if isinstance(value, list) else str(value)
        parts.append(f"{key}: {shown}")
    line = " | ".join(parts).replace("\n", " ")
    return line if len(line) <= max_chars else line[: max_chars - 3].rstrip() + "..."


def short_title(item: Item, max_chars: int = _ITEM_CHARS[0]) -> str:
    """An item's title on one line, cut to `max_chars` in the middle: its head names the product and its tail
    often the variant ("HATCHBOX PLA 3D Printer Filament, Dimens... 1.75mm, Red"), which a cut end would hide."""
    line = " ".join((item.title.strip() or item.item_id).split())
    if len(line) <= max_chars:
        return line
    tail = max_chars // 3
    head = max_chars - tail - 3
    return line[:head].rstrip() + "..." + line[-tail:].lstrip()


def _user_message(
    history: Sequence[Item],
    dropped: int,
    conversation: Sequence[tuple[Role, str]],
    candidates: Sequence[Item],
    labels: Sequence[str],
    item_chars: int,
    dispute: str | None = None,
    links: Sequence[Sequence[Link]] | None = None,
) -> str:
    lines: list[str] = []
    if history:
        lines.append("The user's history, oldest first:")
        if dropped:
            lines.append(f"({dropped} older items omitted)")
        lines += [f"{n}. {short_title(item, item_chars)}" for n, item in enumerate(history, start=1)]
    else:
        lines.append("The user has no history yet.")
    if conversation:
        lines.append("")
        lines.append("Conversation so far:")
        lines += [f"{'User' if role == 'user' else 'Assistant'}: {text.strip()}" for role, text in conversation]
    if dispute:
        lines.append(DISPUTE_NOTE.format(what=dispute))
    lines.append("")
    lines.append("Candidates:")
    positions = {item.item_id: n for n, item in enumerate(history, start=1)}
    for i, (label, item) in enumerate(zip(labels, candidates, strict=True)):
        lines.append(f"{label}. {short_title(item, item_chars)}")
        if links is not None:
            lines.append(f"   links: {render_links(links[i], positions)}")
    lines.append("")
    lines.append(INSTRUCTION)
    return "\n".join(lines)


def _chat_text(tokenizer: ChatTokenizer, user_message: str) -> str:
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user_message}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    if not isinstance(text, str):
        raise TypeError("apply_chat_template(tokenize=False) must return text")
    return text + RATIONALE_PREFIX


def _truncation_steps(n_history: int, n_turns: int) -> Iterator[tuple[int, int, int, int | None]]:
    """(history items dropped, turns dropped, item line chars, last message chars) in the order tried:
    oldest history first, then oldest turns (the latest user turn is kept), then shorter item lines, then a
    shorter last message."""
    for h in range(n_history + 1):
        yield h, 0, _ITEM_CHARS[0], None
    for c in range(1, max(n_turns, 1)):
        yield n_history, c, _ITEM_CHARS[0], None
    last_turn = max(n_turns - 1, 0)
    for chars in _ITEM_CHARS[1:]:
        yield n_history, last_turn, chars, None
    for last_chars in _LAST_MESSAGE_CHARS:
        yield n_history, last_turn, _ITEM_CHARS[-1], last_chars


def _shown_links(links: Sequence[Sequence[Link]] | None, shown: set[str]) -> tuple[tuple[Link, ...], ...]:
    """The links as the prompt showed them: references to history items it dropped are gone, and so is a history
    link left with none."""
    if links is None:
        return ()
    out = []
    for per_candidate in links:
        kept = []
        for link in per_candidate:
            history = tuple(h for h in link.history if h in shown)
            if history or link.kind == "request":
                kept.append(replace(link, history=history))
        out.append(tuple(kept))
    return tuple(out)


def render_prompt(
    tokenizer: ChatTokenizer,
    request: RecRequest,
    *,
    context_tokens: int = 2048,
    reserve_tokens: int = 96,
    max_history_items: int | None = 10,
    max_turns: int = MAX_TURNS,
) -> RenderedPrompt:
    """Render the prompt, dropping the oldest history items, then the oldest turns, until it fits.

    At most `max_history_items` of the most recent history items are shown (each line costs about 30 tokens), and
    the last `max_turns` turns of the conversation.
    `reserve_tokens` is kept free for the rationale and the answer. Candidates are never dropped (the model must
    see every item it may rank); their lines are shortened instead, and if even that cannot fit,
    PromptTooLongError says so.
    """
    if not request.candidates:
        raise ValueError("a recommendation prompt needs at least one candidate")
    if len(request.candidates) > len(LABELS):
        raise ValueError(f"at most {len(LABELS)} candidates per prompt, got {len(request.candidates)}")
    if len({c.item_id for c in request.candidates}) != len(request.candidates):
        raise ValueError("candidate item ids must be unique")
    labels = LABELS[: len(request.candidates)]
    budget = context_tokens - reserve_tokens - 4  # 4: "\nAnswer:" and one label token
    history = list(request.history)
    if max_history_items is not None and len(history) > max_history_items:
        history = history[len(history) - max_history_items :]
    capped = len(request.history) - len(history)
    conversation = list(request.conversation)[-max_turns:]
    for h_start, c_start, item_chars, last_chars in _truncation_steps(len(history), len(conversation)):
        turns = conversation[c_start:]
        if last_chars is not None and turns:
            role, text = turns[-1]
            turns[-1] = (role, text if len(text) <= last_chars else text[:last_chars] + " [message cut]")
        message = _user_message(
            history[h_start:],
            capped + h_start,
            turns,
            request.candidates,
            labels,
            item_chars,
            request.dispute,
            request.links,
        )
        text = _chat_text(tokenizer, message)
        num_tokens = len(tokenizer.encode(text, add_special_tokens=False))
        if num_tokens > budget:
            continue
        notes = []
        if h_start:
            notes.append(f"dropped the {h_start} oldest of {len(history)} history items to fit")
        if c_start:
            notes.append(f"dropped the {c_start} oldest of {len(conversation)} conversation turns")
        if item_chars != _ITEM_CHARS[0]:
            notes.append(f"cut item lines to {item_chars} characters")
        if last_chars is not None:
            notes.append(f"cut the last message to {last_chars} characters")
        if notes:
            log.info("prompt truncated to %d tokens to fit %d: %s", num_tokens, context_tokens, "; ".join(notes))
        return RenderedPrompt(
            text=text,
            labels=labels,
            candidate_ids=tuple(c.item_id for c in request.candidates),
            history_kept=len(history) - h_start,
            history_dropped=capped + h_start,
            turns_dropped=c_start,
            item_chars=item_chars,
            num_tokens=num_tokens,
            notes=notes,
            history_ids=tuple(item.item_id for item in history[h_start:]),
            conversation=tuple(turns),
            dispute=request.dispute,
            links=_shown_links(request.links, {item.item_id for item in history[h_start:]}),
        )
    raise PromptTooLongError(
        f"{len(request.candidates)} candidates do not fit in {context_tokens} tokens even with every item line "
        "shortened; raise LLMREC_CONTEXT_TOKENS or rank fewer candidates."
    )


# --- The other prompts of the agent: intent, model-written tool calls, free-form replies ---

INTENT_LABELS: dict[str, str] = {"request": "A", "dispute": "B", "accept": "C", "question": "D", "other": "E"}
"""Intent -> the label the model answers with; single tokens after ANSWER_PREFIX, like the candidate labels."""
INTENT_SYSTEM_PROMPT = "You sort a shopper's chat messages into one of five kinds."
INTENT_OPTIONS = (
    "A. request: asks for recommendations or says what they want\n"
    "B. dispute: says a recommendation or its explanation is wrong, or rules something out\n"
    "C. accept: likes a recommendation or will take it\n"
    "D. question: asks about a recommendation or why it was chosen\n"
    "E. other: greetings, thanks, anything else"
)
INTENT_EXAMPLES: tuple[tuple[str, str], ...] = (
    ("I need a digital caliper", "A"),
    ("That's not waterproof, and I said no leather", "B"),
    ("Great, I'll take the first one", "C"),
    ("is the second one waterproof?", "D"),
    ("hello there", "E"),
)
# The message is cut for this prompt only: intent shows in the first words, and the prompt must stay short
# (one forward pass of about 200 tokens, 0.3 s on 2 cores).
_INTENT_MESSAGE_CHARS = 400


def render_intent_prompt(tokenizer: ChatTokenizer, message: str, shown: Sequence[str] = ()) -> str:
    """The constrained-choice intent prompt; the next token after it is one of INTENT_LABELS' letters."""
    lines = ["Kinds:", INTENT_OPTIONS, "", "Examples:"]
    lines += [f'"{text}" -> {label}' for text, label in INTENT_EXAMPLES]
    if shown:
        lines += ["", "Recommended so far: " + "; ".join(title[:60] for title in shown[:5])]
    cut = message.strip().replace("\n", " ")[:_INTENT_MESSAGE_CHARS]
    lines += ["", f'Message: "{cut}"', "Which kind is it? Answer with one letter."]
    messages = [{"role": "system", "content": INTENT_SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(lines)}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    if not isinstance(text, str):
        raise TypeError("apply_chat_template(tokenize=False) must return text")
    return text + ANSWER_PREFIX


TOOL_SYSTEM_PROMPT = (
    "You find catalog items for a shopper. Call search_catalog with the words that describe what they want; "
    "call similar_items for alternatives to an item they like; call recommend_for_user for what shoppers with a "
    "history like theirs bought next; call user_history to see what they had before. "
    "Never invent item ids. Items the user rejected are removed for you."
)
REPLY_SYSTEM_PROMPT = (
    "You are LLM-Rec, a friendly shopping assistant for a {domain} catalog. Answer in one or two short sentences. "
    "Do not name products: recommendations come only from the catalog search."
)


# --- The teacher prompt of self-annotation (training/annotate.py) ---

TEACHER_SYSTEM_PROMPT = (
    "You explain why a shopper chose an item. You cite only the listed attributes of the items; you never invent facts."
)
TEACHER_INSTRUCTION = (
    "The user chose the item above. In 2 to 4 sentences, explain why this user would choose an item like it: "
    "connect attributes of their history to attributes of that item (its kind, category, brand, material, size). "
    "Cite only attributes listed above. Do not write the item's title, its brand with its model number, or its id; "
    "describe the kind of item instead."
)
# A teacher sees one target and up to 10 history items (about 500 tokens): no truncation ladder is needed.
_TEACHER_HISTORY_ITEMS = 10


def render_teacher_prompt(tokenizer: ChatTokenizer, history: Sequence[Item], target: Item) -> str:
    """The self-annotation prompt: the user's most recent history items and the item they chose (the target).

    It ends with RATIONALE_PREFIX, like the serving prompt, so the teacher's continuation is a rationale in the
    serving format. The rationale becomes a training target where the item is one of 20 labelled candidates,
    hence the instruction to describe the kind of item rather than name it.
    """
    shown = list(history)[-_TEACHER_HISTORY_ITEMS:]
    lines: list[str] = []
    if shown:
        lines.append("The user's history, oldest first:")
        lines += [f"- {item_line(item)}" for item in shown]
    else:
        lines.append("The user has no history yet.")
    lines += ["", "The item the user chose next:", f"- {item_line(target)}", "", TEACHER_INSTRUCTION]
    messages = [
        {"role": "system", "content": TEACHER_SYSTEM_PROMPT},
        {"role": "user", "content": "\n".join(lines)},
    ]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    if not isinstance(text, str):
        raise TypeError("apply_chat_template(tokenize=False) must return text")
    return text + RATIONALE_PREFIX


# --- The paraphrase prompt of the evidence teacher (training/evidence_teacher.py, --paraphrase) ---

PARAPHRASE_SYSTEM_PROMPT = "You rewrite short explanations of recommendations. You never add a fact."
PARAPHRASE_INSTRUCTION = (
    "Rewrite this explanation in your own words, in 2 to 4 sentences. Keep every candidate letter and every fact "
    "(brands, quoted words, numbers of shoppers, the items of the user it names); add nothing."
)


def render_paraphrase_prompt(tokenizer: ChatTokenizer, rationale: str) -> str:
    """An LLM teacher's prompt to paraphrase the evidence writer's `rationale`; it continues after RATIONALE_PREFIX,
    so its text is judged exactly as a served rationale is."""
    messages = [
        {"role": "system", "content": PARAPHRASE_SYSTEM_PROMPT},
        {"role": "user", "content": f"Explanation: {rationale}\n\n{PARAPHRASE_INSTRUCTION}"},
    ]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    if not isinstance(text, str):
        raise TypeError("apply_chat_template(tokenize=False) must return text")
    return text + RATIONALE_PREFIX


def agent_instructions(domain: str) -> list[str]:
    """The agent's own instructions, which no answer may recite (agent/guard.py): the same list wherever the model
    writes, so a served turn and an evaluated case withhold the same text."""
    return [
        SYSTEM_PROMPT,
        INSTRUCTION,
        INTENT_SYSTEM_PROMPT,
        TOOL_SYSTEM_PROMPT,
        REPLY_SYSTEM_PROMPT.format(domain=domain),
    ]
