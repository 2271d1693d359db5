"""Annotation rows -> supervised fine-tuning examples, rendered by the serving prompt code so the texts never drift.

One accepted annotation row (user history, known target, teacher rationale) becomes one example:

    candidates  the target plus `num_negatives` items the user never touched, drawn uniformly from the catalog and
                shuffled, both seeded by (seed, user, target), so the target's label is uniform over A..T; or, for a
                seeded share `hard_negative_share` of the examples, the hybrid retriever's top 20 for the history
                with the target put in when missed: the candidates the agent (and the rerank protocol) re-ranks
    prompt      `agent.ranking.show(...)`: the agent's one pass renders it, so it is exactly the text a served turn
                and an evaluated case of the same inputs send before the rationale (a row may carry its own
                `candidates` and `conversation`: [[role, text], ...])
    completion  the rationale, then "\\nAnswer: X" (`agent.prompts.training_text`): the only tokens with a loss

Evaluation users are refused outright (`tools.splits.is_eval_user`): an adapter that has seen a test user's held-out
item would make every figure in the README a leak.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.evidence import asked_text, links_for
from agent.prompts import ChatTokenizer, RecRequest, Role, training_text
from agent.ranking import label_of, show
from tools.catalog import Dataset
from tools.cooccur import CoOccurrence
from tools.hard_negatives import history_query, retrieved_candidates

if TYPE_CHECKING:  # tools.search loads Qdrant and BM25, which a uniform-negatives run never needs
    from tools.search import Retriever

log = logging.getLogger(__name__)

IGNORE_INDEX = -100
"""Label of a token without loss (the prompt, the padding): what torch's cross-entropy and transformers skip."""

_REQUIRED_FIELDS = ("domain", "user_id", "target", "history", "rationale", "accepted")


class SFTDataError(ValueError):
    """Annotation rows that cannot become training examples: malformed, unknown items, or evaluation users."""


@dataclass(frozen=True)
class BuildStats:
    """What building the examples skipped or changed, for run.json."""

    rows: int
    accepted: int
    examples: int
    longer_reserve: int
    """Rationales too long for the serving reserve: their prompt was rendered with a larger one to fit."""
    hard_negatives: int = 0
    """Examples whose candidates came from the retriever (`hard_negative_share`)."""
    retriever_found: int = 0
    """Of those, how many the retriever found the target for by itself (the rest had it put in)."""


