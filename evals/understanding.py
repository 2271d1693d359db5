"""The `understanding` protocol: how often the agent reads a user message right, on a labelled JSONL file in the
format of tests/data/understanding.jsonl (tests/data/UNDERSTANDING.md).

    llmrec eval --protocol understanding --messages tests/data/understanding.jsonl --systems rules,agent \\
        --out reports/understanding

Each line's message goes through `agent.understanding.read_message` (the parts the graph runs) with the previous
turn's picks and rationale; the reading is compared with the line's `expected` field by field:
    intent          exact
    wanted/unwanted phrase-level precision, recall, F1 (micro over lines; a phrase matches when its words agree up to
                    case, possessive "'s" and plural), and the share of lines whose whole list is right
    filters         audience, exclude_audience and brand all right
    unsupported     the list right
    item            the pick the message is about (lines with previous picks)
    dispute_kind    lines whose expected intent is dispute
    claim           lines whose expected intent is dispute: a claim found exactly when one is expected
    all fields      every field above right for the line
per split (dev, heldout) and per category, each accuracy with its binomial standard error. Systems: `rules` (the
intent by the cue rules alone, no model), `llm` (the default model's label scores plus the cues, the agent's reading
before the learned classifier) and `agent` (what the agent serves: the learned intent classifier,
agent/intent_model.py, and the learned dispute kind classifier, agent/dispute_kind_model.py).
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from agent.phrase_model import phrase_key
from agent.understanding import Reading, catalog_context, read_line
from agent.understanding_set import Line
from evals.errors import EvalConfigError
from tools.progress import progress_enabled

SYSTEMS = ("rules", "llm", "agent")
FIELDS = ("intent", "wanted", "unwanted", "filters", "unsupported", "item", "dispute_kind", "claim", "all")


def _keys(phrases: Iterable[str]) -> set[str]:
    return {phrase_key(p) for p in phrases if phrase_key(p)}


def _filters_equal(got: Mapping[str, Sequence[str]], want: Mapping[str, Sequence[str]]) -> bool:
    return all(_keys(got.get(k, [])) == _keys(want.get(k, [])) for k in ("audience", "exclude_audience", "brand"))


def score_line(reading: Reading, line: Line) -> dict[str, Any]:
    """Per-field outcome of one line: True/False, or None where the field does not apply; phrase counts."""
    want = line.expected
    out: dict[str, Any] = {"intent": reading.intent == want["intent"]}
    for name in ("wanted", "unwanted"):
        got, expected = _keys(getattr(reading, name)), _keys(want[name])
        out[name] = got == expected
        out[f"{name}_counts"] = (len(got & expected), len(got), len(expected))
    out["filters"] = _filters_equal(reading.filters, want["filters"])
    out["unsupported"] = set(reading.unsupported) == set(want["unsupported"])
    out["item"] = reading.item == want["item"] if line.previous else None
    disputed = want["intent"] == "dispute"
    out["dispute_kind"] = reading.dispute_kind == want.get("dispute_kind") if disputed else None
    out["claim"] = (reading.claim is not None) == (want.get("claim") is not None) if disputed else None
    out["all"] = all(v for k, v in out.items() if k in FIELDS and v is not None)
    return out


def _accuracy(values: Sequence[bool]) -> dict[str, float | int]:
    n = len(values)
    p = sum(values) / n if n else float("nan")
    return {"accuracy": round(p, 4), "stderr": round(math.sqrt(p * (1 - p) / n), 4) if n else float("nan"), "n": n}


def _f1(counts: Sequence[tuple[int, int, int]]) -> dict[str, float]:
    tp, got, expected = (sum(c[i] for c in counts) for i in range(3))
    precision = tp / got if got else 1.0
    recall = tp / expected if expected else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def summarise(scored: Sequence[tuple[Line, dict[str, Any]]]) -> dict[str, Any]:
    """Field accuracies, phrase F1 and per-category accuracies of a set of scored lines."""
    fields = {
        name: _accuracy([s[name] for _, s in scored if s[name] is not None])
        for name in FIELDS
        if any(s[name] is not None for _, s in scored)
    }
    phrases = {name: _f1([s[f"{name}_counts"] for _, s in scored]) for name in ("wanted", "unwanted")}
    by_category: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line, s in scored:
        by_category[line.category].append(s)
    categories = {
        name: {"intent": _accuracy([s["intent"] for s in rows]), "all": _accuracy([s["all"] for s in rows])}
        for name, rows in sorted(by_category.items())
    }
    return {"lines": len(scored), "fields": fields, "phrases": phrases, "categories": categories}


def run_understanding(
    lines: Sequence[Line],
    systems: Sequence[str],
    *,
    progress: bool = True,
    llm_factory: Callable[[], Any] | None = None,
) -> dict[str, Any]:
    """Read every line with each system; the summaries overall and per split, the per-line readings, the median
    reading time."""
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        raise EvalConfigError(f"unknown understanding system {unknown[0]!r}; known: {', '.join(SYSTEMS)}")
    contexts = {domain: catalog_context(domain) for domain in sorted({line.domain for line in lines})}
    results: dict[str, Any] = {}
    for system in systems:
        llm, intent_model, dispute_kind_model, phrase_model, pick_model, encoder = None, None, None, None, None, None
        if system == "llm":
            from agent.runtime import load_recommender

            llm = (llm_factory or load_recommender)()
        if system == "agent":
            from agent.dispute_kind_model import open_dispute_kind_model
            from agent.intent_model import open_intent_model
            from agent.phrase_model import open_phrase_model
            from agent.pick_model import open_pick_model
            from tools.embeddings import Encoder
            from tools.settings import RetrievalSettings

            intent_model = open_intent_model()
            if intent_model is None:
                raise EvalConfigError(
                    "no intent model is saved: run `llmrec train intent` first (or use --systems llm)"
                )
            dispute_kind_model = open_dispute_kind_model()  # None: the rules read the kind, as the agent then does
            phrase_model = open_phrase_model()  # None: the rules read a request's wanted phrases, as the agent does
            pick_model = open_pick_model()  # None: the rules point at the pick a message is about, as the agent does
            encoder = Encoder.from_settings(RetrievalSettings())
        scored: list[tuple[Line, dict[str, Any]]] = []
        readings: list[dict[str, Any]] = []
        times: list[float] = []
        for line in tqdm(lines, desc=f"Reading messages ({system})", disable=not progress_enabled(progress)):
            start = time.perf_counter()
            reading = read_line(
                line,
                contexts[line.domain],
                spell=system == "agent",
                llm=llm,
                intent_model=intent_model,
                dispute_kind_model=dispute_kind_model,
                phrase_model=phrase_model,
                pick_model=pick_model,
                encoder=encoder,
            )
            times.append(time.perf_counter() - start)
            outcome = score_line(reading, line)
            scored.append((line, outcome))
            readings.append({"id": line.id, "reading": reading.to_json(), "correct": outcome["all"]})
        splits = {
            name: summarise([x for x in scored if x[0].split == name]) for name in sorted({x.split for x in lines})
        }
        results[system] = {
            "all": summarise(scored),
            "splits": splits,
            "median_ms": round(1000 * statistics.median(times), 2),
            "readings": readings,
        }
    return results


def _cell(entry: Mapping[str, Any]) -> str:
    return f"{entry['accuracy']:.3f} ± {entry['stderr']:.3f}"


def markdown_report(results: Mapping[str, Any], source: str) -> str:
    """Tables of field accuracy per split and of per-category accuracy, one column per system and split."""
    systems = list(results)
    splits = sorted({s for r in results.values() for s in r["splits"]})
    columns = [(system, split) for system in systems for split in splits]
    head = "| field | " + " | ".join(f"{s} {p}" for s, p in columns) + " |"
    rule = "|:--|" + "--:|" * len(columns)
    lines = [f"## Understanding: {source}", "", "Accuracy ± standard error per field (n lines where it applies).", ""]
    lines += [head, rule]
    for name in FIELDS:
        cells = []
        for system, split in columns:
            entry = results[system]["splits"][split]["fields"].get(name)
            cells.append(_cell(entry) if entry else "")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for name in ("wanted", "unwanted"):
        cells = [f"{results[s]['splits'][p]['phrases'][name]['f1']:.3f}" for s, p in columns]
        lines.append(f"| {name} phrase F1 | " + " | ".join(cells) + " |")
    lines.append("| median ms / message | " + " | ".join(f"{results[s]['median_ms']}" for s, _ in columns) + " |")
    lines += ["", "All fields right, per category:", "", head.replace("field", "category"), rule]
    categories = sorted({c for r in results.values() for p in r["splits"].values() for c in p["categories"]})
    for category in categories:
        cells = []
        for system, split in columns:
            entry = results[system]["splits"][split]["categories"].get(category)
            cells.append(_cell(entry["all"]) if entry else "")
        lines.append(f"| {category} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_categories(results: Mapping[str, Any], path: Path, split: str = "heldout") -> None:
    """Per-category all-fields accuracy on `split` (the held-out part by default), one bar per system."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = list(results)
    chosen = split if all(split in r["splits"] for r in results.values()) else None
    summaries = {s: (results[s]["splits"][chosen] if chosen else results[s]["all"]) for s in systems}
    categories = sorted({c for summary in summaries.values() for c in summary["categories"]})
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(categories) + 1.5))
    height = 0.8 / max(len(systems), 1)
    for k, system in enumerate(systems):
        values = [
            summaries[system]["categories"].get(c, {"all": {"accuracy": 0}})["all"]["accuracy"] for c in categories
        ]
        ax.barh([i + k * height for i in range(len(categories))], values, height=height, label=system)
    ax.set_yticks([i + height * (len(systems) - 1) / 2 for i in range(len(categories))], categories)
    ax.axvline(0.85, color="grey", linestyle="--", linewidth=1)
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"all fields right ({chosen or 'all lines'})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_understanding(results: Mapping[str, Any], out: Path, source: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "results.json", out / "results.md", out / "categories.png"]
    paths[0].write_text(json.dumps({"messages": source, "systems": results}, indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(markdown_report(results, source), encoding="utf-8")
    plot_categories(results, paths[2])
    return paths
