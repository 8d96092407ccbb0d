"""The analysts' web UI and API, served by `revisit web serve` on loopback over PostgreSQL, driven by
a real headless Chromium (Debian's package, through Playwright) and by plain HTTP for the access rules.

The data is the real Apache log in shared/data replayed against an account list with Japanese names
written the messy ways real lists write them. Screenshots go to .test-artifacts/web/.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from revisit.cli import main
from revisit.web.app import SESSION_COOKIE
from revisit.web.auth import hash_password, token_digest
from tests.conftest import APACHE_LOG, REPO, keeping_root_logger, new_postgres_database
from tests.test_cli import CONFIG
from tests.test_worker import free_port

ARTIFACTS = REPO / ".test-artifacts" / "web"
TODAY = "2015-05-21"  # the log covers 17-20 May 2015
ACCOUNTS = (
    "account_id,name,name_kana,aliases,domains,networks,owner_name,owner_email,owner_slack,"
    "last_deal_at,last_contact_at,lost_deal_at,lifetime_value,dormancy_reason,industry\n"
    """W01,株式会社サクラ精機,サクラセイキ,,,130.237.218.0/24,山田太郎,yamada@example.jp,,2014-09-01,,,12000000,timing,製造
W02,㈱あおば商事,アオバショウジ,,,75.97.9.0/24,佐藤花子,sato@example.jp,,2014-02-01,,2014-03-01,3000000,competitor,商社
W03,ﾀﾁﾊﾞﾅ工業(株),タチバナコウギョウ,,,46.105.14.0/24,山田太郎,yamada@example.jp,,2012-04-01,,,500000,forgotten,製造
W04,Rackspace Office Inc.,,,,108.171.116.0/24,Emily Clark,emily@example.com,,2014-08-01,,,2500000,timing,hosting
W05,Active Reader Co.,,,,208.43.252.0/24,Ken,ken@example.com,,2015-03-01,,,,unknown,
W06,かがやき物産株式会社,,,,198.46.149.0/24,佐藤花子,sato@example.jp,,2014-01-10,,,800000,dissatisfied,商社
W07,Quiet Corp,,,,192.0.2.0/24,Ken,ken@example.com,,2013-01-01,,,,unknown,
"""
)
PASSWORDS = {"ana": "analyst-pass-1", "adm": "admin-pass-1", "sal": "sales-pass-1", "yam": "sales-pass-2"}
ROLES = {"ana": "analyst", "adm": "admin", "sal": "sales", "yam": "sales"}
TOKENS = {"analyst": "analyst-token-0123456789", "admin": "admin-token-0123456789", "sales": "sales-token-0123456789"}
# sales users own the accounts whose owner_email is theirs, compared case-insensitively: sal owns W04
# (emily@example.com, the account with alerts), yam and the sales token own W01 and W03 (yamada@example.jp)
EMAILS = {"sal": "Emily@Example.com", "yam": "yamada@example.jp", "sales": "YAMADA@example.jp"}


@pytest.fixture(scope="module")
def web_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web")
    (folder / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    (folder / "replay.toml").write_text(CONFIG, encoding="utf-8")
    with new_postgres_database() as url, keeping_root_logger():
        assert (
            main(
                [
                    "replay",
                    str(APACHE_LOG),
                    "--accounts",
                    str(folder / "accounts.csv"),
                    "--config",
                    str(folder / "replay.toml"),
                    "--db",
                    url,
                    "--workers",
                    "1",
                    "--alerts-jsonl",
                    str(folder / "alerts.jsonl"),
                ]
            )
            == 0
        )
        yield url, folder


@pytest.fixture(scope="module")
def server(web_db):
    url, folder = web_db
    users = "".join(
        f'[[web.users]]\nname = "{name}"\npassword_hash = "{hash_password(password)}"\n'
        f'role = "{ROLES[name]}"\n' + (f'email = "{EMAILS[name]}"\n' if name in EMAILS else "")
        for name, password in PASSWORDS.items()
    )
    tokens = "".join(
        f'[[web.api_tokens]]\nname = "{role}-client"\ntoken_sha256 = "{token_digest(token)}"\nrole = "{role}"\n'
        + (f'email = "{EMAILS[role]}"\n' if role in EMAILS else "")
        for role, token in TOKENS.items()
    )
    config = folder / "web.toml"
    config.write_text(
        CONFIG + "[web]\nsecure_cookies = true\npage_size = 50\nvisits_per_page = 3\n" + users + tokens,
        encoding="utf-8",
    )
    port = free_port()
    with open(folder / "web.log", "w") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "revisit",
                "web",
                "serve",
                "--db",
                url,
                "--config",
                str(config),
                "--port",
                str(port),
                "--today",
                TODAY,
            ],
            env={**os.environ, "REVISIT_WEB_SESSION_SECRET": "test-session-secret-of-at-least-32-bytes"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, (folder / "web.log").read_text()
        time.sleep(0.3)
    yield base
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, (folder / "web.log").read_text()


def keep_session(response: httpx.Response) -> None:
    """The session cookie is Secure, which httpx (rightly) never sends over plain HTTP; browsers treat
    loopback as secure, and so does this hook for the test's client."""
    for header in response.headers.get_list("set-cookie"):
        name, value = header.split(";", 1)[0].split("=", 1)
        if name == SESSION_COOKIE:
            response.request.extensions["client"].cookies.set(name, value)


def session_client(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=False)
    client.event_hooks["request"] = [lambda request: request.extensions.__setitem__("client", client)]
    client.event_hooks["response"] = [keep_session]
    return client


def form_token(response: httpx.Response) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', response.text).group(1)


def logged_in(base: str, name: str) -> tuple[httpx.Client, str]:
    """An HTTP client with a session of ``name``, and the CSRF token of its forms."""
    client = session_client(base)
    csrf = form_token(client.get("/login"))
    response = client.post("/login", data={"name": name, "password": PASSWORDS[name], "csrf": csrf, "next": "/"})
    assert response.status_code == 303 and response.headers["location"] == "/"
    return client, form_token(client.get("/accounts"))


# --- access ------------------------------------------------------------------------------------
PAGES = [
    "/",
    "/accounts",
    "/accounts?tier=A",
    "/accounts/W01",
    "/alerts",
    "/settings",
    "/accounts.csv",
    "/alerts.csv",
    "/accounts/W01/visits.csv",
]
API = ["/api/accounts", "/api/accounts/W01", "/api/alerts", "/api/dashboard"]


