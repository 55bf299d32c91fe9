"""Any YAML a user can write either loads or raises ConfigError naming the file: never another exception."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moisson.config import ConfigError, load_config

scalars = st.none() | st.booleans() | st.integers(-10, 10**6) | st.floats(allow_nan=True) | st.text(max_size=20)
keys = st.sampled_from(["sources", "policy", "http", "name", "kind", "paths", "url", "license", "licenses", "allow",
                        "languages", "quality", "dedup", "failures", "max_rate", "fetch", "page_size", "warc", "ckan",
                        "oai-pmh", "allowed_addresses", "threshold"]) | st.text(max_size=8)
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
                         max_leaves=25)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=documents)
def test_any_yaml_document_loads_or_fails_with_a_config_error(tmp_path, document):
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    try:
        config = load_config(path)
    except ConfigError as error:
        assert str(error).startswith(str(path))
    else:
        assert config.sources and config.policy.licenses.allow


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_any_text_loads_or_fails_with_a_config_error(tmp_path, text):
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path)
    except ConfigError:
        pass
