"""Webhook addresses: the catalogue never posts into a network through one."""

import pytest

from datacommune.catalog.webhooks import deliveries

NAT64_AND_FRIENDS = [
    "http://[64:ff9b::7f00:1]/",
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
    "https://[64:ff9b:1::a00:1]/",
    "http://[2002:7f00:1::1]/",
    "http://[2001::53aa:64c:7fff:fffe]/",
    "http://[::127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
]


@pytest.mark.parametrize("url", NAT64_AND_FRIENDS)
async def test_translated_addresses_are_refused(url: str) -> None:
    with pytest.raises(deliveries.InvalidWebhook):
        await deliveries.check_address(url, allow_private=False)


@pytest.mark.parametrize("url", ["http://example.fr:99999/", "http://example.fr:port/"])
async def test_a_port_out_of_range_is_a_problem_not_a_crash(url: str) -> None:
    with pytest.raises(deliveries.InvalidWebhook):
        await deliveries.check_address(url, allow_private=False)
