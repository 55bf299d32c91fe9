"""A small corpus published by a real `moisson run`, for the release tests: two file sources, French under
CC BY 4.0 and English under CC0, so that a release has two languages, two licences and two sources."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from e2e import run_moisson
from moisson.atomic_files import write_parquet

FRENCH = [
    "La commune de Valbrune publie chaque mois un bulletin sur la vie des quartiers, les travaux en cours et les "
    "rendez-vous culturels de la saison {n}.",
    "Le conseil municipal a voté le budget de la médiathèque et des écoles, avec une enveloppe nouvelle pour les "
    "jardins partagés numéro {n}.",
    "Les habitants sont invités à la réunion publique sur le plan de circulation du centre-ville, qui aura lieu à la "
    "salle des fêtes {n}.",
    "La bibliothèque municipale ouvre une nouvelle salle de lecture pour les enfants et prolonge ses horaires le "
    "samedi, annonce le bulletin {n}.",
]
ENGLISH = [
    "The town council published its monthly newsletter about life in the neighbourhoods, ongoing works and the "
    "cultural events of season {n}.",
    "Residents are invited to the public meeting about the new traffic plan for the town centre, held in the village "
    "hall number {n}.",
]
SOURCES = """sources:
  - {name: notes_fr, kind: files, paths: ['fr.jsonl'], license: CC-BY-4.0, description: French notes}
  - {name: notes_en, kind: files, paths: ['en.jsonl'], license: CC0-1.0}
policy:
  languages: [fr, en]
  licenses: {allow: [CC-BY-4.0, CC0-1.0]}
  quality: {enabled: false}
  dedup: {enabled: false}
"""


def write_notes(path: Path, prefix: str, texts: list[str]) -> None:
    lines = [json.dumps({"id": f"{prefix}{i}", "text": " ".join([text.format(n=i)] * 3)}, ensure_ascii=False)
             for i, text in enumerate(texts)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def publish(root: Path, french: int = 3) -> Path:
    """`moisson run` over `french` French notes and two English ones; returns the data directory."""
    root.mkdir(parents=True, exist_ok=True)
    write_notes(root / "fr.jsonl", "fr", FRENCH[:french])
    write_notes(root / "en.jsonl", "en", ENGLISH)
    (root / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    result = run_moisson(root / "sources.yaml", root / "data")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root / "data"


def copy_of(data_dir: Path, destination: Path) -> Path:
    """A copy of a whole input folder (sources file, inputs, data directory), elsewhere on disk."""
    shutil.copytree(data_dir.parent, destination, symlinks=True)
    return destination / "data"


def corpus_ids(data_dir: Path) -> dict[str, str]:
    """Published id -> record key (the JSONL id is its end)."""
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return dict(con.execute("SELECT id, record_key FROM documents WHERE status = 'kept'").fetchall())


def unpublish(data_dir: Path, document_id: str) -> None:
    """A document's row taken out of its published Parquet part, as if the corpus had been edited by hand (what
    no takedown explains: a release counts it as removed)."""
    for part in sorted((data_dir / "corpus").glob("*/*.parquet")):
        table = pq.read_table(part)
        ids = table.column("id").to_pylist()
        if document_id in ids:
            kept = table.filter([i != document_id for i in ids])
            part.unlink()
            write_parquet(kept, part, data_dir / "tmp")
