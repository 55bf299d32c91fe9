"""The dataset card (README.md with Hugging Face YAML front matter) published beside the corpus.

It is what a reader of the corpus sees first: what is in it, under which licences, from where, and
the exact policy that decided what got in. Counts are read back from the published files, so the
card describes what is really there.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import duckdb
import yaml

from moisson.config import MoissonConfig
from moisson.parquet_files import duckdb_paths, parts
from moisson.publication import CORPUS_SCHEMA

SPDX_TO_HF = {
    "CC0-1.0": "cc0-1.0", "CC-BY-4.0": "cc-by-4.0", "CC-BY-SA-4.0": "cc-by-sa-4.0", "CC-BY-3.0": "cc-by-3.0",
    "CC-BY-SA-3.0": "cc-by-sa-3.0", "etalab-2.0": "etalab-2.0", "ODbL-1.0": "odbl", "ODC-By-1.0": "odc-by",
    "PDDL-1.0": "pddl", "CC-BY-2.0": "cc-by-2.0", "CC-BY-2.5": "cc-by-2.5", "CC-BY-SA-2.0": "cc-by-sa-2.0",
    "MIT": "mit", "Apache-2.0": "apache-2.0",
}


# Each id counted once, even in a corpus that holds one twice (see moisson.publication.remove_repeated_ids).
PUBLISHED = "(SELECT DISTINCT ON (id) id, language, license, source, n_words, n_chars FROM read_parquet($files))"
COUNT_QUERIES = {
    "language": f"SELECT language, count(*), sum(n_words) FROM {PUBLISHED} GROUP BY 1 ORDER BY 2 DESC, 1",
    "license": f"SELECT license, count(*), sum(n_words) FROM {PUBLISHED} GROUP BY 1 ORDER BY 2 DESC, 1",
    "source": f"SELECT source, count(*), sum(n_words) FROM {PUBLISHED} GROUP BY 1 ORDER BY 2 DESC, 1",
    "total": f"SELECT count(*), coalesce(sum(n_words), 0), coalesce(sum(n_chars), 0) FROM {PUBLISHED}",
}


def corpus_counts(corpus_dir: Path) -> dict[str, list[tuple]]:
    files = parts(corpus_dir)
    if not files:
        return {"language": [], "license": [], "source": [], "total": [(0, 0, 0)]}
    with duckdb.connect() as con:
        return {name: con.execute(query, {"files": duckdb_paths(files)}).fetchall() for name, query in COUNT_QUERIES.items()}


def render_card(config: MoissonConfig, counts: dict[str, list[tuple]], title: str = "Moisson corpus") -> str:
    languages = [row[0] for row in counts["language"]]
    licences = [row[0] for row in counts["license"]]
    documents, words, chars = counts["total"][0]
    front = {
        "pretty_name": title,
        "language": languages,
        "license": sorted({SPDX_TO_HF.get(spdx, "other") for spdx in licences}) or ["other"],
        "task_categories": ["text-generation"],
        "size_categories": [_size_category(documents)],
        "configs": [{"config_name": "default", "data_files": "*/*.parquet", "default": True}]
        + [{"config_name": code, "data_files": f"{code}/*.parquet"} for code in sorted(languages)],
    }
    policy = config.policy.model_dump(mode="json")
    sections = [
        "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---\n",
        f"# {title}\n",
        "Built by [Moisson](https://example.org/moisson) from openly licensed public sources. Every document carries "
        "its licence (SPDX id), the evidence for it, its source and where it was found (`url`, `locator`).\n",
        f"- documents: {documents}\n- words: {words}\n- characters: {chars}\n"
        f"- card written: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}\n",
        "## Load it\n\n```python\nfrom datasets import load_dataset\nds = load_dataset(\"parquet\", data_files=\"corpus/*/*.parquet\")\n```\n\n"
        "```sql\nSELECT language, count(*) FROM read_parquet('corpus/*/*.parquet') GROUP BY 1;\n```\n",
        _table("By language", "language", counts["language"]),
        _table("By licence", "licence (SPDX)", counts["license"]),
        _table("By source", "source", counts["source"]),
        "## Sources and how to cite them\n\n" + "\n".join(_source_line(s) for s in config.sources) + "\n",
        "## Curation policy used\n\n```yaml\n" + yaml.safe_dump(policy, sort_keys=False) + "```\n",
        "## Columns\n\n" + ", ".join(f"`{c}`" for c in _columns()) + "\n",
    ]
    return "\n".join(sections)


def _table(heading: str, label: str, rows: list[tuple]) -> str:
    lines = [f"## {heading}\n", f"| {label} | documents | words |", "|---|---:|---:|"]
    lines += [f"| {value} | {docs} | {words} |" for value, docs, words in rows]
    return "\n".join(lines) + "\n"


def _source_line(source) -> str:
    text = f"- **{source.name}** ({source.kind})"
    if source.description:
        text += f": {source.description}"
    if source.license:
        text += f"; declared licence {source.license}"
    if source.citation:
        text += f". Cite as: {source.citation}"
    return text


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "1M<n<10M"


def _columns() -> list[str]:
    return CORPUS_SCHEMA.names
