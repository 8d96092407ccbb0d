"""Replay on several processes gives exactly what one process gives."""

from __future__ import annotations

import functools
import itertools
import json
import multiprocessing
import os
import pickle
import signal
import tempfile
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from revisit.cli import main
from revisit.core.config import Settings
from revisit.enrichment.accounts import load_accounts
from revisit.enrichment.classify import HitClassifier, MatchedHit, RunSummary, Unmatched
from revisit.enrichment.fuzzy import PENDING_MAX
from revisit.enrichment.match import AccountIndex
from revisit.enrichment.maxmind import MaxMindResolver
from revisit.enrichment.parallel import (
    DecisionFiles,
    ParallelFile,
    can_split,
    line_aligned_ranges,
    matched_hits_of_files,
    pack_hit,
    read_range,
    tapered_ranges,
    unpack_hit,
)
from revisit.enrichment.resolve import AccountNetworkResolver, ResolverChain
from revisit.stream.rows import lines_of
from revisit.stream.sources import read_lines
from tests.company_names import company_names
from tests.conftest import APACHE_LOG, mmdb
from tests.test_cli import ACCOUNTS, CONFIG
from tests.test_decisions import account, matched


def test_a_new_lists_name_index_is_built_before_the_workers_are_forked(tmp_path: Path) -> None:
    """Built after the fork, each worker built it at its first name, and the parent again to keep
    the list: 100,000 accounts, ~0.6 s of CPU a process."""
    names = company_names(PENDING_MAX + 200)
    index = AccountIndex(account(account_id=f"G{n}", name=name) for n, name in enumerate(names))
    assert index.fuzzy_names.unindexed > PENDING_MAX  # a search would build it first
    classifier = HitClassifier(Settings(), index, ResolverChain([AccountNetworkResolver(index)]))
    hits = matched_hits_of_files([str(APACHE_LOG)], classifier, RunSummary(), 2, 0)
    hits.close()
    assert index.fuzzy_names.unindexed == 0


def test_ranges_cover_the_file_line_by_line(tmp_path: Path) -> None:
    log = tmp_path / "mixed.log"
    log.write_bytes(APACHE_LOG.read_bytes()[:200_000] + b"tail without newline \xff\xfe")
    for parts in (1, 2, 3, 7, 64):
        ranges = line_aligned_ranges(log, parts)
        assert ranges[0][0] == 0 and ranges[-1][1] == log.stat().st_size
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
        pieces = [line for start, end in ranges for block in read_range(log, start, end) for line in lines_of(block)]
        assert pieces == list(read_lines([str(log)]))


def test_parallel_replay_equals_sequential(tmp_path: Path, capsys) -> None:
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    (tmp_path / "revisit.toml").write_text(CONFIG + "\n[replay]\nparallel_min_mb = 0\n", encoding="utf-8")
    results = {}
    for workers in ("1", "3"):
        jsonl = tmp_path / f"alerts-{workers}.jsonl"
        assert _replay(APACHE_LOG, tmp_path, tmp_path / "revisit.toml", tmp_path / workers, jsonl, workers) == 0
        summary = _summary_lines(capsys.readouterr().out)
        alerts = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
        results[workers] = (summary, alerts)
    assert results["1"][0] == results["3"][0] and len(results["1"][0]) == 3
    assert results["1"][1] == results["3"][1] and len(results["1"][1]) >= 3


def test_replay_workers_start_before_the_hits_are_asked_for_and_close_stops_them(tmp_path: Path) -> None:
    """Replay stores the account list while its worker processes classify: they start when the
    hits of the files are made, not when they are first read."""
    settings = Settings()
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    index = AccountIndex(load_accounts(str(tmp_path / "accounts.csv")))
    classifier = HitClassifier(settings, index, ResolverChain([AccountNetworkResolver(index)]))
    hits = matched_hits_of_files([str(APACHE_LOG)], classifier, RunSummary(), 2, 0)
    started = [p for p in multiprocessing.active_children() if p.name.startswith("revisit-replay-")]
    assert len(started) == 2
    hits.close()
    assert not any(p.is_alive() for p in started)


