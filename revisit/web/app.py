"""``revisit web``: the analysts' pages and JSON API over the same database as the pipeline.

``create_app`` wires the parts: signed session cookies (Starlette's SessionMiddleware), who is
asking (``auth``), what pages read (``queries``), the HTML pages (``pages``) and the JSON API with
its OpenAPI description (``api``), plus ``/metrics``, ``/healthz`` and ``/readyz`` like every
long-running revisit process.
"""

from __future__ import annotations

import logging
import secrets
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.middleware.sessions import SessionMiddleware

from revisit.core.config import Settings, read_secret
from revisit.core.metrics import RevisitMetrics
from revisit.core.version import __version__
from revisit.endpoints import readiness_body
from revisit.storage.store import Store
from revisit.web.auth import Authenticator, Principal
from revisit.web.queries import Reads

log = logging.getLogger("revisit.web")
SESSION_COOKIE = "revisit_session"


class LoginRequired(Exception):
    """Raised by a page dependency: the browser is sent to the login form, then back."""


@dataclass
class WebContext:
    """What every route needs, kept on ``app.state.web``."""

    settings: Settings
    store: Store
    reads: Reads
    auth: Authenticator
    templates: Jinja2Templates
    metrics: RevisitMetrics
    today: Callable[[], date]


def context(request: Request) -> WebContext:
    return request.app.state.web


def principal_of(request: Request) -> Principal | None:
    """From a bearer token, else from the session cookie."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return context(request).auth.check_token(header[7:].strip())
    user = request.session.get("user")
    if isinstance(user, dict) and user.get("name") and user.get("role"):
        return Principal(user["name"], user["role"])
    return None


def page_user(request: Request) -> Principal:
    principal = principal_of(request)
    if principal is None:
        raise LoginRequired()
    return principal


def api_user(request: Request) -> Principal:
    principal = principal_of(request)
    if principal is None:
        raise HTTPException(401, "log in or send a bearer token", headers={"WWW-Authenticate": "Bearer"})
    return principal


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise HTTPException(403, "this needs the admin role")


def session_secret(settings: Settings) -> str:
    try:
        secret = read_secret(settings.web.session_secret_env, settings.web.session_secret_file)
    except OSError as error:
        raise SystemExit(
            f"revisit web: session secret file {settings.web.session_secret_file}: {error.strerror}"
        ) from None
    if not secret:
        log.warning(
            "no session secret (%s): using a random one, so sessions end when the server restarts",
            settings.web.session_secret_env,
        )
        return secrets.token_urlsafe(32)
    return secret


def create_app(
    settings: Settings, store: Store, today: Callable[[], date] | None = None, metrics: RevisitMetrics | None = None
) -> FastAPI:
    from revisit.web import api, pages

    app = FastAPI(
        title="revisit",
        version=_version(),
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        description="Dormant customers who came back: accounts, their visits, alerts and outcomes. "
        "Authenticate with `Authorization: Bearer TOKEN` (see `revisit web new-token`).",
    )
    templates = Jinja2Templates(directory=str(resources.files("revisit.web").joinpath("templates")))
    metrics = metrics or RevisitMetrics.create()
    app.state.web = WebContext(
        settings,
        store,
        Reads(store.engine, settings.dormancy, settings.web.default_days),
        Authenticator(settings.web),
        templates,
        metrics,
        today or (lambda: datetime.now(UTC).date()),
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings),
        session_cookie=SESSION_COOKIE,
        max_age=int(settings.web.session_hours * 3600),
        same_site="lax",
        https_only=settings.web.secure_cookies,
    )
    app.mount("/static", StaticFiles(directory=str(resources.files("revisit.web").joinpath("static"))), name="static")

    @app.middleware("http")
    async def measure(request: Request, call_next: Any) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        metrics.http_requests.labels(route, request.method, str(response.status_code)).inc()
        metrics.http_duration.labels(route).observe(time.perf_counter() - started)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

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
        status, body = readiness_body({"database": store.problem})
        return Response(body, status_code=status, media_type="application/json")

    app.include_router(pages.router)
    app.include_router(api.router)
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
