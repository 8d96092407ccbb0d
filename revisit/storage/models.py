"""Database tables (SQLAlchemy 2.x). The schema is the Alembic migrations' next to this file; these
classes are how the code reads and writes it, and they describe it exactly (column order and
server defaults included): a new database is created from them and stamped with the newest
revision (``store.migrate``; ``tests/test_storage.py`` compares the two on SQLite and PostgreSQL).

All timestamps are stored in UTC; `as_utc` gives them back as aware datetimes on every backend
(SQLite keeps no offset).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    if TYPE_CHECKING:
        # Every model names its __tablename__, so its __table__ is a Table (SQLAlchemy declares the
        # wider FromClause, which has no insert() or delete()).
        __table__: ClassVar[Table]


class AccountRow(Base):
    __tablename__ = "accounts"
    __table_args__ = (Index("ix_accounts_sort_name", "sort_name"),)

    account_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    networks: Mapped[list[str]] = mapped_column(JSON, default=list)
    owner_name: Mapped[str] = mapped_column(Text, default="")
    owner_email: Mapped[str] = mapped_column(Text, default="")
    owner_slack: Mapped[str] = mapped_column(Text, default="")
    last_deal_at: Mapped[date | None] = mapped_column(Date)
    last_contact_at: Mapped[date | None] = mapped_column(Date)
    lost_deal_at: Mapped[date | None] = mapped_column(Date)
    lifetime_value: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    dormancy_reason: Mapped[str] = mapped_column(String(32), default="unknown")
    industry: Mapped[str] = mapped_column(Text, default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    owner_timezone: Mapped[str] = mapped_column(Text, default="", server_default="")
    sort_name: Mapped[str] = mapped_column(Text, default="", server_default="")  # enrichment.normalize.sort_key
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")  # normalize.search_text
    fingerprint: Mapped[str | None] = mapped_column(String(32))  # of the validated row: what changed
    # set when the account left the list: it no longer matches, its history stays
    delisted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    owner_locale: Mapped[str] = mapped_column(Text, default="", server_default="")


class AccountListRow(Base):
    """The account list last imported, by content digest: the same list is not imported again."""

    __tablename__ = "account_lists"

    list_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    account_count: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OrganizationRow(Base):
    """Resolution cache: what an address resolved to, and when."""

    __tablename__ = "organizations"

    ip: Mapped[str] = mapped_column(String(45), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float)
    domain: Mapped[str | None] = mapped_column(Text)
    asn: Mapped[int | None] = mapped_column(Integer)
    network: Mapped[str | None] = mapped_column(String(49))
    access_provider: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class NetworkRegistrationRow(Base):
    """RDAP answers, per registered network (at least a /24 or /48: never one visitor's address)."""

    __tablename__ = "network_registrations"

    network: Mapped[str] = mapped_column(String(49), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32))
    evidence: Mapped[str] = mapped_column(Text, default="", server_default="")
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # last, as migration 0013 added it: the evidence's phrases (``Phrase.to_record``), to be said
    # in the reader's language; None when stored before
    evidence_said: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)


class LedgerRow(Base):
    """The first-party network ledger (enrichment/ledger.py): a network learned for an account from
    a sign-in or a form. Of an e-mail only its domain is kept. A revoked row stays, so that the
    same evidence imported again does not bring it back."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_account_id", "account_id"),)

    network: Mapped[str] = mapped_column(String(49), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    evidence: Mapped[str] = mapped_column(Text)
    email_domain: Mapped[str] = mapped_column(Text, default="", server_default="")
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    sightings: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # last, as migration 0013 added it: the evidence as a phrase (``Phrase.to_record``), to be said
    # in the reader's language; None when stored before
    evidence_said: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class LedgerSightingRow(Base):
    """The instants a ledger entry was seen at and how many people then (``LedgerEntry.seen``):
    the same export imported again, or the same log replayed, adds no sighting twice. Who they
    were is not kept. Deleted with its entry, and by ``revisit retention`` once older than
    ``privacy.retention_days`` (with the default ``ledger.prefix_v4`` of 32 the network is one
    address: these rows are when it was used)."""

    __tablename__ = "ledger_sightings"

    network: Mapped[str] = mapped_column(String(49), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    people: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class SessionRow(Base):
    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_account_started", "account_id", "started_at"),
        # the lists aggregate visits in a date range straight from this index (PostgreSQL)
        Index(
            "ix_sessions_started_cover",
            "started_at",
            postgresql_include=["account_id", "page_count", "score", "last_seen"],
        ),
    )

    session_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(128), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    page_count: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)


class HitRow(Base):
    """Hits of matched accounts only: the visit history analysts read."""

    __tablename__ = "hits"
    __table_args__ = (Index("ix_hits_account_occurred", "account_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hit_key: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[str] = mapped_column(String(128), index=True)
    # None while the hit waits for the event-time order (stored early: README, "Event time")
    session_id: Mapped[str | None] = mapped_column(String(40), index=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    client_ip: Mapped[str] = mapped_column(String(45))
    method: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(Text)
    query: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[int] = mapped_column(Integer)
    referrer: Mapped[str] = mapped_column(Text, default="")
    user_agent: Mapped[str] = mapped_column(Text, default="")
    page_label: Mapped[str | None] = mapped_column(String(64))
    match_method: Mapped[str] = mapped_column(String(16))
    organization_name: Mapped[str | None] = mapped_column(Text)


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_account_triggered", "account_id", "triggered_at"),)

    alert_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(128), index=True)
    tier: Mapped[str] = mapped_column(String(8))
    score: Mapped[int] = mapped_column(Integer)
    delivery: Mapped[str] = mapped_column(String(16))
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    triggered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class DeliveryRow(Base):
    """The transactional outbox: one row per alert and channel, written with the alert.

    The primary key is what makes "never twice to one channel" hold: a row is sent, retried, or
    declared dead, never duplicated. A thread reply's row is the alert's latest reply: only pages
    stored for the first time (never a replayed or re-read one) make it pending again.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_sent_at", "sent_at"),
        Index("ux_deliveries_message_key", "message_key", unique=True),
    )

    alert_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending, sent, dead, suppressed
    route: Mapped[str] = mapped_column(String(32), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str] = mapped_column(Text, default="")
    provider_ref: Mapped[str] = mapped_column(Text, default="")  # Slack message ts, SMTP/HTTP answer
    # The idempotency key of the message this row carries ("<alert_id>:<channel>", a thread reply's
    # names the activity it reports): peers see it (Message-ID, Idempotency-Key) and may de-duplicate.
    message_key: Mapped[str] = mapped_column(String(200), server_default="")
    # Event time up to which the sent message reported the visit: a thread reply lists what came after.
    covered_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    owner: Mapped[str] = mapped_column(String(320), server_default="", index=True)  # routing.owner_key


class SnoozeRow(Base):
    """No deliveries for an account until ``until``; who asked and why are kept."""

    __tablename__ = "snoozes"

    account_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutcomeRow(Base):
    """What followed an alert, as sales recorded it: the figures `revisit report` is made of."""

    __tablename__ = "outcomes"
    __table_args__ = (Index("ix_outcomes_recorded_at", "recorded_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(String(36), index=True)
    account_id: Mapped[str] = mapped_column(String(128), index=True)
    outcome: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebSessionRow(Base):
    """A logged-in browser of the web UI. Only the SHA-256 of the random session id is kept, so a
    copy of this table logs nobody in; deleting the row ends the session (logout)."""

    __tablename__ = "web_sessions"

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


def to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def as_utc(value: datetime) -> datetime:
    """A stored timestamp as an aware UTC datetime (SQLite returns it without an offset)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
