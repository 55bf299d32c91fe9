import json

from moisson.config import load_config
from sources import RawRecord, ReadFailure, ReadStats, read_source


def sources_file(tmp_path, paths):
    path = tmp_path / "sources.yaml"
    path.write_text(f"sources:\n  - {{name: dump, kind: files, paths: {json.dumps(paths)}, license: CC0-1.0}}\n"
                    "policy: {licenses: {allow: [CC0-1.0]}}\n")
    return load_config(path)


def read_all(config, name="dump"):
    stats = ReadStats()
    items = list(read_source(config, name, stats))
    return [i for i in items if isinstance(i, RawRecord)], [i for i in items if isinstance(i, ReadFailure)], stats


def test_jsonl_bad_lines_are_failures_with_file_and_line_and_the_rest_is_read(tmp_path):
    (tmp_path / "d.jsonl").write_text("\n".join([
        json.dumps({"id": "a", "text": "first", "url": "https://x.org/a", "license": "CC-BY-4.0", "language": "fr"}),
        '{"text": "cut',
        json.dumps({"title": "no text"}),
        json.dumps(["not", "an", "object"]),
        json.dumps({"text": "third", "url": 5}),
        "",
        json.dumps({"text": "last"}),
    ]))
    records, failures, stats = read_all(sources_file(tmp_path, ["*.jsonl"]))
    assert [r.payload for r in records] == [b"first", b"last"]
    first = records[0]
    assert (first.url, first.license, first.language, first.record_key) == ("https://x.org/a", "CC-BY-4.0", "fr", "d.jsonl#id=a")
    assert records[1].record_key == "d.jsonl:7"
    assert [(f.record, f.error_class) for f in failures] == [
        ("d.jsonl:2", "InvalidJSON"), ("d.jsonl:3", "WrongShape"), ("d.jsonl:4", "WrongShape"), ("d.jsonl:5", "WrongShape")]
    assert stats.records == 2 and stats.failures == 4


def test_text_and_html_files_and_unsupported_ones(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("plain words")
    (tmp_path / "in" / "b.html").write_text("<html><body><p>hi</p></body></html>")
    (tmp_path / "in" / "c.pdf").write_bytes(b"%PDF")
    records, failures, _ = read_all(sources_file(tmp_path, ["in/*"]))
    assert [(r.record_key, r.content_type) for r in records] == [("in/a.txt", "text"), ("in/b.html", "html")]
    assert [(f.record, f.error_class) for f in failures] == [("in/c.pdf", "UnsupportedFileType")]


def test_ids_are_stable_and_independent_of_where_the_folder_lives(tmp_path):
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "d.jsonl").write_text(json.dumps({"id": 7, "text": "same"}) + "\n")
    ids = [read_all(sources_file(tmp_path / folder, ["d.jsonl"]))[0][0].id for folder in ("one", "two")]
    assert ids[0] == ids[1] and len(ids[0]) == 32


def test_no_matching_file_is_reported(tmp_path):
    records, failures, _ = read_all(sources_file(tmp_path, ["nothing/*.jsonl"]))
    assert records == [] and failures[0].error_class == "NoInputFiles" and "nothing/*.jsonl" in failures[0].message
