"""The outbound guard: only public addresses, whatever form a special one is written in."""

import ipaddress

import pytest

from datacommune.shared import outbound

# Every form that reaches a private, local or special address, written as a URL host would be.
REFUSED = [
    # IPv4 special-purpose registry
    ("0.0.0.0", "this network"),
    ("10.1.2.3", "private"),
    ("100.64.0.1", "shared address space"),
    ("127.0.0.1", "loopback"),
    ("169.254.169.254", "link-local"),
    ("172.16.0.1", "private"),
    ("192.0.0.9", "IETF protocol assignments"),
    ("192.0.0.170", "IETF protocol assignments"),
    ("192.0.2.1", "documentation"),
    ("192.31.196.1", "AS112"),
    ("192.52.193.1", "AMT"),
    ("192.88.99.1", "6to4 relay anycast"),
    ("192.168.1.1", "private"),
    ("192.175.48.1", "AS112"),
    ("198.18.0.1", "benchmarking"),
    ("198.51.100.1", "documentation"),
    ("203.0.113.1", "documentation"),
    ("224.0.0.1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    # IPv6 special-purpose registry
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("::127.0.0.1", "IPv4-compatible"),
    ("::a9fe:a9fe", "IPv4-compatible"),
    ("::ffff:127.0.0.1", "IPv4-mapped"),
    ("::ffff:8.8.8.8", "IPv4-mapped"),
    ("::ffff:0:7f00:1", "IPv4-translated"),
    ("64:ff9b::7f00:1", "NAT64"),
    ("64:ff9b::a9fe:a9fe", "NAT64"),
    ("64:ff9b::8.8.8.8", "NAT64"),
    ("64:ff9b:1::a00:1", "NAT64, local use"),
    ("100::1", "discard-only"),
    ("100:0:0:1::1", "dummy prefix"),
    ("2001::53aa:64c:7fff:fffe", "Teredo"),
    ("2001:1::1", "IETF protocol assignments"),
    ("2001:2::1", "IETF protocol assignments"),
    ("2001:20::1", "IETF protocol assignments"),
    ("2001:db8::1", "documentation"),
    ("2002:7f00:1::1", "6to4"),
    ("2002:a9fe:a9fe::1", "6to4"),
    ("2002:808:808::1", "6to4"),
    ("2620:4f:8000::1", "AS112"),
    ("3fff::1", "documentation"),
    ("5f00::1", "SRv6 SIDs"),
    ("fc00::1", "unique local"),
    ("fd12:3456::1", "unique local"),
    ("fe80::1", "link-local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("400::1", "reserved"),
    ("4000::1", "reserved"),
]


@pytest.mark.parametrize(("host", "why"), REFUSED)
async def test_special_addresses_are_refused_in_every_form(host: str, why: str) -> None:
    with pytest.raises(outbound.Refused) as refused:
        await outbound.check_address(f"[{host}]" if ":" in host else host, 80, allow_private=False)
    assert why in refused.value.en
    assert "publiques" in refused.value.fr
    # Allowed on a closed network, as the settings say.
    await outbound.check_address(host, 80, allow_private=True)


@pytest.mark.parametrize(
    ("host", "inside"),
    [
        ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
        ("2002:a9fe:a9fe::1", "169.254.169.254"),
        ("::ffff:127.0.0.1", "127.0.0.1"),
        ("::7f00:1", "127.0.0.1"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "192.0.2.45"),
    ],
)
async def test_a_refusal_names_the_ipv4_address_inside(host: str, inside: str) -> None:
    with pytest.raises(outbound.Refused, match=inside):
        await outbound.check_address(host, 80, allow_private=False)


@pytest.mark.parametrize("host", ["8.8.8.8", "1.1.1.1", "2a00:1450:4007:80e::200e", "2606:4700::1"])
async def test_public_addresses_pass(host: str) -> None:
    assert await outbound.check_address(host, 443, allow_private=False) == host


def test_every_special_range_is_in_the_table() -> None:
    # One address from each registry entry is tried above.
    tried = [ipaddress.ip_address(host) for host, _ in REFUSED]
    for network, _ in outbound._SPECIAL:
        assert any(address in network for address in tried), network
