"""Who an item is for (agent/profile.py): a request's audience words are a hard filter, never a score."""

from __future__ import annotations

from agent.candidates import collect_candidates
from agent.profile import audience_conflict, extract_preferences, item_audiences
from agent.state import merge_profile
from tools.catalog import Item


def _item(item_id: str, title: str) -> Item:
    return Item(item_id=item_id, title=title, text=title, domain="clothing")


JEANS = {
    "m": _item("m", "levi's men's 527 slim boot cut jean"),
    "w": _item("w", "levi's women's 515 boot cut jean"),
    "b": _item("b", "levi's boys' 527 slim bootcut jeans"),
    "u": _item("u", "unisex denim bootcut jeans"),
    "n": _item("n", "wrangler rugged wear bootcut jean"),
}


def test_request_words_name_the_audience() -> None:
    assert extract_preferences("men's bootcut jeans")["audience"] == ["men"]
    assert extract_preferences("jeans for women please")["audience"] == ["women"]
    assert extract_preferences("a dress for my girls")["audience"] == ["girls"]
    assert "audience" not in extract_preferences("bootcut jeans")
    assert "audience" not in extract_preferences("a male connector and a female plug")  # parts, not shoppers
    assert "audience" not in extract_preferences("jeans, not for kids")  # negated: issue 18's filter, not this one


def test_item_audiences_and_conflicts() -> None:
    assert item_audiences(JEANS["m"]) == ["men"] and item_audiences(JEANS["b"]) == ["boys"]
    assert item_audiences(JEANS["n"]) == []
    assert audience_conflict(JEANS["w"], ["men"]) == "for women"
    assert audience_conflict(JEANS["b"], ["men"]) == "for boys"
    assert audience_conflict(JEANS["u"], ["men"]) is None and audience_conflict(JEANS["n"], ["men"]) is None
    assert audience_conflict(JEANS["b"], ["kids"]) is None and audience_conflict(JEANS["w"], []) is None


def test_men_s_jeans_drop_women_s_and_boys_jeans_and_say_so() -> None:
    from langchain_core.messages import ToolMessage

    profile = merge_profile(None, extract_preferences("men's bootcut jeans"))
    hits = [{"item_id": i, "score": 1.0} for i in JEANS]
    message = ToolMessage("5 items", tool_call_id="t", name="search_catalog", artifact=hits)
    found, notes = collect_candidates([message], JEANS, exclude=set(), profile=profile)
    assert [c["item_id"] for c in found] == ["m", "u", "n"]
    assert sorted(notes) == ["left out 1 item for boys", "left out 1 item for women"]


def test_a_later_request_replaces_the_audience() -> None:
    profile = merge_profile(None, extract_preferences("men's jeans"))
    profile = merge_profile(profile, extract_preferences("actually for women"))
    assert profile["audience"] == ["women"]
    assert merge_profile(profile, extract_preferences("in blue"))["audience"] == ["women"]


def test_a_negated_audience_is_excluded_not_wanted() -> None:
    assert extract_preferences("a hoodie, nothing for kids")["exclude_audience"] == ["kids"]
    profile = extract_preferences("women's jeans, not girls'")
    assert profile["audience"] == ["women"] and profile["exclude_audience"] == ["girls"]
    assert profile["unwanted"] == []  # the audience is a filter, not a word to rule out of every text
    assert extract_preferences("microscope slides, but not the children's kind")["exclude_audience"] == ["kids"]
    assert "exclude_audience" not in extract_preferences("not for beginners")


def test_excluding_kids_drops_boys_and_girls_items_too() -> None:
    assert audience_conflict(JEANS["b"], [], ["kids"]) == "for boys"
    assert audience_conflict(JEANS["m"], [], ["kids"]) is None
    assert audience_conflict(JEANS["n"], [], ["kids"]) is None  # a title that names nobody stays
    assert audience_conflict(JEANS["w"], ["women"], ["girls"]) is None
    from langchain_core.messages import ToolMessage

    profile = merge_profile(None, extract_preferences("bootcut jeans, not for kids"))
    hits = [{"item_id": i, "score": 1.0} for i in JEANS]
    message = ToolMessage("5 items", tool_call_id="t", name="search_catalog", artifact=hits)
    found, notes = collect_candidates([message], JEANS, exclude=set(), profile=profile)
    assert [c["item_id"] for c in found] == ["m", "w", "u", "n"]
    assert notes == ["left out 1 item for boys"]


def test_an_excluded_audience_accumulates_until_asked_for_again() -> None:
    merged = merge_profile(extract_preferences("a hoodie, not for kids"), extract_preferences("in grey please"))
    assert merged["exclude_audience"] == ["kids"]
    merged = merge_profile(merged, extract_preferences("actually, for kids after all"))
    assert "exclude_audience" not in merged and merged["audience"] == ["kids"]
