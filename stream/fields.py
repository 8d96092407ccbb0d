"""Turning raw field text into values: timestamps, requests and client addresses.

Each converter keeps a bounded cache keyed by the raw text, because the same second, the same
client and the same proxy chain repeat across thousands of lines.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from revisit.core.caches import BoundedCache
from revisit.core.errors import BadInput
from revisit.core.networks import IPAddress

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1
    )
}


_SECONDS = {f"{second:02d}": timedelta(seconds=second) for second in range(60)}


class TimestampParser:
    """Every timestamp an access log writes → aware datetime, or None; never an exception.

    CLF (``10/Oct/2000:13:55:36 -0700``, also with milliseconds and without an offset as HAProxy
    writes it), ISO 8601 / RFC 3339, and epoch numbers in seconds, milliseconds, microseconds or
    nanoseconds (the unit read from the magnitude, see `epoch_to_datetime`). A time written without
    an offset is in ``zone`` (``log.timezone``): Traefik's ``time`` and IIS-less local logs are
    local times, and reading them as UTC put every Tokyo hit nine hours late.
    """

    def __init__(self, zone: tzinfo = UTC, cache_size: int = 100_000) -> None:
        # text → datetime, or False for text that is not a timestamp (misses are remembered too)
        self.cache = BoundedCache(cache_size)
        self.zone = zone
        self._zones: dict[str, timezone] = {}
        # CLF text without its seconds → that minute: a log has a new second every few lines and
        # a new minute every few hundred; the second set into the minute is a third of the work
        self._minutes = BoundedCache(4096)

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
        except (ValueError, KeyError, OverflowError, OSError, IndexError):
            return False  # remembered as a miss: one odd value must never stop a run

    def _parse_clf(self, text: str) -> datetime:
        minute_key = text[:17] + text[20:]
        minute = self._minutes.get(minute_key)
        if minute is None:
            minute = self._minutes.remember(minute_key, self._parse_clf_minute(text))
        second = _SECONDS.get(text[18:20])
        # adding a second is ~6x faster than ``replace(second=...)``, kept for odd digits (" 5")
        return minute + second if second is not None else minute.replace(second=int(text[18:20]))

    def _parse_clf_minute(self, text: str) -> datetime:
        zone = self._zones.get(text[21:])
        if zone is None:
            zone = self._offset(text[21:])
            self._zones[text[21:]] = zone
        return datetime(
            int(text[7:11]),
            _MONTHS[text[3:6]],
            int(text[0:2]),
            int(text[12:14]),
            int(text[15:17]),
            tzinfo=zone,
        )

    @staticmethod
    def _offset(offset: str) -> timezone:
        if len(offset) != 5 or offset[0] not in "+-" or not offset[1:].isdigit():
            raise ValueError(offset)
        minutes = int(offset[1:3]) * 60 + int(offset[3:5])
        return timezone(timedelta(minutes=-minutes if offset[0] == "-" else minutes))

    def _parse_other(self, text: str) -> datetime:
        stripped = text.strip()
        if _EPOCH.fullmatch(stripped):
            return epoch_to_datetime(stripped)
        clf = _CLF_LOOSE.fullmatch(stripped)
        if clf is not None:
            day, month, year, hour, minute, second, fraction, offset = clf.groups()
            zone = self._offset(offset) if offset else self.zone
            return datetime(
                int(year),
                _MONTHS[month],
                int(day),
                int(hour),
                int(minute),
                int(second),
                int((fraction or "0").ljust(6, "0")[:6]),
                tzinfo=zone,
            )
        value = datetime.fromisoformat(stripped.replace("Z", "+00:00").replace("z", "+00:00"))
        if value.tzinfo is None:  # a time without an offset is in log.timezone
            value = value.replace(tzinfo=self.zone)
        value.astimezone(UTC)  # out of range once moved to UTC (year 1 or 9999): a miss now, not later
        return value


_EPOCH = re.compile(r"\d{1,30}(?:\.\d{1,9})?")
_CLF_LOOSE = re.compile(
    r"\[?(\d\d)/([A-Z][a-z]{2})/(\d{4}):(\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?(?: ?([+-]\d{4}))?\]?"
)
_EPOCH_START = datetime(1970, 1, 1, tzinfo=UTC)
# Magnitudes that tell the unit of an epoch number: seconds stay below 1e11 until the year 5138,
# and milliseconds pass 1e11 in 1973, so any time from 1973 to 5138 is read in the right unit.
_MILLIS_FROM, _MICROS_FROM, _NANOS_FROM = 10**11, 10**14, 10**17


def epoch_to_datetime(text: str) -> datetime:
    """``1763600000`` (s), ``1763600000123`` (ms), ``…123456`` (µs), ``…123456789`` (ns) → UTC.

    Integer arithmetic, not ``fromtimestamp(float)``: a nanosecond value (Cloudflare's ``unixnano``)
    made ``fromtimestamp`` raise OSError and stop the run, and a float loses the microseconds.
    """
    whole, _, fraction = text.partition(".")
    number = int(whole)
    if number >= _NANOS_FROM:
        microseconds = number // 1_000
    elif number >= _MICROS_FROM:
        microseconds = number
    elif number >= _MILLIS_FROM:
        microseconds = number * 1_000 + int(fraction[:3].ljust(3, "0"))
    else:
        microseconds = number * 1_000_000 + int(fraction[:6].ljust(6, "0"))
    return _EPOCH_START + timedelta(microseconds=microseconds)


def zone_named(name: str) -> tzinfo:
    """``log.timezone`` as a tzinfo; BadInput naming the setting for an unknown name."""
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"log.timezone: {name!r} is not an IANA time zone name (such as Asia/Tokyo or UTC)") from None


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
        trusted = [ipaddress.ip_network(n, strict=False) for n in trusted_proxies]
        # (network, mask) as integers by IP version: ``address in network`` for each of the six
        # default proxies' networks cost ~3 µs a new client field, the masks ~1
        self._trusted: dict[int, tuple[tuple[int, int], ...]] = {
            version: tuple((int(n.network_address), int(n.netmask)) for n in trusted if n.version == version)
            for version in (4, 6)
        }
        # client field (or (client field, forwarded-for) pair) → client address or None
        self.cache = BoundedCache(cache_size)
        # the last client address found and its parsed value: the caller deciding about that
        # address next need not parse it again (one pair, not a cache: nothing for the GC to walk)
        self.last_found: tuple[str, IPAddress] | None = None

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
                return self._found(address)
        for address in addresses:  # every hop is ours: the left-most is the original client
            if address is not None:
                return self._found(address)
        return None

    def _found(self, address: IPAddress) -> str:
        text = str(address)
        self.last_found = (text, address)
        return text

    def _is_trusted_text(self, text: str) -> bool:
        address = normalize_address(text)
        return address is not None and self._is_trusted(address)

    def _is_trusted(self, address: IPAddress) -> bool:
        value = int(address)
        for network, mask in self._trusted[address.version]:  # noqa: SIM110 (a loop: any() and its generator cost twice as much)
            if value & mask == network:
                return True
        return False


def _forwarded_entries(text: str) -> list[str]:
    """Entries of an X-Forwarded-For value; nginx ``main`` trailing fields arrive still quoted."""
    text = text.strip()
    if text.startswith('"'):
        end = text.find('"', 1)
        text = text[1 : end if end != -1 else None]
    if text in ("", "-"):
        return []
    return [entry for entry in text.split(",") if entry.strip()]
