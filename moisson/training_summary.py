"""The AI Act public summary of training content, filled for a release of the corpus.

Why: Article 53(1)(d) of the AI Act obliges whoever trains a general-purpose model to publish a summary of its
training content on the Commission's template (AI Office, 24 July 2025). A model trained on a Moisson release can
copy the sections a dataset knows into its own summary: modalities and size, collection dates, languages, the
public datasets (the harvested portals and archives, with links), the crawled data (who fetched it, when, how
robots.txt and opt-outs were treated, the most relevant domain names) and the processing (opt-outs honoured,
personal data, quality filtering, illegal content). What only a model provider can say (provider, model, market
date, user data of a service) is marked NOT_APPLICABLE rather than invented.

Each figure is one named query in SUMMARY_QUERIES, written as a user types it in `moisson sql` (over `documents`,
`sources`, `datasets`, `resources`, `runs`, `status = 'kept'` for the corpus), so the README can show where every
number comes from. For a release, the queries run on a read-only copy of the warehouse in which `documents` holds
the release's documents as kept (its Parquet files say which) and every rejected document; kept documents not in
the release are left out.

Tokens are counted as words: `documents.n_words`, the number of whitespace-separated words of the published text
(Python's `str.split`). It is stated in the summary with the figure: a subword tokenizer usually counts more tokens
than words, and languages written without spaces count far fewer words than tokens.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from moisson.atomic_files import write_text
from moisson.config import HttpConfig
from moisson.parquet_files import duckdb_list_literal

TEMPLATE = ("Template for the Public Summary of Training Content for general-purpose AI models, European Commission "
            "(AI Office), 24 July 2025, Article 53(1)(d) of Regulation (EU) 2024/1689 (AI Act)")
NOT_APPLICABLE = "not applicable (dataset, not a model)"
SUMMARY_JSON = "training-content-summary.json"
SUMMARY_MARKDOWN = "training-content-summary.md"

# The template's size bins for text, upper bounds exclusive (its own wording has "1billion to 10 trillions tokens").
TEXT_SIZE_BINS = ((10**9, "Less than 1 billion tokens"), (10**13, "1 billion to 10 trillion tokens"),
                  (None, "More than 10 trillion tokens"))
TOKEN_METHOD = ("words: sum of documents.n_words, the number of whitespace-separated words of each published text "
                "(Python str.split on Unicode whitespace); a subword tokenizer usually counts more tokens than words "
                "(often 1.3 to 2 per word in European languages), and far more in languages written without spaces")
DOMAIN_SIZE_MEASURE = ("characters of published text (sum of documents.n_chars) per host name, lower-cased, without "
                       "a leading 'www.'")
TOP_DOMAIN_SHARE = 0.10
PORTAL_KINDS = ("ckan", "udata", "dcat", "oai-pmh", "hal", "gallica")
CRAWL_KINDS = ("warc",)
LIST_IN_MARKDOWN = 50  # longer lists are in the JSON in full

_KINDS = ", ".join(f"'{kind}'" for kind in PORTAL_KINDS)
_HOST = ("lower(regexp_replace(regexp_extract(url, '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#:]+)', 1), "
         "'^www[.]', ''))")

SUMMARY_QUERIES: dict[str, str] = {
    "corpus_size": (
        "SELECT count(*) AS documents, coalesce(sum(n_words), 0) AS words, coalesce(sum(n_chars), 0) AS characters "
        "FROM documents WHERE status = 'kept'"),
    "collection_dates": (
        "SELECT min(retrieved_at) AS earliest, max(retrieved_at) AS latest "
        "FROM documents WHERE status = 'kept'"),
    "languages": (
        "SELECT coalesce(language, 'und') AS language, count(*) AS documents, coalesce(sum(n_words), 0) AS words "
        "FROM documents WHERE status = 'kept' GROUP BY 1 ORDER BY words DESC, language"),
    "formats": (
        "SELECT coalesce(format, 'unknown') AS format, count(*) AS documents, coalesce(sum(n_words), 0) AS words "
        "FROM documents WHERE status = 'kept' GROUP BY 1 ORDER BY words DESC, format"),
    "licences": (
        "SELECT coalesce(license, 'unknown') AS license, count(*) AS documents, coalesce(sum(n_words), 0) AS words "
        "FROM documents WHERE status = 'kept' GROUP BY 1 ORDER BY words DESC, license"),
    "sources": (
        "SELECT d.source, d.source_kind AS kind, s.paths, s.description, count(*) AS documents, "
        "coalesce(sum(d.n_words), 0) AS words "
        "FROM documents d LEFT JOIN sources s ON s.name = d.source WHERE d.status = 'kept' "
        "GROUP BY ALL ORDER BY d.source"),
    "public_datasets": (
        "SELECT ds.source, ds.portal, ds.dataset_id, ds.title, ds.publisher, ds.landing_page, ds.license, "
        "count(DISTINCT d.id) AS documents, coalesce(sum(d.n_words), 0) AS words "
        "FROM documents d "
        "JOIN resources r ON r.source = d.source "
        "AND (d.record_key = r.record_key OR starts_with(d.record_key, r.record_key || '!')) "
        "JOIN datasets ds ON ds.source = r.source AND ds.dataset_id = r.dataset_id "
        f"WHERE d.status = 'kept' AND d.source_kind IN ({_KINDS}) "
        "GROUP BY ALL ORDER BY ds.source, ds.dataset_id"),
    "crawl_period": (
        "SELECT count(*) AS documents, coalesce(sum(n_words), 0) AS words, "
        "min(retrieved_at) AS earliest, max(retrieved_at) AS latest "
        "FROM documents WHERE status = 'kept' AND source_kind = 'warc'"),
    "top_domains": (
        "WITH domains AS ("
        f"SELECT {_HOST} AS domain, count(*) AS documents, coalesce(sum(n_chars), 0) AS characters "
        "FROM documents WHERE status = 'kept' AND source_kind = 'warc' AND url IS NOT NULL GROUP BY 1), "
        "ranked AS (SELECT *, row_number() OVER (ORDER BY characters DESC, domain) AS rank, "
        "count(*) OVER () AS domains FROM domains WHERE domain <> '') "
        f"SELECT domain, documents, characters, rank, domains FROM ranked "
        f"WHERE rank <= greatest(1, ceil({TOP_DOMAIN_SHARE} * domains)) ORDER BY rank"),
    "opt_out_status": (
        "SELECT coalesce(opt_out, 'not recorded') AS opt_out, status, count(*) AS documents "
        "FROM documents GROUP BY ALL ORDER BY opt_out, status"),
    "opt_out_rejections": (
        "SELECT coalesce(nullif(split_part(opt_out_evidence, ':', 1), ''), 'unchecked') AS protocol, "
        "count(*) AS documents "
        "FROM documents WHERE status = 'rejected' AND reason = 'opt_out' GROUP BY 1 ORDER BY documents DESC, protocol"),
    "personal_data": (
        "SELECT found.key AS type, count(*) AS documents, sum(found.value) AS identifiers FROM ("
        "SELECT unnest(map_entries(personal_data::MAP(VARCHAR, BIGINT))) AS found "
        "FROM documents WHERE status = 'kept' AND personal_data IS NOT NULL) GROUP BY 1 ORDER BY 1"),
    "rejections": (
        "SELECT reason, count(*) AS documents, coalesce(sum(n_words), 0) AS words "
        "FROM documents WHERE status = 'rejected' GROUP BY reason ORDER BY documents DESC, reason"),
    "policy": (
        "SELECT run_id, finished_at, policy, user_agent FROM runs ORDER BY finished_at DESC, run_id DESC LIMIT 1"),
}


class SummaryError(RuntimeError):
    """The summary cannot be built truthfully (the warehouse unreadable, or missing documents of the release)."""


def build_summary(warehouse: Path, corpus_files: list[Path], facts: dict) -> dict:
    """The summary's sections for the release made of `corpus_files`, every figure from SUMMARY_QUERIES.

    `facts` gives what the warehouse does not hold: version, released_at, dataset_name, and optionally
    user_agent (the sources file's `http.full_user_agent`; Moisson's default otherwise), provider, homepage."""
    figures = run_queries(warehouse, corpus_files)
    policy = json.loads(figures["policy"][0]["policy"] or "{}") if figures["policy"] else {}
    return {
        "template": TEMPLATE,
        "version_of_the_summary": facts.get("version"),
        "last_update": facts.get("released_at"),
        "summary_of": ("a dataset, not a model: the sections a dataset can fill, for a model provider to carry into "
                       "the model's own summary"),
        "dataset": {"name": facts.get("dataset_name"), "version": facts.get("version"),
                    "released_at": facts.get("released_at"), "homepage": facts.get("homepage")},
        "general_information": _general_information(figures, facts),
        "list_of_data_sources": _data_sources(figures, policy, facts),
        "data_processing_aspects": _processing(figures, policy),
        "queries": dict(SUMMARY_QUERIES),
    }


def run_queries(warehouse: Path, corpus_files: list[Path]) -> dict[str, list[dict[str, Any]]]:
    """Every query's rows (as dicts, JSON-ready), on the warehouse restricted to the release's documents."""
    with _release_view(warehouse, corpus_files) as con:
        return {name: _rows(con.execute(query)) for name, query in SUMMARY_QUERIES.items()}


def _release_view(warehouse: Path, corpus_files: list[Path]) -> duckdb.DuckDBPyConnection:
    """An in-memory database where the warehouse's tables answer by their own names, read-only; with corpus files,
    `documents` is the release's documents (kept) and the warehouse's rejected ones."""
    if not warehouse.is_file():
        raise SummaryError(f"no warehouse at {warehouse}: run `moisson run` first")
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"ATTACH '{_literal(warehouse)}' AS warehouse (READ_ONLY)")
        for table in ("sources", "runs", "datasets", "resources"):
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM warehouse.{table}")
        if not corpus_files:
            con.execute("CREATE VIEW documents AS SELECT * FROM warehouse.documents")
            return con
        con.execute("CREATE TABLE release_ids AS SELECT DISTINCT id FROM read_parquet("
                    f"{duckdb_list_literal([str(path) for path in corpus_files])})")
        missing, example = con.execute("SELECT count(*), min(id) FROM release_ids "
                                       "WHERE id NOT IN (SELECT id FROM warehouse.documents)").fetchone()
        if missing:
            raise SummaryError(f"{missing} document(s) of the release are not in the warehouse {warehouse} "
                               f"(e.g. id {example}): its figures would be wrong; run `moisson run` to load them")
        con.execute("""CREATE VIEW documents AS
            SELECT * REPLACE ('kept' AS status, NULL::VARCHAR AS reason, NULL::VARCHAR AS reason_detail)
            FROM warehouse.documents WHERE id IN (SELECT id FROM release_ids)
            UNION ALL
            SELECT * FROM warehouse.documents WHERE status <> 'kept' AND id NOT IN (SELECT id FROM release_ids)""")
        return con
    except duckdb.Error as error:
        con.close()
        raise SummaryError(f"cannot read the warehouse {warehouse} or the release's files: {error}") from error
    except SummaryError:
        con.close()
        raise


def _literal(path: Path) -> str:
    return str(path).replace("'", "''")


def _rows(result: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [column[0] for column in result.description]
    return [{name: _plain(value) for name, value in zip(names, row)} for row in result.fetchall()]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def size_bin(tokens: int) -> str:
    """The template's size range for text holding `tokens` tokens."""
    for upper, label in TEXT_SIZE_BINS:
        if upper is None or tokens < upper:
            return label
    raise AssertionError("the last bin has no upper bound")


