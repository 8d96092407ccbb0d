"""Faults survived, each with what must hold: no hit lost, no alert doubled, a clear error, recovery
without manual steps. Real services on loopback: a PostgreSQL and a Kafka broker of the test's own
(so that stopping them disturbs no other test), a Slack API that goes down, a full disk.

Other faults are tested beside the feature they hit: a worker killed with SIGKILL mid-stream
(tests/test_worker.py), a sender killed mid-batch and SMTP authentication failing
(tests/test_delivery.py).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from kafka import KafkaConsumer
from sqlalchemy import create_engine, text

from revisit.alerts.sender import SenderThread
from revisit.app import delivery_sender
from revisit.storage.outbox import AlertOutbox
from revisit.storage.store import PendingRows
from tests.conftest import APACHE_LOG, REPO
from tests.test_delivery import TOKEN, Recorder, settings_for, store_alert
from tests.test_worker import Setup, free_port, get_json

pytestmark = pytest.mark.kafka


def deploy(script: str, *args: str) -> str:
    result = subprocess.run(["bash", str(REPO / "deploy" / script), *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def own_postgres():
    """A PostgreSQL server only this module uses, so it can be stopped and made read-only."""
    folder = Path(tempfile.mkdtemp(prefix="revisit-faults-pg."))
    folder.chmod(0o755)  # the server runs as the postgres user; pytest's own temp folders are private
    port = str(free_port())
    url = deploy("postgres.sh", "start", str(folder / "pg"), port)
    yield url, folder / "pg", port
    deploy("postgres.sh", "stop", str(folder / "pg"))
    shutil.rmtree(folder, ignore_errors=True)


def new_database(base_url: str, name: str) -> str:
    engine = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base_url.rsplit("/", 1)[0] + f"/{name}"


def server_wide(base_url: str, statement: str) -> None:
    engine = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
        connection.execute(text("SELECT pg_reload_conf()"))
    engine.dispose()


def split_log(tmp_path: Path) -> tuple[Path, Path]:
    lines = APACHE_LOG.read_bytes().splitlines(keepends=True)
    first, second = tmp_path / "first.log", tmp_path / "second.log"
    first.write_bytes(b"".join(lines[:5000]))
    second.write_bytes(b"".join(lines[5000:]))
    return first, second


def wait_until_settled(setup: Setup, seconds: float = 3.0, timeout: float = 120) -> int:
    """The stored hit count once it has not changed for ``seconds``."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = setup.counts()[0]
        if count != last:
            last, since = count, time.monotonic()
        elif count > 0 and time.monotonic() - since >= seconds:
            return count
        time.sleep(0.2)
    raise AssertionError(f"hits never settled: {last}\n{setup.worker_logs()}")


def test_postgresql_restarting_mid_stream_loses_and_doubles_nothing(
    bootstrap, tmp_path, replayed, own_postgres
) -> None:
    hits = replayed.hits
    base, data_dir, port = own_postgres
    setup = Setup(bootstrap, tmp_path)
    setup.db = new_database(base, "restarted")
    first, second = split_log(tmp_path)
    setup.ship(first)
    setup.start_worker()
    try:
        before = wait_until_settled(setup)
        deploy("postgres.sh", "stop", str(data_dir))  # by its PID
        setup.ship(second)  # arrives while the database is down
        time.sleep(8)
        assert setup.workers[0].poll() is None, setup.worker_logs()  # waits, does not die
        status, body = get_json(setup.web_ports[0], "/readyz")
        assert status == 503 and body["checks"]["database"].startswith("database unavailable"), body
        deploy("postgres.sh", "start", str(data_dir), port)
        setup.assert_same_as_replay(replayed)
        assert before < hits
        ready = get_json(setup.web_ports[0], "/readyz")
        assert ready[0] == 200, ready
    finally:
        setup.stop_all()
    logged = "".join(path.read_text() for path in tmp_path.glob("worker-*.log"))
    assert "cannot store hits" in logged and "storing hits again" in logged  # said so, both ways


