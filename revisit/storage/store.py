"""The database at the edge of the pipeline: SQLite file by default, any SQLAlchemy URL otherwise.

Writes are idempotent by key (``hit_key``, ``alert_id``, ``session_id``), so replaying a log into
the same database adds nothing twice, and hits are written in the same transaction as the alerts
they caused.
"""

from __future__ import annotations

import ipaddress
import json
import operator
import socket
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    bindparam,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import (
    ArgumentError,
    IntegrityError,
    OperationalError,
    ProgrammingError,
)

from revisit.alerts.channels import thread_channel
from revisit.alerts.outbox import message_key
from revisit.alerts.routing import DIGEST, OVER_BUDGET, THREAD_REPLY, owner_day, owner_key, plan_deliveries
from revisit.core.account import Account, DormancyReason, Owner
from revisit.core.alert import Alert, Delivery
from revisit.core.collection import no_collection
from revisit.core.config import DeliverySettings, masked_url
from revisit.core.errors import BadInput
from revisit.core.organization import Organization, OrgKind
from revisit.core.phrase import Phrase
from revisit.core.text import without_credentials
from revisit.core.visit import PageView, Session
from revisit.enrichment.account_table import AccountTable, account_fingerprint
from revisit.enrichment.accounts import KNOWN_COLUMNS
from revisit.enrichment.classify import MatchedHit
from revisit.enrichment.ledger import LedgerEntry, LedgerSaved, ListedEntry, merge_entries, people_at
from revisit.enrichment.normalize import search_text, sort_key
from revisit.enrichment.rdap import NetworkRegistration
from revisit.storage.models import (
    AccountListRow,
    AccountRow,
    AlertRow,
    Base,
    DeliveryRow,
    HitRow,
    LedgerRow,
    LedgerSightingRow,
    NetworkRegistrationRow,
    OrganizationRow,
    SessionRow,
    SnoozeRow,
    as_utc,
    to_utc,
)


def _shown(engine: Engine) -> str:
    """The engine's URL for a message: no password, in the userinfo or in the query string."""
    return without_credentials(engine.url.render_as_string(hide_password=True))


def open_engine(url: str) -> Engine:
    try:
        # pre-ping: after a database restart, pooled connections are dead; each is checked (one
        # round trip) and replaced when it is taken, instead of failing the first query
        engine = create_engine(url, future=True, pool_pre_ping=True)
    except (ArgumentError, ImportError, ValueError) as error:
        # ValueError: a port that is no number; the message quotes the URL only with its password masked
        raise BadInput(without_credentials(f"--db {masked_url(url)}: cannot use this database URL ({error})")) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _write_ahead_log)
    return engine


def _write_ahead_log(connection: Any, _record: Any) -> None:
    """SQLite in write-ahead-log mode: a commit appends to one file and syncs it once, where the
    default rollback journal syncs the journal, the database and the journal's removal. The worker
    commits on its event loop's thread up to 20 times a second, and each commit held the loop for
    15 ms (3.4 ms in this mode; measured on the bench machine's disk): a third of the loop while a
    backlog was stored. Readers (the web UI, ``revisit history``) no longer wait for the writer
    either. Just as durable: every commit is still synced (``synchronous`` stays FULL). A file this
    process may not write keeps its mode."""
    cursor = connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError:
        pass  # read-only: readers follow whatever mode the file has
    finally:
        cursor.close()


# The newest migration in migrations/versions (a test checks it against Alembic's own head). Knowing
# it lets a run on an up-to-date database skip importing Alembic, which costs a third of a second.
SCHEMA_REVISION = "0015"

# Alembic's own table of the revision a database is at, as Alembic creates it.
_ALEMBIC_VERSION = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def schema_is_current(engine: Engine) -> bool:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return False
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_REVISION


def _is_empty(engine: Engine) -> bool:
    with engine.connect() as connection:
        return not inspect(connection).get_table_names()


MIGRATION_ATTEMPTS = 20


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision. A new (empty) database gets the schema
    the models describe, stamped with the newest revision, in one transaction: the same tables,
    columns, defaults and indexes as the migrations make (``tests/test_storage.py``
    compares them on SQLite and PostgreSQL), without importing Alembic nor running the
    migrations (SQLite rebuilds a table for each batch of changes, each commit a sync to disk):
    a new SQLite database took 0.29-0.89 s wall (0.22-0.25 s CPU) with Alembic, 0.04-0.09 s
    (0.02-0.03 s CPU) so, measured alternating at load average 3.5-4. An existing database is
    upgraded by Alembic."""
    try:
        if schema_is_current(engine):
            return
        new = _is_empty(engine)
    except OperationalError as error:
        raise BadInput(f"database {_shown(engine)}: cannot open it ({without_credentials(str(error.orig))})") from None
    # Several processes may start on a new database at once (two workers, a worker and the
    # sender): the loser of the race sees "table already exists", waits, and finds it current.
    for attempt in range(MIGRATION_ATTEMPTS):
        try:
            if new:
                create_schema(engine)
            else:
                upgrade_with_alembic(engine)
            return
        except (OperationalError, ProgrammingError, IntegrityError) as error:
            time.sleep(0.5)
            try:
                if schema_is_current(engine):
                    return
            except OperationalError:
                pass
            if attempt == MIGRATION_ATTEMPTS - 1:
                raise BadInput(
                    f"database {_shown(engine)}: cannot open or migrate it ({without_credentials(str(error.orig))})"
                ) from None


def create_schema(engine: Engine) -> None:
    """The newest schema on an empty database, from the models, stamped with ``SCHEMA_REVISION``
    for Alembic's later upgrades; all or nothing."""
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            # the sqlite3 module runs DDL outside any transaction unless one was begun explicitly:
            # a run stopped halfway would leave tables without a revision, which Alembic cannot upgrade
            connection.exec_driver_sql("BEGIN")
        Base.metadata.create_all(connection, checkfirst=False)
        _ALEMBIC_VERSION.create(connection)
        connection.execute(_ALEMBIC_VERSION.insert().values(version_num=SCHEMA_REVISION))


