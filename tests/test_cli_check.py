"""`moisson check` and the configuration errors `moisson run` shares with it, through the real CLI entry point.

Each bad input of issue 13 exits non-zero with a message naming the file, the source and the field."""

import ast
import shutil
from pathlib import Path

import pytest
import yaml

from moisson.config import BLOCKING_CHECKS, CHECK_NAMES
from pipelines.cli import EXIT_CONFIG, EXIT_FAILED, main

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def demo(tmp_path) -> Path:
    return Path(shutil.copytree(PROJECT_ROOT / "demo", tmp_path / "demo", ignore=shutil.ignore_patterns("portal", "*.py")))


def write_sources(demo: Path, change) -> Path:
    config = yaml.safe_load((demo / "sources.yaml").read_text(encoding="utf-8"))
    change(config)
    path = demo / "edited.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_demo_checks_clean_and_says_what_each_source_reads(demo, capsys):
    code, out, err = cli(capsys, "check", "--sources", demo / "sources.yaml")
    assert code == 0, err
    assert "web-sample (warc): 2 file(s)" in out and "my-dump (files): 3 file(s)" in out and out.rstrip().endswith(": ok")


def test_a_glob_matching_no_file_fails_check_naming_file_source_field_and_pattern(demo, capsys):
    def add_patterns(config):
        config["sources"][0]["paths"].append("archive/*.warc.gz")  # a typo beside a pattern that matches
        config["sources"].append({"name": "nothing", "kind": "files", "paths": ["nothing/*.jsonl"], "license": "CC0-1.0"})

    sources = write_sources(demo, add_patterns)
    code, out, err = cli(capsys, "check", "--sources", sources)
    assert code == EXIT_FAILED
    assert (f"{sources}: source 'web-sample': field 'paths': 'archive/*.warc.gz' matches no file (relative to {demo})"
            in err)
    assert f"{sources}: source 'nothing': field 'paths': 'nothing/*.jsonl' matches no file" in err
    assert "nothing (files): 0 file(s)" in out and "2 problem(s)" in err


@pytest.mark.parametrize("command", ["check", "run"])
def test_a_misspelt_allow_list_is_a_configuration_error_at_check_and_run(demo, tmp_path, capsys, command):
    sources = write_sources(demo, lambda c: c["policy"]["licenses"].update(allow=["CC-BY", "CC0", "CC-BY-FOO"]))
    extra = ["--data-dir", tmp_path / "data"] if command == "run" else []
    code, _, err = cli(capsys, command, "--sources", sources, *extra)
    assert code == EXIT_CONFIG
    assert f"{sources}: invalid sources file" in err and "field 'policy.licenses.allow'" in err
    assert "'CC-BY' is not a licence id" in err and "did you mean CC-BY-4.0?" in err and "did you mean CC0-1.0?" in err
    assert "'CC-BY-FOO'" in err
    assert not (tmp_path / "data").exists()  # refused before anything ran


@pytest.mark.parametrize("command", ["check", "run"])
def test_a_source_licence_no_step_reads_is_a_configuration_error_at_check_and_run(demo, tmp_path, capsys, command):
    sources = write_sources(demo, lambda c: c["sources"][1].update(license="Creative-Commons-Whatever"))
    extra = ["--data-dir", tmp_path / "data"] if command == "run" else []
    code, _, err = cli(capsys, command, "--sources", sources, *extra)
    assert code == EXIT_CONFIG
    assert f"{sources}: invalid sources file" in err
    assert "source 'my-dump', field 'license'" in err and "'Creative-Commons-Whatever' is not a licence id" in err


@pytest.mark.parametrize("command", ["check", "run"])
def test_a_sources_file_that_is_not_utf8_is_an_error_not_a_traceback(demo, tmp_path, capsys, command):
    sources = demo / "latin1.yaml"
    sources.write_bytes((demo / "sources.yaml").read_text(encoding="utf-8")
                        .replace("fictional public-sector sites", "sites publics fictifs (\u00e9t\u00e9)").encode("latin-1"))
    extra = ["--data-dir", tmp_path / "data"] if command == "run" else []
    code, _, err = cli(capsys, command, "--sources", sources, *extra)
    assert code == EXIT_CONFIG
    assert err.startswith(f"{sources}: not UTF-8 at byte ") and "line 6, column" in err and "save the file as UTF-8" in err
    assert "Traceback" not in err


def test_a_declared_licence_outside_the_allow_list_is_noted_without_failing(demo, capsys):
    sources = write_sources(demo, lambda c: c["sources"][1].update(license="CC-BY-NC-4.0"))
    code, out, _ = cli(capsys, "check", "--sources", sources)
    assert code == 0
    assert "note:" in out and "source 'my-dump'" in out and "CC-BY-NC-4.0 is not in policy.licenses.allow" in out


def test_the_check_names_the_policy_accepts_are_the_asset_checks_that_exist():
    """policy.checks.warn is validated against moisson.config.CHECK_NAMES; it must follow quality/checks.py."""
    tree = ast.parse((PROJECT_ROOT / "quality" / "checks.py").read_text(encoding="utf-8"))
    checks, blocking = [], []
    for node in tree.body:
        decorators = [d for d in getattr(node, "decorator_list", []) if isinstance(d, ast.Call)
                      and ast.unparse(d.func).endswith("asset_check")]
        if decorators:
            checks.append(node.name)
            if any(k.arg == "blocking" and ast.literal_eval(k.value) for k in decorators[0].keywords):
                blocking.append(node.name)
    assert sorted(checks) == sorted(CHECK_NAMES) and sorted(blocking) == sorted(BLOCKING_CHECKS)
