"""Start-up that does not grow with an unchanged account list: the validated list and its index are
kept by the file's digest and reused, and the database takes a changed list as a difference."""

from __future__ import annotations

import ipaddress
import json
import os
import pickle
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import DateTime, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from revisit.cli import main
from revisit.core.config import MatchingSettings
from revisit.core.match import AccountMatch, MatchMethod, NoMatch
from revisit.core.organization import Organization, OrgKind
from revisit.enrichment import prepared as prepared_module
from revisit.enrichment.account_table import AccountTable, account_fingerprint
from revisit.enrichment.accounts import load_accounts, parse_accounts, row_key
from revisit.enrichment.match import AccountIndex
from revisit.enrichment.prepared import _load, prepare_accounts, prepare_stored_accounts
from revisit.storage.models import AccountRow
from revisit.storage.store import AccountImport, Store, _account_row, _json_text, _network_text, _once_per_value

HEADER = "account_id,name,aliases,networks\n"
SOMEWHERE = ipaddress.ip_address("198.51.100.7")


def rows(count: int) -> dict[str, str]:
    return {f"A{i:03d}": f"A{i:03d},Company {i} Trading Co. Ltd.,,10.{i}.0.0/16\n" for i in range(count)}


def write(path: Path, by_id: dict[str, str]) -> Path:
    path.write_text(HEADER + "".join(by_id.values()), encoding="utf-8")
    return path


@pytest.fixture
def matching(tmp_path) -> MatchingSettings:
    return MatchingSettings(prepared_dir=str(tmp_path / "kept"))


def test_an_unchanged_list_is_neither_validated_nor_imported_again(tmp_path, matching, db_url) -> None:
    csv = write(tmp_path / "accounts.csv", rows(50))
    store = Store(db_url)
    try:
        first = prepare_accounts(csv, "utf-8-sig", matching)
        assert not first.reused
        assert store.save_accounts(first.accounts, first.digest) == AccountImport(50, 50, 0, 0)
        second = prepare_accounts(csv, "utf-8-sig", matching)
        assert second.reused and second.digest == first.digest and list(second.accounts) == list(first.accounts)
        assert store.save_accounts(second.accounts, second.digest) == AccountImport(50, unchanged=True)
        found = second.index.match(SOMEWHERE, Organization("Company 7 Trading", OrgKind.BUSINESS, "test", 1.0))
        assert isinstance(found, AccountMatch) and found.account.account_id == "A007"
    finally:
        store.close()


def test_a_changed_list_is_applied_as_its_difference(tmp_path, matching, db_url) -> None:
    csv = tmp_path / "accounts.csv"
    by_id = rows(50)
    store = Store(db_url)
    try:
        first = prepare_accounts(write(csv, by_id), "utf-8-sig", matching)
        store.save_accounts(first.accounts, first.digest)
        by_id["A003"] = "A003,Renamed Three K.K.,,10.3.0.0/16\n"
        by_id["A004"] = "A004,Company 4 Trading Co. Ltd.,Four;Fourth,10.4.0.0/16\n"
        del by_id["A010"]
        for i in (50, 51, 52):
            by_id[f"A{i:03d}"] = f"A{i:03d},New {i},,\n"
        changed = prepare_accounts(write(csv, by_id), "utf-8-sig", matching)
        assert not changed.reused and changed.digest != first.digest
        assert store.save_accounts(changed.accounts, changed.digest) == AccountImport(52, 3, 2, 1)
        stored = {account.account_id: account for account in store.load_accounts()}
        assert len(stored) == 52 and "A010" not in stored
        assert stored["A003"].name == "Renamed Three K.K." and stored["A004"].aliases == ("Four", "Fourth")
        assert stored == {account.account_id: account for account in changed.accounts}
        renamed = changed.index.match(SOMEWHERE, Organization("Renamed Three", OrgKind.BUSINESS, "test", 1.0))
        assert isinstance(renamed, AccountMatch) and renamed.account.account_id == "A003"
        assert_same_answers(changed.index, AccountIndex(load_accounts(csv), matching))
    finally:
        store.close()