def test_without_logging_in_pages_redirect_to_login_and_the_api_answers_401(server) -> None:
    for path in PAGES:
        response = httpx.get(server + path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=%2F"), path
    for path in API:
        response = httpx.get(server + path)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer", path
    assert httpx.get(server + "/api/accounts", headers={"Authorization": "Bearer wrong"}).status_code == 401
    for path in ("/accounts/W01/snooze", "/alerts/x/outcome"):
        assert httpx.post(server + path, data={"days": "1", "reason": "x", "result": "won"}).status_code in (303, 403)


def test_login_rejects_a_wrong_password_and_never_redirects_off_site(server) -> None:
    client = session_client(server)
    csrf = form_token(client.get("/login"))
    wrong = client.post("/login", data={"name": "ana", "password": "nope", "csrf": csrf})
    assert wrong.status_code == 401 and "Wrong name or password" in wrong.text
    assert client.get("/accounts").status_code == 303
    right = client.post(
        "/login", data={"name": "ana", "password": PASSWORDS["ana"], "csrf": csrf, "next": "//evil.example/steal"}
    )
    assert right.status_code == 303 and right.headers["location"] == "/"
    cookie = right.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie


def test_an_analyst_reads_but_cannot_use_admin_actions(server) -> None:
    client, csrf = logged_in(server, "ana")
    for path in PAGES[:-4]:
        assert client.get(path).status_code == (403 if path == "/settings" else 200), path
    assert client.post("/accounts/W01/snooze", data={"days": "7", "reason": "x", "csrf": csrf}).status_code == 403
    alert_id = httpx.get(server + "/api/alerts", headers={"Authorization": f"Bearer {TOKENS['analyst']}"}).json()[
        "items"
    ][0]["alert_id"]
    assert client.post(f"/alerts/{alert_id}/outcome", data={"result": "won", "csrf": csrf}).status_code == 403
    analyst = {"Authorization": f"Bearer {TOKENS['analyst']}"}
    assert (
        httpx.post(server + "/api/accounts/W01/snooze", json={"days": 1, "reason": "x"}, headers=analyst).status_code
        == 403
    )
    assert "snoozed" not in client.get("/accounts/W01").text.lower()


def test_api_errors_are_in_the_readers_language(server) -> None:
    ja = {"Accept-Language": "ja-JP,ja;q=0.9"}
    analyst = {"Authorization": f"Bearer {TOKENS['analyst']}", **ja}
    denied = httpx.post(server + "/api/accounts/W01/snooze", json={"days": 1, "reason": "x"}, headers=analyst)
    assert denied.status_code == 403 and denied.headers["content-language"] == "ja"
    assert denied.json() == {"detail": "この操作には管理者の権限、またはこの取引先の担当者（営業）であることが必要です"}
    anonymous = httpx.get(server + "/api/alerts", headers=ja)
    assert anonymous.status_code == 401
    assert anonymous.json() == {"detail": "ログインするか、Bearer トークンを付けて送ってください"}
    assert httpx.get(server + "/api/alerts").json() == {"detail": "log in or send a bearer token"}


def test_forms_need_their_csrf_token_and_api_writes_need_a_bearer_token(server) -> None:
    client, csrf = logged_in(server, "adm")
    assert client.post("/accounts/W02/snooze", data={"days": "7", "reason": "no token"}).status_code == 403
    assert client.post("/accounts/W02/snooze", data={"days": "7", "reason": "x", "csrf": "forged"}).status_code == 403
    assert client.post("/api/accounts/W02/snooze", json={"days": 7, "reason": "cookie only"}).status_code == 403
    ok = client.post("/accounts/W02/snooze", data={"days": "7", "reason": "商談中", "csrf": csrf})
    assert ok.status_code == 303 and "Snoozed" in client.get(ok.headers["location"]).text
    admin = {"Authorization": f"Bearer {TOKENS['admin']}"}
    answer = httpx.post(server + "/api/accounts/W03/snooze", json={"days": 3, "reason": "via API"}, headers=admin)
    assert answer.status_code == 200 and answer.json()["account_id"] == "W03"
    assert (
        httpx.post(server + "/api/accounts/W03/snooze", json={"days": -1, "reason": ""}, headers=admin).status_code
        == 422
    )


def test_the_api_serves_the_same_data_with_openapi_docs(server) -> None:
    analyst = {"Authorization": f"Bearer {TOKENS['analyst']}"}
    accounts = httpx.get(server + "/api/accounts", params={"sort": "name", "order": "asc"}, headers=analyst).json()
    assert [a["name"] for a in accounts["items"]] == [
        "Active Reader Co.",
        "Rackspace Office Inc.",
        "㈱あおば商事",
        "株式会社サクラ精機",
        "ﾀﾁﾊﾞﾅ工業(株)",
    ]
    assert {a["account_id"]: a["tier"] for a in accounts["items"]} == {
        "W01": "A",
        "W02": "B",
        "W03": "C",
        "W04": "A",
        "W05": "active",
    }
    found = httpx.get(server + "/api/accounts", params={"q": "ｻｸﾗ"}, headers=analyst).json()["items"]
    assert [a["account_id"] for a in found] == ["W01"]
    # the legal form where the list does not write it, or spelled out where the list abbreviates it
    for query, account_id in (
        ("サクラ精機株式会社", "W01"),
        ("株式会社あおば商事", "W02"),
        ("タチバナ工業株式会社", "W03"),
    ):
        found = httpx.get(server + "/api/accounts", params={"q": query}, headers=analyst).json()["items"]
        assert [a["account_id"] for a in found] == [account_id], query
    detail = httpx.get(server + "/api/accounts/W01", headers=analyst).json()
    assert detail["name"] == "株式会社サクラ精機" and detail["visits"][0]["pages"]
    assert detail["evidence"] == [
        {
            "network": "130.237.218.0/24",
            "resolver": "account_networks",
            "organization": "株式会社サクラ精機",
            "detail": "130.237.218.0/24 is listed on account W01",
        }
    ]
    detail = httpx.get(server + "/api/accounts/W04", headers=analyst).json()
    assert detail["alerts"] and detail["alerts"][0]["match"]["method"] == "network"
    assert httpx.get(server + "/api/accounts", params={"tier": "Z"}, headers=analyst).status_code == 422
    schema = httpx.get(server + "/api/openapi.json", headers=analyst).json()
    assert {"/api/accounts", "/api/accounts/{account_id}", "/api/alerts", "/api/dashboard"} <= set(schema["paths"])


# --- in a real browser -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("no chromium: run the suite with `make test` (tests/run.sh installs Debian's chromium)")
        pytest.skip("no chromium: install Debian's chromium package or run `make test`")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield browser
        browser.close()


def log_in(browser, server: str, name: str, start: str = "/accounts"):
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page.goto(server + start)
    assert "/login" in page.url
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORDS[name])
    page.click("button:has-text('Log in')")
    page.wait_for_url(f"{server}{start}")
    return page


def account_names(page) -> list[str]:
    return page.locator("#accounts tbody td:first-child > a").all_inner_texts()


def test_an_analyst_filters_opens_an_account_and_exports_csv_in_a_browser(browser, server) -> None:
    page = log_in(browser, server, "ana")
    page.screenshot(path=str(ARTIFACTS / "accounts.png"), full_page=True)
    assert set(account_names(page)) == {
        "株式会社サクラ精機",
        "㈱あおば商事",
        "ﾀﾁﾊﾞﾅ工業(株)",
        "Rackspace Office Inc.",
        "Active Reader Co.",
    }
    page.select_option("select[name=tier]", "A")
    page.click("button:has-text('Filter')")
    page.wait_for_url(re.compile(r".*tier=A.*"))
    assert sorted(account_names(page)) == ["Rackspace Office Inc.", "株式会社サクラ精機"]
    with page.expect_download() as download:
        page.click("a:has-text('Export CSV')")
    content = Path(download.value.path()).read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert sorted((r["account_id"], r["name"], r["tier"], r["owner"]) for r in rows) == [
        ("W01", "株式会社サクラ精機", "A", "山田太郎"),
        ("W04", "Rackspace Office Inc.", "A", "Emily Clark"),
    ]
    page.select_option("select[name=tier]", "")
    page.fill("input[name=q]", "さくら")  # hiragana finds the katakana name, 株式会社 and all
    page.click("button:has-text('Filter')")
    page.wait_for_url(re.compile(r".*q=.*"))
    assert account_names(page) == ["株式会社サクラ精機"]
    page.click("text=株式会社サクラ精機")
    page.wait_for_url(f"{server}/accounts/W01")
    assert page.locator("h1").inner_text().startswith("株式会社サクラ精機")
    evidence = page.locator("section.card", has_text="How we know").inner_text()
    assert "130.237.218.0/24" in evidence and "network" in evidence
    visits = page.locator(".timeline > li")
    assert visits.first.inner_text().startswith("2015-05-20 17:05–17:05 (JST)")  # 08:05 UTC
    assert page.locator("form[action$='/snooze']").count() == 0  # no admin forms for an analyst
    page.screenshot(path=str(ARTIFACTS / "account.png"), full_page=True)
    page.close()


def test_japanese_names_render_and_sort_by_their_reading_in_a_browser(browser, server) -> None:
    page = log_in(browser, server, "ana")
    page.click("#accounts th a:has-text('Account')")
    page.wait_for_url(re.compile(r".*sort=name.*"))
    assert account_names(page) == [
        "Active Reader Co.",
        "Rackspace Office Inc.",
        "㈱あおば商事",
        "株式会社サクラ精機",
        "ﾀﾁﾊﾞﾅ工業(株)",
    ]  # あ, さ, た: by reading, 株式会社 ignored
    page.click("#accounts th a:has-text('Account')")
    page.wait_for_url(re.compile(r".*order=desc.*"))
    assert account_names(page)[0] == "ﾀﾁﾊﾞﾅ工業(株)"
    # the glyphs are drawn: a Japanese name is wider than the same number of missing-glyph boxes
    width = page.locator("#accounts tbody a", has_text="株式会社サクラ精機").bounding_box()["width"]
    assert width > 80
    page.screenshot(path=str(ARTIFACTS / "accounts-by-name.png"), full_page=True)
    page.close()


def test_an_admin_records_an_outcome_and_sees_it_on_the_dashboard_in_a_browser(browser, server) -> None:
    page = log_in(browser, server, "adm", start="/accounts/W04")
    row = page.locator("#alerts tbody tr").first
    row.locator("select[name=result]").select_option("meeting")
    row.locator("input[name=note]").fill("打ち合わせ設定済み")
    row.locator("button:has-text('Record')").click()
    assert page.locator("#confirm-outcome").inner_text() == "meeting set"
    page.click("button:has-text('Yes, record it')")
    page.wait_for_url(re.compile(r".*message=.*"))
    assert "Outcome recorded: meeting set" in page.locator(".message").inner_text()
    assert "meeting set (adm): 打ち合わせ設定済み" in page.locator("#alerts tbody tr").first.inner_text()
    page.goto(server + "/")
    assert "meeting" in page.locator("section.card", has_text="Outcomes").inner_text()
    assert page.locator("svg.chart rect.bar").count() == 28
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    page.goto(server + "/alerts")
    assert "meeting" in page.locator("#alert-log").inner_text()
    page.close()