def _month(iso: str | None) -> str | None:
    """MM/YYYY, the template's form for the latest date of collection."""
    return f"{iso[5:7]}/{iso[:4]}" if iso else None


def _general_information(figures: dict, facts: dict) -> dict:
    size = figures["corpus_size"][0]
    dates = figures["collection_dates"][0]
    return {
        "provider_identification": facts.get("provider") or NOT_APPLICABLE,
        "model_identification": NOT_APPLICABLE,
        "date_placed_on_the_market": NOT_APPLICABLE,
        "modalities": {
            "text": {"present": size["documents"] > 0, "size_bin": size_bin(size["words"]), "tokens": size["words"],
                     "token_count_method": TOKEN_METHOD, "documents": size["documents"],
                     "characters": size["characters"],
                     "types_of_content": ("documents read from web archives, open-data portals and open archives; "
                                          "by format below (the template's fiction / non-fiction / scientific split "
                                          "is not classified)"),
                     "formats": figures["formats"]},
            "image": {"present": False}, "audio": {"present": False}, "video": {"present": False},
            "other": {"present": False},
        },
        "latest_collection_date": dates["latest"],
        "latest_collection_month": _month(dates["latest"]),
        "earliest_collection_date": dates["earliest"],
        "collection_continues_after_that_date": "no: a release is frozen; later runs make later releases",
        "languages": figures["languages"],
        "other_characteristics": {"licences": figures["licences"]},
    }


