"""The account-list CSV contract: strict validation with file:line:column messages."""

from __future__ import annotations

import ipaddress
import json
import unicodedata
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from revisit.core.account import DormancyReason
from revisit.core.errors import BadInput
from revisit.enrichment.accounts import _network, _RowError, load_accounts

HEADER = (
    "account_id,name,aliases,domains,networks,owner_name,owner_email,owner_slack,last_deal_at,"
    "last_contact_at,lost_deal_at,lifetime_value,dormancy_reason,industry,region"
)


def write(tmp_path: Path, body: str, encoding: str = "utf-8", name: str = "accounts.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(body.encode(encoding))
    return path


def test_full_row_is_read_with_unknown_columns_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER + "\n"
        "C-1,株式会社さくら精機,Sakura Seiki;ｻｸﾗ精機,WWW.Sakura-Seiki.co.jp;sakura.example,"
        "133.242.18.0/24;2001:db8::/48,山田 花子,hanako@example.com,U0123HNKO,2026-02-14,,2025-12-01,"
        '"18,500,000",Timing,manufacturing,関東\n',
    )
    (account,) = load_accounts(path)
    assert account.account_id == "C-1" and account.name == "株式会社さくら精機"
    assert account.aliases == ("Sakura Seiki", "ｻｸﾗ精機")
    assert account.domains == ("sakura-seiki.co.jp", "sakura.example")
    assert [str(n) for n in account.networks] == ["133.242.18.0/24", "2001:db8::/48"]
    assert account.owner.slack == "U0123HNKO" and account.last_deal_at == date(2026, 2, 14)
    assert account.lifetime_value == Decimal("18500000") and account.dormancy_reason is DormancyReason.TIMING
    assert account.attributes == (("region", "関東"),)
    assert account.last_touch == date(2026, 2, 14)


def test_bom_and_cp932(tmp_path: Path) -> None:
    body = "account_id,name\nC-1,ミナト物流㈱\n"
    assert load_accounts(write(tmp_path, "\ufeff" + body))[0].name == "ミナト物流㈱"
    cp932 = write(tmp_path, body, "cp932", "sjis.csv")
    assert load_accounts(cp932, "cp932")[0].name == "ミナト物流㈱"
    with pytest.raises(BadInput, match=r"sjis.csv:2:1: not valid utf-8-sig text \(try --encoding cp932\)"):
        load_accounts(cp932)


@pytest.mark.parametrize(
    "rows, message",
    [
        ("C-1,A,,,,,,\nC-1,B,,,,,,\n", r"accounts.csv:3:1: account_id 'C-1' already used on line 2"),
        ("C-1,A,2024-13-01,,,,,\n", r"accounts.csv:2:3: last_deal_at: '2024-13-01' is not a date \(YYYY-MM-DD\)"),
        ("C-1,A,20240101,,,,,\n", r"accounts.csv:2:3: last_deal_at: '20240101' is not a date"),
        (",A,,,,,,\n", r"accounts.csv:2:1: account_id: required"),
        ("C-1,,,,,,,\n", r"accounts.csv:2:2: name: required"),
        ("C-1,A,,not-a-cidr,,,,\n", r"accounts.csv:2:4: networks: 'not-a-cidr' is not an IP network"),
        ("C-1,A,,,bored,,,\n", r"accounts.csv:2:5: dormancy_reason: 'bored' is not one of forgotten\|"),
        ("C-1,A,,,,lots,,\n", r"accounts.csv:2:6: lifetime_value: 'lots' is not a number"),
        ("C-1,A,,,,,bad mail,\n", r"accounts.csv:2:7: owner_email: 'bad mail' is not an e-mail address"),
        ("C-1,A,,,,,,x..y\n", r"accounts.csv:2:8: domains: 'x..y' is not a domain name"),
        ("C-1,A,,,\n", r"accounts.csv:2:1: expected 8 fields, found 5$"),
        (
            "C-1,AOBA KOGYO CO.,LTD.,,,,,,\n",
            r'accounts.csv:2:1: expected 8 fields, found 9 \(a comma inside a value, as in "CO.,LTD."\? put',
        ),
    ],
)
def test_bad_rows_name_file_line_and_column(tmp_path: Path, rows: str, message: str) -> None:
    header = "account_id,name,last_deal_at,networks,dormancy_reason,lifetime_value,owner_email,domains\n"
    with pytest.raises(BadInput, match=message):
        load_accounts(write(tmp_path, header + rows))