def test_pages_run_a_fixed_number_of_queries_whatever_the_rows(web_db) -> None:
    """No N+1: a page's statements do not grow with its visits, alerts or list rows."""
    from dataclasses import replace
    from datetime import date

    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from revisit.core.config import WebUser, load_settings
    from revisit.storage.store import Store
    from revisit.web.app import create_app

    url, _ = web_db
    settings = load_settings(
        None, {"REVISIT_WEB__SECURE_COOKIES": "false", "REVISIT_WEB__SESSION_SECRET_REQUIRED": "false"}
    )
    settings = replace(settings, web=replace(settings.web, users=(WebUser("ana", hash_password("pw-ana-123")),)))
    store = Store(url)
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    client = TestClient(create_app(settings, store, lambda: date.fromisoformat(TODAY)))
    csrf = form_token(client.get("/login"))
    client.post("/login", data={"name": "ana", "password": "pw-ana-123", "csrf": csrf})

    def count(path: str) -> int:
        statements.clear()
        assert client.get(path).status_code == 200, path
        return len(statements)

    few, many = "W05", "W04"  # 1 visit and no alert; many visits, several alerts
    detail = client.get(f"/api/accounts/{many}").json()
    assert len(detail["visits"]) > 5 and len(detail["alerts"]) > 2
    session = 1  # every request looks its session up
    assert count(f"/accounts/{few}") <= count(f"/accounts/{many}") <= 14 + session  # + the ledger's networks
    assert count("/alerts?tier=C") <= count("/alerts") <= 6 + session
    assert count("/accounts") <= count("/accounts?q=nothing-like-this") <= 4 + session  # + a count when empty
    store.close()


# --- issue 22: the team's time zone --------------------------------------------------------------
ANALYST = {"Authorization": f"Bearer {TOKENS['analyst']}"}


def csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_days_begin_at_midnight_in_tokyo_and_every_exported_time_carries_its_offset(server, web_db) -> None:
    """W05's visits (208.43.252.0/24) run from 18 May 21:05 UTC to 19 May 14:05 UTC: that is
    19 May 06:05-23:05 in Tokyo, the business-hours zone the test config leaves as the default."""

    def ids(day: str) -> set[str]:
        answer = httpx.get(server + "/api/accounts", params={"since": day, "until": day}, headers=ANALYST).json()
        return {item["account_id"] for item in answer["items"]}

    assert "W05" in ids("2015-05-19") and "W05" not in ids("2015-05-18")
    detail = httpx.get(server + "/api/accounts/W05", headers=ANALYST).json()
    first_visit, last_visit = detail["visits"][-1], detail["visits"][0]
    assert (first_visit["started_at"], last_visit["last_seen"]) == (
        "2015-05-19T06:05:02+09:00",
        "2015-05-19T23:05:52+09:00",
    )
    assert first_visit["pages"][0]["at"] == "2015-05-19T06:05:02+09:00"
    listed = httpx.get(server + "/api/accounts", params={"q": "Active Reader"}, headers=ANALYST).json()["items"]
    assert [a["last_visit"] for a in listed] == ["2015-05-19T23:05:52+09:00"]
    alerts = httpx.get(server + "/api/alerts", headers=ANALYST).json()["items"]
    assert alerts and all(a["triggered_at"].endswith("+09:00") for a in alerts)

    client, _ = logged_in(server, "ana")
    visits = csv_rows(client.get("/accounts/W05/visits.csv"))
    assert (visits[0]["occurred_at"], visits[-1]["occurred_at"]) == (
        "2015-05-19T06:05:02+09:00",
        "2015-05-19T23:05:52+09:00",
    )
    exported = csv_rows(client.get("/accounts.csv", params={"q": "Active Reader"}))
    assert [r["last_visit"] for r in exported] == ["2015-05-19T23:05:52+09:00"]
    assert all(r["triggered_at"].endswith("+09:00") for r in csv_rows(client.get("/alerts.csv")))
    page = client.get("/accounts", params={"since": "2015-05-19", "until": "2015-05-19"}).text
    assert "2015-05-19 23:05" in page and "(JST)" in page  # the zone as the CLI and the alerts name it

    # the chart's days are Tokyo days: the same counts as Python's zoneinfo gives the stored starts
    from collections import Counter
    from datetime import date, timedelta
    from zoneinfo import ZoneInfo

    from sqlalchemy import create_engine, text

    engine = create_engine(web_db[0])
    with engine.connect() as connection:
        starts = connection.execute(text("select account_id, started_at from sessions")).all()
        alert_times = connection.execute(text("select triggered_at from alerts")).scalars().all()
    engine.dispose()
    tokyo = ZoneInfo("Asia/Tokyo")
    listed = httpx.get(server + "/api/accounts", params={"since": "2000-01-01"}, headers=ANALYST).json()["items"]
    active = {a["account_id"] for a in listed if a["tier"] == "active"}
    assert active == {"W05"}  # a customer now: no dormant account that came back, not in the chart
    days_seen = {(a, t.astimezone(tokyo).date()) for a, t in starts if a not in active}
    accounts_by_day = Counter(day for _, day in days_seen)
    alerts_by_day = Counter(t.astimezone(tokyo).date() for t in alert_times)
    trend = httpx.get(server + "/api/dashboard", headers=ANALYST).json()["trend"]
    first = date.fromisoformat(TODAY) - timedelta(days=27)
    expected = [
        {"day": str(d), "accounts": accounts_by_day[d], "alerts": alerts_by_day[d]}
        for d in (first + timedelta(days=n) for n in range(28))
    ]
    assert trend == expected and sum(t["accounts"] for t in trend) > 0


def test_an_unknown_time_zone_is_a_configuration_error() -> None:
    from dataclasses import replace

    from revisit.core.config import load_settings
    from revisit.core.errors import BadInput
    from revisit.web.clock import web_clock

    settings = load_settings(None, {})
    assert web_clock(settings).name == "Asia/Tokyo"  # the business-hours zone
    assert web_clock(load_settings(None, {"REVISIT_WEB__TIMEZONE": "Europe/Berlin"})).name == "Europe/Berlin"
    # beside times: JST as the command line and alerts write it; a zone with summer time by its name
    assert web_clock(settings).label == "JST"
    assert web_clock(load_settings(None, {"REVISIT_WEB__TIMEZONE": "UTC"})).label == "UTC"
    assert web_clock(load_settings(None, {"REVISIT_WEB__TIMEZONE": "Europe/Berlin"})).label == "Europe/Berlin"
    with pytest.raises(BadInput, match="web.timezone: 'Mars/Olympus' is not an IANA time zone"):
        web_clock(replace(settings, web=replace(settings.web, timezone="Mars/Olympus")))


# --- issue 22: Japanese and English --------------------------------------------------------------
def screenshots(page, name: str) -> None:
    """The page at a desktop's width and a phone's (390 px), full length, into ARTIFACTS."""
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_japanese_browser_gets_japanese_pages_and_the_switch_keeps_english_across_logins(browser, server) -> None:
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})  # Accept-Language: ja-JP
    page = context.new_page()
    page.goto(server + "/accounts/W01")
    assert page.locator("html").get_attribute("lang") == "ja"
    page.fill("input[name=name]", "ana")
    page.fill("input[name=password]", PASSWORDS["ana"])
    page.click("button:has-text('ログイン')")
    page.wait_for_url(f"{server}/accounts/W01")
    assert page.locator("html").get_attribute("lang") == "ja"
    card = page.locator("section.card").first.inner_text()
    assert "休眠の理由\n前回はタイミングが合わなかった" in card and "timing" not in card  # the code as words
    assert page.locator("#evidence h2").inner_text() == "この会社だと分かる根拠"
    assert page.locator("nav a[href='/accounts']").inner_text() == "取引先"
    font = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert font.startswith('"Hiragino Sans"') and "Meiryo" in font and "Noto Sans CJK JP" in font
    screenshots(page, "ja-account")
    page.goto(server + "/")
    assert page.locator("h1").inner_text().startswith("今週")
    screenshots(page, "ja-dashboard")
    page.goto(server + "/accounts")
    assert page.locator("#accounts thead").inner_text().split("\t")[:2] == ["取引先", "ランク"]
    screenshots(page, "ja-accounts")

    page.click("button:has-text('English')")
    page.wait_for_url(f"{server}/accounts")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text().startswith("Accounts that came back")
    page.click("button:has-text('Log out')")
    page.wait_for_url(re.compile(r".*/login$"))
    assert page.locator("html").get_attribute("lang") == "en"  # the person's choice outlives the session
    page.fill("input[name=name]", "ana")
    page.fill("input[name=password]", PASSWORDS["ana"])
    page.click("button:has-text('Log in')")
    page.goto(server + "/accounts/W01")
    assert "Why quiet\nthe timing was wrong" in page.locator("section.card").first.inner_text()
    page.click("button:has-text('日本語')")
    page.wait_for_url(f"{server}/accounts/W01")
    assert page.locator("html").get_attribute("lang") == "ja"
    context.close()


def test_web_locale_sets_the_language_for_browsers_that_ask_for_another(web_db) -> None:
    from dataclasses import replace
    from datetime import date

    from fastapi.testclient import TestClient

    from revisit.core.config import load_settings
    from revisit.storage.store import Store
    from revisit.web.app import create_app

    settings = load_settings(None, {"REVISIT_WEB__SESSION_SECRET_REQUIRED": "false"})
    store = Store(web_db[0])
    try:
        english = TestClient(create_app(settings, store, lambda: date.fromisoformat(TODAY)))
        answer = english.get("/login", headers={"Accept-Language": "fr-CH, fr;q=0.9, ja;q=0.8, en;q=0.7"})
        assert answer.headers["content-language"] == "ja" and '<html lang="ja">' in answer.text
        answer = english.get("/login", headers={"Accept-Language": "de"})
        assert answer.headers["content-language"] == "en" and "Dormant customers who came back." in answer.text
        fixed = replace(settings, web=replace(settings.web, locale="ja"))
        japanese = TestClient(create_app(fixed, store, lambda: date.fromisoformat(TODAY)))
        answer = japanese.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
        assert answer.headers["content-language"] == "ja" and "戻ってきた休眠顧客をお知らせします。" in answer.text
    finally:
        store.close()


