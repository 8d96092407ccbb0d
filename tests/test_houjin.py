"""名寄せ with the National Tax Agency's corporate numbers (issue 24, point 4): reading the full-data
CSV, attaching numbers and registered names, cross-script matching, closed and merged companies.

The fixture (tests/data/houjin, see its SOURCES.md) is written in the documented format; the large
file for the memory test is generated in the same format.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import sys
import zipfile
from pathlib import Path

import pytest

from revisit.cli import main
from revisit.core.match import AccountMatch, MatchMethod, NoMatch
from revisit.core.organization import Organization, OrgKind
from revisit.enrichment.accounts import load_accounts
from revisit.enrichment.houjin import COLUMNS, check_digit_ok
from revisit.enrichment.match import AccountIndex
from tests.conftest import REPO
from tests.test_bounded_input import run_measured

HOUJIN = REPO / "tests" / "data" / "houjin" / "00_zenkoku_sample_all.csv"
ACCOUNTS = (
    "account_id,name,prefecture,corporate_number,owner_email,last_deal_at\n"
    "H01,株式会社サクラ精機,東京都,,a@example.jp,2014-01-01\n"
    "H02,㈱サクラ精機,,,a@example.jp,2014-01-01\n"
    "H03,橘工業,,,a@example.jp,2014-01-01\n"
    "H04,あおば商事,,7370001990014,a@example.jp,2014-01-01\n"
    "H05,かがやき物産株式会社,福岡県,,a@example.jp,2014-01-01\n"
    "H06,見つからない商会,,,a@example.jp,2014-01-01\n"
)


@pytest.fixture
def accounts_csv(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.csv"
    path.write_text(ACCOUNTS, encoding="utf-8")
    return path


def test_the_check_digit_of_a_corporate_number() -> None:
    assert check_digit_ok("4000012090001")  # 経済産業省
    assert not check_digit_ok("5000012090001")
    assert not check_digit_ok("400001209000")


def test_enrich_writes_its_out_file_with_one_bom_for_excel_from_a_list_with_or_without_one(
    accounts_csv, tmp_path, capsys
) -> None:
    """Japanese Excel reads a CSV as UTF-8 only with a BOM (the web UI's exports carry one)."""
    with_bom = tmp_path / "accounts-bom.csv"
    with_bom.write_bytes(b"\xef\xbb\xbf" + accounts_csv.read_bytes())
    for source in (accounts_csv, with_bom):
        out = tmp_path / f"enriched-{source.stem}.csv"
        assert main(["accounts", "enrich", str(source), "--houjin", str(HOUJIN), "--out", str(out)]) == 0
        data = out.read_bytes()
        assert data.startswith(b"\xef\xbb\xbfaccount_id,") and data.count(b"\xef\xbb\xbf") == 1
        assert main(["accounts", "lint", str(out)]) == 0  # read back as the list it is
    capsys.readouterr()


def test_enrich_attaches_numbers_registered_names_readings_and_english_names(
    accounts_csv, tmp_path, capsys, monkeypatch
) -> None:
    out = tmp_path / "enriched.csv"
    assert main(["accounts", "enrich", str(accounts_csv), "--houjin", str(HOUJIN), "--out", str(out)]) == 0
    assert capsys.readouterr().err.splitlines() == [  # in alerts.locale: Japanese by default
        f"{HOUJIN} から 8 社を読み込み、取引先 6 社のうち 4 社が見つかりました"
        "（法人番号で 1 社、社名（同名の法人はほかになし）で 1 社、社名と都道府県で 2 社）",
        "  H02：社名が 2 社（4010001990011, 9120001990012）に当てはまります。"
        "prefecture 列か corporate_number 列を加えてください",
        "  H04：あおば商事株式会社 は合併で消滅しています（2024-04-01）",
        "  H05：株式会社かがやき物産 は閉鎖されています（2023-03-31）",
    ]
    monkeypatch.setenv("REVISIT_ALERTS__LOCALE", "en")
    assert main(["accounts", "enrich", str(accounts_csv), "--houjin", str(HOUJIN), "--out", str(out)]) == 0
    assert capsys.readouterr().err.splitlines() == [
        f"8 companies read from {HOUJIN}: 4 of 6 accounts found "
        "(1 by corporate number, 1 by name (the only one), 2 by name and prefecture)",
        "  H02: its name fits 2 companies (4010001990011, 9120001990012); add a prefecture or corporate_number column",
        "  H04: あおば商事株式会社 is merged (2024-04-01)",
        "  H05: 株式会社かがやき物産 is closed (2023-03-31)",
    ]
    monkeypatch.delenv("REVISIT_ALERTS__LOCALE")
    rows = {row["account_id"]: row for row in csv.DictReader(out.open(encoding="utf-8-sig"))}
    added = ("corporate_number", "registered_name", "registered_kana", "registered_name_en", "houjin_status")
    assert [rows["H01"][c] for c in added] == [
        "4010001990011",
        "株式会社サクラ精機",
        "サクラセイキ",
        "Sakura Seiki Co., Ltd.",
        "active",
    ]
    assert [rows["H03"][c] for c in added] == ["1020001990013", "橘工業株式会社", "タチバナコウギョウ", "", "active"]
    assert [rows["H04"][c] for c in (*added, "houjin_close_date", "houjin_successor")] == [
        "7370001990014",
        "あおば商事株式会社",
        "アオバショウジ",
        "Aoba Shoji Co., Ltd.",
        "merged",
        "2024-04-01",
        "3010401990017",
    ]
    assert rows["H05"]["houjin_status"] == "closed"
    assert [rows["H02"][c] for c in added] == ["", "", "", "", ""]  # two candidates: neither is guessed
    assert rows["H06"]["corporate_number"] == ""
    assert list(rows["H01"])[:6] == [
        "account_id",
        "name",
        "prefecture",
        "corporate_number",
        "owner_email",
        "last_deal_at",
    ]

    # the enriched list is a valid account list, and lint names the merged and the closed company,
    # in the team's language (alerts.locale, ja by default)
    assert main(["accounts", "lint", str(out)]) == 0
    lint = capsys.readouterr().out
    assert (
        "  H04                      あおば商事: 法人番号 7370001990014：2024-04-01 に合併"
        "（承継法人の法人番号 3010401990017）"
    ) in lint
    assert "  H05                      かがやき物産株式会社: 法人番号 6290001990015：2023-03-31 に閉鎖" in lint
    assert "合併した会社（merged_company、1 件）：他社に合併されています" in lint
    assert "閉鎖した会社（closed_company、1 件）：" in lint
    monkeypatch.setenv("REVISIT_ALERTS__LOCALE", "en")
    assert main(["accounts", "lint", str(out)]) == 0
    lint = capsys.readouterr().out
    assert (
        "  H04                      あおば商事: corporate number 7370001990014: merged on 2024-04-01 "
        "into corporate number 3010401990017"
    ) in lint
    assert (
        "  H05                      かがやき物産株式会社: corporate number 6290001990015: closed on 2023-03-31" in lint
    )
    assert "merged_company (1): merged into another company" in lint and "closed_company (1):" in lint


def test_the_zip_as_downloaded_is_read_without_unpacking_it(accounts_csv, tmp_path, capsys) -> None:
    archive = tmp_path / "00_zenkoku_all_20241129.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.write(HOUJIN, "00_zenkoku_all_20241129.csv")
    assert main(["accounts", "enrich", str(accounts_csv), "--houjin", str(archive)]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith(f"{archive} から 8 社を読み込み、取引先 6 社のうち 4 社が見つかりました")
    assert "H01,株式会社サクラ精機,東京都,4010001990011," in captured.out


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (
            "1,4010001990011,01\n",
            ":1: expected the 30 columns of the corporate-number CSV (Unicode edition, no header), found 3",
        ),
        (",".join(["x"] * 30) + "\n", ":1:2: 'x' is not a 13-digit corporate number"),
        (None, ": corporate-number file not found"),
    ],
)
def test_a_file_that_is_not_the_corporate_number_csv_is_refused(accounts_csv, tmp_path, capsys, content, error) -> None:
    houjin = tmp_path / "houjin.csv"
    if content is not None:
        houjin.write_text(content, encoding="utf-8")
    assert main(["accounts", "enrich", str(accounts_csv), "--houjin", str(houjin)]) == 2
    assert capsys.readouterr().err == f"revisit: {houjin}{error}\n"


