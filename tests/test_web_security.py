"""The web UI's defences (issue 25), each against a real uvicorn on loopback spoken to over HTTP:
sessions that can be ended, a session secret that cannot be guessed, throttled logins with a bound
on concurrent password checks, closed metric labels, a readiness answer that names no host,
RFC 6266 file names, bounded parameters (fuzzed over every route) and security headers on every
response.

The server runs in this process (``serving``) so that a test can change the app's configuration
between requests, as an operator changing the config would.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from itsdangerous import TimestampSigner
from prometheus_client.parser import text_string_to_metric_families

from revisit.cli import main
from revisit.core.config import ApiToken, Settings, WebUser, load_settings
from revisit.core.errors import BadInput
from revisit.storage.store import Store, open_engine
from revisit.storage.web_sessions import WebSessions
from revisit.web import api, pages
from revisit.web.app import SESSION_COOKIE, create_app
from revisit.web.auth import Authenticator, hash_password, token_digest
from tests.conftest import keeping_root_logger
from tests.test_worker import free_port

SECRET = "a-test-secret-that-is-long-enough-0123456789"
EXAMPLE_SECRET = "change-me-to-a-long-random-string"  # the one .env.example ships with
PASSWORDS = {"ana": "analyst-pass-1", "adm": "admin-pass-1"}
ADMIN_TOKEN = "admin-token-0123456789"
HASHES = {name: hash_password(password) for name, password in PASSWORDS.items()}


def web_settings(folder: Path, secret: str = SECRET, **web: Any) -> Settings:
    """Two users (ana: analyst, adm: admin), an admin API token, the secret in a file."""
    (folder / "session-secret").write_text(secret, encoding="utf-8")
    settings = load_settings(None, {})
    users = (WebUser("ana", HASHES["ana"], "analyst"), WebUser("adm", HASHES["adm"], "admin"))
    return replace(
        settings,
        web=replace(
            settings.web,
            users=users,
            api_tokens=(ApiToken("admin-client", token_digest(ADMIN_TOKEN), "admin"),),
            session_secret_file=str(folder / "session-secret"),
            **{"secure_cookies": False, **web},
        ),
    )


@contextlib.contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """``app`` on a real uvicorn on loopback, with the proxy settings of ``revisit web serve`` (so
    that X-Forwarded-For from loopback gives the client's address, as behind a reverse proxy)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            proxy_headers=True,
            forwarded_allow_ips="127.0.0.1",
        )
    )
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store(db_url)
    yield opened
    opened.close()


def login_form(client: httpx.Client) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)


def log_in(base: str, name: str, password: str | None = None) -> tuple[httpx.Client, str]:
    """A client with a session of ``name`` and the CSRF token of its forms."""
    client = httpx.Client(base_url=base)
    csrf = login_form(client)
    answer = client.post("/login", data={"name": name, "password": password or PASSWORDS[name], "csrf": csrf})
    assert answer.status_code == 303, answer.text
    page = client.get("/accounts")
    return client, re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def signed_cookie(secret: str, session: dict[str, Any]) -> str:
    """A session cookie as Starlette's SessionMiddleware writes it, signed with ``secret``."""
    data = base64.b64encode(json.dumps(session).encode("utf-8"))
    return TimestampSigner(secret).sign(data).decode("utf-8")


# --- 1. sessions that can be ended -------------------------------------------------------------
def test_a_cookie_signed_with_the_secret_for_an_invented_admin_gets_no_access(tmp_path, store) -> None:
    """Even someone who knows the signing secret cannot make up a session: the cookie only names a
    session, and there is none in the database for an invented id or for a user in the cookie."""
    app = create_app(web_settings(tmp_path), store)
    forged = {
        "user": {"name": "ghost", "role": "admin"},  # what the cookie used to carry
        "sid": "an-id-the-server-never-made",
        "csrf": "x",
    }
    with serving(app) as base:
        cookies = {SESSION_COOKIE: signed_cookie(SECRET, forged)}
        for path in ("/", "/settings", "/accounts"):
            answer = httpx.get(base + path, cookies=cookies)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next="), path
        assert httpx.get(base + "/api/accounts", cookies=cookies).status_code == 401


