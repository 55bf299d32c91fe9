from pathlib import Path

import pytest

from moisson.config import ConfigError, load_config

VALID = """
sources:
  - {name: web-sample, kind: warc, paths: ["archives/*.warc.gz"]}
  - {name: my-dump, kind: files, paths: ["dumps/*.jsonl"], license: CC-BY-4.0}
policy:
  languages: [fr, en, de]
  licenses: {allow: [CC0-1.0, CC-BY-4.0, CC-BY-SA-4.0, etalab-2.0]}
  quality: {enabled: true}
  dedup: {enabled: true, threshold: 0.8}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return str(caught.value)


def test_the_issue_example_is_valid_and_paths_resolve_next_to_the_file(tmp_path):
    (tmp_path / "archives").mkdir()
    (tmp_path / "archives" / "b.warc.gz").write_bytes(b"")
    (tmp_path / "archives" / "a.warc.gz").write_bytes(b"")
    config = load_config(write(tmp_path, VALID))
    assert config.source_names == ["web-sample", "my-dump"]
    assert config.source("my-dump").license == "CC-BY-4.0"
    assert config.policy.dedup.threshold == 0.8
    assert config.policy.keeps_language("fr") and not config.policy.keeps_language("it")
    assert [p.name for p in config.resolve_paths(config.source("web-sample"))] == ["a.warc.gz", "b.warc.gz"]


def test_languages_all_keeps_everything(tmp_path):
    config = load_config(write(tmp_path, VALID.replace("[fr, en, de]", "all")))
    assert config.policy.keeps_language("und") and config.policy.keeps_language("mt")


def test_unknown_key_names_file_source_and_field(tmp_path):
    message = error_of(tmp_path, VALID.replace("license: CC-BY-4.0}", "licence: CC-BY-4.0}"))
    assert "sources.yaml" in message and "source 'my-dump'" in message and "'licence'" in message
    assert "unknown key" in message


def test_unknown_kind_is_named(tmp_path):
    message = error_of(tmp_path, VALID.replace("kind: warc", "kind: ftp"))
    assert "source 'web-sample'" in message and "unknown kind 'ftp'" in message


def test_bad_threshold_names_the_policy_field(tmp_path):
    message = error_of(tmp_path, VALID.replace("threshold: 0.8", "threshold: 1.5"))
    assert "policy.dedup.threshold" in message


def test_quality_thresholds_are_validated(tmp_path):
    message = error_of(tmp_path, VALID.replace("quality: {enabled: true}", "quality: {enabled: true, min_wrods: 3}"))
    assert "policy.quality.min_wrods" in message and "unknown key" in message


def test_duplicate_source_names_and_bad_names(tmp_path):
    assert "used twice" in error_of(tmp_path, VALID.replace("name: my-dump", "name: web-sample"))
    assert "source 'Web Sample'" in error_of(tmp_path, VALID.replace("name: web-sample", "name: Web Sample"))


def test_bad_language_code_and_licence_id(tmp_path):
    assert "not ISO 639 codes" in error_of(tmp_path, VALID.replace("[fr, en, de]", "[French]"))
    assert "not an SPDX licence id" in error_of(tmp_path, VALID.replace("license: CC-BY-4.0", "license: 'CC BY 4.0'"))


def test_missing_policy_and_bad_yaml(tmp_path):
    assert "field 'policy'" in error_of(tmp_path, VALID.split("policy:")[0])
    assert "not valid YAML" in error_of(tmp_path, "sources: [\n")
    assert "sources file not found" in str(pytest.raises(ConfigError, load_config, tmp_path / "nope.yaml").value)



def test_environment_references_are_expanded_in_values_and_missing_ones_named(tmp_path, monkeypatch):
    text = VALID.replace("license: CC-BY-4.0}", "license: CC-BY-4.0, description: 'on ${MOISSON_TEST_HOST}'}")
    assert text != VALID
    monkeypatch.delenv("MOISSON_TEST_HOST", raising=False)
    assert "environment variable(s) not set: MOISSON_TEST_HOST" in error_of(tmp_path, text)
    monkeypatch.setenv("MOISSON_TEST_HOST", "http://127.0.0.1:8123")
    assert load_config(write(tmp_path, text)).source("my-dump").description == "on http://127.0.0.1:8123"


def test_extraction_backend_defaults_to_trafilatura_and_an_unknown_one_is_named(tmp_path):
    assert load_config(write(tmp_path, VALID)).policy.extraction.backend == "trafilatura"
    message = error_of(tmp_path, VALID.replace("  quality:", "  extraction: {backend: readability}\n  quality:"))
    assert "policy.extraction.backend" in message and "'trafilatura' or 'resiliparse'" in message
