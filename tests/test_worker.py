"""The streaming worker on the real Apache Kafka broker: same alerts as replay, crash safety,
scale-out over partitions, and the dead-letter topic."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from revisit.cli import main
from tests.company_names import company_names
from tests.conftest import ACCESS_LOGS, APACHE_LOG, mmdb
from tests.shared_fixtures import Replayed, stored_organizations
from tests.test_cli import ACCOUNTS, CONFIG
from tests.test_monitoring import exported_sample_names, names_in_queries

pytestmark = pytest.mark.kafka
MALFORMED_LOG = ACCESS_LOGS / "edge-cases" / "crowdsec_apache2-logs.log"  # 2 error-log lines


def get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return response.read().decode()


def get_json(port: int, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


TEST_IDLE_SECONDS = 3


class Setup:
    """Topics, config and database of one test: nothing shared with other tests."""

    def __init__(self, bootstrap: str, tmp_path: Path) -> None:
        name = f"w{uuid.uuid4().hex[:10]}"
        self.bootstrap, self.tmp_path, self.name = bootstrap, tmp_path, name
        self.raw, self.dead = name, f"{name}-dlq"
        self.config = tmp_path / "revisit.toml"
        self.config.write_text(
            f'[kafka]\nbootstrap_servers = "{bootstrap}"\nraw_topic = "{name}"\nmatched_topic = "{name}-m"\n'
            f'dead_letter_topic = "{name}-dlq"\npartitions = 4\n[worker]\napp_id = "{name}-app"\n'
            # sweep often: forgetting ended visits must not change a single alert
            "forget_interval_seconds = 0.5\n"
            # Faust's own records (recovery, rebalances) in the worker logs the tests print on failure
            '[logging]\nformat = "console"\nlibrary_level = "info"\n' + CONFIG,
            encoding="utf-8",
        )
        self.accounts = tmp_path / "accounts.csv"
        self.accounts.write_text(ACCOUNTS, encoding="utf-8")
        self.db = f"sqlite:///{tmp_path / 'worker.sqlite'}"
        assert main(["topics", "create", "--config", str(self.config)]) == 0
        self.workers: list[subprocess.Popen] = []
        self.web_ports: list[int] = []

    def ship(self, *logs: Path) -> None:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "revisit",
                "ship",
                *map(str, logs),
                "--config",
                str(self.config),
                "--checkpoint",
                str(self.tmp_path / f"ship-{len(logs)}-{time.monotonic()}.json"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr

    def start_worker(self, import_accounts: bool = True) -> subprocess.Popen:
        """A worker process; without ``import_accounts`` it reads the list already in the database."""
        port = free_port()
        self.web_ports.append(port)
        accounts = ["--accounts", str(self.accounts)] if import_accounts else []
        environment = dict(os.environ)
        if "idle_seconds" not in self.config.read_text(encoding="utf-8"):
            # The last max_disorder_seconds of a shipped log wait until every raw partition has
            # been idle this long (10 s by default): each test's end waited that at least once.
            environment["REVISIT_STREAM__IDLE_SECONDS"] = str(TEST_IDLE_SECONDS)
        with open(self.tmp_path / f"worker-{len(self.workers)}.log", "w") as log:  # the child keeps its own descriptor
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "revisit",
                    "worker",
                    "--config",
                    str(self.config),
                    "--db",
                    self.db,
                    *accounts,
                    "--mmdb",
                    mmdb("GeoIP2-ISP-Test"),
                    "--web-port",
                    str(port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
            )
        self.workers.append(process)
        return process

    def counts(self) -> tuple[int, int]:
        engine = create_engine(self.db)
        try:
            with engine.connect() as connection:
                # hits the event-time order has taken (a hit stored early has no visit yet)
                hits = connection.execute(text("SELECT count(session_id) FROM hits")).scalar_one()
                alerts = connection.execute(text("SELECT count(*) FROM alerts")).scalar_one()
            return hits, alerts
        except Exception:  # the worker has not created the schema yet
            return 0, 0
        finally:
            engine.dispose()

    def alerts(self) -> dict[str, str]:
        """alert_id → account, visit start and trigger time: what tells a doubled alert from a lost one."""
        engine = create_engine(self.db)
        try:
            with engine.connect() as connection:
                return {
                    row[0]: f"{row[1]} visit from {row[2]} triggered at {row[3]}"
                    for row in connection.execute(
                        text("SELECT alert_id, account_id, first_seen, triggered_at FROM alerts ORDER BY triggered_at")
                    )
                }
        finally:
            engine.dispose()

    def wait_for_hits(self, expected: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.counts()[0] >= expected:
                time.sleep(2)  # let the last alert records land
                return
            for process in self.workers:
                assert process.poll() is None or process.returncode == -signal.SIGKILL, self.worker_logs()
            time.sleep(0.5)
        raise AssertionError(
            f"only {self.counts()} (hits, alerts) after {timeout} s\n{self.worker_logs()}\n{self.worker_metrics()}"
        )

    def assert_same_as_replay(self, replayed: tuple[set[str], int] | Replayed, timeout: float = 120) -> None:
        """Every hit stored once and exactly the alerts `revisit replay` makes of the same log."""
        alert_ids, hits = replayed[:2]
        self.wait_for_hits(hits, timeout)
        # An alert held at the end closes at a marker after its account's last hits were taken,
        # a quarter of a second later or, on a loaded machine, seconds: wait for what replay
        # stored rather than a fixed time (a missing alert still fails, after the timeout).
        deadline = time.monotonic() + timeout
        while set(self.alerts()) != alert_ids and time.monotonic() < deadline:
            time.sleep(0.5)
        stored = self.alerts()
        assert (self.counts()[0], set(stored)) == (hits, alert_ids), "\n".join(
            f"{'extra' if alert_id not in alert_ids else 'also'}: {about}" for alert_id, about in stored.items()
        )

    def worker_metrics(self) -> str:
        """What live workers report (readiness, events by outcome, lag, hits stored): where a stall is."""
        found = []
        for process, port in zip(self.workers, self.web_ports, strict=False):
            if process.poll() is not None:
                continue
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                    text = response.read().decode()
            except OSError as error:
                found.append(f"worker on {port}: no /metrics ({error})")
                continue
            found.append(f"worker on {port}: /readyz {get_json(port, '/readyz')}")
            found += [
                line
                for line in text.splitlines()
                if line.startswith(
                    ("revisit_hits_total", "revisit_consumer_lag", "revisit_event_to_hit_stored_seconds_count")
                )
            ]
        return "\n".join(found)

    def worker_logs(self) -> str:
        return "\n".join(p.read_text()[-12000:] for p in sorted(self.tmp_path.glob("worker-*.log")))

    def stop_all(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.workers:
            if process.returncode != -signal.SIGKILL:
                assert process.wait(timeout=60) == 0, self.worker_logs()


def test_shipped_log_gives_the_alerts_replay_gives(bootstrap, tmp_path, replayed) -> None:
    setup = Setup(bootstrap, tmp_path)
    setup.ship(APACHE_LOG)
    setup.start_worker()
    try:
        setup.assert_same_as_replay(replayed)
        # The log spans four days: by its end the sweep has forgotten the visits (and the 24 h
        # cooldowns) of accounts seen only early on, so fewer accounts are in state than were
        # seen; the account of the newest hit is in the middle of its visit, so not none.
        engine = create_engine(setup.db)
        with engine.connect() as connection:
            seen = connection.execute(text("SELECT count(DISTINCT account_id) FROM hits")).scalar_one()
        engine.dispose()
        in_state = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (in_state and 0 < in_state < seen):
            time.sleep(0.5)
            in_state = metric_value(get(setup.web_ports[0], "/metrics"), "revisit_state_accounts")
        assert in_state and 0 < in_state < seen, (in_state, seen)
        # the addresses resolved on the way are kept as replay keeps them (every few seconds)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and stored_organizations(setup.db) != replayed.organizations:
            time.sleep(0.5)
        assert replayed.organizations and stored_organizations(setup.db) == replayed.organizations
    finally:
        setup.stop_all()  # SIGTERM: exit status 0


def as_alb_lines(combined_log: Path) -> list[str]:
    """The real Apache log's lines as an AWS Application Load Balancer would have written the same
    requests (field order from AWS's documentation: type, time in UTC, elb, client:port, target:port,
    three timings, statuses, sizes, "request", "user agent", TLS fields, target group, trace id, ...)."""
    combined = re.compile(r'^(\S+) \S+ \S+ \[([^\]]+)\] "([^"]*)" (\d{3}) (\d+|-) "[^"]*" "([^"]*)"')
    lines = []
    for number, raw in enumerate(combined_log.read_text(encoding="utf-8", errors="replace").splitlines()):
        found = combined.match(raw)
        if not found:
            continue  # the sample's truncated line: not a request either way
        client, when, request, status, size, agent = found.groups()
        at = datetime.strptime(when, "%d/%b/%Y:%H:%M:%S %z").astimezone(UTC)
        method, _, rest = request.partition(" ")
        target, _, protocol = rest.rpartition(" ")
        url = f"https://www.example.com:443{target}" if target.startswith("/") else target
        lines.append(
            f"https {at:%Y-%m-%dT%H:%M:%S.%fZ} app/my-loadbalancer/50dc6c495c0c9188 {client}:{40000 + number % 20000} "
            f"10.0.0.1:80 0.000 0.001 0.000 {status} {status} 34 {0 if size == '-' else size} "
            f'"{method} {url} {protocol}" "{agent}" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 '
            "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "
            f'"Root=1-58337262-{number:024x}" "www.example.com" "-" 0 {at:%Y-%m-%dT%H:%M:%S.%fZ} "forward" "-" "-"'
        )
    return lines


def test_a_shipped_alb_log_gives_the_alerts_replay_gives_of_the_same_requests(
    bootstrap, tmp_path, replayed, monkeypatch
) -> None:
    """A format other than combined through ship → Kafka → worker: the same requests in ALB's format
    (UTC times, client:port, absolute URLs) give exactly replay's hits and alerts of the Apache log."""
    log = tmp_path / "alb.log"
    log.write_text("\n".join(as_alb_lines(APACHE_LOG)) + "\n", encoding="utf-8")
    monkeypatch.setenv("REVISIT_LOG__FORMAT", "alb")  # the shipper and the worker both read it
    setup = Setup(bootstrap, tmp_path)
    setup.ship(log)
    setup.start_worker()
    try:
        setup.assert_same_as_replay(replayed)
    finally:
        setup.stop_all()