def _data_sources(figures: dict, policy: dict, facts: dict) -> dict:
    sources = [s | {"paths": json.loads(s["paths"]) if s["paths"] else []} for s in figures["sources"]]
    portals = [s for s in sources if s["kind"] in PORTAL_KINDS]
    archives = [s for s in sources if s["kind"] in CRAWL_KINDS]
    others = [s for s in sources if s["kind"] not in PORTAL_KINDS + CRAWL_KINDS]
    return {
        "publicly_available_datasets": {
            "used": bool(portals),
            "sources": portals,
            "datasets": figures["public_datasets"],
            "note": ("each harvested portal or archive with its endpoint; each dataset that contributed documents, "
                     "with its landing page and the licence its portal gave"),
        },
        "private_datasets_from_third_parties": {
            "used": None,
            "note": ("not recorded: Moisson does not know whether access to a source was licensed; a portal reached "
                     "with credentials is listed with the public ones above, local files under other sources"),
        },
        "data_crawled_and_scraped_from_online_sources": _crawled(figures, policy, facts, archives),
        "user_data": {"used": False, "note": "none: Moisson collects nothing from the users of a service; "
                                             + NOT_APPLICABLE + " for data of a model's own users"},
        "synthetic_data": {"used": False, "note": "none: Moisson generates no content"},
        "other_sources_of_data": {"used": bool(others), "sources": others,
                                  "note": "files given to Moisson directly (kind files: local text, JSONL, dumps)"},
    }


