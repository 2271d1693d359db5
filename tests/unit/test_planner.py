"""The deterministic planner: which tool calls a turn gets, with unique ids and no server-side arguments."""

from __future__ import annotations

from agent.planner import model_tool_calls, plan_tool_calls
from agent.state import Profile


def _profile(wanted: list[str], unwanted: list[str] | None = None, brands: list[str] | None = None) -> Profile:
    return {"wanted": wanted, "unwanted": unwanted or [], "constraints": {"brand": brands} if brands else {}}


def test_request_of_a_known_user_searches_and_shows_history() -> None:
    calls = plan_tool_calls("a digital caliper", _profile([]), turn=0, user_id="u1", anchor_item=None, search_k=20)
    assert [c["name"] for c in calls] == ["search_catalog", "recommend_for_user", "user_history"]
    assert calls[0]["args"] == {"query": "digital caliper", "k": 20}
    assert calls[1]["args"] == {"k": 20}  # the sequential recommender, beside the search
    assert calls[2]["args"] == {"limit": 10}
    assert len({c["id"] for c in calls}) == len(calls)


def test_named_brand_filters_a_first_search() -> None:
    calls = plan_tool_calls(
        "a Neiko caliper", _profile([], brands=["Neiko"]), turn=2, user_id=None, anchor_item=None, search_k=5
    )
    assert [c["name"] for c in calls] == ["search_catalog", "search_catalog", "recommend_for_user"]
    assert calls[0]["args"]["filters"] == {"brand": ["Neiko"]}
    assert "filters" not in calls[1]["args"]
    assert calls[0]["id"] != calls[1]["id"]


def test_nothing_to_search_for_goes_around_the_anchor() -> None:
    calls = plan_tool_calls("something else", _profile([]), turn=1, user_id="u1", anchor_item="B1", search_k=20)
    assert [c["name"] for c in calls] == ["similar_items", "recommend_for_user"]
    assert calls[0]["args"] == {"item_id": "B1", "k": 20}
    # A new user with nothing to search for and nothing to go on: no call at all (the agent answers at once).
    assert plan_tool_calls("something else", _profile([]), turn=1, user_id=None, anchor_item=None, search_k=20) == []


def test_later_turns_reuse_the_profile_but_never_unwanted_words() -> None:
    calls = plan_tool_calls(
        "make it cheaper", _profile(["boots"], unwanted=["leather"]), turn=3, user_id=None, anchor_item=None, search_k=9
    )
    assert "boots" in calls[0]["args"]["query"]
    assert "leather" not in calls[0]["args"]["query"]


class _Model:
    def __init__(self, calls: list[dict[str, object]]) -> None:
        self.calls = calls

    def invoke(self, messages: object) -> object:
        from langchain_core.messages import AIMessage

        return AIMessage("", tool_calls=self.calls)  # type: ignore[arg-type]


def test_model_calls_lose_unknown_tools_and_server_side_arguments() -> None:
    model = _Model(
        [
            {"name": "search_catalog", "args": {"query": "glue", "exclude": [], "user_id": "x"}, "id": "1"},
            {"name": "rm_rf", "args": {}, "id": "2"},
        ]
    )
    calls = model_tool_calls(model, [], turn=0)
    assert [(c["name"], c["args"]) for c in calls] == [("search_catalog", {"query": "glue"})]
    assert model_tool_calls(_Model([]), [], turn=0) == []


def test_the_thing_asked_for_is_searched_on_its_own_too() -> None:
    calls = plan_tool_calls(
        "I want a good multimeter for electronics hobby work", _profile([]), turn=0, user_id=None, anchor_item=None,
        search_k=20,
    )  # fmt: skip
    searches = [c["args"]["query"] for c in calls if c["name"] == "search_catalog"]
    assert searches == ["multimeter electronics hobby work", "multimeter"]
    # A request that is only the thing is searched once.
    calls = plan_tool_calls("a digital caliper", _profile([]), turn=0, user_id=None, anchor_item=None, search_k=20)
    assert [c["args"]["query"] for c in calls if c["name"] == "search_catalog"] == ["digital caliper"]
