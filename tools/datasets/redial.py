"""ReDial conversational recommendation, test split, as processed for "LLMs as Zero-Shot Conversational
Recommenders" (He et al., CIKM'23).

Files: `test.jsonl` (one recommendation turn per line), `item_ids.json` (the recommendable entity ids)
and `entity2id.json` (DBpedia URI -> entity id).

Titles come from the DBpedia URI: `<http://dbpedia.org/resource/Police_Academy_(film)>` -> "Police Academy".
The trailing disambiguator ("(film)", "(1984 film)", "(2001 American film)", "(novel)", ...) is removed and
kept in `attributes["dbpedia_kind"]`; a year in it goes to `attributes["year"]`. For movies whose URI has
no year, the year comes from the dialogues, which write movies as "Police Academy (1984)": from a turn's
`entity_name` strings with the same normalized title (for the turn's `rec` and `entity` ids), and from
"<name> (<year>)" in the context (for the turn's `prev_entity` ids). It is used only when all such
mentions agree; the URI's year wins where both exist. With a year, the title is "Name (Year)" as in the
dialogues, which also tells remakes apart ("Halloween (1978)", "Halloween (2018)").

Any folder in this format can be a domain of its own (`conversational_spec`, LLMREC_CONVERSATIONAL_DATASETS): the
same parser, the configured name on the dataset and its items, so its caches and indexes never mix with redial's.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections import defaultdict
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

from tools.catalog import Dataset, DialogueTurn, Item
from tools.datasets.reader import Location, iter_lines, read_json
from tools.datasets.spec import DatasetSpec
from tools.errors import DatasetFormatError
from tools.settings import CONVERSATIONAL_DATASETS_VARIABLE, DataSettings

DOMAIN = "redial"
TURNS = "test.jsonl"
ITEM_IDS = "item_ids.json"
ENTITIES = "entity2id.json"
FILES = (TURNS, ITEM_IDS, ENTITIES)

DBPEDIA_PREFIX = "<http://dbpedia.org/resource/"
_DISAMBIGUATOR = re.compile(r"\s*\(([^()]*)\)$")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_NAME_WITH_YEAR = re.compile(r"^(?P<name>.*?)\s*\((?P<year>\d{4})\)$")
_REQUIRED = ("context", "rec", "dialog_id", "turn_id")


def locations(settings: DataSettings) -> list[Location]:
    ext = settings.external_data_dir
    return [
        Location(settings.bundled_data_dir / DOMAIN, "LLMREC_BUNDLED_DATA_DIR"),
        Location(ext / "redial" if ext else None, "LLMREC_EXTERNAL_DATA_DIR"),
    ]


def parse_dbpedia_uri(uri: str) -> tuple[str, str | None, str | None]:
    """`(name, year, kind)` from a DBpedia resource URI; name with spaces, percent-decoded."""
    resource = uri.strip()
    if resource.startswith(DBPEDIA_PREFIX) and resource.endswith(">"):
        resource = resource[len(DBPEDIA_PREFIX) : -1]
    name = urllib.parse.unquote(resource).replace("_", " ").strip()
    kind: str | None = None
    year: str | None = None
    match = _DISAMBIGUATOR.search(name)
    if match and match.start() > 0:
        kind = match.group(1).strip()
        name = name[: match.start()].strip()
        year_match = _YEAR.search(kind)
        year = year_match.group(1) if year_match else None
    return name, year, kind


def title_key(name: str) -> str:
    """Normalization under which a ReDial movie name and a DBpedia name are taken to be the same title."""
    return re.sub(r"[\W_]+", " ", name.casefold()).strip()


def _id_list(path: Path, line_no: int, row: Mapping[str, Any], key: str) -> list[int]:
    value = row.get(key, [])
    if not isinstance(value, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in value):
        raise DatasetFormatError(path, line_no, f"{key!r} as a list of integer entity ids", str(value))
    return value


def parse(paths: Mapping[str, Path], seed: int, domain: str = DOMAIN) -> Dataset:
    """The dataset of the three files in `paths`, named `domain` (redial, or a configured name)."""
    del seed  # the turns are given by the file
    entity_path, item_path, turn_path = paths[ENTITIES], paths[ITEM_IDS], paths[TURNS]
    entity2id = read_json(entity_path)
    if not isinstance(entity2id, dict) or not all(isinstance(v, int) for v in entity2id.values()):
        raise DatasetFormatError(entity_path, None, "a JSON object mapping DBpedia URIs to integer ids")
    uri_of: dict[int, str] = {}
    for uri, entity in entity2id.items():
        if entity in uri_of:
            raise DatasetFormatError(
                entity_path, None, "each entity id once", f"{entity} for {uri_of[entity]} and {uri}"
            )
        uri_of[entity] = uri
    item_ids = read_json(item_path)
    if not isinstance(item_ids, list) or not all(isinstance(x, int) for x in item_ids):
        raise DatasetFormatError(item_path, None, "a JSON list of integer entity ids")
    if len(set(item_ids)) != len(item_ids):
        raise DatasetFormatError(item_path, None, "each item id once", f"{len(item_ids) - len(set(item_ids))} repeats")
    unknown = [x for x in item_ids if x not in uri_of]
    if unknown:
        raise DatasetFormatError(item_path, None, f"entity ids present in {ENTITIES}", str(unknown[:5]))
    recommendable = set(item_ids)

    turns: list[DialogueTurn] = []
    seen: set[tuple[str, str]] = set()
    name_years: dict[int, set[str]] = defaultdict(set)
    gold_not_items = turns_without_gold = context_entities_not_items = 0
    for line_no, line in iter_lines(turn_path, progress=turn_path.name):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetFormatError(turn_path, line_no, "one JSON object per line", line) from exc
        if not isinstance(row, dict) or any(k not in row for k in _REQUIRED):
            raise DatasetFormatError(turn_path, line_no, f"a JSON object with {', '.join(_REQUIRED)}", line)
        context = row["context"]
        if not isinstance(context, list) or not all(isinstance(u, str) for u in context):
            raise DatasetFormatError(turn_path, line_no, "'context' as a list of utterances", str(context))
        while context and not context[0].strip():
            context = context[1:]  # every turn's context starts with an empty utterance
        rec = _id_list(turn_path, line_no, row, "rec")
        entities = _id_list(turn_path, line_no, row, "entity")
        previous = _id_list(turn_path, line_no, row, "prev_entity")
        for entity in (*rec, *entities, *previous):
            if entity not in uri_of:
                raise DatasetFormatError(turn_path, line_no, f"entity ids present in {ENTITIES}", str(entity))
        gold = [x for x in rec if x in recommendable]
        gold_not_items += len(rec) - len(gold)
        if not gold:
            turns_without_gold += 1
        mentioned = [x for x in previous if x in recommendable]
        context_entities_not_items += len(previous) - len(mentioned)
        dialog_id, turn_id = str(row["dialog_id"]), str(row["turn_id"])
        if (dialog_id, turn_id) in seen:
            raise DatasetFormatError(turn_path, line_no, "each (dialog_id, turn_id) once", f"{dialog_id}/{turn_id}")
        seen.add((dialog_id, turn_id))
        turns.append(
            DialogueTurn(
                dialog_id=dialog_id,
                turn_id=turn_id,
                context=tuple(context),
                gold=tuple(str(x) for x in gold),
                mentioned=tuple(str(x) for x in mentioned),
            )
        )
        names = row.get("entity_name") or []
        if not isinstance(names, list):
            raise DatasetFormatError(turn_path, line_no, "'entity_name' as a list of strings", str(names))
        keyed = [(title_key(m["name"]), m["year"]) for n in names if (m := _NAME_WITH_YEAR.match(str(n).strip()))]
        for entity in {*rec, *entities}:
            if entity in recommendable:
                key = title_key(parse_dbpedia_uri(uri_of[entity])[0])
                name_years[entity].update(year for name, year in keyed if name == key)
        text = "\n".join(context)
        for entity in mentioned:
            name = parse_dbpedia_uri(uri_of[entity])[0]
            name_years[entity].update(re.findall(re.escape(name) + r"\s*\((\d{4})\)", text, flags=re.IGNORECASE))

    items: dict[str, Item] = {}
    year_from_uri = year_from_names = year_conflicts = uri_name_disagreements = 0
    for entity in sorted(recommendable):
        uri = uri_of[entity]
        name, year, kind = parse_dbpedia_uri(uri)
        from_names = name_years.get(entity, set())
        if year is not None:
            year_from_uri += 1
            uri_name_disagreements += bool(from_names - {year})
        elif len(from_names) == 1:
            year = next(iter(from_names))
            year_from_names += 1
        elif len(from_names) > 1:
            year_conflicts += 1
        attributes: dict[str, str] = {"dbpedia": uri.strip("<>")}
        if year is not None:
            attributes["year"] = year
        if kind is not None:
            attributes["dbpedia_kind"] = kind
        title = f"{name} ({year})" if year else name
        items[str(entity)] = Item(str(entity), title, title, attributes, domain)

    title_count: dict[str, int] = defaultdict(int)
    for item in items.values():
        title_count[item.title.casefold()] += 1
    notes = {
        "entities": len(uri_of),
        "gold_ids_not_recommendable_skipped": gold_not_items,
        "turns_without_gold": turns_without_gold,
        "context_entities_not_items": context_entities_not_items,
        "items_year_from_dbpedia_uri": year_from_uri,
        "items_year_from_dialogues": year_from_names,
        "items_year_unknown_mentions_disagree": year_conflicts,
        "items_uri_year_differs_from_a_mention": uri_name_disagreements,
        "items_sharing_a_title": sum(n for n in title_count.values() if n > 1),
    }
    return Dataset(domain=domain, items=items, turns=turns, notes=notes)


SPEC = DatasetSpec(
    domain=DOMAIN,
    version=1,
    files=FILES,
    locations=locations,
    parse=parse,
    description="ReDial test turns (CIKM'23 processing), DBpedia movie catalog (bundled)",
)


def conversational_spec(name: str, folder: Path) -> DatasetSpec:
    """A ReDial-format folder as the domain `name` (one entry of LLMREC_CONVERSATIONAL_DATASETS)."""
    return DatasetSpec(
        domain=name,
        version=SPEC.version,
        files=FILES,
        locations=lambda settings: [Location(folder, CONVERSATIONAL_DATASETS_VARIABLE)],
        parse=partial(parse, domain=name),
        description=f"ReDial-format conversational dataset from {folder} ({CONVERSATIONAL_DATASETS_VARIABLE})",
    )