def _crawled(figures: dict, policy: dict, facts: dict, archives: list[dict]) -> dict:
    crawled, opt_out = figures["crawl_period"][0], policy.get("opt_out", {})
    recorded = figures["policy"][0].get("user_agent") if figures["policy"] else None
    user_agent = facts.get("user_agent") or recorded or HttpConfig().full_user_agent
    return {
        "used": crawled["documents"] > 0,
        "web_archives": archives,
        "crawlers": [
            {"name": user_agent, "used_for": ("Moisson's own fetches: resources of portal datasets, remote web "
                                              "archives, robots.txt and /.well-known/tdmrep.json"),
             "stated_by": ("facts given to the release" if facts.get("user_agent") else
                           "the latest run (warehouse runs.user_agent)" if recorded else "Moisson's default")},
            {"name": "the crawler that wrote each web archive (WARC)",
             "used_for": ("pages read from web archives: Moisson reads archives and contacts none of their sites; "
                          "the archives' warcinfo records name their crawler")},
        ],
        "purpose": "building a text corpus under open licences for training language models",
        "collection_period": {"from": crawled["earliest"], "to": crawled["latest"],
                              "from_month": _month(crawled["earliest"]), "to_month": _month(crawled["latest"])},
        "documents": crawled["documents"],
        "tokens": crawled["words"],
        "behaviour": {
            "robots_txt": ("Moisson's own file fetches read each host's robots.txt once per harvest (RFC 9309) for its "
                           "user agent and obey it, with crawl-delay; a robots.txt answering 4xx means no rules, 5xx "
                           "or unreachable means everything disallowed. With the robots-ai protocol, a site's "
                           "robots.txt group for an AI-training agent (GPTBot, CCBot, Google-Extended, ...) reserves "
                           "the pages it disallows. Archived pages were collected under the archive crawler's own "
                           "rules."),
            "opt_outs": {"honoured": opt_out.get("honour"), "protocols": opt_out.get("protocols"),
                         "unchecked": opt_out.get("unchecked"), "licence_overrides": opt_out.get("licence_overrides")},
        },
        "most_relevant_domain_names": {
            "rule": (f"the top {TOP_DOMAIN_SHARE:.0%} of the domains of crawled documents by content size "
                     "(at least one), as the template asks"),
            "measured_by": DOMAIN_SIZE_MEASURE,
            "domains_in_crawled_documents": figures["top_domains"][0]["domains"] if figures["top_domains"] else 0,
            "domains": [{k: row[k] for k in ("rank", "domain", "documents", "characters")}
                        for row in figures["top_domains"]],
        },
    }


