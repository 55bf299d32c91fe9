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


# --- licence ids are checked against the SPDX list and the LicenseRef-s Moisson knows (issue 13) ---

def test_a_misspelt_allow_list_is_refused_with_the_closest_ids(tmp_path):
    message = error_of(tmp_path, VALID.replace("allow: [CC0-1.0, CC-BY-4.0, CC-BY-SA-4.0, etalab-2.0]",
                                               "allow: [CC-BY, CC0, CC-BY-FOO]"))
    assert "sources.yaml" in message and "policy.licenses.allow" in message
    assert "'CC-BY' is not a licence id" in message and "did you mean CC-BY-4.0?" in message
    assert "'CC0'" in message and "did you mean CC0-1.0?" in message
    assert "'CC-BY-FOO'" in message


def test_a_source_licence_no_step_can_read_is_refused(tmp_path):
    message = error_of(tmp_path, VALID.replace("license: CC-BY-4.0", "license: Creative-Commons-Whatever"))
    assert "source 'my-dump'" in message and "field 'license'" in message
    assert "'Creative-Commons-Whatever' is not a licence id of the SPDX list" in message


def test_a_deprecated_spdx_id_is_refused_with_its_successors(tmp_path):
    message = error_of(tmp_path, VALID.replace("license: CC-BY-4.0", "license: GPL-3.0"))
    assert "deprecated" in message and "GPL-3.0-only or GPL-3.0-or-later" in message


def test_any_spdx_id_moissons_licence_refs_and_declared_custom_ones_are_accepted(tmp_path):
    text = VALID.replace("license: CC-BY-4.0", "license: EUPL-1.2").replace(
        "allow: [CC0-1.0, CC-BY-4.0, CC-BY-SA-4.0, etalab-2.0]",
        "allow: [cc0-1.0, EUPL-1.2, LicenseRef-etalab-1.0, LicenseRef-CC-BY-3.0-FR, LicenseRef-acme-terms], "
        "custom: [LicenseRef-acme-terms], verdicts: {LicenseRef-other-open: allow}")
    config = load_config(write(tmp_path, text))
    assert config.source("my-dump").license == "EUPL-1.2" and "LicenseRef-acme-terms" in config.policy.licenses.allow
    # a custom id serves the sources too, which are validated before the policy that declares it
    custom_source = text.replace("license: EUPL-1.2", "license: LicenseRef-acme-terms")
    assert load_config(write(tmp_path, custom_source)).source("my-dump").license == "LicenseRef-acme-terms"
    undeclared = custom_source.replace("custom: [LicenseRef-acme-terms]", "custom: []")
    message = error_of(tmp_path, undeclared)
    assert "source 'my-dump'" in message and "policy.licenses.custom" in message
    assert "LicenseRef- followed by letters" in error_of(tmp_path, text.replace("custom: [LicenseRef-acme-terms]", "custom: [acme]"))


def test_verdict_keys_are_licence_ids(tmp_path):
    text = VALID.replace("etalab-2.0]}", "etalab-2.0], verdicts: {LicenseRef-other-opne: allow}}")
    message = error_of(tmp_path, text)
    assert "policy.licenses.verdicts" in message and "did you mean LicenseRef-other-open" in message


def test_a_declared_licence_of_the_spdx_list_is_read_at_run_time():
    """What the config accepts, the licence step reads: an SPDX id outside Moisson's usual table is not
    'unrecognised' when a source or a record declares it."""
    from moisson.licence import decide_licence

    decision = decide_licence([], None, "EUPL-1.2", ["EUPL-1.2"])
    assert (decision.license, decision.allowed) == ("EUPL-1.2", True)
    assert decide_licence([], "eupl-1.2", None, ["EUPL-1.2"]).license == "EUPL-1.2"
    assert decide_licence([], None, "GPL-3.0", ["GPL-3.0-only"]).license == "unknown"  # deprecated: ambiguous


def test_a_sources_file_that_is_not_utf8_is_a_clear_error(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_bytes(VALID.replace("description", "x").encode("utf-8").replace(b"web-sample", b"web-\xe9chantillon", 1))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: not UTF-8 at byte ") and "line 3, column" in message and "save the file as UTF-8" in message


def test_checks_and_corpus_policies_are_validated(tmp_path):
    config = load_config(write(tmp_path, VALID))
    assert config.policy.checks.warn == [] and (config.policy.corpus.min_documents, config.policy.corpus.max_shrink) == (1, 0.0)
    text = VALID.replace("  quality:", "  checks: {warn: [harvest_failure_rate]}\n  corpus: {min_documents: 0, max_shrink: 0.1}\n  quality:")
    config = load_config(write(tmp_path, text))
    assert config.policy.checks.warn == ["harvest_failure_rate"] and config.policy.corpus.max_shrink == 0.1
    assert "'harvest_failure_rates' is not a check" in error_of(tmp_path, text.replace("[harvest_failure_rate]", "[harvest_failure_rates]"))
    assert "blocking check" in error_of(tmp_path, text.replace("[harvest_failure_rate]", "[corpus_contract]"))
    assert "policy.corpus.max_shrink" in error_of(tmp_path, text.replace("max_shrink: 0.1", "max_shrink: 1.5"))


def test_a_sources_folder_named_like_a_pattern_resolves_only_its_own_files(tmp_path):
    """`proj[1]/` as a glob matches `proj1/`: the folder is a place, only the `paths` entries are patterns."""
    for name in ("proj1", "proj[1]"):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.jsonl").write_text('{"text": "x"}\n')
    sources = tmp_path / "proj[1]" / "sources.yaml"
    sources.write_text("sources:\n  - {name: notes, kind: files, paths: ['*.jsonl'], license: CC0-1.0}\n"
                       "policy: {licenses: {allow: [CC0-1.0]}}\n")
    config = load_config(sources)
    assert config.resolve_paths(config.source("notes")) == [(tmp_path / "proj[1]" / "proj[1].jsonl").resolve()]


def test_execution_defaults_to_the_local_pool_and_takes_a_ray_cluster(tmp_path):
    assert load_config(write(tmp_path, VALID)).policy.execution.engine == "local"
    ray = load_config(write(tmp_path, VALID + "  execution: {engine: ray, address: 'ray://head.example:10001'}\n"))
    assert (ray.policy.execution.engine, ray.policy.execution.address) == ("ray", "ray://head.example:10001")
    assert load_config(write(tmp_path, VALID + "  execution: {engine: ray, num_cpus: 2}\n")).policy.execution.num_cpus == 2


def test_execution_errors_name_the_field_and_the_fix(tmp_path):
    message = error_of(tmp_path, VALID + "  execution: {engine: spark}\n")
    assert "'policy.execution.engine'" in message and "'local' or 'ray'" in message
    message = error_of(tmp_path, VALID + "  execution: {engine: ray, address: 'http://head:8265'}\n")
    assert "'policy.execution.address'" in message and "ray://host:port" in message
    message = error_of(tmp_path, VALID + "  execution: {address: auto}\n")
    assert "policy.execution" in message and "needs engine: ray" in message
