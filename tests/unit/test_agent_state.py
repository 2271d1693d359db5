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