def test_workers_taking_ranges_in_turn_count_every_line_once(tmp_path: Path) -> None:
    """Ranges (16 and the smaller ones at the end) taken in turn by two workers give the counts
    and hits of one process, in file order."""
    settings = Settings()
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    index = AccountIndex(load_accounts(str(tmp_path / "accounts.csv")))
    outcomes = {}
    for workers in (1, 2):
        classifier = HitClassifier(settings, index, ResolverChain([AccountNetworkResolver(index)]))
        summary = RunSummary()
        if workers == 1:
            matched = matched_hits_of_files([str(APACHE_LOG)], classifier, summary, 1, 0)
        else:
            matched = ParallelFile(classifier, str(APACHE_LOG), workers, summary)
            assert matched.range_count > 2 * ParallelFile.RANGES_PER_WORKER
        outcomes[workers] = (summary, [m.raw_line for m in matched])
    assert outcomes[1][0].as_dict() == outcomes[2][0].as_dict() and outcomes[1][0].lines == 10_000
    assert outcomes[1][1] == outcomes[2][1] and outcomes[1][1]


def test_a_stopped_worker_leaves_its_ranges_to_the_others(tmp_path: Path) -> None:
    """Ranges are taken as workers get free, not dealt out at the start: a worker held back (here
    stopped with SIGSTOP as soon as it started, until the other one has ended; on the bench
    machine, other programs or the parent storing the list) classifies fewer than its share
    (the ranges it took before the stop, at most one on any machine seen), the other one the
    rest, and the hits and counts are still those of one process, in file order."""
    settings = Settings()
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    index = AccountIndex(load_accounts(str(tmp_path / "accounts.csv")))

    def classifier() -> HitClassifier:
        return HitClassifier(settings, index, ResolverChain([AccountNetworkResolver(index)]))

    one = RunSummary()
    sequential = [m.raw_line for m in matched_hits_of_files([str(APACHE_LOG)], classifier(), one, 1, 0)]
    summary = RunSummary()
    parallel = ParallelFile(classifier(), str(APACHE_LOG), 2, summary)
    held, other = [p for p in multiprocessing.active_children() if p.name.startswith("revisit-replay-")]
    held_number = int(held.name.rsplit("-", 1)[1]) - 1
    os.kill(held.pid, signal.SIGSTOP)

    def resume_when_the_other_ended() -> None:
        other.join()
        os.kill(held.pid, signal.SIGCONT)  # still there: it cannot end while stopped

    resumer = threading.Thread(target=resume_when_the_other_ended)
    resumer.start()
    hits = [m.raw_line for m in parallel]
    resumer.join()
    assert hits == sequential and summary.as_dict() == one.as_dict()
    assert parallel.ranges_taken[held_number] < parallel.range_count / 2
    assert sum(parallel.ranges_taken.values()) == parallel.range_count


def test_a_worker_takes_the_ranges_nobody_took_yet(tmp_path: Path) -> None:
    """The workers share one counter of ranges: a worker starting when 14 of 16 are taken
    classifies the last two and reports them, each range's messages naming the range."""
    from revisit.enrichment.parallel import _classify_ranges

    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    index = AccountIndex(load_accounts(str(tmp_path / "accounts.csv")))
    classifier = HitClassifier(Settings(), index, ResolverChain([AccountNetworkResolver(index)]))
    ranges = line_aligned_ranges(APACHE_LOG, 16)
    context = multiprocessing.get_context("fork")
    next_range, results = context.Value("q", 14), context.Queue()
    _classify_ranges(classifier, str(APACHE_LOG), ranges, next_range, results, 0)
    messages = [results.get(timeout=10)]
    while messages[-1][0] != "done":
        messages.append(results.get(timeout=10))
    ends = [(kind, number) for kind, number, _payload in messages if kind != "hits"]
    assert ends == [("range", 14), ("range", 15), ("done", 0)]
    assert {number for kind, number, _payload in messages if kind == "hits"} <= {14, 15}
    assert messages[-1][2][0] == 2 and next_range.value == 17
    counted = sum(payload.lines for kind, _number, payload in messages if kind == "range")
    assert counted == sum(len(lines_of(block)) for block in read_range(APACHE_LOG, ranges[14][0], ranges[15][1]))


