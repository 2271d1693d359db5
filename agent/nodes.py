"""The graph's nodes: one function per step of a turn (DESIGN.md, "Data flow of one turn").

Each node reads the state and the run-time `Context`, and returns only the fields it changes. Tokens of the
rationale (and of free-form replies) go out through LangGraph's stream writer as {"token": text} or
{"reply": text}, so any UI can show them while they are written.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agent.answer import format_answer, pick_reason, revision_record, summary_line
from agent.candidates import collect_candidates
from agent.chat_model import RecommenderChatModel
from agent.context import Context
from agent.dispute import (
    DisputeKind,
    asks_similar,
    corrected_claim,
    dispute_preferences,
    find_dispute,
    referenced_picks,
    similar_pick,
    wish_part,
)
from agent.dispute_kind_model import learned_kind
from agent.evidence import asked_text, links_for
from agent.guard import WITHHELD_NOTE, LeakGuard
from agent.intent import aside_kind, classify_intent
from agent.item_kind import KIND_STEP, category_word, head_kinds, kind_score, kind_scores, named_things
from agent.language import COMPLAINT_WORDS, singular, thing_part, word_parts
from agent.off_topic import ASIDE_REPLIES, OFF_TOPIC_REPLIES, off_topic_reason
from agent.phrase_model import RulesReading, claim_phrases, phrase_words, served_phrases, with_filter_words
from agent.pick_model import point_at, repoint, rules_pointed
from agent.planner import model_tool_calls, plan_tool_calls, planner_message
from agent.prior import fixed_top, order_by, prior_features
from agent.profile import naming_values, violation, wanted_phrases
from agent.prompts import REPLY_SYSTEM_PROMPT, RecRequest, Role, agent_instructions
from agent.question import answer_question
from agent.ranking import LOOP_NOTE, check, explain, label_of, rank, show, shown_label
from agent.requested_thing import request_profile
from agent.state import AgentState, Candidate, Dispute, Intent, Pick, Profile, Shown
from agent.transcript import ANSWER_NAME, SUMMARY_KEY, conversation, last_user_message, turn_tool_results
from agent.unsupported import CATALOG_LACKS, unsupported_constraints
from tools.catalog import Item
from tools.hard_negatives import history_query

log = logging.getLogger(__name__)

Update = dict[str, Any]


def interpret(state: AgentState, runtime: Runtime[Context]) -> Update:
    """Classify the turn (request, dispute, accept, other) and add a request's preferences to the profile."""
    ctx = runtime.context
    message = last_user_message(state.messages)
    update: Update = {"candidates": [], "shown": None, "dispute": None, "notes": [], "asked": None}
    if state.button and state.picks:
        # A "That's wrong" button is an explicit dispute: no need to ask the model.
        update |= {"intent": "dispute", "intent_scores": {"dispute": 0.0}}
        return update
    intent, scores = _intent(state, ctx, message)
    update |= {"intent": intent, "intent_scores": scores}
    corrected, changes = _spelled(ctx, message)
    if intent == "request":
        # With the thing it names: a request for another product replaces the old one's wishes (agent/state.py).
        labels = [p["label"] for p in state.picks]
        profile = request_profile(corrected, ctx.vocabulary, labels)
        rules = RulesReading("request", wanted_phrases(corrected, ctx.vocabulary, labels), profile["unwanted"], labels)
        asked = _asked(ctx, corrected, rules, profile)
        update |= {"profile": profile, "asked": asked}
    if intent in ("request", "dispute"):
        lacking = [CATALOG_LACKS[kind] for kind in unsupported_constraints(message)]
        update["notes"] = [f"{note[0].upper()}{note[1:]}." for note in lacking]
        if changes:
            read = ", ".join(f"“{typed}” as “{fixed}”" for typed, fixed in changes)
            update["notes"].append(f"Read {read}.")
    return update