def assert_same_answers(applied: AccountIndex, fresh: AccountIndex) -> None:
    """The index with a difference applied answers as one built from the changed list."""
    names = ["Company 3 Trading", "Company 10 Trading", "Compnay 12 Trading", "Renamed Three", "Four", "New 51"]
    for i in range(55):
        address = ipaddress.ip_address(f"10.{i}.3.4")
        assert applied.match(address, None) == fresh.match(address, None), address
    for name in names:
        organization = Organization(name, OrgKind.BUSINESS, "test", 1.0)
        assert applied.match(SOMEWHERE, organization) == fresh.match(SOMEWHERE, organization), name
    assert sorted(a.account_id for a in applied.accounts) == sorted(a.account_id for a in fresh.accounts)


def test_an_account_that_leaves_the_list_stops_matching_and_keeps_its_row(tmp_path, matching, db_url) -> None:
    csv = tmp_path / "accounts.csv"
    by_id = rows(5)
    store = Store(db_url)
    try:
        first = prepare_accounts(write(csv, by_id), "utf-8-sig", matching)
        store.save_accounts(first.accounts, first.digest)
        left = by_id.pop("A002")
        shorter = prepare_accounts(write(csv, by_id), "utf-8-sig", matching)
        assert store.save_accounts(shorter.accounts, shorter.digest) == AccountImport(4, 0, 0, 1)
        assert [a.account_id for a in store.load_accounts()] == ["A000", "A001", "A003", "A004"]
        assert isinstance(shorter.index.match(ipaddress.ip_address("10.2.0.1"), None), NoMatch)
        assert store.count("accounts") == 5  # still there for its visits, alerts and outcomes
        with store.engine.connect() as connection:
            delisted = connection.execute(select(AccountRow.account_id).where(AccountRow.delisted_at.is_not(None)))
            assert delisted.scalars().all() == ["A002"]
        assert store.save_accounts(shorter.accounts, "") == AccountImport(4, 0, 0, 0)  # not delisted twice
        by_id["A002"] = left
        again = prepare_accounts(write(csv, by_id), "utf-8-sig", matching)
        assert store.save_accounts(again.accounts, again.digest) == AccountImport(5, 1, 0, 0)
        assert [a.account_id for a in store.load_accounts()] == ["A000", "A001", "A002", "A003", "A004"]
        assert not again.reused
        assert_same_answers(again.index, AccountIndex(load_accounts(csv), matching))
    finally:
        store.close()


def test_a_worker_without_a_file_reuses_the_index_kept_for_a_list_read_from_the_database(
    tmp_path, matching, db_url
) -> None:
    store = Store(db_url)
    try:
        store.save_accounts(parse_accounts(HEADER + "".join(rows(20).values())), "d" * 64)
        first = prepare_stored_accounts(store.account_list_digest(), store.load_accounts, matching)
        second = prepare_stored_accounts(store.account_list_digest(), store.load_accounts, matching)
        assert (first.reused, second.reused) == (False, True)
        assert sorted(a.account_id for a in second.accounts) == [f"A{i:03d}" for i in range(20)]
    finally:
        store.close()


def test_the_worker_reuses_the_list_the_database_was_given(tmp_path, matching, db_url) -> None:
    csv = write(tmp_path / "accounts.csv", rows(20))
    store = Store(db_url)
    try:
        imported = prepare_accounts(csv, "utf-8-sig", matching)
        store.save_accounts(imported.accounts, imported.digest)
        assert store.account_list_digest() == imported.digest
        first = prepare_stored_accounts(store.account_list_digest(), store.load_accounts, matching)
        second = prepare_stored_accounts(store.account_list_digest(), store.load_accounts, matching)
        assert (first.reused, second.reused) == (True, True)  # the index kept by the import
        assert sorted(second.accounts, key=lambda a: a.account_id) == sorted(
            imported.accounts, key=lambda a: a.account_id
        )
    finally:
        store.close()