def test_a_matched_hit_crosses_to_the_parent_as_plain_values() -> None:
    """Workers send the hit's fields as a tuple, not the frozen dataclass (whose pickle is set
    again field by field: twice the cost a hit); the parent gets back an equal hit, every field
    kept (the virtual host, a time zone of its own)."""
    at = datetime(2026, 11, 20, 9, 30, 5, 123456, tzinfo=timezone(timedelta(hours=9)))
    original = matched(account(account_id="P-1"), "/pricing", at)
    original = type(original)(
        type(original.hit)("2001:db8::7", at, "POST", "/pricing", "plan=a", 302, 0, "https://r/", "UA", "shop.example"),
        original.organization,
        original.match,
        "the raw line",
    )
    sent = pickle.dumps([pack_hit(original)], protocol=pickle.HIGHEST_PROTOCOL)
    assert b"revisit.core.hit" not in sent  # no Hit object in the message
    (received,) = [unpack_hit(packed) for packed in pickle.loads(sent)]
    assert received == original
    assert received.hit.timestamp.utcoffset() == timedelta(hours=9)
    assert received.hit.timestamp.astimezone(UTC) == at


def test_ranges_get_smaller_towards_the_end_of_the_file(tmp_path: Path) -> None:
    """Two workers, eight ranges each: ranges of 1/16 of the file while half of what is left
    is more than one a worker, then smaller down to an eighth of that, so that the workers end
    within a small range of each other; every line in exactly one range."""
    log = tmp_path / "big.log"
    line = b"x" * 99 + b"\n"
    log.write_bytes(line * 160_000)  # 16,000,000 bytes: ranges of 1,000,000, the smallest 125,000
    ranges = tapered_ranges(log, 2, 8)
    sizes = [end - start for start, end in ranges]
    assert ranges[0][0] == 0 and ranges[-1][1] == 16_000_000
    assert all(previous[1] == following[0] for previous, following in zip(ranges[:-1], ranges[1:], strict=True))
    assert all(start % 100 == 0 for start, _ in ranges)  # at line starts
    # 1/16 of the file while a worker's share of half the rest is more (the first one line longer:
    # a cut at a line's start leaves that line to the range before), then a quarter of the rest,
    # each in whole lines, down to 125,000 bytes, and what is left
    assert sizes == [1_000_100] + [1_000_000] * 12 + [
        *(750_000, 562_500, 421_800, 316_400, 237_300, 178_000, 133_500),
        *(125_000, 125_000, 125_000, 25_400),
    ]


def _resolving_classifier(index: AccountIndex) -> HitClassifier:
    resolvers = ResolverChain([AccountNetworkResolver(index), MaxMindResolver.from_paths([mmdb("GeoIP2-ISP-Test")])])
    return HitClassifier(Settings(), index, resolvers)


def test_an_address_one_worker_decided_is_taken_by_the_other_with_the_same_outcome(tmp_path: Path) -> None:
    """Replay's workers tell each other what they decided per address: the second worker,
    reading the whole real Apache log after the first read its first 2,000 lines, decides only
    the addresses the first did not meet, and every line's outcome is what one process alone
    gives (matched hits with their organisation and match, unmatched lines with theirs)."""
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    index = AccountIndex(load_accounts(str(tmp_path / "accounts.csv")))
    lines = list(read_lines([str(APACHE_LOG)]))
    decisions = DecisionFiles(2)
    try:
        first, second, alone = (_resolving_classifier(index) for _ in range(3))
        first.use_shared_decisions(decisions.for_worker(0))
        second.use_shared_decisions(decisions.for_worker(1))
        list(first.classify_lines(lines[:2000]))
        shared = list(second.classify_lines(lines))
    finally:
        decisions.close()
    expected = list(alone.classify_lines(lines))
    assert shared == expected
    assert any(type(o) is MatchedHit for o in expected)
    assert any(type(o) is Unmatched and o.organization is not None for o in expected)
    assert 0 < first.address_misses < alone.address_misses
    assert second.address_misses == alone.address_misses - first.address_misses


