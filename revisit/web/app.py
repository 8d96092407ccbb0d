"""``revisit web``: the analysts' pages and JSON API over the same database as the pipeline.

``create_app`` wires the parts: a signed cookie (Starlette's SessionMiddleware) that names a
session kept in the database (``revisit.storage.web_sessions``), who is asking (``auth``), what
pages read (``queries``), the HTML pages (``pages``) and the JSON API with its OpenAPI description
(``api``), plus ``/metrics``, ``/healthz`` and ``/readyz`` like every long-running revisit process.
Every response, errors included, carries the security headers (``security_headers``).
"""

from __future__ import annotations

import logging
import re
import secrets
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import partial
from importlib import resources
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request, Security
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from revisit.alerts.render import dormancy_reason_words
from revisit.core.config import ApiToken, Settings, WebSettings, WebUser, read_secret
from revisit.core.errors import BadInput
from revisit.core.metrics import RevisitMetrics
from revisit.core.version import __version__
from revisit.endpoints import readiness_body
from revisit.storage.store import Store
from revisit.storage.web_sessions import WebSessions
from revisit.web import i18n
from revisit.web.auth import Authenticator, LoginThrottle, PasswordChecks, Principal, check_token, user_named
from revisit.web.clock import Clock, web_clock
from revisit.web.queries import Reads

log = logging.getLogger("revisit.web")
SESSION_COOKIE = "revisit_session"
SHORTEST_SECRET = 32  # bytes
# Secrets printed in .env.example and the docs: anyone can read them, so they sign nothing.
EXAMPLE_SECRETS = frozenset({"change-me-to-a-long-random-string"})
EXAMPLE_PREFIXES = ("change-me", "changeme", "replace-with", "your-secret")
# /metrics labels requests by method: anything else a client invents counts as "other", so that
# the label set (and the process's memory) stays closed.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI from the fastapi-offline package (its own copy of swagger-ui-dist): served here, to
# signed-in users, so the docs work offline and the browser asks no other site for anything.
SWAGGER_ASSETS = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8", "swagger-ui.css": "text/css; charset=utf-8"}
DOCS_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>revisit API</title><link rel="stylesheet" href="/api/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""
BEARER = HTTPBearer(
    auto_error=False,
    description="An API token from `revisit web new-token`; a signed-in browser's session cookie also reads.",
)


class LoginRequired(Exception):
    """Raised by a page dependency: the browser is sent to the login form, then back."""


@dataclass
class WebContext:
    """What every route needs, kept on ``app.state.web``."""

    settings: Settings  # read on every request: users and roles changed here act at once
    store: Store
    reads: Reads
    auth: Authenticator
    templates: Jinja2Templates
    metrics: RevisitMetrics
    today: Callable[[], date]
    clock: Clock
    sessions: WebSessions
    throttle: LoginThrottle
    password_checks: PasswordChecks


def context(request: Request) -> WebContext:
    return request.app.state.web


def principal_of(request: Request) -> Principal | None:
    """From a bearer token, else from the session the cookie names: it must exist in the database,
    be unexpired and belong to a user still configured; the role is the one configured now."""
    web = context(request)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return check_token(web.settings.web.api_tokens, header[7:].strip())
    session_id = request.session.get("sid")
    if not isinstance(session_id, str) or not session_id:
        return None
    found = web.sessions.find(session_id)
    principal = user_named(web.settings.web.users, found.user_name) if found else None
    if principal is None:
        if found is not None:  # the user was removed from the config: logged out
            web.sessions.end(session_id)
        request.session.pop("sid", None)
    return principal


def page_user(request: Request) -> Principal:
    principal = principal_of(request)
    if principal is None:
        raise LoginRequired()
    return principal


def api_user(request: Request, credentials: HTTPAuthorizationCredentials | None = Security(BEARER)) -> Principal:
    """Declares the bearer scheme in the OpenAPI description; the token itself is read by ``principal_of``."""
    return api_principal(request)


def api_principal(request: Request) -> Principal:
    principal = principal_of(request)
    if principal is None:
        raise HTTPException(401, i18n.N_("log in or send a bearer token"), headers={"WWW-Authenticate": "Bearer"})
    return principal


