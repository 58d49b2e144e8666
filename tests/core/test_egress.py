"""The egress policy: which addresses a member's link may make musicbox connect to."""

from __future__ import annotations

import ipaddress

import pytest

from musicbox.core.egress import Destination, is_public, literal, permitted


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("127.8.9.10", False),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
        ("172.16.0.5", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # the cloud metadata service
        ("100.64.0.1", False),  # CGNAT
        ("100.100.100.100", False),  # Tailscale's resolver
        ("100.127.255.254", False),
        ("100.128.0.1", True),  # just past 100.64.0.0/10
        ("192.0.2.10", False),  # documentation
        ("198.18.0.1", False),  # benchmarking
        ("224.0.1.1", False),  # multicast, even the globally scoped kind
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("fd12:3456::1", False),
        ("ff0e::1", False),  # global-scope multicast
        ("::ffff:127.0.0.1", False),  # IPv4-mapped
        ("::ffff:192.168.1.1", False),
        ("::ffff:8.8.8.8", True),
        ("::127.0.0.1", False),  # IPv4-compatible
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b::c0a8:101", False),  # NAT64 of 192.168.1.1
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("64:ff9b::808:808", True),  # NAT64 of 8.8.8.8
        ("64:ff9b:1::a00:1", False),  # local-use NAT64 of 10.0.0.1
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("2002:c0a8:101::1", False),  # 6to4 of 192.168.1.1
        ("2002:6440:1::1", False),  # 6to4 of 100.64.0.1
        ("2002:808:808::1", True),  # 6to4 of 8.8.8.8
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
    ],
)
def test_only_globally_routable_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


ALLOWED = ("127.0.0.1:8123", "nas.lan:8000", "[::1]:9000")
PUBLIC = ipaddress.ip_address("93.184.216.34")
LOOPBACK = ipaddress.ip_address("127.0.0.1")


@pytest.mark.parametrize(
    ("host", "port", "addresses", "allowed"),
    [
        ("media.example", 443, [PUBLIC], True),
        ("media.example", 443, [], False),  # nothing to connect to
        ("sneaky.example", 443, [PUBLIC, LOOPBACK], False),  # public first, loopback second
        ("sneaky.example", 443, [LOOPBACK, PUBLIC], False),
        ("127.0.0.1", 8123, [LOOPBACK], True),  # the allowance is exact: this host and port
        ("127.0.0.1", 8124, [LOOPBACK], False),  # the next port is not allowed
        ("localhost", 8123, [LOOPBACK], True),  # allowed by the address it resolved to
        ("nas.lan", 8000, [ipaddress.ip_address("192.168.1.20")], True),  # allowed by name
        ("NAS.lan", 8000, [ipaddress.ip_address("192.168.1.20")], True),
        ("nas.lan", 80, [ipaddress.ip_address("192.168.1.20")], False),
        ("::1", 9000, [ipaddress.ip_address("::1")], True),
        ("::1", 9001, [ipaddress.ip_address("::1")], False),
    ],
)
def test_a_destination_is_permitted_only_when_every_address_is(
    host: str, port: int, addresses: list[ipaddress.IPv4Address], allowed: bool
) -> None:
    assert permitted(Destination(host, port), addresses, ALLOWED) is allowed


def test_nothing_private_is_allowed_by_default() -> None:
    assert not permitted(Destination("127.0.0.1", 8123), [LOOPBACK], ())


@pytest.mark.parametrize(
    ("host", "address"),
    [("127.0.0.1", "127.0.0.1"), ("[::1]", "::1"), ("::ffff:10.0.0.1", "::ffff:10.0.0.1"), ("nas.lan", None)],
)
def test_ip_literals_name_themselves(host: str, address: str | None) -> None:
    assert literal(host) == (ipaddress.ip_address(address) if address else None)
