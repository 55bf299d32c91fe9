"""The HTTP layer against a hostile server on 127.0.0.1: every wire fault ends in a FetchError or a good body, fast."""

from __future__ import annotations

import time

import pytest

from faults.fault_server import (FaultServer, answer, drip, endless, gzip_bomb, redirect, reset_mid_body, sequence,
                                 short_length, slow, truncated)
from sources.address_guard import RefusedAddress, check_url
from sources.http import FetchError, HttpClient, HttpSettings

BODY = b"<html><body>" + b"<p>a paragraph of text</p>" * 400 + b"</body></html>"


def client(**overrides) -> HttpClient:
    """Timeouts far above what a good answer from 127.0.0.1 takes, even on a machine loaded to a standstill: a
    test that needs one short sets it, with a fault that outlasts it many times over."""
    settings = {"min_interval_seconds": 0.0, "backoff_seconds": 0.01, "max_retries": 2, "read_timeout": 10.0,
                "connect_timeout": 10.0, "max_seconds_per_response": 60.0, "allowed_addresses": frozenset({"127.0.0.1"}),
                **overrides}
    return HttpClient(HttpSettings(**settings))


NOT_A_HANG_S = 120  # each fault below would hold a client for many minutes (or forever) if nothing stopped it


@pytest.fixture
def server():
    with FaultServer() as running:
        yield running


def fails_with(http: HttpClient, url: str, error_class: str, **get) -> FetchError:
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        http.get(url, **get)
    assert caught.value.error_class == error_class, str(caught.value)
    assert time.monotonic() - started < NOT_A_HANG_S
    return caught.value


def test_connection_reset_mid_body_is_retried_then_reported(server):
    url = server.route("/reset", reset_mid_body(BODY))
    fails_with(client(), url, "ConnectionError")
    assert server.hits("/reset") == 3  # first try and two retries


def test_connection_reset_once_then_a_good_answer_is_survived(server):
    url = server.route("/reset-once", sequence(reset_mid_body(BODY), answer(BODY)))
    assert client().get(url).body == BODY


def test_truncated_body_is_never_taken_for_a_whole_one(server):
    url = server.route("/cut", truncated(BODY))
    fails_with(client(), url, "ConnectionError")