def metric_value(exposition: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                return sample.value
    return None


def test_sigkill_mid_stream_loses_nothing_and_doubles_nothing(bootstrap, tmp_path, replayed) -> None:
    setup = Setup(bootstrap, tmp_path)
    setup.ship(APACHE_LOG)
    first = setup.start_worker()
    deadline = time.monotonic() + 120
    while setup.counts()[0] < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    killed_at = setup.counts()[0]
    assert killed_at > 0, setup.worker_logs()
    setup.start_worker()
    try:
        setup.assert_same_as_replay(replayed)
    finally:
        setup.stop_all()


def test_sigterm_while_the_worker_starts_stops_it_cleanly(bootstrap, tmp_path) -> None:
    """`docker stop` during a long start-up (a new list of 40,000 accounts is checked, indexed and
    imported first): exit 0 and a line saying why, not death by the signal (-15)."""
    setup = Setup(bootstrap, tmp_path)
    run = uuid.uuid4().hex[:8]  # a list never kept before: its start-up takes seconds
    rows = "".join(f"B{i},{name} {run}\n" for i, name in enumerate(company_names(40_000)))
    setup.accounts.write_text("account_id,name\n" + rows, encoding="utf-8")
    worker = setup.start_worker()
    log = tmp_path / "worker-0.log"
    deadline = time.monotonic() + 60
    while "Bootstrap complete" not in log.read_text() and time.monotonic() < deadline:  # topics checked
        assert worker.poll() is None, log.read_text()
        time.sleep(0.02)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0, log.read_text()[-3000:]
    assert "stopped by SIGTERM before it started" in log.read_text()


def children_of(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def has_ended(pid: int) -> bool:
    """Gone, or a zombie its new parent has not reaped (PID 1 in a container may never)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_the_classify_process_lives_and_dies_with_the_worker(bootstrap, tmp_path) -> None:
    """The classify stage runs in a child of the worker: its counts are in the worker's /metrics,
    its death stops the worker (exit 1, for the supervisor to restart both), and a worker killed
    by SIGKILL does not leave it behind."""
    setup = Setup(bootstrap, tmp_path)
    setup.ship(APACHE_LOG)
    worker = setup.start_worker()
    setup.wait_for_hits(1)
    (child,) = children_of(worker.pid)
    metrics = get(setup.web_ports[0], "/metrics")
    assert metric_value(metrics, "revisit_hits_total", outcome="matched") >= 1, metrics
    # a real log in order: nothing late, and the series says so (it is there before its first event)
    assert metric_value(metrics, "revisit_late_events_total", stage="classify") == 0, metrics
    os.kill(child, signal.SIGKILL)
    assert worker.wait(timeout=60) == 1, setup.worker_logs()
    assert "the classify process exited (code -9): stopping the worker" in setup.worker_logs()
    setup.workers.remove(worker)

    worker = setup.start_worker(import_accounts=False)
    deadline = time.monotonic() + 60
    while not children_of(worker.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    (child,) = children_of(worker.pid)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    deadline = time.monotonic() + 30
    while not has_ended(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert has_ended(child), setup.worker_logs()
    assert "the worker (process " in setup.worker_logs() and "is gone: the classify stage stops" in setup.worker_logs()


def test_two_workers_share_four_partitions(bootstrap, tmp_path, replayed) -> None:
    setup = Setup(bootstrap, tmp_path)
    setup.start_worker()
    setup.start_worker()
    time.sleep(10)  # both in the group before the data arrives
    setup.ship(APACHE_LOG)
    try:
        setup.assert_same_as_replay(replayed)
    finally:
        setup.stop_all()


def test_malformed_lines_go_to_the_dead_letter_topic(bootstrap, tmp_path) -> None:
    setup = Setup(bootstrap, tmp_path)
    setup.ship(MALFORMED_LOG)
    setup.start_worker()
    try:
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=1000)
        partitions = [TopicPartition(setup.dead, p) for p in range(4)]
        consumer.assign(partitions)
        records = []
        deadline = time.monotonic() + 120
        while len(records) < 2 and time.monotonic() < deadline:
            for messages in consumer.poll(timeout_ms=1000).values():
                records.extend(json.loads(m.value) for m in messages)
        consumer.close()
    finally:
        setup.stop_all()
    assert sorted(r["reasons"] for r in records) == [["error_log"], ["error_log"]]
    assert all(r["raw"].startswith("[") and r["source"]["topic"] == setup.raw for r in records)
    assert any("AH01618: user sss not found" in r["raw"] for r in records)


def test_w3c_directives_are_skipped_not_dead_letters(bootstrap, tmp_path) -> None:
    """An IIS log's #Software/#Version/#Date/#Fields lines are no fault: counted as skipped, not
    sent to the dead-letter topic, which gets the real log's two error-log lines only."""
    log = tmp_path / "with-directives.log"
    log.write_bytes(
        b"#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: 2026-11-20 01:00:00\n"
        + MALFORMED_LOG.read_bytes()
    )
    setup = Setup(bootstrap, tmp_path)
    setup.ship(log)
    setup.start_worker()
    try:
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=1000)
        consumer.assign([TopicPartition(setup.dead, p) for p in range(4)])
        records: list[dict] = []
        deadline = time.monotonic() + 120
        while len(records) < 2 and time.monotonic() < deadline:
            for messages in consumer.poll(timeout_ms=1000).values():
                records.extend(json.loads(m.value) for m in messages)
        time.sleep(2)  # a directive sent there would have come by now
        for messages in consumer.poll(timeout_ms=1000).values():
            records.extend(json.loads(m.value) for m in messages)
        consumer.close()
        metrics = setup.worker_metrics()
    finally:
        setup.stop_all()
    assert sorted(r["reasons"] for r in records) == [["error_log"], ["error_log"]]
    assert 'revisit_hits_total{outcome="skipped"} 3.0' in metrics, metrics


def test_worker_refuses_to_start_without_its_topics(bootstrap, tmp_path) -> None:
    config = tmp_path / "revisit.toml"
    config.write_text(
        f'[kafka]\nbootstrap_servers = "{bootstrap}"\nraw_topic = "nowhere-{uuid.uuid4().hex[:8]}"\n', encoding="utf-8"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "revisit",
            "worker",
            "--config",
            str(config),
            "--db",
            f"sqlite:///{tmp_path / 'w.sqlite'}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "topics missing: nowhere-" in result.stderr and "revisit topics create" in result.stderr


def test_the_worker_delivers_its_alerts_through_the_outbox(bootstrap, tmp_path, replayed, monkeypatch) -> None:
    from tests.test_delivery import Recorder

    alert_ids, hits = replayed[:2]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.lock, server.answers, server.requests = threading.Lock(), [], []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("REVISIT_WEBHOOK_URL", f"http://127.0.0.1:{server.server_address[1]}/crm")
    setup = Setup(bootstrap, tmp_path)
    with setup.config.open("a", encoding="utf-8") as config:
        config.write('\n[delivery]\ndefault_channels = ["webhook"]\npoll_seconds = 0.2\ngroup_wait_seconds = 1.0\n')
    setup.ship(APACHE_LOG)
    setup.start_worker()
    try:
        setup.wait_for_hits(hits)
        engine = create_engine(setup.db)
        with engine.connect() as connection:
            realtime = {
                row[0] for row in connection.execute(text("SELECT alert_id FROM alerts WHERE delivery = 'realtime'"))
            }
        engine.dispose()
        # tier C goes to the owners' daily digest, but the webhook (a CRM, not a person) gets every
        # alert at once: README, "quiet hours hold people, not the webhook"
        assert realtime and realtime < alert_ids
        deadline = time.monotonic() + 60
        while len(server.requests) < len(alert_ids) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)  # nothing more may come
        delivered = [headers["X-Revisit-Alert-Id"] for _, headers, _, _ in server.requests]
        assert sorted(delivered) == sorted(alert_ids)  # each once
        port = setup.web_ports[0]
        assert get_json(port, "/readyz") == (
            200,
            {"status": "ready", "checks": {"database": "ok", "storing": "ok", "stream": "ok", "raw_topic": "ok"}},
        )
        exposition = get(port, "/metrics")
        samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(exposition)
            for sample in family.samples
        }
        assert samples[("revisit_hits_total", (("outcome", "matched"),))] >= hits
        assert sum(value for (name, _), value in samples.items() if name == "revisit_alerts_total") == len(alert_ids)
        assert samples[("revisit_deliveries_total", (("channel", "webhook"), ("status", "sent")))] == len(alert_ids)
        assert samples[("revisit_event_to_delivery_seconds_count", (("channel", "webhook"),))] == len(alert_ids)
        assert samples[("revisit_outbox_backlog", (("channel", "webhook"),))] == 0
        assert samples[("revisit_outbox_oldest_due_age_seconds", ())] == 0
        # every metric the Grafana dashboard and the alert rules query is one this worker exports
        missing = names_in_queries() - exported_sample_names(exposition)
        assert not missing, sorted(missing)
    finally:
        setup.stop_all()
        server.shutdown()
        server.server_close()