def test_a_decision_read_while_it_is_written_is_taken_once_it_is_whole() -> None:
    """A worker may read another's file in the middle of a record: it keeps the beginning and
    takes the decision when the rest is there."""
    written = DecisionFiles(2)
    read = DecisionFiles(2)
    try:
        outcome = Unmatched(None, "no resolver knows this address")
        writer = written.for_worker(0)
        writer.publish("198.51.100.7", outcome)
        writer.publish("198.51.100.8", outcome)
        record = os.pread(written._files[0].fileno(), 1 << 16, 0)
        reader = read.for_worker(1)
        os.pwrite(read._files[0].fileno(), record[:7], 0)
        assert reader.take("198.51.100.7") is None
        os.pwrite(read._files[0].fileno(), record[7:], 7)
        assert reader.take("198.51.100.7") == outcome
        assert reader.take("198.51.100.7") is None  # taken once: the classifier remembers it
        assert reader.take("198.51.100.8") == outcome
    finally:
        written.close()
        read.close()


def test_a_worker_whose_decisions_cannot_be_written_goes_on_without_sharing(tmp_path: Path) -> None:
    """A failed write (here a file open for reading only; on a machine, a full disk) ends that
    worker's sharing, never its run: its lines are still classified, the others decide for themselves."""
    from revisit.enrichment.parallel import WorkerDecisions

    (tmp_path / "decisions").write_bytes(b"")
    with open(tmp_path / "decisions", "rb") as read_only:
        writer = WorkerDecisions(read_only.fileno(), [])
        writer.publish("198.51.100.7", Unmatched(None, "no resolver knows this address"))
        writer.publish("198.51.100.8", Unmatched(None, "no resolver knows this address"))
    assert writer.published == 0
    assert (tmp_path / "decisions").read_bytes() == b""


@functools.cache
def _shared_test_index() -> AccountIndex:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "accounts.csv"
        path.write_text(ACCOUNTS, encoding="utf-8")
        return AccountIndex(load_accounts(str(path)))


@functools.cache
def _apache_lines() -> tuple[str, ...]:
    return tuple(read_lines([str(APACHE_LOG)]))


# Clients of every kind of decision: an account's own network (E01), addresses MaxMind's ISP test
# database names (a university, an ISP, a name-only network), private and documentation addresses,
# IPv6, a forwarded chain, and client fields that are no address at all.
_CLIENTS = (
    "108.171.116.194",
    "108.171.116.7",
    "116.90.216.3",
    "1.0.128.5",
    "192.175.40.7",
    "100.43.133.100",
    "10.0.0.1",
    "203.0.113.9",
    "240e:8000::1",
    "2001:db8::1",
    "::ffff:108.171.116.194",
    "unknown",
    "-",
)
_generated_line = st.builds(
    lambda client, path, status, agent: (
        f'{client} - - [20/Nov/2026:10:{len(path) % 60:02d}:07 +0900] "GET {path} HTTP/1.1" {status} 512 '
        f'"https://example.com/" "{agent}"\n'
    ),
    st.sampled_from(_CLIENTS),
    st.sampled_from(("/", "/pricing", "/docs/a?x=1", "/img/logo.png", "/app.js")),
    st.sampled_from(("200", "304", "404", "500")),
    st.sampled_from(("Mozilla/5.0 (X11; Linux x86_64)", "Googlebot/2.1", "")),
)


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(_generated_line, st.sampled_from(_apache_lines())), min_size=1, max_size=80),
    st.lists(st.integers(min_value=0, max_value=80), max_size=5),
)
def test_shared_decisions_give_every_line_the_outcome_one_process_gives(lines: list[str], cuts: list[int]) -> None:
    """Two workers taking turns over pieces of the lines (real Apache lines and generated ones
    with every kind of client), each taking what the other decided: every line's outcome is the
    one a classifier alone gives it."""
    index = _shared_test_index()
    decisions = DecisionFiles(2)
    try:
        workers = [_resolving_classifier(index), _resolving_classifier(index)]
        for number, worker in enumerate(workers):
            worker.use_shared_decisions(decisions.for_worker(number))
        bounds = [0, *sorted(min(cut, len(lines)) for cut in cuts), len(lines)]
        shared = []
        for turn, (start, end) in enumerate(itertools.pairwise(bounds)):
            shared.extend(workers[turn % 2].classify_lines(lines[start:end]))
    finally:
        decisions.close()
    assert shared == list(_resolving_classifier(index).classify_lines(lines))