def _asked(ctx: Context, message: str, rules: RulesReading, profile: Profile | None = None) -> list[str] | None:
    """The wanted words of a request or of a dispute's wishes as the learned phrase tagger reads them (it reads them
    better than the rules: README, "Understanding what the user says"; `rules` is the rules' reading of `message`),
    with `profile`'s filter words, which then become its wanted words (and its ruled-out phrases those of
    agent/phrase_model.py `served_phrases`); None without a tagger (the rules' words stand)."""
    if ctx.phrase_model is None or ctx.encoder is None:
        return None
    try:
        brands = naming_values(rules.unwanted, ctx.vocabulary)
        wanted, unwanted = served_phrases(ctx.phrase_model, ctx.encoder, message, rules, brands)
        words = phrase_words(wanted, rules.labels)
    except Exception as exc:  # noqa: BLE001 - an encoder that fails must not lose the turn: the rules still read it
        log.warning("phrase tagger failed (%s); reading the wanted words by the rules", exc)
        return None
    if profile is not None:
        profile["unwanted"] = unwanted  # the tagger's, and the brands the rules rule out (`served_phrases`)
        words = with_filter_words(words, profile)
        profile["wanted"] = words
    return words


def _spelled(ctx: Context, message: str) -> tuple[str, list[tuple[str, str]]]:
    """The message with its typos corrected against the catalog's words, and what changed."""
    return ctx.speller.correct(message) if ctx.speller is not None else (message, [])


def _intent(state: AgentState, ctx: Context, message: str) -> tuple[Intent, dict[str, float]]:
    """The learned classifier's intent when one is shipped (it reads intents better: README, "Understanding"),
    else the model's label scores plus the cue rules."""
    if off_topic_reason(message) is not None:  # instructions, a link, code, another language: no classifier
        return "other", {"other": 0.0}
    if ctx.intent_model is not None and ctx.encoder is not None:
        try:
            found, scores = ctx.intent_model.classify(ctx.encoder, message, bool(state.picks))
            return cast(Intent, found), scores
        except Exception as exc:  # noqa: BLE001 - an encoder that fails must not lose the turn: the older reading works
            log.warning("intent classifier failed (%s); reading the intent by the model's labels", exc)
    return classify_intent(
        ctx.llm,
        message,
        shown=[p["title"] for p in state.picks],
        has_picks=bool(state.picks),
        cue_weight=ctx.intent_cue_weight,
    )


def _dispute_kind(ctx: Context, message: str) -> DisputeKind | None:
    """The learned classifier's dispute kind when one is shipped (it reads kinds better: agent/dispute_kind_model.py),
    else None: the rules of agent/dispute.py decide."""
    try:
        return learned_kind(ctx.dispute_kind_model, ctx.encoder, message)
    except Exception as exc:  # noqa: BLE001 - an encoder that fails must not lose the turn: the rules still read it
        log.warning("dispute kind classifier failed (%s); reading the kind by the rules", exc)
        return None


