"""The dataset card as a datasheet: valid Hugging Face YAML, plots that reflect the data and never vary, honest gaps."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from moisson.atomic_files import write_parquet
from moisson.dataset_card import COLUMN_MEANINGS, IMAGES, PROJECT_URL, REASON_MEANINGS, project_url, write_dataset_card
from moisson.documents import REASONS
from moisson.publication import CORPUS_SCHEMA
from warehouse.load import connect

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
START = datetime(2026, 3, 1, tzinfo=timezone.utc)
POLICY = {"languages": "all", "licenses": {"allow": ["CC-BY-4.0", "CC0-1.0"]}, "opt_out": {"honour": True, "protocols": ["tdmrep-header"]}}
SOURCES = [
    {"name": "web-sample", "kind": "warc", "paths": '["web.warc.gz"]', "declared_license": None,
     "description": "a crawl", "citation": "Moisson demo web archive (2026)"},
    {"name": "my-dump", "kind": "files", "paths": '["dump.jsonl"]', "declared_license": "CC0-1.0",
     "description": None, "citation": None},
]


def documents(language_counts: dict[str, int], words: int = 100) -> list[dict]:
    rows = []
    for language, count in language_counts.items():
        for i in range(count):
            rows.append({
                "id": f"{language}-{i}", "text": "mot " * (words + i), "url": f"https://example.fr/{language}/{i}",
                "title": None, "language": language, "language_score": 0.99,
                "license": "CC-BY-4.0" if i % 3 else "CC0-1.0", "license_evidence": "meta", "source": "web-sample" if i % 2 else "my-dump",
                "source_kind": "warc", "retrieved_at": START + timedelta(days=i), "content_sha256": f"{i:064x}",
                "n_chars": 4 * (words + i), "n_words": words + i, "run_id": "r1", "locator": f"web.warc.gz@{i}",
                "format": "html", "page_starts": None,
            })
    return rows


def corpus(out_dir: Path, tmp: Path, language_counts: dict[str, int], words: int = 100) -> list[Path]:
    files = []
    rows = documents(language_counts, words)
    for language in language_counts:
        path = out_dir / language / "part-0.parquet"
        write_parquet(pa.Table.from_pylist([r for r in rows if r["language"] == language], schema=CORPUS_SCHEMA), path, tmp)
        files.append(path)
    return files


def warehouse(path: Path, kept: int, rejected: dict[str, int], reserved: int = 0) -> Path:
    con = connect(path)
    rows = [(f"k{i}", "kept", None, "fr", 50, "not_reserved") for i in range(kept)]
    for reason, n in rejected.items():
        rows += [(f"{reason}{i}", "rejected", reason, "fr", 10, "reserved" if reason == "opt_out" else None) for i in range(n)]
    rows += [(f"res{i}", "rejected", "opt_out", "en", 20, "reserved") for i in range(reserved)]
    con.executemany("INSERT INTO documents (id, status, reason, language, n_words, opt_out, source, source_kind) "
                    "VALUES (?, ?, ?, ?, ?, ?, 'web-sample', 'warc')", rows)
    con.close()
    return path


def card(tmp_path: Path, name: str, language_counts: dict[str, int], with_warehouse: bool = True, **kwargs) -> tuple[Path, list[Path]]:
    out = tmp_path / name / "corpus"
    files = corpus(out, tmp_path / name / "tmp", language_counts, kwargs.pop("words", 100))
    base = warehouse(tmp_path / name / "warehouse.duckdb", 7, {"quality": 3, "licence": 2, "near_duplicate": 1}, 2) if with_warehouse else None
    written = write_dataset_card(out, files, base, POLICY, SOURCES, tmp_path / name / "tmp", **kwargs)
    return out, written


def front_matter(readme: Path) -> dict:
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_front_matter_is_valid_hugging_face_yaml_whose_globs_match_the_files(tmp_path):
    out, written = card(tmp_path, "a", {"fr": 5, "en": 3, "de": 2})
    front = front_matter(out / "README.md")
    assert front["pretty_name"] and front["language"] == ["de", "en", "fr"]
    assert front["license"] == ["cc-by-4.0", "cc0-1.0"] and front["size_categories"] == ["n<1K"]
    configs = {c["config_name"]: c["data_files"] for c in front["configs"]}
    assert set(configs) == {"default", "de", "en", "fr"}
    parquet = {p for p in out.rglob("*.parquet")}
    assert {p for g in configs["default"] for p in out.glob(g)} == parquet
    assert {p for g in configs["fr"] for p in out.glob(g)} == {out / "fr" / "part-0.parquet"}
    assert written[0] == out / "README.md"


def test_a_file_not_described_is_never_matched_by_a_glob(tmp_path):
    out = tmp_path / "corpus"
    files = corpus(out, tmp_path / "tmp", {"fr": 3, "en": 2})
    write_parquet(pa.Table.from_pylist(documents({"fr": 1}), schema=CORPUS_SCHEMA), out / "fr" / "stray.parquet", tmp_path / "tmp")
    write_dataset_card(out, files, None, POLICY, SOURCES, tmp_path / "tmp")
    configs = {c["config_name"]: c["data_files"] for c in front_matter(out / "README.md")["configs"]}
    assert {p for g in configs["default"] for p in out.glob(g)} == set(files)


def test_only_iso_639_1_codes_are_listed_as_languages(tmp_path):
    out, _ = card(tmp_path, "a", {"fr": 2, "als": 1, "und": 1}, with_warehouse=False)
    front = front_matter(out / "README.md")
    assert front["language"] == ["fr"] and front["multilinguality"] == "multilingual"
    assert "| als | 1 |" in (out / "README.md").read_text()


def test_images_are_real_pngs_linked_from_the_card(tmp_path):
    out, written = card(tmp_path, "a", {"fr": 5, "en": 3})
    readme = (out / "README.md").read_text()
    links = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", readme)
    assert sorted(links) == sorted(f"images/{name}.png" for name in IMAGES)
    for link in links:
        image = out / link
        assert image in written and image.read_bytes().startswith(PNG_SIGNATURE)
        assert b"tEXt" not in image.read_bytes() and b"Matplotlib" not in image.read_bytes()


def test_plots_reflect_the_data(tmp_path):
    a, _ = card(tmp_path, "a", {"fr": 5, "en": 3})
    b, _ = card(tmp_path, "b", {"fr": 5, "en": 4})
    same, _ = card(tmp_path, "same", {"fr": 5, "en": 3})
    assert (a / "images/by_language.png").read_bytes() != (b / "images/by_language.png").read_bytes()
    assert (a / "images/lengths.png").read_bytes() != (b / "images/lengths.png").read_bytes()
    for name in IMAGES:
        assert (a / "images" / f"{name}.png").read_bytes() == (same / "images" / f"{name}.png").read_bytes(), name
    assert (a / "README.md").read_bytes() == (same / "README.md").read_bytes()


def test_the_card_is_byte_identical_across_processes_whatever_the_host_s_matplotlib_settings(tmp_path):
    out, written = card(tmp_path, "a", {"fr": 4, "en": 2}, manifest_summary={"version": "1.0", "files": 2})
    here = {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in written}
    settings = tmp_path / "mplconfig"  # a user's matplotlibrc, and another pyplot backend, must change nothing
    settings.mkdir()
    (settings / "matplotlibrc").write_text("font.size: 20\naxes.facecolor: red\nfigure.dpi: 300\nsavefig.dpi: 300\n")
    script = f"""