def test_a_folder_others_can_write_to_is_not_read(tmp_path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    os.chmod(folder, 0o777)
    matching = MatchingSettings(prepared_dir=str(folder))
    csv = write(tmp_path / "accounts.csv", rows(5))
    assert not prepare_accounts(csv, "utf-8-sig", matching).reused
    assert not prepare_accounts(csv, "utf-8-sig", matching).reused
    assert list(folder.iterdir()) == []


def test_accounts_import_says_what_changed_and_that_an_unchanged_list_was_left_as_it_was(
    tmp_path, sqlite_url, capsys, monkeypatch
) -> None:
    """In the team's language (alerts.locale: Japanese by default), as ``accounts lint``."""
    csv = tmp_path / "accounts.csv"
    by_id = rows(6)
    write(csv, by_id)
    assert main(["accounts", "import", str(csv), "--db", sqlite_url]) == 0
    assert (
        f"{csv} から取引先 6 社を取り込みました（追加 6、変更 0、リストから外れた取引先 0）" in capsys.readouterr().out
    )
    assert main(["accounts", "import", str(csv), "--db", sqlite_url]) == 0
    said = capsys.readouterr().out.splitlines()
    assert said == [
        f"{csv} の取引先 6 社は前回の取り込みから変わっていません（取り込むものはありません）",
        f"キャンペーンの前に `revisit accounts lint {csv}` でリストを確認してください"
        "（重複や担当者のない行がわかります）",
    ]
    monkeypatch.setenv("REVISIT_ALERTS__LOCALE", "en")
    assert main(["accounts", "import", str(csv), "--db", sqlite_url]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"6 accounts in {csv}, unchanged since the last import: nothing to import",
        f"check the list with `revisit accounts lint {csv}` before a campaign (duplicates, rows without owner)",
    ]
    by_id["A001"] = "A001,Renamed One,,10.1.0.0/16\n"
    del by_id["A004"], by_id["A005"]
    by_id["A100"] = "A100,Hundred Ltd,,\n"
    write(csv, by_id)
    assert main(["accounts", "import", str(csv), "--db", sqlite_url]) == 0
    assert f"imported 5 accounts from {csv} (1 added, 1 changed, 2 no longer listed)" in capsys.readouterr().out


REGISTERED = "account_id,name,registered_name,registered_name_en,registered_kana\n"


def registered_rows() -> dict[str, str]:
    """Japanese accounts as ``revisit accounts enrich --houjin`` writes them, and a few others."""
    by_id = {f"A{i:03d}": f"A{i:03d},Company {i} Trading Co. Ltd.,,,\n" for i in range(7)}
    by_id["J01"] = 'J01,サクラ精機,株式会社サクラ精機製作所,"Sakura Seiki Co., Ltd.",サクラセイキ\n'
    by_id["J02"] = "J02,橘工業株式会社,,,タチバナコウギョウ\n"
    return by_id


def how(index: AccountIndex, name: str) -> tuple[str, MatchMethod, float] | None:
    """Which account a visitor of this organisation name matches, how and how sure; None: none."""
    found = index.match(SOMEWHERE, Organization(name, OrgKind.BUSINESS, "test", 1.0))
    return (found.account.account_id, found.method, found.confidence) if isinstance(found, AccountMatch) else None


def test_registered_names_are_kept_with_the_index_and_leave_with_their_account(tmp_path, matching) -> None:
    csv = tmp_path / "accounts.csv"
    by_id = registered_rows()
    csv.write_text(REGISTERED + "".join(by_id.values()), encoding="utf-8")
    prepare_accounts(csv, "utf-8-sig", matching)
    kept = prepare_accounts(csv, "utf-8-sig", matching)
    assert kept.reused  # loaded as kept: the cross-script lookups and their fuzzy search came with it
    assert how(kept.index, "SAKURA SEIKI CO.,LTD.") == ("J01", MatchMethod.ENGLISH_NAME, 0.75)
    assert how(kept.index, "Sakura Seki Co.") == ("J01", MatchMethod.ENGLISH_NAME, 0.71)  # fuzzy, 95% alike
    assert how(kept.index, "サクラ精機製作所") == ("J01", MatchMethod.ALIAS, 0.85)  # the registered name
    assert how(kept.index, "Tachibana Kogyo K.K.") == ("J02", MatchMethod.READING, 0.7)
    assert how(kept.index, "Tachibana Kogiyo K.K.") == ("J02", MatchMethod.READING, 0.68)
    # J01 renamed in the registry, J02 gone: applied to the kept index as a difference
    by_id["J01"] = 'J01,サクラ精機,株式会社桜プレシジョン,"Cherry Precision Co., Ltd.",サクラプレシジョン\n'
    del by_id["J02"]
    csv.write_text(REGISTERED + "".join(by_id.values()), encoding="utf-8")
    changed = prepare_accounts(csv, "utf-8-sig", matching)
    assert not changed.reused and changed.index.accounts.empty_positions == 2  # J01's old place, J02's
    names = ["SAKURA SEIKI CO.,LTD.", "Sakura Seki Co.", "サクラ精機製作所", "Tachibana Kogyo K.K."]
    names += ["Tachibana Kogiyo K.K.", "Cherry Precision Co., Ltd.", "Chery Precision", "桜プレシジョン"]
    fresh = AccountIndex(load_accounts(csv), matching)
    assert [how(changed.index, name) for name in names] == [how(fresh, name) for name in names]
    assert [how(changed.index, name) for name in names] == [
        None,
        None,
        None,
        None,
        None,
        ("J01", MatchMethod.ENGLISH_NAME, 0.75),
        ("J01", MatchMethod.ENGLISH_NAME, 0.72),
        ("J01", MatchMethod.ALIAS, 0.85),
    ]


def test_the_import_takes_the_names_keys_from_the_index_and_stores_what_it_would_compute(tmp_path, matching) -> None:
    by_id = {
        "J1": 'J1,株式会社サクラ精機,"ｻｸﾗ精機;Sakura Seiki K.K.",10.1.0.0/16\n',
        "J2": "J2,ﾄﾖﾀ自動車（株）,,10.2.0.0/16\n",
        "E1": "E1,The Northwind Corporaton,Northwind,10.3.0.0/16\n",
    }
    csv = write(tmp_path / "accounts.csv", by_id)
    prepared = prepare_accounts(csv, "utf-8-sig", matching)
    assert prepared.keys == {
        "株式会社サクラ精機": "さくら精機",
        "ｻｸﾗ精機": "さくら精機",
        "Sakura Seiki K.K.": "sakuraseiki",
        "ﾄﾖﾀ自動車（株）": "とよた自動車",
        "The Northwind Corporaton": "northwind",
        "Northwind": "northwind",
    }
    assert prepare_accounts(csv, "utf-8-sig", matching).keys == {}  # kept: nothing normalised, nothing to import
    stored = []
    for name, keys in (("with", prepared.keys), ("without", None)):
        store = Store(f"sqlite:///{tmp_path / name}.sqlite")
        try:
            store.save_accounts(prepared.accounts, prepared.digest, keys=keys)
            with store.engine.connect() as connection:
                stored.append(
                    connection.execute(
                        select(AccountRow.account_id, AccountRow.sort_name, AccountRow.search_text).order_by(
                            AccountRow.account_id
                        )
                    ).all()
                )
        finally:
            store.close()
    assert stored[0] == stored[1]
    assert stored[0][1] == (
        "J1",
        "さくら精機",
        "株式会社さくら精機\nさくら精機\nsakura seiki k.k.\nsakuraseiki",
    )


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)), st.integers(min_value=0, max_value=128))
def test_a_network_is_stored_as_ipaddress_writes_it(address, prefix) -> None:
    network = ipaddress.ip_network(f"{address}/{min(prefix, address.max_prefixlen)}", strict=False)
    assert _network_text(network) == str(network)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.lists(st.text()),
        st.dictionaries(st.text(), st.text()),
        st.lists(st.one_of(st.integers(), st.none(), st.text())),
    )
)
def test_the_import_writes_json_as_json_dumps_writes_it(value) -> None:
    assert _json_text(value) == json.dumps(value)


