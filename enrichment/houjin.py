"""The National Tax Agency's corporate-number data (法人番号公表サイト 基本3情報, 全件データ).

``revisit accounts enrich --houjin FILE`` reads the full-data CSV (the Unicode edition: UTF-8,
no header, 30 columns as the リソース定義書 lists them; the ZIP as downloaded or the CSV in it) and
attaches to each account its corporate number (given in the list's ``corporate_number`` column, or
found by its name and ``prefecture``), registered name, reading (フリガナ) and English name, and
whether the company was closed or merged (with the successor's number). The names then take part
in matching (``enrichment.crossscript``); ``accounts lint`` reports closed and merged companies.

The file holds about 5 million rows (a 2 GB CSV): it is read one row at a time and only the rows
of the list's companies are kept, so memory does not grow with it: peak RSS of the whole command
90 MiB on 100,000 rows and 92 MiB on 1,000,000 (tests/test_houjin.py).

Source of the layout: see ``tests/data/houjin/SOURCES.md``.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from revisit.core.account import Account
from revisit.core.errors import BadInput
from revisit.enrichment.normalize import normalize_uncached

# Column positions (0-based) of the full-data CSV, in the order of the リソース定義書 (第4.0版).
COLUMNS = (
    "sequence_number",  # 一連番号
    "corporate_number",  # 法人番号
    "process",  # 処理区分
    "correct",  # 訂正区分
    "update_date",  # 更新年月日
    "change_date",  # 変更年月日
    "name",  # 商号又は名称
    "name_image_id",  # 商号又は名称イメージID
    "kind",  # 法人種別
    "prefecture_name",  # 国内所在地（都道府県）
    "city_name",  # 国内所在地（市区町村）
    "street_number",  # 国内所在地（丁目番地等）
    "address_image_id",  # 国内所在地イメージID
    "prefecture_code",  # 都道府県コード
    "city_code",  # 市区町村コード
    "post_code",  # 郵便番号
    "address_outside",  # 国外所在地
    "address_outside_image_id",  # 国外所在地イメージID
    "close_date",  # 登記記録の閉鎖等年月日
    "close_cause",  # 登記記録の閉鎖等の事由
    "successor_corporate_number",  # 承継先法人番号
    "change_cause",  # 変更事由の詳細
    "assignment_date",  # 法人番号指定年月日
    "latest",  # 最新履歴 (1: the latest record of the number)
    "en_name",  # 商号又は名称（英語表記）
    "en_prefecture_name",  # 国内所在地（都道府県）（英語表記）
    "en_city_name",  # 国内所在地（市区町村丁目番地等）（英語表記）
    "en_address_outside",  # 国外所在地（英語表記）
    "furigana",  # フリガナ
    "hihyoji",  # 検索対象除外
)
_AT = {name: index for index, name in enumerate(COLUMNS)}
# 登記記録の閉鎖等の事由
CLOSE_CAUSES = {
    "01": "liquidation completed (清算の結了等)",
    "11": "dissolved by merger (合併による解散等)",
    "21": "record closed by the registrar (登記官による閉鎖)",
    "31": "other liquidation (その他の清算の結了等)",
}
MERGED = "11"

# Columns ``enrich`` writes into the account list (registered_* are read by enrichment.match).
ADDED_COLUMNS = (
    "corporate_number",
    "registered_name",
    "registered_kana",
    "registered_name_en",
    "houjin_status",  # active, closed or merged
    "houjin_close_date",
    "houjin_successor",
)


def check_digit_ok(number: str) -> bool:
    """The 13-digit corporate number's first digit checks the other 12 (法人番号の指定等に関する省令):
    9 − (Σ Pn·Qn mod 9), Pn the n-th digit from the right, Qn 1 for odd n and 2 for even n."""
    if len(number) != 13 or not number.isdigit():
        return False
    base = number[1:]
    total = sum(int(digit) * (1 if n % 2 else 2) for n, digit in enumerate(reversed(base), start=1))
    return int(number[0]) == 9 - total % 9


@dataclass(frozen=True, slots=True)
class HoujinRecord:
    corporate_number: str
    name: str
    furigana: str
    en_name: str
    prefecture: str
    close_date: str
    close_cause: str
    successor: str
    line: int

    @property
    def status(self) -> str:
        if not self.close_date and not self.close_cause:
            return "active"
        return "merged" if self.close_cause == MERGED else "closed"


@contextmanager
def _opened(path: Path) -> Iterator[TextIO]:
    """The CSV as text, straight from the ZIP the site serves when given one (never unpacked)."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.namelist() if m.lower().endswith(".csv")]
                if len(members) != 1:
                    raise BadInput(f"{path}: expected one .csv in the ZIP, found {len(members)}")
                with archive.open(members[0]) as raw:
                    yield io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        else:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                yield handle
    except FileNotFoundError:
        raise BadInput(f"{path}: corporate-number file not found") from None
    except IsADirectoryError:
        raise BadInput(f"{path}: a directory, not the corporate-number CSV") from None


