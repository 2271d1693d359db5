"""How long the agent takes to read one user message (agent/understanding.py, as the graph's interpret and revise
nodes read it): the learned intent and dispute kind classifiers, the fine-tuned reader (agent/reader_model.py) and a
request's wanted phrases by the learned word tagger (agent/phrase_model.py), all from one shared pass of MiniLM's
layers over the message (tools/embeddings.py `token_states`, agent/learned.py), typo correction, the profile and,
after picks, the dispute and the pick it is about (agent/pick_model.py); side by side with the cue rules alone and
with the served reading less the reader, in one run, over the labelled set's messages.

    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.understanding

Each message is read `--repeats` times (the first read of a text fills the encoder's query cache, so the first
repeat is reported as "cold"; the tagger's pass is not cached, so a warm read of a request still runs it). Medians
and 95th percentiles in milliseconds; the machine is recorded with them.
Target: under 50 ms per message on the CPU (issue 18).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import psutil

from agent.dispute_kind_model import open_dispute_kind_model
from agent.intent_model import open_intent_model
from agent.phrase_model import open_phrase_model
from agent.pick_model import open_pick_model
from agent.profile import Vocabulary
from agent.spelling import Speller
from agent.understanding import read_message
from agent.understanding_set import load_lines
from benchmarks.retrieval import machine
from tools.datasets import load_dataset
from tools.embeddings import Encoder
from tools.settings import REPO_ROOT, RetrievalSettings


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(1000 * statistics.median(ordered), 3),
        "p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 3),
    }


def main(args: argparse.Namespace) -> dict[str, Any]:
    lines = load_lines(Path(args.messages))
    model = open_intent_model()
    assert model is not None, "no intent model: run `llmrec train intent`"
    kinds = open_dispute_kind_model()
    plain_model, plain_kinds = open_intent_model(reader=None), open_dispute_kind_model(reader=None)
    tagger = open_phrase_model()
    pointer = open_pick_model()
    encoder = Encoder(RetrievalSettings().embedding_model, cache_dir=None)
    catalogs = {}
    for domain in sorted({line.domain for line in lines}):
        items = load_dataset(domain).items
        catalogs[domain] = (items, Vocabulary.from_items(items.values()), Speller.from_items(items.values()))
    read_message("warm up", (), intent_model=model, encoder=encoder)  # loads MiniLM once, outside the timings
    timings: dict[str, list[float]] = {
        "rules": [],
        "agent_cold": [],
        "agent_warm": [],
        "agent_no_tagger_cold": [],
        "agent_no_reader_cold": [],
    }
    # One line at a time, every system on it, so the machine's load falls alike on each. "agent_no_tagger" is the
    # served reading less the word tagger (a request's wanted phrases by the rules): the tagger's cost, side by side.
    runs = [
        ("rules", "rules"),
        ("agent_no_tagger_cold", "agent_no_tagger"),
        ("agent_no_reader_cold", "agent_no_reader"),
    ]
    runs += [("agent_cold" if repeat == 0 else "agent_warm", "agent") for repeat in range(args.repeats)]
    for line in lines:
        items, vocabulary, speller = catalogs[line.domain]
        for key, system in runs:
            learned = system != "rules"
            if key.endswith("_cold"):
                encoder.forget_queries()
                if model.reader is not None:
                    model.reader.forget()
            plain = system == "agent_no_reader"
            start = time.perf_counter()
            read_message(
                line.message,
                line.previous,
                line.rationale,
                items=items,
                vocabulary=vocabulary,
                intent_model=(plain_model if plain else model) if learned else None,
                dispute_kind_model=(plain_kinds if plain else kinds) if learned else None,
                phrase_model=tagger if system in ("agent", "agent_no_reader") else None,
                pick_model=pointer if learned else None,
                encoder=encoder if learned else None,
                speller=speller if learned else None,
            )
            timings[key].append(time.perf_counter() - start)
    huge = "I need a digital caliper with a large display, no stainless. " * 1700  # about 100,000 characters
    items, vocabulary, speller = next(iter(catalogs.values()))
    start = time.perf_counter()
    read_message(
        huge,
        (),
        items=items,
        vocabulary=vocabulary,
        intent_model=model,
        phrase_model=tagger,
        encoder=encoder,
        speller=speller,
    )
    huge_ms = round(1000 * (time.perf_counter() - start), 1)
    result = {
        "machine": {**machine(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1)},
        "messages": len(lines),
        "max_message_chars": max(len(line.message) for line in lines),
        **{name: _percentiles(values) for name, values in timings.items() if values},
        "huge_message": {"chars": len(huge), "ms": huge_ms},
        "target_ms": 50,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", default=str(REPO_ROOT / "tests" / "data" / "understanding.jsonl"))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/understanding.json")
    main(parser.parse_args())