def test_the_import_stores_each_value_as_sqlalchemy_would(tmp_path, db_url) -> None:
    """The rows go to the driver's executemany with SQLAlchemy's own bind processors: read back
    through SQLAlchemy they are the values an ORM insert of the same account stores."""
    csv = tmp_path / "accounts.csv"
    csv.write_text(
        "account_id,name,aliases,domains,networks,owner_name,owner_email,owner_timezone,owner_locale,last_deal_at,"
        "lost_deal_at,lifetime_value,dormancy_reason,industry,担当部署,note\n"
        'J1,株式会社サクラ精機,"Sakura Seiki K.K.;ｻｸﾗ","sakura.example.jp;ＷＷＷ.Sakura.co.jp",'
        '"10.1.0.0/16;2001:db8::/32",山田 太郎,yamada@example.jp,Asia/Tokyo,en,2024-03-31,2023-11-02,'
        '"12,345,678.90",competitor,製造,営業一部,"a ""quoted"" \\ note"\n'
        "E1,Northwind Traders Inc.,,,,,,,,,,,,,,\n",
        encoding="utf-8",
    )
    accounts = load_accounts(csv)
    stored = []
    for name, url in (("fast", db_url), ("orm", f"sqlite:///{tmp_path / 'orm.sqlite'}")):
        store = Store(url)
        try:
            if name == "fast":
                store.save_accounts(accounts, "digest")
            else:
                with Session(store.engine) as session, session.begin():
                    now = datetime.now(UTC)
                    for account in accounts:
                        row = _account_row(account, now, account_fingerprint(account), {})
                        session.add(AccountRow(**row))
            with store.engine.connect() as connection:
                rows = connection.execute(select(AccountRow).order_by(AccountRow.account_id)).mappings().all()
            stored.append([{k: v for k, v in row.items() if k != "imported_at"} for row in rows])
        finally:
            store.close()
    assert stored[0] == stored[1]
    assert stored[0][1]["attributes"] == {"担当部署": "営業一部", "note": 'a "quoted" \\ note'}
    assert stored[0][1]["lifetime_value"] == Decimal("12345678.90")
    assert stored[0][1]["networks"] == ["10.1.0.0/16", "2001:db8::/32"]
    assert [row["owner_locale"] for row in stored[0]] == ["", "en"]
    store = Store(db_url)
    try:
        loaded = {account.account_id: account for account in store.load_accounts()}
    finally:
        store.close()
    assert loaded == {a.account_id: replace(a, attributes=tuple(sorted(a.attributes))) for a in accounts}