def test_header_problems(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r":1:1: missing required column 'name'"):
        load_accounts(write(tmp_path, "account_id,company\nC-1,A\n"))
    with pytest.raises(BadInput, match=r":1:3: column 'name' appears twice"):
        load_accounts(write(tmp_path, "account_id,name,name\nC-1,A,B\n"))
    with pytest.raises(BadInput, match=r":1:1: empty file"):
        load_accounts(write(tmp_path, ""))
    with pytest.raises(BadInput, match=r"nothing.csv: account list not found"):
        load_accounts(tmp_path / "nothing.csv")


def test_blank_lines_are_skipped_and_line_numbers_stay_true(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"accounts.csv:5:3"):
        load_accounts(write(tmp_path, "account_id,name,last_deal_at\nC-1,A,\n\n,,\nC-2,B,yesterday\n"))


def test_owner_time_zone_is_checked_and_kept(tmp_path: Path) -> None:
    header = "account_id,name,owner_email,owner_timezone\n"
    (account,) = load_accounts(write(tmp_path, header + "C-1,A,a@example.com,Europe/Berlin\n"))
    assert account.owner.timezone == "Europe/Berlin"
    with pytest.raises(BadInput, match=r"accounts.csv:2:4: owner_timezone: 'Tokyo' is not an IANA time zone"):
        load_accounts(write(tmp_path, header + "C-1,A,a@example.com,Tokyo\n"))


def test_owner_locale_is_checked_and_kept(tmp_path: Path) -> None:
    header = "account_id,name,owner_email,owner_locale\n"
    accounts = load_accounts(write(tmp_path, header + "C-1,A,a@example.com,en\nC-2,B,b@example.com,\n"))
    assert [a.owner.locale for a in accounts] == ["en", ""]
    with pytest.raises(BadInput, match=r"accounts.csv:2:4: owner_locale: 'fr' is not one of ja\|en"):
        load_accounts(write(tmp_path, header + "C-1,A,a@example.com,fr\n"))


# --- revisit accounts lint ----------------------------------------------------------------------

LINT_CSV = """account_id,name,aliases,domains,networks,owner_email,owner_slack,last_deal_at
D1,株式会社サクラ精機,,sakura-seiki.co.jp,203.0.113.0/24,a@example.jp,,2025-01-01
D2,サクラ精機（株）,,,203.0.113.128/25,,,2025-02-01
D3,Northwind Traders,,northwind.example,,b@example.com,,2025-03-01
D4,Northwind Trader,,northwind.example,,,U0123ABCD,
D5,KDDI株式会社,,,,c@example.jp,,2030-01-01
D6,Blue Harbor Logistics,BHL Japan,blueharbor.example,198.51.100.0/24,d@example.com,,2025-04-01
"""


