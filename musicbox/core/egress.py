"""Which addresses a member's link may make musicbox connect to: the egress gate's policy.

Pure: names are looked up, and connections made, by the gate (`sources/egress.py`); this decides.

musicbox runs next to the owner's router, NAS and cameras, and any member of any server chooses what
it fetches, so only globally routable addresses are reached:

- `ipaddress`'s `is_global`, which already leaves out loopback, RFC 1918, link-local (the cloud
  metadata address 169.254.169.254), 100.64.0.0/10 (CGNAT, Tailscale's 100.100.100.100), ULA and the
  documentation and benchmarking ranges;
- an IPv6 address that carries an IPv4 one is judged by the IPv4 it carries: IPv4-mapped
  (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`, `64:ff9b:1::/48`) and
  6to4 (`2002::/16`) all reach the embedded address on a host that routes them, and `is_global`
  calls most of them global whatever they embed;
- multicast never, whatever its scope.

The owner may allow exact `host:port` spellings (`resolver.allowed_private_hosts`, config only, empty
by default): the test world's media server, a NAS they mean to play from. An entry matches the name
the link used or the address it resolved to, always with the port.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")
NAT64_PREFIXES = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
# What ffmpeg and ffprobe may open for a link: the web (through the gate) and the decryption of an
# AES-128 HLS stream; not file:, nor a bare tcp: or udp: address an HLS playlist could name.
FFMPEG_PROTOCOLS = "http,https,tls,tcp,httpproxy,crypto"


@dataclass(frozen=True, slots=True)
class Destination:
    """Where one request asks to go: the name as the client spelled it, and the port."""

    host: str
    port: int

    @property
    def spelled(self) -> str:
        return _spelled(self.host.lower(), self.port)


def is_public(address: IpAddress) -> bool:
    """Whether `address` is on the public internet, judging an embedded IPv4 by itself."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return is_public(embedded)
    if address.is_multicast or not address.is_global:
        return False
    return not (isinstance(address, ipaddress.IPv4Address) and address in SHARED_ADDRESS_SPACE)


def permitted(destination: Destination, addresses: Sequence[IpAddress], allowed: Iterable[str]) -> bool:
    """Whether `destination`, whose name resolved to `addresses`, may be connected to: every address
    must be public or allowed, so a name answering a public address and a private one is refused
    whichever the client would have tried first."""
    if not addresses:
        return False
    entries = {entry.strip().lower() for entry in allowed}
    if destination.spelled in entries:
        return True
    return all(
        is_public(address) or _spelled(str(address), destination.port) in entries for address in addresses
    )


def literal(host: str) -> IpAddress | None:
    """The address a host spelled as an IP literal names (`[::1]` included), or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _embedded_ipv4(address: IpAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in prefix for prefix in NAT64_PREFIXES) or (
        address in IPV4_COMPATIBLE and int(address) > 1  # `::` and `::1` are themselves, not IPv4
    ):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _spelled(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