def test_a_corporate_number_with_a_wrong_check_digit_in_the_list_is_refused(tmp_path, capsys) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("account_id,name,corporate_number\nX1,誤番号株式会社,4010001990012\n", encoding="utf-8")
    assert main(["accounts", "enrich", str(accounts), "--houjin", str(HOUJIN)]) == 2
    assert capsys.readouterr().err == (
        "revisit: account X1: corporate_number '4010001990012' is not a valid corporate number "
        "(13 digits, the first a check digit)\n"
    )


def _index(tmp_path: Path, accounts_csv: Path) -> AccountIndex:
    enriched = tmp_path / "enriched.csv"
    assert main(["accounts", "enrich", str(accounts_csv), "--houjin", str(HOUJIN), "--out", str(enriched)]) == 0
    return AccountIndex(load_accounts(enriched))


ADDRESS = ipaddress.ip_address("198.51.100.7")


def _match(index: AccountIndex, name: str, kind: OrgKind = OrgKind.BUSINESS) -> AccountMatch | NoMatch:
    return index.match(ADDRESS, Organization(name, kind, "maxmind", 1.0))


def test_a_romanised_name_finds_the_japanese_account_through_the_registered_english_name_or_reading(
    accounts_csv, tmp_path, capsys
) -> None:
    index = _index(tmp_path, accounts_csv)
    capsys.readouterr()
    english = _match(index, "SAKURA SEIKI CO.,LTD.")
    assert isinstance(english, AccountMatch)
    assert (english.account.account_id, english.method, english.confidence) == ("H01", MatchMethod.ENGLISH_NAME, 0.75)
    assert english.detail == (
        "'SAKURA SEIKI CO.,LTD.' and the account's registered English name 'Sakura Seiki Co., Ltd.' are both "
        "'sakuraseiki' once legal forms, case and long vowels are set aside"
    )
    reading = _match(index, "Tachibana Kogyo K.K.")  # no English name registered: the reading, romanised
    assert isinstance(reading, AccountMatch)
    assert (reading.account.account_id, reading.method, reading.confidence) == ("H03", MatchMethod.READING, 0.7)
    spelled = _match(index, "Tachibana Kougyou Co., Ltd.")  # another romanisation of the long vowels
    assert isinstance(spelled, AccountMatch) and spelled.account.account_id == "H03"
    typo = _match(index, "Tachibana Kogiyo Co., Ltd.")  # one letter off: fuzzy, with the margin rule
    assert isinstance(typo, AccountMatch)
    assert (typo.account.account_id, typo.method) == ("H03", MatchMethod.READING) and typo.confidence < 0.7
    # an ISP's name never matches, whatever it spells
    assert isinstance(_match(index, "SAKURA SEIKI CO.,LTD.", OrgKind.ISP), NoMatch)
    assert isinstance(_match(index, "Sakura Trading Co., Ltd."), NoMatch)
    # the registered name in Japanese is an alias: a later rename in the list still matches
    assert _match(index, "あおば商事株式会社").method == MatchMethod.NAME  # type: ignore[union-attr]