def test_lint_finds_duplicates_shared_keys_and_missing_fields(tmp_path: Path, capsys, monkeypatch) -> None:
    from revisit.cli import main

    path = tmp_path / "accounts.csv"
    path.write_text(LINT_CSV, encoding="utf-8")
    assert main(["accounts", "lint", str(path), "--json"]) == 0
    findings = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    found = {(f["kind"], tuple(f["accounts"])) for f in findings}
    assert found == {
        ("same_name", ("D1", "D2")),
        ("similar_name", ("D3", "D4")),
        ("shared_domain", ("D3", "D4")),
        ("shared_network", ("D1", "D2")),
        ("access_provider", ("D5",)),
        ("no_owner", ("D2",)),
        ("no_domain_or_network", ("D5",)),
        ("no_dates", ("D4",)),
        ("future_date", ("D5",)),
    }
    assert all(f["why"] for f in findings)  # each finding says why it matters
    # D6 is clean: nothing names it
    assert not any("D6" in f["accounts"] for f in findings)
    monkeypatch.setenv("REVISIT_ALERTS__LOCALE", "en")
    assert main(["accounts", "lint", str(path)]) == 0
    text = capsys.readouterr().out
    assert "6 accounts" in text and "9 finding(s)" in text
    assert "'株式会社サクラ精機' (D1) = 'サクラ精機（株）' (D2)" in text
    assert "203.0.113.128/25 inside 203.0.113.0/24" in text


