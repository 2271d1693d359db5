"""A small ReDial-format dataset cut from the real bundled files: the first N turns and only the entities they use."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from tools.settings import REPO_ROOT

BUNDLED_REDIAL = REPO_ROOT / "data" / "redial"


def _read(name: str) -> bytes:
    return gzip.decompress((BUNDLED_REDIAL / f"{name}.gz").read_bytes())


def write_redial_slice(folder: Path, turns: int = 200, *, skip: int = 0, compress: bool = False) -> Path:
    """Write test.jsonl, item_ids.json and entity2id.json (gzipped when `compress`) for turns skip..skip+turns-1.

    The entities kept are those the kept turns name (rec, entity, prev_entity); the items, the recommendable ones
    among them. Every line and mapping is copied unchanged, so the loader sees exactly the real format.
    """
    lines = _read("test.jsonl").decode("utf-8").splitlines()[skip : skip + turns]
    used: set[int] = set()
    for line in lines:
        row = json.loads(line)
        for key in ("rec", "entity", "prev_entity"):
            used.update(row.get(key) or [])
    entity2id = {uri: i for uri, i in json.loads(_read("entity2id.json")).items() if i in used}
    item_ids = [i for i in json.loads(_read("item_ids.json")) if i in used]
    files = {
        "test.jsonl": ("\n".join(lines) + "\n").encode("utf-8"),
        "item_ids.json": json.dumps(item_ids).encode("utf-8"),
        "entity2id.json": json.dumps(entity2id, ensure_ascii=False).encode("utf-8"),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        if compress:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return folder
