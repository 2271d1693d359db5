"""Rationale faithfulness (issue 7, item 3): our deterministic claim grounding and ragas Faithfulness, side by side.

- `explain_cases`: the agent's one pass (`agent.ranking.run_pass`: show, explain with the leak guard, rank, check)
  over the candidates protocol's 20 candidates per user; each rationale keeps the record of what the model was shown,
  its checked claims and the same evidence as text lines for a judge.
- Grounding (always): the pass's own check, against exactly the candidates, history and conversation the prompt
  showed.
  A rationale with no claims has no score (it is counted in `no_claims`, never as 0 or 1).
- ragas (0.4 API, needs the `eval` extra and a judge behind an OpenAI-compatible server): `Faithfulness` over an
  `InstructorLLM` whose client is `instructor.from_openai(AsyncOpenAI(...), mode=JSON_SCHEMA)`, so vLLM enforces the
  schema. Samples are scored one by one; an exception or a NaN is a failure, counted and reported, never dropped.
  The judge's accuracy on `evals/judge_check.jsonl` (labelled faithful / planted-unsupported samples) is reported
  beside every ragas figure.
- Agreement: Spearman correlation between ragas and grounding over samples both scored, and the share agreeing on
  pass / fail at 0.5.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.claims import grounding_score
from agent.prompts import RecRequest, item_line
from agent.ranking import run_pass
from agent.records import Claim, Shown
from agent.runtime import Recommender
from tools.catalog import Dataset, Item

JUDGE_CHECK_PATH = Path(__file__).with_name("judge_check.jsonl")
PASS_AT = 0.5
"""A rationale passes a measure when its score is at least this."""
JUDGE_MAX_TOKENS = 512

RagasScorer = Callable[[str, str, list[str]], Coroutine[Any, Any, float]]
"""(user_input, response, contexts) -> faithfulness in [0, 1]; may raise or return NaN."""

RAGAS_QUESTION = "Which candidate should this user get next, and why?"


@dataclass(frozen=True)
class Explained:
    """One user's rationale, with what the agent saw when it wrote it."""

    user_id: str
    rationale: str
    order: tuple[str, ...]
    shown: Shown
    claims: list[Claim]
    contexts: list[str]
    """The evidence lines the agent had: history lines, then "Candidate X: ..." lines, as cut in the prompt."""


def evidence_lines(shown: Shown, items: Mapping[str, Item]) -> list[str]:
    """The evidence of `shown` as text lines for a judge, cut as the prompt cut them."""
    chars = shown["item_chars"]
    lines = [f"History: {item_line(items[i], chars)}" for i in shown["history_ids"]]
    lines += [
        f"Candidate {label}: {item_line(items[i], chars)}"
        for label, i in zip(shown["labels"], shown["candidate_ids"], strict=True)
    ]
    return lines


def explain_cases(
    llm: Recommender,
    dataset: Dataset,
    cases: Sequence[tuple[str, Sequence[str], Sequence[str]]],
    *,
    rationale_tokens: int,
    context_tokens: int,
) -> list[Explained]:
    """Run the one pass for each (user id, history ids, candidate ids)."""
    out: list[Explained] = []
    for user_id, history, candidates in cases:
        request = RecRequest(
            history=[dataset.items[i] for i in history],
            candidates=[dataset.items[i] for i in candidates],
            domain=dataset.domain,
        )
        done = run_pass(llm, request, rationale_tokens=rationale_tokens, context_tokens=context_tokens)
        lines = evidence_lines(done.shown, dataset.items)
        out.append(Explained(user_id, done.rationale, done.order, done.shown, done.claims, lines))
    return out


# --- deterministic grounding ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grounded:
    user_id: str
    claims: int
    supported: int
    score: float | None
    """Share of supported claims; None when the rationale has no claims."""


def ground(explained: Sequence[Explained]) -> list[Grounded]:
    rows = []
    for case in explained:
        supported = sum(1 for c in case.claims if c["supported"])
        rows.append(Grounded(case.user_id, len(case.claims), supported, grounding_score(case.claims)))
    return rows


def grounding_summary(rows: Sequence[Grounded]) -> dict[str, Any]:
    scored = [r.score for r in rows if r.score is not None]
    return {
        "rationales": len(rows),
        "scored": len(scored),
        "mean_grounding": sum(scored) / len(scored) if scored else None,
        "no_claims_share": (len(rows) - len(scored)) / len(rows) if rows else None,
        "pass_share": sum(1 for s in scored if s >= PASS_AT) / len(scored) if scored else None,
        "mean_claims": sum(r.claims for r in rows) / len(rows) if rows else None,
    }


# --- ragas ----------------------------------------------------------------------------------------------------------


@dataclass
class RagasOutcome:
    sample_id: str
    score: float | None = None
    error: str | None = None
    """Why the sample failed (exception or NaN); None when it was scored."""


@dataclass
class RagasRun:
    outcomes: list[RagasOutcome] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return sum(1 for o in self.outcomes if o.score is None)

    @property
    def mean(self) -> float | None:
        scores = [o.score for o in self.outcomes if o.score is not None]
        return sum(scores) / len(scores) if scores else None