import hashlib, sys
from pathlib import Path
import matplotlib
matplotlib.use("pdf")
sys.path[:0] = {[str(Path(__file__).parent), str(Path(__file__).parent.parent)]}
from test_dataset_card import card
out, written = card(Path({str(tmp_path / 'other')!r}), "a", {{"fr": 4, "en": 2}}, manifest_summary={{"version": "1.0", "files": 2}})
for p in written:
    print(p.relative_to(out).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest())
print("backend", matplotlib.get_backend())
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300,
                            env={**os.environ, "MPLCONFIGDIR": str(settings)})
    there = dict(line.split() for line in result.stdout.splitlines())
    assert there.pop("backend") == "pdf"
    assert there == here


def test_filtering_statistics_and_opt_out_come_from_the_warehouse(tmp_path):
    out, _ = card(tmp_path, "a", {"fr": 3})
    readme = (out / "README.md").read_text()
    assert "| documents seen | 15 |" in readme and "| kept | 7 |" in readme and "| rejected | 8 |" in readme
    assert f"| rejected: quality | 3 | {REASON_MEANINGS['quality']} |" in readme
    assert "| rejected: opt_out | 2 |" in readme
    assert "| reserved | 0 | 2 |" in readme and "| not_reserved | 7 | 0 |" in readme


