"""Storage: the Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from revisit.alerts.sessions import advance_session
from revisit.core.visit import PageView
from revisit.storage.models import Base, LedgerRow
from revisit.storage.store import SCHEMA_REVISION, Store, upgrade_with_alembic
from tests.conftest import new_postgres_database
from tests.test_decisions import account, matched


def test_migrations_match_the_models(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        upgrade_with_alembic(engine)
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []
        tables = set(inspect(engine).get_table_names())
        assert tables >= {"accounts", "organizations", "sessions", "hits", "alerts", "alembic_version"}
    finally:
        engine.dispose()


def _schema(url: str) -> dict[str, Any]:
    """Everything the database says of its tables, in its own order: columns (type, nullability,
    server default), keys, indexes, constraints, and the Alembic revision."""
    engine = create_engine(url)
    try:
        found = inspect(engine)
        schema: dict[str, Any] = {
            table: (
                [(c["name"], str(c["type"]), c["nullable"], c.get("default")) for c in found.get_columns(table)],
                found.get_pk_constraint(table),
                sorted(map(repr, found.get_foreign_keys(table))),
                sorted(map(repr, found.get_indexes(table))),
                sorted(map(repr, found.get_unique_constraints(table))),
                sorted(map(repr, found.get_check_constraints(table))),
            )
            for table in found.get_table_names()
        }
        with engine.connect() as connection:
            schema["revision"] = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        return schema
    finally:
        engine.dispose()


def test_a_new_database_gets_the_migrated_schema_without_alembic(db_url: str, tmp_path: Path) -> None:
    """A new database is made from the models and stamped, without importing Alembic nor running
    its thirteen migrations (0.29-0.89 s wall on a new SQLite database, 0.04-0.09 s without), and is then the
    very schema the migrations make: the same columns in the same order, with the same server
    defaults (the migrations add columns with one), keys and indexes, at the same revision."""
    made = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\nfrom revisit.storage.store import Store\n"
            "Store(sys.argv[1]).close()\nprint('alembic' in sys.modules)",
            db_url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert made.stdout == "False\n"
    with contextlib.ExitStack() as stack:
        if db_url.startswith("sqlite"):
            migrated_url = f"sqlite:///{tmp_path / 'migrated.sqlite'}"
        else:
            migrated_url = stack.enter_context(new_postgres_database())
        engine = create_engine(migrated_url)
        upgrade_with_alembic(engine)
        engine.dispose()
        migrated = _schema(migrated_url)
    assert migrated["revision"] == [SCHEMA_REVISION]
    assert _schema(db_url) == migrated
    store = Store(db_url)  # current: opened as it is
    try:
        assert store.count("accounts") == 0
    finally:
        store.close()


def test_migrating_twice_is_harmless(db_url: str) -> None:
    Store(db_url).close()
    store = Store(db_url)
    try:
        assert store.count("hits") == 0
    finally:
        store.close()


@pytest.mark.parametrize("stored_at", ["0013", "0014"])
def test_entries_stored_before_sightings_were_kept_are_not_counted_again(db_url: str, stored_at: str) -> None:
    """Migration 0015 keeps the first and last sighting of the entries already stored as counted:
    importing the export they came from once more, after the upgrade, added them a second time.
    A database at 0014 (its instants without a count of people) gets the count, and its instants
    are not added twice."""
    import ipaddress

    from alembic import command

    from revisit.enrichment.ledger import FORM, LedgerEntry, LedgerSaved

    first, last = datetime(2026, 11, 20, 1, 2, 3, 456789, UTC), datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    engine = create_engine(db_url)
    try:
        config = Config()
        config.set_main_option("script_location", str(resources.files("revisit.storage").joinpath("migrations")))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, stored_at)
            if stored_at == "0014":  # the first sighting counted by 0014's store
                connection.execute(
                    text("INSERT INTO ledger_sightings (network, account_id, seen_at) VALUES (:n, :a, :at)"),
                    {
                        "n": "150.162.56.185/32",
                        "a": "L01",
                        "at": first.replace(tzinfo=None) if "sqlite" in db_url else first,
                    },
                )
            connection.execute(  # as the store of 0013 wrote it (its column types' formats)
                LedgerRow.__table__.insert().values(
                    network="150.162.56.185/32",
                    account_id="L01",
                    kind="form",
                    evidence="form export",
                    email_domain="hoshizora.co.jp",
                    first_seen=first,
                    last_seen=last,
                    expires_at=last + timedelta(days=90),
                    sightings=2,
                )
            )
        upgrade_with_alembic(engine)
    finally:
        engine.dispose()

    def sighting(at: datetime) -> LedgerEntry:
        return LedgerEntry(
            ipaddress.ip_network("150.162.56.185/32"), "L01", FORM, "form export", "hoshizora.co.jp",
            at, at, at + timedelta(days=90), seen=frozenset({(at, "tanaka@hoshizora.co.jp")}),
        )  # fmt: skip

    store = Store(db_url)
    try:
        # the same two rows again: nothing new; a third, later one: one more
        assert store.save_ledger_entries([sighting(first), sighting(last)]) == LedgerSaved(0, 2)
        assert store.save_ledger_entries([sighting(last + timedelta(days=1))]) == LedgerSaved(1, 0)
        assert [entry.sightings for entry in store.load_ledger(include_inactive=True)] == [3]
    finally:
        store.close()


def test_schema_revision_constant_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(resources.files("revisit.storage").joinpath("migrations")))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION


def test_a_hit_stored_early_gets_its_visit_once(db_url: str) -> None:
    """The worker stores a hit from its early copy, before its visit is decided, and attaches the
    visit when the event-time order takes it; a hit read again after a crash may meet a later
    visit (a straggler), and must keep the one it was given first."""
    at = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    acct = account(account_id="E01")
    hit = matched(acct, "/projects/xdotool/", at)
    gap = timedelta(minutes=30)
    first = advance_session(None, "E01", PageView(at, "/projects/xdotool/", 30, "product"), gap)
    later = advance_session(None, "E01", PageView(at + timedelta(hours=2), "/", 0, None), gap)
    store = Store(db_url)
    sink = store.hit_sink()
    sink.add_early_hit("raw:0:7", hit, "product")
    store.write_rows(sink.take())
    assert store.history("E01")[0].session_id is None
    sink.add_hit("raw:0:7", hit, first, first.pages[0])
    sink.add_hit("raw:0:7", hit, later, later.pages[0])  # the same hit again, in the same batch
    store.write_rows(sink.take())
    sink.add_early_hit("raw:0:7", hit, "product")  # its early copy read again
    sink.add_hit("raw:0:7", hit, later, later.pages[0])
    store.write_rows(sink.take())
    assert [(entry.session_id, entry.path) for entry in store.history("E01")] == [
        (first.session_id, "/projects/xdotool/")
    ]
    store.close()


def test_sqlite_commits_go_to_a_write_ahead_log(tmp_path) -> None:
    """The worker commits on its event loop's thread: the rollback journal's three syncs a commit
    held the loop 15 ms each time, the write-ahead log's one 3.4 ms (measured)."""
    store = Store(f"sqlite:///{tmp_path / 'revisit.sqlite'}")
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.engine.dispose()
    # a file this process may only read keeps its mode, and opens without an error
    readonly = Store(f"sqlite:///file:{tmp_path / 'revisit.sqlite'}?mode=ro&uri=true")
    with readonly.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