def test_a_content_length_shorter_than_the_body_does_not_poison_the_next_answer(server):
    """The extra bytes stay on the kept-alive connection; the next request must not read them as its answer."""
    http = client()
    first = server.route("/short", short_length(BODY))
    second = server.route("/after", answer(b"the real second answer"))
    assert http.get(first).body == BODY[: len(BODY) // 2]
    assert http.get(second).body == b"the real second answer"


def test_slow_drip_is_cut_by_the_response_budget(server):
    """Each byte arrives within the read timeout, so only a whole-response budget stops it."""
    url = server.route("/drip", drip(BODY, every=0.05))  # 10,000 bytes: 500 s
    fails_with(client(max_retries=0, max_seconds_per_response=1.0), url, "Timeout")


def test_silence_past_the_read_timeout_is_a_timeout(server):
    url = server.route("/silent", slow(60.0, answer(BODY)))  # silent until the server stops
    fails_with(client(max_retries=1, read_timeout=0.5), url, "Timeout")


def test_an_endless_page_stops_at_the_size_cap(server):
    url = server.route("/endless", endless())
    fails_with(client(), url, "TooLarge", max_bytes=2_000_000)


def test_an_endless_page_stops_at_the_time_budget_when_the_cap_is_far(server):
    url = server.route("/endless", endless())
    fails_with(client(max_seconds_per_response=0.5, max_retries=0), url, "Timeout", max_bytes=1 << 40)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_burst_of_server_errors_then_recovery(server, status):
    url = server.route(f"/burst{status}", sequence(*[answer(b"down", status=status)] * 2, answer(b"back")))
    assert client(max_retries=3).get(url).body == b"back"
    assert server.hits(f"/burst{status}") == 3


def test_a_burst_longer_than_the_retries_is_a_failure_naming_the_status(server):
    url = server.route("/down", answer(b"down", status=503))
    fails_with(client(max_retries=2), url, "HTTP503")
    assert server.hits("/down") == 3


def test_429_with_retry_after_is_honoured(server):
    url = server.route("/busy", sequence(answer(b"slow down", status=429, headers={"Retry-After": "1"}), answer(b"ok")))
    started = time.monotonic()
    assert client().get(url).body == b"ok"
    assert time.monotonic() - started >= 0.9


def test_429_asking_for_too_long_a_wait_is_a_failure_not_a_hang(server):
    url = server.route("/busy", answer(b"go away", status=429, headers={"Retry-After": "86400"}))
    fails_with(client(max_retry_after_seconds=5), url, "HTTP429")
    assert server.hits("/busy") == 1


def test_a_redirect_loop_ends(server):
    server.route("/a", redirect("/b"))
    server.route("/b", redirect("/a"))
    fails_with(client(max_redirects=4), server.base + "/a", "TooManyRedirects")
    assert server.hits("/a") + server.hits("/b") == 5


def test_an_overlong_redirect_chain_ends(server):
    for n in range(30):
        server.route(f"/hop{n}", redirect(f"/hop{n + 1}"))
    fails_with(client(max_redirects=5), server.base + "/hop0", "TooManyRedirects")
    assert sum(server.hits(f"/hop{n}") for n in range(30)) == 6


def test_a_redirect_to_another_loopback_address_is_refused_before_connecting(server):
    """Private targets off, only the test server's 127.0.0.1 allowed: 127.0.0.2 must never see a connection."""
    with FaultServer(host="127.0.0.2") as other:
        other.route("/admin", answer(b"internal"))
        url = server.route("/escape", redirect(f"http://127.0.0.2:{other.port}/admin"))
        error = fails_with(client(), url, "RefusedAddress")
        assert "127.0.0.2" in str(error) and other.log == []


@pytest.mark.parametrize("address", ["10.0.0.7", "172.31.255.1", "192.168.0.10", "169.254.169.254", "fd00::1", "fe80::1%eth0"])
def test_private_and_link_local_targets_are_refused_without_any_socket(monkeypatch, address):
    """The guard decides from the resolved address alone; a connect attempt would fail this test."""
    import socket as socket_module

    def no_connect(*args, **kwargs):
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket_module.socket, "connect", no_connect)
    monkeypatch.setattr(socket_module, "create_connection", no_connect)
    with pytest.raises(RefusedAddress):
        check_url("http://catalogue.example/files/a.html", resolver=lambda host, port: [address])
    http = HttpClient(HttpSettings(max_retries=0), resolver=lambda host, port: [address])
    with pytest.raises(FetchError) as caught:
        http.get("http://catalogue.example/files/a.html")
    assert caught.value.error_class == "RefusedAddress"


def test_a_gzip_bomb_is_cut_at_the_decoded_cap(server):
    bomb = gzip_bomb(64 << 20)
    url = server.route("/bomb", answer(bomb, headers={"Content-Encoding": "gzip"}))
    fails_with(client(), url, "TooLarge", max_bytes=1 << 20)
    assert len(bomb) < 200_000


def test_a_gzip_body_that_is_not_gzip_is_a_clear_failure(server):
    url = server.route("/fake-gzip", answer(b"plain text pretending", headers={"Content-Encoding": "gzip"}))
    fails_with(client(max_retries=0), url, "ConnectionError")


def test_a_robots_txt_that_forbids_everything_stops_every_file_fetch(server):
    server.route("/robots.txt", answer(b"User-agent: *\nDisallow: /\n", content_type="text/plain"))
    url = server.route("/files/a.html", answer(BODY))
    fails_with(client(), url, "RobotsDisallowed", respect_robots=True)
    assert server.hits("/files/a.html") == 0


def test_a_robots_txt_that_errors_means_disallowed(server):
    server.route("/robots.txt", answer(b"oops", status=500))
    url = server.route("/files/a.html", answer(BODY))
    fails_with(client(max_retries=0), url, "RobotsDisallowed", respect_robots=True)
    assert server.hits("/files/a.html") == 0