def test_without_a_warehouse_its_parts_say_they_are_unavailable(tmp_path):
    out, written = card(tmp_path, "a", {"fr": 3}, with_warehouse=False)
    readme = (out / "README.md").read_text()
    assert readme.count("Unavailable: this card was written without the warehouse") == 2
    assert not (out / "images" / "rejections.png").exists() and (out / "images" / "by_language.png").exists()
    assert "images/rejections.png" not in readme


def test_plots_of_an_earlier_card_that_this_one_lacks_are_removed(tmp_path):
    out, _ = card(tmp_path, "a", {"fr": 3})
    assert (out / "images" / "opt_out.png").exists()
    files = sorted(out.glob("*/*.parquet"))
    write_dataset_card(out, files, None, POLICY, SOURCES, tmp_path / "tmp")
    assert not (out / "images" / "opt_out.png").exists() and (out / "images" / "lengths.png").exists()


def test_sources_policy_release_columns_and_a_real_project_link(tmp_path):
    summary = {"version": "2026.03", "files": [{"path": "fr/part-0.parquet"}], "manifest_sha256": "ab" * 32,
               "previous_version": "2026.02", "changes": {"added": 3, "removed": 1, "taken_down": ["x"]}}
    out, _ = card(tmp_path, "a", {"fr": 3}, manifest_summary=summary)
    readme = (out / "README.md").read_text()
    assert "Cite as: Moisson demo web archive (2026)" in readme and "declared licence CC0-1.0" in readme
    assert "honour: true" in readme and "- version: 2026.03" in readme and "ab" * 32 in readme
    assert "changes since release 2026.02: added 3, removed 1, taken down 1" in readme
    assert "data as of: 2026-03-03" in readme  # latest retrieved_at, not today
    for column in CORPUS_SCHEMA.names:
        assert f"| `{column}` |" in readme
    assert "example.org" not in readme and f"[Moisson]({PROJECT_URL})" in readme
    for heading in ("Motivation", "Composition", "Collection process", "Preprocessing and cleaning", "Uses",
                    "Distribution", "Maintenance"):
        assert f"\n## {heading}\n" in readme


def test_every_reason_and_column_has_its_one_line_meaning():
    assert set(REASON_MEANINGS) == set(REASONS)
    assert set(COLUMN_MEANINGS) == set(CORPUS_SCHEMA.names)


def test_the_project_link_is_the_package_homepage():
    assert project_url() == PROJECT_URL


def test_a_corpus_file_outside_the_card_folder_is_refused(tmp_path):
    files = corpus(tmp_path / "elsewhere", tmp_path / "tmp", {"fr": 1})
    with pytest.raises(ValueError, match="outside"):
        write_dataset_card(tmp_path / "card", files, None, POLICY, SOURCES, tmp_path / "tmp")


def test_importing_the_card_does_not_import_matplotlib():
    code = "import sys, moisson.dataset_card; print('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_personal_data_handling_is_read_from_the_policy(tmp_path):
    policy = POLICY | {"personal_data": {"enabled": True, "email": "redact", "phone": "reject", "ip": "count"}}
    out = tmp_path / "corpus"
    write_dataset_card(out, corpus(out, tmp_path / "tmp", {"fr": 1}), None, policy, SOURCES, tmp_path / "tmp")
    readme = (out / "README.md").read_text()
    assert "placeholder (`<EMAIL>`, `<PHONE>`...): email; the document rejected: phone; counted only: ip." in readme


