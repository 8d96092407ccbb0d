"""Turning raw field text into values: timestamps, requests and client addresses.

Each converter keeps a bounded cache keyed by the raw text, because the same second, the same
client and the same proxy chain repeat across thousands of lines.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone

from revisit.core.caches import BoundedCache

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1
    )
}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class TimestampParser:
    """CLF (``10/Oct/2000:13:55:36 -0700``), ISO 8601 and epoch seconds → aware datetime."""

    def __init__(self, cache_size: int = 100_000) -> None:
        # text → datetime, or False for text that is not a timestamp (misses are remembered too)
        self.cache = BoundedCache(cache_size)
        self._zones: dict[str, timezone] = {}

    def parse(self, text: str) -> datetime | None:
        value = self.cache.get(text)
        if value is None:
            value = self.cache.remember(text, self._parse_uncached(text))
        return value or None

    def _parse_uncached(self, text: str) -> datetime | bool:
        try:
            if len(text) == 26 and text[2] == "/" and text[6] == "/" and text[11] == ":":
                return self._parse_clf(text)
            return self._parse_other(text)
        except (ValueError, KeyError, OverflowError):
            return False  # remembered as a miss

    def _parse_clf(self, text: str) -> datetime:
        zone = self._zones.get(text[21:])
        if zone is None:
            offset = text[21:]
            if len(offset) != 5 or offset[0] not in "+-":
                raise ValueError(offset)
            minutes = int(offset[1:3]) * 60 + int(offset[3:5])
            zone = timezone(timedelta(minutes=-minutes if offset[0] == "-" else minutes))
            self._zones[text[21:]] = zone
        return datetime(
            int(text[7:11]),
            _MONTHS[text[3:6]],
            int(text[0:2]),
            int(text[12:14]),
            int(text[15:17]),
            int(text[18:20]),
            tzinfo=zone,
        )

    @staticmethod
    def _parse_other(text: str) -> datetime:
        stripped = text.strip()
        if stripped.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(stripped), tz=UTC)
        value = datetime.fromisoformat(stripped.replace("Z", "+00:00"))
        if value.tzinfo is None:  # a log without an offset is taken as UTC (documented)
            value = value.replace(tzinfo=UTC)
        return value


def split_request(request: str) -> tuple[str, str, str] | None:
    """``GET /pricing?plan=pro HTTP/1.1`` → (method, path, query); None when it is not a request
    (TLS handshakes sent to port 80, ``-`` for timeouts, scanner garbage)."""
    parts = request.split(" ")
    if len(parts) == 3:
        method, target, protocol = parts
        if not protocol.startswith("HTTP/"):
            return None
    elif len(parts) == 2:  # HTTP/0.9 has no protocol
        method, target = parts
    else:
        return None
    if not (method.isalpha() and method.isupper() and len(method) <= 16) or not target:
        return None
    if target[0] != "/":
        if target.startswith(("http://", "https://")):
            slash = target.find("/", target.find("//") + 2)
            target = target[slash:] if slash != -1 else "/"
        elif target != "*":
            return None
    path, _, query = target.partition("?")
    return method, path, query


def normalize_address(text: str) -> IPAddress | None:
    """An IP address from a log field, or None: brackets, ports, zone ids and IPv4-mapped IPv6
    (``[::1]:443``, ``fe80::1%eth0``, ``::ffff:1.2.3.4``) are normalised; host names are not IPs."""
    text = text.strip()
    if not text:
        return None
    if text.startswith("["):
        end = text.find("]")
        if end == -1:
            return None
        text = text[1:end]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.partition(":")[0]
    text = text.partition("%")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class ClientAddressResolver:
    """Finds the visitor's address: the right-most address of the chain (X-Forwarded-For entries,
    then the connecting address) that is not one of our trusted proxies.

    A header added by a client is never trusted on its own: it is read only when the connecting
    address is a trusted proxy, so a visitor cannot pretend to be a customer's network.
    """

    def __init__(self, trusted_proxies: Iterable[str], cache_size: int = 200_000) -> None:
        self._trusted = tuple(ipaddress.ip_network(n, strict=False) for n in trusted_proxies)
        # client field (or (client field, forwarded-for) pair) → client address or None
        self.cache = BoundedCache(cache_size)

    def client_ip(self, client_field: str, forwarded_for: str | None) -> str | None:
        key = (client_field, forwarded_for) if forwarded_for and forwarded_for != "-" else client_field
        found = self.cache.get(key, "")
        if found == "":
            found = self.cache.remember(key, self._resolve(client_field, forwarded_for))
        return found

    def _resolve(self, client_field: str, forwarded_for: str | None) -> str | None:
        chain = [part for part in client_field.split(",")]
        if forwarded_for and self._is_trusted_text(chain[-1]):
            chain = _forwarded_entries(forwarded_for) + chain
        addresses = [normalize_address(part) for part in chain]
        for address in reversed(addresses):
            if address is not None and not self._is_trusted(address):
                return str(address)
        for address in addresses:  # every hop is ours: the left-most is the original client
            if address is not None:
                return str(address)
        return None

    def _is_trusted_text(self, text: str) -> bool:
        address = normalize_address(text)
        return address is not None and self._is_trusted(address)

    def _is_trusted(self, address: IPAddress) -> bool:
        return any(address in network for network in self._trusted)


def _forwarded_entries(text: str) -> list[str]:
    """Entries of an X-Forwarded-For value; nginx ``main`` trailing fields arrive still quoted."""
    text = text.strip()
    if text.startswith('"'):
        end = text.find('"', 1)
        text = text[1 : end if end != -1 else None]
    if text in ("", "-"):
        return []
    return [entry for entry in text.split(",") if entry.strip()]
