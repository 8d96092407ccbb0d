"""The dormant-account list: loading and strict validation of the CSV (see README, "Account list").

A bad row stops the import with ``file:line:column: reason`` and nothing is imported: a half-loaded
customer list would silently miss the very accounts sales cares about.
"""

from __future__ import annotations

import csv
import hashlib
import io
import ipaddress
import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from revisit.core.account import Account, DormancyReason, Owner
from revisit.core.errors import BadInput
from revisit.core.networks import IPNetwork

KNOWN_COLUMNS = (
    "account_id",
    "name",
    "aliases",
    "domains",
    "networks",
    "owner_name",
    "owner_email",
    "owner_slack",
    "owner_timezone",
    "owner_locale",
    "last_deal_at",
    "last_contact_at",
    "lost_deal_at",
    "lifetime_value",
    "dormancy_reason",
    "industry",
)
REQUIRED_COLUMNS = ("account_id", "name")
_OWNER_LOCALES = ("", "ja", "en")  # the languages alerts are written in (alerts/approach.py)
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# an IPv4 CIDR written as ``ipaddress`` writes one (no leading zeros, prefix 0-32) is read by int():
# 3.8 µs instead of ``ip_network``'s 7.5 on the loaded bench machine; anything else still goes there
_OCTET = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_PLAIN_IPV4_CIDR = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}/(3[0-2]|[12]?\d)", re.ASCII)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# A Slack member id (U024BE7LH; W… in Enterprise Grid). Only such an id goes into a mention
# ``<@…>``: any other text there could close it and add ``<!channel>``.
_SLACK_MEMBER_ID = re.compile(r"[UW][A-Z0-9]+")


def is_slack_member_id(text: str) -> bool:
    return _SLACK_MEMBER_ID.fullmatch(text) is not None


class _RowError(Exception):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def load_accounts(path: str | Path, encoding: str = "utf-8-sig") -> tuple[Account, ...]:
    """Read and validate the whole list; BadInput with ``file:line:column: reason`` on the first
    bad value. ``utf-8-sig`` reads UTF-8 with or without a BOM; pass ``cp932`` for Excel exports."""
    return parse_accounts(decode_accounts(path, read_accounts(path), encoding), str(path))


def read_accounts(path: str | Path) -> bytes:
    """The list file's bytes (BadInput when it cannot be read)."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{path}: account list not found") from None
    except OSError as error:
        raise BadInput(f"{path}: cannot read the account list ({error.strerror})") from None


def decode_accounts(path: str | Path, raw: bytes, encoding: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise BadInput(
            f"{path}:{line}:1: not valid {encoding} text"
            + (" (try --encoding cp932)" if encoding.startswith("utf") else "")
        ) from None


Cells = tuple[str, ...]  # one row of the list as read, before validation
RowKey = bytes  # a row's cells by digest: what tells an unchanged row (``row_key``)


def row_key(cells: Cells) -> RowKey:
    """A 16-byte digest of the row's cells (their ``repr``: no two tuples of text share one).
    Kept instead of the cells themselves: 100,000 rows of 15 cells were 1.6 million objects for
    the kept copy's pickler to remember, ~140 MB at the first run's peak."""
    return hashlib.blake2b(repr(cells).encode("utf-8", "surrogatepass"), digest_size=16).digest()


def parse_accounts(text: str, source: str = "<accounts>") -> tuple[Account, ...]:
    header, rows = parse_rows(text, source, (), {})
    return tuple(row for _cells, row in rows if isinstance(row, Account))  # nothing is known: all validated


def parse_rows(
    text: str, source: str, known_header: Cells, known: Mapping[RowKey, int]
) -> tuple[Cells, list[tuple[RowKey, Account | int]]]:
    """The header, and each row (by ``row_key``) with its account; a row whose key is in ``known`` (under the
    same header: a list validated before) is not validated again and comes back as the number
    ``known`` gives it. A list changed in 1,000 of 100,000 rows is validated in those only;
    the list as a whole is still checked for repeated account ids."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise BadInput(f"{source}:1:1: empty file, expected a header row") from None
    except csv.Error as error:
        raise BadInput(f"{source}:1:1: {error}") from None
    header = [name.strip() for name in header]
    for required in REQUIRED_COLUMNS:
        if required not in header:
            raise BadInput(f"{source}:1:1: missing required column {required!r}")
    seen_columns: set[str] = set()
    for index, name in enumerate(header, start=1):
        if not name:
            raise BadInput(f"{source}:1:{index}: empty column name")
        if name in seen_columns:
            raise BadInput(f"{source}:1:{index}: column {name!r} appears twice")
        seen_columns.add(name)
    if tuple(header) != known_header:
        known = {}
    id_column = header.index("account_id")

    rows: list[tuple[RowKey, Account | int]] = []
    first_line_of: dict[str, int] = {}
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise BadInput(f"{source}:{line}:1: {error}") from None
        if not any(cell.strip() for cell in row):
            continue  # blank lines between blocks are common in hand-edited lists
        if len(row) != len(header):
            raise BadInput(f"{source}:{line}:1: expected {len(header)} fields, found {len(row)}")
        cells = row_key(tuple(row))
        account: Account | int | None = known.get(cells)
        if account is None:
            values = dict(zip(header, (cell.strip() for cell in row), strict=True))  # lengths checked above
            try:
                account = _account_from_row(values)
            except _RowError as error:
                column = header.index(error.column) + 1
                raise BadInput(f"{source}:{line}:{column}: {error.column}: {error.reason}") from None
        account_id = row[id_column].strip()
        if account_id in first_line_of:
            raise BadInput(
                f"{source}:{line}:{id_column + 1}: account_id "
                f"{account_id!r} already used on line {first_line_of[account_id]}"
            )
        first_line_of[account_id] = line
        rows.append((cells, account))
    return tuple(header), rows


