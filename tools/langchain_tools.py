"""The agent's catalog tools: `search_catalog`, `lookup_items`, `similar_items`, `recommend_for_user`,
`user_history`.

    tools = catalog_tools(catalog_retrievers(dataset))
    # outside a graph, pass the injected arguments yourself:
    tools[0].invoke({"query": "digital caliper", "k": 5, "exclude": history_ids})

Each docstring below is the contract the model reads. Results are compact text, one line per item:
`[B000XYZ] Title | brand: X | categories: Y`, with the structured hits as the tool's artifact.

Server-side arguments never appear in the schema sent to the model: `exclude` (items already in the history or
rejected) and `user_id` are `InjectedState` arguments. Inside the agent, LangGraph's ToolNode fills them from the
agent state's `exclude` and `user_id` fields and discards any value a tool call itself carries, so a model cannot
widen its own search; outside a graph the caller passes them. The retrievers are bound when
the tools are made, because a live index object cannot travel inside a tool call that the checkpointer
stores. Errors (empty query, unknown ids, bad filters) come back as a text starting with "error:" that the
agent can show; they never raise out of the tool.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Annotated, Any

from langchain_core.tools import BaseTool, ToolException, tool
from langgraph.prebuilt import InjectedState

from tools.candidate_sources import sequential_note
from tools.catalog import Item
from tools.errors import ToolsError
from tools.fusion import reciprocal_rank_fusion
from tools.search import CatalogRetrievers, SearchHit, SearchResult

MAX_K = 50
_VALUE_CHARS = 80
_LINE_CHARS = 320

Artifact = list[dict[str, Any]]


def format_item(item: Item) -> str:
    """One line: `[id] title | attribute: value | ...`, values cut at 80 and the line at 320 characters."""
    parts = [f"[{item.item_id}] {item.title.strip()}"]
    for key, value in item.attributes.items():
        shown = value if isinstance(value, str) else ", ".join(str(v) for v in value)
        if not shown:
            continue
        if len(shown) > _VALUE_CHARS:
            shown = shown[: _VALUE_CHARS - 3] + "..."
        parts.append(f"{key}: {shown}")
    line = " | ".join(parts)
    return line if len(line) <= _LINE_CHARS else line[: _LINE_CHARS - 3] + "..."


def _error_text(exc: ToolException) -> str:
    return f"error: {exc}"


def _validation_text(exc: Exception) -> str:
    return f"error: invalid arguments ({exc}). Check the argument names and types in the tool description."


def _items(n: int) -> str:
    return f"{n} item" if n == 1 else f"{n} items"


def _clamp_k(k: int) -> tuple[int, str]:
    if k < 1:
        raise ToolException(f"k must be at least 1, got {k}")
    if k > MAX_K:
        return MAX_K, f" (k capped at {MAX_K})"
    return k, ""


def _render(result: SearchResult, retrievers: CatalogRetrievers, header: str) -> tuple[str, Artifact]:
    lines = [f"warning: {w}" for w in result.warnings]
    if not result.hits:
        lines.append(f"{header}: no matching items.")
    else:
        lines.append(f"{header}:")
        for rank, hit in enumerate(result.hits, start=1):
            lines.append(f"{rank}. {format_item(retrievers.dataset.items[hit.item_id])}")
    artifact = [{"item_id": h.item_id, "score": h.score, "ranks": dict(h.ranks)} for h in result.hits]
    return "\n".join(lines), artifact


def _with_cooccurring(result: SearchResult, together: Sequence[tuple[str, int]], k: int) -> SearchResult:
    """Text-similar hits fused (RRF, k=60) with the items most often bought together with the item."""
    if not together:
        return result
    text = [hit.item_id for hit in result.hits]
    bought = [item_id for item_id, _ in together]
    fused = reciprocal_rank_fusion([text, bought])[:k]
    ranks = {hit.item_id: dict(hit.ranks) for hit in result.hits}
    for rank, item_id in enumerate(bought, start=1):
        ranks.setdefault(item_id, {})["cooccurrence"] = rank
    hits = tuple(SearchHit(item_id, score, ranks[item_id]) for item_id, score in fused)
    return SearchResult(hits, result.warnings)


def _attribute_names(retrievers: CatalogRetrievers, top: int = 8) -> list[str]:
    counts: Counter[str] = Counter()
    for item in retrievers.dataset.items.values():
        counts.update(item.attributes.keys())
    return [name for name, _ in counts.most_common(top)]


def catalog_tools(retrievers: CatalogRetrievers) -> list[BaseTool]:
    """The four catalog tools over one domain's retrievers (hybrid search, with BM25 fallback)."""
    domain = retrievers.domain

    @tool(response_format="content_and_artifact")
    def search_catalog(
        query: str,
        k: int = 10,
        filters: dict[str, str | list[str]] | None = None,
        exclude: Annotated[list[str] | None, InjectedState("exclude")] = None,
    ) -> tuple[str, Artifact]:
        """Search the product catalog with words describing what the user wants.

        Use it to find candidate items for a request, and again with different words when the results miss
        what the user asked for. Items the user already has or rejected are left out automatically.

        Args:
            query: What to look for, in plain words (product type, features, brand, use), e.g.
                "stainless steel digital caliper 6 inch". Must not be empty.
            k: How many items to return, 1 to 50.
            filters: Optional exact attribute matches, e.g. {"brand": "Neiko"}; a list accepts any value.

        Returns:
            One line per item, best first: `rank. [item_id] title | attribute: value | ...`. Use the
            item_id in brackets to refer to an item. A line starting with "warning:" means the search was
            degraded (e.g. keyword search only); "error:" means the call failed and says why.
        """
        try:
            top, note = _clamp_k(k)
            result = retrievers.hybrid.search(query, top, filters=filters, exclude=exclude or ())
        except (ToolsError, ValueError) as exc:
            raise ToolException(str(exc)) from exc
        return _render(result, retrievers, f"{_items(len(result))} for {query.strip()!r}{note}")

    @tool(response_format="content_and_artifact")
    def lookup_items(item_ids: list[str]) -> tuple[str, Artifact]:
        """Show the catalog entries (title and attributes) of items by their ids.

        Use it to check the facts of items you want to recommend or explain, e.g. ids from the user's
        history or from an earlier search.

        Args:
            item_ids: Item ids exactly as shown in brackets, e.g. ["B0000223SI"]; at most 50.

        Returns:
            One line per known item, in the order asked: `[item_id] title | attribute: value | ...`; a final
            line "unknown ids: ..." lists ids that are not in the catalog.
        """
        if not item_ids:
            raise ToolException("give at least one item id, e.g. lookup_items(item_ids=['B0000223SI'])")
        if len(item_ids) > MAX_K:
            raise ToolException(f"at most {MAX_K} ids per call, got {len(item_ids)}")
        items = retrievers.dataset.items
        known = [items[i] for i in item_ids if i in items]
        unknown = [i for i in item_ids if i not in items]
        lines = [format_item(item) for item in known]
        if unknown:
            lines.append(f"unknown ids: {', '.join(unknown)}")
        artifact = [{"item_id": item.item_id, "known": True} for item in known]
        artifact += [{"item_id": i, "known": False} for i in unknown]
        return "\n".join(lines), artifact

    @tool(response_format="content_and_artifact")
    def similar_items(
        item_id: str,
        k: int = 10,
        exclude: Annotated[list[str] | None, InjectedState("exclude")] = None,
    ) -> tuple[str, Artifact]:
        """Find catalog items similar to one item: by its text and meaning, and bought together with it.

        Use it when the user likes an item and wants alternatives, or to widen a search around a good
        candidate. The item itself, and items the user already has or rejected, are left out.

        Args:
            item_id: The id of the item to start from, exactly as shown in brackets.
            k: How many items to return, 1 to 50.

        Returns:
            One line per item, most similar first: `rank. [item_id] title | attribute: value | ...`;
            "warning:" and "error:" lines as in search_catalog.
        """
        try:
            top, note = _clamp_k(k)
            result = retrievers.hybrid.similar(item_id, top, exclude=exclude or ())
        except (ToolsError, ValueError) as exc:
            raise ToolException(str(exc)) from exc
        together = retrievers.cooccurrence().similar(item_id, top, exclude or ())
        result = _with_cooccurring(result, together, top)
        return _render(result, retrievers, f"{_items(len(result))} similar to [{item_id}]{note}")

    @tool(response_format="content_and_artifact")
    def recommend_for_user(
        k: int = 10,
        history: Annotated[list[str] | None, InjectedState("history")] = None,
        exclude: Annotated[list[str] | None, InjectedState("exclude")] = None,
    ) -> tuple[str, Artifact]:
        """Recommend items for the current user from what they had before, with a sequential recommender trained
        on the catalog's purchase histories.

        Use it for a user with a history, beside search_catalog: it finds what people with similar histories
        bought next, which the user's words may not say. Items the user already has or rejected are left out.

        Args:
            k: How many items to return, 1 to 50.

        Returns:
            One line per item, most likely next first: `rank. [item_id] title | attribute: value | ...`; a
            "warning:" line when the catalog has no purchase histories or the user has none.
        """
        top, note = _clamp_k(k)
        model = retrievers.sequential(progress=False)
        skipped = sequential_note(model, history or [])
        if skipped is not None or model is None:
            return f"warning: {skipped}", []
        hits = tuple(
            SearchHit(i, s, {"sasrec": r}) for r, (i, s) in enumerate(model.top(history or [], top, exclude or ()), 1)
        )
        return _render(SearchResult(hits), retrievers, f"{_items(len(hits))} recommended from the history{note}")

    @tool(response_format="content_and_artifact")
    def user_history(
        limit: int = 20,
        user_id: Annotated[str | None, InjectedState("user_id")] = None,
    ) -> tuple[str, Artifact]:
        """List the items the current user interacted with before, most recent last.

        Use it to ground a recommendation or a rationale in what the user already bought or liked.

        Args:
            limit: How many of the most recent items to show, 1 to 50.

        Returns:
            A header with the number of items, then one line per item, oldest first:
            `[item_id] title | attribute: value | ...`.
        """
        if not user_id:
            raise ToolException("no user is attached to this conversation, so there is no history to show")
        user = retrievers.user(user_id)
        if user is None:
            raise ToolException(f"user {user_id!r} has no history in the {domain} catalog")
        top, _ = _clamp_k(limit)
        # test_history = history + validation item: never the held-out test item an evaluation asks for.
        history: Sequence[str] = user.test_history
        shown = history[-top:]
        items = retrievers.dataset.items
        lines = [f"user {user_id} has {len(history)} items in their history; the last {len(shown)}:"]
        lines += [format_item(items[i]) for i in shown]
        return "\n".join(lines), [{"item_id": i} for i in shown]

    names = _attribute_names(retrievers)
    if names:
        search_catalog.description += f"\n\nAttributes in this catalog ({domain}): {', '.join(names)}."
    tools: list[BaseTool] = [search_catalog, lookup_items, similar_items, recommend_for_user, user_history]
    for t in tools:
        t.handle_tool_error = _error_text
        t.handle_validation_error = _validation_text
    return tools
