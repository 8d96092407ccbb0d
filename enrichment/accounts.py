"""The dormant-account list: loading and strict validation of the CSV (see README, "Account list").

Every bad cell is found in one pass (``file:line:column: column: reason``, in file order) and then
nothing is imported: a half-loaded customer list would silently miss the very accounts sales cares
about, and a messy list of 3,000 rows should not need one run per mistake.
"""

from __future__ import annotations

import csv
import hashlib
import io
import ipaddress
import re
import shlex
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
# A Slack member id (U024BE7LH; W012A3CDE in Enterprise Grid): U or W and at least eight capital
# letters and digits (Slack's ids have 8, newer ones 10). Only such an id goes into a mention
# ``<@…>``: any other text there could close it and add ``<!channel>``; a short one (U12) is a typo.
_SLACK_MEMBER_ID = re.compile(r"[UW][A-Z0-9]{8,}")


def is_slack_member_id(text: str) -> bool:
    return _SLACK_MEMBER_ID.fullmatch(text) is not None


class _RowError(Exception):
    """A bad cell: its column and why, in English and (for ``accounts lint`` in a Japanese team's
    language) in Japanese."""

    def __init__(self, column: str, reason: str, reason_ja: str = "") -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason
        self.reason_ja = reason_ja or reason


@dataclass(frozen=True, slots=True)
class CellError:
    """One bad cell (or row) of the list: ``line`` and ``column`` count from 1, ``text`` is what
    follows ``file:line:column: `` (``owner_email: 'x' is not an e-mail address``)."""

    line: int
    column: int
    text: str
    text_ja: str = ""  # the same in Japanese (accounts lint in a ja team); "" where there is none

    def located(self, source: str, locale: str = "en") -> str:
        text = self.text_ja if locale == "ja" and self.text_ja else self.text
        return f"{source}:{self.line}:{self.column}: {text}"


class AccountListErrors(BadInput):
    """Every bad cell of a list, in file order. Its message is one line: the first error, and
    with more than one how many there are and the command that lists them all (``accounts lint``
    catches this and prints each)."""

    def __init__(self, source: str, errors: list[CellError]) -> None:
        self.source = source
        self.errors = tuple(errors)
        self.rows = len({error.line for error in errors})
        self.locale = "en"  # the command's language, once known (the CLI sets it)
        super().__init__(self.refusal())

    def refusal(self, encoding: str = "utf-8-sig", locale: str = "en") -> str:
        """The one line a command that needs the list says: the first error, and with more how many
        there are and the lint command that lists them, with the ``--encoding`` the list was read
        in (run without it, the suggested command failed on a cp932 list); in ``locale``."""
        first = self.errors[0].located(self.source, locale)
        if len(self.errors) == 1:
            return first
        lint = f"revisit accounts lint {shlex.quote(self.source)}"
        if encoding.lower().replace("_", "-") not in ("utf-8-sig", "utf-8", "utf8"):
            lint += f" --encoding {shlex.quote(encoding)}"
        if locale == "ja":
            return (
                f"{first}。{self.rows:,} 行に {len(self.errors):,} 件のエラーがあり、これはその 1 件目です。"
                f"リストは使っていません。すべてを `{lint}` で確認できます"
            )
        return f"{first} (1 of {self.count_text()}; the list was not used; `{lint}` lists them all)"

    def count_text(self) -> str:
        errors = "error" if len(self.errors) == 1 else "errors"
        rows = "row" if self.rows == 1 else "rows"
        return f"{len(self.errors):,} {errors} in {self.rows:,} {rows}"


def load_accounts(path: str | Path, encoding: str = "utf-8-sig") -> tuple[Account, ...]:
    """Read and validate the whole list; ``AccountListErrors`` (a BadInput) naming every bad
    value, each as ``file:line:column: reason``. ``utf-8-sig`` reads UTF-8 with or without a
    BOM; pass ``cp932`` for Excel exports."""
    return parse_accounts(decode_accounts(path, read_accounts(path), encoding), str(path))


