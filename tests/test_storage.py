"""Storage: the Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from importlib import resources

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from revisit.storage.models import Base
from revisit.storage.store import SCHEMA_REVISION, Store


def test_migrations_match_the_models(db_url: str) -> None:
    store = Store(db_url)
    try:
        with store.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []
        tables = set(inspect(store.engine).get_table_names())
        assert tables >= {"accounts", "organizations", "sessions", "hits", "alerts", "alembic_version"}
    finally:
        store.close()


def test_migrating_twice_is_harmless(db_url: str) -> None:
    Store(db_url).close()
    store = Store(db_url)
    try:
        assert store.count("hits") == 0
    finally:
        store.close()


def test_schema_revision_constant_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(resources.files("revisit.storage").joinpath("migrations")))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION
