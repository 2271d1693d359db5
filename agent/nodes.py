"""The graph's nodes: one function per step of a turn (DESIGN.md, "Data flow of one turn").

Each node reads the state and the run-time `Context`, and returns only the fields it changes. Tokens of the
rationale (and of free-form replies) go out through LangGraph's stream writer as {"token": text} or
{"reply": text}, so any UI can show them while they are written.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agent.answer import format_answer, revision_record, summary_line
from agent.candidates import collect_candidates
from agent.chat_model import RecommenderChatModel
from agent.claims import Evidence, check_claims, grounding_score, reason_for, referenced_labels, split_claims
from agent.context import Context
from agent.dispute import find_dispute
from agent.guard import WITHHELD_NOTE, LeakGuard
from agent.intent import classify_intent
from agent.planner import model_tool_calls, plan_tool_calls, planner_message
from agent.profile import extract_preferences
from agent.prompts import (
    DISPUTE_NOTE,
    INSTRUCTION,
    INTENT_SYSTEM_PROMPT,
    LABELS,
    REPLY_SYSTEM_PROMPT,
    SYSTEM_PROMPT,
    TOOL_SYSTEM_PROMPT,
    RecRequest,
    RenderedPrompt,
    Role,
    render_prompt,
)
from agent.ranking import rank_candidates, write_rationale
from agent.state import AgentState, Candidate, Pick, empty_profile
from agent.transcript import ANSWER_NAME, SUMMARY_KEY, conversation, last_user_message, turn_tool_results

Update = dict[str, Any]


def interpret(state: AgentState, runtime: Runtime[Context]) -> Update:
    """Classify the turn (request, dispute, accept, other) and add a request's preferences to the profile."""
    ctx = runtime.context
    message, hints = last_user_message(state.messages)
    update: Update = {"candidates": [], "dispute": None, "notes": []}
    if hints and state.picks:
        # A "That's wrong" button is an explicit dispute: no need to ask the model.
        update |= {"intent": "dispute", "intent_scores": {"dispute": 0.0}}
        return update
    intent, scores = classify_intent(
        ctx.llm,
        message,
        shown=[p["title"] for p in state.picks],
        has_picks=bool(state.picks),
        cue_weight=ctx.intent_cue_weight,
    )
    update |= {"intent": intent, "intent_scores": scores}
    if intent == "request":
        update["profile"] = extract_preferences(message, ctx.vocabulary)
    return update


def revise(state: AgentState, runtime: Runtime[Context]) -> Update:
    """Find what the user disputes; record it as a negative constraint (rejected items, unwanted words)."""
    ctx = runtime.context
    message, hints = last_user_message(state.messages)
    dispute = find_dispute(
        message,
        state.picks,
        state.claims,
        ctx.retrievers.dataset.items,
        item_id=hints.get("item_id"),
        claim=hints.get("claim"),
    )
    profile = extract_preferences(message, ctx.vocabulary)
    if dispute["kind"] == "claim":
        # "That's not true: <claim>" names what the user rejects: its words and brands are not wishes, and
        # searching for them brought the disputed subject back (the revision simulator saw it).
        profile = empty_profile()
    if dispute["attribute"]:
        profile["unwanted"] = [*profile["unwanted"], dispute["attribute"]]
    return {"dispute": dispute, "rejected": dispute["item_ids"], "profile": profile}


def plan(state: AgentState, runtime: Runtime[Context]) -> Update:
    """Write this turn's retrieval tool calls (the model's own when it can call tools, else the planner's)."""
    ctx = runtime.context
    message, _ = last_user_message(state.messages)
    exclude = [*_history_ids(state, ctx), *state.rejected]
    calls = []
    if ctx.tool_model is not None:
        recent = [m for m in state.messages if isinstance(m, HumanMessage)][-4:]
        calls = model_tool_calls(ctx.tool_model, recent, turn=state.turn)
    if not calls:
        # "Something else" searches around the best pick still standing, or else the latest history item.
        standing = [p["item_id"] for p in state.picks if p["item_id"] not in state.rejected]
        history = _history_ids(state, ctx)
        anchor = standing[0] if standing else (history[-1] if history else None)
        if state.dispute is not None and state.dispute["kind"] == "claim":
            message = ""  # search for what the user wanted before, not for the words of the claim they reject
        calls = plan_tool_calls(
            message,
            state.profile,
            turn=state.turn,
            user_id=state.user_id,
            anchor_item=anchor,
            search_k=ctx.search_k,
        )
    return {"messages": [planner_message(calls)], "exclude": exclude}


def reason(state: AgentState, runtime: Runtime[Context]) -> Update:
    """Pick the candidates from the tool results, then stream the rationale over them."""
    ctx = runtime.context
    candidates, notes = collect_candidates(
        turn_tool_results(state.messages),
        ctx.retrievers.dataset.items,
        exclude={*_history_ids(state, ctx), *state.rejected},
        profile=state.profile,
        limit=ctx.max_candidates,
    )
    if not candidates:
        return {"candidates": [], "notes": [*state.notes, *notes]}
    prompt = _prompt(state, ctx, candidates)
    writer = get_stream_writer()
    guard = LeakGuard(_instructions(ctx), emit=lambda t: writer({"token": t}))
    rationale = write_rationale(ctx.llm, prompt, ctx.rationale_tokens, on_token=guard.feed)
    guard.close()
    rationale, withheld = guard.clean(rationale)
    if withheld:
        notes.append(WITHHELD_NOTE)
    return {"candidates": candidates, "rationale": rationale, "notes": [*state.notes, *notes, *prompt.notes]}