def test_lint_speaks_the_teams_language(tmp_path: Path, capsys) -> None:
    """Whoever keeps the list reads the alerts too: the report is in ``alerts.locale`` (ja by
    default), every word of it, the kind codes aside (what --json and scripts use)."""
    from revisit.cli import main

    path = tmp_path / "accounts.csv"
    path.write_text(LINT_CSV, encoding="utf-8")
    assert main(["accounts", "lint", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{path} の取引先 6 件：指摘 9 件",
        "",
        "同じ会社の重複（same_name、1 件）：同じ会社が別の書き方で二度載っています。二重に連絡してしまいます",
        "  D1, D2                   '株式会社サクラ精機' (D1) = 'サクラ精機（株）' (D2) → 'さくら精機'",
        "",
        "よく似た名前（similar_name、1 件）：よく似た名前です。同じ会社かもしれません。"
        "確認のうえ統合するか、別名（aliases）に加えてください",
        "  D3, D4                   'Northwind Traders' ~ 'Northwind Trader'（一致度 97%、一字違い）",
        "",
        "ドメインの重複（shared_domain、1 件）：同じドメインが複数の取引先にあり、どの取引先にも照合されません",
        "  D3, D4                   northwind.example",
        "",
        "ネットワークの重なり（shared_network、1 件）：ネットワークが取引先の間で重なっています。"
        "まったく同じネットワークはどの取引先にも照合されず、別の取引先のネットワークの内側にあるネットワークは、"
        "その範囲のアドレスを内側の取引先が引き受けます（最も狭いネットワークが優先）",
        "  D1, D2                   203.0.113.128/25（203.0.113.0/24 の内側）",
        "",
        "接続事業者の名前（access_provider、1 件）：接続事業者の名前です。"
        "この取引先自身のネットワークからのアクセスしか照合できません",
        "  D5                       'KDDI株式会社' は KDDI（インターネット接続事業者）",
        "",
        "担当者なし（no_owner、1 件）：担当者のメールアドレスも Slack もありません。アラートは担当者に届かず、"
        "代わりの宛先（email.fallback_to やチームのチャンネル）があればそこにだけ届きます",
        "  D2                       サクラ精機（株）",
        "",
        "ドメイン・ネットワークなし（no_domain_or_network、1 件）："
        "ドメインもネットワークもありません。社名でしか照合できません",
        "  D5                       KDDI株式会社",
        "",
        "日付なし（no_dates、1 件）：最終取引日も最終接触日もありません。ランク C（軽い接触）として扱います",
        "  D4                       Northwind Trader",
        "",
        "未来の日付（future_date、1 件）：最終取引日または最終接触日が未来の日付です",
        "  D5                       KDDI株式会社: 2030-01-01",
    ]


def test_lint_knows_japanese_access_providers_by_their_registered_names(tmp_path: Path) -> None:
    """A Japanese list writes NTTコミュニケーションズ株式会社 and ソフトバンク株式会社; only the
    English names were known, so a new user's list got no access_provider finding for them."""
    from revisit.enrichment.lint import lint_accounts

    names = [
        "NTTコミュニケーションズ株式会社",
        "エヌ・ティ・ティ・コミュニケーションズ株式会社",
        "ソフトバンク株式会社",
        "KDDI株式会社",
        "株式会社NTTドコモ",
        "楽天モバイル株式会社",
        "株式会社インターネットイニシアティブ",
        "株式会社ソフト開発",  # a company, not a provider
    ]
    body = "account_id,name,owner_email,last_deal_at\n" + "".join(
        f"P{number},{name},a@example.jp,2025-01-01\n" for number, name in enumerate(names, 1)
    )
    findings = lint_accounts(load_accounts(write(tmp_path, body)), date(2026, 12, 1), locale="ja")
    flagged = {f.account_ids[0]: f.detail for f in findings if f.kind == "access_provider"}
    assert sorted(flagged) == ["P1", "P2", "P3", "P4", "P5", "P6", "P7"]
    assert flagged["P3"] == "'ソフトバンク株式会社' は ソフトバンク（インターネット接続事業者）"
    assert flagged["P6"] == "'楽天モバイル株式会社' は 楽天モバイル（携帯通信事業者）"


def test_lint_finds_names_one_character_apart(tmp_path: Path) -> None:
    """サクラ精機 and サクラ精器 (one kanji of the same reading) are 80 % alike, under the 90 %
    that matching asks for: lint still shows them to a person, saying why. Four characters are
    too few to tell a typo from another company (山田商事, 山田商店), two characters apart is not
    a typo."""
    from revisit.enrichment.lint import lint_accounts

    body = "account_id,name,owner_email,last_deal_at\n" + "".join(
        f"{account_id},{name},a@example.jp,2025-01-01\n"
        for account_id, name in [
            ("S1", "サクラ精機株式会社"),
            ("S2", "株式会社サクラ精器"),
            ("Y1", "山田商事株式会社"),
            ("Y2", "山田商店株式会社"),
            ("M1", "みなと物流サービス"),
            ("M2", "みなと運輸サービス"),
        ]
    )
    findings = lint_accounts(load_accounts(write(tmp_path, body)), date(2026, 12, 1), locale="ja")
    assert [(f.account_ids, f.detail) for f in findings if f.kind == "similar_name"] == [
        (("S1", "S2"), "'サクラ精機株式会社' ~ '株式会社サクラ精器'（一致度 80%、一字違い）")
    ]


HOMONYMS_CSV = """account_id,name,domains,owner_email,last_deal_at,corporate_number
H1,株式会社サクラ精機,sakura-seiki.co.jp,a@example.jp,2025-01-01,6010001000001
H2,サクラ精機（株）,sakura-osaka.co.jp,b@example.jp,2025-02-01,2120001000002
H3,サクラ精機株式会社,sakura-seiki.co.jp,c@example.jp,2025-03-01,6010001000001
H4,Northwind Traders,northwind.example,d@example.com,2025-03-01,4010001000003
H5,Northwind Trader,northwind-kansai.example,e@example.com,2025-03-01,9120001000004
"""


def test_lint_reports_one_name_with_different_corporate_numbers_as_distinct_companies(tmp_path: Path, capsys) -> None:
    """Two sakura-seiki rows with different 法人番号 are two companies (one in Tokyo, one in Osaka):
    the lint called them "the same company written two ways"; the rows sharing a number still are."""
    from revisit.cli import main

    path = tmp_path / "accounts.csv"
    path.write_text(HOMONYMS_CSV, encoding="utf-8")
    assert main(["accounts", "lint", str(path), "--json"]) == 0
    findings = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(f["kind"], f["accounts"], f["detail"]) for f in findings] == [
        (
            "same_name",
            ["H1", "H3"],
            "'株式会社サクラ精機' (H1) = 'サクラ精機株式会社' (H3) → 'さくら精機', 法人番号 6010001000001",
        ),
        (
            "same_name_distinct_companies",
            ["H1", "H2", "H3"],
            "'株式会社サクラ精機' (H1, 法人番号 6010001000001), 'サクラ精機（株）' (H2, 法人番号 2120001000002), "
            "'サクラ精機株式会社' (H3, 法人番号 6010001000001)",
        ),
        # H4 and H5 are alike but their numbers say they are two companies: no similar_name
        ("shared_domain", ["H1", "H3"], "sakura-seiki.co.jp"),
    ]
    assert findings[1]["why"].startswith("one name, different corporate numbers (法人番号): distinct companies")


