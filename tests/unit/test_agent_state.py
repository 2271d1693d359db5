"""The state's reducers are pure: merging profiles, rejected ids and revisions."""

from __future__ import annotations

from agent.state import Profile, Revision, append_records, empty_profile, merge_profile, union_ids


def _profile(wanted: list[str], unwanted: list[str], constraints: dict[str, list[str]] | None = None) -> Profile:
    return {"wanted": wanted, "unwanted": unwanted, "constraints": constraints or {}}


def test_merge_profile_unions_in_order() -> None:
    old = _profile(["caliper"], [], {"brand": ["Neiko"]})
    new = _profile(["digital", "caliper"], ["plastic"], {"brand": ["Mitutoyo"], "category": ["Test"]})
    merged = merge_profile(old, new)
    assert merged == _profile(
        ["caliper", "digital"], ["plastic"], {"brand": ["Neiko", "Mitutoyo"], "category": ["Test"]}
    )
    assert old == _profile(["caliper"], [], {"brand": ["Neiko"]}), "reducers must not mutate their inputs"


def test_ruling_out_a_word_removes_it_from_wanted() -> None:
    merged = merge_profile(_profile(["leather", "boots"], []), _profile([], ["leather"]))
    assert merged["wanted"] == ["boots"]
    assert merged["unwanted"] == ["leather"]


def test_merge_profile_with_none() -> None:
    assert merge_profile(None, None) == empty_profile()
    old = _profile(["a"], ["b"])
    assert merge_profile(old, None) == old


def test_union_ids_keeps_first_seen_order() -> None:
    assert union_ids(["b", "a"], ["a", "c", "b", "d"]) == ["b", "a", "c", "d"]
    assert union_ids(None, ["x"]) == ["x"]
    assert union_ids(["x"], None) == ["x"]


def test_revisions_are_appended() -> None:
    first: Revision = {
        "turn": 1,
        "dispute": {"message": "no", "kind": "item", "item_ids": ["a"], "attribute": None, "claim": None},
        "removed": ["a"],
        "added": ["b"],
        "kept": [],
        "summary": "s",
    }
    second = {**first, "turn": 2}
    assert append_records([first], [second]) == [first, second]  # type: ignore[list-item]
    assert append_records(None, [first]) == [first]


def test_a_request_for_another_thing_replaces_the_old_wishes_and_filters() -> None:
    old: Profile = {**_profile(["levi", "bootcut", "jeans"], ["stretch"], {"brand": ["levi's"]}), "thing": ["jean"]}
    old["audience"] = ["men"]
    new: Profile = {**_profile(["hoodie"], []), "thing": ["hoodie"], "exclude_audience": ["kids"]}
    merged = merge_profile(old, new)
    assert merged["wanted"] == ["hoodie"] and merged["constraints"] == {}
    assert merged["unwanted"] == ["stretch"] and merged["audience"] == ["men"]  # rule-outs and audience carry over
    assert merged["exclude_audience"] == ["kids"] and merged["thing"] == ["hoodie"]


def test_a_refinement_or_the_same_thing_keeps_the_old_wishes() -> None:
    old: Profile = {**_profile(["bootcut", "jeans"], [], {"brand": ["levi's"]}), "thing": ["jean"]}
    refined = merge_profile(old, _profile(["black"], []))  # "in black": no thing named
    assert refined["wanted"] == ["bootcut", "jeans", "black"] and refined["constraints"] == {"brand": ["levi's"]}
    assert refined["thing"] == ["jean"]
    same = merge_profile(old, {**_profile(["skinny", "jeans"], []), "thing": ["jean"]})
    assert same["wanted"] == ["bootcut", "jeans", "skinny"] and same["constraints"] == {"brand": ["levi's"]}
    first = merge_profile(_profile(["hiking"], []), {**_profile(["boots"], []), "thing": ["boot"]})
    assert first["wanted"] == ["hiking", "boots"]  # nothing named before: nothing to replace
