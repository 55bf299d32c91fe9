"""OAI-PMH and DCAT parsing of bytes a server sent: a value, or ValueError / OaiError, never anything else."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from moisson.licence import portal_licence
from sources.dcat import next_page, parse_graph, to_datasets
from sources.oai_pmh import OaiError, _list_records, parse_response, to_dataset

OAI = "http://www.openarchives.org/OAI/2.0/"
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="<&"), max_size=30)
element = st.builds(lambda tag, body: f"<{tag}>{body}</{tag}>", st.sampled_from(
    ["identifier", "datestamp", "dc:title", "dc:rights", "dc:identifier", "dc:relation", "setSpec"]), text)
record = st.builds(
    lambda status, header, meta: (f"<record><header{status}>{''.join(header)}</header><metadata><oai_dc:dc "
                                  f"xmlns:oai_dc='{OAI}oai_dc/' xmlns:dc='http://purl.org/dc/elements/1.1/'>"
                                  f"{''.join(meta)}</oai_dc:dc></metadata></record>"),
    st.sampled_from(["", " status='deleted'"]), st.lists(element, max_size=3), st.lists(element, max_size=5))
page = st.builds(lambda records, token: (f"<OAI-PMH xmlns='{OAI}'><ListRecords>{''.join(records)}"
                                         f"<resumptionToken>{token}</resumptionToken></ListRecords></OAI-PMH>").encode(),
                 st.lists(record, max_size=4), text)


def licence_of(values):
    return portal_licence(values, ["CC-BY-4.0"])


@settings(max_examples=150, deadline=None)
@given(body=page | st.binary(max_size=300) | st.builds(lambda b, n: b[:n], page, st.integers(0, 400)))
def test_oai_pages_parse_to_records_or_a_clear_error(body):
    try:
        records, token = _list_records(parse_response(body))
    except (ValueError, OaiError):
        return
    assert token is None or token.strip() == token and token
    for item in records:
        try:
            dataset = to_dataset("http://oai.example", item, licence_of)
        except ValueError:
            continue
        assert dataset.dataset_id and all(r.url.startswith(("http://", "https://")) for r in dataset.resources)


turtle = st.builds(
    lambda ident, title, licence, url, nxt: (
        "@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .\n"
        "@prefix hydra: <http://www.w3.org/ns/hydra/core#> .\n"
        f"<http://c.example/ds> a dcat:Dataset ; dct:identifier {ident!r} ; dct:title {title!r} ; dct:license <{licence}> ;\n"
        f"  dcat:distribution [ dcat:downloadURL <{url}> ; dcat:byteSize \"12x\" ] .\n"
        f"<http://c.example/catalog> hydra:next <{nxt}> .\n").encode(),
    text, text, st.sampled_from(["http://creativecommons.org/licenses/by/4.0/", "urn:x", "http://x.example/l"]),
    st.sampled_from(["http://f.example/a.html", "urn:y"]), st.sampled_from(["http://c.example/p2", "urn:z"]))


@settings(max_examples=100, deadline=None)
@given(body=turtle | st.binary(max_size=300), fmt=st.sampled_from(["turtle", "xml", "json-ld"]))
def test_dcat_pages_parse_to_datasets_or_a_value_error(body, fmt):
    try:
        graph = parse_graph(body, fmt, "http://c.example/catalog")
    except ValueError:
        return
    datasets = list(to_datasets("http://c.example/catalog", graph, licence_of))
    assert all(d.dataset_id for d in datasets)
    assert next_page(graph) is None or isinstance(next_page(graph), str)