def test_the_server_refuses_a_documented_short_or_missing_session_secret(tmp_path, store) -> None:
    for secret, says in (
        (EXAMPLE_SECRET, "the web session secret in the file .* is the example from the documentation"),
        ("too-short-0123456789", "is 20 bytes: it needs at least 32"),
        ("", "no web session secret"),
    ):
        with pytest.raises(BadInput, match=says):
            create_app(web_settings(tmp_path, secret), store)
    # a random key (lost at restart) only when the config says so
    create_app(web_settings(tmp_path, "", session_secret_required=False), store)


def test_revisit_web_serve_with_the_example_secret_exits_2_saying_why(tmp_path, store, monkeypatch, capsys) -> None:
    config = tmp_path / "web.toml"
    config.write_text(
        f'[[web.users]]\nname = "adm"\npassword_hash = "{HASHES["adm"]}"\nrole = "admin"\n', encoding="utf-8"
    )
    monkeypatch.setenv("REVISIT_WEB_SESSION_SECRET", EXAMPLE_SECRET)
    with keeping_root_logger():
        status = main(["web", "serve", "--db", store.url, "--config", str(config), "--port", str(free_port())])
    assert status == 2
    assert capsys.readouterr().err == (
        "revisit: the web session secret in $REVISIT_WEB_SESSION_SECRET is the example from the documentation: "
        "set a random one, e.g. `openssl rand -hex 32`\n"
    )


def test_after_logout_the_old_cookie_gets_no_access(tmp_path, store) -> None:
    app = create_app(web_settings(tmp_path), store)
    with serving(app) as base:
        client, csrf = log_in(base, "adm")
        old_cookie = client.cookies[SESSION_COOKIE]
        assert client.get("/settings").status_code == 200
        assert WebSessions(store).count() == 1
        assert client.post("/logout", data={"csrf": csrf}).status_code == 303
        assert WebSessions(store).count() == 0
        replayed = httpx.get(base + "/settings", cookies={SESSION_COOKIE: old_cookie})
        assert replayed.status_code == 303 and replayed.headers["location"] == "/login?next=%2Fsettings"
        assert httpx.get(base + "/api/dashboard", cookies={SESSION_COOKIE: old_cookie}).status_code == 401


def test_demoting_an_admin_or_removing_a_user_in_the_config_acts_on_the_next_request(tmp_path, store) -> None:
    settings = web_settings(tmp_path)
    app = create_app(settings, store)
    with serving(app) as base:
        admin, csrf = log_in(base, "adm")
        analyst, _ = log_in(base, "ana")
        assert admin.get("/settings").status_code == 200
        demoted = (WebUser("ana", HASHES["ana"], "analyst"), WebUser("adm", HASHES["adm"], "analyst"))
        app.state.web.settings = replace(settings, web=replace(settings.web, users=demoted))
        assert admin.get("/settings").status_code == 403
        assert admin.post("/accounts/W01/snooze", data={"days": "1", "reason": "x", "csrf": csrf}).status_code == 403
        assert admin.get("/accounts").status_code == 200  # still an analyst
        app.state.web.settings = replace(settings, web=replace(settings.web, users=demoted[:1]))
        gone = admin.get("/accounts")
        assert gone.status_code == 303 and gone.headers["location"] == "/login?next=%2Faccounts"
        assert WebSessions(store).count() == 1  # the removed user's session is deleted, ana's stays
        assert analyst.get("/accounts").status_code == 200


def test_an_expired_session_is_no_session_and_the_next_login_sweeps_it(store) -> None:
    sessions = WebSessions(store)
    now = datetime.now(UTC)
    old = sessions.create("adm", timedelta(hours=12), now=now - timedelta(hours=13))
    live = sessions.create("ana", timedelta(hours=12), now=now - timedelta(hours=11))
    assert sessions.find(old, now) is None
    found = sessions.find(live, now)
    assert found is not None and (found.user_name, found.last_seen_at) == ("ana", now)
    sessions.create("ana", timedelta(hours=12), now=now)
    stale = sessions.create("adm", timedelta(hours=1), now=now - timedelta(hours=2))
    sessions.create("ana", timedelta(hours=12), now=now)  # sweeps the expired one
    assert sessions.count() == 3 and sessions.find(stale, now) is None


