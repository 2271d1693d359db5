"""The agent's catalog tools: schemas the model sees, compact text results, errors as text."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool

from tests.retrievaldata import settings_for, small_catalog
from tests.unit.test_qdrant_store import closed_port
from tools.langchain_tools import catalog_tools, format_item
from tools.search import CatalogRetrievers, catalog_retrievers


@pytest.fixture(scope="module")
def retrievers(small_retrievers: CatalogRetrievers) -> CatalogRetrievers:
    return small_retrievers


@pytest.fixture(scope="module")
def tools(retrievers: CatalogRetrievers) -> dict[str, BaseTool]:
    return {t.name: t for t in catalog_tools(retrievers)}


def _call(tool: BaseTool, args: dict[str, object]) -> ToolMessage:
    """Invoke as LangGraph's ToolNode does: with a tool call, so errors become a ToolMessage."""
    message = tool.invoke({"type": "tool_call", "id": "call-1", "name": tool.name, "args": args})
    assert isinstance(message, ToolMessage)
    return message


def test_names_and_model_visible_arguments(tools: dict[str, BaseTool]) -> None:
    assert sorted(tools) == ["lookup_items", "recommend_for_user", "search_catalog", "similar_items", "user_history"]
    # Injected (server-side) arguments are not in the schema the model sees.
    assert set(tools["search_catalog"].tool_call_schema.model_json_schema()["properties"]) == {
        "query",
        "k",
        "filters",
    }
    assert set(tools["similar_items"].tool_call_schema.model_json_schema()["properties"]) == {"item_id", "k"}
    assert set(tools["user_history"].tool_call_schema.model_json_schema()["properties"]) == {"limit"}
    assert set(tools["lookup_items"].tool_call_schema.model_json_schema()["properties"]) == {"item_ids"}
    for tool in tools.values():
        assert "Returns:" in tool.description or "returns" in tool.description.lower()
    assert "Attributes in this catalog (scientific): brand, category, tags." in tools["search_catalog"].description


def test_search_catalog_lines_and_artifact(tools: dict[str, BaseTool]) -> None:
    message = _call(tools["search_catalog"], {"query": "digital caliper", "k": 2, "exclude": ["B0002BBV4Q"]})
    lines = message.content.splitlines()  # type: ignore[union-attr]
    assert lines[0] == "2 items for 'digital caliper':"
    assert lines[1].startswith("1. [B000GSLKIW] Mitutoyo 500-196-30")
    assert "| brand: Mitutoyo | category: Test, Measure & Inspect | tags: measuring" in lines[1]
    assert "B0002BBV4Q" not in message.content
    assert message.artifact[0]["item_id"] == "B000GSLKIW"
    assert set(message.artifact[0]["ranks"]) <= {"bm25", "dense"}


def test_search_catalog_filters_and_k_cap(tools: dict[str, BaseTool]) -> None:
    message = _call(tools["search_catalog"], {"query": "tape", "k": 500, "filters": {"brand": "3M"}})
    assert "(k capped at 50)" in message.content
    assert all("brand: 3M" in line for line in message.content.splitlines()[1:])


@pytest.mark.parametrize("query", ["", "   "])
def test_empty_query_returns_error_text(tools: dict[str, BaseTool], query: str) -> None:
    message = _call(tools["search_catalog"], {"query": query})
    assert message.status == "error"
    assert message.content.startswith("error: The search query is empty")


def test_bad_arguments_return_error_text(tools: dict[str, BaseTool]) -> None:
    message = _call(tools["search_catalog"], {"query": "caliper", "k": "many"})
    assert message.content.startswith("error: invalid arguments")
    message = _call(tools["search_catalog"], {"query": "caliper", "k": 0})
    assert message.content == "error: k must be at least 1, got 0"


def test_lookup_items_reports_unknown_ids(tools: dict[str, BaseTool]) -> None:
    message = _call(tools["lookup_items"], {"item_ids": ["B0000223UV", "NOPE1", "B00IHCNBAY", "NOPE2"]})
    lines = message.content.splitlines()  # type: ignore[union-attr]
    assert lines[0].startswith("[B0000223UV] Gorilla Original Gorilla Glue")
    assert lines[1].startswith("[B00IHCNBAY] Corning Pyrex")
    assert lines[2] == "unknown ids: NOPE1, NOPE2"
    assert [a["known"] for a in message.artifact] == [True, True, False, False]
    assert _call(tools["lookup_items"], {"item_ids": []}).content.startswith("error: give at least one item id")