def test_render_card_still_describes_a_corpus_folder_for_the_publication_asset(tmp_path):
    from moisson.config import MoissonConfig
    from moisson.dataset_card import corpus_counts, render_card

    config = MoissonConfig.model_validate({
        "sources": [{"name": "web-sample", "kind": "warc", "paths": ["a.warc.gz"], "citation": "Moisson demo web archive"}],
        "policy": {"licenses": {"allow": ["CC-BY-4.0"]}, "dedup": {"threshold": 0.8}}})
    corpus(tmp_path / "corpus", tmp_path / "tmp", {"fr": 4, "en": 2})
    text = render_card(config, corpus_counts(tmp_path / "corpus"))
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["language"] == ["en", "fr"] and {c["config_name"] for c in front["configs"]} == {"default", "en", "fr"}
    assert "| CC-BY-4.0 |" in text and "threshold: 0.8" in text and "Cite as: Moisson demo web archive" in text
    assert "example.org" not in text and "Unavailable" in text


def test_hugging_face_reads_the_card_and_loads_each_config(tmp_path):
    datasets = pytest.importorskip("datasets")
    from huggingface_hub import DatasetCard

    out, _ = card(tmp_path, "a", {"fr": 3, "en": 2})
    data = DatasetCard.load(out / "README.md").data
    assert data.pretty_name == "Moisson corpus" and data.license == ["cc-by-4.0", "cc0-1.0"]
    assert datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / "hf")).num_rows == 5
    french = datasets.load_dataset(str(out), "fr", split="train", cache_dir=str(tmp_path / "hf"))
    assert set(french["language"]) == {"fr"} and french.num_rows == 3


def test_an_empty_corpus_gets_an_honest_card(tmp_path):
    out = tmp_path / "corpus"
    written = write_dataset_card(out, [], None, POLICY, SOURCES, tmp_path / "tmp")
    readme = (out / "README.md").read_text()
    assert written == [out / "README.md"] and "- documents: 0" in readme and "data as of: not known" in readme
    assert front_matter(out / "README.md")["size_categories"] == ["n<1K"]


def test_a_release_layout_gets_its_own_globs_and_first_release_changes(tmp_path):
    release = tmp_path / "releases" / "1.0"
    files = corpus(release / "data", tmp_path / "tmp", {"fr": 2, "en": 1})
    summary = {"version": "1.0", "previous_version": None, "changes": {"added": 3, "removed": 0, "taken_down": 0},
               "files": 2, "rows": 3}
    write_dataset_card(release, files, None, POLICY, SOURCES, tmp_path / "tmp", summary)
    readme = (release / "README.md").read_text()
    configs = {c["config_name"]: c["data_files"] for c in front_matter(release / "README.md")["configs"]}
    assert configs == {"default": ["data/en/*.parquet", "data/fr/*.parquet"], "en": ["data/en/*.parquet"],
                       "fr": ["data/fr/*.parquet"]}
    assert "read_parquet('DIR/data/*/*.parquet')" in readme
    assert "- changes: first release (added 3, removed 0, taken down 0)" in readme and "- rows: 3" in readme
    assert "manifest sha256" not in readme and "This is release 1.0: its files never change" in readme


def test_an_unreadable_warehouse_is_named_in_the_error(tmp_path):
    out = tmp_path / "corpus"
    files = corpus(out, tmp_path / "tmp", {"fr": 1})
    broken = tmp_path / "warehouse.duckdb"
    broken.write_bytes(b"not a database")
    with pytest.raises(RuntimeError, match="warehouse.duckdb: the warehouse could not be read"):
        write_dataset_card(out, files, broken, POLICY, SOURCES, tmp_path / "tmp")