def test_every_message_of_the_web_ui_has_a_japanese_translation_compiled_in_the_package(tmp_path) -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    web = REPO / "revisit" / "web"
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "extract",
            "-F",
            str(web / "babel.cfg"),
            "-k",
            "N_",
            "-o",
            str(pot),
            str(web),
        ],
        check=True,
        capture_output=True,
    )
    wanted = {message.id for message in read_po(pot.open("rb")) if message.id}
    po = web / "locale" / "ja" / "LC_MESSAGES" / "messages.po"
    catalog = read_po(po.open("rb"))
    translated = {message.id for message in catalog if message.id and message.string and not message.fuzzy}
    assert len(wanted) > 100 and wanted - translated == set()
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    assert (po.parent / "messages.mo").read_bytes() == compiled.getvalue(), "run: pybabel compile -d revisit/web/locale"


# --- issue 22: self-contained and careful ------------------------------------------------------
def test_the_api_docs_come_from_the_package_only_to_signed_in_users_and_declare_the_bearer_scheme(
    browser, server
) -> None:
    for path in ("/api/docs", "/api/docs/swagger-ui-bundle.js", "/api/docs/swagger-ui.css"):
        answer = httpx.get(server + path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next="), path
    assert httpx.get(server + "/api/openapi.json").status_code == 401
    schema = httpx.get(server + "/api/openapi.json", headers=ANALYST).json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert schema["paths"]["/api/accounts"]["get"]["security"] == [{"HTTPBearer": []}]

    page = log_in(browser, server, "ana", start="/api/docs")
    requested: list[str] = []
    refused: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else 0)
    response = page.goto(server + "/api/docs")
    policy = response.headers["content-security-policy"]
    assert "http" not in policy and "script-src 'self';" in policy  # no CDN allowed, nothing inline
    page.wait_for_selector(".swagger-ui .info .title")
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("revisit")
    paths = {text.replace("\u200b", "") for text in page.locator(".opblock-summary-path").all_inner_texts()}
    assert {"/api/accounts", "/api/accounts/{account_id}", "/api/alerts", "/api/dashboard"} <= paths
    assert requested and all(url.startswith(server + "/") for url in requested), requested
    assert refused == []
    page.screenshot(path=str(ARTIFACTS / "api-docs-1280.png"))
    page.close()


def test_browsers_get_error_pages_with_navigation_and_the_api_and_scripts_get_json(browser, server) -> None:
    client, csrf = logged_in(server, "ana")
    html = {"Accept": "text/html,application/xhtml+xml"}
    page = client.get("/accounts/NOPE", headers=html)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "no account &#39;NOPE&#39;" in page.text and 'href="/accounts"' in page.text
    assert client.get("/accounts/NOPE").json() == {"detail": "no account 'NOPE'"}  # curl, scripts
    assert client.get("/api/accounts/NOPE", headers=html).json() == {"detail": "no account 'NOPE'"}
    form = client.post("/alerts/any/outcome", data={"csrf": csrf}, headers=html)
    assert form.status_code == 422 and "result: required" in form.text and "<nav" in form.text
    form = client.post("/alerts/any/outcome", data={"csrf": csrf}, headers=html | {"Accept-Language": "ja"})
    assert form.status_code == 422 and "result: 必須です" in form.text and "Field required" not in form.text

    browser_page = log_in(browser, server, "ana", start="/accounts")
    answer = browser_page.goto(server + "/no/such/page")
    assert answer.status == 404
    assert browser_page.locator("h1").inner_text() == "Not found 404"
    browser_page.click("a:has-text('Back to the dashboard')")
    browser_page.wait_for_url(server + "/")
    browser_page.close()


def test_the_visits_export_shows_visitor_networks_not_addresses_unless_privacy_allows(server, web_db) -> None:
    client, _ = logged_in(server, "ana")
    rows = csv_rows(client.get("/accounts/W01/visits.csv"))
    assert len(rows) > 10 and {r["client_ip"] for r in rows} == {"130.237.218.0/24"}

    from dataclasses import replace
    from datetime import date

    from fastapi.testclient import TestClient

    from revisit.core.config import WebUser, load_settings
    from revisit.storage.store import Store
    from revisit.web.app import create_app

    settings = load_settings(
        None, {"REVISIT_WEB__SECURE_COOKIES": "false", "REVISIT_WEB__SESSION_SECRET_REQUIRED": "false"}
    )
    store = Store(web_db[0])
    try:
        for shown, expected in (("full", r"130\.237\.218\.\d{1,3}"), ("none", "")):
            chosen = replace(
                settings,
                web=replace(settings.web, users=(WebUser("ana", hash_password("pw-ana-123")),)),
                privacy=replace(settings.privacy, web_visitor_ips=shown),
            )
            test_client = TestClient(create_app(chosen, store, lambda: date.fromisoformat(TODAY)))
            csrf = form_token(test_client.get("/login"))
            test_client.post("/login", data={"name": "ana", "password": "pw-ana-123", "csrf": csrf})
            addresses = {r["client_ip"] for r in csv_rows(test_client.get("/accounts/W01/visits.csv"))}
            assert addresses and all(re.fullmatch(expected, a) for a in addresses), (shown, addresses)
    finally:
        store.close()


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_exported_as_text() -> None:
    from revisit.web.pages import csv_response

    cells = [
        '=HYPERLINK("http://evil.example","x")',
        "+81 3 1234",
        "-1+2",
        "@SUM(A1)",
        "\tx",
        "\rx",
        "サクラ",
        -5,
        None,
    ]
    answer = csv_response("x.csv", ["value"], [[cell] for cell in cells])
    rows = list(csv.reader(io.StringIO(answer.body.decode("utf-8-sig"), newline="")))
    assert [row[0] for row in rows[1:]] == [
        '\'=HYPERLINK("http://evil.example","x")',
        "'+81 3 1234",
        "'-1+2",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "サクラ",
        "-5",
        "",
    ]


# --- issue 22: a home page that names names ----------------------------------------------------
def test_the_home_page_names_who_came_back_hottest_first_and_draws_both_series_with_a_table(browser, server) -> None:
    week = httpx.get(
        server + "/api/accounts",
        params={"since": "2015-05-15", "until": TODAY, "sort": "score"},
        headers=ANALYST,
    ).json()["items"]
    week = [a for a in week if a["tier"] != "active"]  # customers now are not "back"
    page = log_in(browser, server, "ana", start="/")
    rows = page.locator("#came-back-list tbody tr")
    names = rows.locator("td:first-child a").all_inner_texts()
    assert sorted(names) == sorted(a["name"] for a in week) and len(names) == 4
    scores = [int(s) for s in rows.locator("td:nth-child(3)").all_inner_texts()]
    assert scores == sorted(scores, reverse=True) == sorted((a["max_score"] for a in week), reverse=True)
    first = next(a for a in week if a["name"] == names[0])
    cells = rows.first.locator("td").all_inner_texts()
    assert cells[1] == f"{first['tier']} {dict(A='recently dormant', B='dormant', C='long dormant')[first['tier']]}"
    assert cells[4] == first["owner_name"]
    assert cells[5] == first["last_visit"][5:16].replace("T", " ")  # MM-DD HH:MM in Tokyo time
    client, _ = logged_in(server, "ana")
    visited = csv_rows(client.get(f"/accounts/{first['account_id']}/visits.csv"))
    read = rows.first.locator("td:nth-child(4) .label").all_inner_texts()
    assert read and set(read) <= {r["page_label"] or r["path"] for r in visited}
    tiers = page.locator("details.tiers")
    tiers.locator("summary").click()
    assert "no deal or contact for 6 to 12 months" in tiers.inner_text()

    bars, alert_bars = page.locator("svg.chart rect.bar"), page.locator("svg.chart rect.bar2")
    assert bars.count() == alert_bars.count() == 28
    beside = [float(bars.nth(i).get_attribute("x")) + float(bars.nth(i).get_attribute("width")) for i in range(3)]
    second = [float(alert_bars.nth(i).get_attribute("x")) for i in range(3)]
    assert all(abs(a - b) <= 0.1 for a, b in zip(beside, second, strict=True))  # side by side (rounded to 0.1)
    assert page.locator("svg.chart text.axis").count() >= 2  # a y axis with its scale
    trend = httpx.get(server + "/api/dashboard", headers=ANALYST).json()["trend"]
    page.locator("summary", has_text="The same as a table").click()
    table = [row.split("\t") for row in page.locator("#trend-table tbody tr").all_inner_texts()]
    assert table == [[t["day"], str(t["accounts"]), str(t["alerts"])] for t in trend]
    screenshots(page, "dashboard")
    page.close()


