"""Shared fixtures: the third-party data in ../shared/data and the databases tests run against.

The PostgreSQL server is started by tests/run.sh (the README's test command), which exports its URL
as REVISIT_TEST_POSTGRES_URL; each test gets a database of its own on it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[1]

pytest_plugins = ["tests.shared_fixtures"]  # fixtures several test modules use


def find_shared_data() -> tuple[Path, list[Path]]:
    """The third-party test data: ``$REVISIT_SHARED_DATA``, else ``shared/data`` beside this checkout,
    else beside the local repository it was cloned from (a clone in /tmp of a working tree)."""
    if os.environ.get("REVISIT_SHARED_DATA"):
        path = Path(os.environ["REVISIT_SHARED_DATA"])
        return path, [path]
    candidates = [REPO.parent / "shared" / "data"]
    origin = subprocess.run(
        ["git", "-C", str(REPO), "remote", "get-url", "origin"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if origin and Path(origin).is_dir():  # a local path, not a URL
        candidates.append(Path(origin).resolve().parent / "shared" / "data")
    return next((c for c in candidates if c.is_dir()), candidates[0]), candidates


SHARED_DATA, SHARED_DATA_CANDIDATES = find_shared_data()
ACCESS_LOGS = SHARED_DATA / "access-logs"
MAXMIND = SHARED_DATA / "maxmind" / "test-data"
APACHE_LOG = ACCESS_LOGS / "elastic-examples-apache" / "apache_logs"


def pytest_configure(config: pytest.Config) -> None:
    if not SHARED_DATA.is_dir():
        looked = ", ".join(str(c) for c in SHARED_DATA_CANDIDATES)
        raise pytest.UsageError(
            f"test data not found (looked in {looked}): the suite needs the shared/data "
            "folder beside the checkout, or REVISIT_SHARED_DATA pointing at it"
        )


def mmdb(name: str) -> str:
    path = MAXMIND / f"{name}.mmdb"
    assert path.is_file(), path
    return str(path)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'revisit.sqlite'}"


def service_from_environment(variable: str, what: str) -> str:
    """Where tests/run.sh started a service; in CI its absence fails, elsewhere it skips."""
    value = os.environ.get(variable)
    if not value:
        if os.environ.get("CI"):
            pytest.fail(f"{variable} is not set: run the suite with `make test`")
        pytest.skip(f"no {what}: run the suite with `make test` (tests/run.sh starts one)")
    return value


@pytest.fixture(scope="session")
def bootstrap() -> str:
    """The Apache Kafka broker started by tests/run.sh."""
    return service_from_environment("REVISIT_TEST_KAFKA", "Kafka broker")


@contextlib.contextmanager
def new_postgres_database() -> Iterator[str]:
    """A database of its own on the server tests/run.sh started, dropped afterwards."""
    base = service_from_environment("REVISIT_TEST_POSTGRES_URL", "PostgreSQL")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with new_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test using it runs once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


@contextlib.contextmanager
def keeping_root_logger() -> Iterator[None]:
    """``main()`` run in-process configures logging for the process: undo that afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    with keeping_root_logger():
        yield


@pytest.fixture(autouse=True, scope="session")
def _prepared_accounts_of_this_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Account lists kept (``[matching] prepared_dir``) in this run's own folder, not the user's
    temporary one: a test never starts from what another run left there. Set in the environment,
    so commands run as child processes keep theirs there too."""
    folder = tmp_path_factory.mktemp("prepared-accounts")
    folder.chmod(0o700)
    before = os.environ.get("REVISIT_MATCHING__PREPARED_DIR")
    os.environ["REVISIT_MATCHING__PREPARED_DIR"] = str(folder)
    yield
    if before is None:
        os.environ.pop("REVISIT_MATCHING__PREPARED_DIR", None)
    else:
        os.environ["REVISIT_MATCHING__PREPARED_DIR"] = before
