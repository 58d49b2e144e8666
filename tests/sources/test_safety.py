"""A member's link never makes musicbox fetch from the owner's own network, unless the owner allowed it."""

from __future__ import annotations

import ipaddress

import pytest

from musicbox.sources.safety import addresses_of, refusal

ALLOWED = ("127.0.0.1:8123",)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


@pytest.mark.parametrize(
    ("url", "resolved"),
    [
        ("http://127.0.0.1:8124/a.ogg", "127.0.0.1"),
        ("http://127.0.0.1/a.ogg", "127.0.0.1"),
        ("http://10.1.2.3/a.ogg", "10.1.2.3"),
        ("http://192.168.1.1/admin", "192.168.1.1"),
        ("http://172.16.0.5/a.ogg", "172.16.0.5"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254"),
        ("http://[::1]:8123/a.ogg", "::1"),
        ("http://[fe80::1]/a.ogg", "fe80::1"),
        ("http://[::ffff:127.0.0.1]:8123/a.ogg", "::ffff:127.0.0.1"),
        ("http://0.0.0.0:8123/a.ogg", "0.0.0.0"),
        ("http://nas.home.arpa/a.ogg", "192.168.0.10"),
    ],
)
def test_private_addresses_are_refused(url: str, resolved: str) -> None:
    reason = refusal(url, [_ip(resolved)], ALLOWED)
    assert reason is not None and "private network" in reason


def test_the_allowed_host_and_port_pass_and_public_hosts_pass() -> None:
    assert refusal("http://127.0.0.1:8123/media/1.ogg", [_ip("127.0.0.1")], ALLOWED) is None
    assert refusal("https://media.example.org/a.ogg", [_ip("93.184.216.34")], ()) is None


def test_a_name_with_any_private_address_is_refused() -> None:
    reason = refusal("https://sneaky.example/a.ogg", [_ip("93.184.216.34"), _ip("127.0.0.1")], ALLOWED)
    assert reason is not None and "sneaky.example" in reason


def test_non_web_schemes_and_unresolvable_names_are_refused() -> None:
    assert "only http and https" in (refusal("file:///etc/passwd", [], ALLOWED) or "")
    assert "does not resolve" in (refusal("http://nowhere.invalid/a.ogg", [], ALLOWED) or "")


async def test_a_hostname_is_judged_by_what_it_resolves_to() -> None:
    addresses = await addresses_of("http://localhost:8124/a.ogg")
    assert addresses and all(address.is_loopback for address in addresses)
    assert refusal("http://localhost:8124/a.ogg", addresses, ALLOWED) is not None
    assert await addresses_of("http://10.0.0.7/x") == [_ip("10.0.0.7")]