def _processing(figures: dict, policy: dict) -> dict:
    opt_out = policy.get("opt_out", {})
    rejections = {row["reason"]: row["documents"] for row in figures["rejections"]}
    quality, dedup = policy.get("quality", {}), policy.get("dedup", {})
    return {
        "respect_of_reservation_of_rights": {
            "code_of_practice_signatory": NOT_APPLICABLE,
            "measures": ("every document's text and data mining reservation (DSM Directive art. 4) is read and "
                         "recorded with its evidence; under the policy below a reserved document is rejected for "
                         "opt_out whatever its licence"),
            "policy": opt_out,
            "opt_out_status": figures["opt_out_status"],
            "rejected_for_opt_out": rejections.get("opt_out", 0),
            "rejected_for_opt_out_by_protocol": figures["opt_out_rejections"],
        },
        "removal_of_illegal_content": {
            "applied": ("documents are admitted by licence (an allow list of SPDX ids) and by their rights holders' "
                        "opt-outs; removal requests (takedowns) are applied to the next release"),
            "not_applied": ("no classifier for illegal content (child sexual abuse material, terrorist content, hate "
                            "speech) runs: the corpus is not screened for it beyond the choice of sources"),
            "rejected_for_takedown": rejections.get("takedown", 0),
        },
        "personal_data": {
            "policy": policy.get("personal_data", {}),
            "identifiers_in_kept_documents": figures["personal_data"],
            "rejected_for_personal_data": rejections.get("personal_data", 0),
            "note": ("types set to redact are replaced by typed placeholders (<EMAIL>, <PHONE>, ...) in the published "
                     "text; types set to count stay in the text and are counted; person names and postal addresses "
                     "are not detected"),
        },
        "quality_filtering": {"enabled": quality.get("enabled"), "rejected_for_quality": rejections.get("quality", 0)},
        "deduplication": {"enabled": dedup.get("enabled"), "threshold": dedup.get("threshold"),
                          "measure": dedup.get("measure"),
                          "rejected_as_exact_duplicates": rejections.get("exact_duplicate", 0),
                          "rejected_as_near_duplicates": rejections.get("near_duplicate", 0)},
        "rejections_by_reason": figures["rejections"],
        "policy_run": figures["policy"][0]["run_id"] if figures["policy"] else None,
    }


def write_summary(summary: dict, folder: Path, tmp_dir: Path) -> tuple[Path, Path]:
    """training-content-summary.json and .md in `folder`, each written atomically; return their paths."""
    as_json, as_markdown = folder / SUMMARY_JSON, folder / SUMMARY_MARKDOWN
    write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", as_json, tmp_dir)
    write_text(render_summary_markdown(summary), as_markdown, tmp_dir)
    return as_json, as_markdown


def render_summary_markdown(summary: dict) -> str:
    """The summary as the template's sections in Markdown, for people; the JSON beside it holds every list whole."""
    dataset = summary["dataset"]
    title = " ".join(str(part) for part in (dataset["name"], dataset["version"]) if part)
    lines = [f"# Public summary of training content: {title}", "",
             f"Filled on the {summary['template']}, for {summary['summary_of']}. Released {dataset['released_at']}."
             " Every figure is a warehouse query, listed at the end.", ""]
    lines += _general_markdown(summary["general_information"])
    lines += _sources_markdown(summary["list_of_data_sources"])
    lines += _processing_markdown(summary["data_processing_aspects"])
    lines += ["## Where the figures come from", "",
              "Each query runs as written in `moisson sql` (for a release, `documents` holds the release's documents "
              "as kept and the warehouse's rejected ones).", ""]
    lines += [f"- `{name}`: `{query}`" for name, query in summary["queries"].items()]
    return "\n".join(lines) + "\n"


