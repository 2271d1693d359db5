"""Which pick a message is about: the learned pointer (agent/pick_model.py) against the rules it reads
(agent/pick_model.py `rules_pointed`: a pick named by label, ordinal or title words, as each reading counts it).

    python -m evals.pick_pointer    # about 4 minutes on 2 cores: reading every line, then 20 small fits

Every labelled line with picks that the agent does not read as chit-chat counts (the understanding protocol's `item`
field: the 1-based pick, or none; a line read as chit-chat points at nothing, pointer or not), read with the shipped
intent and dispute kind readers, as `llmrec train intent` reads them before fitting the pointer.
Three comparisons, each with the paired difference and its standard error:

- `cross_validation`: 5-fold leave-family-out on the development part and the training supplement, per ridge
  penalty (it chooses `PICK_L2`). It flatters the rules, written on the development part.
- `development_to_supplement`: fitted on the development part alone, scored on the supplement, which was written
  after the rules by writers who never saw them: out of sample for both.
- `heldout`: fitted on both at the chosen penalty (as shipped), scored on the held-out part.

Measured 2026-12-07 (reports/pick_pointer.json, 1,727 development and supplement lines, 352 held-out): cross-validated
0.927 -> 0.969 (+0.043 ± 0.006); development to supplement 0.897 -> 0.936 (+0.039 ± 0.007); held-out 0.892 -> 0.932
(+0.040 ± 0.014).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from agent.pick_model import PickModel, PointerCase, fit_pick_model
from agent.understanding_set import Line, load_lines

Scored = tuple[PointerCase, int | None]
"""A line's pointer case and the rules' reading of it (1-based pick, or None)."""


def _answer(model: PickModel, case: PointerCase, rules: int | None) -> int | None:
    best = model.choose(case[0], None if rules is None else rules - 1)
    return None if best is None else best + 1


def _expected(case: PointerCase) -> int | None:
    return None if case[1] == len(case[0]) - 1 else case[1] + 1


def compare(model: PickModel, scored: Sequence[Scored]) -> dict[str, Any]:
    """The share of lines the pointer and the rules read right, and the pointer's paired gain with its standard
    error."""
    pointer = np.array([_answer(model, case, found) == _expected(case) for case, found in scored], dtype=np.float64)
    rules = np.array([found == _expected(case) for case, found in scored], dtype=np.float64)
    return compare_outcomes(pointer, rules)


def compare_outcomes(pointer: npt.NDArray[np.float64], rules: npt.NDArray[np.float64]) -> dict[str, Any]:
    """`compare` from per-line outcomes (1 right, 0 wrong) of the pointer and the rules."""
    gain = pointer - rules
    n = len(gain)
    return {
        "lines": n,
        "pointer": round(float(pointer.mean()), 4) if n else 0.0,
        "rules": round(float(rules.mean()), 4) if n else 0.0,
        "gain": round(float(gain.mean()), 4) if n else 0.0,
        "gain_stderr": round(float(gain.std(ddof=1) / math.sqrt(n)), 4) if n > 1 else 0.0,
        "fixed": int((gain > 0).sum()),
        "broken": int((gain < 0).sum()),
    }


def _fit(scored: Sequence[Scored], l2: float) -> PickModel:
    return fit_pick_model([case for case, _ in scored], l2=l2, fitted_on={"what": "evaluation"})


def run_comparisons(
    dev: Sequence[tuple[Line, Scored]],
    supplement: Sequence[tuple[Line, Scored]],
    heldout: Sequence[Scored],
    l2s: Sequence[float],
    *,
    folds: int = 5,
) -> dict[str, Any]:
    """The three comparisons of the module docstring, on lines already read."""
    from sklearn.model_selection import GroupKFold

    both = [*dev, *supplement]
    groups = [line.family or line.id for line, _ in both]
    cv: dict[str, Any] = {}
    for l2 in l2s:
        pointer: list[float] = []
        rules: list[float] = []
        for train, test in GroupKFold(min(folds, len(set(groups)))).split(both, groups=groups):
            model = _fit([both[k][1] for k in train], l2)
            for k in test:
                case, found = both[k][1]
                pointer.append(float(_answer(model, case, found) == _expected(case)))
                rules.append(float(found == _expected(case)))
        cv[str(l2)] = compare_outcomes(np.array(pointer), np.array(rules))
    best = max(l2s, key=lambda l2: (cv[str(l2)]["pointer"], -l2))
    report: dict[str, Any] = {"cross_validation": cv, "chosen_l2": best}
    if dev and supplement:
        report["development_to_supplement"] = compare(_fit([s for _, s in dev], best), [s for _, s in supplement])
    report["heldout"] = compare(_fit([s for _, s in both], best), heldout)
    return report


def read_scored(lines: Sequence[Line], *, progress: bool = True) -> list[tuple[Line, Scored]]:
    """The lines the pointer reads (`pointer_case`), read with the shipped intent and dispute kind readers and the
    rules (no pointer)."""
    from agent.dispute_kind_model import open_dispute_kind_model
    from agent.intent_model import open_intent_model
    from agent.understanding import pointer_case, read_lines
    from tools.embeddings import Encoder
    from tools.settings import RetrievalSettings

    intent_model = open_intent_model()
    if intent_model is None:
        raise SystemExit("no intent model is saved: run `llmrec train intent` first")
    encoder = Encoder.from_settings(RetrievalSettings())
    read = read_lines(
        [line for line in lines if line.previous],
        intent_model=intent_model,
        dispute_kind_model=open_dispute_kind_model(),
        encoder=encoder,
        progress=progress,
    )
    out = []
    for one in read:
        case = pointer_case(one)
        if case is not None:
            out.append((one.line, (case, one.reading.item)))
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=Path, default=Path("tests/data/understanding.jsonl"))
    parser.add_argument("--supplement", type=Path, default=Path("training/data/understanding_supplement.jsonl"))
    parser.add_argument("--l2", default="0.3,1,3", help="comma-separated ridge penalties to compare")
    parser.add_argument("--out", type=Path, default=Path("reports/pick_pointer.json"))
    args = parser.parse_args(argv)
    supplement = load_lines(args.supplement) if args.supplement.is_file() else []
    scored = read_scored([*load_lines(args.messages), *supplement])
    extra = {line.id for line in supplement}
    report = run_comparisons(
        [x for x in scored if x[0].split == "dev" and x[0].id not in extra],
        [x for x in scored if x[0].id in extra],
        [s for line, s in scored if line.split == "heldout"],
        [float(v) for v in args.l2.split(",")],
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