def upgrade_with_alembic(engine: Engine) -> None:
    """Run the migrations from the database's revision to the newest."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("revisit.storage").joinpath("migrations")))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _dialect_insert(engine: Engine, table: Any):
    """An INSERT that knows ``ON CONFLICT`` in the database's own dialect."""
    dialect = engine.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql  # only here: ~30 ms to import at every start on SQLite

        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise BadInput(f"database dialect {dialect!r} is not supported (use SQLite or PostgreSQL)")


def _insert_ignoring_duplicates(engine: Engine, table: Any, key_columns: Sequence[str]):
    """``INSERT ... ON CONFLICT DO NOTHING``: how every idempotent write is made."""
    return _dialect_insert(engine, table).on_conflict_do_nothing(index_elements=list(key_columns))


def _attach_session(engine: Engine):
    """Insert a hit with its visit, or give a hit stored early (no visit yet) its visit. One row per
    key per statement: PostgreSQL refuses to update a row twice in one ``INSERT``."""
    statement = _dialect_insert(engine, HitRow.__table__)
    return statement.on_conflict_do_update(
        index_elements=["hit_key"],
        set_={"session_id": statement.excluded.session_id},
        where=HitRow.__table__.c.session_id.is_(None),
    )


def _upsert(engine: Engine, table: Any, key_columns: Sequence[str], update_columns: Sequence[str]):
    statement = _dialect_insert(engine, table)
    return statement.on_conflict_do_update(
        index_elements=list(key_columns),
        set_={name: statement.excluded[name] for name in update_columns},
    )


@dataclass(frozen=True, slots=True)
class AccountImport:
    """What an import changed: accounts added, changed and no longer listed, or nothing at all."""

    listed: int
    inserted: int = 0
    updated: int = 0
    delisted: int = 0  # left the list: marked, not deleted (their history stays)
    unchanged: bool = False  # the same list (by digest) as last time: not even compared


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    occurred_at: datetime
    session_id: str | None  # None: stored early, its visit not decided yet (README, "Event time")
    path: str
    page_label: str | None
    client_ip: str
    organization_name: str | None