def test_the_kept_copy_holds_each_row_by_a_digest_and_its_accounts_as_one_bytes_object(tmp_path, matching) -> None:
    """What keeps the first run's memory down: no cells (15 objects a row) for the pickler to
    remember, and the accounts' pickles written once into the table instead of held twice."""
    csv = write(tmp_path / "accounts.csv", rows(30))
    first = prepare_accounts(csv, "utf-8-sig", matching)
    (kept,) = Path(matching.prepared_dir).glob("*.prepared")
    index, kept_rows = _load(kept, parts=2)
    assert len(kept_rows.positions) == 30 and {len(key) for key in kept_rows.positions} == {16}
    assert kept_rows.positions[row_key(tuple(rows(30)["A007"].rstrip("\n").split(",")))] == 7
    assert first.accounts._pickles == [b""] * 30  # none held apart: written straight into the file
    assert index.accounts._pickles == [b""] * 30 and len(index.accounts._ends) == 30  # loaded as one
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        assert store.save_accounts(first.accounts, first.digest) == AccountImport(30, 30, 0, 0)
        assert {a.account_id for a in store.load_accounts()} == {f"A{i:03d}" for i in range(30)}
    finally:
        store.close()
    assert list(index.accounts) == list(first.accounts)
    assert row_key(("a,b", "c")) != row_key(("a", "b,c")) and row_key(("a\0", "b")) != row_key(("a", "\0b"))