def wants_json(request: Request) -> bool:
    """The API, and clients that do not say they read HTML (curl, scripts), get JSON errors."""
    return request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", "")


INTERNAL_ERROR_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Error · revisit</title>
<link rel="stylesheet" href="/static/revisit.css"></head>
<body><main><h1>Something went wrong on the server</h1>
<p>It has been logged. <a href="/">Back to the dashboard</a></p></main></body></html>
"""


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise HTTPException(403, i18n.N_("this needs the admin role"))


def require_owner(principal: Principal, owner_email: str | None) -> None:
    """403 unless ``principal`` may act on the account with this owner (``None``: no such account,
    which only an admin is told about as a 404 later; others get the same 403 as for another rep's)."""
    if owner_email is None and principal.is_admin:
        return
    if owner_email is None or not principal.may_act_on(owner_email):
        raise HTTPException(
            403, i18n.N_("this needs the admin role, or the sales role and this account's owner e-mail")
        )


def session_secret(settings: Settings) -> str:
    """The key that signs the cookie. A short one can be guessed and a documented one is known to
    all: either refuses to start, as does a missing one when users log in (unless the config says
    a random key, lost at restart, will do)."""
    web = settings.web
    where = f"the file {web.session_secret_file}" if web.session_secret_file else f"${web.session_secret_env}"
    try:
        secret = read_secret(web.session_secret_env, web.session_secret_file)
    except OSError as error:
        raise BadInput(f"web session secret file {web.session_secret_file}: {error.strerror}") from None
    if not secret:
        if web.users and web.session_secret_required:
            raise BadInput(
                f"no web session secret in {where}: set one of at least {SHORTEST_SECRET} bytes, "
                "e.g. `openssl rand -hex 32` (or web.session_secret_required = false for a random one)"
            )
        log.warning("no session secret (%s): using a random one, so sessions end when the server restarts", where)
        return secrets.token_urlsafe(32)
    if secret in EXAMPLE_SECRETS or secret.lower().startswith(EXAMPLE_PREFIXES):
        raise BadInput(
            f"the web session secret in {where} is the example from the documentation: "
            "set a random one, e.g. `openssl rand -hex 32`"
        )
    if len(secret.encode("utf-8")) < SHORTEST_SECRET:
        raise BadInput(
            f"the web session secret in {where} is {len(secret.encode('utf-8'))} bytes: it needs at "
            f"least {SHORTEST_SECRET}, e.g. `openssl rand -hex 32`"
        )
    return secret


def check_web_settings(web: WebSettings) -> None:
    problems = (
        [] if web.locale in ("", *i18n.LOCALES) else [f"web.locale must be one of {', '.join(i18n.LOCALES)} or empty"]
    )
    problems += [
        f"web.{name} must be at least {least}"
        for name, value, least in (
            ("login_failures_before_lockout", web.login_failures_before_lockout, 1),
            ("password_checks_at_once", web.password_checks_at_once, 1),
            ("login_lockout_seconds", web.login_lockout_seconds, 0),
            ("login_lockout_max_seconds", web.login_lockout_max_seconds, web.login_lockout_seconds),
            ("password_check_wait_seconds", web.password_check_wait_seconds, 0),
            ("session_hours", web.session_hours, 0.01),
            ("visits_per_page", web.visits_per_page, 1),
        )
        if not value >= least
    ]
    entries: list[tuple[str, WebUser | ApiToken]] = [
        *((f"users[{index}]", user) for index, user in enumerate(web.users)),
        *((f"api_tokens[{index}]", token) for index, token in enumerate(web.api_tokens)),
    ]
    problems += [
        f"web.{where} ({entry.name}): the sales role needs an email (the owner_email of its accounts)"
        for where, entry in entries
        if entry.role == "sales" and not entry.email.strip()
    ]
    if problems:
        raise BadInput("; ".join(problems))


def _url_texts(request: Request) -> list[str]:
    """The decoded path, names and values of the query string."""
    return [request.scope["path"], *(text for item in request.query_params.multi_items() for text in item)]


def _problem(error: Mapping[str, Any]) -> str:
    """A form field's problem in the reader's language (pydantic's own messages are English)."""
    kind = str(error.get("type", ""))
    if kind == "missing":
        return i18n.gettext("required")
    if kind.endswith(("_parsing", "_type")):
        return i18n.gettext("not a valid value")
    return str(error.get("msg", ""))


def security_headers(response: Response, secure: bool) -> Response:
    """No inline script or style, no framing, no sniffing, no full URLs to other sites; HSTS when
    the cookies are HTTPS-only anyway and the request came over HTTPS (browsers ignore it over plain
    HTTP, RFC 6797 8.1). A route may set its own Content-Security-Policy (the API docs)."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def create_app(
    settings: Settings, store: Store, today: Callable[[], date] | None = None, metrics: RevisitMetrics | None = None
) -> FastAPI:
    from revisit.web import api, pages, slack

    check_web_settings(settings.web)
    clock = web_clock(settings)
    secret = session_secret(settings)
    app = FastAPI(
        title="revisit",
        version=_version(),
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served below, to signed-in users only
        description="Dormant customers who came back: accounts, their visits, alerts and outcomes. "
        "Authenticate with `Authorization: Bearer TOKEN` (see `revisit web new-token`).",
    )
    environment = Environment(
        loader=FileSystemLoader(str(resources.files("revisit.web").joinpath("templates"))),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_callables(i18n.plain_gettext, i18n.plain_ngettext, newstyle=True)  # type: ignore[attr-defined]
    templates = Jinja2Templates(env=environment)
    for name, codes in (
        ("tier_word", i18n.TIER_NAMES),
        ("outcome_word", i18n.OUTCOMES),
        ("status_word", i18n.DELIVERY_STATUSES),
        ("method_word", i18n.MATCH_METHODS),
        ("role_word", i18n.ROLES),
        ("ledger_state_word", i18n.LEDGER_STATES),
        ("ledger_kind_word", i18n.LEDGER_KINDS),
        ("heat_word", i18n.HEAT),
        ("source_word", i18n.SOURCES),
        ("delivery_word", i18n.DELIVERIES),
    ):
        templates.env.globals[name] = partial(i18n.word, codes)
    templates.env.globals["page_word"] = i18n.page_words
    templates.env.globals["reason_word"] = dormancy_reason_words  # and for why an account went quiet
    templates.env.globals["match_words"] = i18n.alert_match_in_words
    templates.env.globals["stored_sentence"] = i18n.stored_sentence
    catalogs = i18n.Catalogs.load()
    templates.env.filters["local"] = lambda moment, form="%Y-%m-%d %H:%M": clock.local(moment).strftime(form)
    templates.env.filters["iso"] = clock.iso
    templates.env.filters["money"] = lambda amount, locale: i18n.money(settings.alerts.currency, amount, locale)
    templates.env.globals["zone"] = clock.label  # JST beside times; the settings page names the IANA zone
    templates.env.globals["zone_name"] = clock.name
    metrics = metrics or RevisitMetrics.create()
    app.state.web = WebContext(
        settings,
        store,
        Reads(store.engine, settings.dormancy, clock, settings.web.default_days),
        Authenticator(),
        templates,
        metrics,
        today or clock.today,
        clock,
        WebSessions(store),
        LoginThrottle(
            settings.web.login_failures_before_lockout,
            settings.web.login_lockout_seconds,
            settings.web.login_lockout_max_seconds,
        ),
        PasswordChecks(settings.web.password_checks_at_once, settings.web.password_check_wait_seconds),
    )
    secure = settings.web.secure_cookies

    @app.middleware("http")
    async def language(request: Request, call_next: Any) -> Response:
        """Inside the session middleware (it reads the user's choice from the session)."""
        web = context(request)
        locale = i18n.choose_locale(
            request.session.get("locale"), web.settings.web.locale, request.headers.get("accept-language", "")
        )
        request.state.locale = locale
        with i18n.speaking(catalogs.get(locale)):
            response: Response = await call_next(request)
        response.headers.setdefault("Content-Language", locale)
        return response

    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=SESSION_COOKIE,
        max_age=int(settings.web.session_hours * 3600),
        same_site="lax",
        https_only=settings.web.secure_cookies,
    )
    app.mount("/static", StaticFiles(directory=str(resources.files("revisit.web").joinpath("static"))), name="static")

    @app.middleware("http")
    async def measure(request: Request, call_next: Any) -> Response:
        started = time.perf_counter()
        if any(CONTROL_CHARACTERS.search(text) for text in _url_texts(request)):
            # no page or filter has a use for them, and PostgreSQL refuses NUL in text outright
            response: Response = PlainTextResponse("control characters in the URL", status_code=400)
        else:
            response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        method = request.method if request.method in KNOWN_METHODS else "other"
        metrics.http_requests.labels(route, method, str(response.status_code)).inc()
        metrics.http_duration.labels(route).observe(time.perf_counter() - started)
        return security_headers(response, secure and request.url.scheme == "https")

    @app.exception_handler(Exception)
    async def failed(request: Request, error: Exception) -> Response:
        """The last resort (a bug): logged with its traceback, answered without one."""
        log.error("%s %s failed", request.method, request.url.path, exc_info=error)
        over_https = secure and request.url.scheme == "https"
        if wants_json(request):
            return security_headers(PlainTextResponse("internal error", status_code=500), over_https)
        return security_headers(HTMLResponse(INTERNAL_ERROR_PAGE, status_code=500), over_https)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        """JSON for the API and for clients that do not ask for HTML; a page with the navigation for browsers."""
        if wants_json(request):
            # a catalog message in the request's language (Accept-Language or the user's choice)
            if isinstance(error.detail, str) and error.detail:
                error = StarletteHTTPException(error.status_code, i18n.plain_gettext(error.detail), error.headers)
            return await http_exception_handler(request, error)
        return await run_in_threadpool(pages.error_page, request, error.status_code, str(error.detail), error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        if wants_json(request):
            return await request_validation_exception_handler(request, error)
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {_problem(e)}" for e in error.errors())
        return await run_in_threadpool(pages.error_page, request, 422, problems, None)

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, error: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.get("/metrics", include_in_schema=False)
    def metrics_page() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", include_in_schema=False)
    def health() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    def ready() -> Response:
        status, body = readiness_body({"database": database_problem})
        return Response(body, status_code=status, media_type="application/json")

    def database_problem() -> str | None:
        """Anyone may ask /readyz: the answer names no host, user or driver message; the log does."""
        try:
            problem = store.problem()
        except Exception as error:  # whatever the driver raises, the answer stays the same
            problem = f"{type(error).__name__}: {error}"
        if problem is None:
            return None
        log.warning("not ready: %s", problem)
        return "database unavailable"

    swagger = resources.files("fastapi_offline").joinpath("static")
    swagger_files = {name: swagger.joinpath(name).read_bytes() for name in SWAGGER_ASSETS}

    @app.get("/api/docs", include_in_schema=False)
    def api_docs(request: Request) -> HTMLResponse:
        page_user(request)
        return HTMLResponse(DOCS_PAGE)

    @app.get("/api/docs/{asset}", include_in_schema=False)
    def api_docs_asset(request: Request, asset: str) -> Response:
        page_user(request)
        if asset not in swagger_files:
            raise HTTPException(404, f"no file {asset!r}")
        return Response(swagger_files[asset], media_type=SWAGGER_ASSETS[asset], headers={"Cache-Control": "private"})

    @app.get("/api/openapi.json", include_in_schema=False)
    def openapi_document(request: Request) -> JSONResponse:
        api_principal(request)
        return JSONResponse(app.openapi())

    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(slack.router)
    return app


def _version() -> str:
    return __version__


def run_web(settings: Settings, store: Store, today: date | None = None) -> int:
    """Serve until SIGTERM or SIGINT (uvicorn finishes the requests in flight)."""
    import uvicorn

    if not settings.web.users and not settings.web.api_tokens:
        raise SystemExit(
            "revisit web: no users or API tokens configured: add [[web.users]] entries with a hash "
            "from `revisit web hash-password`"
        )
    app = create_app(settings, store, (lambda: today) if today else None)
    # uvicorn stops gracefully on SIGTERM, then raises the signal again for the previous handler:
    # this one makes that a clean exit (status 0), as for every other revisit process.
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(0))
    uvicorn.run(
        app,
        host=settings.web.host,
        port=settings.web.port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
    )
    return 0