def revise(state: AgentState, runtime: Runtime[Context]) -> Update:
    """Find what the user disputes; record it as a negative constraint (rejected items, unwanted words)."""
    ctx = runtime.context
    message = last_user_message(state.messages)
    button = state.button or {}
    spelled, _ = _spelled(ctx, message)
    # The dispute is read from the message as spelled, as `read_message` reads it ("scratch the thrid one").
    dispute = find_dispute(
        spelled,
        state.picks,
        state.claims,
        ctx.retrievers.dataset.items,
        item_id=button.get("item_id"),
        claim=button.get("claim"),
        kind=_dispute_kind(ctx, message),
    )
    dispute["message"] = message  # quoted back to the user as typed
    if not button and ctx.pick_model is not None:
        pointed = _pointed(ctx, spelled, state.picks, "dispute", dispute)
        dispute = repoint(dispute, pointed, state.picks)
    profile = dispute_preferences(message, dispute, state.picks, ctx.vocabulary)
    asked = None
    labels = [p["label"] for p in state.picks]
    thing = None
    if dispute["kind"] in ("item", "attribute"):
        thing = request_profile(spelled, ctx.vocabulary, labels).get("thing")
    if dispute["kind"] != "claim" and corrected_claim(spelled, state.picks) is None:
        # The wishes as `read_message` reads them (agent/understanding.py): the learned tagger's when one is shipped.
        wishes = wanted_phrases(wish_part(spelled, dispute), ctx.vocabulary, labels, COMPLAINT_WORDS)
        rules = RulesReading("dispute", wishes, profile["unwanted"], labels, dispute["kind"])
        asked = _asked(ctx, spelled, rules, profile)
    elif dispute["kind"] == "claim":
        asked = _claimed(ctx, spelled, state.picks, profile)
    wished = {singular(word) for phrase in profile["wanted"] for word in word_parts(phrase)}
    if thing and {singular(word) for word in thing} <= wished:
        # A dispute that names another product ("a hoodie, nothing for kids" after jeans) starts over its wishes, as
        # a request for it does (agent/state.py `merge_profile`): kept, the jeans' words searched "hoodie men bootcut
        # jeans" and a jean came third among the hoodies. Only a thing it wishes for: "scrap all three and start
        # over" named the thing "start", which emptied the wishes, and the revision searched nothing.
        profile["thing"] = thing
    return {"dispute": dispute, "rejected": dispute["item_ids"], "profile": profile, "asked": asked}


def _pointed(ctx: Context, spelled: str, picks: Sequence[Pick], intent: str, dispute: Dispute | None) -> str | None:
    """The pick the message is about as `read_message` reads it: the learned pointer's (agent/pick_model.py) when one
    is shipped, else the rules' when they read one pick."""
    rules = rules_pointed(spelled, picks, dispute)
    try:
        return point_at(ctx.pick_model, spelled, picks, intent, dispute, rules)
    except Exception as exc:  # noqa: BLE001 - a pointer that fails must not lose the turn: the rules still point
        log.warning("pick pointer failed (%s); the rules point", exc)
        return rules[0] if len(rules) == 1 else None


def _similar_to(ctx: Context, message: str, picks: Sequence[Pick]) -> str | None:
    """The pick a request asks for more like ("more like the second one"), else None: the pointer's pick when one is
    shipped, as `read_message` reads the pick of a request."""
    if ctx.pick_model is None:
        return similar_pick(message, picks)
    if not picks or not asks_similar(message):
        return None
    return _pointed(ctx, _spelled(ctx, message)[0], picks, "request", None)


def _claimed(ctx: Context, message: str, picks: Sequence[Pick], profile: Profile) -> list[str] | None:
    """A claim dispute's wishes as `read_message` reads them (agent/phrase_model.py `claim_phrases`): a correction's
    by the rules ("a pH meter is not a multimeter"), else the tagger's ("you called B autoclavable, it isn't"), which
    the planner searches for; None where the rules' wishes stand or there is no tagger."""
    if ctx.phrase_model is None or ctx.encoder is None:
        return None
    labels = [p["label"] for p in picks]
    corrected = corrected_claim(message, picks)
    rules = RulesReading("dispute", corrected[0] if corrected else [], list(profile["unwanted"]), labels, "claim")
    try:
        wanted, _ = claim_phrases(ctx.phrase_model, ctx.encoder, message, rules)
    except Exception as exc:  # noqa: BLE001 - an encoder that fails must not lose the turn: the rules still read it
        log.warning("phrase tagger failed (%s); reading the claim by the rules", exc)
        return None
    if rules.wanted:
        return None  # the correction's words (agent/dispute.py `dispute_preferences`)
    profile["wanted"] = phrase_words(wanted, labels)
    return profile["wanted"] or None