def _general_markdown(general: dict) -> list[str]:
    text = general["modalities"]["text"]
    lines = ["## 1. General information", "",
             "### 1.1 Provider identification", "", str(general["provider_identification"]), "",
             "### 1.2 Model identification", "", f"{general['model_identification']}; date placed on the market: "
             f"{general['date_placed_on_the_market']}.", "",
             "### 1.3 Modalities, overall training data size and other characteristics", "",
             f"- Modality: text ({_number(text['documents'])} documents, {_number(text['characters'])} characters). "
             "Image, audio, video, other: none.",
             f"- Size: **{text['size_bin']}** ({_number(text['tokens'])} tokens, counted as "
             f"{text['token_count_method']}).",
             f"- Latest date of data collection: {general['latest_collection_month'] or 'none'} "
             f"({general['latest_collection_date'] or 'no document'}); earliest: "
             f"{general['earliest_collection_date'] or 'none'}; {general['collection_continues_after_that_date']}.",
             f"- Types of content: {text['types_of_content']}.", ""]
    lines += _table(["language", "documents", "tokens"],
                    [[r["language"], _number(r["documents"]), _number(r["words"])] for r in general["languages"]])
    lines += _table(["format", "documents", "tokens"],
                    [[r["format"], _number(r["documents"]), _number(r["words"])] for r in text["formats"]])
    lines += _table(["licence", "documents", "tokens"],
                    [[r["license"], _number(r["documents"]), _number(r["words"])]
                     for r in general["other_characteristics"]["licences"]])
    return lines


def _sources_markdown(sources: dict) -> list[str]:
    public = sources["publicly_available_datasets"]
    lines = ["## 2. List of data sources", "", "### 2.1 Publicly available datasets", "",
             f"Used: {_yes(public['used'])}. {_sentence(public['note'])}.", ""]
    lines += _table(["source", "kind", "endpoint", "documents", "tokens"],
                    [[s["source"], s["kind"], " ".join(s["paths"]), _number(s["documents"]), _number(s["words"])]
                     for s in public["sources"]])
    datasets = public["datasets"]
    lines += _table(["dataset", "publisher", "licence", "landing page", "documents", "tokens"],
                    [[d["title"] or d["dataset_id"], d["publisher"] or "", d["license"] or "unknown",
                      d["landing_page"] or d["portal"] or "", _number(d["documents"]), _number(d["words"])]
                     for d in sorted(datasets, key=lambda d: (-d["words"], d["source"], d["dataset_id"]))
                     [:LIST_IN_MARKDOWN]])
    if len(datasets) > LIST_IN_MARKDOWN:
        lines += [f"The {LIST_IN_MARKDOWN} largest of {len(datasets)} datasets by tokens; all are in {SUMMARY_JSON}.",
                  ""]
    private = sources["private_datasets_from_third_parties"]
    lines += ["### 2.2 Private non-publicly available datasets obtained from third parties", "",
              f"{_sentence(private['note'])}.", ""]
    lines += _crawled_markdown(sources["data_crawled_and_scraped_from_online_sources"])
    other = sources["other_sources_of_data"]
    lines += ["### 2.4 User data", "", f"{_sentence(sources['user_data']['note'])}.", "",
              "### 2.5 Synthetic data", "", f"{_sentence(sources['synthetic_data']['note'])}.", "",
              "### 2.6 Other sources of data", "", f"Used: {_yes(other['used'])}. {_sentence(other['note'])}.", ""]
    lines += _table(["source", "kind", "documents", "tokens"],
                    [[s["source"], s["kind"], _number(s["documents"]), _number(s["words"])] for s in other["sources"]])
    return lines