# --- 2. logins that cannot be hammered ---------------------------------------------------------
class Clock:
    """The throttle's clock, moved by the test instead of by waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def attempt(client: httpx.Client, csrf: str, name: str, password: str, address: str) -> httpx.Response:
    return client.post(
        "/login",
        data={"name": name, "password": password, "csrf": csrf},
        headers={"X-Forwarded-For": address},
    )


def test_failed_logins_lock_a_user_name_out_for_a_doubling_time_whatever_the_address(tmp_path, store) -> None:
    app = create_app(web_settings(tmp_path, login_failures_before_lockout=3, login_lockout_seconds=30), store)
    clock = app.state.web.throttle.clock = Clock()
    with serving(app) as base, httpx.Client(base_url=base) as client:
        csrf = login_form(client)
        statuses = [attempt(client, csrf, "adm", "wrong", f"10.0.0.{n}").status_code for n in range(1, 4)]
        assert statuses == [401, 401, 401]
        locked = attempt(client, csrf, "adm", PASSWORDS["adm"], "10.0.0.4")  # the right password, another address
        assert locked.status_code == 429 and locked.headers["retry-after"] == "30"
        assert "Too many failed logins" in locked.text
        clock.now += 30
        assert attempt(client, csrf, "adm", "wrong", "10.0.0.5").status_code == 401
        again = attempt(client, csrf, "adm", PASSWORDS["adm"], "10.0.0.6")
        assert again.status_code == 429 and again.headers["retry-after"] == "60"  # doubled
        clock.now += 60
        assert attempt(client, csrf, "adm", PASSWORDS["adm"], "10.0.0.7").status_code == 303


def test_failed_logins_lock_an_address_out_whatever_the_user_names(tmp_path, store) -> None:
    app = create_app(web_settings(tmp_path, login_failures_before_lockout=3, login_lockout_seconds=30), store)
    app.state.web.throttle.clock = Clock()
    with serving(app) as base, httpx.Client(base_url=base) as client:
        csrf = login_form(client)
        for name in ("guess-1", "guess-2", "ana"):
            assert attempt(client, csrf, name, "wrong", "192.0.2.7").status_code == 401
        locked = attempt(client, csrf, "adm", PASSWORDS["adm"], "192.0.2.7")
        assert locked.status_code == 429 and locked.headers["retry-after"] == "30"
        assert attempt(client, csrf, "adm", PASSWORDS["adm"], "192.0.2.8").status_code == 303


class CountingHasher(PasswordHasher):
    """A real argon2 hasher that counts the checks running at once, and holds each one until the
    test opens the gate, so that the count does not depend on how fast anything is."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.lock = threading.Lock()
        self.running = self.most = self.started = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self.lock:
            self.running += 1
            self.started += 1
            self.most = max(self.most, self.running)
        try:
            self.gate.wait(timeout=60)
            return super().verify(hash, password)
        finally:
            with self.lock:
                self.running -= 1


def test_at_most_the_configured_password_checks_run_at_once_and_the_rest_get_503(tmp_path, store) -> None:
    settings = web_settings(
        tmp_path, password_checks_at_once=4, password_check_wait_seconds=0.2, login_failures_before_lockout=1000
    )
    app = create_app(settings, store)
    hasher = CountingHasher()
    app.state.web.auth = Authenticator(hasher)
    with serving(app) as base, ThreadPoolExecutor(16) as pool:
        clients = [httpx.Client(base_url=base, timeout=90) for _ in range(16)]
        forms = [login_form(client) for client in clients]
        answers: list[Future[httpx.Response]] = [
            pool.submit(attempt, client, csrf, f"user-{n}", "wrong", f"10.1.0.{n}")
            for n, (client, csrf) in enumerate(zip(clients, forms, strict=True))
        ]
        deadline = time.monotonic() + 60
        while sum(answer.done() for answer in answers) < 12 and time.monotonic() < deadline:
            wait([a for a in answers if not a.done()], timeout=1, return_when=FIRST_COMPLETED)
        early = [answer for answer in answers if answer.done()]
        assert (hasher.started, hasher.most) == (4, 4)
        hasher.gate.set()
        turned_away = [answer.result() for answer in early]
        checked = [answer.result() for answer in answers if answer not in early]
        assert [(a.status_code, a.headers["retry-after"]) for a in turned_away] == [(503, "1")] * 12
        assert [a.status_code for a in checked] == [401] * 4
        assert hasher.most == 4
        for client in clients:
            client.close()