def commit(state: AgentState, runtime: Runtime[Context]) -> Update:
    """Rank every candidate with one forward pass after the rationale; commit the top ones."""
    ctx = runtime.context
    prompt = _prompt(state, ctx, state.candidates)
    order, logprobs = rank_candidates(ctx.llm, prompt, state.rationale)
    if state.dispute is not None:
        order = _stable_revision(order, state)
    items = ctx.retrievers.dataset.items
    sentences = split_claims(state.rationale)
    picks: list[Pick] = []
    for item_id in order[: ctx.commit_top]:
        label = prompt.label_of(item_id)
        said = next((s for s in sentences if label in referenced_labels(s, prompt.labels)), "")
        picks.append(
            Pick(
                item_id=item_id,
                title=items[item_id].title,
                label=label,
                logprob=logprobs[item_id],
                reason=said,
                grounded=False,
            )
        )
    return {"picks": picks, "previous_picks": state.picks}


def verify(state: AgentState, runtime: Runtime[Context]) -> Update:
    """Check each claim of the rationale against its evidence; give each pick a reason from supported claims."""
    ctx = runtime.context
    items = ctx.retrievers.dataset.items
    labelled = {
        label: items[c["item_id"]] for label, c in zip(_labels(state.candidates), state.candidates, strict=True)
    }
    evidence = Evidence(
        candidates=labelled,
        history=ctx.history(state.user_id),
        conversation=[text for role, text in conversation(state.messages) if role == "user"],
    )
    claims = check_claims(state.rationale, evidence)
    picks: list[Pick] = []
    for pick in state.picks:
        text, grounded = reason_for(items[pick["item_id"]], pick["label"], claims, state.profile["wanted"])
        picks.append({**pick, "reason": text, "grounded": grounded})
    return {"claims": claims, "grounding": grounding_score(claims), "picks": picks}


def respond(state: AgentState, runtime: Runtime[Context]) -> Update:
    """Answer the user: recommendations with reasons and what changed, or a short free-form reply."""
    ctx = runtime.context
    update: Update = {"turn": state.turn + 1}
    if state.intent in ("accept", "other"):
        text = _reply(state, ctx)
        update["messages"] = [AIMessage(text, name=ANSWER_NAME, additional_kwargs={SUMMARY_KEY: text[:200]})]
        return update
    committed = bool(state.candidates)
    revision = None
    if state.dispute is not None and committed:
        revision = revision_record(state.turn, state.dispute, state.previous_picks, state.picks)
        update["revisions"] = [revision]
    if committed:
        text = format_answer(state.picks, state.claims, state.grounding, revision, state.notes)
    else:
        text = format_answer([], [], None, None, state.notes)
    summary = summary_line(state.picks if committed else [])
    update["messages"] = [AIMessage(text, name=ANSWER_NAME, additional_kwargs={SUMMARY_KEY: summary})]
    return update


def _reply(state: AgentState, ctx: Context) -> str:
    if state.intent == "accept" and state.picks:
        top = state.picks[0]["title"]
        return f"Glad that works. “{top}” it is; ask me any time for something else."
    chat = RecommenderChatModel(llm=ctx.llm, max_tokens=ctx.reply_tokens)
    message, _ = last_user_message(state.messages)
    writer = get_stream_writer()
    guard = LeakGuard(_instructions(ctx), emit=lambda t: writer({"reply": t}))
    pieces: list[str] = []
    system = SystemMessage(REPLY_SYSTEM_PROMPT.format(domain=ctx.domain))
    for chunk in chat.stream([system, HumanMessage(message[:500])]):
        pieces.append(chunk.text)
        guard.feed(chunk.text)
    guard.close()
    text, _ = guard.clean("".join(pieces))
    text = text.strip() or "I can recommend items from the catalog."
    return text + "\n\nTell me what you are looking for and I will search the catalog."


def _instructions(ctx: Context) -> list[str]:
    """The agent's own instructions, which no answer may recite (agent/guard.py)."""
    return [
        SYSTEM_PROMPT,
        INSTRUCTION,
        INTENT_SYSTEM_PROMPT,
        TOOL_SYSTEM_PROMPT,
        REPLY_SYSTEM_PROMPT.format(domain=ctx.domain),
    ]


def _stable_revision(order: tuple[str, ...], state: AgentState) -> tuple[str, ...]:
    """A revision changes what was disputed, not the rest: undisputed picks that are still candidates keep their
    places at the top (in their old order), and the new ranking fills the freed slots."""
    kept = [p["item_id"] for p in state.picks if p["item_id"] in order and p["item_id"] not in state.rejected]
    return (*kept, *(i for i in order if i not in kept))


def _history_ids(state: AgentState, ctx: Context) -> list[str]:
    return [item.item_id for item in ctx.history(state.user_id)]


def _labels(candidates: list[Candidate]) -> tuple[str, ...]:
    return LABELS[: len(candidates)]


def _prompt(state: AgentState, ctx: Context, candidates: list[Candidate]) -> RenderedPrompt:
    """The rationale prompt; reason and commit render it identically, so ranking reuses the KV cache."""
    items = ctx.retrievers.dataset.items
    turns: list[tuple[Role, str]] = conversation(state.messages)
    if state.dispute is not None and turns:
        what = state.dispute["claim"] or state.dispute["attribute"] or state.dispute["message"]
        role, text = turns[-1]
        turns[-1] = (role, text + "\n" + DISPUTE_NOTE.format(what=what))
    request = RecRequest(
        history=ctx.history(state.user_id),
        candidates=[items[c["item_id"]] for c in candidates],
        conversation=turns,
        domain=ctx.domain,
    )
    return render_prompt(
        ctx.llm.tokenizer, request, context_tokens=ctx.context_tokens, reserve_tokens=ctx.rationale_tokens
    )