def test_lint_finds_a_corporate_number_whose_check_digit_does_not_add_up(tmp_path: Path) -> None:
    """法人番号 1234567890123 was taken as it is (README user's finding): a typo there never finds
    its company in the corporate-number data. 7000012050002 is the National Tax Agency's own."""
    from revisit.enrichment.lint import lint_accounts

    body = (
        "account_id,name,owner_email,last_deal_at,corporate_number\n"
        "K1,国税庁,a@example.jp,2025-01-01,7000012050002\n"
        "K2,株式会社テスト,b@example.jp,2025-01-01,1234567890123\n"
        "K3,株式会社サンプル,c@example.jp,2025-01-01,70000120500\n"
        "K4,株式会社みほん,d@example.jp,2025-01-01,\n"
    )
    findings = lint_accounts(load_accounts(write(tmp_path, body)), date(2026, 12, 1), locale="ja")
    assert [(f.kind, f.account_ids, f.detail) for f in findings if f.kind == "bad_corporate_number"] == [
        ("bad_corporate_number", ("K2",), "株式会社テスト: '1234567890123'"),
        ("bad_corporate_number", ("K3",), "株式会社サンプル: '70000120500'"),
    ]


@pytest.mark.parametrize(
    "slack", ["<!channel>", "U123> <!here", "u024be7lh", "@tanaka", "U024BE7LH>", "U12", "W0ABC12"]
)
def test_an_owner_slack_that_is_no_member_id_is_refused(tmp_path: Path, slack: str) -> None:
    """Only a member id goes into ``<@…>``: anything else could ping a whole channel."""
    header = "account_id,name,owner_slack\n"
    assert load_accounts(write(tmp_path, header + "C-1,A,U024BE7LH\nC-2,B,W012A3CDE\n"))[1].owner.slack == "W012A3CDE"
    with pytest.raises(BadInput) as refused:
        load_accounts(write(tmp_path, header + f'C-1,A,U024BE7LH\nC-2,B,"{slack}"\n'))
    assert str(refused.value) == (
        f"{tmp_path / 'accounts.csv'}:3:3: owner_slack: {slack!r} is not a Slack member id "
        "(U or W, then 8 or more capital letters and digits: U024BE7LH)"
    )


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.builds(
            "{}.{}.{}.{}/{}".format,
            *[st.integers(0, 300)] * 4,
            st.one_of(st.integers(0, 40), st.sampled_from(["08", "", " 8"])),
        ),
        st.text(alphabet="0123456789./:abf １ \n", max_size=20),
    )
)
@example("::１")  # hypothesis found it: ipaddress refuses it, the list reads it as ::1
def test_a_network_cell_reads_as_ipaddress_reads_it(text: str) -> None:
    """The quick path for plain IPv4 CIDRs gives what ``ip_network`` gives, refusals included;
    full-width digits (１２１．１１１．５．０) are read as their ASCII form."""
    folded = unicodedata.normalize("NFKC", text)
    try:
        expected: object = ipaddress.ip_network(folded if folded.isascii() else text, strict=False)
    except ValueError:
        expected = "refused"
    try:
        found: object = _network(text)
    except _RowError:
        found = "refused"
    assert found == expected and type(found) is type(expected)


