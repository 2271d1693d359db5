"""The thing a request names (agent/requested_thing.py), and a conversation that moves on to another product."""

from __future__ import annotations

import pytest

from agent.planner import plan_tool_calls
from agent.profile import Vocabulary
from agent.requested_thing import request_profile, requested_thing
from agent.state import Profile, merge_profile
from tools.catalog import Item

LABELS = ["A", "B", "C"]


@pytest.mark.parametrize(
    ("message", "thing"),
    [
        ("levi's men's bootcut jeans", ["jean"]),
        ("a hoodie, nothing for kids", ["hoodie"]),
        ("I need a digital caliper", ["caliper"]),
        ("show me some nitrile gloves", ["glove"]),
        ("how about a rain jacket?", ["jacket"]),
        ("what about boots", ["boot"]),
        ("a good multimeter for electronics hobby work", ["multimeter"]),
        # a word set off before the request is no opener: "no, X instead" asks for X
        ("no, a soldering iron instead", ["iron"]),
        ("actually - a hoodie", ["hoodie"]),
        ("nah. some nitrile gloves", ["glove"]),
    ],
)
def test_a_request_names_its_thing(message: str, thing: list[str]) -> None:
    assert requested_thing(message, LABELS) == thing


@pytest.mark.parametrize(
    "message",
    [
        "in black",
        "cheaper",
        "not for kids",
        "black ones",
        "something warmer",
        "a warmer one",
        "any cheaper ones?",
        "more like the second one",
        "like B but in navy",
        "with a hood please",
        "bootcut ones in black",
        "women's",
        "for my wife",
        "size medium",
        "no leather",
        "no, leather",
        "okay, in black",
        "waterproof",
    ],
)
def test_a_refinement_names_no_thing(message: str) -> None:
    assert requested_thing(message, LABELS) == []


def _vocabulary() -> Vocabulary:
    items = [
        Item(item_id=str(i), title=title, text=title, domain="clothing", attributes={"brand": "Levi's"})
        for i, title in enumerate(["levi's men's 527 bootcut jean", "levi's women's 515 jean"])
    ]
    return Vocabulary.from_items(items)


def test_a_brand_is_not_the_thing() -> None:
    assert "thing" not in request_profile("levi's please", _vocabulary(), LABELS)


def _searches(message: str, profile: Profile) -> list[dict[str, object]]:
    calls = plan_tool_calls(message, profile, turn=1, user_id=None, anchor_item=None, search_k=10, labels=LABELS)
    return [call["args"] for call in calls if call["name"] == "search_catalog"]


def test_a_new_product_drops_the_old_wishes_and_brand_a_refinement_keeps_them() -> None:
    """The served defect: after "levi's men's bootcut jeans", "a hoodie, nothing for kids" searched "hoodie levi men
    bootcut jeans" filtered to Levi's."""
    vocabulary = _vocabulary()
    jeans = merge_profile(None, request_profile("levi's men's bootcut jeans", vocabulary))
    assert jeans["constraints"] == {"brand": ["Levi's"]}
    hoodie = merge_profile(jeans, request_profile("a hoodie, nothing for kids", vocabulary, LABELS))
    searches = _searches("a hoodie, nothing for kids", hoodie)
    assert [s["query"] for s in searches] == ["hoodie"]
    assert all("filters" not in s for s in searches)
    assert hoodie["audience"] == ["men"] and hoodie["exclude_audience"] == ["kids"]
    black = merge_profile(jeans, request_profile("in black", vocabulary, LABELS))
    searches = _searches("in black", black)
    assert searches[0]["filters"] == {"brand": ["Levi's"]}
    assert searches[0]["query"] == "black levi men bootcut jeans"
