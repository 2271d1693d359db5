"""This turn's candidates, read from the tool results: deduplicated, filtered, capped.

Only items that a retrieval tool returned can become candidates, and only candidates can be committed: this is
where "hallucinated items are impossible by construction" starts.
"""

from __future__ import annotations

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
    and its best score. Dropped: unknown ids, excluded ids (history, rejected), and items that contain a word the
    user ruled out (a server-side search cannot filter "no leather" on free text, so it is done here).
    """
    notes: list[str] = []
    found: dict[str, Candidate] = {}
    ruled_out = 0
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
            if violation(items[item_id], profile) is not None:
                ruled_out += 1
                continue
            found[item_id] = Candidate(
                item_id=item_id,
                title=items[item_id].title,
                score=float(hit.get("score", 0.0)),
                source=message.name,
                prior=0.0,
            )
    if ruled_out:
        notes.append(f"left out {ruled_out} items with {', '.join(profile['unwanted'])}")
    return list(found.values())[:limit], notes
