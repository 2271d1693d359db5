"""CiteULike-a: researchers' paper libraries, tags and citation links (Wang, Chen & Li, IJCAI 2013).

Files (all `.dat` ids 0-based): `users.dat` (line u: `n item item ...`, user u's library), `item-tag.dat`
(line i: `n tag tag ...`), `tags.dat` (line t: tag t), `citations.dat` (line i: `n paper paper ...`),
plus the CDL subset `cdl-subset/raw-data.csv` (1,929 papers with title and abstract) and
`cdl-subset/users.dat` (the libraries of the first 50 users in the subset's own paper ids).
Research data without a licence: read from `LLMREC_EXTERNAL_DATA_DIR/citeulike`, never bundled.

Mapping the CDL subset onto citeulike-a ids. The subset's `doc.id` (0..1928) is its own numbering. Its 50
users are citeulike-a users 0..49 (every library has the same size), and a subset id s and the citeulike-a
id m(s) it pairs with in the sorted libraries never conflict across users, so the re-numbering preserves
order. But the subset libraries are off by one: paper s is citeulike-a paper m(s) - 1. Checked by tags:
the words of a subset paper's title and abstract overlap the citeulike-a tags of m(s) - 1 by 0.35 on
average, against 0.06 for m(s) and m(s) - 2; and subset paper 0, "The metabolic world of Escherichia coli
is not small", is citeulike-a paper 0 in the README's citation example (tags: metabolism, ecoli...). The
subset builder probably read the 1-based ids of citeulike-a's raw-data.csv as 0-based. The loader
recomputes the overlap for shifts -1, 0, +1, uses the best, and fails unless it wins clearly. Subset papers
outside the 50 libraries are placed only where the order leaves exactly one citeulike-a id for them.
Papers without a subset entry are titled "CiteULike paper <id>: <their 3 most widely used tags>".

Counts: 204,986 library entries (the sum of the leading counts and of the ids; no repeats), where the
dataset README says 204,987 user-item pairs, apparently an off-by-one there. `citations.dat` is symmetric
with 89,418 entries: 44,661 links between two papers plus 96 papers listed as their own neighbour; the
README's 44,709 is 89,418 / 2. Links are undirected, stored per paper in `attributes["citations"]`.

No timestamps: each user's library is split at random with a per-user seed (test = last, valid = the one
before). Every user has at least 10 papers; users with fewer than 3 would be dropped and counted.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from tools.catalog import Dataset, Item, UserHistory
from tools.datasets.reader import Location, counted_list, iter_lines, read_bytes
from tools.datasets.spec import DatasetSpec
from tools.datasets.split import random_holdout
from tools.errors import DatasetFormatError
from tools.settings import DataSettings

DOMAIN = "citeulike"
USERS = "users.dat"
ITEM_TAGS = "item-tag.dat"
TAGS = "tags.dat"
CITATIONS = "citations.dat"
CDL_PAPERS = "cdl-subset/raw-data.csv"
CDL_USERS = "cdl-subset/users.dat"
FILES = (USERS, ITEM_TAGS, TAGS, CITATIONS, CDL_PAPERS, CDL_USERS)

MIN_ITEMS = 3
TITLE_TAGS = 3
CANDIDATE_SHIFTS = (-1, 0, 1)
_CDL_HEADER = ["doc.id", "title", "citeulike.id", "raw.title", "raw.abstract"]
_WORD = re.compile(r"[a-z]{4,}")


def locations(settings: DataSettings) -> list[Location]:
    ext = settings.external_data_dir
    return [Location(ext / DOMAIN if ext else None, "LLMREC_EXTERNAL_DATA_DIR")]


def _read_counted(path: Path, what: str, limit: int | None) -> list[list[int]]:
    rows: list[list[int]] = []
    for line_no, line in iter_lines(path, progress=path.name):
        if line_no != len(rows) + 1:
            raise DatasetFormatError(path, line_no, "one line per id, none blank")
        ids = counted_list(path, line_no, line, what)
        if limit is not None:
            for x in ids:
                if not 0 <= x < limit:
                    raise DatasetFormatError(path, line_no, f"{what} from 0 to {limit - 1}", str(x))
        if len(set(ids)) != len(ids):
            raise DatasetFormatError(path, line_no, f"distinct {what}", line)
        rows.append(ids)
    return rows


def _read_cdl_papers(path: Path) -> list[dict[str, str]]:
    try:
        text = read_bytes(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetFormatError(path, None, "UTF-8 text") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header != _CDL_HEADER:
        raise DatasetFormatError(path, 1, f"the CSV header {','.join(_CDL_HEADER)}", str(header))
    papers: list[dict[str, str]] = []
    for row in reader:
        if len(row) != len(_CDL_HEADER):
            raise DatasetFormatError(path, reader.line_num, f"{len(_CDL_HEADER)} comma-separated fields", str(row))
        paper = dict(zip(_CDL_HEADER, row, strict=True))
        if paper["doc.id"] != str(len(papers)):
            raise DatasetFormatError(path, reader.line_num, f"doc.id {len(papers)} (rows numbered from 0)", row[0])
        papers.append(paper)
    return papers


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _tag_overlap(paper: Mapping[str, str], tag_ids: Sequence[int], tags: Sequence[str]) -> float:
    """Share of the paper's tag words found in its title and abstract."""
    tag_words: set[str] = set()
    for t in tag_ids:
        tag_words |= _words(tags[t].replace("-", " ").replace("_", " "))
    if not tag_words:
        return 0.0
    return len(_words(paper["raw.title"] + " " + paper["raw.abstract"]) & tag_words) / len(tag_words)


