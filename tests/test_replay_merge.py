"""Replay of several web servers' logs: the files are merged by event time, so any split of one
log across servers gives the alerts of the merged log (README, "Event time")."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from revisit.alerts.tracker import VisitTracker, track_and_store
from revisit.cli import main
from revisit.core.alert import Alert
from revisit.core.config import Settings, load_settings
from revisit.core.visit import PageView, Session
from revisit.enrichment.accounts import parse_accounts
from revisit.enrichment.classify import HitClassifier, MatchedHit, RunSummary
from revisit.enrichment.match import AccountIndex
from revisit.enrichment.parallel import matched_hits_of_files
from revisit.enrichment.resolve import AccountNetworkResolver, ResolverChain
from revisit.stream.sources import read_lines
from tests.conftest import APACHE_LOG
from tests.test_cli import ACCOUNTS, CONFIG


class AlertList:
    """A ``HitSink`` that keeps the alerts (the tracker's output) and nothing else."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def add_hit(self, hit_key: str, matched: MatchedHit, session: Session, page: PageView) -> None:
        pass

    def add_alert(self, alert: Alert) -> None:
        self.alerts.append(alert)

    def flush(self) -> list[Alert]:
        return []


class NoSender:
    def deliver(self, alerts: Sequence[Alert]) -> None:
        pass


@cache
def pipeline(tmp: str) -> tuple[Settings, HitClassifier, tuple[str, ...]]:
    """The classifier of the CLI tests' accounts and the sample log's lines of those accounts (and
    some of nobody's), in the log's order: the elastic/examples Apache sample (May 2015)."""
    config = Path(tmp) / "revisit.toml"
    config.write_text(CONFIG, encoding="utf-8")
    settings = load_settings(config)
    index = AccountIndex(parse_accounts(ACCOUNTS), settings.matching)
    classifier = HitClassifier(settings, index, ResolverChain([AccountNetworkResolver(index)]))
    lines = list(read_lines([str(APACHE_LOG)]))
    kept = [
        line for number, line in enumerate(lines) if number % 50 == 0 or type(classifier.classify(line)) is MatchedHit
    ]
    return settings, classifier, tuple(kept)


def alerts_of(
    paths: list[str], settings: Settings, classifier: HitClassifier
) -> tuple[list[tuple[str, tuple[str, ...], int]], int]:
    """(alert id, pages, score) of every alert, and how many hits came late."""
    sink = AlertList()
    summary = RunSummary()
    track_and_store(
        matched_hits_of_files(paths, classifier, summary, 1, 1 << 30), VisitTracker(settings), sink, NoSender(), summary
    )
    return sorted((alert.alert_id, alert.pages, alert.score) for alert in sink.alerts), summary.late


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(servers=st.integers(2, 4), data=st.data())
def test_any_split_across_servers_gives_the_merged_logs_alerts(tmp_path_factory, servers: int, data) -> None:
    tmp = tmp_path_factory.getbasetemp()
    settings, classifier, lines = pipeline(str(tmp))
    merged = tmp / "merged.log"
    if not merged.exists():
        merged.write_text("".join(lines), encoding="utf-8")
    expected, late = alerts_of([str(merged)], settings, classifier)
    assert len(expected) >= 3 and late == 0
    # each line goes to one server, whose log keeps the merged log's order
    chosen = data.draw(st.lists(st.integers(0, servers - 1), min_size=len(lines), max_size=len(lines)))
    split = tmp_path_factory.mktemp("split")
    paths = [str(split / f"web{server + 1}.log") for server in range(servers)]
    for server, path in enumerate(paths):
        Path(path).write_text("".join(line for line, to in zip(lines, chosen, strict=True) if to == server), "utf-8")
    alerts, late = alerts_of(data.draw(st.permutations(paths)), settings, classifier)
    assert alerts == expected
    assert late == 0  # merged by event time: nothing comes after the watermark


def test_replay_of_two_servers_logs_equals_replay_of_the_merged_log(tmp_path: Path, capsys) -> None:
    """The command a new user runs: ``revisit replay web1.log web2.log`` (alternate lines of the
    sample log to each server) gives the alert records of the merged log, alert ids included."""
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    (tmp_path / "revisit.toml").write_text(CONFIG, encoding="utf-8")
    lines = list(read_lines([str(APACHE_LOG)]))
    (tmp_path / "web1.log").write_text("".join(lines[0::2]), encoding="utf-8")
    (tmp_path / "web2.log").write_text("".join(lines[1::2]), encoding="utf-8")
    results = []
    for name, logs in (
        ("merged", [str(APACHE_LOG)]),
        ("split", [str(tmp_path / "web2.log"), str(tmp_path / "web1.log")]),
    ):
        jsonl = tmp_path / f"{name}.jsonl"
        arguments = [
            "replay",
            *logs,
            "--accounts",
            str(tmp_path / "accounts.csv"),
            "--config",
            str(tmp_path / "revisit.toml"),
        ]
        arguments += ["--db", f"sqlite:///{tmp_path / name}.sqlite", "--alerts-jsonl", str(jsonl)]
        assert main(arguments) == 0
        capsys.readouterr()
        results.append(sorted((json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()), key=str))
    assert results[0] == results[1] and len(results[0]) >= 3