def plan(state: AgentState, runtime: Runtime[Context]) -> Update:
    """Write this turn's retrieval tool calls (the model's own when it can call tools, else the planner's)."""
    ctx = runtime.context
    message, _ = _spelled(ctx, last_user_message(state.messages))
    history = [item.item_id for item in ctx.history(state.user_id)]
    exclude = [*history, *state.rejected]
    calls = []
    if ctx.tool_model is not None:
        recent = [m for m in state.messages if isinstance(m, HumanMessage)][-4:]
        calls = model_tool_calls(ctx.tool_model, recent, turn=state.turn)
    if not calls:
        # "Something else" searches around the best pick still standing, or else the latest history item.
        standing = [p["item_id"] for p in state.picks if p["item_id"] not in state.rejected]
        anchor = standing[0] if standing else (history[-1] if history else None)
        if state.dispute is not None and (state.dispute["kind"] == "claim" or corrected_claim(message, state.picks)):
            # Search for what the user wants (the profile: before, and what a correction keeps wanting), not for
            # the words of the claim they reject: "a pH meter is not a multimeter" searched "ph meter" and
            # committed pH meters.
            message = ""
        calls = plan_tool_calls(
            message,
            state.profile,
            turn=state.turn,
            user_id=state.user_id,
            anchor_item=anchor,
            search_k=ctx.search_k,
            similar_to=_similar_to(ctx, message, state.picks) if state.intent == "request" else None,
            labels=[p["label"] for p in state.picks],
            asked=state.asked,
        )
    return {"messages": [planner_message(calls)], "exclude": exclude, "history": history}


def reason(state: AgentState, runtime: Runtime[Context]) -> Update:
    """Pick the candidates from the tool results, render the prompt once, then stream the rationale over it."""
    ctx = runtime.context
    found, notes = collect_candidates(
        turn_tool_results(state.messages),
        ctx.retrievers.dataset.items,
        exclude=set(state.exclude),
        profile=state.profile,
    )
    found = [*found, *_undisputed(state, ctx, found)]
    if not found:
        return {"candidates": [], "shown": None, "notes": [*state.notes, *notes]}
    # Every source's candidates, in the prior's order; the model reads the best max_candidates of them.
    candidates = _prior_ordered(state, ctx, found)[: ctx.max_candidates]
    if ctx.calibration is None and ctx.prior is not None:
        notes.append(
            f"the model's label scores are not calibrated for {ctx.domain} yet, so the picks follow the prior's order "
            f"(`llmrec train calibrate --domain {ctx.domain}`)"
        )
    shown = show(
        ctx.llm.tokenizer,
        _request(state, ctx, candidates),
        context_tokens=ctx.context_tokens,
        rationale_tokens=ctx.rationale_tokens,
    )
    writer = get_stream_writer()
    explanation = explain(
        ctx.llm,
        shown,
        max_tokens=ctx.rationale_tokens,
        protected=agent_instructions(ctx.domain),
        items=ctx.retrievers.dataset.items,
        on_token=lambda t: writer({"token": t}),
        pick=shown_label(shown, _committed_top(state, ctx, candidates)),
    )
    if explanation.withheld:
        notes.append(WITHHELD_NOTE)
    if explanation.stopped_repeat:
        notes.append(LOOP_NOTE)
    return {
        "candidates": candidates,
        "shown": shown,
        "rationale": explanation.rationale,
        "notes": [*state.notes, *notes, *shown["notes"]],
    }


def _committed_top(state: AgentState, ctx: Context, candidates: list[Candidate]) -> str | None:
    """The candidate `commit` will put first whatever the model's labels say, when that is known before they are
    read: after a dispute, the first undisputed pick still standing (`_stable_revision` keeps it on top); else the
    prior's best when the calibrated label term cannot overturn its lead (agent/prior.py `fixed_top`); None when
    there is no prior (the labels alone order the picks)."""
    if state.dispute is not None:
        ids = {c["item_id"] for c in candidates}
        kept = [p["item_id"] for p in state.picks if p["item_id"] in ids and p["item_id"] not in state.rejected]
        if kept:
            return kept[0]
    if ctx.prior is None:
        return None
    index = fixed_top([c.get("prior", 0.0) for c in candidates], ctx.calibration)
    return candidates[index]["item_id"] if index is not None else None


