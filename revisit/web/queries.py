"""What the analysts' pages and API read: one function per page, a fixed number of queries each.

Lists are filtered, sorted and paginated in the database (no page loads a table into Python), and
detail pages fetch their related rows in one query per kind, never one per row. The account's
dormancy tier is computed in SQL from its last deal or contact with the configured thresholds
(per industry), so it can be filtered and sorted like any column and is always as of today.
"""

from __future__ import annotations

import ipaddress
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import Engine, case, func, literal_column, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select

from revisit.core.config import DormancySettings
from revisit.core.phrase import Phrase
from revisit.enrichment.dormancy import tier_cutoffs
from revisit.enrichment.normalize import search_forms
from revisit.privacy import stored_address_in
from revisit.storage.models import (
    AccountRow,
    AlertRow,
    DeliveryRow,
    HitRow,
    LedgerRow,
    OrganizationRow,
    OutcomeRow,
    SessionRow,
    SnoozeRow,
    as_utc,
)
from revisit.web.clock import Clock

TIERS = ("A", "B", "C", "active")
AccountSort = Literal["name", "last_visit", "score", "visits", "tier", "value"]
ACCOUNT_SORTS: tuple[str, ...] = ("name", "last_visit", "score", "visits", "tier", "value")
MAX_EXPORT_ROWS = 100_000
TOP_PAGES, TOP_SOURCES = 10, 5
RECENT_VISITS = 500  # an account page's "most read" and "came from" count this many latest visits
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign")
OPEN_DAYS = 2  # yesterday and today: a late log line can still add a visit to them
CLOSED_DAYS_SECONDS = 300.0  # how long the older days' counts are shown before they are read again


def name_search(query: str) -> ColumnElement[bool]:
    """Accounts whose name, an alias or the reading contains the query, legal forms aside."""
    return or_(*(AccountRow.search_text.contains(form, autoescape=True) for form in search_forms(query)))


def tier_expression(dormancy: DormancySettings, today: date) -> ColumnElement[str]:
    """The account's tier today, as ``enrichment.dormancy.dormancy_tier`` decides it, in SQL."""
    deal, contact = AccountRow.last_deal_at, AccountRow.last_contact_at
    last_touch = case((contact.is_(None), deal), (deal.is_(None), contact), (deal >= contact, deal), else_=contact)

    def tiers(industry_cutoffs: tuple[date, date, date]) -> ColumnElement[str]:
        a, b, c = industry_cutoffs
        return case((last_touch > a, "active"), (last_touch > b, "A"), (last_touch > c, "B"), else_="C")

    branches = [
        (AccountRow.industry == industry, tiers(tier_cutoffs(thresholds, today)))
        for industry, thresholds in dormancy.by_industry.items()
    ]
    default = tiers(tier_cutoffs(dormancy.default, today))
    by_industry = case(*branches, else_=default) if branches else default
    return case((last_touch.is_(None), "C"), else_=by_industry)


def tier_rank(tier: ColumnElement[str]) -> ColumnElement[int]:
    """A before B before C before active: ascending puts the warmest dormant accounts first
    (the letters alone sort "active" first when descending and last only by accident)."""
    return case((tier == "A", 1), (tier == "B", 2), (tier == "C", 3), else_=4)


@dataclass(frozen=True)
class AccountFilter:
    tier: str = ""
    owner: str = ""
    industry: str = ""
    min_score: int = 0
    since: date | None = None
    until: date | None = None
    q: str = ""
    sort: str = "last_visit"
    descending: bool = True
    page: int = 1

    def visit_range(self, today: date, default_days: int, clock: Clock) -> tuple[datetime, datetime]:
        """[start, end) in UTC: whole local days from ``since`` to ``until``; by default the last N days."""
        since = self.since or today - timedelta(days=default_days - 1)
        return clock.days(since, self.until or today)


@dataclass(frozen=True)
class AccountSummary:
    account_id: str
    name: str
    tier: str
    owner_name: str
    owner_email: str
    industry: str
    dormancy_reason: str
    lifetime_value: Decimal | None
    last_deal_at: date | None
    last_contact_at: date | None
    visits: int
    pages: int
    max_score: int
    last_visit: datetime
    alerts: int


@dataclass(frozen=True)
class Page:
    items: list[Any]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


