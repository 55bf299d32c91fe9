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


# Ranges Python's `is_global` calls global (in the 3.11 this project runs on) although nothing a catalogue
# names should live there. Refused whatever the Python version says, each with the reason an error shows.
NOT_PUBLIC = tuple((ipaddress.ip_network(network), why) for network, why in (
    ("192.0.0.0/24", "IETF protocol assignment (RFC 6890)"),
    ("192.88.99.0/24", "6to4 relay anycast, deprecated (RFC 7526)"),
    ("::/96", "IPv4-compatible IPv6, deprecated (RFC 4291)"),
    ("64:ff9b:1::/48", "local-use NAT64 (RFC 8215)"),
    ("2001::/32", "Teredo tunnel (RFC 4380)"),
    # 6to4 refused outright rather than judged by the IPv4 inside: the packet goes to that IPv4 only
    # through whatever relay or local sit tunnel the machine has, so the embedded address promises
    # nothing about where it lands; and 6to4 is deprecated (RFC 7526): no portal is served there.
    ("2002::/16", "6to4 tunnel (RFC 3056), deprecated"),
    ("3fff::/20", "documentation (RFC 9637)"),
    ("5f00::/16", "SRv6 segment identifiers (RFC 9602)"),
    ("fec0::/10", "site-local, deprecated (RFC 3879)"),
))
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: reaches the IPv4 address in its last 32 bits


def is_public(address: str) -> bool:
    """True for globally routable unicast addresses; False for private, loopback, link-local, multicast, reserved..."""
    return non_public_reason(address) is None


def non_public_reason(address: str) -> str | None:
    """Why an address is not one to connect to (None when it is public).

    An IPv6 address that stands for an IPv4 one (IPv4-mapped, or NAT64's well-known prefix, which
    DNS64 resolvers hand out on IPv6-only networks) is judged by the IPv4 address it reaches.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    reached = _ipv4_reached(ip)
    if reached is not None:
        why = non_public_reason(str(reached))
        return f"{why} (it reaches IPv4 {reached})" if why else None
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback:
        return "not globally routable (private, loopback, link-local, multicast or reserved)"
    return next((why for network, why in NOT_PUBLIC if ip.version == network.version and ip in network), None)


def _ipv4_reached(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in NAT64 else None


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
        refused = [(a, why) for a in addresses if a not in allowed and (why := non_public_reason(a))]
        if refused:
            address, why = refused[0]
            raise RefusedAddress(
                f"{parts.hostname} resolves to non-public address {address}: {why} "
                "(set allow_private_addresses: true on the source to allow it)"
            )
    return Target(url, scheme, parts.hostname, port, addresses[0])