def commit(state: AgentState, runtime: Runtime[Context]) -> Update:
    """Rank every shown candidate with one forward pass after the rationale; commit the top ones."""
    ctx = runtime.context
    shown = _shown(state)
    ranked = rank(ctx.llm, shown, state.rationale)
    prior = np.array([c.get("prior", 0.0) for c in state.candidates], dtype=np.float64)
    if ctx.calibration is not None:
        logprobs = [ranked.logprobs[i] for i in shown["candidate_ids"]]
        committed = order_by(shown["candidate_ids"], ctx.calibration.combine(prior, shown["labels"], logprobs))
    elif ctx.prior is not None:
        committed = order_by(shown["candidate_ids"], prior)
    else:
        committed = list(ranked.order)
    order = _stable_revision(tuple(committed), state) if state.dispute is not None else tuple(committed)
    items = ctx.retrievers.dataset.items
    picks = [
        Pick(
            item_id=item_id,
            title=items[item_id].title,
            label=label_of(shown, item_id),
            logprob=ranked.logprobs[item_id],
            reason="",  # `verify` gives each pick its reason, from the claims it checks
            grounded=False,
        )
        for item_id in order[: ctx.commit_top]
    ]
    return {"picks": picks, "previous_picks": state.picks}


def verify(state: AgentState, runtime: Runtime[Context]) -> Update:
    """Check each claim of the rationale against what the prompt showed; measure the rationale's trust figures;
    give each pick its reason: a true claim that ties it to the user, else its links in words."""
    items = runtime.context.retrievers.dataset.items
    shown = _shown(state)
    top = state.picks[0]["item_id"] if state.picks else None
    checked = check(shown, state.rationale, items, top)
    history = {i: items[i] for i in shown["history_ids"]}
    picks: list[Pick] = []
    for pick in state.picks:
        links = shown["links"][shown["candidate_ids"].index(pick["item_id"])] if shown["links"] else []
        text, grounded = pick_reason(items[pick["item_id"]], checked.claims, links, history, state.profile["wanted"])
        picks.append({**pick, "reason": text, "grounded": grounded})
    figures = checked.trust
    return {
        "claims": checked.claims,
        "grounding": checked.grounding,
        "trust": {
            "copy_rate": figures.copy_rate,
            "repeats": figures.repeats,
            "coverage": figures.coverage,
            "lexical": figures.lexical,
        },
        "picks": picks,
    }


def respond(state: AgentState, runtime: Runtime[Context]) -> Update:
    """Answer the user: recommendations with reasons and what changed, or a short free-form reply."""
    ctx = runtime.context
    update: Update = {"turn": state.turn + 1}
    if state.intent == "question":
        message = last_user_message(state.messages)
        pointed = None
        if ctx.pick_model is not None:  # the pick the question is about, as `read_message` reads it
            found = _pointed(ctx, _spelled(ctx, message)[0], state.picks, "question", None)
            pointed = [found] if found is not None else []
        text = answer_question(message, state.picks, ctx.retrievers.dataset.items, pointed)
        update["messages"] = [AIMessage(text, name=ANSWER_NAME, additional_kwargs={SUMMARY_KEY: text[:200]})]
        return update
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
    message = last_user_message(state.messages)
    if state.intent == "accept" and state.picks:
        # The pick the user settles on ("lock in the second one", "I'll take the Fluke"), the first when none is
        # named ("sold!"): naming the top pick answered "lock in the second one" with the first one's title.
        pointed = _pointed(ctx, _spelled(ctx, message)[0], state.picks, "accept", None) if ctx.pick_model else None
        chosen = pointed or referenced_picks(message, state.picks)[0]
        title = next(p["title"] for p in state.picks if p["item_id"] == chosen)
        return f"Glad that works. “{title}” it is; ask me any time for something else."
    off_topic = off_topic_reason(message)
    if off_topic is not None:
        return OFF_TOPIC_REPLIES[off_topic].format(domain=ctx.domain)
    aside = aside_kind(message)
    if aside is not None:
        return ASIDE_REPLIES[aside].format(domain=ctx.domain)
    chat = RecommenderChatModel(llm=ctx.llm, max_tokens=ctx.reply_tokens)
    writer = get_stream_writer()
    guard = LeakGuard(agent_instructions(ctx.domain), emit=lambda t: writer({"reply": t}))
    pieces: list[str] = []
    system = SystemMessage(REPLY_SYSTEM_PROMPT.format(domain=ctx.domain))
    for chunk in chat.stream([system, HumanMessage(message[:500])]):
        pieces.append(chunk.text)
        guard.feed(chunk.text)
    guard.close()
    text, _ = guard.clean("".join(pieces))
    text = text.strip() or "I can recommend items from the catalog."
    return text + "\n\nTell me what you are looking for and I will search the catalog."