def test_similar_items(tools: dict[str, BaseTool]) -> None:
    message = _call(tools["similar_items"], {"item_id": "B001C4ZNT8", "k": 3, "exclude": ["B0009XT6FC"]})
    assert message.content.startswith("3 items similar to [B001C4ZNT8]:")
    assert "[B001C4ZNT8]" not in message.content.split("\n", 1)[1]
    assert "B0009XT6FC" not in message.content
    unknown = _call(tools["similar_items"], {"item_id": "NOPE"})
    assert unknown.content == "error: unknown item ids in the scientific catalog: NOPE"


def test_similar_items_include_what_was_bought_together(tools: dict[str, BaseTool]) -> None:
    # u1's history holds both calipers, so the co-occurrence source ranks the other first.
    message = _call(tools["similar_items"], {"item_id": "B0002BBV4Q", "k": 5})
    together = [hit for hit in message.artifact if "cooccurrence" in hit["ranks"]]
    assert [hit["item_id"] for hit in together] == ["B001C4ZNT8"]
    assert together[0]["ranks"]["cooccurrence"] == 1


def test_recommend_for_user_reads_the_history_and_says_when_it_cannot(tools: dict[str, BaseTool]) -> None:
    history = ["B0002BBV4Q", "B001C4ZNT8"]
    message = _call(tools["recommend_for_user"], {"k": 4, "history": history, "exclude": history})
    assert message.content.startswith("4 items recommended from the history:")
    assert len(message.artifact) == 4 and not {h["item_id"] for h in message.artifact} & set(history)
    assert all("sasrec" in hit["ranks"] for hit in message.artifact)
    assert set(tools["recommend_for_user"].tool_call_schema.model_json_schema()["properties"]) == {"k"}
    fresh = _call(tools["recommend_for_user"], {"k": 4, "history": []})
    assert fresh.content.startswith("warning: no history to go on") and fresh.artifact == []


def test_recommend_for_user_on_a_catalog_without_histories(tmp_path: Path) -> None:
    catalog = small_catalog(domain="nousers")
    catalog.users.clear()
    with catalog_retrievers(catalog, settings_for(tmp_path), progress=False) as retrievers:
        tool = {t.name: t for t in catalog_tools(retrievers)}["recommend_for_user"]
        message = _call(tool, {"history": ["B0002BBV4Q"]})
    assert message.content.startswith("warning: this catalog has no interaction histories")


def test_user_history(tools: dict[str, BaseTool]) -> None:
    message = _call(tools["user_history"], {"user_id": "u1", "limit": 2})
    lines = message.content.splitlines()  # type: ignore[union-attr]
    assert lines[0] == "user u1 has 3 items in their history; the last 2:"
    assert lines[1].startswith("[B001C4ZNT8]") and lines[2].startswith("[B000FP8B8K]")
    assert "B0009XT6FC" not in message.content  # the held-out test item is never shown
    assert _call(tools["user_history"], {"user_id": "nobody"}).content.startswith("error: user 'nobody' has no")
    assert _call(tools["user_history"], {}).content.startswith("error: no user is attached")


def test_fallback_warning_reaches_the_model(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, qdrant_url=f"http://127.0.0.1:{closed_port()}", qdrant_timeout=1)
    with catalog_retrievers(small_catalog(), settings, progress=False) as r:
        search = catalog_tools(r)[0]
        message = _call(search, {"query": "glass beaker", "k": 1})
    first, second, third = message.content.splitlines()  # type: ignore[union-attr]
    assert first.startswith("warning: Dense (embedding) search is unavailable")
    assert second == "1 item for 'glass beaker':"
    assert third.startswith("1. [B00IHCNBAY]")


def test_format_item_is_compact() -> None:
    item = small_catalog().items["B0000223SI"]
    line = format_item(item)
    assert line.startswith("[B0000223SI] PORTER-CABLE 740000801")
    assert "| brand: PORTER-CABLE | category: Abrasive & Finishing Products" in line
    assert "tags" not in line  # empty values are left out
    assert len(line) <= 320