# --- 3. closed metric labels -------------------------------------------------------------------
def test_invented_methods_and_paths_leave_the_metric_labels_closed(tmp_path, store) -> None:
    app = create_app(web_settings(tmp_path), store)
    with serving(app) as base, httpx.Client(base_url=base) as client:
        client.get("/healthz")
        for n in range(40):
            client.request(f"INVENTED{n}", "/healthz")
            client.request(f"X{n}", f"/no/such/page/{n}")
        metrics = client.get("/metrics").text
    labels = [
        sample.labels
        for family in text_string_to_metric_families(metrics)
        if family.name == "revisit_http_requests"
        for sample in family.samples
        if sample.name == "revisit_http_requests_total"
    ]
    assert {(label["route"], label["method"], label["status"]) for label in labels} == {
        ("/healthz", "GET", "200"),
        ("/healthz", "other", "405"),
        ("unmatched", "other", "404"),
    }


# --- 4. readiness without hosts ----------------------------------------------------------------
def test_readiness_says_database_unavailable_and_names_no_host_or_user(tmp_path, store) -> None:
    app = create_app(web_settings(tmp_path), store)
    port = free_port()  # nothing listens there
    store.engine.dispose()
    store.engine = open_engine(f"postgresql+psycopg://revisit_reader:pw@127.0.0.1:{port}/revisit")
    with serving(app) as base:
        answer = httpx.get(base + "/readyz")
    assert answer.status_code == 503
    assert answer.json() == {"status": "not ready", "checks": {"database": "database unavailable"}}


# --- 5. Content-Disposition --------------------------------------------------------------------
def test_export_file_names_come_out_per_rfc_6266_whatever_the_account_id(tmp_path, store) -> None:
    app = create_app(web_settings(tmp_path), store)
    with serving(app) as base:
        client, _ = log_in(base, "ana")
        evil = client.get("/accounts/" + quote('a"; filename="evil.html', safe="") + "/visits.csv")
        assert evil.status_code == 200
        assert evil.headers["content-disposition"] == (
            "attachment; filename=\"revisit-a___filename__evil.html-visits.csv\"; filename*=UTF-8''"
            "revisit-a%22%3B%20filename%3D%22evil.html-visits.csv"
        )
        japanese = client.get("/accounts/" + quote("サクラ精機") + "/visits.csv")
        assert japanese.status_code == 200
        assert japanese.headers["content-disposition"] == (
            "attachment; filename=\"revisit-_____-visits.csv\"; filename*=UTF-8''"
            "revisit-%E3%82%B5%E3%82%AF%E3%83%A9%E7%B2%BE%E6%A9%9F-visits.csv"
        )
        assert client.get("/accounts.csv").headers["content-disposition"] == (
            "attachment; filename=\"revisit-accounts.csv\"; filename*=UTF-8''revisit-accounts.csv"
        )


# --- 6. parameters -----------------------------------------------------------------------------
def test_out_of_range_numbers_dates_and_snooze_days_get_400_or_422(tmp_path, store) -> None:
    app = create_app(web_settings(tmp_path), store)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with serving(app) as base:
        client, csrf = log_in(base, "adm")
        for path in (
            "/accounts?page=99999999999999999999",
            "/accounts?min_score=99999999999999999999",
            "/accounts?since=9999-12-31",
            "/accounts?until=0001-01-01",
            "/alerts?until=9999-12-31",
            "/alerts?page=-5",
        ):
            assert client.get(path).status_code == 400, path
            csv_path = path.replace("?", ".csv?")
            assert client.get(csv_path).status_code == 400, csv_path
        for path in (
            "/api/accounts?page=99999999999999999999",
            "/api/accounts?min_score=99999999999999999999",
            "/api/accounts?since=9999-12-31",
            "/api/alerts?until=0001-01-01",
        ):
            assert httpx.get(base + path, headers=admin).status_code == 422, path
        for days in ("2900000", "inf", "nan", "-1", "0", "366"):
            answer = client.post("/accounts/W01/snooze", data={"days": days, "reason": "x", "csrf": csrf})
            assert answer.status_code == 400 and "a number of days (more than 0, at most 365)" in answer.text, days
            api = httpx.post(base + "/api/accounts/W01/snooze", json={"days": days, "reason": "x"}, headers=admin)
            assert api.status_code == 422, days
        ok = client.post("/accounts/W01/snooze", data={"days": "365", "reason": "x", "csrf": csrf})
        assert ok.status_code == 303