class Reads:
    """The read side of the web UI over one database."""

    def __init__(
        self,
        engine: Engine,
        dormancy: DormancySettings,
        clock: Clock,
        default_days: int = 30,
        closed_days_seconds: float = CLOSED_DAYS_SECONDS,
    ) -> None:
        self.engine = engine
        self.closed_days_seconds = closed_days_seconds
        self.clock = clock
        self.dormancy = dormancy
        self.default_days = default_days
        # byte order of the sort key (kana in gojūon order) whatever the database's locale
        self._binary_collation = "C" if engine.dialect.name == "postgresql" else "BINARY"
        self._closed_days: _ClosedDays | None = None

    # --- accounts --------------------------------------------------------------------------
    def _accounts_query(self, f: AccountFilter, today: date) -> Select:
        start, end = f.visit_range(today, self.default_days, self.clock)
        visits = (
            select(
                SessionRow.account_id,
                func.count().label("visits"),
                func.sum(SessionRow.page_count).label("pages"),
                func.max(SessionRow.score).label("max_score"),
                func.max(SessionRow.last_seen).label("last_visit"),
            )
            .where(SessionRow.started_at >= start, SessionRow.started_at < end)
            .group_by(SessionRow.account_id)
            .subquery()
        )
        alerts = (
            select(AlertRow.account_id, func.count().label("alerts"))
            .where(AlertRow.triggered_at >= start, AlertRow.triggered_at < end)
            .group_by(AlertRow.account_id)
            .subquery()
        )
        tier = tier_expression(self.dormancy, today).label("tier")
        query = (
            select(
                AccountRow.account_id,
                AccountRow.name,
                tier,
                AccountRow.owner_name,
                AccountRow.owner_email,
                AccountRow.industry,
                AccountRow.dormancy_reason,
                AccountRow.lifetime_value,
                AccountRow.last_deal_at,
                AccountRow.last_contact_at,
                visits.c.visits,
                visits.c.pages,
                visits.c.max_score,
                visits.c.last_visit,
                func.coalesce(alerts.c.alerts, 0).label("alerts"),
            )
            .join(visits, visits.c.account_id == AccountRow.account_id)
            .outerjoin(alerts, alerts.c.account_id == AccountRow.account_id)
        )
        if f.tier:
            query = query.where(tier_expression(self.dormancy, today) == f.tier)
        if f.owner:
            query = query.where(or_(AccountRow.owner_name == f.owner, AccountRow.owner_email == f.owner))
        if f.industry:
            query = query.where(AccountRow.industry == f.industry)
        if f.min_score:
            query = query.where(visits.c.max_score >= f.min_score)
        if f.q.strip():
            query = query.where(name_search(f.q))
        order = {
            "name": AccountRow.sort_name.collate(self._binary_collation),
            "last_visit": visits.c.last_visit,
            "score": visits.c.max_score,
            "visits": visits.c.visits,
            "tier": tier_rank(tier_expression(self.dormancy, today)),
            "value": func.coalesce(AccountRow.lifetime_value, 0),
        }.get(f.sort, visits.c.last_visit)
        return query.order_by(order.desc() if f.descending else order.asc(), AccountRow.account_id)

    def accounts(self, f: AccountFilter, today: date, page_size: int) -> Page:
        return self._page(
            self._accounts_query(f, today), f.page, page_size, lambda rows: [_summary(row) for row in rows]
        )

    def _page(
        self,
        query: Select,
        page: int,
        page_size: int,
        convert: Callable[[Sequence[Any]], list[Any]],
        count: Select | None = None,
    ) -> Page:
        """One page of ``query`` and the total.

        Without ``count``, ``count(*) over ()`` rides along with the page's rows: for an aggregating
        query (the accounts list) the work is then done once, not again for a separate count. With
        ``count`` (the alert log, whose rows come straight from an index in order), the total is
        counted apart, so the page itself can stop after its rows."""
        page = max(1, page)
        paged = query if count is not None else query.add_columns(func.count().over().label("total_rows"))
        with self.engine.connect() as connection:
            rows = connection.execute(paged.limit(page_size).offset((page - 1) * page_size)).all()
            if count is not None:
                total = connection.execute(count).scalar_one()
            elif rows:
                total = rows[0].total_rows
            else:  # past the last page (or nothing at all): count on its own
                total = connection.execute(
                    select(func.count()).select_from(query.order_by(None).subquery())
                ).scalar_one()
        return Page(convert(rows), total, page, page_size)

    def accounts_for_export(self, f: AccountFilter, today: date) -> list[AccountSummary]:
        with self.engine.connect() as connection:
            rows = connection.execute(self._accounts_query(f, today).limit(MAX_EXPORT_ROWS)).all()
        return [_summary(row) for row in rows]

    def choices(self) -> dict[str, list[str]]:
        """Owners and industries for the filter form's drop-downs."""
        with self.engine.connect() as connection:
            owners = (
                connection.execute(
                    select(AccountRow.owner_name)
                    .distinct()
                    .where(AccountRow.owner_name != "")
                    .order_by(AccountRow.owner_name)
                )
                .scalars()
                .all()
            )
            industries = (
                connection.execute(
                    select(AccountRow.industry)
                    .distinct()
                    .where(AccountRow.industry != "")
                    .order_by(AccountRow.industry)
                )
                .scalars()
                .all()
            )
        return {"owners": list(owners), "industries": list(industries)}

    # --- one account -----------------------------------------------------------------------
    def account(
        self,
        account_id: str,
        today: date,
        sessions_limit: int = 30,
        alerts_limit: int = 50,
        visits_page: int = 1,
        chart_days: int = 30,
        ledger_limit: int = 100,
    ) -> AccountDetail | None:
        """Everything the account page shows, in a fixed number of queries (14) whatever its
        history: ``sessions_limit`` visits from page ``visits_page`` (newest first), the latest
        ``alerts_limit`` alerts, visits and pages per local day for ``chart_days`` days up to
        ``today``, its most read pages and where its visits came from."""
        tier = tier_expression(self.dormancy, today).label("tier")
        visits_page = max(1, visits_page)
        last_alert = select(func.max(AlertRow.triggered_at)).where(AlertRow.account_id == account_id).scalar_subquery()
        days = [today - timedelta(days=offset) for offset in range(chart_days - 1, -1, -1)]
        chart_start, chart_end = self.clock.days(days[0], today)
        with Session(self.engine) as connection:  # ORM rows: the page reads their attributes
            row = connection.execute(select(AccountRow, tier).where(AccountRow.account_id == account_id)).first()
            if row is None:
                return None
            sessions = (
                connection.execute(
                    select(SessionRow)
                    .where(SessionRow.account_id == account_id)
                    .order_by(SessionRow.started_at.desc(), SessionRow.session_id)
                    .limit(sessions_limit)
                    .offset((visits_page - 1) * sessions_limit)
                )
                .scalars()
                .all()
            )
            session_count, sessions_after_alert = connection.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(case((SessionRow.started_at > last_alert, 1), else_=0)), 0),
                ).where(SessionRow.account_id == account_id)
            ).one()
            by_day = (
                select(
                    self.clock.day_of(SessionRow.started_at, days, self.engine.dialect.name).label("day"),
                    SessionRow.page_count,
                )
                .where(
                    SessionRow.account_id == account_id,
                    SessionRow.started_at >= chart_start,
                    SessionRow.started_at < chart_end,
                )
                .subquery()
            )
            daily = {
                str(day): (visits, int(pages or 0))
                for day, visits, pages in connection.execute(
                    select(by_day.c.day, func.count(), func.sum(by_day.c.page_count)).group_by(by_day.c.day)
                )
            }
            # what they read and where they came from: over their latest RECENT_VISITS visits, so the
            # page costs the same for an account with 50,000 visits (the 1M-hit benchmark's busiest:
            # 232 ms for the pages and 491 ms for the sources over all its hits; 13 and 24 ms now)
            recent = (
                select(SessionRow.session_id)
                .where(SessionRow.account_id == account_id)
                .order_by(SessionRow.started_at.desc())
                .limit(RECENT_VISITS)
                .scalar_subquery()
            )
            page = func.coalesce(func.nullif(HitRow.page_label, ""), HitRow.path)
            top_pages = [
                PageCount(what, labelled, count)
                for what, labelled, count in connection.execute(
                    select(
                        page.label("what"),
                        func.max(case((func.coalesce(HitRow.page_label, "") != "", 1), else_=0)),
                        func.count(),
                    )
                    .where(HitRow.session_id.in_(recent))
                    .group_by(page)
                    .order_by(func.count().desc(), page)
                    .limit(TOP_PAGES)
                )
            ]
            entries = (
                select(
                    HitRow.referrer,
                    HitRow.query,
                    func.row_number()
                    .over(partition_by=HitRow.session_id, order_by=(HitRow.occurred_at, HitRow.id))
                    .label("nth"),
                )
                .where(HitRow.session_id.in_(recent))
                .subquery()
            )
            sources = _sources(
                connection.execute(
                    select(entries.c.referrer, entries.c.query, func.count())
                    .where(entries.c.nth == 1)
                    .group_by(entries.c.referrer, entries.c.query)
                ).all()
            )
            hits = (
                connection.execute(
                    select(
                        HitRow.session_id,
                        HitRow.occurred_at,
                        HitRow.path,
                        HitRow.page_label,
                        HitRow.client_ip,
                        HitRow.match_method,
                        HitRow.organization_name,
                    )
                    .where(HitRow.session_id.in_([s.session_id for s in sessions]))
                    .order_by(HitRow.occurred_at, HitRow.id)
                ).all()
                if sessions
                else []
            )
            addresses = sorted({hit.client_ip for hit in hits})
            resolved = (
                connection.execute(select(OrganizationRow).where(OrganizationRow.ip.in_(addresses))).scalars().all()
                if addresses
                else []
            )
            alerts = (
                connection.execute(
                    select(AlertRow)
                    .where(AlertRow.account_id == account_id)
                    .order_by(AlertRow.triggered_at.desc())
                    .limit(alerts_limit)
                )
                .scalars()
                .all()
            )
            no_outcome = ~select(OutcomeRow.id).where(OutcomeRow.alert_id == AlertRow.alert_id).exists()
            alert_count, alerts_without_outcome = connection.execute(
                select(func.count(), func.coalesce(func.sum(case((no_outcome, 1), else_=0)), 0)).where(
                    AlertRow.account_id == account_id
                )
            ).one()
            alert_ids = [alert.alert_id for alert in alerts]
            deliveries = (
                connection.execute(select(DeliveryRow).where(DeliveryRow.alert_id.in_(alert_ids))).scalars().all()
                if alert_ids
                else []
            )
            outcomes = (
                connection.execute(
                    select(OutcomeRow).where(OutcomeRow.alert_id.in_(alert_ids)).order_by(OutcomeRow.recorded_at)
                )
                .scalars()
                .all()
                if alert_ids
                else []
            )
            snooze = connection.execute(select(SnoozeRow).where(SnoozeRow.account_id == account_id)).scalars().first()
            ledger = (
                connection.execute(
                    select(LedgerRow)
                    .where(LedgerRow.account_id == account_id)
                    .order_by(LedgerRow.last_seen.desc(), LedgerRow.network)
                    .limit(ledger_limit)
                )
                .scalars()
                .all()
            )
        account, account_tier = row
        pages_by_session: dict[str, list[Any]] = defaultdict(list)
        for hit in hits:
            pages_by_session[hit.session_id].append(hit)
        deliveries_by_alert: dict[str, list[DeliveryRow]] = defaultdict(list)
        for delivery in deliveries:
            deliveries_by_alert[delivery.alert_id].append(delivery)
        outcomes_by_alert: dict[str, list[OutcomeRow]] = defaultdict(list)
        for outcome in outcomes:
            outcomes_by_alert[outcome.alert_id].append(outcome)
        last_alert_at = as_utc(alerts[0].triggered_at) if alerts else None
        return AccountDetail(
            account=account,
            tier=account_tier,
            session_count=session_count,
            alert_count=alert_count,
            alerts_without_outcome=int(alerts_without_outcome),
            last_alert_at=last_alert_at,
            visits_after_last_alert=int(sessions_after_alert) if last_alert_at else 0,
            visits_page=visits_page,
            visits_pages=max(1, -(-session_count // sessions_limit)),
            daily=[DayVisits(d, *daily.get(d.isoformat(), (0, 0))) for d in days],
            top_pages=top_pages,
            sources=sources,
            visits=[
                Visit(
                    s.session_id,
                    as_utc(s.started_at),
                    as_utc(s.last_seen),
                    s.page_count,
                    s.score,
                    pages_by_session.get(s.session_id, []),
                    after_last_alert=last_alert_at is not None and as_utc(s.started_at) > last_alert_at,
                )
                for s in sessions
            ],
            evidence=_evidence(row[0], hits, resolved),
            alerts=[
                AlertView(
                    a.alert_id,
                    a.tier,
                    a.score,
                    as_utc(a.triggered_at),
                    a.delivery,
                    a.payload,
                    deliveries_by_alert.get(a.alert_id, []),
                    outcomes_by_alert.get(a.alert_id, []),
                )
                for a in alerts
            ],
            snoozed_until=as_utc(snooze.until) if snooze is not None and as_utc(snooze.until) > _now() else None,
            snooze_reason=snooze.reason if snooze is not None else "",
            snoozed_by=snooze.created_by if snooze is not None else "",
            ledger=[_learned(entry) for entry in ledger],
        )

    def account_visits_for_export(self, account_id: str) -> Sequence[Any]:
        with self.engine.connect() as connection:
            return connection.execute(
                select(
                    HitRow.occurred_at,
                    HitRow.session_id,
                    HitRow.path,
                    HitRow.page_label,
                    HitRow.client_ip,
                    HitRow.organization_name,
                    HitRow.match_method,
                )
                .where(HitRow.account_id == account_id)
                .order_by(HitRow.occurred_at, HitRow.id)
                .limit(MAX_EXPORT_ROWS)
            ).all()

    # --- who may act on what ----------------------------------------------------------------
    def owner_email(self, account_id: str) -> str | None:
        """The account's owner e-mail (a sales user acts on its own accounts), None: no such account."""
        with self.engine.connect() as connection:
            found = connection.execute(
                select(AccountRow.owner_email).where(AccountRow.account_id == account_id)
            ).first()
        return None if found is None else found.owner_email or ""

    def alert_for_outcome(self, alert_id: str) -> AlertOfAccount | None:
        """The alert an outcome is about, with its account and owner (for the check and the confirmation)."""
        with self.engine.connect() as connection:
            found = connection.execute(
                select(
                    AlertRow.alert_id,
                    AlertRow.account_id,
                    AlertRow.tier,
                    AlertRow.score,
                    AlertRow.triggered_at,
                    AccountRow.name,
                    AccountRow.owner_email,
                )
                .join(AccountRow, AccountRow.account_id == AlertRow.account_id, isouter=True)
                .where(AlertRow.alert_id == alert_id)
            ).first()
        if found is None:
            return None
        return AlertOfAccount(
            found.alert_id,
            found.account_id,
            found.name or found.account_id,
            found.owner_email or "",
            found.tier,
            found.score,
            as_utc(found.triggered_at),
        )

    # --- alerts ----------------------------------------------------------------------------
    def _alerts_query(self, f: AlertFilter, counting: bool = False) -> Select:
        """The alert log's rows, or (``counting``) their number, joining accounts only when a filter
        needs them."""
        query: Select
        if counting:
            query = select(func.count()).select_from(AlertRow)
            if f.owner or f.q.strip():
                query = query.join(AccountRow, AccountRow.account_id == AlertRow.account_id)
        else:
            query = select(
                AlertRow.alert_id,
                AlertRow.account_id,
                AccountRow.name,
                AlertRow.tier,
                AlertRow.score,
                AlertRow.delivery,
                AlertRow.triggered_at,
                AccountRow.owner_name,
            ).join(AccountRow, AccountRow.account_id == AlertRow.account_id, isouter=True)
        if f.tier:
            query = query.where(AlertRow.tier == f.tier)
        if f.owner:
            query = query.where(or_(AccountRow.owner_name == f.owner, AccountRow.owner_email == f.owner))
        if f.since:
            query = query.where(AlertRow.triggered_at >= self.clock.start_of(f.since))
        if f.until:
            query = query.where(AlertRow.triggered_at < self.clock.start_of(f.until + timedelta(days=1)))
        if f.q.strip():
            query = query.where(name_search(f.q))
        return query if counting else query.order_by(AlertRow.triggered_at.desc(), AlertRow.alert_id)

    def alerts(self, f: AlertFilter, page_size: int) -> Page:
        return self._page(
            self._alerts_query(f), f.page, page_size, self._alert_lines_of, count=self._alerts_query(f, counting=True)
        )

    def _alert_lines_of(self, rows: Sequence[Any]) -> list[AlertLine]:
        with self.engine.connect() as connection:
            return self._alert_lines(connection, rows)

    def alerts_for_export(self, f: AlertFilter) -> list[AlertLine]:
        with self.engine.connect() as connection:
            return self._alert_lines(connection, connection.execute(self._alerts_query(f).limit(MAX_EXPORT_ROWS)).all())

    @staticmethod
    def _alert_lines(connection: Any, rows: Sequence[Any]) -> list[AlertLine]:
        """Deliveries and latest outcomes of the listed alerts: two queries for the whole page."""
        ids = [row.alert_id for row in rows]
        statuses: dict[str, list[str]] = defaultdict(list)
        results: dict[str, str] = {}
        if ids:
            for alert_id, channel, status in connection.execute(
                select(DeliveryRow.alert_id, DeliveryRow.channel, DeliveryRow.status)
                .where(DeliveryRow.alert_id.in_(ids))
                .order_by(DeliveryRow.channel)
            ):
                statuses[alert_id].append(f"{channel}: {status}")
            for alert_id, outcome in connection.execute(
                select(OutcomeRow.alert_id, OutcomeRow.outcome)
                .where(OutcomeRow.alert_id.in_(ids))
                .order_by(OutcomeRow.recorded_at, OutcomeRow.id)
            ):
                results[alert_id] = outcome
        return [
            AlertLine(
                row.alert_id,
                row.account_id,
                row.name or row.account_id,
                row.tier,
                row.score,
                row.delivery,
                as_utc(row.triggered_at),
                row.owner_name or "",
                ", ".join(statuses.get(row.alert_id, [])),
                results.get(row.alert_id, ""),
            )
            for row in rows
        ]

    # --- who came back (the home page) ------------------------------------------------------
    def came_back(self, today: date, days: int = 7, limit: int = 15) -> list[Returning]:
        """The dormant accounts (an active customer is not "back") seen in the last ``days`` local
        days, hottest first (best visit score, then the latest visit), with what they read most, their
        latest alert's outcome and any snooze: four queries whatever the number of accounts, hits or alerts."""
        week = AccountFilter(since=today - timedelta(days=days - 1), until=today, sort="score")
        start, end = week.visit_range(today, self.default_days, self.clock)
        with self.engine.connect() as connection:
            rows = connection.execute(
                self._accounts_query(week, today)
                .where(tier_expression(self.dormancy, today) != "active")  # customers now: not "back"
                .order_by(None)
                .order_by(
                    func.coalesce(text_column("max_score"), 0).desc(),
                    text_column("last_visit").desc(),
                    AccountRow.account_id,
                )
                .limit(limit)
            ).all()
            summaries = [_summary(row) for row in rows]
            ids = [summary.account_id for summary in summaries]
            if not ids:
                return []
            page = func.coalesce(func.nullif(HitRow.page_label, ""), HitRow.path)
            read: dict[str, list[str]] = defaultdict(list)
            for account_id, what, _count in connection.execute(
                select(HitRow.account_id, page.label("what"), func.count().label("n"))
                .where(HitRow.account_id.in_(ids), HitRow.occurred_at >= start, HitRow.occurred_at < end)
                .group_by(HitRow.account_id, page)
                .order_by(HitRow.account_id, func.count().desc(), page)
            ):
                if len(read[account_id]) < 3:
                    read[account_id].append(what)
            latest_outcome: dict[str, str] = {}
            for account_id, outcome in connection.execute(
                select(OutcomeRow.account_id, OutcomeRow.outcome)
                .where(OutcomeRow.account_id.in_(ids))
                .order_by(OutcomeRow.recorded_at, OutcomeRow.id)
            ):
                latest_outcome[account_id] = outcome
            snoozed = {
                account_id: as_utc(until)
                for account_id, until in connection.execute(
                    select(SnoozeRow.account_id, SnoozeRow.until).where(SnoozeRow.account_id.in_(ids))
                )
                if as_utc(until) > _now()
            }
        return [
            Returning(
                summary,
                read.get(summary.account_id, []),
                latest_outcome.get(summary.account_id, ""),
                snoozed.get(summary.account_id),
            )
            for summary in summaries
        ]

    # --- dashboard -------------------------------------------------------------------------
    def dashboard(self, today: date, trend_days: int = 28) -> Dashboard:
        days = [today - timedelta(days=offset) for offset in range(trend_days - 1, -1, -1)]
        week_start = self.clock.start_of(today - timedelta(days=6))
        tier = tier_expression(self.dormancy, today)
        seen = select(SessionRow.account_id).distinct().where(SessionRow.started_at >= week_start).subquery()
        with self.engine.connect() as connection:
            by_tier = dict(
                connection.execute(
                    select(tier, func.count())
                    .select_from(AccountRow)
                    .join(seen, seen.c.account_id == AccountRow.account_id)
                    .group_by(tier)
                ).all()
            )
            alerts_by_tier = dict(
                connection.execute(
                    select(AlertRow.tier, func.count())
                    .where(AlertRow.triggered_at >= week_start)
                    .group_by(AlertRow.tier)
                ).all()
            )
            sent = dict(
                connection.execute(
                    select(DeliveryRow.channel, func.count())
                    .where(DeliveryRow.status == "sent", DeliveryRow.sent_at >= week_start)
                    .group_by(DeliveryRow.channel)
                ).all()
            )
            outcomes = dict(
                connection.execute(
                    select(OutcomeRow.outcome, func.count())
                    .where(OutcomeRow.recorded_at >= week_start)
                    .group_by(OutcomeRow.outcome)
                ).all()
            )
        return Dashboard(
            accounts_by_tier={t: by_tier.get(t, 0) for t in TIERS},
            alerts_by_tier=alerts_by_tier,
            deliveries_sent=sent,
            outcomes=outcomes,
            trend=self._trend(days, today),
        )

    def _trend(self, days: list[date], today: date) -> list[TrendDay]:
        """Accounts seen and alerts per local day. The days before yesterday are closed: they change
        only when an old log is replayed, so their counts are read once per ``closed_days_seconds`` (5 minutes)
        and only yesterday and today are counted on every request. Counting four weeks of visits
        was most of the dashboard's time (82 of 180 ms at 1,000,000 hits, EXPLAIN ANALYZE) and grew
        with the history; two days are ~6,000 visits whatever the history."""
        closed, open_days = days[:-OPEN_DAYS], days[-OPEN_DAYS:]
        counts: dict[date, tuple[int, int]] = {}
        if closed:
            kept = self._closed_days
            if (
                kept is None
                or kept.days != (closed[0], closed[-1])
                or time.monotonic() - kept.read_at > self.closed_days_seconds
            ):
                kept = _ClosedDays((closed[0], closed[-1]), time.monotonic(), self._count_days(closed, today))
                self._closed_days = kept
            counts.update(kept.counts)
        counts.update(self._count_days(open_days, today))
        return [TrendDay(d, *counts.get(d, (0, 0))) for d in days]

    def _count_days(self, days: list[date], today: date) -> dict[date, tuple[int, int]]:
        """(dormant accounts seen, alerts) of each of the consecutive local ``days``: an active
        customer (a tier of today) is no dormant account that came back, as in the counts above."""
        start, end = self.clock.days(days[0], days[-1])
        dialect = self.engine.dialect.name
        with self.engine.connect() as connection:
            # grouped outside a subquery: the CASE's parameters appear once, not again in GROUP BY
            alerting = (
                select(self.clock.day_of(AlertRow.triggered_at, days, dialect).label("day"))
                .where(AlertRow.triggered_at >= start, AlertRow.triggered_at < end)
                .subquery()
            )
            alert_days = {
                str(d): n for d, n in connection.execute(select(alerting.c.day, func.count()).group_by(alerting.c.day))
            }
            # Distinct (day, account) pairs first, then counted: PostgreSQL hashes the pairs in memory.
            # ``count(DISTINCT account_id) ... GROUP BY day`` sorted all 61,000 sessions of 4 weeks
            # (1M-hit benchmark) and spilled the sort to disk: 272 ms; this form: 177 ms (EXPLAIN ANALYZE).
            visiting = (
                select(self.clock.day_of(SessionRow.started_at, days, dialect).label("day"), SessionRow.account_id)
                .join(AccountRow, AccountRow.account_id == SessionRow.account_id)
                .where(
                    SessionRow.started_at >= start,
                    SessionRow.started_at < end,
                    tier_expression(self.dormancy, today) != "active",
                )
                .distinct()
                .subquery()
            )
            visit_days = {
                str(d): n for d, n in connection.execute(select(visiting.c.day, func.count()).group_by(visiting.c.day))
            }
        return {d: (visit_days.get(d.isoformat(), 0), alert_days.get(d.isoformat(), 0)) for d in days}


@dataclass(frozen=True)
class AlertFilter:
    tier: str = ""
    owner: str = ""
    since: date | None = None
    until: date | None = None
    q: str = ""
    page: int = 1


@dataclass(frozen=True)
class AlertOfAccount:
    alert_id: str
    account_id: str
    account_name: str
    owner_email: str
    tier: str
    score: int
    triggered_at: datetime


@dataclass(frozen=True)
class AlertLine:
    alert_id: str
    account_id: str
    account_name: str
    tier: str
    score: int
    delivery: str
    triggered_at: datetime
    owner_name: str
    deliveries: str
    outcome: str


@dataclass(frozen=True)
class Visit:
    session_id: str
    started_at: datetime
    last_seen: datetime
    page_count: int
    score: int
    pages: list[Any]
    after_last_alert: bool = False  # began after the account's latest alert: news for its owner


@dataclass(frozen=True)
class AlertView:
    alert_id: str
    tier: str
    score: int
    triggered_at: datetime
    delivery: str
    payload: dict[str, Any]
    deliveries: list[DeliveryRow]
    outcomes: list[OutcomeRow]


@dataclass(frozen=True)
class AccountDetail:
    account: AccountRow
    tier: str
    session_count: int
    alert_count: int
    alerts_without_outcome: int
    last_alert_at: datetime | None
    visits_after_last_alert: int
    visits_page: int
    visits_pages: int
    daily: list[DayVisits]
    top_pages: list[PageCount]
    sources: Sources
    visits: list[Visit]
    evidence: list[Evidence]
    alerts: list[AlertView]
    snoozed_until: datetime | None
    snooze_reason: str
    snoozed_by: str = ""
    ledger: list[LearnedNetwork] = field(default_factory=list)


@dataclass(frozen=True)
class LearnedNetwork:
    """A network the first-party ledger learned for the account (revisit.enrichment.ledger)."""

    network: str
    kind: str  # sign-in or form
    evidence: str
    evidence_said: Phrase | None  # the evidence to be said in the page's language (None: stored without)
    email_domain: str
    first_seen: datetime
    last_seen: datetime
    expires_at: datetime
    sightings: int
    state: str  # active, expired or revoked
    revoked_reason: str


def _learned(row: LedgerRow) -> LearnedNetwork:
    expires_at = as_utc(row.expires_at)
    state = "revoked" if row.revoked_at is not None else "expired" if expires_at <= _now() else "active"
    return LearnedNetwork(
        row.network,
        row.kind,
        row.evidence,
        Phrase.stored(row.evidence_said),
        row.email_domain,
        as_utc(row.first_seen),
        as_utc(row.last_seen),
        expires_at,
        row.sightings,
        state,
        row.revoked_reason,
    )


@dataclass(frozen=True)
class DayVisits:
    day: date
    visits: int
    pages: int


@dataclass(frozen=True)
class PageCount:
    what: str  # the page rule's label, else the path
    labelled: bool
    hits: int


@dataclass(frozen=True)
class Sources:
    """Where the account's visits came from, by their first page: the referring site (``""``: typed
    in, a bookmark, or a referrer the browser withheld) and the campaign of ``utm_*`` parameters."""

    referrers: list[tuple[str, int]]
    campaigns: list[tuple[str, int]]


def _sources(entries: Sequence[Any]) -> Sources:
    referrers: Counter[str] = Counter()
    campaigns: Counter[str] = Counter()
    for referrer, query, count in entries:
        host = urlsplit(referrer).hostname if referrer and referrer != "-" and "//" in referrer else ""
        referrers[host or ""] += count
        utm = parse_qs(query or "")
        campaign = " / ".join(utm[key][0] for key in UTM_KEYS if utm.get(key))
        if campaign:
            campaigns[campaign] += count
    return Sources(
        sorted(referrers.items(), key=lambda item: (-item[1], item[0]))[:TOP_SOURCES],
        sorted(campaigns.items(), key=lambda item: (-item[1], item[0]))[:TOP_SOURCES],
    )


@dataclass(frozen=True)
class Returning:
    """An account that came back this week, as the home page lists it."""

    account: AccountSummary
    read: list[str]  # its most read pages (labels where the page rules give one), most read first
    outcome: str  # the latest outcome recorded for any of its alerts, "" if none
    snoozed_until: datetime | None


@dataclass(frozen=True)
class _ClosedDays:
    """The dashboard's counts of the days before yesterday, as read at ``read_at`` (monotonic)."""

    days: tuple[date, date]
    read_at: float
    counts: dict[date, tuple[int, int]]


@dataclass(frozen=True)
class TrendDay:
    day: date
    accounts: int
    alerts: int


@dataclass(frozen=True)
class Dashboard:
    accounts_by_tier: dict[str, int]
    alerts_by_tier: dict[str, int]
    deliveries_sent: dict[str, int]
    outcomes: dict[str, int]
    trend: list[TrendDay] = field(default_factory=list)


@dataclass(frozen=True)
class Evidence:
    """Why visits were attributed to the account: which resolver answered, for which network."""

    source: str  # account_networks, maxmind, ...
    organization: str
    network: str
    detail: str
    visits_from: int  # distinct addresses of the shown visits it explains


def _evidence(account: AccountRow, hits: Sequence[Any], resolved: Sequence[OrganizationRow]) -> list[Evidence]:
    """From the stored resolutions of the visitors' addresses, and for network matches from the
    account's own networks (those are not stored as resolutions: the list itself is the evidence)."""
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    details: dict[tuple[str, str], tuple[str, str]] = {}
    by_ip = {row.ip: row for row in resolved}
    networks = [ipaddress.ip_network(n) for n in account.networks or []]
    for hit in hits:
        row = by_ip.get(hit.client_ip)
        if row is not None:
            key = (row.source, row.network or "")
            details[key] = (row.name or "", row.evidence)
        elif hit.match_method == "network":
            network = stored_address_in(hit.client_ip, networks)  # addresses may be stored truncated
            key = ("account_networks", network)
            details[key] = (
                account.name,
                f"{network} is listed on account {account.account_id}"
                if network
                else "a network listed on the account (the address is stored as a keyed hash)",
            )
        else:
            continue
        found[key].add(hit.client_ip)
    return [
        Evidence(source, details[(source, network)][0], network, details[(source, network)][1], len(ips))
        for (source, network), ips in sorted(found.items())
    ]


def _summary(row: Any) -> AccountSummary:
    return AccountSummary(
        row.account_id,
        row.name,
        row.tier,
        row.owner_name,
        row.owner_email,
        row.industry,
        row.dormancy_reason,
        row.lifetime_value,
        row.last_deal_at,
        row.last_contact_at,
        row.visits,
        row.pages or 0,
        row.max_score or 0,
        as_utc(row.last_visit),
        row.alerts,
    )


def text_column(name: str) -> ColumnElement[Any]:
    """A column of the accounts query by its label (its ORDER BY is replaced)."""
    return literal_column(name)


def _now() -> datetime:
    return datetime.now(UTC)