def test_a_worker_killed_in_the_middle_of_its_database_transaction_loses_and_doubles_nothing(
    bootstrap, tmp_path, replayed, own_postgres
) -> None:
    """Deterministically inside a write: the test holds a lock on the hits table, the worker's next
    transaction waits on it, and the worker is killed with SIGKILL right there."""
    base, _, _ = own_postgres
    setup = Setup(bootstrap, tmp_path)
    setup.db = new_database(base, "killed")
    first, second = split_log(tmp_path)
    setup.ship(first)
    worker = setup.start_worker()
    before = wait_until_settled(setup)
    blocker = create_engine(setup.db).connect()
    try:
        blocker.execute(text("LOCK TABLE hits IN ACCESS EXCLUSIVE MODE"))  # a transaction, left open
        setup.ship(second)
        watcher = create_engine(setup.db)
        deadline = time.monotonic() + 60
        waiting = 0
        while time.monotonic() < deadline and not waiting:
            with watcher.connect() as connection:
                waiting = connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        # the write's first statement: which of its hits are stored already
                        "AND (query ILIKE 'INSERT INTO hits%' OR query ILIKE 'SELECT hits.hit_key%')"
                    )
                ).scalar_one()
            time.sleep(0.1)
        watcher.dispose()
        assert waiting, "the worker never reached its write"
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        blocker.rollback()
        blocker.close()
    assert setup.counts()[0] == before  # nothing of the second half was committed
    setup.start_worker()
    try:
        setup.assert_same_as_replay(replayed)
    finally:
        setup.stop_all()


def test_a_read_only_database_holds_the_stream_until_it_is_writable(
    bootstrap, tmp_path, replayed, own_postgres
) -> None:
    base, _, _ = own_postgres
    setup = Setup(bootstrap, tmp_path)
    setup.db = new_database(base, "readonly")
    from revisit.enrichment.accounts import load_accounts
    from revisit.storage.store import Store

    store = Store(setup.db)  # the schema and the list exist before the database turns read-only
    store.save_accounts(load_accounts(setup.accounts))
    store.close()
    server_wide(base, "ALTER SYSTEM SET default_transaction_read_only = on")
    try:
        setup.ship(APACHE_LOG)
        setup.start_worker(import_accounts=False)
        deadline = time.monotonic() + 60
        status, body = 0, {}
        while time.monotonic() < deadline:
            try:
                status, body = get_json(setup.web_ports[0], "/readyz")
            except OSError:
                time.sleep(0.5)
                continue
            if status == 503 and body["checks"].get("storing", "ok") != "ok":
                break
            time.sleep(0.5)
        assert status == 503 and "cannot store hits" in body["checks"]["storing"], body
        assert setup.counts()[0] == 0
    finally:
        server_wide(base, "ALTER SYSTEM SET default_transaction_read_only = off")
    try:
        setup.assert_same_as_replay(replayed)
        ready = get_json(setup.web_ports[0], "/readyz")
        assert ready[0] == 200, ready
    finally:
        setup.stop_all()


def test_the_broker_restarting_mid_stream_loses_and_doubles_nothing(tmp_path, replayed) -> None:
    hits = replayed.hits
    folder = tmp_path / "kafka"
    port = str(free_port())
    bootstrap = deploy("kafka.sh", "start", str(folder), port)
    try:
        setup = Setup(bootstrap, tmp_path)
        first, second = split_log(tmp_path)
        setup.ship(first)
        setup.start_worker()
        try:
            before = wait_until_settled(setup)
            deploy("kafka.sh", "stop", str(folder))  # by its PID, with the worker connected
            time.sleep(8)
            assert setup.workers[0].poll() is None, setup.worker_logs()  # waits, does not die
            deploy("kafka.sh", "start", str(folder), port)
            setup.ship(second)
            setup.assert_same_as_replay(replayed, timeout=240)
            assert before < hits
        finally:
            setup.stop_all()
    finally:
        deploy("kafka.sh", "stop", str(folder))


class FlakySlack(Recorder):
    """Slack's Web API, answering 503 while ``server.down_until`` lies ahead."""

    def do_POST(self) -> None:
        if time.monotonic() < self.server.down_until:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with self.server.lock:
                self.server.refused += 1
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_POST()