def read_annotations(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every row of the JSONL files (gzipped when named *.gz), in order; a line that is not a JSON object names its
    file and line."""
    rows: list[dict[str, Any]] = []
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SFTDataError(f"{path}:{n}: not a JSON line ({exc.msg})") from exc
                if not isinstance(row, dict):
                    raise SFTDataError(f"{path}:{n}: expected a JSON object, got {type(row).__name__}")
                missing = [k for k in _REQUIRED_FIELDS if k not in row]
                if missing:
                    raise SFTDataError(f"{path}:{n}: annotation row lacks {', '.join(missing)}")
                rows.append(row)
    return rows


def check_no_eval_users(rows: Iterable[Mapping[str, Any]], seed: int) -> None:
    """Raise SFTDataError if any row belongs to a user that evaluation holds out under the split seed `seed`."""
    from tools.splits import is_eval_user

    leaked = sorted({str(r["user_id"]) for r in rows if is_eval_user(str(r["user_id"]), seed)})
    if leaked:
        shown = ", ".join(leaked[:5]) + (f" and {len(leaked) - 5} more" if len(leaked) > 5 else "")
        raise SFTDataError(
            f"{len(leaked)} annotated users are evaluation users for seed {seed} ({shown}); training on them "
            "would leak their held-out items into every evaluation. Annotate training users only."
        )


def _rng(seed: int, user_id: str, target: str, purpose: str = "sft") -> random.Random:
    # sha256, not hash(): Python salts str hashes per process, and the examples must repeat across runs.
    digest = hashlib.sha256(f"{seed}:{purpose}:{user_id}:{target}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def wants_hard_negatives(seed: int, user_id: str, target: str, share: float) -> bool:
    """Whether this pair's candidates come from the retriever: a seeded coin of its own, so that a share of 0
    leaves every uniform example (and the data hash of older recipes) exactly as it was."""
    return share > 0 and _rng(seed, user_id, target, "sft-hard").random() < share


def sample_candidates(
    dataset: Dataset, user_items: set[str], target: str, *, seed: int, user_id: str, num_negatives: int
) -> list[str]:
    """The target plus `num_negatives` catalog items outside `user_items`, in a seeded random order."""
    pool = sorted(i for i in dataset.items if i not in user_items and i != target)
    if len(pool) < num_negatives:
        raise SFTDataError(f"{dataset.domain}: only {len(pool)} items outside user {user_id}'s history")
    rng = _rng(seed, user_id, target)
    candidates = [target, *rng.sample(pool, num_negatives)]
    rng.shuffle(candidates)
    return candidates


def build_sft_examples(
    rows: Sequence[Mapping[str, Any]],
    dataset: Dataset,
    tokenizer: ChatTokenizer,
    *,
    seed: int,
    num_negatives: int = 19,
    context_tokens: int = 2048,
    rationale_tokens: int = 96,
    split_seed: int | None = None,
    stats: list[BuildStats] | None = None,
    hard_negative_share: float = 0.0,
    retriever: Retriever | None = None,
    found_only: bool = False,
) -> list[dict[str, Any]]:
    """One {"prompt", "completion", "user_id", "target", "label", "domain", "candidate_ids"} per accepted row.

    The prompt is rendered as serving renders it (`context_tokens`, `rationale_tokens` reserved for the rationale),
    so `prompt + completion == answer_prompt(show(...)["prompt"], rationale) + " " + label`. `seed` draws the
    negatives and their order. Raises SFTDataError for a row of an evaluation user under `split_seed` (default: the
    project seed, LLMREC_SEED, which `llmrec eval` and `llmrec train annotate` split users by), a row of another
    domain, or an item id not in the catalog. When `stats` is a list, a BuildStats is appended to it.

    With `hard_negative_share` > 0, that seeded share of the examples takes its candidates from `retriever` (the
    domain's hybrid retriever, as `evals/rerank.py` uses it): the top `num_negatives + 1` for the history titles,
    the user's other items left out, the target put in place of the last when missed, then shuffled. With
    `found_only`, a pair whose target the retriever missed keeps uniform negatives instead: a put-in target is the
    one candidate unlike the history, a shortcut that a model learns and then applies where it is wrong.
    """
    if hard_negative_share > 0 and retriever is None:
        raise ValueError("hard_negative_share > 0 needs the domain's retriever")
    if split_seed is None:
        from tools.settings import DataSettings

        split_seed = DataSettings().seed
    check_no_eval_users(rows, split_seed)
    users = {u.user_id: u for u in dataset.users}
    # The links' co-occurrence counts, over the training interactions, as the agent counts them.
    cooccur = CoOccurrence.of(dataset) if dataset.users else None
    examples: list[dict[str, Any]] = []
    accepted = longer = hard = found = 0
    for row in rows:
        if not row["accepted"]:
            continue
        accepted += 1
        user_id, target = str(row["user_id"]), str(row["target"])
        if row["domain"] != dataset.domain:
            raise SFTDataError(f"row of user {user_id} is in domain {row['domain']!r}, not {dataset.domain!r}")
        history_ids = [str(i) for i in row["history"]]
        unknown = [i for i in [*history_ids, target] if i not in dataset.items]
        if unknown:
            raise SFTDataError(f"row of user {user_id} names items not in the {dataset.domain} catalog: {unknown[:3]}")
        user_items = {*history_ids, target}
        if user_id in users:
            user_items |= set(users[user_id].all_items)
        candidate_ids = _given_candidates(row, dataset, target)
        if candidate_ids is None:
            drawn = draw_candidates(
                dataset,
                user_items,
                target,
                history_ids,
                seed=seed,
                user_id=user_id,
                num_negatives=num_negatives,
                hard_negative_share=hard_negative_share,
                retriever=retriever,
                found_only=found_only,
            )
            candidate_ids = drawn.ids
            hard += drawn.hard
            found += drawn.found
        conversation = _conversation(row, user_id)
        dispute = None if row.get("dispute") is None else str(row["dispute"])
        request = example_request(dataset, history_ids, candidate_ids, conversation, cooccur, dispute=dispute)
        rationale = str(row["rationale"])
        shown = show(tokenizer, request, context_tokens=context_tokens, rationale_tokens=rationale_tokens)
        prompt_text, completion = training_text(shown["prompt"], label_of(shown, target), rationale)
        completion_tokens = len(tokenizer.encode(completion, add_special_tokens=False))
        if shown["num_tokens"] + completion_tokens > context_tokens:
            # The teacher wrote more than the serving reserve: give this rationale the room it needs rather
            # than cut it mid-sentence (cutting would teach the model to stop mid-claim).
            longer += 1
            shown = show(tokenizer, request, context_tokens=context_tokens, rationale_tokens=completion_tokens + 8)
            prompt_text, completion = training_text(shown["prompt"], label_of(shown, target), rationale)
        examples.append(
            {
                "prompt": prompt_text,
                "completion": completion,
                "user_id": user_id,
                "target": target,
                "label": label_of(shown, target),
                "domain": dataset.domain,
                "candidate_ids": list(candidate_ids),
            }
        )
    if stats is not None:
        stats.append(
            BuildStats(
                rows=len(rows),
                accepted=accepted,
                examples=len(examples),
                longer_reserve=longer,
                hard_negatives=hard,
                retriever_found=found,
            )
        )
    return examples


@dataclass(frozen=True)
class Drawn:
    ids: list[str]
    hard: bool
    """Whether they came from the retriever."""
    found: bool
    """Whether the retriever found the target by itself."""


def draw_candidates(
    dataset: Dataset,
    user_items: set[str],
    target: str,
    history_ids: Sequence[str],
    *,
    seed: int,
    user_id: str,
    num_negatives: int,
    hard_negative_share: float = 0.0,
    retriever: Retriever | None = None,
    found_only: bool = False,
    query: str | None = None,
) -> Drawn:
    """One example's candidates, as `build_sft_examples` draws them (its docstring says how); the evidence teacher
    draws the same ones to write its rationale against. `query`: what the retriever searches instead of the
    history's titles (a request, as a chat searches it)."""
    if retriever is not None and wants_hard_negatives(seed, user_id, target, hard_negative_share):
        retrieved, hit = retrieved_candidates(
            retriever,
            query if query is not None else history_query(history_ids, dataset.items),
            target,
            k=num_negatives + 1,
            exclude=user_items - {target},  # later items of the user too: they would be false negatives
            items=dataset.items,
            fill_rng=_rng(seed, user_id, target, "sft-fill"),
        )
        if hit or not found_only:
            _rng(seed, user_id, target).shuffle(retrieved)  # retrieval order would give the target away
            return Drawn(retrieved, True, hit)
    ids = sample_candidates(dataset, user_items, target, seed=seed, user_id=user_id, num_negatives=num_negatives)
    return Drawn(ids, False, False)


def example_request(
    dataset: Dataset,
    history_ids: Sequence[str],
    candidate_ids: Sequence[str],
    conversation: Sequence[tuple[Role, str]],
    cooccur: CoOccurrence | None,
    *,
    dispute: str | None = None,
) -> RecRequest:
    """What the model is shown for one example, links computed as a served turn computes them; `dispute`: the
    line a served turn after a dispute carries (agent/prompts.py DISPUTE_NOTE)."""
    history = [dataset.items[i] for i in history_ids]
    candidates = [dataset.items[i] for i in candidate_ids]
    asked = asked_text(conversation, dispute is not None)
    return RecRequest(
        history=history,
        candidates=candidates,
        conversation=conversation,
        domain=dataset.domain,
        dispute=dispute,
        links=links_for(candidates, history, request_text=asked, catalog=dataset.items, cooccur=cooccur),
    )


def _given_candidates(row: Mapping[str, Any], dataset: Dataset, target: str) -> list[str] | None:
    """The row's own candidate list (`candidates`), checked: catalog items, no repeats, the target among them."""
    if row.get("candidates") is None:
        return None
    ids = [str(i) for i in row["candidates"]]
    user = row["user_id"]
    if target not in ids or len(set(ids)) != len(ids) or not all(i in dataset.items for i in ids):
        raise SFTDataError(
            f"row of user {user}: its candidates must be distinct catalog items that include the target {target}"
        )
    return ids


def _conversation(row: Mapping[str, Any], user_id: str) -> list[tuple[Role, str]]:
    """The row's `conversation` ([[role, text], ...], oldest first), as the prompt shows a chat."""
    turns: list[tuple[Role, str]] = []
    for entry in row.get("conversation") or []:
        if not (isinstance(entry, list | tuple) and len(entry) == 2 and entry[0] in ("user", "assistant")):
            raise SFTDataError(f"row of user {user_id}: conversation entries must be [role, text] pairs")
        turns.append((entry[0], str(entry[1])))
    return turns


def _user_rank(seed: int, user_id: str) -> bytes:
    return hashlib.sha256(f"{seed}:sft-val:{user_id}".encode()).digest()


def split_by_user(
    examples: Sequence[dict[str, Any]], val_share: float = 0.05, seed: int = 0
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(train, val): whole users go to validation, chosen by a seeded hash, so no user is on both sides.

    At least one user is held out when there are two or more users and `val_share > 0`, and at least one is kept
    for training.
    """
    if not 0 <= val_share < 1:
        raise ValueError(f"val_share must be in [0, 1), got {val_share}")
    users = sorted({ex["user_id"] for ex in examples}, key=lambda u: _user_rank(seed, u))
    n_val = 0 if val_share == 0 or len(users) < 2 else min(len(users) - 1, max(1, round(val_share * len(users))))
    val_users = set(users[:n_val])
    train = [ex for ex in examples if ex["user_id"] not in val_users]
    val = [ex for ex in examples if ex["user_id"] in val_users]
    return train, val


def data_hash(examples: Iterable[Mapping[str, Any]]) -> str:
    """sha256 over every example's text, in order: two runs with the same hash trained on the same bytes."""
    h = hashlib.sha256()
    for ex in examples:
        for part in (ex["prompt"], ex["completion"]):
            data = part.encode("utf-8")
            h.update(len(data).to_bytes(8, "big"))  # length-prefixed: ("ab","c") and ("a","bc") differ
            h.update(data)
    return h.hexdigest()


def tokenize_example(tokenizer: Any, prompt: str, completion: str) -> dict[str, list[int]]:
    """input_ids of prompt + completion as serving tokenizes them, labels = IGNORE_INDEX on every prompt token.

    The whole text is tokenized at once (as `LocalRecommender` does at ranking time); the prompt's tokens must be
    a prefix of it, else a token straddles the boundary and the loss mask would be ambiguous.
    """
    prompt_ids = tokenizer.encode(prompt, add_special_tokens=False)
    ids = tokenizer.encode(prompt + completion, add_special_tokens=False)
    if ids[: len(prompt_ids)] != prompt_ids or len(ids) == len(prompt_ids):
        raise SFTDataError("a token spans the prompt/completion boundary; the completion must start on a token")
    labels = [IGNORE_INDEX] * len(prompt_ids) + ids[len(prompt_ids) :]
    return {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels}