def map_cdl_subset(
    subset_libraries: Sequence[Sequence[int]],
    libraries: Sequence[Sequence[int]],
    papers: Sequence[Mapping[str, str]],
    item_tags: Sequence[Sequence[int]],
    tags: Sequence[str],
    subset_users_path: Path,
) -> tuple[dict[int, int], dict[str, float | int]]:
    """Subset doc.id -> citeulike-a id (see the module docstring), and what the check measured."""
    paired: dict[int, int] = {}
    for user, subset_library in enumerate(subset_libraries):
        if user >= len(libraries) or len(subset_library) != len(libraries[user]):
            raise DatasetFormatError(
                subset_users_path, user + 1, f"the same library size as line {user + 1} of {USERS}"
            )
        for s, a in zip(sorted(subset_library), sorted(libraries[user]), strict=True):
            if not 0 <= s < len(papers):
                raise DatasetFormatError(subset_users_path, user + 1, f"doc ids 0..{len(papers) - 1}", str(s))
            if paired.setdefault(s, a) != a:
                raise DatasetFormatError(
                    subset_users_path,
                    user + 1,
                    "libraries that pair each subset paper with one citeulike-a paper",
                )

    def mean_overlap(shift: int) -> float:
        scores = [
            _tag_overlap(papers[s], item_tags[a + shift], tags) if 0 <= a + shift < len(item_tags) else 0.0
            for s, a in paired.items()
        ]
        return sum(scores) / max(1, len(scores))

    overlaps = {shift: mean_overlap(shift) for shift in CANDIDATE_SHIFTS}
    best, runner_up = sorted(CANDIDATE_SHIFTS, key=lambda k: overlaps[k], reverse=True)[:2]
    if overlaps[best] <= 2 * overlaps[runner_up]:
        raise DatasetFormatError(
            subset_users_path, None, "libraries whose papers' tags confirm one id shift", str(overlaps)
        )
    mapping = {s: a + best for s, a in paired.items() if 0 <= a + best < len(item_tags)}

    # Papers outside the 50 libraries: the order-preserving numbering pins one down when the gap between
    # its mapped neighbours leaves exactly as many citeulike-a ids as there are subset papers in it.
    anchors = sorted(mapping)
    forced = 0
    for lo, hi in zip([-1, *anchors], [*anchors, len(papers)], strict=True):
        if hi - lo <= 1:
            continue
        a_lo = mapping[lo] if lo >= 0 else -1
        a_hi = mapping[hi] if hi < len(papers) else len(item_tags)
        if a_hi - a_lo == hi - lo:
            for k in range(1, hi - lo):
                mapping[lo + k] = a_lo + k
                forced += 1
    stats: dict[str, float | int] = {
        "cdl_id_shift": best,
        "cdl_tag_overlap_at_shift": round(overlaps[best], 3),
        "cdl_tag_overlap_next_best": round(overlaps[runner_up], 3),
        "cdl_papers_mapped_via_libraries": len(paired),
        "cdl_papers_mapped_by_order": forced,
        "cdl_papers_not_mapped": len(papers) - len(mapping),
    }
    return mapping, stats


