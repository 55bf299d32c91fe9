"""The HTTP layer against a real server on 127.0.0.1; the address guard without sending any traffic."""

from __future__ import annotations

import gzip
import time
from socket import socket

import pytest

from portal_server import PortalServer
from sources.address_guard import RefusedAddress, check_url, is_public
from sources.http import FetchError, HttpClient, HttpSettings, retry_after_seconds

LOCAL = frozenset({"127.0.0.1"})


def client(**overrides) -> tuple[HttpClient, list[float]]:
    waits: list[float] = []
    settings = HttpSettings(**{"min_interval_seconds": 0.0, "backoff_seconds": 0.01, "max_retries": 3,
                               "allowed_addresses": LOCAL, "user_agent": "Moisson/0.1 (+https://example.org/contact)",
                               **overrides})
    return HttpClient(settings, sleep=lambda s: (waits.append(s), time.sleep(min(s, 0.05)))), waits


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                                     "100.64.0.1", "0.0.0.0", "224.0.0.1", "240.0.0.1", "::1", "fe80::1", "fc00::1",
                                     "::ffff:127.0.0.1", "::ffff:10.0.0.1", "ff02::1"])
def test_guard_refuses_non_public_addresses_before_connecting(address):
    assert not is_public(address)
    with pytest.raises(RefusedAddress, match="non-public address"):
        check_url("https://portal.example/api", resolver=lambda host, port: [address])


def test_guard_refuses_a_name_with_one_private_address_among_public_ones():
    with pytest.raises(RefusedAddress):
        check_url("https://portal.example/", resolver=lambda host, port: ["93.184.216.34", "10.0.0.5"])


def test_guard_accepts_public_addresses_and_pins_them():
    target = check_url("https://portal.example:8443/x?y=1", resolver=lambda host, port: ["93.184.216.34"])
    assert (target.host, target.port, target.address) == ("portal.example", 8443, "93.184.216.34")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://portal.example/x", "gopher://x/", "//portal.example/",
                                 "http://user:pw@portal.example/", "http:///nohost"])
def test_guard_refuses_other_schemes_credentials_and_hostless_urls(url):
    with pytest.raises(RefusedAddress):
        check_url(url, allow_private=True, resolver=lambda host, port: ["93.184.216.34"])


def test_private_addresses_allowed_only_when_the_source_says_so():
    assert check_url("http://localhost/", allow_private=True, resolver=lambda h, p: ["127.0.0.1"]).address == "127.0.0.1"


def test_user_agent_names_the_contact_url():
    http, _ = client()
    with PortalServer() as server:
        url = server.file("/page", "hello")
        assert http.get(url).body == b"hello"
        assert server.log[0][2]["user-agent"] == "Moisson/0.1 (+https://example.org/contact)"


def test_429_with_retry_after_is_waited_out_then_succeeds():
    calls = []

    def flaky(query, request):
        calls.append(1)
        return (429, {"Retry-After": "1"}, b"slow down") if len(calls) < 2 else (200, {}, b"ok")

    http, waits = client()
    with PortalServer() as server:
        assert http.get(server.handler("/api", flaky)).body == b"ok"
    assert len(calls) == 2 and 1.0 in waits


def test_retry_after_longer_than_the_harvest_waits_is_a_failure_not_a_hang():
    http, _ = client(max_retry_after_seconds=5)
    with PortalServer() as server:
        url = server.file("/api", "busy", status=503, headers={"Retry-After": "3600"})
        with pytest.raises(FetchError) as caught:
            http.get(url)
    assert caught.value.error_class == "HTTP503" and "3600" in str(caught.value)


def test_5xx_then_success_backs_off_exponentially():
    calls = []

    def flaky(query, request):
        calls.append(1)
        return (502, {}, b"bad gateway") if len(calls) <= 2 else (200, {}, b"fine")

    http, waits = client(backoff_seconds=0.01)
    with PortalServer() as server:
        assert http.get(server.handler("/api", flaky)).body == b"fine"
    assert waits == [0.01, 0.02]


def test_persistent_5xx_fails_after_the_retries():
    http, _ = client(max_retries=2)
    with PortalServer() as server:
        url = server.file("/api", "down", status=500)
        with pytest.raises(FetchError, match="answered 500"):
            http.get(url)
        assert len(server.requests_to("/api")) == 3


