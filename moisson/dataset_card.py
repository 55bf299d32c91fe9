"""The dataset card (README.md with Hugging Face YAML front matter) published beside the corpus, as a datasheet.

It is what a reader of the corpus sees first, so it follows the questions of Gebru et al., "Datasheets
for Datasets" (motivation, composition, collection, cleaning, uses, distribution, maintenance) and
answers each from facts: counts read back from the published Parquet files (the card describes what is
really there), the filtering decisions from the warehouse's `documents` table, the release manifest's
summary, the sources' citations and the exact policy. What Moisson cannot know is written "not known".

The card is deterministic: the same inputs give the same README bytes and the same PNG bytes (a release
must be byte-identical to another release of the same data apart from its date), so it holds no clock
time: its date is the data's, the latest `retrieved_at`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import PackageNotFoundError, metadata
from pathlib import Path

import duckdb
import yaml

from moisson import card_plots
from moisson.atomic_files import atomic_path, write_text
from moisson.config import MoissonConfig
from moisson.documents import REASONS
from moisson.parquet_files import duckdb_paths, parts
from moisson.publication import CORPUS_SCHEMA

PROJECT_URL = "https://github.com/moisson/moisson"  # pyproject's [project.urls] Homepage, when not installed
TITLE = "Moisson corpus"
NOT_KNOWN = "not known"

SPDX_TO_HF = {
    "CC0-1.0": "cc0-1.0", "CC-BY-4.0": "cc-by-4.0", "CC-BY-SA-4.0": "cc-by-sa-4.0", "CC-BY-3.0": "cc-by-3.0",
    "CC-BY-SA-3.0": "cc-by-sa-3.0", "etalab-2.0": "etalab-2.0", "ODbL-1.0": "odbl", "ODC-By-1.0": "odc-by",
    "PDDL-1.0": "pddl", "CC-BY-2.0": "cc-by-2.0", "CC-BY-2.5": "cc-by-2.5", "CC-BY-SA-2.0": "cc-by-sa-2.0",
    "MIT": "mit", "Apache-2.0": "apache-2.0",
}

REASON_MEANINGS = {  # one line per moisson.documents.REASONS (a test holds the two equal)
    "extraction": "no usable text could be extracted (unreadable, empty or unsupported file)",
    "language": "the detected language is not one the policy keeps, or detection was too unsure",
    "licence": "no licence the policy allows was found for the document",
    "opt_out": "the rights holder reserved text and data mining (TDMRep, robots.txt AI agents, noai)",
    "quality": "the text failed the policy's quality thresholds (length, repetition, character and word ratios)",
    "personal_data": "the document held an identifier the policy rejects (personal data)",
    "exact_duplicate": "the same normalised text is already in the corpus",
    "near_duplicate": "a near copy (MinHash estimate of Jaccard similarity over the threshold) is already in the corpus",
    "takedown": "removed at a rights holder's or a data subject's request (takedowns file)",
}

COLUMN_MEANINGS = {  # one line per corpus column (a test holds this equal to CORPUS_SCHEMA)
    "id": "stable document id: the same input always gives the same id",
    "text": "the document's text, extracted and with personal data redacted as the policy says",
    "url": "where the document was found on the web, when it has an address",
    "title": "the document's title, when it has one",
    "language": "ISO 639-1 code of the detected language (fastText's code where ISO 639-1 has none)",
    "language_score": "confidence of the language detection, 0 to 1",
    "license": "SPDX id of the document's licence",
    "license_evidence": "what the licence was read from (record metadata, page markup, source declaration)",
    "source": "name of the source in the sources file",
    "source_kind": "kind of source: warc, files, ckan, udata, dcat, oai_pmh, hal, gallica...",
    "retrieved_at": "when the document was fetched or read (UTC)",
    "content_sha256": "sha256 of the bytes the text was extracted from",
    "n_chars": "length of `text` in characters",
    "n_words": "length of `text` in words",
    "run_id": "the Moisson run that published the document",
    "locator": "where in the source: file and offset or line, or record id",
    "format": "what was read: html, text, pdf, docx, odt, epub, tei, jats, image, wikitext",
    "page_starts": "paged formats: offset in `text` where each page starts (page N at index N-1)",
}

IMAGES = ("by_language", "by_license", "by_source", "rejections", "opt_out", "lengths")  # images/<name>.png
LENGTH_BINS_PER_DECADE = 5

# Each id counted once, even in a corpus that holds one twice (see moisson.publication.remove_repeated_ids).
PUBLISHED = ("(SELECT DISTINCT ON (id) id, language, license, source, n_words, n_chars, retrieved_at "
             "FROM read_parquet($files))")
COUNT_QUERIES = {
    "language": f"SELECT language, count(*), sum(n_words) FROM {PUBLISHED} GROUP BY 1 ORDER BY 2 DESC, 1",
    "license": f"SELECT license, count(*), sum(n_words) FROM {PUBLISHED} GROUP BY 1 ORDER BY 2 DESC, 1",
    "source": f"SELECT source, count(*), sum(n_words) FROM {PUBLISHED} GROUP BY 1 ORDER BY 2 DESC, 1",
    "total": f"SELECT count(*), coalesce(sum(n_words), 0), coalesce(sum(n_chars), 0) FROM {PUBLISHED}",
}
PERIOD_QUERY = f"SELECT min(retrieved_at), max(retrieved_at) FROM {PUBLISHED}"
LENGTH_QUERY = f"""
SELECT floor(log10(greatest(coalesce(n_words, 0), 1)) * {LENGTH_BINS_PER_DECADE})::BIGINT AS bin, count(*)
FROM {PUBLISHED} GROUP BY 1 ORDER BY 1
"""
LANGUAGES_QUERY = "SELECT DISTINCT coalesce(language, 'und') FROM read_parquet($files) ORDER BY 1"

SEEN_QUERY = """
SELECT count(*), count(*) FILTER (WHERE status = 'kept'), count(*) FILTER (WHERE status = 'rejected') FROM documents
"""
REJECTIONS_QUERY = """
SELECT coalesce(reason, 'not recorded'), count(*), coalesce(sum(n_words), 0)
FROM documents WHERE status = 'rejected' GROUP BY 1 ORDER BY 2 DESC, 1
"""
OPT_OUT_QUERY = """
SELECT coalesce(opt_out, 'not recorded'), count(*) FILTER (WHERE status = 'kept'), count(*) FILTER (WHERE status = 'rejected')
FROM documents GROUP BY 1 ORDER BY 2 + 3 DESC, 1
"""


@dataclass(frozen=True)
class CorpusFacts:
    """What the published files hold, each id once."""

    counts: dict[str, list[tuple]]  # as corpus_counts: language, license, source -> (value, documents, words); total
    first_retrieved: datetime | None
    last_retrieved: datetime | None
    lengths: list[tuple[float, float, int]]  # n_words histogram: (lower edge, upper edge, documents)
    data_files: dict[str, list[str]]  # HF config name -> data_files globs relative to the card


@dataclass(frozen=True)
class FilteringFacts:
    """What the warehouse says about every document seen, kept or not."""

    seen: int
    kept: int
    rejected: int
    rejections: list[tuple[str, int, int]]  # (reason, documents, words)
    opt_out: list[tuple[str, int, int]]  # (status, kept, rejected)


def write_dataset_card(out_dir: Path, corpus_files: list[Path], warehouse: Path | None, policy: dict,
                       sources: list[dict], tmp_dir: Path, manifest_summary: dict | None = None) -> list[Path]:
    """Write out_dir/README.md and its plots out_dir/images/*.png, each atomically; return the paths written.

    `corpus_files` are the Parquet files the card describes (under `out_dir`: the YAML `configs` point at
    them relatively); `warehouse` the DuckDB file with the `documents` table (None, or not yet written: the
    filtering parts say they are unavailable); `sources` rows like the warehouse's `sources` table;
    `manifest_summary` a release's summary (see `release_section`). Plots from an earlier card that this
    one does not draw are removed, so the images folder holds exactly what the card shows.
    """
    corpus = read_corpus(out_dir, corpus_files)
    filtering = read_filtering(warehouse) if warehouse is not None and warehouse.exists() else None
    images = draw_plots(corpus, filtering)
    written = []
    for name, png in images.items():
        destination = out_dir / "images" / f"{name}.png"
        with atomic_path(destination, tmp_dir) as temporary:
            temporary.write_bytes(png)
        written.append(destination)
    for name in sorted(set(IMAGES) - set(images)):
        (out_dir / "images" / f"{name}.png").unlink(missing_ok=True)
    card = out_dir / "README.md"
    write_text(render_datasheet(corpus, filtering, policy, sources, manifest_summary, set(images)), card, tmp_dir)
    return [card, *written]


def source_rows(config: MoissonConfig) -> list[dict]:
    """The sources file's sources as the warehouse's `sources` rows, for `write_dataset_card`."""
    return [{"name": s.name, "kind": s.kind, "paths": json.dumps(list(s.paths)), "declared_license": s.license,
             "description": s.description, "citation": s.citation} for s in config.sources]


def project_url() -> str:
    """The project's home page, from the installed package's metadata (pyproject's [project.urls])."""
    try:
        entries = metadata("moisson").get_all("Project-URL") or []
    except PackageNotFoundError:
        return PROJECT_URL
    for entry in entries:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "homepage" and url.strip():
            return url.strip()
    return PROJECT_URL


# --- facts -------------------------------------------------------------------------------------------------------


def corpus_counts(corpus_dir: Path) -> dict[str, list[tuple]]:
    """Counts by language, licence and source, and the totals, of the corpus folder's files."""
    return _counts(parts(corpus_dir))


def _counts(files: list[Path]) -> dict[str, list[tuple]]:
    if not files:
        return {"language": [], "license": [], "source": [], "total": [(0, 0, 0)]}
    with duckdb.connect() as con:
        return {name: con.execute(query, {"files": duckdb_paths(files)}).fetchall() for name, query in COUNT_QUERIES.items()}


def read_corpus(out_dir: Path, corpus_files: list[Path]) -> CorpusFacts:
    files = sorted(corpus_files)
    counts = _counts(files)
    if not files:
        return CorpusFacts(counts, None, None, [], {})
    with duckdb.connect() as con:
        first, last = con.execute(PERIOD_QUERY, {"files": duckdb_paths(files)}).fetchone()
        bins = con.execute(LENGTH_QUERY, {"files": duckdb_paths(files)}).fetchall()
        data_files = _data_files(con, out_dir, files)
    step = 1 / LENGTH_BINS_PER_DECADE
    lengths = [(10 ** (b * step), 10 ** ((b + 1) * step), n) for b, n in bins]
    return CorpusFacts(counts, first, last, lengths, data_files)


def _data_files(con: duckdb.DuckDBPyConnection, out_dir: Path, files: list[Path]) -> dict[str, list[str]]:
    """Hugging Face `configs`: `default` covers every file, one config per language whose files are alone in
    their folders. A folder's `*.parquet` glob stands for its files when it matches exactly them, else the
    files are listed one by one (a glob must never load a file the card does not describe)."""
    root = out_dir.resolve()
    folders: dict[Path, list[Path]] = {}
    for path in files:
        try:
            relative = path.resolve().relative_to(root)
        except ValueError:
            raise ValueError(f"{path}: a corpus file outside {out_dir}, where the dataset card's configs point") from None
        folders.setdefault(relative.parent, []).append(relative)
    patterns: dict[Path, list[str]] = {}
    by_language: dict[str, list[str]] = {}
    mixed: set[str] = set()
    for folder, members in sorted(folders.items()):
        on_disk = {p.relative_to(root) for p in (root / folder).glob("*.parquet")}
        patterns[folder] = [(folder / "*.parquet").as_posix()] if on_disk == set(members) else sorted(m.as_posix() for m in members)
        languages = [row[0] for row in con.execute(LANGUAGES_QUERY, {"files": duckdb_paths([root / m for m in members])}).fetchall()]
        if len(languages) == 1:
            by_language.setdefault(languages[0], []).extend(patterns[folder])
        else:
            mixed.update(languages)
    configs = {"default": [p for folder in sorted(patterns) for p in patterns[folder]]}
    configs |= {code: globs for code, globs in sorted(by_language.items()) if code not in mixed}
    return configs


def read_filtering(warehouse: Path) -> FilteringFacts:
    """Read-only: the card never holds the warehouse's write lock (a release reads it under the publication lock)."""
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            seen, kept, rejected = con.execute(SEEN_QUERY).fetchone()
            return FilteringFacts(seen, kept, rejected, con.execute(REJECTIONS_QUERY).fetchall(),
                                  con.execute(OPT_OUT_QUERY).fetchall())
    except duckdb.Error as error:
        raise RuntimeError(f"{warehouse}: the warehouse could not be read for the dataset card: {error}") from error


# --- plots -------------------------------------------------------------------------------------------------------


def draw_plots(corpus: CorpusFacts, filtering: FilteringFacts | None) -> dict[str, bytes]:
    """name -> PNG bytes, for the plots that have something to show."""
    counts = corpus.counts
    images = {}
    for name, key, title in (("by_language", "language", "Published documents and words by language"),
                             ("by_license", "license", "Published documents and words by licence"),
                             ("by_source", "source", "Published documents and words by source")):
        if counts[key]:
            images[name] = card_plots.breakdown_png(title, _labelled(counts[key]))
    if filtering and filtering.rejections:
        images["rejections"] = card_plots.breakdown_png("Rejected documents and their words by reason", filtering.rejections)
    if filtering and filtering.opt_out:
        images["opt_out"] = card_plots.breakdown_png("Documents seen by opt-out status", filtering.opt_out,
                                                     measures=("kept", "rejected"))
    if corpus.lengths:
        images["lengths"] = card_plots.histogram_png("Length of the published documents", corpus.lengths, "words (log scale)")
    return images


def _labelled(rows: list[tuple]) -> list[tuple[str, int, int]]:
    return [(str(value) if value is not None else "not recorded", int(docs), int(words or 0)) for value, docs, words in rows]


# --- the card ----------------------------------------------------------------------------------------------------


def render_datasheet(corpus: CorpusFacts, filtering: FilteringFacts | None, policy: dict, sources: list[dict],
                     manifest_summary: dict | None, images: set[str]) -> str:
    sections = [
        front_matter(corpus, TITLE),
        overview(corpus, manifest_summary),
        release_section(manifest_summary),
        motivation(),
        composition(corpus, images),
        collection(corpus, filtering, sources, policy, images),
        cleaning(filtering, policy, images),
        uses(corpus),
        distribution(corpus, manifest_summary),
        maintenance(),
        columns(),
    ]
    return "\n".join(section for section in sections if section)


def front_matter(corpus: CorpusFacts, title: str) -> str:
    """Hugging Face's YAML: `language` holds ISO 639-1 codes only (others are in the card's tables)."""
    codes = sorted(str(row[0]) for row in corpus.counts["language"] if row[0] is not None)
    iso_639_1 = [code for code in codes if len(code) == 2 and code.isalpha() and code.islower()]
    licences = {SPDX_TO_HF.get(row[0], "other") for row in corpus.counts["license"]}
    front = {
        "pretty_name": title,
        "language": iso_639_1,
        "multilinguality": "multilingual" if len(codes) > 1 else "monolingual",
        "license": sorted(licences) or ["other"],
        "task_categories": ["text-generation"],
        "size_categories": [_size_category(corpus.counts["total"][0][0])],
        "configs": [{"config_name": name, "data_files": globs} | ({"default": True} if name == "default" else {})
                    for name, globs in corpus.data_files.items()],
    }
    return "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---\n"


def overview(corpus: CorpusFacts, manifest_summary: dict | None) -> str:
    documents, words, chars = corpus.counts["total"][0]
    version = f" (release {manifest_summary['version']})" if manifest_summary and manifest_summary.get("version") else ""
    return (
        f"# {TITLE}{version}\n\n"
        f"Built by [Moisson]({project_url()}) from openly licensed public sources. Every document carries its licence "
        "(SPDX id), the evidence for it, its source and where it was found (`url`, `locator`).\n\n"
        f"- documents: {documents}\n- words: {words}\n- characters: {chars}\n"
        f"- languages: {len(corpus.counts['language'])}; licences: {len(corpus.counts['license'])}; "
        f"sources: {len(corpus.counts['source'])}\n"
        f"- data as of: {_day(corpus.last_retrieved)} (latest `retrieved_at`)\n"
    )


def release_section(summary: dict | None) -> str:
    """The release manifest's summary. Keys read: version, files (a count or a list), rows, previous_version
    (None: the first release), changes ({name: count or list of ids}: added, removed, taken_down), and
    manifest_sha256 when the caller has it (a release's card is itself listed in its manifest, so it
    cannot carry the manifest's hash: the manifest names the card's)."""
    if not summary:
        return ""
    files = summary.get("files")
    lines = [
        "## Release\n",
        f"- version: {summary.get('version', NOT_KNOWN)}",
        f"- files: {len(files) if isinstance(files, (list, tuple, dict)) else files if files is not None else NOT_KNOWN}",
    ]
    if summary.get("rows") is not None:
        lines.append(f"- rows: {summary['rows']}")
    if summary.get("manifest_sha256"):
        lines.append(f"- manifest sha256: `{summary['manifest_sha256']}`")
    lines.append("- the release's manifest lists every file with its sha256 and row count")
    previous = summary.get("previous_version")
    changes = summary.get("changes") or {}
    described = ", ".join(f"{name.replace('_', ' ')} {len(v) if isinstance(v, (list, tuple, set)) else v}"
                          for name, v in changes.items())
    if previous is None:
        lines.append("- changes: first release" + (f" ({described})" if described else ""))
    else:
        lines.append(f"- changes since release {previous}: {described or 'none'}")
    return "\n".join(lines) + "\n"


def motivation() -> str:
    return (
        "## Motivation\n\n"
        "- Purpose: text for training and evaluating language models whose every document can be shown to be "
        "openly licensed, with its provenance, and free of text and data mining reservations.\n"
        f"- Who built it, for whom, with what funding: {NOT_KNOWN} (the operator of this Moisson instance "
        "should say so here).\n"
    )


def composition(corpus: CorpusFacts, images: set[str]) -> str:
    counts = corpus.counts
    parts_ = [
        "## Composition\n",
        "Each row is one document (a web page, a file, a record of a dump or a portal), with its text and its "
        "metadata (see Columns). Each id appears once.\n",
        _image(images, "by_language", "Documents and words by language"),
        _table("By language", "language", counts["language"]),
        _image(images, "by_license", "Documents and words by licence"),
        _table("By licence", "licence (SPDX)", counts["license"]),
        _image(images, "by_source", "Documents and words by source"),
        _table("By source", "source", counts["source"]),
        _image(images, "lengths", "Length distribution in words"),
        "- Is it a sample of a larger set? Yes: what the sources offered that passed the policy (see Preprocessing).\n"
        "- Labels or targets: none; this is raw text.\n"
        f"- Offensive or confidential content: {NOT_KNOWN}; no toxicity filter is applied beyond the quality thresholds.\n",
    ]
    return "\n".join(p for p in parts_ if p)


def collection(corpus: CorpusFacts, filtering: FilteringFacts | None, sources: list[dict], policy: dict,
               images: set[str]) -> str:
    period = (f"{_day(corpus.first_retrieved)} to {_day(corpus.last_retrieved)}" if corpus.first_retrieved
              else NOT_KNOWN)
    opt_out = policy.get("opt_out") or {}
    honour = "honoured (reason `opt_out`)" if opt_out.get("honour", True) else "recorded but not honoured"
    protocols = ", ".join(opt_out.get("protocols") or []) or NOT_KNOWN
    lines = [
        "## Collection process\n",
        f"- Collected: {period} (`retrieved_at` of the published documents).",
        "- How: web archives (WARC), dumps and files read as they are; open data portals and archives (CKAN, udata, "
        "DCAT, OAI-PMH, HAL, Gallica) harvested through their APIs, politely (robots.txt, rate limits).",
        f"- Text and data mining reservations (DSM Directive art. 4): {honour}; protocols read: {protocols}.\n",
        "### Sources and how to cite them\n",
        "\n".join(_source_line(s) for s in sources) or "No source is recorded.",
        "",
        "### Opt-out status of the documents seen\n",
    ]
    if filtering is None:
        lines.append(_UNAVAILABLE)
    else:
        lines += [_image(images, "opt_out", "Documents seen by opt-out status"),
                  _table_rows(("opt-out status", "kept", "rejected"), filtering.opt_out),
                  "`reserved`: a protocol said the rights holder reserves text and data mining; `not_reserved`: the "
                  "protocols read said nothing against it; `unknown`: it could not be checked (the policy's "
                  "`opt_out.unchecked` decides); `not recorded`: decided before the status was recorded, or rejected "
                  "before it was read.\n"]
    return "\n".join(line for line in lines if line is not None) + "\n"


def cleaning(filtering: FilteringFacts | None, policy: dict, images: set[str]) -> str:
    lines = ["## Preprocessing and cleaning\n",
             "Text is extracted from each format, its language detected, its licence established from evidence, "
             "its quality measured, personal data redacted as the policy says, and exact and near duplicates "
             "removed, across sources and runs. Rejected documents are kept beside the corpus (`rejected/<reason>/`) "
             "with the reason, so every decision can be checked.\n",
             personal_data_line(policy.get("personal_data")),
             "### Filtering statistics\n"]
    if filtering is None:
        lines.append(_UNAVAILABLE)
    else:
        rows = [("documents seen", filtering.seen, ""), ("kept", filtering.kept, ""), ("rejected", filtering.rejected, "")]
        rows += [(f"rejected: {reason}", n, REASON_MEANINGS.get(reason, NOT_KNOWN)) for reason, n, _ in filtering.rejections]
        lines += ["Every document seen by every run, as the warehouse (`documents` table) holds it.\n",
                  _table_rows(("", "documents", "meaning"), rows),
                  _image(images, "rejections", "Rejected documents by reason")]
    lines += ["### Curation policy used\n", "```yaml\n" + yaml.safe_dump(policy, sort_keys=False, allow_unicode=True) + "```\n"]
    return "\n".join(line for line in lines if line)


def personal_data_line(settings: dict | None) -> str:
    """What the policy does with each type of identifier, as the run applied it."""
    if not settings:
        return f"- Personal data: {NOT_KNOWN} (the policy given to the card does not say).\n"
    if settings.get("enabled") is False:
        return "- Personal data: detection turned off by the policy; identifiers may remain in the text.\n"
    actions = {"redact": "replaced by a typed placeholder (`<EMAIL>`, `<PHONE>`...)", "count": "counted only",
               "reject": "the document rejected"}
    by_action: dict[str, list[str]] = {}
    for data_type, action in settings.items():
        if action in actions:
            by_action.setdefault(action, []).append(data_type)
    described = "; ".join(f"{actions[a]}: {', '.join(types)}" for a, types in by_action.items())
    return f"- Personal data: {described}.\n"


def uses(corpus: CorpusFacts) -> str:
    glob = "DIR/" + _one_glob(corpus.data_files.get("default") or ["*/*.parquet"])
    language = next((name for name in corpus.data_files if name != "default"), "fr")
    return (
        "## Uses\n\n"
        "- Intended: pretraining and evaluating language models; studying openly licensed text.\n"
        "- To avoid: re-identifying people (personal data is redacted, not guaranteed absent); "
        "using a document against its licence's terms (attribution, share-alike).\n"
        f"- Other uses, tasks it was already used for: {NOT_KNOWN}.\n\n"
        "### Load it\n\n"
        "`DIR` is the folder of this card.\n\n"
        f"```python\nfrom datasets import load_dataset\nds = load_dataset(\"DIR\", split=\"train\")  # every language\n"
        f"one = load_dataset(\"DIR\", \"{language}\", split=\"train\")  # a config per language, from this card\n```\n\n"
        f"```sql\n-- DuckDB\nSELECT language, license, count(*) FROM read_parquet('{glob}') GROUP BY ALL;\n```\n\n"
        f"```python\nimport polars as pl\ndf = pl.scan_parquet(\"{glob}\").filter(pl.col(\"license\") == \"CC-BY-4.0\").collect()\n```\n"
    )