def _clean(text: str) -> str:
    return " ".join(text.split())


def parse(paths: Mapping[str, Path], seed: int) -> Dataset:
    tags = [line for _, line in iter_lines(paths[TAGS])]
    item_tags = _read_counted(paths[ITEM_TAGS], "tag ids", len(tags))
    n_items = len(item_tags)
    citations = _read_counted(paths[CITATIONS], "paper ids", n_items)
    if len(citations) != n_items:
        raise DatasetFormatError(paths[CITATIONS], None, f"{n_items} lines, one per paper of {ITEM_TAGS}")
    libraries = _read_counted(paths[USERS], "paper ids", n_items)
    papers = _read_cdl_papers(paths[CDL_PAPERS])
    subset_libraries = _read_counted(paths[CDL_USERS], "doc ids", len(papers))
    cdl_of, cdl_stats = map_cdl_subset(subset_libraries, libraries, papers, item_tags, tags, paths[CDL_USERS])
    paper_of = {a: papers[s] for s, a in cdl_of.items()}

    usage = Counter(t for ids in item_tags for t in ids)
    neighbours = [{x for x in c if x != i} for i, c in enumerate(citations)]
    asymmetric = sum(1 for i, c in enumerate(neighbours) for j in c if i not in neighbours[j])
    items: dict[str, Item] = {}
    for i, tag_ids in enumerate(item_tags):
        tag_names = [tags[t] for t in sorted(tag_ids, key=lambda t: (-usage[t], tags[t]))]
        attributes: dict[str, str | list[str]] = {"tags": tag_names}
        if neighbours[i]:
            attributes["citations"] = [str(x) for x in sorted(neighbours[i])]
        tag_text = ("Tags: " + ", ".join(tag_names) + ".") if tag_names else ""
        paper = paper_of.get(i)
        if paper is not None:
            title = _clean(paper["raw.title"]) or _clean(paper["title"])
            abstract = _clean(paper["raw.abstract"])
            attributes["citeulike_id"] = paper["citeulike.id"]
            text = " ".join(x for x in (title + ".", abstract, tag_text) if x)
        else:
            title = f"CiteULike paper {i}" + (": " + ", ".join(tag_names[:TITLE_TAGS]) if tag_names else "")
            text = " ".join(x for x in (title + ".", tag_text) if x)
        items[str(i)] = Item(str(i), title, text, attributes, DOMAIN)

    users: list[UserHistory] = []
    dropped = 0
    for u, library in enumerate(libraries):
        if len(library) < MIN_ITEMS:
            dropped += 1
            continue
        users.append(random_holdout(str(u), [str(x) for x in library], seed))

    self_links = sum(1 for i, c in enumerate(citations) if i in c)
    adjacency = sum(len(c) for c in citations)
    notes: dict[str, float | int | str] = {
        "tags": len(tags),
        "library_entries": sum(len(lib) for lib in libraries),
        "users_dropped_under_3_papers": dropped,
        "papers_without_tags": sum(1 for ids in item_tags if not ids),
        "citation_adjacency_entries": adjacency,
        "citation_links": sum(len(n) for n in neighbours) // 2,
        "citation_self_links_skipped": self_links,
        "citation_asymmetric_entries": asymmetric,
        "papers_with_title_and_abstract": len(paper_of),
        **cdl_stats,
        "split": f"random per user, seed {seed}",
    }
    return Dataset(domain=DOMAIN, items=items, users=users, notes=notes)


SPEC = DatasetSpec(
    domain=DOMAIN,
    version=1,
    files=FILES,
    locations=locations,
    parse=parse,
    description="CiteULike-a libraries, tags, citations; seeded random leave-one-out (external)",
)