def test_timeout_is_a_failure_after_retries():
    def slow(query, request):
        time.sleep(3)  # far past the 0.2 s timeout, even when a loaded machine delays the client's read
        return 200, {}, b"late"

    http, _ = client(read_timeout=0.2, max_retries=1)
    with PortalServer() as server:
        with pytest.raises(FetchError) as caught:
            http.get(server.handler("/slow", slow))
        assert caught.value.error_class == "Timeout"
        assert len(server.requests_to("/slow")) == 2


def test_connection_refused_is_its_own_error_class_and_is_retried():
    with socket() as probe:  # a port nothing listens on: bound, then closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    waits: list[float] = []
    http = HttpClient(HttpSettings(min_interval_seconds=0.0, backoff_seconds=0.01, max_retries=2,
                                   allowed_addresses=frozenset({"127.0.0.1"})), sleep=waits.append)
    with pytest.raises(FetchError) as caught:
        http.get(f"http://127.0.0.1:{port}/oai")
    assert caught.value.error_class == "ConnectionRefused" and "refused" in str(caught.value).lower()
    assert waits == [0.01, 0.02]  # retried like a connection error: a server restarting refuses for a while


def test_body_over_the_cap_is_refused_while_streaming():
    http, _ = client()
    with PortalServer() as server:
        url = server.file("/big", b"x" * 300_000)
        with pytest.raises(FetchError) as caught:
            http.get(url, max_bytes=100_000)
    assert caught.value.error_class == "TooLarge"


def test_gzip_bomb_is_cut_at_the_decoded_cap():
    bomb = gzip.compress(b"\0" * 20_000_000)
    http, _ = client()
    with PortalServer() as server:
        url = server.file("/bomb", bomb, content_type="text/html", headers={"Content-Encoding": "gzip"})
        with pytest.raises(FetchError, match="decoded") as caught:
            http.get(url, max_bytes=1_000_000)
    assert caught.value.error_class == "TooLarge" and len(bomb) < 100_000


def test_redirect_to_a_private_address_is_refused_before_connecting():
    http, _ = client()  # private addresses off; only 127.0.0.1 (the test server) allowed
    with PortalServer() as server:
        port = server.base.rsplit(":", 1)[1]
        url = server.file("/go", "", status=302, headers={"Location": f"http://127.0.0.2:{port}/admin"})
        with pytest.raises(FetchError) as caught:
            http.get(url)
        assert caught.value.error_class == "RefusedAddress" and "127.0.0.2" in str(caught.value)
        assert [p for p, _, _ in server.log] == ["/go"]


def test_redirects_are_followed_within_the_bound_and_loops_fail():
    http, _ = client(max_redirects=3)
    with PortalServer() as server:
        server.file("/final", "arrived")
        server.file("/hop", "", status=301, headers={"Location": "/final"})
        assert http.get(server.base + "/hop").body == b"arrived"
        loop = server.file("/loop", "", status=302, headers={"Location": "/loop"})
        with pytest.raises(FetchError) as caught:
            http.get(loop)
        assert caught.value.error_class == "TooManyRedirects"
        assert len(server.requests_to("/loop")) == 4


def test_robots_txt_disallow_and_crawl_delay_are_honoured_for_files():
    http, waits = client()
    with PortalServer() as server:
        server.file("/robots.txt", "User-agent: *\nDisallow: /private/\nCrawl-delay: 0.3\n", content_type="text/plain")
        server.file("/private/doc.html", "secret")
        server.file("/public/a.html", "a")
        server.file("/public/b.html", "b")
        with pytest.raises(FetchError) as caught:
            http.get(server.base + "/private/doc.html", respect_robots=True)
        assert caught.value.error_class == "RobotsDisallowed"
        http.get(server.base + "/public/a.html", respect_robots=True)
        http.get(server.base + "/public/b.html", respect_robots=True)
        assert "/private/doc.html" not in [p for p, _, _ in server.log]
    assert any(w >= 0.2 for w in waits), waits  # the second file waited for the crawl-delay


def test_requests_to_one_host_are_spaced_by_the_rate_limit():
    http = HttpClient(HttpSettings(min_interval_seconds=0.15, allowed_addresses=LOCAL))
    with PortalServer() as server:
        url = server.file("/api", "x")
        started = time.monotonic()
        for _ in range(3):
            http.get(url)
    assert time.monotonic() - started >= 0.3


def test_accepted_statuses_return_the_body_for_protocol_errors():
    http, _ = client()
    with PortalServer() as server:
        url = server.file("/oai", "<error/>", status=422)
        with pytest.raises(FetchError):
            http.get(url)
        assert http.get(url, accept=lambda status: status < 500).status == 422


def test_retry_after_reads_seconds_and_dates():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
