"""Filters: crawlers (through the crawler-user-agents library), assets, statuses, networks."""

from __future__ import annotations

import ipaddress
import json

import pytest

from revisit.core.config import FilterSettings
from revisit.stream.filters import FilterReason, HitFilter, expand_status_patterns
from tests.conftest import SHARED_DATA

BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


def test_crawler_examples_from_the_shared_pattern_list_are_bots() -> None:
    entries = json.loads((SHARED_DATA / "crawler-user-agents" / "crawler-user-agents.json").read_text("utf-8"))
    examples = [example for entry in entries for example in entry.get("instances", [])]
    assert len(examples) > 1000
    hit_filter = HitFilter(FilterSettings())
    missed = [ua for ua in examples if hit_filter.reason_for_request("200", "/", ua) != FilterReason.BOT]
    # the library ships the same upstream project's patterns; allow for upstream drift only
    assert len(missed) / len(examples) < 0.01, missed[:5]


def test_browsers_are_not_bots() -> None:
    hit_filter = HitFilter(FilterSettings())
    for agent in (BROWSER, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"):
        assert hit_filter.reason_for_request("200", "/pricing", agent) is None
    assert hit_filter.reason_for_request("200", "/pricing", "-") == FilterReason.BOT
    assert hit_filter.reason_for_request("200", "/pricing", None) is None  # common format: unknown


@pytest.mark.parametrize(
    "path",
    ["/static/css/site.css", "/img/logo.PNG", "/favicon.ico", "/app.js", "/wp-content/uploads/a", "/fonts/x.woff2"],
)
def test_assets(path: str) -> None:
    assert HitFilter(FilterSettings()).reason_for_request("200", path, BROWSER) == FilterReason.ASSET


def test_configured_asset_prefix() -> None:
    hit_filter = HitFilter(FilterSettings(asset_prefixes=("/cdn/",)))
    assert hit_filter.reason_for_request("200", "/cdn/anything", BROWSER) == FilterReason.ASSET
    assert hit_filter.reason_for_request("200", "/pricing", BROWSER) is None


def test_statuses() -> None:
    hit_filter = HitFilter(FilterSettings())
    assert hit_filter.reason_for_request("404", "/pricing", BROWSER) == FilterReason.STATUS
    assert hit_filter.reason_for_request("500", "/pricing", BROWSER) == FilterReason.STATUS
    assert hit_filter.reason_for_request("304", "/pricing", BROWSER) is None
    only_ok = HitFilter(FilterSettings(keep_statuses=("200",)))
    assert only_ok.reason_for_request("301", "/pricing", BROWSER) == FilterReason.STATUS
    assert expand_status_patterns(["2xx"]) == frozenset(f"2{n:02d}" for n in range(100))
    with pytest.raises(ValueError, match="status pattern"):
        expand_status_patterns(["ok"])


@pytest.mark.parametrize(
    "address, reason",
    [
        ("10.1.2.3", FilterReason.PRIVATE_ADDRESS),
        ("192.168.1.1", FilterReason.PRIVATE_ADDRESS),
        ("127.0.0.1", FilterReason.PRIVATE_ADDRESS),
        ("::1", FilterReason.PRIVATE_ADDRESS),
        ("fe80::1", FilterReason.PRIVATE_ADDRESS),
        ("0.0.0.0", FilterReason.PRIVATE_ADDRESS),
        ("192.0.2.10", FilterReason.PRIVATE_ADDRESS),  # documentation range
        ("100.64.0.1", FilterReason.PRIVATE_ADDRESS),  # carrier-grade NAT
        ("81.2.69.160", None),
        ("2001:1c00::1", None),
        ("133.18.40.5", FilterReason.OWN_NETWORK),
    ],
)
def test_addresses(address: str, reason: str | None) -> None:
    hit_filter = HitFilter(FilterSettings(own_networks=("133.18.40.0/24",)))
    assert hit_filter.reason_for_address(ipaddress.ip_address(address)) == reason


def test_private_address_check_agrees_with_ipaddress_on_every_block_edge_and_random_addresses() -> None:
    """The integer check replay uses once per distinct client address gives what ``ipaddress``
    says: ``not is_global or is_multicast``, at each reserved block's first and last address,
    just outside them, and on 100,000 random IPv4 addresses; IPv6 still goes through ipaddress."""
    import random

    from revisit.stream.filters import is_private_address

    edges = []
    for network in (*ipaddress.IPv4Address._constants._private_networks, ipaddress.ip_network("100.64.0.0/10")):
        first, last = int(network.network_address), int(network.broadcast_address)
        edges += [first - 1, first, last, last + 1]
    edges += [int(ipaddress.IPv4Address("224.0.0.0")) - 1, int(ipaddress.IPv4Address("239.255.255.255")) + 1]
    rng = random.Random(23)
    values = [v for v in edges if 0 <= v < 2**32] + [rng.getrandbits(32) for _ in range(100_000)]
    addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ipaddress.IPv4Address(v) for v in values]
    addresses += [ipaddress.ip_address(text) for text in ("::1", "fe80::1", "2001:db8::1", "2a00:1450::1", "ff02::1")]
    wrong = [a for a in addresses if is_private_address(a) != (not a.is_global or a.is_multicast)]
    assert wrong == []
    hit_filter = HitFilter(FilterSettings())
    assert hit_filter.reason_for_address(ipaddress.ip_address("100.64.0.1")) == FilterReason.PRIVATE_ADDRESS
    assert hit_filter.reason_for_address(ipaddress.ip_address("224.0.0.1")) == FilterReason.PRIVATE_ADDRESS
    assert hit_filter.reason_for_address(ipaddress.ip_address("45.0.0.7")) is None
