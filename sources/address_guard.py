"""Which network addresses a harvester may connect to, decided before any socket opens.

Why: a catalogue is written by third parties, and any URL in it (or any redirect a server sends)
could point at the machine running Moisson, its cloud metadata service or the private network
behind it (server-side request forgery). So every URL is resolved first, every address it resolves
to is checked, and the connection is then made to the checked address itself, never re-resolved,
so a DNS answer that changes between the check and the connection cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}

Resolver = Callable[[str, int], list[str]]


class RefusedAddress(Exception):
    """The URL is not one the harvester may fetch: bad scheme, unresolvable, or a non-public address."""


@dataclass(frozen=True)
class Target:
    """A URL checked and pinned to the address the connection will use."""

    url: str
    scheme: str
    host: str  # as written in the URL (for Host, SNI and certificate checks)
    port: int
    address: str  # the resolved IP address, checked


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def is_public(address: str) -> bool:
    """True for globally routable unicast addresses; False for private, loopback, link-local, multicast, reserved..."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback)


def check_url(url: str, allow_private: bool = False, resolver: Resolver = system_resolver,
              allowed: frozenset[str] = frozenset()) -> Target:
    """Resolve and vet a URL; raise RefusedAddress with the reason in words. Sends no traffic except DNS.

    `allowed` names single addresses accepted even when private ones are refused (a test server).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise RefusedAddress(f"scheme {scheme or '(none)'!r} is not allowed (only http and https): {url}")
    if not parts.hostname:
        raise RefusedAddress(f"no host in {url}")
    if parts.username or parts.password:
        raise RefusedAddress(f"credentials in URLs are not allowed: {parts.hostname}")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise RefusedAddress(f"bad port in {url}: {exc}") from None
    try:
        addresses = resolver(parts.hostname, port)
    except (OSError, UnicodeError) as exc:
        raise RefusedAddress(f"cannot resolve {parts.hostname}: {exc}") from None
    if not addresses:
        raise RefusedAddress(f"{parts.hostname} resolves to no address")
    if not allow_private:
        refused = [a for a in addresses if not is_public(a) and a not in allowed]
        if refused:
            raise RefusedAddress(
                f"{parts.hostname} resolves to non-public address {refused[0]} "
                "(set allow_private_addresses: true on the source to allow it)"
            )
    return Target(url, scheme, parts.hostname, port, addresses[0])