def read_accounts(path: str | Path) -> bytes:
    """The list file's bytes (BadInput when it cannot be read)."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise BadInput.of("{path}: account list not found", path=str(path)) from None
    except OSError as error:
        raise BadInput.of(
            "{path}: cannot read the account list ({reason})", path=str(path), reason=error.strerror
        ) from None


def decode_accounts(path: str | Path, raw: bytes, encoding: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        if encoding.startswith("utf"):
            raise BadInput.of(
                "{path}:{line}:1: not valid {encoding} text (try --encoding cp932)",
                path=str(path),
                line=line,
                encoding=encoding,
            ) from None
        raise BadInput.of(
            "{path}:{line}:1: not valid {encoding} text", path=str(path), line=line, encoding=encoding
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
    errors: list[CellError] = []
    first_line_of: dict[str, int] = {}
    validator = _RowValidator(header)
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:  # an unclosed quote: what follows cannot be told into rows
            errors.append(_quote_error(text, line, reader.line_num, error))
            break
        values = [cell.strip() for cell in row]
        if not any(values):
            continue  # blank lines between blocks are common in hand-edited lists
        if len(row) != len(header):
            more = len(row) > len(header)
            hint = ' (a comma inside a value, as in "CO.,LTD."? put that cell in double quotes)' if more else ""
            hint_ja = (
                "（値の中にカンマがありませんか？「CO.,LTD.」のような値はセルをダブルクォートで囲んでください）"
                if more
                else ""
            )
            errors.append(
                CellError(
                    line,
                    1,
                    f"expected {len(header)} fields, found {len(row)}{hint}",
                    f"項目は {len(header)} 個のはずが {len(row)} 個あります{hint_ja}",
                )
            )
            continue
        cells = row_key(tuple(row))
        account: Account | int | None = known.get(cells)
        row_errors: list[CellError] = []
        if account is None:
            try:
                account = validator.account(values)
            except _RowError as first:  # rare: the row is read again, cell by cell, to name each bad one
                row_errors = [
                    CellError(
                        line,
                        header.index(error.column) + 1,
                        f"{error.column}: {error.reason}",
                        f"{error.column}：{error.reason_ja}",
                    )
                    for error in validator.errors(values) or [first]
                ]
        account_id = values[id_column]
        if account_id in first_line_of:
            row_errors.append(
                CellError(
                    line,
                    id_column + 1,
                    f"account_id {account_id!r} already used on line {first_line_of[account_id]}",
                    f"account_id {account_id!r} は {first_line_of[account_id]} 行目ですでに使われています",
                )
            )
        elif account_id:
            first_line_of[account_id] = line
        if row_errors:
            errors += sorted(row_errors, key=lambda error: error.column)
        elif account is not None:
            rows.append((cells, account))
    if errors:
        raise AccountListErrors(source, errors)
    return tuple(header), rows


def _quote_error(text: str, line: int, failed_at: int, error: csv.Error) -> CellError:
    """Where a double quote broke the reading: the cell whose quote never closes on the row's own
    line, said so (the csv module only says "',' expected after '"'" where it gave up, lines later)."""
    lines = text.splitlines()  # once: a 100,000-row list's text was split twice here
    raw = lines[line - 1] if line - 1 < len(lines) else ""
    column, in_quotes, opened_at, at_cell_start = 1, False, 0, True
    for char in raw:
        if in_quotes:
            in_quotes = char != '"'  # a doubled quote inside reopens at once: same outcome here
        elif char == '"' and at_cell_start:
            in_quotes, opened_at = True, column
        elif char == ",":
            column += 1
            at_cell_start = True
            continue
        at_cell_start = False
    if in_quotes:
        until = f" before line {failed_at}" if failed_at > line else ""
        until_ja = f" {failed_at} 行目まで" if failed_at > line else ""
        return CellError(
            line,
            opened_at,
            f"a double quote opens this cell and is not closed{until}: close it, or write a quote inside "
            'a value as "" (reading stopped here)',
            f"このセルで始まるダブルクォートが{until_ja}閉じられていません：閉じるか、値の中のクォートは "
            '"" と書いてください（ここで読み込みを止めました）',
        )
    return CellError(line, 1, f"{error} (reading stopped here)", f"{error}（ここで読み込みを止めました）")


class _RowValidator:
    """The rows of one header made into accounts: cells read by position, and each distinct
    owner, date, amount and dormancy reason validated once. A list repeats them (a few dozen
    owners, a few hundred dates for 100,000 accounts): a dict of the row's cells and every value
    checked anew made validation 31 µs a row on the bench's list, most of its parse."""

    def __init__(self, header: list[str]) -> None:
        known = {name: position for position, name in enumerate(header)}
        absent = len(header)  # each row gets one more, empty cell: the value of a missing column
        self._at = {column: known.get(column, absent) for column in KNOWN_COLUMNS}
        self._width = absent
        self._extra = tuple((position, name) for position, name in enumerate(header) if name not in KNOWN_COLUMNS)
        self._owners: dict[tuple[str, str, str, str, str], Owner] = {}
        self._dates: dict[str, date] = {}
        self._amounts: dict[str, Decimal] = {}
        self._reasons: dict[str, DormancyReason] = {}

    def account(self, values: list[str]) -> Account:
        """The row's account (``values``: its cells, stripped; a cell is added for the missing
        columns); ``_RowError`` names the row's first bad value."""
        at = self._at
        values.append("")
        account_id = values[at["account_id"]]
        if not account_id:
            raise _RowError("account_id", "required, found an empty value", "必須です（空欄になっています）")
        name = values[at["name"]]
        if not name:
            raise _RowError("name", "required, found an empty value", "必須です（空欄になっています）")
        owner_cells = (
            values[at["owner_name"]],
            values[at["owner_email"]],
            values[at["owner_slack"]],
            values[at["owner_timezone"]],
            values[at["owner_locale"]],
        )
        owner = self._owners.get(owner_cells)
        if owner is None:
            owner = self._owners[owner_cells] = _owner(*owner_cells)
        reason_text = values[at["dormancy_reason"]]
        reason = self._reasons.get(reason_text)
        if reason is None:
            reason = self._reasons[reason_text] = _dormancy_reason(reason_text)
        # checked in this order: the first bad value of a row is the one reported
        aliases = _list(values[at["aliases"]])
        domains = tuple(_domain(d) for d in _list(values[at["domains"]]))
        networks = tuple(_network(n) for n in _list(values[at["networks"]]))
        last_deal_at = self._date(values[at["last_deal_at"]], "last_deal_at")
        last_contact_at = self._date(values[at["last_contact_at"]], "last_contact_at")
        lost_deal_at = self._date(values[at["lost_deal_at"]], "lost_deal_at")
        amount = values[at["lifetime_value"]]
        return Account(
            account_id=account_id,
            name=name,
            aliases=aliases,
            domains=domains,
            networks=networks,
            owner=owner,
            last_deal_at=last_deal_at,
            last_contact_at=last_contact_at,
            lost_deal_at=lost_deal_at,
            lifetime_value=self._amount(amount),
            dormancy_reason=reason,
            industry=values[at["industry"]],
            attributes=tuple((column, values[position]) for position, column in self._extra),
        )

    def errors(self, values: list[str]) -> list[_RowError]:
        """Every bad value of a row ``account`` refused, one per cell (its first bad item): the
        slow path, taken only for the rows in error, so a valid list costs nothing more."""
        at = self._at
        cells = values[: self._width] + [""]
        checks: list[tuple[str, Callable[[str], object]]] = [
            ("account_id", _required("account_id")),
            ("name", _required("name")),
            ("owner_email", _owner_email),
            ("owner_slack", _owner_slack),
            ("owner_timezone", _owner_timezone),
            ("owner_locale", _owner_locale),
            ("dormancy_reason", _dormancy_reason),
            ("domains", lambda text: [_domain(d) for d in _list(text)]),
            ("networks", lambda text: [_network(n) for n in _list(text)]),
            ("last_deal_at", lambda text: text and _date_of(text, "last_deal_at")),
            ("last_contact_at", lambda text: text and _date_of(text, "last_contact_at")),
            ("lost_deal_at", lambda text: text and _date_of(text, "lost_deal_at")),
            ("lifetime_value", lambda text: text and _money(text)),
        ]
        found = []
        for column, check in checks:
            try:
                check(cells[at[column]])
            except _RowError as error:
                found.append(error)
        return found

    def _date(self, text: str, column: str) -> date | None:
        if not text:
            return None
        found = self._dates.get(text)
        if found is None:
            found = self._dates[text] = _date_of(text, column)
        return found

    def _amount(self, text: str) -> Decimal | None:
        if not text:
            return None
        found = self._amounts.get(text)
        if found is None:
            found = self._amounts[text] = _money(text)
        return found


def _is_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _owner(name: str, email: str, slack: str, zone: str, locale_text: str) -> Owner:
    _owner_email(email)
    _owner_slack(slack)
    _owner_timezone(zone)
    return Owner(name, email, slack, zone, _owner_locale(locale_text))


def _required(column: str) -> Callable[[str], str]:
    def check(text: str) -> str:
        if not text:
            raise _RowError(column, "required, found an empty value", "必須です（空欄になっています）")
        return text

    return check


def _owner_email(email: str) -> None:
    if email and not _EMAIL.match(email):
        raise _RowError(
            "owner_email", f"{email!r} is not an e-mail address", f"{email!r} はメールアドレスではありません"
        )


def _owner_slack(slack: str) -> None:
    if slack and not is_slack_member_id(slack):
        raise _RowError(
            "owner_slack",
            f"{slack!r} is not a Slack member id (U or W, then 8 or more capital letters and digits: U024BE7LH)",
            f"{slack!r} は Slack のメンバー ID ではありません（U か W に英大文字・数字 8 文字以上：U024BE7LH）",
        )


def _owner_timezone(zone: str) -> None:
    if zone and not _is_time_zone(zone):
        raise _RowError(
            "owner_timezone",
            f"{zone!r} is not an IANA time zone (e.g. Asia/Tokyo)",
            f"{zone!r} は IANA のタイムゾーン名ではありません（例：Asia/Tokyo）",
        )


def _owner_locale(locale_text: str) -> str:
    locale = locale_text.lower()
    if locale not in _OWNER_LOCALES:
        raise _RowError(
            "owner_locale",
            f"{locale!r} is not one of ja|en (or empty: the alerts.locale setting)",
            f"{locale!r} は ja か en ではありません（空欄なら alerts.locale の設定に従います）",
        )
    return locale


def _dormancy_reason(text: str) -> DormancyReason:
    reason_text = text.lower() or "unknown"
    try:
        return DormancyReason(reason_text)
    except ValueError:
        choices = "|".join(r.value for r in DormancyReason)
        raise _RowError(
            "dormancy_reason",
            f"{reason_text!r} is not one of {choices}",
            f"{reason_text!r} は {choices} のどれでもありません",
        ) from None


def _list(text: str) -> tuple[str, ...]:
    if ";" not in text:  # one item or none, as in most cells: no generator
        item = text.strip()
        return (item,) if item else ()
    return tuple(item.strip() for item in text.split(";") if item.strip())


def _domain(text: str) -> str:
    domain = text.lower().rstrip(".")
    if domain.startswith("www."):
        domain = domain[4:]
    try:  # an ASCII name is its own IDNA form: what the codec would refuse, _DOMAIN refuses too
        ascii_domain = domain if domain.isascii() else domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise _RowError("domains", f"{text!r} is not a domain name", f"{text!r} はドメイン名ではありません") from None
    if not _DOMAIN.match(ascii_domain):
        raise _RowError("domains", f"{text!r} is not a domain name", f"{text!r} はドメイン名ではありません")
    return ascii_domain


def _network(text: str) -> IPNetwork:
    plain = _PLAIN_IPV4_CIDR.fullmatch(text)
    if plain is not None:
        a, b, c, d, prefix = map(int, plain.groups())
        return ipaddress.IPv4Network(((a << 24) | (b << 16) | (c << 8) | d, prefix), strict=False)
    if not text.isascii() and unicodedata.normalize("NFKC", text).isascii():  # １２１．１１１．５．０/24
        try:
            return _network(unicodedata.normalize("NFKC", text))
        except _RowError:
            pass
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise _RowError(
            "networks",
            f"{text!r} is not an IP network (CIDR such as 203.0.113.0/24)",
            f"{text!r} は IP ネットワークではありません（203.0.113.0/24 のような CIDR 表記）",
        ) from None


def _date_of(text: str, column: str) -> date:
    if not text.isascii() and unicodedata.normalize("NFKC", text).isascii():  # ２０２５－０１－１０
        try:
            return _date_of(unicodedata.normalize("NFKC", text), column)
        except _RowError:
            raise _RowError(
                column, f"{text!r} is not a date (YYYY-MM-DD)", f"{text!r} は日付ではありません（YYYY-MM-DD）"
            ) from None
    try:
        if not _ISO_DATE.match(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise _RowError(
            column, f"{text!r} is not a date (YYYY-MM-DD)", f"{text!r} は日付ではありません（YYYY-MM-DD）"
        ) from None


def _money(text: str) -> Decimal:
    cleaned = text.replace(",", "").replace("¥", "").replace("￥", "").replace("$", "").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise _RowError("lifetime_value", f"{text!r} is not a number", f"{text!r} は数値ではありません") from None
    if not value.is_finite() or value < 0:
        raise _RowError(
            "lifetime_value", f"{text!r} is not a non-negative amount", f"{text!r} は 0 以上の金額ではありません"
        )
    return value