def test_an_owner_date_and_amount_repeated_on_many_rows_are_read_once_and_shared(tmp_path: Path) -> None:
    """A list names a few dozen owners and a few hundred dates for 100,000 accounts: each distinct
    one is validated once and its value shared by the rows (less work, less memory), while a bad
    one is still reported on the first row that has it."""
    rows = "".join(
        f'C-{i},Company {i},,,,Sato,sato@example.com,U024BE7LH,2024-01-15,,,"1,000",competitor,,\n' for i in range(3)
    )
    accounts = load_accounts(write(tmp_path, HEADER + "\n" + rows))
    assert len(accounts) == 3
    assert len({id(a.owner) for a in accounts}) == 1
    assert len({id(a.last_deal_at) for a in accounts}) == 1
    assert len({id(a.lifetime_value) for a in accounts}) == 1
    assert accounts[2].owner.email == "sato@example.com" and accounts[2].lifetime_value == Decimal("1000")
    bad = rows + "C-9,Company 9,,,,Sato,sato@example,U024BE7LH,2024-01-15,,,,competitor,,\n"
    with pytest.raises(BadInput, match=r"accounts.csv:5:7: owner_email: 'sato@example' is not an e-mail address"):
        load_accounts(write(tmp_path, HEADER + "\n" + bad))


def test_lint_into_a_reader_that_went_away_stops_quietly(tmp_path: Path) -> None:
    """``revisit accounts lint list.csv | head -2``: the pipe closes early; no traceback."""
    import os
    import subprocess
    import sys

    path = tmp_path / "accounts.csv"
    path.write_text(LINT_CSV, encoding="utf-8")
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line: every write fails with EPIPE
    try:
        done = subprocess.run(
            [sys.executable, "-m", "revisit", "accounts", "lint", str(path)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (1, "")


def test_lint_says_a_nested_network_takes_its_addresses_as_matching_does(tmp_path: Path, capsys) -> None:
    from revisit.cli import main

    path = tmp_path / "accounts.csv"
    path.write_text(
        "account_id,name,networks\nN1,Wide Corp,202.229.40.0/24\nN2,Narrow Corp,202.229.40.128/25\n",
        encoding="utf-8",
    )
    assert main(["accounts", "lint", str(path), "--json"]) == 0
    findings = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (finding,) = [f for f in findings if f["kind"] == "shared_network"]
    assert (finding["kind"], finding["detail"]) == ("shared_network", "202.229.40.128/25 inside 202.229.40.0/24")
    assert "takes those addresses" in finding["why"] and "matches neither" in finding["why"]


def test_full_width_digits_of_a_japanese_spreadsheet_read_as_networks_and_dates(tmp_path: Path) -> None:
    header = "account_id,name,networks,last_deal_at\n"
    rows = "Z1,全角商事株式会社,１２１．１１１．５．０／２４,２０２５－０１－１０\n"
    (account,) = load_accounts(write(tmp_path, header + rows))
    assert [str(n) for n in account.networks] == ["121.111.5.0/24"] and str(account.last_deal_at) == "2025-01-10"
    with pytest.raises(BadInput, match=r"accounts.csv:2:3: networks: 'ａｂｃ' is not an IP network"):
        load_accounts(write(tmp_path, header + "Z1,全角商事,ａｂｃ,\n"))


# --- every bad cell at once ----------------------------------------------------------------------

MESSY_CSV = """account_id,name,networks,owner_email,last_deal_at,dormancy_reason
C-1,株式会社さくら精機,133.242.18.0/24,sato@example.jp,2025-01-10,
C-2,,10.0.0.0/33,tanaka@example,2025/01/10,
C-3,ミナト物流㈱,,suzuki@example.jp,2025-02-01,bored

C-1,Northwind Traders,,,2025-13-01,
C-5,AOBA KOGYO CO.,LTD.,,,,
C-6,ひばり電子,２０３．０．１１３．０／２４,,２０２５－０３－０１,timing
"""


def test_lint_lists_every_bad_cell_in_file_order_with_a_total(tmp_path: Path, capsys, monkeypatch) -> None:
    """A messy list needed one run per mistake: lint stopped at the first bad cell."""
    from revisit.cli import main

    monkeypatch.setenv("REVISIT_ALERTS__LOCALE", "en")
    path = write(tmp_path, MESSY_CSV)
    assert main(["accounts", "lint", str(path)]) == 2
    assert capsys.readouterr().out.splitlines() == [
        f"{path}:3:2: name: required, found an empty value",
        f"{path}:3:3: networks: '10.0.0.0/33' is not an IP network (CIDR such as 203.0.113.0/24)",
        f"{path}:3:4: owner_email: 'tanaka@example' is not an e-mail address",
        f"{path}:3:5: last_deal_at: '2025/01/10' is not a date (YYYY-MM-DD)",
        f"{path}:4:6: dormancy_reason: 'bored' is not one of forgotten|dissatisfied|timing|competitor|campaign|unknown",
        f"{path}:6:1: account_id 'C-1' already used on line 2",
        f"{path}:6:5: last_deal_at: '2025-13-01' is not a date (YYYY-MM-DD)",
        f"{path}:7:1: expected 6 fields, found 7"
        ' (a comma inside a value, as in "CO.,LTD."? put that cell in double quotes)',
        f"8 errors in 4 rows of {path}: nothing else was checked; fix them and run lint again",
    ]
    assert main(["accounts", "lint", str(path), "--json"]) == 2
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["kind"], r["line"], r["column"]) for r in records] == [
        ("bad_value", 3, 2),
        ("bad_value", 3, 3),
        ("bad_value", 3, 4),
        ("bad_value", 3, 5),
        ("bad_value", 4, 6),
        ("bad_value", 6, 1),
        ("bad_value", 6, 5),
        ("bad_value", 7, 1),
    ]
    assert records[5]["detail"] == "account_id 'C-1' already used on line 2"


