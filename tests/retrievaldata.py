"""A small real-looking catalog (Amazon Industrial & Scientific items) for the retrieval tests."""

from __future__ import annotations

from pathlib import Path

from tools.catalog import Dataset, Item, UserHistory
from tools.settings import RetrievalSettings

_ROWS = [
    (
        "B0000223SI",
        "PORTER-CABLE 740000801 4 1/2-Inch x 10yd 80 Grit Adhesive-Backed Sanding Roll",
        "Abrasive & Finishing Products",
        "PORTER-CABLE",
    ),
    (
        "B0000223SK",
        "PORTER-CABLE 740001201 4 1/2-Inch by 10yd 120 Grit Adhesive-Backed Sanding Roll",
        "Abrasive & Finishing Products",
        "PORTER-CABLE",
    ),
    (
        "B0000223UV",
        "Gorilla Original Gorilla Glue, Waterproof Polyurethane Glue, 8 ounce Bottle, Brown",
        "Tapes, Adhesives & Sealants",
        "Gorilla",
    ),
    (
        "B00002246J",
        "DEWALT DW4524 4-1/2-Inch by 1/4-Inch by 7/8-Inch Concrete/Masonry Grinding Wheel",
        "Abrasive & Finishing Products",
        "DEWALT",
    ),
    (
        "B0002BBV4Q",
        "Neiko 01407A Electronic Digital Caliper, Stainless Steel, 0-6 Inches",
        "Test, Measure & Inspect",
        "Neiko",
    ),
    (
        "B000GSLKIW",
        "Mitutoyo 500-196-30 Advanced Onsite Sensor Absolute Scale Digital Caliper, 0 to 6 Inch",
        "Test, Measure & Inspect",
        "Mitutoyo",
    ),
    (
        "B001C4ZNT8",
        "Fowler 52-008-706 Dial Caliper, 0-6 Inch Range, .001 Graduation",
        "Test, Measure & Inspect",
        "Fowler",
    ),
    ("B0009XT6FC", "Starrett 1202-6 Dial Caliper with Case, 0-6 Inch", "Test, Measure & Inspect", "Starrett"),
    ("B000FP8B8K", "Fluke 115 Compact True-RMS Digital Multimeter", "Test, Measure & Inspect", "Fluke"),
    (
        "B00C7LOR3Q",
        "AstroAI Digital Multimeter with Ohm Volt Amp and Diode Voltage Tester",
        "Test, Measure & Inspect",
        "AstroAI",
    ),
    (
        "B001QEBAE8",
        "Kimberly-Clark Professional Kimtech Science Kimwipes Delicate Task Wipers, 280 Wipes",
        "Lab & Scientific Products",
        "Kimberly-Clark",
    ),
    (
        "B0030MIDY0",
        "Karter Scientific 206H2 3ml Graduated Transfer Pipettes, 500 Pack",
        "Lab & Scientific Products",
        "Karter Scientific",
    ),
    (
        "B00IHCNBAY",
        "Corning Pyrex 1000 ml Griffin Low Form Glass Beaker",
        "Lab & Scientific Products",
        "Corning",
    ),
    (
        "B001C7WFBG",
        "Eisco Labs Borosilicate Glass Graduated Cylinder, 100 ml",
        "Lab & Scientific Products",
        "Eisco",
    ),
    (
        "B000BQSQ3W",
        "3M 2090 ScotchBlue Original Multi-Surface Painter's Tape, 1.88 Inch x 60 Yard",
        "Tapes, Adhesives & Sealants",
        "3M",
    ),
    (
        "B0000AXNQR",
        "3M Scotch Super 33+ Vinyl Electrical Tape, 3/4-Inch by 66-Foot, Black",
        "Tapes, Adhesives & Sealants",
        "3M",
    ),
    (
        "B00004Z4CP",
        "Loctite Super Glue Liquid, Professional 20-Gram Bottle",
        "Tapes, Adhesives & Sealants",
        "Loctite",
    ),
    ("B000NPPASE", "Hillman Group Stainless Steel Hex Bolt 1/2-13 x 2 Inch, 10 Pack", "Fasteners", "Hillman"),
    ("B0018LU2MO", "Stainless Steel 18-8 Flat Washer, 1/2 Inch, 100 Pack", "Fasteners", "Hillman"),
    (
        "B01DT3QKA6",
        "Ansell TouchNTuff 92-600 Nitrile Disposable Gloves, Size Large, 100 Count",
        "Occupational Health & Safety Products",
        "Ansell",
    ),
    (
        "B0000AZKGF",
        "3M Safety Glasses Virtua CCS Protective Eyewear, Clear Anti-Fog Lens",
        "Occupational Health & Safety Products",
        "3M",
    ),
    ("B003H2N3IW", "Weller WLC100 40-Watt Soldering Station", "Power & Hand Tools", "Weller"),
    (
        "B0006NDF8A",
        "Rosin Core Solder Wire 60/40 Tin Lead, 0.8mm, 100g Spool",
        "Power & Hand Tools",
        "Kester",
    ),
    (
        "B07CMN4JXK",
        "Café Lab Stainless Steel Thermometer, 5 Inch Stem, -10 to 100°C",
        "Test, Measure & Inspect",
        "Café Lab",
    ),
]

BRANDS = {row[0]: row[3] for row in _ROWS}


def small_catalog(
    domain: str = "scientific", drop: tuple[str, ...] = (), retitle: dict[str, str] | None = None
) -> Dataset:
    """24 items with `brand`, `category` and a list-valued `tags` attribute, and two users."""
    retitle = retitle or {}
    items: dict[str, Item] = {}
    for item_id, title, category, brand in _ROWS:
        if item_id in drop:
            continue
        title = retitle.get(item_id, title)
        tags = ["measuring"] if category == "Test, Measure & Inspect" else []
        if "Stainless" in title:
            tags.append("stainless")
        items[item_id] = Item(
            item_id=item_id,
            title=title,
            text=f"{title}. Industrial & Scientific {category}. {brand}.",
            attributes={"brand": brand, "category": category, "tags": tags},
            domain=domain,
        )
    users = [
        UserHistory("u1", ("B0002BBV4Q", "B001C4ZNT8"), valid="B000FP8B8K", test="B0009XT6FC"),
        UserHistory("u2", ("B001QEBAE8",), valid="B0030MIDY0", test="B00IHCNBAY"),
    ]
    users = [u for u in users if all(i in items for i in u.all_items)]
    return Dataset(domain=domain, items=items, users=users)


def settings_for(data_dir: Path, **overrides: object) -> RetrievalSettings:
    """Settings writing under `data_dir` (never the user's real data folder)."""
    return RetrievalSettings(data_dir=data_dir, **overrides)  # type: ignore[arg-type]