def test_a_reading_two_accounts_share_matches_neither(tmp_path) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(
        "account_id,name,registered_kana\nR1,桜精機株式会社,サクラセイキ\nR2,佐倉精機株式会社,サクラセイキ\n",
        encoding="utf-8",
    )
    verdict = AccountIndex(load_accounts(accounts)).match(
        ADDRESS, Organization("Sakura Seiki Co., Ltd.", OrgKind.BUSINESS, "rdap", 1.0)
    )
    assert verdict == NoMatch(
        "name 'Sakura Seiki Co., Ltd.' is the registered English name or reading of 2 accounts (R1, R2); "
        "none is alerted"
    )


def _write_generated(path: Path, rows: int) -> None:
    """``rows`` companies in the documented layout (valid check digits), streamed to disk."""
    blank = dict.fromkeys(COLUMNS, "")
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        for sequence in range(1, rows + 1):
            base = f"{sequence:012d}"
            total = sum(int(d) * (1 if n % 2 else 2) for n, d in enumerate(reversed(base), start=1))
            values = dict(blank)
            values.update(
                sequence_number=str(sequence),
                corporate_number=f"{9 - total % 9}{base}",
                process="01",
                correct="0",
                update_date="2024-05-31",
                name=f"株式会社テスト商事{sequence}",
                kind="301",
                prefecture_name="東京都",
                latest="1",
                furigana=f"テストショウジ{sequence}",
                en_name=f"Test Shoji {sequence} Co., Ltd.",
                hihyoji="0",
            )
            writer.writerow(values.values())


def test_enrich_streams_the_file_memory_stays_flat_from_100_000_to_500_000_rows(accounts_csv, tmp_path) -> None:
    """The full data is ~5 million rows: peak memory must not grow with the file. Kept in memory,
    400,000 more rows would add tens of MiB (a row's values alone are over 100 bytes) against the
    8 MiB allowed. From 100,000 rows on, as its bounded caches are full by then (50,000 rows: 86
    MiB, 100,000: 92, 500,000: 94, 1,000,000: 94)."""
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    _write_generated(small, 100_000)
    _write_generated(large, 500_000)
    peaks = {}
    for name, path in (("small", small), ("large", large)):
        command = [sys.executable, "-m", "revisit", "accounts", "enrich", str(accounts_csv), "--houjin", str(path)]
        code, out, err, peak = run_measured(command)
        assert code == 0, err
        assert f" から {100_000 if name == 'small' else 500_000:,} 社を読み込み" in err.splitlines()[0]
        assert list(csv.reader(io.StringIO(out)))[0][-1] == "houjin_successor"
        peaks[name] = peak
    print(f"peak RSS: 100,000 rows {peaks['small'] / 2**20:.1f} MiB, 500,000 rows {peaks['large'] / 2**20:.1f} MiB")
    assert peaks["large"] - peaks["small"] < 8 * 2**20