def test_lint_names_every_bad_cell_in_the_teams_language(tmp_path: Path, capsys) -> None:
    """In a Japanese team (alerts.locale ja, the default) each bad cell's reason is Japanese too
    (it was English under a Japanese total); the column names stay as the file writes them."""
    from revisit.cli import main

    path = write(tmp_path, MESSY_CSV)
    assert main(["accounts", "lint", str(path)]) == 2
    assert capsys.readouterr().out.splitlines() == [
        f"{path}:3:2: name：必須です（空欄になっています）",
        f"{path}:3:3: networks：'10.0.0.0/33' は IP ネットワークではありません（203.0.113.0/24 のような CIDR 表記）",
        f"{path}:3:4: owner_email：'tanaka@example' はメールアドレスではありません",
        f"{path}:3:5: last_deal_at：'2025/01/10' は日付ではありません（YYYY-MM-DD）",
        f"{path}:4:6: dormancy_reason：'bored' は "
        "forgotten|dissatisfied|timing|competitor|campaign|unknown のどれでもありません",
        f"{path}:6:1: account_id 'C-1' は 2 行目ですでに使われています",
        f"{path}:6:5: last_deal_at：'2025-13-01' は日付ではありません（YYYY-MM-DD）",
        f"{path}:7:1: 項目は 6 個のはずが 7 個あります"
        "（値の中にカンマがありませんか？「CO.,LTD.」のような値はセルをダブルクォートで囲んでください）",
        f"{path}：4 行に 8 件のエラー。ほかの点は確認していません。修正してから、もう一度 lint を実行してください",
    ]
    path = write(tmp_path, UNCLOSED_QUOTE_CSV)
    assert main(["accounts", "lint", str(path)]) == 2
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{path}:3:2: このセルで始まるダブルクォートが 5 行目まで閉じられていません："
        '閉じるか、値の中のクォートは "" と書いてください（ここで読み込みを止めました）'
    )


