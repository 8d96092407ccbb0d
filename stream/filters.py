"""Which hits are not a person from another company reading our pages.

Crawlers, asset requests, error responses, our own networks and private addresses never become
alerts; each is counted under its own reason so an SRE can see what the stream is made of.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

import crawleruseragents

from revisit.core.caches import BoundedCache
from revisit.core.config import FilterSettings
from revisit.core.networks import IPAddress


class FilterReason:
    STATUS = "status"
    ASSET = "asset"
    BOT = "bot"
    CLIENT_NOT_IP = "client_not_ip"
    PRIVATE_ADDRESS = "private_address"
    OWN_NETWORK = "own_network"
    ALL = (STATUS, ASSET, BOT, CLIENT_NOT_IP, PRIVATE_ADDRESS, OWN_NETWORK)


def expand_status_patterns(patterns: Iterable[str]) -> frozenset[str]:
    """``("2xx", "304")`` → every status text kept, so the check per line is one set lookup."""
    kept: set[str] = set()
    for pattern in patterns:
        text = pattern.strip().lower()
        if len(text) == 3 and text.endswith("xx") and text[0].isdigit():
            kept.update(f"{text[0]}{n:02d}" for n in range(100))
        elif len(text) == 3 and text.isdigit():
            kept.add(text)
        else:
            raise ValueError(f"status pattern {pattern!r}: use three digits (304) or a class (2xx)")
    return frozenset(kept)


def is_crawler(user_agent: str) -> bool:
    """Crawler check through the crawler-user-agents project's patterns (maintained upstream)."""
    if user_agent in ("", "-"):
        return True  # browsers always send one; scripts and scanners often do not
    return crawleruseragents.is_crawler(user_agent)


class HitFilter:
    """Decides, from cheap text checks first, whether a parsed line is dropped and why."""

    def __init__(self, settings: FilterSettings, cache_size: int = 100_000) -> None:
        self._settings = settings
        self._kept_statuses = expand_status_patterns(settings.keep_statuses)
        self._asset_extensions = tuple(ext.lower() for ext in settings.asset_extensions)
        self._asset_prefixes = tuple(settings.asset_prefixes)
        self._own_networks = tuple(ipaddress.ip_network(n, strict=False) for n in settings.own_networks)
        self.bot_cache = BoundedCache(cache_size)  # user agent → is a crawler

    def reason_for_request(self, status: str, path: str, user_agent: str | None) -> str | None:
        """The first reason that drops the hit, checked in this order; None keeps it."""
        if not self.keeps_status(status):
            return FilterReason.STATUS
        if self.is_asset(path):
            return FilterReason.ASSET
        if user_agent is not None and self.is_bot(user_agent):
            return FilterReason.BOT
        return None

    @property
    def kept_statuses(self) -> frozenset[str]:
        return self._kept_statuses

    def keeps_status(self, status: str) -> bool:
        return status in self._kept_statuses

    def is_bot(self, user_agent: str) -> bool:
        """Cached per distinct user agent: a few hundred strings cover most traffic."""
        if not self._settings.drop_bots:
            return False
        bot = self.bot_cache.get(user_agent)
        if bot is None:
            bot = self.bot_cache.remember(user_agent, is_crawler(user_agent))
        return bot

    def is_asset(self, path: str) -> bool:
        return path.lower().endswith(self._asset_extensions) or path.startswith(self._asset_prefixes)

    def reason_for_address(self, address: IPAddress) -> str | None:
        """Checked once per distinct client address (the caller caches the outcome)."""
        if any(address in network for network in self._own_networks):
            return FilterReason.OWN_NETWORK
        if self._settings.drop_private and (not address.is_global or address.is_multicast):
            return FilterReason.PRIVATE_ADDRESS  # multicast is "global" to ipaddress, never a client
        return None
