"""Which addresses a member's link may make musicbox fetch.

A link to a loopback, private or link-local address would let any member probe the owner's network
(a router's admin page, the metrics port) through the bot, so those are refused unless the owner
listed the exact host:port in `resolver.allowed_private_hosts`. The decision is pure; looking the
name up is the shell's job (`addresses_of`)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def host_and_port(url: str) -> tuple[str, int] | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return parts.hostname.lower(), port


def refusal(url: str, addresses: Sequence[IpAddress], allowed_hosts: Iterable[str]) -> str | None:
    """Why `url` (whose host resolved to `addresses`) must not be fetched, or None when it may be."""
    target = host_and_port(url)
    if target is None:
        return "only http and https links are played; paste a web address"
    host, port = target
    if not addresses:
        return f"{host} does not resolve to any address; check the link"
    if not any(not _public(address) for address in addresses):
        return None
    allowed = {entry.lower() for entry in allowed_hosts}
    if _spelled(host, port) in allowed:
        return None
    return f"{host} is on a private network, which musicbox does not fetch from; use a public link"


def _spelled(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _public(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


async def addresses_of(url: str) -> list[IpAddress]:
    """Every address the link's host resolves to (an IP literal resolves to itself); [] if none."""
    target = host_and_port(url)
    if target is None:
        return []
    host, port = target
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [literal]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return [ipaddress.ip_address(info[4][0]) for info in infos]