def test_a_following_shipper_serves_metrics_and_readiness(bootstrap, tmp_path) -> None:
    setup = Setup(bootstrap, tmp_path)
    log = tmp_path / "access.log"
    log.write_bytes(APACHE_LOG.read_bytes())
    lines = log.read_bytes().count(b"\n")
    port = free_port()
    shipper = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "revisit",
            "ship",
            str(log),
            "--follow",
            "--config",
            str(setup.config),
            "--checkpoint",
            str(tmp_path / "ship.json"),
        ],
        env={**os.environ, "REVISIT_SHIP__WEB_PORT": str(port), "REVISIT_LOGGING__FORMAT": "json"},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline, acknowledged = time.monotonic() + 120, 0.0
        while time.monotonic() < deadline and acknowledged < lines:
            time.sleep(0.5)
            try:
                metrics = {
                    s.name: s.value for f in text_string_to_metric_families(get(port, "/metrics")) for s in f.samples
                }
            except OSError:
                continue  # not listening yet
            acknowledged = metrics.get("revisit_ship_acknowledged_lines_total", 0.0)
        assert acknowledged == lines
        assert metrics["revisit_ship_backlog_bytes"] == 0
        assert get_json(port, "/readyz") == (200, {"status": "ready", "checks": {"broker": "ok"}})
        assert get_json(port, "/healthz") == (200, {"status": "ok"})
    finally:
        shipper.send_signal(signal.SIGTERM)
        _, errors = shipper.communicate(timeout=60)
    assert shipper.returncode == 0, errors
    for line in errors.splitlines():  # whatever it logged is one JSON object per line
        assert {"time", "level", "event", "event_id"} <= json.loads(line).keys()


def status_of(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_worker_serves_only_metrics_and_health_pages(bootstrap, tmp_path) -> None:
    setup = Setup(bootstrap, tmp_path)
    setup.ship(APACHE_LOG)
    setup.start_worker()
    port = setup.web_ports[0]
    try:
        setup.wait_for_hits(1)  # the account-state table has records: there is something to leak
        account = next(iter(setup.alerts().values()), "E01 ").split(" ", 1)[0]
        assert status_of(port, "/metrics") == 200 and "revisit_hits_total" in get(port, "/metrics")
        assert get_json(port, "/healthz") == (200, {"status": "ok"})
        assert status_of(port, "/readyz") in (200, 503)  # answers (ready or not) with its checks
        faust_pages = [
            "/",
            "/table/",
            "/table/account-state/",
            f"/table/account-state/{account}/",
            "/router/",
            f"/router/account-state/{account}/",
            "/graph/",
            "/stats/",
            "/stats/assignment/",
            "/performance/",
        ]
        assert {path: status_of(port, path) for path in faust_pages} == dict.fromkeys(faust_pages, 404)
    finally:
        setup.stop_all()
