"""The JSON API: the same data as the pages, described at /api/docs (OpenAPI).

Every time is ISO 8601 with its offset, in the web UI's zone (``web.timezone``), as on the pages.

Reads accept a bearer token or a logged-in session; writes (snooze, outcome) accept only a bearer
token (admin, or sales for the accounts it owns), since a cookie alone would let another site's form act
for the user.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import AfterValidator, BaseModel, Field, model_validator

from revisit.alerts.report import Outcome
from revisit.core.errors import BadInput
from revisit.storage.outbox import AlertOutbox
from revisit.storage.outcomes import record_outcome
from revisit.web import i18n
from revisit.web.app import api_user, context, require_owner
from revisit.web.auth import Principal
from revisit.web.pages import FIRST_DAY, LARGEST_NUMBER, LAST_DAY, LONGEST_SNOOZE_DAYS
from revisit.web.queries import AccountFilter, AccountSummary, AlertFilter, AlertLine

router = APIRouter(prefix="/api", tags=["revisit"])
User = Annotated[Principal, Depends(api_user)]
NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # NUL and friends: PostgreSQL refuses NUL


def _within_bounds(day: date | None) -> date | None:
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"must be between {FIRST_DAY} and {LAST_DAY}")
    return day


Day = Annotated[date | None, AfterValidator(_within_bounds)]
Ranged = TypeVar("Ranged", "AccountsQuery", "AlertsQuery")


def ordered_range(query: Ranged) -> Ranged:
    if query.since is not None and query.until is not None and query.since > query.until:
        raise ValueError(f"since ({query.since}) is after until ({query.until}): no day can match")
    return query


class AccountsQuery(BaseModel):
    tier: Literal["", "A", "B", "C", "active"] = ""
    owner: str = Field("", max_length=200, pattern=NO_CONTROL)
    industry: str = Field("", max_length=200, pattern=NO_CONTROL)
    min_score: int = Field(0, ge=0, le=LARGEST_NUMBER)
    since: Day = None
    until: Day = None
    q: str = Field("", max_length=200, pattern=NO_CONTROL, description="name search: width, case and kana insensitive")
    sort: Literal["name", "last_visit", "score", "visits", "tier", "value"] = "last_visit"
    order: Literal["asc", "desc"] = "desc"
    page: int = Field(1, ge=1, le=LARGEST_NUMBER)

    @model_validator(mode="after")
    def _range(self) -> AccountsQuery:
        return ordered_range(self)


class AccountsPage(BaseModel):
    items: list[AccountSummary]
    total: int
    page: int
    pages: int


class AlertsQuery(BaseModel):
    tier: Literal["", "A", "B", "C"] = ""
    owner: str = Field("", max_length=200, pattern=NO_CONTROL)
    since: Day = None
    until: Day = None
    q: str = Field("", max_length=200, pattern=NO_CONTROL)
    page: int = Field(1, ge=1, le=LARGEST_NUMBER)

    @model_validator(mode="after")
    def _range(self) -> AlertsQuery:
        return ordered_range(self)


class AlertsPage(BaseModel):
    items: list[AlertLine]
    total: int
    page: int
    pages: int


class SnoozeIn(BaseModel):
    days: float = Field(gt=0, le=LONGEST_SNOOZE_DAYS, allow_inf_nan=False)
    reason: str = Field(min_length=1, max_length=500, pattern=NO_CONTROL)


class OutcomeIn(BaseModel):
    result: Outcome
    note: str = Field("", max_length=2000, pattern=NO_CONTROL)


@router.get("/accounts", response_model=AccountsPage, summary="Dormant accounts that visited, filtered")
def list_accounts(request: Request, user: User, query: Annotated[AccountsQuery, Query()]) -> dict[str, Any]:
    web = context(request)
    chosen = AccountFilter(
        query.tier,
        query.owner,
        query.industry,
        query.min_score,
        query.since,
        query.until,
        query.q,
        query.sort,
        query.order == "desc",
        query.page,
    )
    page = web.reads.accounts(chosen, web.today(), web.settings.web.page_size)
    items = [replace(item, last_visit=web.clock.local(item.last_visit)) for item in page.items]
    return {"items": items, "total": page.total, "page": page.page, "pages": page.pages}


@router.get("/accounts/{account_id}", summary="One account: visits with pages, evidence, alerts, outcomes")
def get_account(request: Request, account_id: str, user: User) -> dict[str, Any]:
    web = context(request)
    detail = web.reads.account(account_id, web.today())
    if detail is None:
        raise HTTPException(404, f"no account {account_id!r}")
    a = detail.account
    local = web.clock.local
    return {
        "account_id": a.account_id,
        "name": a.name,
        "tier": detail.tier,
        "industry": a.industry,
        "owner": {"name": a.owner_name, "email": a.owner_email},
        "dormancy_reason": a.dormancy_reason,
        "last_deal_at": a.last_deal_at,
        "lifetime_value": a.lifetime_value,
        "visit_count": detail.session_count,
        "alert_count": detail.alert_count,
        "alerts_without_outcome": detail.alerts_without_outcome,
        "top_pages": [{"page": p.what, "labelled": p.labelled, "hits": p.hits} for p in detail.top_pages],
        "referrers": [{"host": host, "visits": count} for host, count in detail.sources.referrers],
        "campaigns": [{"campaign": name, "visits": count} for name, count in detail.sources.campaigns],
        "snoozed_until": detail.snoozed_until and local(detail.snoozed_until),
        "visits": [
            {
                "session_id": v.session_id,
                "started_at": local(v.started_at),
                "last_seen": local(v.last_seen),
                "score": v.score,
                "pages": [
                    {"at": local(p.occurred_at), "path": p.path, "label": p.page_label, "match_method": p.match_method}
                    for p in v.pages
                ],
            }
            for v in detail.visits
        ],
        "evidence": [
            {"network": e.network, "resolver": e.source, "organization": e.organization, "detail": e.detail}
            for e in detail.evidence
        ],
        "alerts": [
            {
                "alert_id": al.alert_id,
                "tier": al.tier,
                "score": al.score,
                "triggered_at": local(al.triggered_at),
                "match": {
                    **(al.payload.get("match") or {}),
                    "resolver": (al.payload.get("organization") or {}).get("source"),
                },
                "deliveries": [{"channel": d.channel, "status": d.status} for d in al.deliveries],
                "outcomes": [
                    {"outcome": o.outcome, "note": o.note, "by": o.recorded_by, "at": local(o.recorded_at)}
                    for o in al.outcomes
                ],
            }
            for al in detail.alerts
        ],
    }


@router.get("/alerts", response_model=AlertsPage, summary="The alert log, newest first")
def list_alerts(request: Request, user: User, query: Annotated[AlertsQuery, Query()]) -> dict[str, Any]:
    web = context(request)
    page = web.reads.alerts(
        AlertFilter(query.tier, query.owner, query.since, query.until, query.q, query.page), web.settings.web.page_size
    )
    items = [replace(item, triggered_at=web.clock.local(item.triggered_at)) for item in page.items]
    return {"items": items, "total": page.total, "page": page.page, "pages": page.pages}


@router.get("/dashboard", summary="This week: accounts seen by tier, alerts, deliveries, outcomes, trend")
def get_dashboard(request: Request, user: User) -> dict[str, Any]:
    web = context(request)
    board = web.reads.dashboard(web.today())
    return {
        "accounts_seen_by_tier": board.accounts_by_tier,
        "alerts_by_tier": board.alerts_by_tier,
        "deliveries_sent_by_channel": board.deliveries_sent,
        "outcomes": board.outcomes,
        "trend": [{"day": t.day, "accounts": t.accounts, "alerts": t.alerts} for t in board.trend],
    }


def bearer_owner(request: Request, user: Principal, owner_email: str | None) -> None:
    """A bearer token (never a cookie alone) of an admin, or of a sales token for its own accounts."""
    if not request.headers.get("authorization", "").lower().startswith("bearer "):
        raise HTTPException(403, i18n.N_("changes through the API need a bearer token"))
    require_owner(user, owner_email)


@router.post("/accounts/{account_id}/snooze", summary="Hold deliveries for an account (admin, or its sales owner)")
def snooze_account(request: Request, account_id: str, body: SnoozeIn, user: User) -> dict[str, Any]:
    web = context(request)
    bearer_owner(request, user, web.reads.owner_email(account_id))
    until = AlertOutbox(web.store).snooze(account_id, body.days, body.reason.strip(), user.name)
    return {"account_id": account_id, "snoozed_until": web.clock.local(until)}


@router.post(
    "/alerts/{alert_id}/outcome", summary="Record what followed an alert (admin, or the account's sales owner)"
)
def add_outcome(request: Request, alert_id: str, body: OutcomeIn, user: User) -> dict[str, Any]:
    alert = context(request).reads.alert_for_outcome(alert_id)
    bearer_owner(request, user, alert.owner_email if alert else None)
    try:
        account_id = record_outcome(context(request).store, alert_id, body.result, body.note.strip(), user.name)
    except BadInput as error:
        raise HTTPException(404, str(error)) from None
    return {"alert_id": alert_id, "account_id": account_id, "outcome": body.result.value}
