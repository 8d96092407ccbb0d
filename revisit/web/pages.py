"""The HTML pages: dashboard, accounts, one account, alert log, settings, and CSV exports of each list.

Filters come from the query string, so every filtered view is a link that can be shared and
exported as it is. Forms that change something (snooze, outcome, log out) carry a CSRF token.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from revisit.alerts.approach import opening_line, suggested_approach
from revisit.alerts.report import Outcome
from revisit.app import enabled_source_terms
from revisit.core.account import DormancyReason, DormancyTier
from revisit.core.config import effective_settings, masked_url
from revisit.core.errors import BadInput
from revisit.core.logs import mask_address_text
from revisit.enrichment.dormancy import months_between
from revisit.storage.outbox import AlertOutbox
from revisit.storage.outcomes import record_outcome
from revisit.web import i18n
from revisit.web.app import context, page_user, principal_of, require_admin, require_owner
from revisit.web.auth import Busy, Principal, csrf_matches, new_csrf_token, retry_after
from revisit.web.charts import Bar, bar_chart
from revisit.web.i18n import gettext as _
from revisit.web.queries import ACCOUNT_SORTS, RECENT_VISITS, TIERS, AccountDetail, AccountFilter, AlertFilter

router = APIRouter(include_in_schema=False)
BOM = "\ufeff"  # Excel reads a CSV as UTF-8 (Japanese intact) only with it
# Bounds of what filters accept: beyond them dates overflow and numbers overflow the database.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)
LARGEST_NUMBER = 1_000_000
LONGEST_SNOOZE_DAYS = 365


def render(
    request: Request, template: str, user: Principal | None, status_code: int = 200, **values: Any
) -> HTMLResponse:
    csrf = request.session.get("csrf")
    if csrf is None:
        csrf = request.session["csrf"] = new_csrf_token()
    return context(request).templates.TemplateResponse(
        request,
        template,
        {
            "user": user,
            "csrf": csrf,
            "today": context(request).today(),
            "locale": getattr(request.state, "locale", i18n.DEFAULT_LOCALE),
            "locales": i18n.LOCALES,
            "page_sizes": PAGE_SIZES,
            "page_numbers": page_numbers,
            "heat": heat,
            "months_since": lambda *days: _months_since(context(request).today(), days),
            **values,
        },
        status_code=status_code,
    )


def _months_since(today: date, days: Sequence[date | None]) -> int | None:
    """Months from the latest of ``days`` (last deal, last contact) to today; None without a date."""
    known = [day for day in days if day is not None]
    return months_between(max(known), today) if known else None


ERROR_TITLES = {
    400: i18n.N_("The request could not be understood"),
    403: i18n.N_("Not allowed"),
    404: i18n.N_("Not found"),
    405: i18n.N_("Not allowed"),
    422: i18n.N_("Some values are missing or wrong"),
}


# Starlette's own details, shown through the catalog like the details raised with ``N_``.
ERROR_DETAILS = (
    i18n.N_("Not Found"),
    i18n.N_("Method Not Allowed"),
)
FORM_OUT_OF_DATE = i18n.N_("the form is out of date (CSRF token missing or wrong): reload the page")
# A query parameter as its form names it, for error messages.
FIELD_LABELS: Mapping[str, str] = {
    "since": i18n.N_("From"),
    "until": i18n.N_("To"),
    "min_score": i18n.N_("Min. score"),
    "q": i18n.N_("Name"),
    "owner": i18n.N_("Owner"),
    "industry": i18n.N_("Industry"),
    "tier": i18n.N_("Tier"),
    "sort": i18n.N_("Sort order"),
    "page": i18n.N_("Page"),
    "per_page": i18n.N_("Rows per page"),
    "visits_page": i18n.N_("Visit page"),
    "reason": i18n.N_("Reason"),
    "note": i18n.N_("Note"),
    "locale": i18n.N_("Language"),
}


def field(name: str) -> str:
    return _(FIELD_LABELS[name]) if name in FIELD_LABELS else name


def error_page(request: Request, status: int, detail: str, headers: Mapping[str, str] | None) -> Response:
    """What a browser gets for an error: the page's frame with its navigation, what went wrong, a way back.
    A detail that is a catalog message is shown translated; others are already in the reader's language."""
    try:
        user = principal_of(request)
    except Exception:  # the database is what failed: the page still says what happened
        user = None
    response = render(
        request,
        "error.html",
        user,
        status_code=status,
        title=_(ERROR_TITLES.get(status, i18n.N_("Something went wrong"))),
        detail=i18n.plain_gettext(detail) if detail else detail,
        status=status,
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def check_csrf(request: Request, token: str) -> None:
    if not csrf_matches(request.session.get("csrf"), token):
        raise HTTPException(403, FORM_OUT_OF_DATE)


def _date(params: Mapping[str, str], name: str, errors: list[str]) -> date | None:
    text = params.get(name, "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors.append(_("%(name)s: %(text)r is not a date (YYYY-MM-DD)", name=field(name), text=text[:40]))
        return None
    if not FIRST_DAY <= day <= LAST_DAY:
        errors.append(
            _(
                "%(name)s: %(text)r is not between %(first)s and %(last)s",
                name=field(name),
                text=text,
                first=FIRST_DAY,
                last=LAST_DAY,
            )
        )
        return None
    return day


def _date_range(params: Mapping[str, str], errors: list[str]) -> tuple[date | None, date | None]:
    """``since`` and ``until``; a range that ends before it starts matches no day: said, not run."""
    since, until = _date(params, "since", errors), _date(params, "until", errors)
    if since is not None and until is not None and since > until:
        errors.append(_("From (%(since)s) is after To (%(until)s): swap them or change one", since=since, until=until))
        return None, None
    return since, until


def backwards_range(params: Mapping[str, str]) -> bool:
    """``until`` before ``since``: no row can match, so no list is shown (the message says why)."""
    found: list[str] = []
    since, until = _date(params, "since", found), _date(params, "until", found)
    return since is not None and until is not None and since > until


def _int(params: Mapping[str, str], name: str, errors: list[str], default: int = 0, least: int = 0) -> int:
    text = params.get(name, "").strip()
    if not text:
        return default
    try:
        number = int(text) if len(text) <= 20 else None
    except ValueError:
        number = None
    if number is None or not least <= number <= LARGEST_NUMBER:
        errors.append(
            _(
                "%(name)s: %(text)r is not a whole number from %(least)s to %(most)s",
                name=field(name),
                text=text[:40],
                least=least,
                most=LARGEST_NUMBER,
            )
        )
        return default
    return number


def _text(params: Mapping[str, str], name: str, errors: list[str]) -> str:
    """Free text as given, up to 200 characters; control characters (NUL above all, which
    PostgreSQL refuses) are an error, not a crash."""
    text = params.get(name, "")[:200]
    if _CONTROL.search(text):
        errors.append(_("%(name)s: control characters are not allowed", name=field(name)))
        return ""
    return text


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def plain_text(value: str, name: str, longest: int) -> str:
    """A form's free text, stripped, or 400."""
    if _CONTROL.search(value) or len(value) > longest:
        raise HTTPException(
            400,
            _(
                "%(name)s: at most %(longest)d characters, no control characters",
                name=field(name),
                longest=longest,
            ),
        )
    return value.strip()


def account_filter(params: Mapping[str, str]) -> tuple[AccountFilter, list[str]]:
    """The filter a query string asks for, and what in it could not be understood (shown, not fatal)."""
    errors: list[str] = []
    tier = params.get("tier", "")
    if tier and tier not in TIERS:
        errors.append(
            _("%(name)s: %(text)r is not one of %(choices)s", name=field("tier"), text=tier, choices=", ".join(TIERS))
        )
        tier = ""
    sort = params.get("sort", "last_visit")
    if sort not in ACCOUNT_SORTS:
        errors.append(
            _(
                "%(name)s: %(text)r is not one of %(choices)s",
                name=field("sort"),
                text=sort,
                choices=", ".join(ACCOUNT_SORTS),
            )
        )
        sort = "last_visit"
    since, until = _date_range(params, errors)
    return AccountFilter(
        tier=tier,
        owner=_text(params, "owner", errors),
        industry=_text(params, "industry", errors),
        min_score=_int(params, "min_score", errors),
        since=since,
        until=until,
        q=_text(params, "q", errors),
        sort=sort,
        descending=params.get("order", "asc" if sort in ASCENDING_FIRST else "desc") == "desc",
        page=_int(params, "page", errors, 1, least=1),
    ), errors


ASCENDING_FIRST = ("name", "tier")  # あ before か, A before B; every other column: the largest first
PAGE_SIZES = (25, 50, 100)


def page_size(params: Mapping[str, str], errors: list[str], configured: int) -> int:
    """``per_page``: one of PAGE_SIZES or the configured ``web.page_size``."""
    text = params.get("per_page", "").strip()
    if not text:
        return configured
    allowed = sorted({*PAGE_SIZES, configured})
    if text not in {str(size) for size in allowed}:
        errors.append(
            _(
                "%(name)s: %(text)r is not one of %(choices)s",
                name=field("per_page"),
                text=text[:40],
                choices=", ".join(map(str, allowed)),
            )
        )
        return configured
    return int(text)


def page_numbers(page: int, pages: int, around: int = 2) -> list[int | None]:
    """The page links of a pager: the first, the last, and ``around`` either side of the current
    one; ``None`` where pages are left out (shown as …)."""
    shown = sorted({1, pages, *range(max(1, page - around), min(pages, page + around) + 1)})
    numbers: list[int | None] = []
    for number in shown:
        if numbers and number - (numbers[-1] or 0) > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


def heat(score: int, threshold: int) -> str:
    """A score in words on a three-step scale, from the alert threshold (``intent.threshold``):
    hot at twice it, warm from it, cool below (seen, not enough to alert)."""
    if score >= 2 * threshold:
        return "hot"
    return "warm" if score >= threshold else "cool"


def alert_filter(params: Mapping[str, str]) -> tuple[AlertFilter, list[str]]:
    errors: list[str] = []
    tier = params.get("tier", "")
    if tier and tier not in ("A", "B", "C"):
        errors.append(
            _("%(name)s: %(text)r is not one of %(choices)s", name=field("tier"), text=tier, choices="A, B, C")
        )
        tier = ""
    since, until = _date_range(params, errors)
    return AlertFilter(
        tier=tier,
        owner=_text(params, "owner", errors),
        since=since,
        until=until,
        q=_text(params, "q", errors),
        page=_int(params, "page", errors, 1, least=1),
    ), errors


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([spreadsheet_safe(value) for value in row] for row in rows)
    return Response(
        buffer.getvalue().encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition(filename)},
    )


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A text cell that Excel or LibreOffice would run as a formula (``=HYPERLINK(...)`` in an
    account name or a visited path, OWASP's "CSV injection") gets a leading apostrophe, which the
    spreadsheet shows as text; numbers and dates are left as they are."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII name every client understands (anything else becomes ``_``), then the
    real name in UTF-8 (RFC 8187) for those that know ``filename*``. Nothing from the URL can
    close the quotes or add a parameter."""
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def link(params: Mapping[str, str], **changes: Any) -> str:
    """The current query string with some parameters changed (sorting, paging, export)."""
    merged = {**params, **{k: str(v) for k, v in changes.items()}}
    return urlencode({k: v for k, v in merged.items() if v not in ("", None)})


# --- log in and out ------------------------------------------------------------------------
@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", None, next=_safe_next(next), error="")


@router.post("/login")
async def login(
    request: Request, name: str = Form(""), password: str = Form(""), csrf: str = Form(""), next: str = Form("/")
) -> Response:
    """Throttled per name and per address (429 with Retry-After), and at most
    ``web.password_checks_at_once`` argon2 checks at a time (503 with Retry-After when no turn comes)."""
    check_csrf(request, csrf)
    web = context(request)
    address = request.client.host if request.client else ""
    wait = web.throttle.wait_for(name, address)
    if wait > 0:
        return _login_refused(request, next, 429, wait, _("Too many failed logins: try again later."))
    users = web.settings.web.users
    try:
        principal = await web.password_checks.run(lambda: web.auth.check_password(users, name, password))
    except Busy:
        return _login_refused(request, next, 503, 1, _("The server is busy: try again in a moment."))
    if principal is None:
        web.throttle.failed(name, address)
        response = render(request, "login.html", None, next=_safe_next(next), error=_("Wrong name or password."))
        response.status_code = 401
        return response
    web.throttle.succeeded(name)
    lifetime = timedelta(hours=web.settings.web.session_hours)
    session_id = await run_in_threadpool(web.sessions.create, principal.name, lifetime)
    old = request.session.get("sid")
    if isinstance(old, str) and old:
        await run_in_threadpool(web.sessions.end, old)
    chosen = request.session.get("locale")
    request.session.clear()  # a new session on login: no fixation
    request.session.update({"sid": session_id, "csrf": new_csrf_token()})
    if chosen in i18n.LOCALES:
        request.session["locale"] = chosen
    return RedirectResponse(_safe_next(next), status_code=303)


def _login_refused(request: Request, next: str, status: int, wait: float, error: str) -> Response:
    response = render(request, "login.html", None, next=_safe_next(next), error=error)
    response.status_code = status
    response.headers["Retry-After"] = retry_after(wait)
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")) -> Response:
    check_csrf(request, csrf)
    session_id = request.session.get("sid")
    if isinstance(session_id, str) and session_id:
        context(request).sessions.end(session_id)
    chosen = request.session.get("locale")
    request.session.clear()
    if chosen in i18n.LOCALES:  # the language is the person's, not the session's
        request.session["locale"] = chosen
    return RedirectResponse("/login", status_code=303)


@router.post("/language")
def choose_language(request: Request, locale: str = Form(""), csrf: str = Form(""), next: str = Form("/")) -> Response:
    """The switch in the page header: kept in the signed session cookie, across logins."""
    check_csrf(request, csrf)
    if locale not in i18n.LOCALES:
        raise HTTPException(
            400, _("%(name)s: one of %(choices)s", name=field("locale"), choices=", ".join(i18n.LOCALES))
        )
    request.session["locale"] = locale
    return RedirectResponse(_safe_next(next), status_code=303)


def _safe_next(target: str) -> str:
    """Only a path on this site (no open redirect to another host)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


# --- pages ---------------------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, user: Principal = Depends(page_user)) -> HTMLResponse:
    web = context(request)
    board = web.reads.dashboard(web.today())
    chart = bar_chart(
        [Bar(day.day.strftime("%m-%d"), day.accounts, day.alerts) for day in board.trend],
        _("Dormant accounts seen per day, and alerts"),
        legend=(_("accounts seen"), _("alerts")),
        describe=lambda bar: _(
            "%(day)s: %(accounts)d accounts seen, %(alerts)d alerts",
            day=bar.label,
            accounts=bar.value,
            alerts=bar.secondary,
        ),
    )
    return render(
        request,
        "dashboard.html",
        user,
        board=board,
        chart=chart,
        week_start=web.today() - timedelta(days=6),
        came_back=web.reads.came_back(web.today()),
        thresholds=web.settings.dormancy.default,
        industries_with_own_thresholds=sorted(web.settings.dormancy.by_industry),
    )


@router.get("/sources", response_class=HTMLResponse)
def sources(request: Request, user: Principal = Depends(page_user)) -> HTMLResponse:
    """The attribution page the open databases' licences ask for (CC BY, CC BY-SA): every enabled
    source with its licence, credit and whether its data may be used for sales."""
    try:
        terms = enabled_source_terms(context(request).settings)
    except BadInput as error:
        return render(request, "sources.html", user, status_code=200, sources=[], errors=[str(error)])
    return render(request, "sources.html", user, sources=terms)


@router.get("/accounts", response_class=HTMLResponse)
def accounts(request: Request, user: Principal = Depends(page_user)) -> HTMLResponse:
    web = context(request)
    params = dict(request.query_params)
    chosen, errors = account_filter(params)
    per_page = page_size(params, errors, web.settings.web.page_size)
    page = None if backwards_range(params) else web.reads.accounts(chosen, web.today(), per_page)
    start, end = chosen.visit_range(web.today(), web.settings.web.default_days, web.clock)
    return render(
        request,
        "accounts.html",
        user,
        page=page,
        per_page=per_page,
        threshold=web.settings.intent.threshold,
        f=chosen,
        errors=errors,
        params=params,
        link=link,
        choices=web.reads.choices(),
        tiers=TIERS,
        range_start=web.clock.local(start).date(),
        range_end=web.clock.local(end).date() - timedelta(days=1),
        status_code=400 if errors else 200,
    )


@router.get("/accounts.csv")
def accounts_csv(request: Request, user: Principal = Depends(page_user)) -> Response:
    web = context(request)
    chosen, errors = account_filter(dict(request.query_params))
    if errors:
        raise HTTPException(400, "; ".join(errors))
    rows = web.reads.accounts_for_export(chosen, web.today())
    return csv_response(
        "revisit-accounts.csv",
        [
            "account_id",
            "name",
            "tier",
            "owner",
            "owner_email",
            "industry",
            "dormancy_reason",
            "lifetime_value",
            "last_deal_at",
            "visits",
            "pages",
            "max_score",
            "last_visit",
            "alerts",
        ],
        [
            (
                r.account_id,
                r.name,
                r.tier,
                r.owner_name,
                r.owner_email,
                r.industry,
                r.dormancy_reason,
                r.lifetime_value,
                r.last_deal_at,
                r.visits,
                r.pages,
                r.max_score,
                web.clock.iso(r.last_visit),
                r.alerts,
            )
            for r in rows
        ],
    )


@dataclass(frozen=True)
class NextStep:
    """The top of the account page, what a rep acts from: how long the account has been quiet and
    what to say, in the page's language (the alerts' own texts are in the alert's language)."""

    months_dormant: int | None  # since the later of the last deal and the last contact; None: no date
    last_touch: date | None
    approach: str
    opening_line: str


def next_step(detail: AccountDetail, today: date, locale: str) -> NextStep:
    account = detail.account
    touches = [day for day in (account.last_deal_at, account.last_contact_at) if day is not None]
    last_touch = max(touches) if touches else None
    try:
        reason = DormancyReason(account.dormancy_reason)
    except ValueError:
        reason = DormancyReason.UNKNOWN
    tier = DormancyTier(detail.tier)
    labels = [page.what for page in detail.top_pages if page.labelled]
    return NextStep(
        months_between(last_touch, today) if last_touch else None,
        last_touch,
        suggested_approach(tier, reason, locale, lost_deal=account.lost_deal_at is not None)
        if tier is not DormancyTier.ACTIVE
        else "",
        opening_line(account.name, account.owner_name, locale, labels, reason, tier, account.lost_deal_at is not None)
        if tier is not DormancyTier.ACTIVE
        else "",
    )


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
def account(request: Request, account_id: str, user: Principal = Depends(page_user)) -> HTMLResponse:
    web = context(request)
    params = dict(request.query_params)
    errors: list[str] = []
    visits_page = _int(params, "visits_page", errors, 1, least=1)
    if errors:
        raise HTTPException(400, "; ".join(errors))
    detail = web.reads.account(
        account_id, web.today(), sessions_limit=web.settings.web.visits_per_page, visits_page=visits_page
    )
    if detail is None:
        raise HTTPException(404, _("no account %(id)r", id=account_id))
    locale = getattr(request.state, "locale", i18n.DEFAULT_LOCALE)
    chart = bar_chart(
        [Bar(day.day.strftime("%m-%d"), day.visits, day.pages) for day in detail.daily],
        _("Visits and pages read per day"),
        legend=(_("visits"), _("pages")),
        describe=lambda bar: _(
            "%(day)s: %(visits)d visits, %(pages)d pages", day=bar.label, visits=bar.value, pages=bar.secondary
        ),
    )
    return render(
        request,
        "account.html",
        user,
        d=detail,
        may_act=user.may_act_on(detail.account.owner_email or ""),
        recent_visits=RECENT_VISITS,
        step=next_step(detail, web.today(), locale),
        chart=chart,
        params=params,
        link=link,
        outcomes=[o.value for o in Outcome],
        longest_snooze=LONGEST_SNOOZE_DAYS,
        message=params.get("message", ""),
    )


@router.get("/accounts/{account_id}/visits.csv")
def account_visits_csv(request: Request, account_id: str, user: Principal = Depends(page_user)) -> Response:
    web = context(request)
    rows = web.reads.account_visits_for_export(account_id)
    return csv_response(
        f"revisit-{account_id}-visits.csv",
        ["occurred_at", "session_id", "path", "page_label", "client_ip", "organization", "match_method"],
        [
            (
                web.clock.iso(r.occurred_at),
                r.session_id,
                r.path,
                r.page_label,
                visitor_address(r.client_ip, web.settings.privacy.web_visitor_ips),
                r.organization_name,
                r.match_method,
            )
            for r in rows
        ],
    )


def _number_or_none(text: str) -> float | None:
    try:
        number = float(text.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def visitor_address(stored: str, shown: str) -> str:
    """A visitor's address as ``privacy.web_visitor_ips`` allows analysts to see it: ``network``
    (the default: its /24 or /48, enough to check an attribution, not to single out a person),
    ``full``, or ``none``. A keyed hash (``ip_storage = "hashed"``) is shown as it is stored."""
    if shown == "full":
        return stored
    if shown == "none":
        return ""
    return mask_address_text(stored)


@router.post("/accounts/{account_id}/snooze")
def snooze(
    request: Request,
    account_id: str,
    days: str = Form(""),
    reason: str = Form(""),
    csrf: str = Form(""),
    user: Principal = Depends(page_user),
) -> Response:
    check_csrf(request, csrf)
    web = context(request)
    require_owner(user, web.reads.owner_email(account_id))
    why = plain_text(reason, "reason", 500)
    number = _number_or_none(days)
    if number is None or not (0 < number <= LONGEST_SNOOZE_DAYS) or not why:
        # read here, not by the form's type: "abc" gets this sentence in the reader's language too
        raise HTTPException(
            400,
            _(
                "A snooze needs a number of days (more than 0, at most %(longest)d) and a reason",
                longest=LONGEST_SNOOZE_DAYS,
            ),
        )
    until = web.clock.local(AlertOutbox(web.store).snooze(account_id, number, why, user.name))
    message = _("Snoozed until %(until)s (%(zone)s)", until=f"{until:%Y-%m-%d %H:%M}", zone=web.clock.label)
    return RedirectResponse(f"/accounts/{account_id}?{urlencode({'message': message})}", status_code=303)


@router.post("/accounts/{account_id}/snooze/end")
def end_snooze(
    request: Request, account_id: str, csrf: str = Form(""), user: Principal = Depends(page_user)
) -> Response:
    """The undo of a snooze (whoever may snooze the account: an admin, or its owner in the sales role)."""
    check_csrf(request, csrf)
    require_owner(user, context(request).reads.owner_email(account_id))
    ended = AlertOutbox(context(request).store).end_snooze(account_id)
    message = _("Snooze ended: alerts are delivered again") if ended else _("There was no snooze to end")
    return RedirectResponse(
        f"/accounts/{quote(account_id, safe='')}?{urlencode({'message': message})}", status_code=303
    )


@router.get("/alerts", response_class=HTMLResponse)
def alerts(request: Request, user: Principal = Depends(page_user)) -> HTMLResponse:
    web = context(request)
    params = dict(request.query_params)
    chosen, errors = alert_filter(params)
    per_page = page_size(params, errors, web.settings.web.page_size)
    page = None if backwards_range(params) else web.reads.alerts(chosen, per_page)
    return render(
        request,
        "alerts.html",
        user,
        page=page,
        per_page=per_page,
        threshold=web.settings.intent.threshold,
        f=chosen,
        errors=errors,
        params=params,
        link=link,
        choices=web.reads.choices(),
        status_code=400 if errors else 200,
    )


@router.get("/alerts.csv")
def alerts_csv(request: Request, user: Principal = Depends(page_user)) -> Response:
    chosen, errors = alert_filter(dict(request.query_params))
    if errors:
        raise HTTPException(400, "; ".join(errors))
    web = context(request)
    rows = web.reads.alerts_for_export(chosen)
    return csv_response(
        "revisit-alerts.csv",
        [
            "alert_id",
            "account_id",
            "account_name",
            "tier",
            "score",
            "delivery",
            "triggered_at",
            "owner",
            "deliveries",
            "outcome",
        ],
        [
            (
                r.alert_id,
                r.account_id,
                r.account_name,
                r.tier,
                r.score,
                r.delivery,
                web.clock.iso(r.triggered_at),
                r.owner_name,
                r.deliveries,
                r.outcome,
            )
            for r in rows
        ],
    )


@router.post("/alerts/{alert_id}/outcome")
def outcome(
    request: Request,
    alert_id: str,
    result: str = Form(...),
    note: str = Form(""),
    confirmed: str = Form(""),
    csrf: str = Form(""),
    user: Principal = Depends(page_user),
) -> Response:
    """Two steps, no script needed: the form's answer is a page that says what will be recorded for
    which account, and only its "record" button (``confirmed=yes``) saves. An outcome feeds the
    reactivation report, so a slip of the drop-down should not land in it unseen."""
    check_csrf(request, csrf)
    web = context(request)
    alert = web.reads.alert_for_outcome(alert_id)
    require_owner(user, alert.owner_email if alert else None)
    if alert is None:
        raise HTTPException(404, _("no alert %(id)r", id=alert_id))
    try:
        chosen = Outcome(result)
    except ValueError:
        raise HTTPException(400, _("unknown outcome %(outcome)r", outcome=result)) from None
    why = plain_text(note, "note", 2000)
    if confirmed != "yes":
        return render(request, "confirm_outcome.html", user, alert=alert, result=chosen.value, note=why)
    try:
        account_id = record_outcome(web.store, alert_id, chosen, why, user.name)
    except BadInput as error:
        raise HTTPException(404, str(error)) from None
    message = _("Outcome recorded: %(outcome)s", outcome=i18n.word(i18n.OUTCOMES, chosen.value))
    return RedirectResponse(
        f"/accounts/{quote(account_id, safe='')}?{urlencode({'message': message})}",
        status_code=303,
    )


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, user: Principal = Depends(page_user)) -> HTMLResponse:
    require_admin(user)
    shown = effective_settings(context(request).settings)
    for entry in shown.get("web", {}).get("users", []):
        entry["password_hash"] = "***"
    for entry in shown.get("web", {}).get("api_tokens", []):
        entry["token_sha256"] = "***"
    web = context(request)
    sections = [
        (name, [(key, _setting_text(value)) for key, value in _flattened(value)])
        for name, value in shown.items()
        if isinstance(value, dict)
    ]
    top = [(key, _setting_text(value)) for key, value in shown.items() if not isinstance(value, dict)]
    return render(
        request,
        "settings.html",
        user,
        sections=[("", top), *sections],
        database_in_use=masked_url(web.store.engine.url.render_as_string(hide_password=False)),
    )


def _flattened(values: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested sections as ``key.subkey`` rows, in the order of the settings' dataclasses."""
    rows: list[tuple[str, Any]] = []
    for key, value in values.items():
        if isinstance(value, dict) and value:
            rows += _flattened(value, f"{prefix}{key}.")
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            for index, item in enumerate(value):  # [[web.users]]: one row per field, secrets masked alone
                rows += _flattened(item, f"{prefix}{key}[{index}].")
        else:
            rows.append((f"{prefix}{key}", value))
    return rows


def _setting_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