def test_lint_shows_the_first_200_bad_cells_of_a_broken_list_then_how_many_more(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    from revisit.cli import main

    body = "account_id,name,last_deal_at\n" + "".join(f"C-{i},Company {i},{i}/01/2025\n" for i in range(1, 3001))
    path = write(tmp_path, body)
    assert main(["accounts", "lint", str(path)]) == 2
    assert capsys.readouterr().out.splitlines()[200:] == [  # the team's language by default (ja)
        "… ほか 2,800 件",
        f"{path}：3,000 行に 3,000 件のエラー。ほかの点は確認していません。"
        "修正してから、もう一度 lint を実行してください",
    ]
    monkeypatch.setenv("REVISIT_ALERTS__LOCALE", "en")
    assert main(["accounts", "lint", str(path)]) == 2
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 202
    assert lines[0] == f"{path}:2:3: last_deal_at: '1/01/2025' is not a date (YYYY-MM-DD)"
    assert lines[199] == f"{path}:201:3: last_deal_at: '200/01/2025' is not a date (YYYY-MM-DD)"
    assert lines[200:] == [
        "… and 2,800 more",
        f"3,000 errors in 3,000 rows of {path}: nothing else was checked; fix them and run lint again",
    ]


def test_a_list_with_errors_is_refused_whole_with_their_count_and_the_lint_command(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as refused:
        load_accounts(write(tmp_path, MESSY_CSV))
    path = tmp_path / "accounts.csv"
    assert str(refused.value) == (
        f"{path}:3:2: name: required, found an empty value (1 of 8 errors in 4 rows; the list was not used; "
        f"`revisit accounts lint {path}` lists them all)"
    )


def test_the_lint_command_a_refusal_suggests_reads_the_list_as_the_refused_command_did(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    """An Excel (cp932) list refused by `accounts import --encoding cp932` suggested `revisit
    accounts lint FILE`, which then failed on the encoding (README user's finding)."""
    from revisit.cli import main

    monkeypatch.setenv("REVISIT_ALERTS__LOCALE", "en")
    path = tmp_path / "excel.csv"
    path.write_bytes(MESSY_CSV.replace("ひばり電子", "ﾋﾊﾞﾘ電子").encode("cp932"))
    db = f"sqlite:///{tmp_path / 'a.sqlite'}"
    assert main(["accounts", "import", str(path), "--encoding", "cp932", "--db", db]) == 2
    said = capsys.readouterr().err
    assert said.endswith(f"`revisit accounts lint {path} --encoding cp932` lists them all)\n"), said
    assert main(["accounts", "lint", str(path), "--encoding", "cp932"]) == 2  # the suggested command
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"8 errors in 4 rows of {path}")


UNCLOSED_QUOTE_CSV = """account_id,name,domains,owner_email
J-001,株式会社あおば工業,aoba.example,a@example.jp
J-003,"㈱ミドリ商事,midori.example,b@example.jp
J-004,ミドリ商事株式会社,,c@example.jp
J-010,"TANAKA SEISAKUSHO CO.,LTD.",tanaka.example,d@example.jp
"""


def test_an_unclosed_double_quote_is_named_where_it_opens(tmp_path: Path, capsys, monkeypatch) -> None:
    """The csv module gave up lines later with "',' expected after '"'" and the message pointed
    at column 1 of the row (README user's finding): the quote that never closes is at column 2."""
    from revisit.cli import main

    monkeypatch.setenv("REVISIT_ALERTS__LOCALE", "en")
    path = write(tmp_path, UNCLOSED_QUOTE_CSV)
    assert main(["accounts", "lint", str(path)]) == 2
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{path}:3:2: a double quote opens this cell and is not closed before line 5: close it, "
        'or write a quote inside a value as "" (reading stopped here)'
    )
    # a quoted value followed by more text is the csv module's own words, at the row's start
    path.write_text('account_id,name\nJ-1,"ABC"def\n', encoding="utf-8")
    assert main(["accounts", "lint", str(path)]) == 2
    assert capsys.readouterr().out.splitlines()[0] == f"{path}:2:1: ',' expected after '\"' (reading stopped here)"