def _one_glob(patterns: list[str]) -> str:
    """One pattern for the examples: `data/fr/*.parquet` and `data/en/*.parquet` give `data/*/*.parquet`."""
    if len(patterns) == 1:
        return patterns[0]
    grandparents = {Path(p).parent.parent for p in patterns}
    return (grandparents.pop() / "*" / "*.parquet").as_posix() if len(grandparents) == 1 else patterns[0]


def distribution(corpus: CorpusFacts, manifest_summary: dict | None) -> str:
    licences = ", ".join(f"`{row[0]}`" for row in corpus.counts["license"]) or "none"
    frozen = (f"- This is release {manifest_summary.get('version', NOT_KNOWN)}: its files never change, and its "
              "manifest gives each one's sha256 to check them.\n") if manifest_summary else (
              "- This folder grows with each run; releases freeze it (`moisson release`).\n")
    return (
        "## Distribution\n\n"
        "- Format: Parquet (zstd), one folder per language, with this card.\n"
        f"- Licences: each document keeps its own ({licences}); the `license` column says which, "
        "`license_evidence` why. Attribution goes to the sources above.\n" + frozen
    )


def maintenance() -> str:
    return (
        "## Maintenance\n\n"
        f"- Built and updated with [Moisson]({project_url()}): each run adds new documents; the corpus only grows, "
        "except for takedowns.\n"
        "- Removal requests (by id, URL, domain or content hash) go in the data directory's `takedowns.csv`: the next "
        "run removes the matching documents, and a later harvest does not bring them back.\n"
        f"- Contact of the maintainers: {NOT_KNOWN} (the operator of this Moisson instance should say so here).\n"
    )