def _undisputed(state: AgentState, ctx: Context, found: list[Candidate]) -> list[Candidate]:
    """After a dispute, the last answer's picks that were not disputed and that this turn's searches did not return:
    candidates still, so that `_stable_revision` can keep them. The revision searches again from the profile, and a
    search can miss what the first turn found by another query: "a pH meter is not a multimeter" (about none of the
    picks) searched "multimeter electronics hobby work" only, and the OWON B35T, found the first time by the
    search for "multimeter" alone, was dropped for a battery gauge. Not kept: what is now ruled out or excluded, and
    what is not the thing the profile now asks for (a dispute that names another product starts over).

    So too after a request that asks for nothing new to search ("under 50 dollars please": the catalog has no
    prices, the answer says so, and the list should stand; it lost the B35T the same way)."""
    refines = (
        state.intent == "request"
        and not state.asked
        and _similar_to(ctx, last_user_message(state.messages), state.picks) is None
    )
    if state.dispute is None and not refines:
        return []
    items = ctx.retrievers.dataset.items
    have = {c["item_id"] for c in found} | set(state.exclude) | set(state.rejected)
    thing = [singular(word) for word in state.profile.get("thing", [])]
    kept = []
    for pick in state.picks:
        item = items.get(pick["item_id"])
        if item is None or item.item_id in have or violation(item, state.profile) is not None:
            continue
        if thing and kind_score(item, thing) == 0:
            continue
        kept.append(Candidate(item_id=item.item_id, title=item.title, score=0.0, source="last_answer", prior=0.0))
    return kept


def _stable_revision(order: tuple[str, ...], state: AgentState) -> tuple[str, ...]:
    """A revision changes what was disputed, not the rest: undisputed picks that are still candidates keep their
    places at the top (in their old order), and the new ranking fills the freed slots."""
    kept = [p["item_id"] for p in state.picks if p["item_id"] in order and p["item_id"] not in state.rejected]
    return (*kept, *(i for i in order if i not in kept))


def _prior_ordered(state: AgentState, ctx: Context, candidates: list[Candidate]) -> list[Candidate]:
    """`candidates` with their prior scores, best first (retrieval order when no prior is loaded)."""
    if ctx.prior is None:
        return candidates
    ids = [c["item_id"] for c in candidates]
    features = prior_features(
        ids,
        history=state.history,
        query=_turn_query(state, ctx),
        retrievers=ctx.retrievers,
        seqrec=ctx.retrievers.sequential(progress=False),
        cooccur=ctx.retrievers.cooccurrence(),
    )
    items = ctx.retrievers.dataset.items
    shown = [items[i] for i in ids]
    # The thing the request names comes first, then the prior's order within each tier (agent/item_kind.py):
    # KIND_STEP is far above the prior's spread (weighted z-scores, a few units) and the calibrated LLM term
    # (|weight| 0.05 x label log-probabilities within ~10 nats), so nothing outweighs what the user asked for.
    kinds = np.asarray(kind_scores(shown, _turn_things(state, ctx, shown, items)), dtype=np.float64)
    scores = ctx.prior.scores(features) + KIND_STEP * kinds
    scored = [Candidate(**{**c, "prior": float(s)}) for c, s in zip(candidates, scores, strict=True)]
    by_id = {c["item_id"]: c for c in scored}
    return [by_id[i] for i in order_by(ids, scores)]