class Store:
    """``delivery``: when given, each new alert gets its outbox rows in the same transaction."""

    def __init__(
        self,
        url: str,
        delivery: DeliverySettings | None = None,
        protect_address: Callable[[str], str] | None = None,
        plan_in_event_time: bool = False,
    ) -> None:
        self.url = url
        self.engine = open_engine(url)
        self.delivery = delivery
        # A replay plans deliveries from the time of the hits (the grouping wait of a visit in last
        # week's log is long over); a live worker from the clock, which its hits follow.
        self.plan_in_event_time = plan_in_event_time
        # what is stored of a visitor's address (revisit.privacy.AddressProtector.protect)
        self.protect_address: Callable[[str], str] = protect_address or (lambda address: address)
        migrate(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def forget_inherited_connections(self) -> None:
        """In a forked child: the pooled connections are the parent's (one socket, two processes
        talking over it): dropped without closing them, the child opens its own."""
        self.engine.dispose(close=False)

    # --- accounts --------------------------------------------------------------------------
    def problem(self) -> str | None:
        """None when the database answers a query now, else why not (a readiness check)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except OperationalError as error:
            return f"database unavailable: {without_credentials(str(error.orig))}"
        return None

    def save_accounts(
        self,
        accounts: Collection[Account],
        digest: str = "",
        batch: int = 5000,
        keys: Mapping[str, str] | None = None,
    ) -> AccountImport:
        """Make the stored list the given one, in one transaction: nothing when its ``digest`` is
        the one last imported, else only the accounts added, changed (by fingerprint) or gone.
        Writing every row took 6.5 s for 100,000 accounts; an unchanged list now costs one query.
        ``keys``: the matching key of names already normalised (``PreparedAccounts.keys``), for
        the sort and search columns.

        An account gone from the list is marked ``delisted_at``, not deleted: it stops matching
        (``load_accounts`` leaves it out) while its visits, alerts and outcomes stay readable in
        the web UI and ``revisit history``; listed again, it is an account like any other."""
        # no collection: the rows and the accounts made again from a kept table (100,000 of each
        # on a new list) all live to the end; the collector's passes over them freed nothing
        with self.engine.begin() as connection, no_collection():
            last = connection.execute(select(AccountListRow.digest).where(AccountListRow.list_id == 1)).scalar()
            if digest and last == digest:
                return AccountImport(len(accounts), unchanged=True)
            stored = {
                account_id: (fingerprint, delisted_at is None)
                for account_id, fingerprint, delisted_at in connection.execute(
                    select(AccountRow.account_id, AccountRow.fingerprint, AccountRow.delisted_at)
                )
            }
            fingerprints: Mapping[str, str] = (
                accounts.written_fingerprints() or dict(accounts.fingerprints())  # of kept accounts: no objects made
                if isinstance(accounts, AccountTable)
                else {account.account_id: account_fingerprint(account) for account in accounts}
            )
            changed = _changed_accounts(fingerprints, stored)
            gone = [
                account_id for account_id, (_, on_list) in stored.items() if on_list and account_id not in fingerprints
            ]
            now = datetime.now(UTC)
            writer = _AccountWriter(self.engine)
            for start in range(0, len(changed), batch):
                rows = writer.rows(
                    _accounts_of(accounts, changed[start : start + batch]), now, fingerprints, keys or {}
                )
                connection.exec_driver_sql(writer.statement, rows)
            for start in range(0, len(gone), batch):
                connection.execute(
                    update(AccountRow)
                    .where(AccountRow.account_id.in_(gone[start : start + batch]))
                    .values(delisted_at=now)
                )
            list_row = {"list_id": 1, "digest": digest, "account_count": len(accounts), "imported_at": now}
            connection.execute(
                _upsert(self.engine, AccountListRow.__table__, ["list_id"], ["digest", "account_count", "imported_at"]),
                [list_row],
            )
        # listed again after leaving the list counts as added, as the user sees it
        added = sum(1 for account_id in changed if not stored.get(account_id, ("", False))[1])
        return AccountImport(len(accounts), added, len(changed) - added, len(gone))

    def account_list_digest(self) -> str:
        """The content digest of the list last imported ("" before any, or for a list from elsewhere)."""
        with self.engine.connect() as connection:
            found = connection.execute(select(AccountListRow.digest).where(AccountListRow.list_id == 1)).scalar()
        return found or ""

    def load_accounts(self) -> tuple[Account, ...]:
        """The list as last imported, without the accounts that left it: what the streaming
        worker matches against."""
        with self.engine.connect() as connection:
            rows = (
                connection.execute(
                    select(AccountRow).where(AccountRow.delisted_at.is_(None)).order_by(AccountRow.account_id)
                )
                .mappings()
                .all()
            )
        return tuple(_account_from_row(row) for row in rows)

    def account_count(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(AccountRow)).scalar_one()

    def has_account(self, account_id: str) -> bool:
        """Whether a list imported here ever held ``account_id`` (one that left it still has its
        history): what a command naming an account checks before it acts on it."""
        with self.engine.connect() as connection:
            found = connection.execute(select(AccountRow.account_id).where(AccountRow.account_id == account_id))
            return found.first() is not None

    # --- reads -----------------------------------------------------------------------------
    def last_alert_times(self) -> dict[str, datetime]:
        """Latest alert per account (event time), so cooldowns hold across runs."""
        statement = select(AlertRow.account_id, func.max(AlertRow.triggered_at)).group_by(AlertRow.account_id)
        with self.engine.connect() as connection:
            return {account_id: as_utc(at) for account_id, at in connection.execute(statement)}

    def history(self, account_id: str) -> list[HistoryEntry]:
        statement = (
            select(
                HitRow.occurred_at,
                HitRow.session_id,
                HitRow.path,
                HitRow.page_label,
                HitRow.client_ip,
                HitRow.organization_name,
            )
            .where(HitRow.account_id == account_id)
            .order_by(HitRow.occurred_at, HitRow.id)
        )
        with self.engine.connect() as connection:
            return [HistoryEntry(as_utc(r[0]), *r[1:]) for r in connection.execute(statement)]

    def alerts_for(self, account_id: str | None = None) -> list[dict[str, Any]]:
        statement = select(AlertRow.payload).order_by(AlertRow.triggered_at, AlertRow.alert_id)
        if account_id is not None:
            statement = statement.where(AlertRow.account_id == account_id)
        with self.engine.connect() as connection:
            return [row[0] for row in connection.execute(statement)]

    def latest_hit_time(self) -> datetime | None:
        """The event time of the newest stored hit: how far a replay has read."""
        with self.engine.connect() as connection:
            latest = connection.execute(select(func.max(HitRow.occurred_at))).scalar()
        return None if latest is None else as_utc(latest)

    def count(self, table: str) -> int:
        model = {
            "hits": HitRow,
            "alerts": AlertRow,
            "sessions": SessionRow,
            "accounts": AccountRow,
            "organizations": OrganizationRow,
            "ledger_entries": LedgerRow,
        }[table]
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(model)).scalar_one()

    # --- the first-party network ledger ----------------------------------------------------
    def save_ledger_entries(self, entries: Sequence[LedgerEntry]) -> LedgerSaved:
        """Add what was learned, folded into the entries already kept (first and last sighting,
        expiry, count); a revoked entry stays revoked. A sighting counted before (``LedgerEntry.seen``:
        the same export imported again) is not counted again, and an entry with nothing new is
        left as it was. Only the instants of this batch are read back, not every one kept."""
        table = LedgerRow.__table__
        fresh = merge_entries(entries)
        written = repeated = 0
        with self.engine.begin() as connection:
            for start in range(0, len(fresh), 500):
                batch = fresh[start : start + 500]
                networks = {str(e.network) for e in batch}
                existing = {
                    (row.network, row.account_id): row
                    for row in connection.execute(select(table).where(table.c.network.in_(networks))).all()
                }
                accounts = {e.account_id for e in batch}
                instants = {at for e in batch for at, _who in e.seen}
                counted = self._people_counted(connection, networks, accounts, instants)
                rows, seen_rows = [], []
                for entry in batch:
                    key = (str(entry.network), entry.account_id)
                    row = existing.get(key)
                    if row is not None and row.revoked_at is not None:
                        continue
                    if entry.seen:
                        new = 0
                        for at, people in people_at(entry.seen).items():
                            before = counted.get((*key, at), 0)
                            new += max(0, people - before)
                            repeated += min(people, before)
                            if people > before:
                                seen_rows.append(
                                    {"network": key[0], "account_id": key[1], "seen_at": to_utc(at), "people": people}
                                )
                        # sightings without an instant (none today) still count as they came
                        unkeyed = entry.sightings - len(entry.seen)
                        if new + unkeyed <= 0:
                            continue
                        entry = replace(entry, sightings=new + unkeyed)
                    if row is not None:
                        entry = _ledger_entry(row).merged(entry)
                    rows.append(_ledger_row(entry))
                if rows:
                    columns = [c for c in rows[0] if c not in ("network", "account_id")]
                    connection.execute(_upsert(self.engine, table, ["network", "account_id"], columns), rows)
                    written += len(rows)
                if seen_rows:  # an upsert: another process may have written the same instant meanwhile
                    keys = ["network", "account_id", "seen_at"]
                    connection.execute(_upsert(self.engine, LedgerSightingRow.__table__, keys, ["people"]), seen_rows)
        return LedgerSaved(written, repeated)

    @staticmethod
    def _people_counted(
        connection: Any, networks: set[str], accounts: set[str], instants: set[datetime]
    ) -> dict[tuple[str, str, datetime], int]:
        """(network, account, instant) → people counted then, for these networks, accounts and
        instants only (the key's three columns: one index look-up each, however many are kept)."""
        sightings = LedgerSightingRow.__table__
        counted: dict[tuple[str, str, datetime], int] = {}
        ordered = sorted(instants)
        for first in range(0, len(ordered), 500):
            query = select(sightings).where(
                sightings.c.network.in_(networks),
                sightings.c.account_id.in_(accounts),
                sightings.c.seen_at.in_([to_utc(at) for at in ordered[first : first + 500]]),
            )
            for network, account_id, seen_at, people in connection.execute(query):
                counted[(network, account_id, as_utc(seen_at))] = people
        return counted

    def load_ledger(self, account_id: str | None = None, include_inactive: bool = False) -> list[LedgerEntry]:
        """Unexpired, unrevoked entries (all of them with ``include_inactive``), newest first."""
        return [listed.entry for listed in self.list_ledger(account_id, include_inactive)]

    def list_ledger(self, account_id: str | None = None, include_inactive: bool = False) -> list[ListedEntry]:
        """As ``load_ledger``, each entry with its revocation (when and why)."""
        table = LedgerRow.__table__
        query = select(table).order_by(table.c.last_seen.desc(), table.c.network)
        if account_id is not None:
            query = query.where(table.c.account_id == account_id)
        if not include_inactive:
            query = query.where(table.c.revoked_at.is_(None), table.c.expires_at > datetime.now(UTC))
        with self.engine.connect() as connection:
            return [
                ListedEntry(
                    _ledger_entry(row),
                    as_utc(row.revoked_at) if row.revoked_at is not None else None,
                    row.revoked_reason or "",
                )
                for row in connection.execute(query).all()
            ]

    def revoked_ledger_keys(self) -> set[tuple[str, str]]:
        """(network, account id) of the revoked entries: what learning must not bring back."""
        table = LedgerRow.__table__
        query = select(table.c.network, table.c.account_id).where(table.c.revoked_at.is_not(None))
        with self.engine.connect() as connection:
            return {(row.network, row.account_id) for row in connection.execute(query).all()}

    def revoke_ledger(self, network: str | None, account_id: str | None, reason: str) -> int:
        """Mark entries revoked (by network, by account, or both); returns how many."""
        table = LedgerRow.__table__
        query = update(table).where(table.c.revoked_at.is_(None))
        if network is not None:
            query = query.where(table.c.network == network)
        if account_id is not None:
            query = query.where(table.c.account_id == account_id)
        with self.engine.begin() as connection:
            return connection.execute(query.values(revoked_at=datetime.now(UTC), revoked_reason=reason)).rowcount

    # --- writes from the pipeline ------------------------------------------------------------
    def save_organizations(self, resolved: dict[str, Organization]) -> None:
        if not resolved:
            return
        now = datetime.now(UTC)
        # keyed by what is stored of the address: truncated addresses of one network are one row
        by_key = {self.protect_address(ip): o for ip, o in resolved.items()}
        rows = [
            {
                "ip": key,
                "name": o.name,
                "kind": o.kind.value,
                "source": o.source,
                "confidence": o.confidence,
                "domain": o.domain,
                "asn": o.asn,
                "network": o.network,
                "access_provider": o.access_provider,
                "evidence": o.evidence,
                "resolved_at": now,
            }
            for key, o in by_key.items()
            if key
        ]
        if not rows:
            return
        columns = [c for c in rows[0] if c != "ip"]
        with self.engine.begin() as connection:
            for start in range(0, len(rows), 5000):
                connection.execute(
                    _upsert(self.engine, OrganizationRow.__table__, ["ip"], columns), rows[start : start + 5000]
                )

    def load_network_registrations(self) -> list[NetworkRegistration]:
        """Unexpired RDAP answers, for the late resolver's cache."""
        now = datetime.now(UTC)
        with self.engine.connect() as connection:
            table = NetworkRegistrationRow.__table__
            rows = connection.execute(select(table).where(table.c.expires_at > now)).all()
        return [
            NetworkRegistration(
                r.network,
                r.name,
                OrgKind(r.kind),
                r.source,
                r.evidence,
                as_utc(r.expires_at),
                tuple(p for p in map(Phrase.stored, r.evidence_said or ()) if p is not None),
            )
            for r in rows
        ]

    def save_network_registrations(self, registrations: Sequence[NetworkRegistration]) -> int:
        """Keep RDAP answers for their networks; narrower than /24 (/48) stays in memory only,
        since such a network may be one visitor's address. Returns the number stored."""
        rows = {}
        for registration in registrations:
            network = ipaddress.ip_network(registration.network, strict=False)
            if network.prefixlen > (24 if network.version == 4 else 48):
                continue
            rows[str(network)] = {
                "network": str(network),
                "name": registration.name,
                "kind": registration.kind.value,
                "source": registration.source,
                "evidence": registration.evidence,
                "evidence_said": [phrase.to_record() for phrase in registration.evidence_said] or None,
                "expires_at": registration.expires_at,
            }
        if not rows:
            return 0
        with self.engine.begin() as connection:
            connection.execute(
                _upsert(
                    self.engine,
                    NetworkRegistrationRow.__table__,
                    ["network"],
                    ["name", "kind", "source", "evidence", "evidence_said", "expires_at"],
                ),
                list(rows.values()),
            )
        return len(rows)

    def _add_deliveries(self, connection: Any, alert: Alert) -> None:
        """The outbox rows of a new alert, in the caller's transaction (see alerts/routing.py)."""
        if self.delivery is None:
            return
        now = datetime.now(UTC)
        plan_time = to_utc(alert.last_seen) if self.plan_in_event_time else now
        planned = plan_deliveries(alert, self.delivery, plan_time, self._over_budget(connection, alert, plan_time))
        if not planned:
            return
        snooze = connection.execute(
            select(SnoozeRow.until, SnoozeRow.created_by, SnoozeRow.reason).where(
                SnoozeRow.account_id == alert.account_id, SnoozeRow.until > now
            )
        ).first()
        status, note = "pending", ""
        if snooze is not None:
            status = "suppressed"
            note = (
                f"account snoozed until {as_utc(snooze.until):%Y-%m-%d %H:%M} UTC "
                f"by {snooze.created_by}: {snooze.reason}"
            )
        connection.execute(
            _insert_ignoring_duplicates(self.engine, DeliveryRow.__table__, ["alert_id", "channel"]),
            [
                {
                    "alert_id": p.alert_id,
                    "channel": p.channel,
                    "status": status,
                    "route": p.route,
                    "attempts": 0,
                    "not_before": p.not_before,
                    "created_at": now,
                    "sent_at": None,
                    "last_error": note,
                    "provider_ref": "",
                    "message_key": message_key(p.alert_id, p.channel),
                    "owner": owner_key(alert),
                }
                for p in planned
            ],
        )

    def _over_budget(self, connection: Any, alert: Alert, at: datetime) -> bool:
        """Whether the owner has had ``delivery.owner_daily_budget`` realtime alerts planned on ``at``'s
        day (their time zone) already: the alerts of one batch count one after the other."""
        assert self.delivery is not None
        budget = self.delivery.owner_daily_budget
        if budget <= 0 or alert.delivery != Delivery.REALTIME or not owner_key(alert):
            return False
        start, end = owner_day(at, alert, self.delivery)
        sent_now = (
            select(func.count(func.distinct(DeliveryRow.alert_id)))
            .join(AlertRow, AlertRow.alert_id == DeliveryRow.alert_id)
            .where(
                DeliveryRow.owner == owner_key(alert),
                AlertRow.delivery == Delivery.REALTIME,
                DeliveryRow.channel.not_in([DIGEST, THREAD_REPLY]),
                ~DeliveryRow.route.like(f"%{OVER_BUDGET}"),
                # by when the rep was to be told, not when the visit began: an alert of 23:58 told
                # at 00:03 counts on the new day, as the one planned next to it does
                DeliveryRow.not_before >= start,
                DeliveryRow.not_before < end,
            )
        )
        return connection.execute(sent_now).scalar_one() >= budget

    def hit_sink(self) -> DatabaseHitSink:
        return DatabaseHitSink(self)

    def write_rows(self, rows: PendingRows) -> list[Alert]:
        """One transaction; returns the alerts that were new (an ``alert_id`` already stored is not)."""
        if not rows:
            return []
        engine = self.engine
        new_alerts: list[Alert] = []
        with engine.begin() as connection:
            if rows.hits:
                # Only hits stored for the first time are news: a replayed or re-read log adds no reply.
                keys = [hit["hit_key"] for hit in rows.hits]
                stored: set[str] = set()
                for start in range(0, len(keys), 5000):  # within every backend's bound-parameter limit
                    chunk = keys[start : start + 5000]
                    stored.update(connection.execute(select(HitRow.hit_key).where(HitRow.hit_key.in_(chunk))).scalars())
                early = [hit for hit in rows.hits if hit["session_id"] is None]
                if early:
                    connection.execute(_insert_ignoring_duplicates(engine, HitRow.__table__, ["hit_key"]), early)
                ordered = list({hit["hit_key"]: hit for hit in reversed(rows.hits) if hit["session_id"]}.values())
                if ordered:
                    # an early row gets its visit now; a row that has one keeps it (a hit read
                    # again after a crash can meet a later visit and must not move to it)
                    connection.execute(_attach_session(engine), ordered)
                self._add_activity_replies(connection, [hit for hit in rows.hits if hit["hit_key"] not in stored])
            if rows.sessions:
                connection.execute(
                    _upsert(engine, SessionRow.__table__, ["session_id"], ["last_seen", "page_count", "score"]),
                    list(rows.sessions.values()),
                )
            if rows.alerts:
                # A fixed number of statements per batch, not a few per alert: at hundreds of hits a
                # second on PostgreSQL the round trips were most of the worker's time (measured).
                ids = [alert.alert_id for alert in rows.alerts]
                seen = set(connection.execute(select(AlertRow.alert_id).where(AlertRow.alert_id.in_(ids))).scalars())
                fresh = []
                for alert in rows.alerts:
                    if alert.alert_id not in seen:  # stored before, or twice in this batch: new once
                        seen.add(alert.alert_id)
                        fresh.append(alert)
                if fresh:
                    connection.execute(
                        _insert_ignoring_duplicates(engine, AlertRow.__table__, ["alert_id"]),
                        [_alert_row(alert) for alert in fresh],
                    )
                    for alert in fresh:
                        new_alerts.append(alert)
                        self._add_deliveries(connection, alert)
            if rows.updated_alerts:
                updated = list(rows.updated_alerts.values())
                known: dict[str, dict[str, Any]] = dict(
                    connection.execute(
                        select(AlertRow.alert_id, AlertRow.payload).where(
                            AlertRow.alert_id.in_([a.alert_id for a in updated])
                        )
                    ).all()
                )
                connection.execute(
                    update(AlertRow)
                    .where(AlertRow.alert_id == bindparam("b_alert_id"))
                    .values(score=bindparam("b_score"), payload=bindparam("b_payload")),
                    [{"b_alert_id": a.alert_id, "b_score": a.score, "b_payload": a.to_record()} for a in updated],
                )
                # a visit that grew since it was stored; the same record again (a replay) is no news
                self._add_thread_replies(
                    connection,
                    {
                        a.alert_id: to_utc(a.last_seen)
                        for a in updated
                        if a.alert_id in known and len(a.pages) > len(known[a.alert_id]["pages"])
                    },
                )
        return new_alerts

    def _add_activity_replies(self, connection: Any, hits: list[dict[str, Any]]) -> None:
        """Hits after an account's latest Slack alert (within ``thread_reply_hours``): a reply in its
        thread. The cooldown keeps them from being a new alert; sales still hears of them."""
        if self.delivery is None:
            return
        latest_hit: dict[str, datetime] = {}
        for hit in hits:
            at = hit["occurred_at"]
            if at > latest_hit.get(hit["account_id"], at - timedelta(seconds=1)):
                latest_hit[hit["account_id"]] = at
        statement = (
            select(AlertRow.account_id, AlertRow.alert_id, AlertRow.triggered_at)
            .join(DeliveryRow, (DeliveryRow.alert_id == AlertRow.alert_id) & (DeliveryRow.channel == thread_channel()))
            .where(AlertRow.account_id.in_(list(latest_hit)))
        )
        latest_alert: dict[str, tuple[datetime, str]] = {}
        for account_id, alert_id, triggered_at in connection.execute(statement):
            triggered = as_utc(triggered_at)
            if account_id not in latest_alert or triggered > latest_alert[account_id][0]:
                latest_alert[account_id] = (triggered, alert_id)
        window = timedelta(hours=self.delivery.thread_reply_hours)
        self._add_thread_replies(
            connection,
            {
                alert_id: latest_hit[account_id]
                for account_id, (triggered, alert_id) in latest_alert.items()
                if triggered < latest_hit[account_id] <= triggered + window
            },
        )

    def _add_thread_replies(self, connection: Any, activity: dict[str, datetime]) -> None:
        """More activity (alert id → its latest time, UTC) on alerts that go to Slack: one reply in
        each one's thread, a little later (``delivery.thread_reply_delay_seconds``), carrying
        whatever the visit has become by then. A reply still pending is pushed back rather than
        doubled; a sent one is answered by a new reply (a new message key) only for activity after
        what it reported."""
        if self.delivery is None or not activity:
            return
        in_slack = set(
            connection.execute(
                select(DeliveryRow.alert_id).where(
                    DeliveryRow.alert_id.in_(list(activity)), DeliveryRow.channel == thread_channel()
                )
            ).scalars()
        )
        if not in_slack:
            return
        replies = {
            row.alert_id: row
            for row in connection.execute(
                select(DeliveryRow.alert_id, DeliveryRow.status, DeliveryRow.covered_until).where(
                    DeliveryRow.alert_id.in_(list(in_slack)), DeliveryRow.channel == THREAD_REPLY
                )
            )
        }
        now = datetime.now(UTC)
        delay = timedelta(seconds=self.delivery.thread_reply_delay_seconds)
        for alert_id in sorted(in_slack):
            at = activity[alert_id]
            not_before = (at if self.plan_in_event_time else now) + delay
            reply = replies.get(alert_id)
            fresh = {
                "status": "pending",
                "attempts": 0,
                "not_before": not_before,
                "last_error": "",
                "message_key": message_key(alert_id, THREAD_REPLY, f"{at:%Y-%m-%dT%H:%M:%S.%f}"),
            }
            if reply is None:
                connection.execute(
                    DeliveryRow.__table__.insert().values(
                        alert_id=alert_id,
                        channel=THREAD_REPLY,
                        route="activity",
                        created_at=now,
                        sent_at=None,
                        provider_ref="",
                        **fresh,
                    )
                )
            elif reply.status == "pending":
                connection.execute(
                    update(DeliveryRow)
                    .where(DeliveryRow.alert_id == alert_id, DeliveryRow.channel == THREAD_REPLY)
                    .values(not_before=not_before)
                )
            elif reply.status == "sent" and (reply.covered_until is None or at > as_utc(reply.covered_until)):
                connection.execute(
                    update(DeliveryRow)
                    .where(DeliveryRow.alert_id == alert_id, DeliveryRow.channel == THREAD_REPLY)
                    .values(**fresh)
                )


@dataclass
class PendingRows:
    """What a ``DatabaseHitSink`` holds between flushes: one transaction's worth of rows."""

    hits: list[dict[str, Any]]
    sessions: dict[str, dict[str, Any]]
    alerts: list[Alert]
    updated_alerts: dict[str, Alert]

    @classmethod
    def empty(cls) -> PendingRows:
        return cls([], {}, [], {})

    def __bool__(self) -> bool:
        return bool(self.hits or self.sessions or self.alerts or self.updated_alerts)


class DatabaseHitSink:
    """Buffers matched hits, sessions and alerts; ``flush`` writes them in one transaction.

    ``pending``, ``Store.write_rows`` and ``take`` split the flush for callers that must keep the
    rows when the database refuses them (the streaming worker retries until it can store them).
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending = PendingRows.empty()

    def add_hit(self, hit_key: str, matched: MatchedHit, session: Session | None, page: PageView) -> None:
        self._pending.hits.append(self._hit_row(hit_key, matched, session.session_id if session else None, page.label))
        if session is None:
            return
        self._pending.sessions[session.session_id] = {
            "session_id": session.session_id,
            "account_id": session.account_id,
            "started_at": to_utc(session.started_at),
            "last_seen": to_utc(session.last_seen),
            "page_count": len(session.pages),
            "score": session.score,
        }

    def add_early_hit(self, hit_key: str, matched: MatchedHit, page_label: str | None) -> None:
        """A hit as soon as it is matched, before the event-time order takes it: its visit
        (``session_id``) is attached by the ``add_hit`` of the same key once that order has."""
        self._pending.hits.append(self._hit_row(hit_key, matched, None, page_label))

    def _hit_row(self, hit_key: str, matched: MatchedHit, session_id: str | None, label: str | None) -> dict[str, Any]:
        hit = matched.hit
        return {
            "hit_key": hit_key,
            "account_id": matched.match.account.account_id,
            "session_id": session_id,
            "occurred_at": to_utc(hit.timestamp),
            "client_ip": self._store.protect_address(hit.client_ip),
            "method": hit.method,
            "path": hit.path,
            "query": hit.query,
            "status": hit.status,
            "referrer": hit.referrer,
            "user_agent": hit.user_agent,
            "page_label": label,
            "match_method": matched.match.method.value,
            "organization_name": matched.organization.name,
        }

    def add_alert(self, alert: Alert) -> None:
        self._pending.alerts.append(alert)

    def update_alert(self, alert: Alert) -> None:
        """A stored alert's visit went on: keep its record current (same alert_id)."""
        self._pending.updated_alerts[alert.alert_id] = alert

    def take(self) -> PendingRows:
        """The buffered rows, leaving the sink empty."""
        pending, self._pending = self._pending, PendingRows.empty()
        return pending

    @property
    def pending(self) -> PendingRows:
        """The buffered rows, still buffered: write them, then ``take`` (a failed write keeps them)."""
        return self._pending

    def flush(self) -> list[Alert]:
        return self._store.write_rows(self.take())


def _alert_row(alert: Alert) -> dict[str, Any]:
    return {
        "alert_id": alert.alert_id,
        "account_id": alert.account_id,
        "tier": alert.tier.value,
        "score": alert.score,
        "delivery": alert.delivery,
        "first_seen": to_utc(alert.first_seen),
        "triggered_at": to_utc(alert.last_seen),
        "payload": alert.to_record(),
    }


def _ledger_row(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "network": str(entry.network),
        "account_id": entry.account_id,
        "kind": entry.kind,
        "evidence": entry.evidence,
        "evidence_said": entry.evidence_said.to_record() if entry.evidence_said is not None else None,
        "email_domain": entry.email_domain,
        "first_seen": to_utc(entry.first_seen),
        "last_seen": to_utc(entry.last_seen),
        "expires_at": to_utc(entry.expires_at),
        "sightings": entry.sightings,
    }


def _ledger_entry(row: Any) -> LedgerEntry:
    return LedgerEntry(
        network=ipaddress.ip_network(row.network),
        account_id=row.account_id,
        kind=row.kind,
        evidence=row.evidence,
        evidence_said=Phrase.stored(row.evidence_said),
        email_domain=row.email_domain,
        first_seen=as_utc(row.first_seen),
        last_seen=as_utc(row.last_seen),
        expires_at=as_utc(row.expires_at),
        sightings=row.sightings,
    )


def _account_from_row(row: Any) -> Account:
    return Account(
        account_id=row["account_id"],
        name=row["name"],
        aliases=tuple(row["aliases"]),
        domains=tuple(row["domains"]),
        networks=tuple(ipaddress.ip_network(n) for n in row["networks"]),
        owner=Owner(
            row["owner_name"], row["owner_email"], row["owner_slack"], row["owner_timezone"], row["owner_locale"]
        ),
        last_deal_at=row["last_deal_at"],
        last_contact_at=row["last_contact_at"],
        lost_deal_at=row["lost_deal_at"],
        lifetime_value=row["lifetime_value"],
        dormancy_reason=DormancyReason(row["dormancy_reason"]),
        industry=row["industry"],
        attributes=tuple(sorted(row["attributes"].items())),
    )


def _changed_accounts(fingerprints: Mapping[str, str], stored: dict[str, tuple[str | None, bool]]) -> list[str]:
    """The ids of the accounts new, changed or listed again."""
    return [
        account_id for account_id, fingerprint in fingerprints.items() if stored.get(account_id) != (fingerprint, True)
    ]


def _accounts_of(accounts: Collection[Account], account_ids: Sequence[str]) -> list[Account]:
    """Only these become objects from a kept table, one batch at a time and not kept in it: a
    run needs only the accounts its visitors match (``enrichment.account_table``)."""
    if isinstance(accounts, AccountTable):
        return [account for account_id in account_ids if (account := accounts.made(account_id)) is not None]
    by_id = {account.account_id: account for account in accounts}
    return [by_id[account_id] for account_id in account_ids]


def _network_text(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    """``str(network)``; an IPv4 one by ``inet_ntoa``, as ``ipaddress`` formats an address through
    Python steps (100,000 accounts: 1.6 of the import's 10.8 s under cProfile)."""
    if network.version == 4:
        return f"{socket.inet_ntoa(network.network_address.packed)}/{network.prefixlen}"
    return str(network)


class _AccountWriter:
    """Account rows as the database driver takes them, for one ``executemany`` per batch.

    Through SQLAlchemy's ``execute`` each of 100,000 rows was compiled into parameters, with a
    ``json.dumps`` call per list: 6.4 of the import's 11.5 s under cProfile, against 1.0 s in
    SQLite's own ``executemany``. Here the statement is compiled once and each value goes through
    the same bind processor SQLAlchemy would use (dates and amounts as SQLite stores them; none on
    PostgreSQL), except JSON: lists of strings and the attributes (text to text) are written by
    ``_json_text``, the very text ``json.dumps`` writes, without its per-call set-up.

    Each row is a list in ``ACCOUNT_COLUMNS`` order, processed in place and taken in the
    statement's order by one ``itemgetter``; a date or time is processed once per distinct value
    (a list repeats a few hundred dates, and every row has the same import time): building a
    dict per row and processing each of its values took 4.1 s CPU for 100,000 accounts, this 2.5 s
    (2026-12-01, load average 3)."""

    def __init__(self, engine: Engine) -> None:
        table = AccountRow.__table__
        dialect = engine.dialect
        columns = [column.name for column in table.c]
        statement = _upsert(engine, table, ["account_id"], [c for c in columns if c != "account_id"]).compile(
            dialect=dialect
        )
        self.statement = statement.string
        names = list(statement.positiontup) if statement.positional and statement.positiontup else None
        self._names = names
        place = {name: position for position, name in enumerate(ACCOUNT_COLUMNS)}
        self._take = operator.itemgetter(*(place[name] for name in names or ACCOUNT_COLUMNS))
        default_json = getattr(dialect, "_json_serializer", None) is None
        self._processors: list[tuple[int, Callable[[Any], Any]]] = []
        for column in table.c:
            if isinstance(column.type, JSON) and default_json:
                self._processors.append((place[column.name], _json_text))
            elif (processor := column.type._cached_bind_processor(dialect)) is not None:
                once = isinstance(column.type, Date | DateTime)
                self._processors.append((place[column.name], _once_per_value(processor) if once else processor))

    def rows(
        self, accounts: Iterable[Account], now: datetime, fingerprints: Mapping[str, str], keys: Mapping[str, str]
    ) -> list[tuple[Any, ...]] | list[dict[str, Any]]:
        processors, take = self._processors, self._take
        rows = []
        for account in accounts:
            values = _account_values(account, now, fingerprints[account.account_id], keys)
            for position, processor in processors:
                values[position] = processor(values[position])
            rows.append(take(values))
        if self._names is None:  # a dialect of named parameters
            return [dict(zip(ACCOUNT_COLUMNS, row, strict=True)) for row in rows]
        return rows


def _once_per_value(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The processor, remembering its answer per value and time zone (dates and times: equal ones
    are written alike, but an equal time in another zone may not be)."""
    done: dict[Any, Any] = {}

    def process(value: Any) -> Any:
        key = (value, getattr(value, "tzinfo", None))
        found = done.get(key, done)
        if found is done:
            found = done[key] = processor(value)
        return found

    return process


_json_string = json.encoder.encode_basestring_ascii


def _json_text(value: list[str] | dict[str, str]) -> str:
    """``json.dumps(value)`` for a list of strings or a dict of text to text (what account rows
    hold): the same separators and escapes, 4x faster on 100,000 rows of four such values."""
    if not value:  # most rows' aliases and attributes
        return "{}" if isinstance(value, dict) else "[]"
    try:
        if isinstance(value, dict):
            return "{" + ", ".join(f"{_json_string(key)}: {_json_string(text)}" for key, text in value.items()) + "}"
        return "[" + ", ".join(map(_json_string, value)) + "]"
    except TypeError:  # a value that is not text (an account made in code): as json.dumps writes it
        return json.dumps(value)


# an account row's columns: the list's own (the CSV columns, in their order), then what the store adds
ACCOUNT_COLUMNS = (
    *KNOWN_COLUMNS,
    "attributes",
    "imported_at",
    "sort_name",
    "search_text",
    "fingerprint",
    "delisted_at",
)


def _account_row(account: Account, now: datetime, fingerprint: str, keys: Mapping[str, str]) -> dict[str, Any]:
    return dict(zip(ACCOUNT_COLUMNS, _account_values(account, now, fingerprint, keys), strict=True))


def _account_values(account: Account, now: datetime, fingerprint: str, keys: Mapping[str, str]) -> list[Any]:
    """The account's row, in ``ACCOUNT_COLUMNS`` order."""
    owner, name, aliases, reading = account.owner, account.name, account.aliases, account.reading
    return [
        account.account_id,
        name,
        list(aliases),
        list(account.domains),
        [_network_text(n) for n in account.networks],
        owner.name,
        owner.email,
        owner.slack,
        owner.timezone,
        owner.locale,
        account.last_deal_at,
        account.last_contact_at,
        account.lost_deal_at,
        account.lifetime_value,
        account.dormancy_reason.value,
        account.industry,
        dict(account.attributes),
        now,
        sort_key(name, reading, keys),
        search_text(name, *aliases, reading, keys=keys),
        fingerprint,
        None,
    ]