def columns() -> str:
    rows = [(f"`{field.name}`", str(field.type), COLUMN_MEANINGS.get(field.name, NOT_KNOWN)) for field in CORPUS_SCHEMA]
    return "## Columns\n\n" + _table_rows(("column", "type", "meaning"), rows)


_UNAVAILABLE = "Unavailable: this card was written without the warehouse (`warehouse.duckdb`), where these figures live.\n"


def _image(images: set[str], name: str, alt: str) -> str:
    return f"![{alt}](images/{name}.png)\n" if name in images else ""


def _table(heading: str, label: str, rows: list[tuple]) -> str:
    return f"### {heading}\n\n" + _table_rows((label, "documents", "words"), rows)


def _table_rows(header: tuple[str, ...], rows: list[tuple]) -> str:
    align = ["---" if i == 0 or not all(isinstance(r[i], int) for r in rows) else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _cell(value) -> str:
    return "not recorded" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def _source_line(source: dict) -> str:
    text = f"- **{source.get('name')}** ({source.get('kind')})"
    if source.get("description"):
        text += f": {source['description']}"
    if source.get("declared_license"):
        text += f"; declared licence {source['declared_license']}"
    if source.get("citation"):
        text += f". Cite as: {source['citation']}"
    return text


def _day(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else NOT_KNOWN


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "1M<n<10M"


# --- the card before the datasheet: kept for assets/publication.py until it calls write_dataset_card -----------


def render_card(config: MoissonConfig, counts: dict[str, list[tuple]], title: str = TITLE) -> str:
    """The card from counts alone (no plots, no warehouse). Prefer `write_dataset_card`."""
    corpus = CorpusFacts(counts, None, None, [], {
        "default": ["*/*.parquet"], **{row[0]: [f"{row[0]}/*.parquet"] for row in sorted(counts["language"])}})
    sections = [front_matter(corpus, title), overview(corpus, None), composition(corpus, set()),
                collection(corpus, None, source_rows(config), config.policy.model_dump(mode="json"), set()),
                cleaning(None, config.policy.model_dump(mode="json"), set()), uses(corpus), distribution(corpus, None),
                maintenance(), columns()]
    return "\n".join(sections)