HOSTILE = st.one_of(
    st.text(max_size=30),
    st.integers().map(str),
    st.sampled_from(["inf", "-inf", "nan", "1e400", "9999-12-31", "0001-01-01", "2015-02-30", "99999999999999999999"]),
    st.dates().map(str),
    st.floats().map(str),
    st.text(alphabet="\x00\x1f\x7fｱあ亜\ud7ff\"';<>&%/\\", max_size=10),
)
FIELDS = ["tier", "owner", "industry", "min_score", "since", "until", "q", "sort", "order", "page", "next"]
FIELDS += ["days", "reason", "result", "note", "name", "password", "message", "x"]


def routes_of(app: FastAPI) -> list[APIRoute]:
    """Every route of the app, its included routers' too (newer FastAPI keeps those apart in
    ``app.routes``), but logout, which would end the session the fuzzing goes on with."""
    found = {
        (route.path, tuple(sorted(route.methods))): route
        for route in [*app.routes, *pages.router.routes, *api.router.routes]
        if isinstance(route, APIRoute) and route.path != "/logout"
    }
    return list(found.values())


def fuzz(route: APIRoute, client: httpx.Client, csrf: str, tried: set[str]) -> Callable[[], None]:
    """A hypothesis property for one route: hostile path, query or form values never make a 5xx."""

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        path_value=HOSTILE,
        fields=st.dictionaries(st.sampled_from(FIELDS), HOSTILE, max_size=5),
        bearer=st.booleans(),
    )
    def probe(path_value: str, fields: dict[str, str], bearer: bool) -> None:
        path = re.sub(r"\{[^}]+\}", quote(path_value, safe="") or "x", route.path)
        method = sorted(route.methods)[0]
        tried.add(route.path)
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"} if bearer else {}
        if method == "GET":
            answer = client.get(path, params=fields, headers=headers)
        elif route.path.startswith("/api/"):
            answer = client.post(path, json=fields, headers=headers)
        else:
            answer = client.post(path, data={"csrf": csrf, **fields}, headers=headers)
        assert answer.status_code < 500, (method, path, fields, answer.status_code, answer.text[:300])

    return probe


def test_no_route_answers_5xx_whatever_its_query_or_form_parameters(tmp_path, store) -> None:
    app = create_app(web_settings(tmp_path), store)
    routes = routes_of(app)
    assert len(routes) >= 20
    tried: set[str] = set()
    with serving(app) as base:
        client, csrf = log_in(base, "adm")

        for route in routes:
            fuzz(route, client, csrf, tried)()
    assert tried == {route.path for route in routes}


# --- 7. headers on every response --------------------------------------------------------------
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
}


def test_security_headers_are_on_every_response_errors_included(tmp_path, store) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    proxied = {"X-Forwarded-Proto": "https"}  # TLS ended by the reverse proxy on loopback
    with serving(create_app(web_settings(tmp_path, secure_cookies=True), store)) as base:
        answers = {
            200: httpx.get(base + "/login", headers=proxied),
            404: httpx.get(base + "/no/such/page", headers=proxied),
            401: httpx.get(base + "/api/accounts", headers=proxied),
            422: httpx.get(base + "/api/accounts?tier=Z", headers=admin | proxied),
            400: httpx.get(base + "/accounts/%00", headers=proxied),
        }
        over_http = httpx.get(base + "/login")
    for status, answer in answers.items():
        assert answer.status_code == status
        assert {name: answer.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS, status
        assert answer.headers["strict-transport-security"] == "max-age=31536000", status
    assert over_http.status_code == 200 and "strict-transport-security" not in over_http.headers
    assert {name: over_http.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS
    with serving(create_app(web_settings(tmp_path), store)) as base:
        assert "strict-transport-security" not in httpx.get(base + "/login").headers  # plain-HTTP cookies
        docs = log_in(base, "adm")[0].get("/api/docs")  # (the cookie of a secure_cookies server needs HTTPS)
    # the API docs load Swagger UI from the package, and run no inline script either
    assert docs.status_code == 200 and "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    assert "'unsafe-inline'" not in docs.headers["content-security-policy"]
    assert "http" not in docs.headers["content-security-policy"]
    assert re.findall(r"<script(?![^>]*\bsrc=)", docs.text) == []


def test_the_pages_have_no_inline_script_or_style_for_the_policy_to_block(tmp_path, store) -> None:
    with serving(create_app(web_settings(tmp_path), store)) as base:
        client, _ = log_in(base, "adm")
        pages = [client.get(path) for path in ("/login", "/", "/accounts", "/accounts/W01", "/alerts", "/settings")]
    for page in pages:
        assert page.status_code in (200, 404), page.url
        assert re.findall(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=", page.text) == [], page.url