def test_a_list_prepared_to_be_kept_later_is_written_when_the_caller_keeps_it(tmp_path, matching) -> None:
    """Replay keeps a new list once its worker processes run (the pickling no longer delays the
    first line): until then nothing is in the folder; kept, the next start reuses it, and
    keeping twice writes it once."""
    csv = write(tmp_path / "accounts.csv", rows(20))
    prepared = prepare_accounts(csv, "utf-8-sig", matching, keep=False)
    kept_folder = Path(matching.prepared_dir)
    assert not prepared.reused and list(kept_folder.glob("*.prepared")) == []
    prepared.keep()
    (written,) = kept_folder.glob("*.prepared")
    modified = written.stat().st_mtime_ns
    prepared.keep()
    assert written.stat().st_mtime_ns == modified
    again = prepare_accounts(csv, "utf-8-sig", matching)
    assert again.reused and list(again.accounts) == list(prepared.accounts)


def test_import_and_replay_refuse_a_list_with_errors_saying_how_many_and_where_to_see_them(
    tmp_path, sqlite_url, matching, capsys
) -> None:
    """Nothing half-imported, and one run tells how much is wrong (it stopped at the first bad cell)."""
    csv = tmp_path / "accounts.csv"
    by_id = rows(5)
    by_id["A001"] = "A001,,,10.1.0.0/16\n"
    by_id["A003"] = "A003,Company 3 Trading Co. Ltd.,,10.3.0.0/99\n"
    write(csv, by_id)
    said = (
        f"revisit: {csv}:3:2: name: required, found an empty value (1 of 2 errors in 2 rows; the list was not used; "
        f"`revisit accounts lint {csv}` lists them all)\n"
    )
    assert main(["accounts", "import", str(csv), "--db", sqlite_url]) == 2
    assert capsys.readouterr().err == (  # in alerts.locale, as the import's summary and lint are
        f"revisit: {csv}:3:2: name：必須です（空欄になっています）。2 行に 2 件のエラーがあり、これはその 1 件目です。"
        f"リストは使っていません。すべてを `revisit accounts lint {csv}` で確認できます\n"
    )
    store = Store(sqlite_url)
    try:
        assert store.load_accounts() == ()
    finally:
        store.close()
    log = tmp_path / "access.log"
    log.write_text('10.1.2.3 - - [10/Oct/2026:13:55:36 +0900] "GET /pricing HTTP/1.1" 200 512 "-" "Mozilla/5.0"\n')
    assert main(["replay", str(log), "--accounts", str(csv), "--db", sqlite_url, "--locale", "en"]) == 2
    assert capsys.readouterr().err == said