def _is_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _account_from_row(values: dict[str, str]) -> Account:
    account_id = values["account_id"]
    if not account_id:
        raise _RowError("account_id", "required, found an empty value")
    name = values["name"]
    if not name:
        raise _RowError("name", "required, found an empty value")
    email = values.get("owner_email", "")
    if email and not _EMAIL.match(email):
        raise _RowError("owner_email", f"{email!r} is not an e-mail address")
    slack = values.get("owner_slack", "")
    if slack and not is_slack_member_id(slack):
        raise _RowError(
            "owner_slack", f"{slack!r} is not a Slack member id (U or W, then capital letters and digits: U024BE7LH)"
        )
    zone = values.get("owner_timezone", "")
    if zone and not _is_time_zone(zone):
        raise _RowError("owner_timezone", f"{zone!r} is not an IANA time zone (e.g. Asia/Tokyo)")
    locale = values.get("owner_locale", "").lower()
    if locale not in _OWNER_LOCALES:
        raise _RowError("owner_locale", f"{locale!r} is not one of ja|en (or empty: the alerts.locale setting)")
    reason_text = values.get("dormancy_reason", "").lower() or "unknown"
    try:
        reason = DormancyReason(reason_text)
    except ValueError:
        choices = "|".join(r.value for r in DormancyReason)
        raise _RowError("dormancy_reason", f"{reason_text!r} is not one of {choices}") from None
    return Account(
        account_id=account_id,
        name=name,
        aliases=_list(values.get("aliases", "")),
        domains=tuple(_domain(d) for d in _list(values.get("domains", ""))),
        networks=tuple(_network(n) for n in _list(values.get("networks", ""))),
        owner=Owner(values.get("owner_name", ""), email, slack, zone, locale),
        last_deal_at=_date(values, "last_deal_at"),
        last_contact_at=_date(values, "last_contact_at"),
        lost_deal_at=_date(values, "lost_deal_at"),
        lifetime_value=_money(values.get("lifetime_value", "")),
        dormancy_reason=reason,
        industry=values.get("industry", ""),
        attributes=tuple((k, v) for k, v in values.items() if k not in KNOWN_COLUMNS),
    )


def _list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(";") if item.strip())


def _domain(text: str) -> str:
    domain = text.lower().rstrip(".")
    if domain.startswith("www."):
        domain = domain[4:]
    try:  # an ASCII name is its own IDNA form: what the codec would refuse, _DOMAIN refuses too
        ascii_domain = domain if domain.isascii() else domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise _RowError("domains", f"{text!r} is not a domain name") from None
    if not _DOMAIN.match(ascii_domain):
        raise _RowError("domains", f"{text!r} is not a domain name")
    return ascii_domain


def _network(text: str) -> IPNetwork:
    plain = _PLAIN_IPV4_CIDR.fullmatch(text)
    if plain is not None:
        a, b, c, d, prefix = map(int, plain.groups())
        return ipaddress.IPv4Network(((a << 24) | (b << 16) | (c << 8) | d, prefix), strict=False)
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise _RowError("networks", f"{text!r} is not an IP network (CIDR such as 203.0.113.0/24)") from None


def _date(values: dict[str, str], column: str) -> date | None:
    text = values.get(column, "")
    if not text:
        return None
    try:
        if not _ISO_DATE.match(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise _RowError(column, f"{text!r} is not a date (YYYY-MM-DD)") from None


def _money(text: str) -> Decimal | None:
    if not text:
        return None
    cleaned = text.replace(",", "").replace("¥", "").replace("￥", "").replace("$", "").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise _RowError("lifetime_value", f"{text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise _RowError("lifetime_value", f"{text!r} is not a non-negative amount")
    return value