def _crawled_markdown(crawled: dict) -> list[str]:
    period, behaviour, top = crawled["collection_period"], crawled["behaviour"], crawled["most_relevant_domain_names"]
    opt_out = behaviour["opt_outs"]
    lines = ["### 2.3 Data crawled and scraped from online sources", "",
             f"Used: {_yes(crawled['used'])} ({_number(crawled['documents'])} documents, "
             f"{_number(crawled['tokens'])} tokens).", ""]
    lines += _table(["source", "web archives", "documents", "tokens"],
                    [[s["source"], " ".join(s["paths"]), _number(s["documents"]), _number(s["words"])]
                     for s in crawled["web_archives"]])
    lines += [f"- Crawler: {c['name']}: {c['used_for']}." for c in crawled["crawlers"]]
    lines += [f"- Purpose: {crawled['purpose']}.",
              f"- Collection period: {period['from_month'] or 'none'} to {period['to_month'] or 'none'} "
              f"({period['from'] or '-'} to {period['to'] or '-'}).",
              f"- robots.txt: {behaviour['robots_txt']}",
              f"- Opt-outs: honoured: {_yes(opt_out['honoured'])}; protocols: "
              f"{', '.join(opt_out['protocols'] or []) or 'none'}; a signal that could not be checked: "
              f"{opt_out['unchecked']}; an open licence overrides a reservation: {_yes(opt_out['licence_overrides'])}.",
              "", f"Most relevant domain names: {top['rule']}, measured by {top['measured_by']}: "
              f"{len(top['domains'])} of {_number(top['domains_in_crawled_documents'])} domains.", ""]
    lines += _table(["rank", "domain", "documents", "characters"],
                    [[r["rank"], r["domain"], _number(r["documents"]), _number(r["characters"])]
                     for r in top["domains"][:LIST_IN_MARKDOWN]])
    if len(top["domains"]) > LIST_IN_MARKDOWN:
        lines += [f"The first {LIST_IN_MARKDOWN} of {len(top['domains'])}; all are in {SUMMARY_JSON}.", ""]
    return lines


def _processing_markdown(processing: dict) -> list[str]:
    rights, illegal = processing["respect_of_reservation_of_rights"], processing["removal_of_illegal_content"]
    personal, quality, dedup = processing["personal_data"], processing["quality_filtering"], processing["deduplication"]
    found = ", ".join(f"{r['type']} {_number(r['identifiers'])} in {_number(r['documents'])} documents"
                      for r in personal["identifiers_in_kept_documents"]) or "none"
    actions = ", ".join(f"{k}: {v}" for k, v in personal["policy"].items() if k != "enabled")
    lines = ["## 3. Data processing aspects", "",
             "### 3.1 Respect of reservation of rights from text and data mining exception or limitation", "",
             f"Code of practice signatory: {rights['code_of_practice_signatory']}. {_sentence(rights['measures'])}. "
             f"Documents rejected for opt_out: {_number(rights['rejected_for_opt_out'])}.", ""]
    lines += _table(["protocol that reserved", "documents rejected"],
                    [[r["protocol"], _number(r["documents"])] for r in rights["rejected_for_opt_out_by_protocol"]])
    lines += _table(["opt_out", "status", "documents"],
                    [[r["opt_out"], r["status"], _number(r["documents"])] for r in rights["opt_out_status"]])
    lines += ["### 3.2 Removal of illegal content", "",
              f"Applied: {illegal['applied']} ({_number(illegal['rejected_for_takedown'])} documents taken down). "
              f"Not applied: {illegal['not_applied']}.", "",
              "### 3.3 Other information", "",
              f"- Personal data: enabled: {_yes(personal['policy'].get('enabled'))} ({actions}); "
              f"{personal['note']}. Found in kept documents: {found}. Rejected for personal_data: "
              f"{_number(personal['rejected_for_personal_data'])}.",
              f"- Quality filtering: enabled: {_yes(quality['enabled'])}; rejected for quality: "
              f"{_number(quality['rejected_for_quality'])}.",
              f"- Deduplication: enabled: {_yes(dedup['enabled'])} ({dedup['measure']} >= {dedup['threshold']}); "
              f"exact duplicates rejected: {_number(dedup['rejected_as_exact_duplicates'])}, near duplicates: "
              f"{_number(dedup['rejected_as_near_duplicates'])}.", ""]
    lines += _table(["rejection reason", "documents", "tokens"],
                    [[r["reason"], _number(r["documents"]), _number(r["words"])]
                     for r in processing["rejections_by_reason"]])
    return lines


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    if not rows:
        return []
    cells = [[_cell(value) for value in row] for row in rows]
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in cells), ""]


def _cell(value: Any) -> str:
    return " ".join(str(value).split()).replace("|", "\\|")


def _sentence(text: str) -> str:
    """`text` with a capital first letter and the rest as written (str.capitalize would lower 'Moisson', 'DSM')."""
    return text[:1].upper() + text[1:]


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _yes(value: Any) -> str:
    return {True: "yes", False: "no", None: "not recorded"}.get(value, str(value))