def test_the_kept_index_is_written_attribute_by_attribute_each_a_pickle_of_its_own(tmp_path, matching) -> None:
    """One pickle of the whole index had its pickler remember every object at once (~40 MB at
    the first run's peak for 100,000 accounts): each part is pickled with the memo cleared, the
    fuzzy index's names go as one string, and the accounts' pickles go in chunks straight into
    the file (joined in memory first, they held 28 MB more at the peak)."""
    csv = write(tmp_path / "accounts.csv", rows(30))
    first = prepare_accounts(csv, "utf-8-sig", matching)
    (kept,) = Path(matching.prepared_dir).glob("*.prepared")
    with kept.open("rb") as handle:
        names = pickle.load(handle)
        parts = {name: pickle.load(handle) for name in names}  # each read by an unpickler of its own
        table = AccountTable.read(handle)  # its pickles in chunks, without joining them in memory
        kept_rows = pickle.load(handle)
    assert set(names) == set(vars(first.index)) and len(kept_rows.positions) == 30
    assert parts["accounts"] == "the account table follows" and list(table) == list(first.accounts)
    listed = first.index.fuzzy_names._listed
    assert parts["fuzzy_names"].__getstate__()["_listed"] == ("\0".join(listed), len(listed), None)
    again = prepare_accounts(csv, "utf-8-sig", matching)
    assert again.reused and again.index.fuzzy_names._listed == first.index.fuzzy_names._listed
    assert again.index.fuzzy_names._texts == first.index.fuzzy_names._texts
    visitor = ipaddress.ip_address("203.0.113.9")
    for name in ("Company 7 Tradin", "Compnay 23 Trading", "Company 9"):
        organization = Organization(name, OrgKind.BUSINESS, "test", 1.0)
        assert again.index.match(visitor, organization) == first.index.match(visitor, organization), name


def test_large_dicts_of_the_kept_index_go_in_chunks_and_the_import_takes_the_written_fingerprints(
    tmp_path, matching, monkeypatch
) -> None:
    """A dict of 100,000 names pickled at once had the pickler remember 400,000 objects: it goes
    in chunks, each with the memo cleared, and is read back whole. The fingerprints the import
    compares are those of the pickles just written, not made again (~1 s for 100,000)."""
    monkeypatch.setattr(prepared_module, "DICT_CHUNK", 7)
    csv = write(tmp_path / "accounts.csv", rows(30))
    first = prepare_accounts(csv, "utf-8-sig", matching)
    assert first.accounts._written is not None
    assert dict(first.accounts.fingerprints()) == {a.account_id: account_fingerprint(a) for a in first.accounts}
    again = prepare_accounts(csv, "utf-8-sig", matching)
    assert again.reused and again.index._names == first.index._names and len(again.index._names) > 7
    assert again.index._domains == first.index._domains
    assert dict(again.accounts.fingerprints()) == dict(first.accounts.fingerprints())


def test_the_import_reads_the_written_fingerprints_one_by_one(tmp_path, matching) -> None:
    """The import of a list just kept looks up each fingerprint in the bytes the table was
    written with, instead of a dict of them all (~10 MB at the peak for 100,000 accounts); a
    table not written yet has none to give."""
    csv = write(tmp_path / "accounts.csv", rows(12))
    prepared = prepare_accounts(csv, "utf-8-sig", matching, keep=False)
    assert prepared.accounts.written_fingerprints() is None
    prepared.keep()
    written = prepared.accounts.written_fingerprints()
    assert written is not None and not isinstance(written, dict)
    assert dict(written) == {a.account_id: account_fingerprint(a) for a in prepared.accounts}
    assert len(written) == 12 and "A999" not in written
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        assert store.save_accounts(prepared.accounts, prepared.digest) == AccountImport(12, 12, 0, 0)
        with store.engine.connect() as connection:
            stored = dict(connection.execute(select(AccountRow.account_id, AccountRow.fingerprint)).all())
    finally:
        store.close()
    assert stored == dict(written)


def test_a_time_is_processed_once_per_value_and_zone_as_sqlalchemy_would() -> None:
    """The import processes each distinct date and time once (every row has the same import time);
    an equal time in another zone is its own value, as SQLite's processor writes the zone's clock."""
    process = DateTime(timezone=True)._cached_bind_processor(sqlite.dialect())
    assert process is not None
    once = _once_per_value(process)
    utc = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
    tokyo = utc.astimezone(ZoneInfo("Asia/Tokyo"))
    assert utc == tokyo and process(utc) != process(tokyo)
    assert [once(utc), once(tokyo), once(utc), once(None)] == [process(utc), process(tokyo), process(utc), None]
