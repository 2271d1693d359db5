"""Amazon Reviews 2018 "Clothing, Shoes and Jewelry" (the paper's Fashion domain), as a ratings CSV pair.

Files: `Dataset1p1.csv` (`;Rating;User_ID;Item_ID`, leading unnamed row index) and `Dataset1p2.csv`
(`;Item_ID;Item_title;Pred_EI`, lower-cased titles; Pred_EI is ignored).

The rows carry no timestamps (they are sorted by item id), so the split is random with a fixed seed.
Many ASINs are size/colour variants sharing one title: one tunic alone has 13 ASINs and 36,615 of the
65,230 ratings. Held out as they come, 69.5% of test items have their exact title in the user's own
history. So ASINs whose normalized title (casefold, whitespace collapsed, surrounding punctuation
stripped) is identical become one product, identified by the smallest ASIN, with the ASINs kept in
`attributes["variants"]`. Ratings are mapped onto products, repeated user-product pairs dropped, users
left with fewer than 5 products dropped, and each remaining user's products shuffled with a per-user seed:
the last is test, the one before valid. Every product stays in the catalog, rated by a kept user or not,
since all of them are recommendable. Ratings (1-5) are treated as implicit interactions.

The titles carry the brand but the files have no brand column: a title names the brand first, then the audience
("levi's men's 505 regular fit jean", "u.s. polo assn. men's faux sherpa jacket"). So `attributes["brand"]` is
the text before a title's first audience word when at least `MIN_BRAND_ITEMS` products start with that same
text (a one-off prefix is more often a style than a brand): on the bundled data 5,847 of the 6,312 products get one
of 371 brands, from "u.s. polo assn." to "the north face" (2 products); titles that start with the audience word
or name none get none. A user's
"levi's bootcut jeans" then filters by brand as on the scientific catalog.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from pathlib import Path

from tools.catalog import Dataset, Item, UserHistory
from tools.datasets.reader import Location, expect_header, iter_lines, parse_int, split_fields
from tools.datasets.spec import DatasetSpec
from tools.datasets.split import random_holdout
from tools.errors import DatasetFormatError
from tools.settings import DataSettings

DOMAIN = "clothing"
RATINGS = "Dataset1p1.csv"
TITLES = "Dataset1p2.csv"
FILES = (RATINGS, TITLES)

MIN_PRODUCTS = 5
MIN_BRAND_ITEMS = 2
_AUDIENCE_WORD = re.compile(
    r"\b(?:men'?s|women'?s|boys'?|girls'?|juniors'?|junior's|kids'?|kid's|baby|toddler|unisex|little|big|"
    r"infant|ladies|adult|youth)(?![\w'])"
)
_RATING_FIELDS = ("index", "Rating", "User_ID", "Item_ID")
_TITLE_FIELDS = ("index", "Item_ID", "Item_title", "Pred_EI")
_SPACE = re.compile(r"\s+")
_EDGE_PUNCTUATION = " \t.,;:!?-_'\"()[]{}*/\\|"


def locations(settings: DataSettings) -> list[Location]:
    ext = settings.external_data_dir
    return [
        Location(settings.bundled_data_dir / DOMAIN, "LLMREC_BUNDLED_DATA_DIR"),
        Location(ext / "amazon-clothing-2018" if ext else None, "LLMREC_EXTERNAL_DATA_DIR"),
    ]


def normalize_title(title: str) -> str:
    """The merge key: casefolded, whitespace collapsed, surrounding punctuation stripped."""
    return _SPACE.sub(" ", title.casefold()).strip(_EDGE_PUNCTUATION)


def merge_variants(titles: Mapping[str, str]) -> dict[str, str]:
    """ASIN -> product id (the smallest ASIN among those with the same normalized title)."""
    groups: dict[str, list[str]] = defaultdict(list)
    for asin, title in titles.items():
        groups[normalize_title(title)].append(asin)
    return {asin: min(group) for group in groups.values() for asin in group}


def _read_titles(path: Path) -> dict[str, str]:
    titles: dict[str, str] = {}
    lines = iter_lines(path)
    expect_header(path, lines, ";" + ";".join(_TITLE_FIELDS[1:]))
    for line_no, line in lines:
        # A title may contain ';' (none does in the 2018 file): take the first two and the last field.
        fields = line.split(";")
        if len(fields) < len(_TITLE_FIELDS):
            expected = f"{len(_TITLE_FIELDS)} semicolon-separated fields {', '.join(_TITLE_FIELDS)}"
            raise DatasetFormatError(path, line_no, expected, line)
        asin, title = fields[1].strip(), ";".join(fields[2:-1]).strip()
        parse_int(path, line_no, fields[0], "row index")
        if not asin:
            raise DatasetFormatError(path, line_no, "a non-empty Item_ID", line)
        if not title:
            raise DatasetFormatError(path, line_no, "a non-empty Item_title", line)
        if asin in titles:
            raise DatasetFormatError(path, line_no, "each Item_ID once", asin)
        titles[asin] = title
    return titles


def _read_ratings(path: Path, titles: Mapping[str, str]) -> tuple[dict[str, list[str]], int, int]:
    """User -> ASINs in file order (first rating of a repeated pair only), row count, repeated rows."""
    by_user: dict[str, list[str]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    rows = duplicates = 0
    lines = iter_lines(path, progress=path.name)
    expect_header(path, lines, ";" + ";".join(_RATING_FIELDS[1:]))
    for line_no, line in lines:
        index, rating, user, asin = split_fields(path, line_no, line, ";", _RATING_FIELDS)
        parse_int(path, line_no, index, "row index")
        try:
            value = float(rating)
        except ValueError as exc:
            raise DatasetFormatError(path, line_no, "a numeric Rating", rating) from exc
        if not 1 <= value <= 5:
            raise DatasetFormatError(path, line_no, "a Rating from 1 to 5", rating)
        if not user:
            raise DatasetFormatError(path, line_no, "a non-empty User_ID", line)
        if asin not in titles:
            raise DatasetFormatError(path, line_no, f"an Item_ID listed in {TITLES}", asin)
        rows += 1
        if (user, asin) in seen:
            duplicates += 1
            continue
        seen.add((user, asin))
        by_user[user].append(asin)
    return by_user, rows, duplicates


def title_brands(titles: Mapping[str, str]) -> dict[str, str]:
    """Product -> brand read from its title (see the module docstring); products without one are left out."""
    prefixes: dict[str, str] = {}
    for product, title in titles.items():
        match = _AUDIENCE_WORD.search(title)
        prefix = title[: match.start()].strip(" ,-") if match else ""
        if prefix and len(prefix.split()) <= 4 and not prefix[0].isdigit():
            prefixes[product] = prefix
    counts = Counter(prefixes.values())
    return {product: prefix for product, prefix in prefixes.items() if counts[prefix] >= MIN_BRAND_ITEMS}


def parse(paths: Mapping[str, Path], seed: int) -> Dataset:
    titles = _read_titles(paths[TITLES])
    by_user, rows, duplicate_rows = _read_ratings(paths[RATINGS], titles)
    product_of = merge_variants(titles)

    variants: dict[str, list[str]] = defaultdict(list)
    for asin in sorted(titles):
        variants[product_of[asin]].append(asin)
    items: dict[str, Item] = {}
    brands = title_brands({product: titles[product] for product in variants})
    for product, asins in sorted(variants.items()):
        title = titles[product]
        attributes: dict[str, str | list[str]] = {"brand": brands[product]} if product in brands else {}
        if len(asins) > 1:
            attributes["variants"] = asins
        items[product] = Item(product, title, title, attributes, DOMAIN)

    users: list[UserHistory] = []
    repeated_pairs = dropped_users = dropped_interactions = 0
    for user in sorted(by_user):
        products = list(dict.fromkeys(product_of[asin] for asin in by_user[user]))
        repeated_pairs += len(by_user[user]) - len(products)
        if len(products) < MIN_PRODUCTS:
            dropped_users += 1
            dropped_interactions += len(products)
            continue
        users.append(random_holdout(user, products, seed))

    notes = {
        "rating_rows": rows,
        "raw_users": len(by_user),
        "raw_asins": len(titles),
        "duplicate_user_asin_rows_skipped": duplicate_rows,
        "asins_merged_into_products": len(titles) - len(items),
        "products_with_variants": sum(1 for asins in variants.values() if len(asins) > 1),
        "products": len(items),
        "products_with_a_title_brand": len(brands),
        "title_brands": len(set(brands.values())),
        "repeated_user_product_pairs_dropped": repeated_pairs,
        "users_dropped_under_5_products": dropped_users,
        "interactions_of_dropped_users": dropped_interactions,
        "products_without_kept_users": len(items) - len({i for u in users for i in u.all_items}),
        "split": f"random per user, seed {seed}",
    }
    return Dataset(domain=DOMAIN, items=items, users=users, notes=notes)


SPEC = DatasetSpec(
    domain=DOMAIN,
    version=2,  # 2: brands read from the titles
    files=FILES,
    locations=locations,
    parse=parse,
    description="Amazon 2018 Clothing, variants merged, seeded random leave-one-out (bundled)",
)
