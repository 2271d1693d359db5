"""What an item is (title head, category) and how the agent puts the thing a request names first."""

from __future__ import annotations

from agent.item_kind import category_word, head_segment, head_word, kind_score, kind_scores, named_things
from agent.language import thing_part
from agent.profile import thing_query
from tools.catalog import AttributeValue, Item


def item(item_id: str, title: str, **attributes: AttributeValue) -> Item:
    return Item(item_id=item_id, title=title, text=title, attributes=attributes, domain="scientific")


# The eight scientific titles that say "multimeter" (catalog text, abridged after the cut); three are multimeters.
OWON = item(
    "B01C3IQDE8",
    "OWON B35T Plus Multimeter with True RMS Measurement, Bluetooth BLE 4.0",
    category="Industrial Electrical",
)
SCOPE = item(
    "B007T6XNCA",
    "Owon PDS5022T Portable Digital Storage Oscilloscope and Digital Multimeter, 2 Channels, 25MHz",
    category="Test, Measure & Inspect Electrical Testing Oscilloscopes & Accessories",
)
CLAMP = item(
    "B00FEBSJ58",
    "Uni-T UT204 Auto-Ranging AC DC Ture RMS Auto/Manual Range Digital Handheld Clamp Meter Multimeter Test Tool",
    category="Test, Measure & Inspect Electrical Testing Current Testers Clamp Meters",
)
PH_PEN = item(
    "B009K6OF5G",
    "New Mini Digital Pen Type PH Meter PH-009 I Multimeter Tester Hydro",
    category="Test, Measure & Inspect Water Quality & Instrumentation pH Testing pH Meters",
)
LEADS = item(
    "B005QJCRAG",
    "uxcell DMiotech Pair 1000V Banana Connector Multimeter Probe Test Lead Cable 0.6M",
    category="Test, Measure & Inspect Electrical Testing Test Probes & Leads",
)
CASE = item(
    "B01E1Z5SG0",
    "Hard Travel Case for Etekcity MSR-C600 Digital Clamp Meter Multimeters Auto-Ranging Multimeter",
    category="Test, Measure & Inspect Electrical Testing Current Testers Clamp Meters",
)
CLIPS = item(
    "B013K1I1OM",
    "Heavy Duty Insulation Piercing Test Clip, Fully Insulated Quick Piercing Test Clips Multimeter Test Probe",
    category="Test, Measure & Inspect Electrical Testing Test Probes & Leads",
)
GAUGE = item(
    "B00BY4M7AW",
    "DROK Digital Current Tester Multimeter DC 100V Volt 2A Ampere Battery Monitor Gauge 2in1 Red/Blue 2-color LED"
    " Display Car Automotive 12V 24V Built-in Shunt",
    category="Test, Measure & Inspect Electrical Testing Component Testers",
)
ALL = [PH_PEN, LEADS, CASE, GAUGE, CLAMP, CLIPS, SCOPE, OWON]


def test_the_head_segment_stops_at_the_first_use_or_detail() -> None:
    assert head_segment(OWON.title) == ["owon", "b35t", "plus", "multimeter"]
    assert head_word(OWON.title) == "multimeter"
    assert head_word(SCOPE.title) == "multimeter"
    assert head_word(CASE.title) == "case"  # a case *for* a multimeter
    assert head_word(CLIPS.title) == "clip"
    assert head_word(LEADS.title) == "cable"  # "0.6M" is a size, not what it is
    assert head_word("") is None
    assert head_word("Gildan Men's Crew T-Shirt, Large") == "shirt"


def test_the_category_word_is_the_catalog_kind() -> None:
    assert category_word(CLAMP) == "meter"
    assert category_word(LEADS) == "lead"
    assert category_word(item("x", "no category")) is None


def test_kind_scores_rank_what_is_a_multimeter_over_what_mentions_one() -> None:
    scores = dict(zip([i.item_id for i in ALL], kind_scores(ALL, ["multimeter"]), strict=True))
    # "... Clamp Meter Multimeter Test Tool": a generic head ("tool", "kit") stands for the word before it.
    assert scores[OWON.item_id] == scores[CLAMP.item_id] == 3
    assert scores[SCOPE.item_id] == 2  # "Oscilloscope and Digital Multimeter": partly a multimeter
    assert scores[GAUGE.item_id] == scores[PH_PEN.item_id] == scores[LEADS.item_id] == 1  # a modifier
    # The three multimeters come before the battery gauge, whatever the prior says within a tier.
    ranked = sorted(ALL, key=lambda i: -scores[i.item_id])
    assert {i.item_id for i in ranked[:3]} == {OWON.item_id, CLAMP.item_id, SCOPE.item_id}
    assert scores[CASE.item_id] == scores[CLIPS.item_id] == 0  # only after the cut: accessories
    # Two named words add up: a clamp meter is more a "clamp meter" than a pH meter is.
    assert kind_score(CLAMP, ["clamp", "meter"]) > kind_score(PH_PEN, ["clamp", "meter"]) > 0
    assert kind_score(GAUGE, ["shunt"]) == 3


def test_named_things_are_request_words_that_name_a_kind_among_the_candidates() -> None:
    assert named_things(["multimeter", "electronics", "hobby", "work"], ALL) == ["multimeter"]
    assert named_things(["multimeters"], ALL) == ["multimeter"]  # plural-tolerant
    assert named_things(["hobby"], ALL) == []
    # What stands behind a generic head scores, but names no kind by itself: "a professional multimeter" over a
    # "Professional Tool Kit" is not a request for professionals.
    assert named_things(["professional", "multimeter"], [*ALL, item("p", "Professional Tool Kit")]) == ["multimeter"]


def test_the_thing_part_is_what_comes_before_the_purpose() -> None:
    assert thing_part("I want a good multimeter for electronics hobby work under $50") == "i want a good multimeter"
    assert thing_part("a hoodie, nothing for kids") == "a hoodie"
    assert thing_query("I want a good multimeter for electronics hobby work") == "multimeter"
    assert thing_query("nitrile gloves for lab work, no latex") == "nitrile gloves"
    # Nothing follows the thing: the whole request is the search already, no second search.
    assert thing_query("levi's men's bootcut jeans") == ""
    assert thing_query("in black") == ""
    assert thing_query("") == ""


def test_a_combined_device_is_each_kind_its_head_joins() -> None:
    from agent.item_kind import head_kinds

    assert head_kinds(SCOPE.title) == ["multimeter", "oscilloscope"]
    assert head_kinds(OWON.title) == ["multimeter"]


def test_a_generic_head_stands_for_the_word_before_it() -> None:
    from agent.item_kind import head_kinds

    assert head_kinds(CLAMP.title) == ["tool", "multimeter"]  # "Test" qualifies "Tool"
    assert head_kinds("DEWALT DCT410S1 12V MAX Inspection Camera Kit") == ["kit", "camera"]
    assert head_kinds("Lisle 52750 Stethoscope Kit") == ["kit", "stethoscope"]
    assert head_kinds("Climax Metal Part Drill Kit 100") == ["kit", "drill"]
    assert head_kinds("Kit 2") == ["kit"]  # nothing before it
    assert head_kinds(GAUGE.title) == ["shunt"]  # not generic: stays what the title ends in
    assert kind_score(item("k", "Lisle 52750 Stethoscope Kit"), ["stethoscope"]) == 3