def ragas_judge(base_url: str, api_key: str, model: str, *, max_tokens: int = JUDGE_MAX_TOKENS) -> RagasScorer:
    """A ragas Faithfulness scorer whose judge is `model` at an OpenAI-compatible `base_url` (schema enforced)."""
    import instructor
    from openai import AsyncOpenAI
    from ragas.llms import InstructorLLM
    from ragas.llms.base import InstructorModelArgs
    from ragas.metrics.collections import Faithfulness

    client = instructor.from_openai(
        AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0), mode=instructor.Mode.JSON_SCHEMA
    )
    llm = InstructorLLM(
        client=client,
        model=model,
        provider="openai",
        model_args=InstructorModelArgs(temperature=0.0, max_tokens=max_tokens),
    )
    metric = Faithfulness(llm=llm)

    async def score(user_input: str, response: str, contexts: list[str]) -> float:
        result = await metric.ascore(user_input=user_input, response=response, retrieved_contexts=contexts)
        return float(result.value)

    return score


def score_one_by_one(scorer: RagasScorer, samples: Sequence[tuple[str, str, str, list[str]]]) -> RagasRun:
    """Score (id, user_input, response, contexts) samples one at a time; exceptions and NaN become failures."""
    run = RagasRun()
    for sample_id, user_input, response, contexts in samples:
        outcome = RagasOutcome(sample_id)
        try:
            value: float | None = asyncio.run(scorer(user_input, response, contexts))
        except Exception as exc:  # noqa: BLE001 - any judge failure is counted, not raised
            outcome.error = f"{type(exc).__name__}: {str(exc)[:200]}"
        else:
            if value is None or math.isnan(value):
                outcome.error = "NaN"
            else:
                outcome.score = float(value)
        run.outcomes.append(outcome)
    return run


def load_judge_check(path: Path = JUDGE_CHECK_PATH) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def judge_accuracy(rows: Sequence[dict[str, Any]], run: RagasRun) -> dict[str, Any]:
    """Share of labelled samples the judge gets right (score >= 0.5 means faithful); a failure counts as wrong."""
    correct = 0
    for row, outcome in zip(rows, run.outcomes, strict=True):
        if outcome.score is not None and (outcome.score >= PASS_AT) == bool(row["faithful"]):
            correct += 1
    return {"samples": len(rows), "correct": correct, "failures": run.failures, "accuracy": correct / len(rows)}


def ragas_samples(explained: Sequence[Explained]) -> list[tuple[str, str, str, list[str]]]:
    """Rationales with something to judge (empty ones are skipped: ragas cannot extract a statement from nothing)."""
    return [(c.user_id, RAGAS_QUESTION, c.rationale, c.contexts) for c in explained if c.rationale.strip()]


# --- agreement ------------------------------------------------------------------------------------------------------


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rho with average ranks for ties; None when fewer than 2 pairs or a side is constant."""
    if len(x) != len(y):
        raise ValueError("spearman needs equal-length sequences")
    if len(x) < 2:
        return None
    rx, ry = _ranks(x), _ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    if vx == 0 or vy == 0:
        return None
    return cov / math.sqrt(vx * vy)


def agreement(grounded: Sequence[Grounded], run: RagasRun) -> dict[str, Any]:
    """Agreement over the samples both measures scored."""
    by_user = {g.user_id: g.score for g in grounded}
    pairs = [
        (by_user[o.sample_id], o.score)
        for o in run.outcomes
        if o.score is not None and by_user.get(o.sample_id) is not None
    ]
    xs = [float(p[0]) for p in pairs if p[0] is not None]
    ys = [float(p[1]) for p in pairs if p[1] is not None]
    agree = sum(1 for a, b in zip(xs, ys, strict=True) if (a >= PASS_AT) == (b >= PASS_AT))
    return {"pairs": len(xs), "spearman": spearman(xs, ys), "pass_fail_agreement": agree / len(xs) if xs else None}


# --- reports --------------------------------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def markdown_table(title: str, rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return f"### {title}\n\n(none)\n"
    keys = list(rows[0])
    lines = [f"### {title}", "", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(_fmt(r.get(k)) for k in keys) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def plot_grounding(by_domain: Mapping[str, Sequence[Grounded]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for domain, rows in by_domain.items():
        scores = [r.score for r in rows if r.score is not None]
        ax.hist(scores, bins=[i / 10 for i in range(11)], alpha=0.6, label=f"{domain} (n={len(scores)})")
    ax.set_xlabel("claim-grounding score (share of supported claims)")
    ax.set_ylabel("rationales")
    ax.set_title("Rationale grounding")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(report: dict[str, Any], markdown: str, out_dir: Path, domain: str) -> list[Path]:
    json_path = out_dir / f"faithfulness-{domain}.json"
    md_path = out_dir / f"faithfulness-{domain}.md"
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    md_path.write_text(markdown, encoding="utf-8")
    return [json_path, md_path]