def test_slack_down_for_a_while_then_back_gets_every_alert_once(tmp_path, smtp_peer, monkeypatch) -> None:
    """The outage is 20 s with backoff from 0.5 s to 2 s: the same arithmetic as minutes of outage
    against the default 30 s to 1 h backoff (8 attempts reach about an hour)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakySlack)
    server.lock, server.answers, server.requests, server.refused = threading.Lock(), [], [], 0
    server.down_until = time.monotonic() + 20
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("REVISIT_SLACK_BOT_TOKEN", TOKEN)
    settings = settings_for(
        server,
        smtp_peer,
        default_channels=["slack"],
        backoff_seconds=0.5,
        backoff_max_seconds=2.0,
        max_attempts=40,
        poll_seconds=0.2,
    )
    db_url = f"sqlite:///{tmp_path / 'slack.sqlite'}"
    store, first = store_alert(db_url, settings)
    others = [replace(first, alert_id=f"{n:08d}-0000-0000-0000-000000000000") for n in range(1, 4)]
    store.write_rows(PendingRows([], {}, others, {}))
    sender = SenderThread(delivery_sender(store, settings))
    sender.start()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            statuses = AlertOutbox(store).statuses()
            if all(status == "sent" for _, _, status, _, _ in statuses):
                break
            assert not any(status == "dead" for _, _, status, _, _ in statuses), statuses
            time.sleep(0.2)
    finally:
        sender.stop()
        server.shutdown()
        server.server_close()
    statuses = AlertOutbox(store).statuses()
    store.close()
    assert {status for _, _, status, _, _ in statuses} == {"sent"}
    assert all(attempts > 1 for _, _, _, attempts, _ in statuses)  # each was refused, then retried
    assert server.refused >= len(statuses)
    posted = [json.loads(body)["channel"] for path, _, body, status in server.requests if status == 200]
    assert len(posted) == len(statuses) == 4  # once each after the outage


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs: what a full disk looks like to the shipper (mounting needs root)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if result.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a small tmpfs for the full-disk test: {result.stderr.strip()}")
        pytest.skip(f"cannot mount a small tmpfs (needs root): {result.stderr.strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_under_the_shipper_checkpoint_stops_it_clearly_and_loses_no_line(
    bootstrap, tmp_path, small_disk
) -> None:
    setup = Setup(bootstrap, tmp_path)
    log = tmp_path / "access.log"
    lines = APACHE_LOG.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:4000]))
    checkpoint = small_disk / "ship.json"
    command = [
        sys.executable,
        "-m",
        "revisit",
        "ship",
        str(log),
        "--follow",
        "--config",
        str(setup.config),
        "--checkpoint",
        str(checkpoint),
    ]
    environment = {**os.environ, "REVISIT_SHIP__WEB_PORT": "0", "REVISIT_SHIP__BATCH_LINES": "500"}
    shipper = subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
        checkpoint.exists()
        and json.loads(checkpoint.read_text() or "{}").get(str(log), {}).get("offset") == log.stat().st_size
    ):
        time.sleep(0.1)
    assert checkpoint.exists(), "the shipper never wrote its checkpoint"
    filler = small_disk / "filler"
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=4k", "count=1000"], capture_output=True)  # until full
    with log.open("ab") as handle:
        handle.write(b"".join(lines[4000:]))  # more lines: the next checkpoint cannot be written
    _, errors = shipper.communicate(timeout=60)
    assert shipper.returncode == 1, errors
    assert "cannot write it (No space left on device)" in errors and "none is lost" in errors
    assert "Traceback" not in errors
    filler.unlink()  # space again: a plain restart finishes the job
    restart = subprocess.run(
        [arg for arg in command if arg != "--follow"], env=environment, capture_output=True, text=True, timeout=120
    )
    assert restart.returncode == 0, restart.stderr
    consumer = KafkaConsumer(
        setup.raw, bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=5000
    )
    shipped = [record.value for record in consumer]
    consumer.close()
    expected = [line.rstrip(b"\r\n") for line in lines]
    assert set(shipped) >= set(expected)  # every line arrived
    assert len(shipped) - len(expected) <= 2000  # re-sent at most the batches after the last checkpoint