def read_records(path: str | Path) -> Iterator[HoujinRecord]:
    """Every latest row of the file, one at a time; BadInput naming the line of a malformed one."""
    source = Path(path)
    with _opened(source) as handle:
        reader = csv.reader(handle)
        line = 0
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as error:
                raise BadInput(f"{source}:{line}: not the corporate-number CSV (Unicode edition): {error}") from None
            if not row:
                continue
            if len(row) != len(COLUMNS):
                raise BadInput(
                    f"{source}:{line}: expected the {len(COLUMNS)} columns of the corporate-number CSV "
                    f"(Unicode edition, no header), found {len(row)}"
                )
            number = row[_AT["corporate_number"]]
            if not number.isdigit() or len(number) != 13:
                raise BadInput(f"{source}:{line}:2: {number!r} is not a 13-digit corporate number")
            if row[_AT["latest"]] == "0":
                continue  # an earlier state of a company (difference files carry them)
            yield HoujinRecord(
                corporate_number=number,
                name=row[_AT["name"]],
                furigana=row[_AT["furigana"]],
                en_name=row[_AT["en_name"]],
                prefecture=row[_AT["prefecture_name"]],
                close_date=row[_AT["close_date"]],
                close_cause=row[_AT["close_cause"]],
                successor=row[_AT["successor_corporate_number"]],
                line=line,
            )


@dataclass
class EnrichmentReport:
    """What each account got: the record found (by number or by name), or why none."""

    found: dict[str, HoujinRecord] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)  # account_id → "number" or "name + prefecture" / "name"
    ambiguous: dict[str, list[str]] = field(default_factory=dict)  # account_id → candidate numbers
    rows: int = 0


def enrich(accounts: Sequence[Account], houjin_path: str | Path, keep: int = 5) -> EnrichmentReport:
    """One pass over the file. An account's ``corporate_number`` decides; otherwise its normalised
    name (and ``prefecture`` when the list has one) must fit exactly one company in the file."""
    by_number: dict[str, str] = {}
    by_name: dict[str, list[Account]] = {}
    for account in accounts:
        attributes = dict(account.attributes)
        number = attributes.get("corporate_number", "").strip()
        if number:
            if not check_digit_ok(number):
                raise BadInput(
                    f"account {account.account_id}: corporate_number {number!r} is not a valid corporate "
                    "number (13 digits, the first a check digit)"
                )
            by_number[number] = account.account_id
            continue
        key = normalize_uncached(account.name).key
        if key:
            by_name.setdefault(key, []).append(account)
    report = EnrichmentReport()
    candidates: dict[str, list[HoujinRecord]] = {}
    for record in read_records(houjin_path):
        report.rows += 1
        wanted = by_number.get(record.corporate_number)
        if wanted is not None:
            report.found[wanted] = record
            report.how[wanted] = "corporate number"
            continue
        named = by_name.get(normalize_uncached(record.name).key) if by_name else None
        for account in named or ():
            prefecture = dict(account.attributes).get("prefecture", "")
            if prefecture and prefecture != record.prefecture:
                continue
            found = candidates.setdefault(account.account_id, [])
            if len(found) < keep:
                found.append(record)
    for account in accounts:
        if account.account_id in report.found:
            continue
        found = candidates.get(account.account_id, [])
        if len(found) == 1:
            report.found[account.account_id] = found[0]
            has_prefecture = bool(dict(account.attributes).get("prefecture"))
            report.how[account.account_id] = "name and prefecture" if has_prefecture else "name (the only one)"
        elif found:
            report.ambiguous[account.account_id] = [r.corporate_number for r in found]
    return report


def enriched_csv(text: str, report: EnrichmentReport) -> str:
    """The account list's CSV with ``ADDED_COLUMNS`` filled in (kept as they were for accounts
    the file did not name); every other column and row unchanged."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = [name.strip() for name in rows[0]]
    extra = [column for column in ADDED_COLUMNS if column not in header]
    header_out = rows[0] + extra
    id_at = header.index("account_id")
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header_out)
    for row in rows[1:]:
        if not any(cell.strip() for cell in row):
            continue
        values = dict(zip(header_out, row + [""] * len(extra), strict=True))
        record = report.found.get(row[id_at].strip())
        if record is not None:
            values.update(
                corporate_number=record.corporate_number,
                registered_name=record.name,
                registered_kana=record.furigana,
                registered_name_en=record.en_name,
                houjin_status=record.status,
                houjin_close_date=record.close_date,
                houjin_successor=record.successor,
            )
        writer.writerow([values[column] for column in header_out])
    return out.getvalue()


def describe_closure(attributes: dict[str, str], locale: str = "en") -> str | None:
    """For ``accounts lint``: how the account's company ended, from the enriched columns."""
    status = attributes.get("houjin_status", "")
    if status not in ("closed", "merged"):
        return None
    number = attributes.get("corporate_number", "")
    when = attributes.get("houjin_close_date", "") or "?"
    successor = attributes.get("houjin_successor", "")
    if locale == "ja":
        if status == "closed":
            return f"法人番号 {number}：{when} に閉鎖"
        return f"法人番号 {number}：{when} に合併" + (f"（承継法人の法人番号 {successor}）" if successor else "")
    if status == "closed":
        return f"corporate number {number}: closed on {when}"
    return f"corporate number {number}: merged on {when}" + (f" into corporate number {successor}" if successor else "")
