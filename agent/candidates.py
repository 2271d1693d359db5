"""This turn's candidates, read from the tool results: deduplicated, filtered, capped.

Only items that a retrieval tool returned can become candidates, and only candidates can be committed: this is
where "hallucinated items are impossible by construction" starts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence

from langchain_core.messages import ToolMessage

from agent.profile import violation
from agent.state import Candidate, Profile
from tools.catalog import Item

_CANDIDATE_TOOLS = frozenset({"search_catalog", "similar_items", "lookup_items", "recommend_for_user"})


def collect_candidates(
    results: Sequence[ToolMessage],
    items: Mapping[str, Item],
    *,
    exclude: Collection[str],
    profile: Profile,
    limit: int | None = None,
) -> tuple[list[Candidate], list[str]]:
    """(candidates in retrieval order, notes for the user).

    Order: each tool's results in its own order, tools in call order; an item found twice keeps its first place
    and its best score. Dropped: unknown ids, excluded ids (history, rejected), items that contain a word the
    user ruled out (a server-side search cannot filter "no leather" on free text, so it is done here), and items
    whose titles name another audience than the one asked for ("men's jeans" drops women's and boys' ones).
    """
    notes: list[str] = []
    found: dict[str, Candidate] = {}
    ruled_out: dict[str, str] = {}
    for message in results:
        for line in str(message.content).splitlines():
            if line.startswith(("warning:", "error:")):
                notes.append(f"{message.name}: {line}")
        if message.name not in _CANDIDATE_TOOLS or not isinstance(message.artifact, list):
            continue
        for hit in message.artifact:
            item_id = str(hit.get("item_id", ""))
            if item_id not in items or item_id in exclude or hit.get("known") is False:
                continue
            if item_id in found:
                found[item_id]["score"] = max(found[item_id]["score"], float(hit.get("score", 0.0)))
                continue
            why = ruled_out.get(item_id) or violation(items[item_id], profile)
            if why is not None:
                ruled_out[item_id] = why
                continue
            found[item_id] = Candidate(
                item_id=item_id,
                title=items[item_id].title,
                score=float(hit.get("score", 0.0)),
                source=message.name,
                prior=0.0,
            )
    for why, count in Counter(ruled_out.values()).items():
        what = why if why.startswith("for ") else f"with {why}"
        notes.append(f"left out {count} item{'s' if count > 1 else ''} {what}")
    return list(found.values())[:limit], notes