def _replay_summary(tmp_path: Path, log: Path, workers: str, capsys, encoding: str) -> tuple[int, list[str]]:
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    config = tmp_path / "revisit.toml"
    config.write_text(f'{CONFIG}\n[log]\nencoding = "{encoding}"\n[replay]\nparallel_min_mb = 0\n', encoding="utf-8")
    jsonl = tmp_path / f"alerts-{log.name}-{workers}.jsonl"
    code = _replay(log, tmp_path, config, tmp_path / (log.name + workers), jsonl, workers)
    captured = capsys.readouterr()
    return code, _summary_lines(captured.out) or captured.err.splitlines()


def _replay(log: Path, tmp_path: Path, config: Path, database: Path, jsonl: Path, workers: str) -> int:
    """``revisit replay`` of ``log`` with the accounts in ``tmp_path``, its English summary printed."""
    arguments = ["replay", str(log), "--accounts", str(tmp_path / "accounts.csv"), "--config", str(config)]
    arguments += ["--db", f"sqlite:///{database}.sqlite", "--alerts-jsonl", str(jsonl)]
    return main([*arguments, "--mmdb", mmdb("GeoIP2-ISP-Test"), "--workers", workers, "--locale", "en"])


def _summary_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(("lines ", "  malformed", "  filtered"))]


def test_a_utf16_log_is_read_whole_not_cut_at_newline_bytes(tmp_path: Path, capsys) -> None:
    """A log written by PowerShell's ``>`` is UTF-16 with its byte-order mark: a newline is two
    bytes, so ranges cut after a ``\\n`` byte split characters; such a file is read by one process
    and counts as the same log in UTF-8 does (it was garbled on two workers)."""
    utf16 = tmp_path / "powershell.log"
    utf16.write_bytes(APACHE_LOG.read_text(encoding="utf-8").encode("utf-16"))
    assert not can_split(str(utf16), 0, "utf-16") and can_split(str(APACHE_LOG), 0, "utf-8")
    assert can_split(str(APACHE_LOG), 0, "utf-8-sig") and can_split(str(APACHE_LOG), 0, "cp932")
    code, from_utf16 = _replay_summary(tmp_path, utf16, "2", capsys, "utf-16")
    assert code == 0 and from_utf16 == _replay_summary(tmp_path, APACHE_LOG, "1", capsys, "utf-8")[1]
    assert from_utf16[0].startswith("lines 10,000  parsed 9,999  malformed 1")


def test_a_file_the_decoder_refuses_is_bad_input_naming_it_in_one_process_and_in_workers(
    tmp_path: Path, capsys
) -> None:
    """Bad bytes are replaced, but some decoders refuse a stream outright: UTF-16 without its
    byte-order mark, an ISO-2022 escape they cannot hold (a traceback before, and a worker's
    traceback in parallel replay)."""
    no_mark = tmp_path / "no-mark.log"
    no_mark.write_bytes(APACHE_LOG.read_bytes()[:5000].decode("utf-8").encode("utf-16-le"))
    code, error = _replay_summary(tmp_path, no_mark, "1", capsys, "utf-16")
    assert code == 2
    assert error == [
        f"revisit: {no_mark}: cannot be read as utf-16 (UTF-16 stream does not start with BOM); "
        "set log.encoding to the file's encoding"
    ]
    # an ISO-2022 escape the reviewer's fuzzing found: the decoder refuses it where a chunk of its
    # input ends inside it; 3,000 lines of it three times over meet such an end in every range
    refused = tmp_path / "iso.log"
    refused.write_bytes(APACHE_LOG.read_bytes() + (b"\x1b((!\xfe\xc3\x1b$)C!!+\x0e" * 3 + b"\n") * 3000)
    for workers in ("1", "2"):
        code, error = _replay_summary(tmp_path, refused, workers, capsys, "iso2022_jp_ext")
        assert code == 2 and error[0].startswith(f"revisit: {refused}: cannot be read as iso2022_jp_ext (")