def _turn_things(state: AgentState, ctx: Context, shown: list[Item], items: Mapping[str, Item]) -> list[str]:
    """The things this turn asks for, as word keys of kinds among the candidates: the words before a request's
    first purpose word ("a good multimeter | for electronics hobby work"), else all its wishes; for a dispute, or a
    request that names no kind ("in black"), the conversation's wishes. For "more like the second one", the kind of
    that pick: the user asked for what resembles it, not for the first request's thing, and what is bought with a
    multimeter (cutting fluid, snap rings: the co-purchase half of `similar_items`) is no multimeter."""
    message = last_user_message(state.messages)
    wanted = {singular(p) for phrase in state.profile["wanted"] for p in word_parts(phrase)}
    if state.intent == "request":
        anchor = _similar_to(ctx, message, state.picks)
        if anchor is not None:
            item = items.get(anchor)
            kinds = [*head_kinds(item.title), category_word(item)] if item is not None else []
            return named_things([k for k in kinds if k], shown)
        asked = [w for w in word_parts(thing_part(message)) if singular(w) in wanted]
        for words in (asked, [w for w in word_parts(message) if singular(w) in wanted]):
            things = named_things(words, shown)
            if things:
                return things
    return named_things([p for phrase in state.profile["wanted"] for p in word_parts(phrase)], shown)


def _turn_query(state: AgentState, ctx: Context) -> str:
    """What this turn searched the catalog for (the planner's or the model's query), else the history's titles."""
    for message in reversed(state.messages):
        if isinstance(message, HumanMessage):
            break
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                if call["name"] == "search_catalog" and str(call["args"].get("query", "")).strip():
                    return str(call["args"]["query"])
    return history_query(state.history, ctx.retrievers.dataset.items)


def _shown(state: AgentState) -> Shown:
    if state.shown is None:
        raise ValueError("commit and verify need the record `reason` keeps of what the model was shown")
    return state.shown


def _request(state: AgentState, ctx: Context, candidates: list[Candidate]) -> RecRequest:
    """What the model sees this turn: the user's history, the conversation, the candidates, any dispute."""
    items = ctx.retrievers.dataset.items
    turns: list[tuple[Role, str]] = conversation(state.messages)
    dispute = None
    if state.dispute is not None and turns:
        dispute = state.dispute["claim"] or state.dispute["attribute"] or state.dispute["message"]
    history = [items[i] for i in state.history]
    shown = [items[c["item_id"]] for c in candidates]
    asked = asked_text(turns, dispute is not None, [r["dispute"]["message"] for r in state.revisions])
    if state.dispute is not None:
        # What the dispute itself asks for ("a hoodie, nothing for kids" -> hoodie; "a pH meter is not a
        # multimeter" -> multimeter), read as `revise` read it, beside the request before it: without it the
        # hoodies were argued for as "has "men", as you asked" from the jeans request two turns back.
        wishes = dispute_preferences(state.dispute["message"], state.dispute, state.picks, ctx.vocabulary)["wanted"]
        asked = ". ".join([asked, " ".join(wishes)])  # a sentence of its own: "anything but levi's" scopes no wish
    return RecRequest(
        history=history,
        candidates=shown,
        conversation=turns,
        domain=ctx.domain,
        dispute=dispute,
        links=links_for(
            shown,
            history,
            request_text=asked,
            catalog=items,
            cooccur=ctx.retrievers.cooccurrence(),
        ),
    )