# --- issue 22: phones and accessibility --------------------------------------------------------
AXE = REPO / ".test-tools" / "node_modules" / "axe-core" / "axe.min.js"  # installed by tests/run.sh from npm
A11Y_PAGES = [
    "/",
    "/accounts",
    "/accounts?sort=name",
    "/accounts/W04",
    "/accounts/W04?visits_page=2",
    "/alerts",
    "/settings",
    "/no/such/page",
]


def axe_problems(page) -> list[str]:
    """Serious and critical violations of axe-core's WCAG 2 A and AA rules on the page as it is."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', "
        "'wcag21aa']}, resultTypes: ['violations']})"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']} {v['nodes'][0]['failureSummary'][:200]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("locale", ["en-US", "ja-JP"])
def test_every_page_passes_axe_and_fits_a_390_px_phone_without_sideways_scrolling(browser, server, locale) -> None:
    if not AXE.is_file():
        if os.environ.get("CI"):
            pytest.fail("no axe-core: run the suite with `make test` (tests/run.sh installs it from npm)")
        pytest.skip("no axe-core: run `npm install --prefix .test-tools axe-core` or `make test`")
    # the policy forbids scripts the page did not load itself: axe is added by the test, so only here
    context = browser.new_context(locale=locale, bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server + "/login")
    assert axe_problems(page) == [], "/login"
    page.fill("input[name=name]", "adm")
    page.fill("input[name=password]", PASSWORDS["adm"])
    page.click("button[type=submit]:not([name])")
    page.wait_for_url(server + "/")
    assert page.locator("a.skip-link").get_attribute("href") == "#main"
    for path in A11Y_PAGES:
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(server + path)
            assert axe_problems(page) == [], (path, width)
            if width == 390:
                assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
            name = path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-") or "home"
            page.screenshot(path=str(ARTIFACTS / f"a11y-{locale}-{name}-{width}.png"), full_page=True)
    context.close()


def test_the_settings_page_has_sections_masks_secrets_and_names_the_database_in_use(server, web_db) -> None:
    from revisit.core.config import masked_url

    client, _ = logged_in(server, "adm")
    page = client.get("/settings", headers={"Accept-Language": "en"}).text
    in_use = re.search(r'<code id="database-in-use">([^<]*)</code>', page).group(1)
    assert in_use == masked_url(web_db[0]).replace("&", "&amp;")  # --db, not the config's database_url
    sections = re.findall(r'<h2 id="section-\d+">([^<]*)</h2>', page)
    assert sections[0] == "General" and {"[web]", "[privacy]", "[delivery]", "[dormancy]"} <= set(sections)
    assert (
        "<code>timezone</code>" in page
        and "<code>web_visitor_ips</code>" in page
        and "<code>users[0].name</code>" in page
    )
    assert "$argon2" not in page and token_digest(TOKENS["admin"]) not in page
    assert page.count("<code>***</code>") == len(PASSWORDS) + len(TOKENS)


def test_a_date_range_that_ends_before_it_starts_is_explained_not_run(server) -> None:
    client, _ = logged_in(server, "ana")
    backwards = {"since": "2015-05-20", "until": "2015-05-18"}
    for path in ("/accounts", "/alerts"):
        english = client.get(path, params=backwards, headers={"Accept-Language": "en"})
        assert english.status_code == 400
        assert "From (2015-05-20) is after To (2015-05-18): swap them or change one" in english.text
        japanese = client.get(path, params=backwards, headers={"Accept-Language": "ja"})
        assert "開始日（2015-05-20）が終了日（2015-05-18）より後です" in japanese.text
    assert client.get("/accounts.csv", params=backwards).status_code == 400
    for path in ("/api/accounts", "/api/alerts"):
        answer = httpx.get(server + path, params=backwards, headers=ANALYST)
        assert answer.status_code == 422 and "since (2015-05-20) is after until (2015-05-18)" in answer.text


# --- issue 22: people ----------------------------------------------------------------------------
def test_an_admin_undoes_a_snooze_in_a_browser_and_an_analyst_cannot(browser, server) -> None:
    analyst, csrf = logged_in(server, "ana")
    assert analyst.post("/accounts/W05/snooze/end", data={"csrf": csrf}).status_code == 403
    page = log_in(browser, server, "adm", start="/accounts/W05")
    page.fill("input[name=days]", "10")
    page.fill("input[name=reason]", "展示会後に連絡予定")
    page.click("button:has-text('Snooze')")
    page.wait_for_url(re.compile(r".*message=.*"))
    assert ", by adm: 展示会後に連絡予定" in page.locator("#snooze").inner_text()  # who and why
    assert page.locator("input[name=days]").count() == 0  # snoozed: ended first, then snoozed anew
    assert httpx.get(server + "/api/accounts/W05", headers=ANALYST).json()["snoozed_until"] is not None
    page.click("button:has-text('End the snooze')")
    page.wait_for_url(re.compile(r".*message=.*"))
    assert page.locator(".message").inner_text() == "Snooze ended: alerts are delivered again"
    assert "Snoozed" not in page.locator("#account-card").inner_text()
    assert page.locator("input[name=days]").count() == 1
    assert httpx.get(server + "/api/accounts/W05", headers=ANALYST).json()["snoozed_until"] is None
    page.close()


# --- issue 22: an account page to act from -------------------------------------------------------
def test_the_account_page_says_what_to_do_once_then_shows_what_they_read_where_from_and_what_is_new(
    browser, server
) -> None:
    from collections import Counter

    api = httpx.get(server + "/api/accounts/W04", headers=ANALYST).json()
    client, _ = logged_in(server, "ana")
    hits = csv_rows(client.get("/accounts/W04/visits.csv"))
    sessions: dict[str, str] = {}
    for hit in hits:  # a visit begins with its first page
        sessions[hit["session_id"]] = min(sessions.get(hit["session_id"], hit["occurred_at"]), hit["occurred_at"])
    last_alert = max(alert["triggered_at"] for alert in api["alerts"])
    after = sorted((start for start in sessions.values() if start > last_alert), reverse=True)
    read = Counter(hit["page_label"] or hit["path"] for hit in hits)
    expected_top = sorted(read.items(), key=lambda item: (-item[1], item[0]))[:10]
    unanswered = sum(1 for alert in api["alerts"] if not alert["outcomes"])

    page = log_in(browser, server, "ana", start="/accounts/W04")
    summary = page.locator("#summary")
    assert summary.locator("#dormant-for").inner_text() == "9 months (since 2014-08-01)"  # last deal, today 05-21
    assert "Lost deal\n—" in summary.inner_text() and "the timing was wrong" in summary.inner_text()
    assert (
        summary.locator("#unanswered")
        .inner_text()
        .startswith(
            f"alerted {unanswered} times without an outcome" if unanswered != 1 else "alerted 1 time without an outcome"
        )
    )
    approach, opening = summary.locator("#approach").inner_text(), summary.locator("#opening-line").inner_text()
    assert approach.startswith("Call or write personally soon") and opening.startswith(
        "Hello Rackspace Office Inc. team"
    )
    body = page.locator("main").inner_text()
    assert body.count(approach) == 1 and body.count(opening) == 1  # once, not again per alert
    assert (
        summary.locator("#since-alert")
        .inner_text()
        .startswith(f"{len(after)} new visit" + ("" if len(after) == 1 else "s"))
    )

    top = page.locator("#top-pages li").all_inner_texts()
    assert top == [f"{what} {count} time{'s' if count != 1 else ''}" for what, count in expected_top]
    assert (
        "feedburner / feed / Feed: semicomplete/main (semicomplete.com - Jordan Sissel)"
        in page.locator("#campaigns").inner_text()
    )
    assert page.locator("#campaigns li").count() == len(api["campaigns"]) >= 1
    referrers = page.locator("#referrers li").all_inner_texts()
    assert sum(int(re.search(r"(\d+) visits?$", r).group(1)) for r in referrers) <= len(sessions)

    page.locator("summary", has_text="The same as a table").click()
    daily = [row.split("\t") for row in page.locator("#daily-table tbody tr").all_inner_texts()]
    assert len(daily) == 30 and daily[-1][0] == TODAY
    by_day = Counter(start[:10] for start in sessions.values())  # local (Tokyo) dates from the CSV
    assert {day: int(visits) for day, visits, _pages in daily if int(visits)} == dict(by_day)

    shown = page.locator(".timeline > li")
    newest = sorted(sessions.values(), reverse=True)
    assert shown.count() == 3  # web.visits_per_page in this test's config
    marked = page.locator(".timeline > li.after-alert")
    assert marked.count() == sum(1 for start in newest[:3] if start > last_alert)
    assert all("after the last alert" in text for text in marked.all_inner_texts())
    screenshots(page, "account-summary")
    assert len(sessions) == 7
    page.click("#visits-pager a[rel=next]")
    page.wait_for_url(re.compile(r".*visits_page=2.*"))
    assert page.locator(".timeline > li h3").all_inner_texts()[0].startswith(newest[3][:16].replace("T", " "))
    assert page.locator("#visits-pager").inner_text().startswith("page 2 of 3")
    page.click("#visits-pager a[rel=next]")
    page.wait_for_url(re.compile(r".*visits_page=3.*"))
    assert page.locator(".timeline > li").count() == 1
    assert client.get("/accounts/W04", params={"visits_page": "0"}).status_code == 400
    page.close()

    japanese = browser.new_context(locale="ja-JP", viewport={"width": 390, "height": 900}).new_page()
    japanese.goto(server + "/login?next=/accounts/W04")
    japanese.fill("input[name=name]", "ana")
    japanese.fill("input[name=password]", PASSWORDS["ana"])
    japanese.click("button[type=submit]:not([name])")
    japanese.wait_for_url(server + "/accounts/W04")
    ja_summary = japanese.locator("#summary").inner_text()
    assert "9 か月 （2014-08-01 から）" in ja_summary and "前回はタイミングが合わなかった" in ja_summary
    assert "Rackspace Office Inc." in japanese.locator("#opening-line").inner_text()
    assert "ご都合のよろしいときに" in japanese.locator("#opening-line").inner_text()
    # the alerts' words: the currency (alerts.currency, JPY) and the headings of the approach
    assert "累計取引額\n￥2,500,000" in japanese.locator("#account-card").inner_text()
    assert "おすすめの対応" in ja_summary and "書き出し例" in ja_summary
    assert japanese.evaluate("document.documentElement.scrollWidth") <= 390
    japanese.context.close()


# --- issue 22: the sales role, confirmed outcomes ------------------------------------------------
def test_a_sales_rep_reads_everything_but_acts_only_on_the_accounts_it_owns(server) -> None:
    detail = lambda account_id: httpx.get(f"{server}/api/accounts/{account_id}", headers=ANALYST).json()  # noqa: E731
    emilys = detail("W04")["alerts"]
    assert emilys
    yamada, csrf = logged_in(server, "yam")  # owns W01 and W03, not W04
    for path in ("/", "/accounts", "/accounts/W04", "/alerts", "/accounts.csv", "/accounts/W04/visits.csv"):
        assert yamada.get(path).status_code == 200, path
    assert yamada.get("/settings").status_code == 403
    assert 'action="/accounts/W04/snooze"' not in yamada.get("/accounts/W04").text
    assert 'action="/alerts/' not in yamada.get("/accounts/W04").text
    assert 'action="/accounts/W01/snooze"' in yamada.get("/accounts/W01").text
    # the forms are not there, and the page says why (a README user found them simply missing)
    why = "Snoozing deliveries and recording outcomes here need the admin role, or the sales role"
    assert why in yamada.get("/accounts/W04").text and why not in yamada.get("/accounts/W01").text
    ja = yamada.get("/accounts/W04", headers={"Accept-Language": "ja"}).text
    assert "配信の一時停止と結果の記録には、管理者の権限、またはこの取引先の担当者（営業）であることが必要です。" in ja

    # another rep's account: 403 for every change, and nothing changed
    assert yamada.post("/accounts/W04/snooze", data={"days": "5", "reason": "x", "csrf": csrf}).status_code == 403
    assert yamada.post("/accounts/W04/snooze/end", data={"csrf": csrf}).status_code == 403
    for confirmed in ("", "yes"):
        refused = yamada.post(
            f"/alerts/{emilys[0]['alert_id']}/outcome",
            data={"result": "won", "note": "", "confirmed": confirmed, "csrf": csrf},
        )
        assert refused.status_code == 403
    assert yamada.post("/alerts/no-such-alert/outcome", data={"result": "won", "csrf": csrf}).status_code == 403
    assert detail("W04")["snoozed_until"] is None and detail("W04")["alerts"] == emilys
    token = {"Authorization": f"Bearer {TOKENS['sales']}"}  # yamada's too
    refused = httpx.post(f"{server}/api/accounts/W04/snooze", json={"days": 1, "reason": "x"}, headers=token)
    assert refused.status_code == 403
    refused = httpx.post(f"{server}/api/alerts/{emilys[0]['alert_id']}/outcome", json={"result": "won"}, headers=token)
    assert refused.status_code == 403 and detail("W04")["alerts"] == emilys

    # their own accounts: snooze and undo, from the API and the pages
    own = httpx.post(f"{server}/api/accounts/W03/snooze", json={"days": 3, "reason": "商談中"}, headers=token)
    assert own.status_code == 200 and detail("W03")["snoozed_until"] is not None
    analyst, analyst_csrf = logged_in(server, "ana")
    assert analyst.post("/accounts/W03/snooze/end", data={"csrf": analyst_csrf}).status_code == 403
    assert yamada.post("/accounts/W03/snooze/end", data={"csrf": csrf}).status_code == 303
    assert detail("W03")["snoozed_until"] is None
    emily, emily_csrf = logged_in(server, "sal")
    assert (
        emily.post("/accounts/W04/snooze", data={"days": "5", "reason": "商談中", "csrf": emily_csrf}).status_code
        == 303
    )
    assert detail("W04")["snoozed_until"] is not None
    assert yamada.post("/accounts/W04/snooze/end", data={"csrf": csrf}).status_code == 403
    assert emily.post("/accounts/W04/snooze/end", data={"csrf": emily_csrf}).status_code == 303
    assert detail("W04")["snoozed_until"] is None


def test_an_outcome_is_confirmed_before_it_is_saved_even_without_javascript(browser, server) -> None:
    alert = httpx.get(f"{server}/api/accounts/W04", headers=ANALYST).json()["alerts"][0]
    before = len(alert["outcomes"])
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 900})
    page = context.new_page()
    page.goto(server + "/login?next=/accounts/W04")
    page.fill("input[name=name]", "sal")
    page.fill("input[name=password]", PASSWORDS["sal"])
    page.click("button[type=submit]:not([name])")
    page.wait_for_url(server + "/accounts/W04")
    assert page.locator("form[action$='/snooze']").count() == 1  # its own account: the forms are there
    row = page.locator("#alerts tbody tr").first
    row.locator("select[name=result]").select_option("opportunity")
    row.locator("input[name=note]").fill("見積依頼あり")
    row.locator("button:has-text('Record')").click()
    page.wait_for_url(re.compile(r".*/outcome$"))
    assert page.locator("h1").inner_text() == "Record this outcome?"
    assert page.locator("#confirm-outcome").inner_text() == "opportunity"
    assert page.locator("#confirm-note").inner_text() == "見積依頼あり"
    assert page.locator("#confirm-what").inner_text() == "Rackspace Office Inc."
    screenshots(page, "confirm-outcome")
    after_question = httpx.get(f"{server}/api/accounts/W04", headers=ANALYST).json()["alerts"][0]
    assert len(after_question["outcomes"]) == before  # asking saved nothing
    page.click("a:has-text('Cancel')")
    page.wait_for_url(server + "/accounts/W04")
    assert len(httpx.get(f"{server}/api/accounts/W04", headers=ANALYST).json()["alerts"][0]["outcomes"]) == before
    row = page.locator("#alerts tbody tr").first
    row.locator("select[name=result]").select_option("opportunity")
    row.locator("input[name=note]").fill("見積依頼あり")
    row.locator("button:has-text('Record')").click()
    page.click("button:has-text('Yes, record it')")
    page.wait_for_url(re.compile(r".*message=.*"))
    assert page.locator(".message").inner_text() == "Outcome recorded: opportunity"
    outcomes = httpx.get(f"{server}/api/accounts/W04", headers=ANALYST).json()["alerts"][0]["outcomes"]
    assert len(outcomes) == before + 1 and (outcomes[-1]["outcome"], outcomes[-1]["note"], outcomes[-1]["by"]) == (
        "opportunity",
        "見積依頼あり",
        "sal",
    )
    page.goto(server + "/accounts/W01")
    assert (
        page.locator("form[action$='/outcome']").count() == 0 and page.locator("form[action$='/snooze']").count() == 0
    )
    context.close()


def test_a_sales_user_or_token_without_an_email_is_a_configuration_error() -> None:
    from revisit.core.config import ApiToken, WebSettings, WebUser
    from revisit.core.errors import BadInput
    from revisit.web.app import check_web_settings

    with pytest.raises(BadInput, match=r"web.users\[0\] \(rep\): the sales role needs an email"):
        check_web_settings(WebSettings(users=(WebUser("rep", "x", "sales"),)))
    with pytest.raises(BadInput, match=r"web.api_tokens\[0\] \(crm\): the sales role needs an email"):
        check_web_settings(WebSettings(api_tokens=(ApiToken("crm", "x", "sales"),)))
    check_web_settings(WebSettings(users=(WebUser("rep", "x", "sales", "rep@example.jp"),)))


# --- issue 22: lists -----------------------------------------------------------------------------
MONTHS_DORMANT = {"W01": 8, "W02": 15, "W03": 37, "W04": 9, "W05": 2}  # from the list's last deal to 2015-05-21


def test_the_accounts_list_shows_pages_read_months_dormant_and_scores_in_words(browser, server) -> None:
    listed = {a["account_id"]: a for a in httpx.get(server + "/api/accounts", headers=ANALYST).json()["items"]}
    page = log_in(browser, server, "ana")
    for row in page.locator("#accounts tbody tr").all():
        account_id = row.locator("td:first-child .muted").inner_text()
        months = MONTHS_DORMANT[account_id]
        assert row.locator("td.dormant").inner_text() == f"{months} month{'s' if months != 1 else ''}"
        assert row.locator("td.pages").inner_text() == str(listed[account_id]["pages"])
        score = listed[account_id]["max_score"]
        word = "hot" if score >= 20 else "warm" if score >= 10 else "cool"  # intent.threshold 10
        assert row.locator("td.score").inner_text() == f"{score} {word}"
    assert page.locator(".heat").count() == len(listed) == 5

    page.click("#accounts th a:has-text('Tier')")  # A first, then B, C
    page.wait_for_url(re.compile(r".*sort=tier.*"))
    assert "order=asc" in page.url
    tiers = page.locator("#accounts tbody td:nth-child(2)").all_inner_texts()
    rank = ["A", "B", "C", "active customer"]  # an active customer in words, not its code
    assert tiers == sorted(tiers, key=rank.index) and tiers[0] == "A" and tiers[-1] == "active customer"
    assert page.locator("#accounts th[aria-sort]").inner_text().startswith("Tier")

    page.click("#accounts th a:has-text('Best score')")
    page.click("#accounts th a:has-text('Best score')")  # again: lowest first
    page.wait_for_url(re.compile(r".*sort=score.*order=asc.*"))
    page.select_option("select[name=owner]", "山田太郎")
    page.click("button:has-text('Filter')")
    page.wait_for_url(re.compile(r".*owner=.*"))
    assert "sort=score" in page.url and "order=asc" in page.url  # the sort survives the filter
    scores = [int(text.split()[0]) for text in page.locator("#accounts td.score").all_inner_texts()]
    assert scores == sorted(scores) and len(scores) == 2
    screenshots(page, "accounts-lists")
    page.close()


def test_lists_have_page_numbers_and_a_page_size_that_keeps_the_filters(web_db) -> None:
    from dataclasses import replace
    from datetime import date

    from fastapi.testclient import TestClient

    from revisit.core.config import WebUser, load_settings
    from revisit.storage.store import Store
    from revisit.web.app import create_app
    from revisit.web.pages import page_numbers

    assert page_numbers(1, 1) == [1]
    assert page_numbers(5, 20) == [1, None, 3, 4, 5, 6, 7, None, 20]
    assert page_numbers(2, 4) == [1, 2, 3, 4]
    url, _ = web_db
    settings = load_settings(
        None, {"REVISIT_WEB__SECURE_COOKIES": "false", "REVISIT_WEB__SESSION_SECRET_REQUIRED": "false"}
    )
    users = (WebUser("ana", hash_password("pw-ana-123")),)
    settings = replace(settings, web=replace(settings.web, users=users, page_size=2))
    store = Store(url)
    client = TestClient(create_app(settings, store, lambda: date.fromisoformat(TODAY)))
    client.post("/login", data={"name": "ana", "password": "pw-ana-123", "csrf": form_token(client.get("/login"))})
    second = client.get(
        "/accounts", params={"sort": "name", "order": "asc", "page": "2"}, headers={"Accept-Language": "en"}
    )
    numbers = re.search(r'<span class="page-numbers">(.*?)</span>\s*<a rel="next"', second.text, re.S).group(1)
    assert re.findall(r">(\d+)</a>", numbers) == ["1", "2", "3"]
    assert re.search(r'<a aria-current="page" href="\?([^"]+)">2</a>', numbers).group(1) == (
        "sort=name&amp;order=asc&amp;page=2"
    )
    assert re.findall(r'<td data-label="Account"><a href="/accounts/(W\d+)"', second.text) == [
        "W02",
        "W01",
    ]  # あおば, サクラ
    # the page-size form carries the filters and the sort, not the page
    form = re.search(r'<form class="page-size" method="get">(.*?)</form>', second.text, re.S).group(1)
    assert re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form) == [
        ("sort", "name"),
        ("order", "asc"),
    ]
    everything = client.get("/accounts", params={"sort": "name", "order": "asc", "per_page": "25"})
    assert len(re.findall(r'<td data-label="Account">', everything.text)) == 5
    assert "page 1 of 1" in everything.text
    wrong = client.get("/accounts", params={"per_page": "7"}, headers={"Accept-Language": "en"})
    assert wrong.status_code == 400 and "Rows per page: &#39;7&#39; is not one of 2, 25, 50, 100" in wrong.text
    alerts = client.get("/alerts", params={"per_page": "2"})
    assert alerts.status_code == 200 and len(re.findall(r'<td data-label="When">', alerts.text)) == 2
    store.close()


# --- issue 22 follow-up: a Japanese user reads no English codes ---------------------------------
def test_japanese_pages_show_labels_tiers_deliveries_and_evidence_in_words_not_codes(server, web_db) -> None:
    from datetime import date

    from revisit.core.config import load_settings
    from revisit.storage.store import Store
    from revisit.web.app import create_app

    store = Store(web_db[0])
    try:  # the default intent labels (this replay's rules have their own) in the alerts' Japanese words
        app = create_app(load_settings(None, {"REVISIT_WEB__SESSION_SECRET_REQUIRED": "false"}), store, date.today)
        words = app.state.web.templates.env.from_string(
            '{% for w in ["pricing", "case study", "/x"] %}{{ page_word(w, "ja") }}|{% endfor %}'
        )
        assert words.render() == "料金|導入事例|/x|"
    finally:
        store.close()
    client, _ = logged_in(server, "ana")
    ja = {"Accept-Language": "ja"}
    home = client.get("/", headers=ja).text
    assert ">active<" not in home and ">active<" not in client.get("/accounts", headers=ja).text
    alerts = client.get("/alerts", headers=ja).text
    cells = re.findall(r"data-label=\"配信\">([^<]*)<", alerts)
    assert cells and not set(cells) & {"realtime", "digest"}
    account = client.get("/accounts/W01", headers=ja).text
    evidence = account[account.index('id="evidence"') :]
    evidence = evidence[: evidence.index("</section>")]
    assert "account_networks" not in evidence and "is listed on account" not in evidence
    assert "130.237.218.0/24 は取引先 W01 に登録されたネットワークです" in evidence
    assert "取引先に登録済みのネットワーク" in evidence
    assert "`" not in account and "<code>revisit ledger import</code> で" in account


def test_japanese_error_pages_say_what_went_wrong_in_japanese_and_name_fields_by_their_labels(server) -> None:
    client, _ = logged_in(server, "ana")
    ja = {"Accept": "text/html", "Accept-Language": "ja"}
    missing = client.get("/accounts/NOPE", headers=ja)
    assert missing.status_code == 404 and "取引先 &#39;NOPE&#39; は見つかりません" in missing.text
    nowhere = client.get("/no/such/page", headers=ja)
    assert nowhere.status_code == 404 and '<p class="errors">ページが見つかりません</p>' in nowhere.text
    stale = client.post("/language", data={"locale": "en", "csrf": "stale", "next": "/"}, headers=ja)
    assert stale.status_code == 403 and "フォームの有効期限が切れています。ページを再読み込みしてください" in stale.text
    assert (
        "開始日: &#39;2026-13-45&#39; は日付ではありません" in client.get("/alerts?since=2026-13-45", headers=ja).text
    )
    assert "最低関心度: &#39;abc&#39;" in client.get("/accounts?min_score=abc", headers=ja).text
    english = client.get("/accounts?min_score=abc", headers={"Accept-Language": "en"}).text
    assert "Min. score: &#39;abc&#39; is not a whole number" in english


def test_a_backwards_date_range_shows_the_message_and_the_form_but_no_list(server) -> None:
    client, _ = logged_in(server, "ana")
    backwards = {"since": "2015-05-20", "until": "2015-05-18"}
    for path, table in (("/alerts", 'id="alert-log"'), ("/accounts", 'id="accounts"')):
        assert table in client.get(path).text  # the same page lists them without the range
        answer = client.get(path, params=backwards, headers={"Accept-Language": "ja"})
        assert answer.status_code == 400 and "開始日（2015-05-20）が終了日（2015-05-18）より後です" in answer.text
        assert table not in answer.text and 'name="since" type="date" value=""' in answer.text
        assert "Active Reader Co." not in answer.text and "Rackspace" not in answer.text


def test_active_customers_are_not_listed_or_counted_as_dormant_ones_that_came_back(server) -> None:
    week = httpx.get(server + "/api/accounts", params={"since": "2015-05-15", "until": TODAY}, headers=ANALYST).json()
    active = [a for a in week["items"] if a["tier"] == "active"]
    assert [a["account_id"] for a in active] == ["W05"]  # an active customer visited this week
    client, _ = logged_in(server, "ana")
    home = client.get("/", headers={"Accept-Language": "ja"}).text
    came_back = home[home.index('id="came-back-list"') : home.index("</table>", home.index('id="came-back-list"'))]
    assert "Active Reader Co." not in came_back and came_back.count("<tr>") == 1 + len(week["items"]) - len(
        active
    )  # the header
    assert "休眠顧客ではないため上の件数に含めていません：取引中の顧客 1 社" in home
    page = client.get("/accounts/W05", headers={"Accept-Language": "ja"}).text
    assert "取引中（最近の取引・連絡あり。休眠顧客ではありません）" in page
    assert 'id="dormant-for"' not in page and 'id="approach"' not in page and 'id="opening-line"' not in page
    assert ">active<" not in page  # the tier's word, not its code


def test_japanese_wording_of_the_chart_heading_login_and_an_account_without_alerts(server) -> None:
    ja = {"Accept-Language": "ja"}
    assert '<label>ユーザー名 <input name="name"' in httpx.get(server + "/login", headers=ja).text
    client, _ = logged_in(server, "ana")
    home = client.get("/", headers=ja).text
    assert "戻ってきた取引先（関心度の高い順）" in home
    days = re.findall(r"<g><title>([^<]*)</title>", home)
    assert len(days) == 28 and all(re.fullmatch(r"\d\d-\d\d: 訪問した取引先 \d+ 社・アラート \d+ 件", d) for d in days)
    assert "05-19: 訪問した取引先 " in " ".join(days)
    account = client.get("/accounts/W01", headers=ja).text
    assert re.findall(r"<g><title>([^<]*)</title>", account)[-1].endswith("回・閲覧 0 ページ")
    alerts = account[account.index("<h2>アラート") : account.index("</table>", account.index("<h2>アラート"))]
    assert "アラートはありません。" in alerts and "全 0 件中" not in alerts


def test_the_latest_alerts_match_is_explained_in_the_pages_language_by_the_alerts_own_sentence(server) -> None:
    stored = httpx.get(server + "/api/accounts/W04", headers=ANALYST).json()["alerts"][0]["match"]
    assert stored["method"] == "network" and stored["detail"]  # the enrichment layer's English
    client, _ = logged_in(server, "ana")
    ja = client.get("/accounts/W04", headers={"Accept-Language": "ja"}).text
    evidence = ja[ja.index('id="evidence"') : ja.index("</section>", ja.index('id="evidence"'))]
    line = re.search(r"<p>最新のアラートは[^<]*</p>", evidence).group(0)
    assert re.fullmatch(r"<p>最新のアラートは.+で照合: .+（ご登録のネットワーク [0-9./]+ からのアクセス）</p>", line), (
        line
    )
    assert stored["detail"] not in evidence.replace("&#39;", "'")
    en = client.get("/accounts/W04", headers={"Accept-Language": "en"}).text
    assert stored["detail"] in en.replace("&#39;", "'")


def test_the_dashboard_counts_today_and_yesterday_live_and_the_closed_days_once_in_a_while(tmp_path) -> None:
    """Older days are read again only after ``closed_days_seconds``: a visit added today shows at once,
    one added to last week shows after that time (late replays of old logs), never a wrong day."""
    from datetime import date, timedelta
    from zoneinfo import ZoneInfo

    from sqlalchemy.orm import Session

    from revisit.core.account import Account
    from revisit.core.config import Settings
    from revisit.storage.models import SessionRow
    from revisit.storage.store import Store
    from revisit.web.clock import Clock
    from revisit.web.queries import Reads

    store = Store(f"sqlite:///{tmp_path / 'trend.sqlite'}")
    clock = Clock(ZoneInfo("Asia/Tokyo"))
    today = date(2026, 11, 20)
    dormant, customer = date(2025, 9, 1), date(2026, 10, 1)  # tier A, and a deal last month: active
    store.save_accounts(
        [
            Account("C-1", "株式会社一", last_deal_at=dormant),
            Account("C-2", "株式会社二", last_deal_at=dormant),
            Account("C-3", "株式会社三", last_deal_at=dormant),
            Account("C-9", "株式会社九", last_deal_at=customer),
        ]
    )

    def visit(session_id: str, account_id: str, day: date) -> None:
        started = clock.start_of(day) + timedelta(minutes=30)  # 00:30 in Tokyo: the day before in UTC
        with Session(store.engine) as session, session.begin():
            session.add(
                SessionRow(
                    session_id=session_id,
                    account_id=account_id,
                    started_at=started,
                    last_seen=started,
                    page_count=1,
                    score=10,
                )
            )

    def seen(reads: Reads) -> dict[date, int]:
        return {d.day: d.accounts for d in reads.dashboard(today).trend if d.accounts}

    visit("s1", "C-1", today - timedelta(days=7))
    kept = Reads(store.engine, Settings().dormancy, clock, closed_days_seconds=3600)
    fresh = Reads(store.engine, Settings().dormancy, clock, closed_days_seconds=0)
    assert seen(kept) == seen(fresh) == {today - timedelta(days=7): 1}

    visit("s2", "C-2", today)
    visit("s3", "C-3", today - timedelta(days=1))
    visit("s4", "C-2", today - timedelta(days=7))
    visit("s5", "C-9", today)  # a customer now: not a dormant account that came back
    assert seen(kept) == {today - timedelta(days=7): 1, today - timedelta(days=1): 1, today: 1}
    assert seen(fresh) == {today - timedelta(days=7): 2, today - timedelta(days=1): 1, today: 1}


def test_a_wrong_snooze_is_explained_in_the_readers_language_and_the_form_says_the_limit(server) -> None:
    client, csrf = logged_in(server, "adm")
    client.headers["Accept-Language"] = "ja"
    for days in ("400", "abc", "0", "nan"):
        answer = client.post("/accounts/W02/snooze", data={"days": days, "reason": "商談中", "csrf": csrf})
        assert answer.status_code == 400, days
        assert "一時停止には日数（0 より大きく 365 以下）と理由が必要です" in answer.text, days
        assert "Input should" not in answer.text and "a snooze needs" not in answer.text
    client.headers["Accept-Language"] = "en"
    answer = client.post("/accounts/W02/snooze", data={"days": "abc", "reason": "x", "csrf": csrf})
    assert "A snooze needs a number of days (more than 0, at most 365) and a reason" in answer.text
    client.post("/accounts/W02/snooze/end", data={"csrf": csrf})  # the form shows when not snoozed
    assert 'name="days" type="number" min="1" max="365"' in client.get("/accounts/W02").text


def test_a_refused_form_says_why_in_the_readers_language(server) -> None:
    """A too-long reason or note, a language the site does not speak, an outcome nobody offered:
    each 400 in the page's language, with the field named as the form names it."""
    client, csrf = logged_in(server, "adm")
    client.headers["Accept-Language"] = "ja"
    long_reason = client.post("/accounts/W02/snooze", data={"days": "3", "reason": "あ" * 501, "csrf": csrf})
    assert (long_reason.status_code, long_reason.json()) == (
        400,
        {"detail": "理由: 500 文字以内で、制御文字は使えません"},
    )
    language = client.post("/language", data={"locale": "fr", "csrf": csrf, "next": "/"})
    assert language.json() == {"detail": "表示言語: ja, en のいずれかを選んでください"}
    alert_id = httpx.get(server + "/api/alerts", headers={"Authorization": f"Bearer {TOKENS['analyst']}"}).json()[
        "items"
    ][0]["alert_id"]
    outcome = client.post(f"/alerts/{alert_id}/outcome", data={"result": "maybe", "csrf": csrf})
    assert (outcome.status_code, outcome.json()) == (400, {"detail": "不明な結果 'maybe'"})
    note = client.post(f"/alerts/{alert_id}/outcome", data={"result": "won", "note": "x" * 2001, "csrf": csrf})
    assert note.json() == {"detail": "メモ: 2000 文字以内で、制御文字は使えません"}
    client.headers["Accept-Language"] = "en"
    english = client.post(
        "/language", data={"locale": "fr", "csrf": csrf, "next": "/"}, headers={"Accept": "text/html"}
    )
    assert english.status_code == 400 and "Language: one of ja, en" in english.text  # the error page


