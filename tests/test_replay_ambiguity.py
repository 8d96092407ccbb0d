"""A visitor whose name fits several accounts alike matches none of them: replay's summary says so
(only ``revisit explain`` told before), once per organisation, with the command that tells why."""

from __future__ import annotations

from pathlib import Path

import pytest

from revisit.cli import main
from tests import open_mmdb

# Northwind Traders (DB-IP Lite ASN, no domain) is two accounts' name once legal forms are set
# aside; Sakura Seiki Co., Ltd. (IPinfo Lite, a domain no account has) too; Minato Logistics fits
# two misspelt names, too close for the fuzzy match to tell apart; Blue Harbor Analytics GmbH
# (iptoasn) is two accounts' name too; Kamome Broadband is an ISP.
ACCOUNTS = """account_id,name,owner_email,last_deal_at
N-1,Northwind Traders,a@example.com,2024-01-10
N-2,Northwind Traders Inc.,b@example.com,2024-02-10
S-1,Sakura Seiki Co. Ltd.,c@example.jp,2024-03-10
S-2,SAKURA SEIKI CORPORATION,d@example.jp,2024-03-10
M-1,Minato Logistix,e@example.jp,2024-03-10
M-2,Minato Logistic,f@example.jp,2024-03-10
B-1,Blue Harbor Analytics,g@example.com,2024-03-10
B-2,Blue Harbor Analytics K.K.,h@example.com,2024-03-10
"""
LOG = "".join(
    f'{address} - - [10/Oct/2026:13:{minute:02d}:36 +0900] "GET /pricing HTTP/1.1" 200 512 "-" '
    '"Mozilla/5.0 (Windows NT 10.0; Win64; x64)"\n'
    for minute, address in enumerate(
        ["64.225.10.7", "64.225.10.8", "160.251.10.9", "2400:4050:100::5", "61.112.3.4", "64.225.10.7", "91.198.10.1"]
    )
)


EN = (
    "  fit several accounts: 4 organisation(s) left unmatched, their names fit several accounts alike "
    "(none is alerted; a domain or network on the accounts tells them apart)",
    "    … and 1 more",
)
JA = (
    "  複数の取引先に同程度に当てはまり照合しなかった組織：4 件"
    "（どの取引先にもアラートは出ません。取引先にドメインかネットワークを登録すると区別できます）",
    "    ほか 1 件",
)


@pytest.mark.parametrize(
    "locale, workers, said, locale_option",
    [
        ("en", "1", EN, ()),
        ("ja", "1", JA, ()),
        ("en", "2", EN, ()),  # 2: the lines classified by two processes
        ("ja", "1", EN, ("--locale", "en")),  # the option over alerts.locale, passed on to explain
    ],
)
def test_replay_names_the_organisations_that_fit_several_accounts(
    tmp_path: Path, capsys, locale: str, workers: str, said: tuple[str, str], locale_option: tuple[str, ...]
) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(ACCOUNTS, encoding="utf-8")
    log = tmp_path / "access.log"
    log.write_text(LOG, encoding="utf-8")
    config = tmp_path / "revisit.toml"
    config.write_text(f'[alerts]\nlocale = "{locale}"\n[replay]\nparallel_min_mb = 0\n', encoding="utf-8")
    databases = [
        open_mmdb.dbip_asn_lite(tmp_path / "dbip.mmdb"),
        open_mmdb.ipinfo_lite(tmp_path / "ipinfo.mmdb"),
        open_mmdb.iptoasn(tmp_path / "iptoasn.mmdb"),
    ]
    mmdb = [option for path in databases for option in ("--mmdb", path)]
    args = ["replay", str(log), "--accounts", str(accounts), *mmdb, "--config", str(config), "--workers", workers]
    args += locale_option
    assert main([*args, "--db", f"sqlite:///{tmp_path / 'r.sqlite'}", "--alerts-jsonl", str(tmp_path / "a.jsonl")]) == 0
    out = capsys.readouterr().out.splitlines()
    explain = " ".join(["--accounts", str(accounts), *mmdb, "--config", str(config), *locale_option])
    head, more = said
    start = out.index(head)
    assert out[start : start + 5] == [
        head,
        f"    'Blue Harbor Analytics GmbH' → B-1, B-2: revisit explain 91.198.10.1 {explain}",
        f"    'Minato Logistics' → M-1, M-2: revisit explain 2400:4050:100::5 {explain}",
        f"    'Northwind Traders' → N-1, N-2: revisit explain 64.225.10.7 {explain}",
        more,
    ]
    assert ("matched 0" if said is EN else "休眠顧客に照合 0") in out[0]