def test_the_web_names_an_outcome_as_the_slack_buttons_do() -> None:
    from revisit.alerts.render import button_label
    from revisit.web import i18n

    for locale in i18n.LOCALES:
        with i18n.speaking(i18n.Catalogs.load().get(locale)):
            for code in ("contacted", "opportunity", "not_interested"):
                assert i18n.word(i18n.OUTCOMES, code).casefold() == button_label(code, locale).casefold(), code


def test_the_top_page_is_named_in_words_not_as_a_bare_slash() -> None:
    from revisit.web import i18n

    with i18n.speaking(i18n.Catalogs.load().get("ja")):
        assert [i18n.page_words(what, "ja") for what in ("/", "pricing", "/blog/x")] == [
            "トップページ",
            "料金",
            "/blog/x",
        ]
    assert i18n.page_words("/", "en") == "home page"


def test_the_account_page_asks_no_meeting_of_a_tier_c_account_and_apologises_after_a_lost_deal(server) -> None:
    client, _ = logged_in(server, "ana")
    client.headers["Accept-Language"] = "ja"
    tier_c = client.get("/accounts/W03").text  # last deal 2012: a light touch
    assert "今後とも何卒よろしくお願いいたします" in tier_c and "15分" not in tier_c
    lost = client.get("/accounts/W02").text  # tier B with a lost deal in 2014
    assert "お詫び" in lost
