"""Files read a block of whole lines at a time (``text_blocks``) and parsed a block at a time
(``RowParser.of_blocks``) give exactly what reading and parsing them line by line gives: the same
lines, the same fields, the same outcome for every line. Checked on every third-party access log
under ``../shared/data/access-logs`` (Apache, nginx, lnav, CrowdSec and Beats test logs with
their malformed lines) and on edge cases of the reader: lines at and over the length limit,
characters cut across the reader's blocks, CRLF, bytes that are not UTF-8, no final newline."""

from __future__ import annotations

import gzip
import io
import os
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revisit.core.config import LogSettings, Settings
from revisit.core.errors import BadInput
from revisit.core.hit import Malformed, MalformedReason
from revisit.enrichment.accounts import load_accounts
from revisit.enrichment.classify import HitClassifier, MatchedHit, RunSummary, tally
from revisit.enrichment.late import LateResolver
from revisit.enrichment.match import AccountIndex
from revisit.enrichment.maxmind import MaxMindResolver
from revisit.enrichment.resolve import AccountNetworkResolver, ResolverChain
from revisit.stream.formats import MAX_LINE_CHARS, make_line_parser
from revisit.stream.rows import MALFORMED, SEARCH_CHARS, RowParser, lines_of
from revisit.stream.sources import BLOCK_CHARS, decoded_lines, read_blocks, read_lines, text_blocks
from tests.conftest import ACCESS_LOGS, APACHE_LOG, mmdb
from tests.test_cli import ACCOUNTS

THIRD_PARTY_LOGS = sorted(
    path
    for path in ACCESS_LOGS.rglob("*")
    if path.is_file() and path.name not in {"LICENSE", "README.md", "SOURCES.md"}
)


def _blocks_of(data: bytes, encoding: str = "utf-8") -> list[str]:
    return list(text_blocks(io.BytesIO(data), encoding))


def _lines_of(data: bytes, encoding: str = "utf-8") -> list[str]:
    return list(decoded_lines(io.BytesIO(data), encoding))


def test_every_third_party_log_is_found() -> None:
    names = {path.name for path in THIRD_PARTY_LOGS}
    assert {"apache_logs", "hackers-access.log", "crowdsec_nginx-http-malformed.log", "beats_nginx_test.log"} <= names
    assert len(THIRD_PARTY_LOGS) == 15


@pytest.mark.parametrize("path", THIRD_PARTY_LOGS, ids=lambda path: path.name)
def test_a_third_party_log_gives_the_same_rows_and_outcomes_by_blocks_as_by_lines(
    path: Path, index: AccountIndex
) -> None:
    lines = list(read_lines([str(path)]))
    blocks = list(read_blocks([str(path)]))
    assert "".join(blocks) == "".join(lines)
    assert [line for block in blocks for line in lines_of(block)] == lines
    for log_format in ("auto", "combined"):
        rows = RowParser(make_line_parser(LogSettings(format=log_format)))
        assert list(rows.of_blocks(blocks)) == list(rows.of_lines(lines))
    by_lines = _classifier(index).classify_lines(lines)
    by_blocks = _classifier(index).classify_blocks(read_blocks([str(path)]))
    assert list(by_blocks) == list(by_lines)


def _every_field(summary: RunSummary) -> dict[str, object]:
    """A summary's fields, its counters as plain dicts: ``Counter``'s equality ignores a reason
    counted 0, which the console would still print (``filtered:  asset 0``)."""
    return {name: dict(value) if isinstance(value, Counter) else value for name, value in vars(summary).items()}


def _counted_both_ways(path: Path, index: AccountIndex) -> tuple[RunSummary, RunSummary]:
    by_tally, counted = RunSummary(), RunSummary()
    expected = list(tally(_classifier(index).classify_blocks(read_blocks([str(path)])), by_tally))
    assert list(_classifier(index).matched_hits_of_blocks(read_blocks([str(path)]), counted)) == expected
    return by_tally, counted


@pytest.mark.parametrize("path", THIRD_PARTY_LOGS, ids=lambda path: path.name)
def test_replay_counts_a_third_party_log_in_the_loop_as_tally_counts_its_outcomes(
    path: Path, index: AccountIndex
) -> None:
    """``matched_hits_of_blocks`` counts the lines that are not hits in the classifier's loop:
    the same hits and the same counts, reason by reason, as every outcome passed to ``tally``."""
    by_tally, counted = _counted_both_ways(path, index)
    assert _every_field(counted) == _every_field(by_tally)
    assert counted.lines == len(list(read_lines([str(path)])))


def test_the_counted_logs_hold_every_kind_of_outcome(index: AccountIndex) -> None:
    """The comparison above is not vacuous: over the third-party logs, each way a line ends is met."""
    total = RunSummary()
    for path in THIRD_PARTY_LOGS:
        total.add_counts(_counted_both_ways(path, index)[1])
    assert {"asset", "bot", "status", "private_address"} <= {k for k, v in total.filtered.items() if v > 0}
    assert {"bad_request", "error_log", "missing_fields", "truncated"} <= {k for k, v in total.malformed.items() if v}
    assert total.unmatched > total.unmatched_resolved > 0
    assert total.lines > total.unmatched + sum(total.filtered.values())  # hits and malformed lines too


def test_a_log_without_assets_or_crawlers_counts_no_reason_zero_times(index: AccountIndex, tmp_path: Path) -> None:
    """Found by a review: the loop added its asset and crawler counts even when 0, and the
    console printed ``filtered:  asset 0, bot 0`` for a log that had none."""
    log = tmp_path / "plain.log"
    log.write_text(
        'a b c [\n45.45.45.45 - - [17/May/2015:10:05:03 +0000] "GET /p HTTP/1.1" 200 5 "-" "Mozilla/5.0"\n',
        encoding="utf-8",
    )
    by_tally, counted = _counted_both_ways(log, index)
    assert _every_field(counted) == _every_field(by_tally)
    assert dict(counted.filtered) == {} and dict(counted.malformed) == {"unrecognized": 1} and counted.lines == 2


def test_a_counting_run_closed_early_has_counted_the_lines_read_so_far(index: AccountIndex) -> None:
    """Stopped after its third hit (a replay that ends early), the counts are those ``tally``
    had by then: added to the summary when the iterator is closed."""
    by_tally, counted = RunSummary(), RunSummary()
    hits = tally(_classifier(index).classify_blocks(read_blocks([str(APACHE_LOG)])), by_tally)
    mine = _classifier(index).matched_hits_of_blocks(read_blocks([str(APACHE_LOG)]), counted)
    assert [next(hits) for _ in range(3)] == [next(mine) for _ in range(3)]
    hits.close()
    mine.close()
    assert _every_field(counted) == _every_field(by_tally)
    assert 3 < counted.lines < 10_000


def test_a_classifier_with_late_resolution_does_not_count_in_its_loop(index: AccountIndex) -> None:
    classifier = _classifier(index)
    classifier.late = cast(LateResolver, object())  # held lines need tally's Settled and GaveUp
    with pytest.raises(ValueError, match="matched_hits_of_text"):
        classifier.matched_hits_of_blocks([], RunSummary())


def test_the_apache_sample_parses_by_blocks_to_its_exact_fields_and_outcomes(index: AccountIndex) -> None:
    """The 10,000 lines of Elastic's Apache example: one of them is cut short (a user agent with
    no closing quote), the rest are combined format; the first row is the sample's first line,
    split by hand, and the matched hits are those of a line-by-line run."""
    blocks = list(read_blocks([str(APACHE_LOG)]))
    rows = list(RowParser(make_line_parser(LogSettings())).of_blocks(blocks))
    assert len(blocks) == 37 and len(rows) == 10_000
    malformed = [(row[0][:29], row[2]) for row in rows if row[1] is MALFORMED]
    assert malformed == [("46.118.127.106 - - [20/May/20", Malformed(MalformedReason.TRUNCATED))]
    assert rows[0][1:] == (
        "",
        "83.149.9.216",
        "17/May/2015:10:05:03 +0000",
        "GET /presentations/logstash-monitorama-2013/images/kibana-search.png HTTP/1.1",
        "200",
        "203023",
        "http://semicomplete.com/presentations/logstash-monitorama-2013/",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/32.0.1700.77 Safari/537.36",
        "",
    )
    assert rows[0][0].endswith('Safari/537.36"\n') and rows[-1][0].endswith("\n")
    outcomes = list(_classifier(index).classify_blocks(blocks))
    matched = [outcome for outcome in outcomes if type(outcome) is MatchedHit]
    assert len(outcomes) == 10_000
    assert matched == [
        o for o in _classifier(index).classify_lines(read_lines([str(APACHE_LOG)])) if type(o) is MatchedHit
    ]
    assert len(matched) > 0


def test_a_block_with_an_odd_line_is_parsed_line_by_line() -> None:
    """An escaped quote, a line the fast expression does not take, a blank line: the block's
    rows are those of its lines one by one (the odd line's own fields, or its reason)."""
    plain = '192.0.2.1 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 5 "-" "agent"\n'
    escaped = '192.0.2.2 - - [17/May/2015:10:05:04 +0000] "GET / HTTP/1.1" 200 5 "-" "say \\"hi\\""\n'
    rows = RowParser(make_line_parser(LogSettings()))
    got = list(rows.of_blocks([plain + escaped + "\n" + "garbage\n" + plain]))
    assert [row[0] for row in got] == [plain, escaped, "\n", "garbage\n", plain]
    assert got[1][2:] == (
        "192.0.2.2",
        "17/May/2015:10:05:04 +0000",
        "GET / HTTP/1.1",
        "200",
        "5",
        "-",
        'say \\"hi\\"',
        "",
    )
    assert got[2][1] is MALFORMED and got[2][2] == Malformed(MalformedReason.EMPTY)
    assert got[3][1] is MALFORMED and got[3][2] == Malformed(MalformedReason.UNRECOGNIZED)
    assert got == list(rows.of_lines([plain, escaped, "\n", "garbage\n", plain]))


def test_a_block_is_searched_in_ranges_and_a_range_with_a_broken_line_is_parsed_line_by_line() -> None:
    """A block is searched ~``SEARCH_CHARS`` at a time: a range holding a line cut inside a field
    is parsed line by line, the ranges after it only if they hold their lines' share of quotes
    and brackets, and a plain line longer than a range is searched alone. Every row is the one
    its line gives alone, wherever the ranges fall."""
    plain = '192.0.2.1 - - [17/May/2015:10:05:03 +0000] "GET /a HTTP/1.1" 200 5 "-" "agent"\n'
    long_agent = plain.replace('"agent"', '"' + "a" * (3 * SEARCH_CHARS) + '"')
    no_bracket = plain.replace("+0000]", "+0000")
    no_quote = plain[:-2] + "\n"
    lines = [plain] * 40 + [long_agent] + [plain] * 40 + [no_bracket, no_quote] * 3 + [plain] * 300 + ["a b c [\n"] * 50
    lines += [plain] * 100
    block = "".join(lines)
    assert len(block) <= BLOCK_CHARS
    rows = RowParser(make_line_parser(LogSettings()))
    got = list(rows.of_blocks([block]))
    assert got == list(rows.of_lines(lines))
    assert [row[0] for row in got] == lines
    broken = [row[0] for row in got if row[1] is MALFORMED]
    assert broken == [no_bracket, no_quote] * 3 + ["a b c [\n"] * 50
    assert got[40][8] == "a" * (3 * SEARCH_CHARS)


def test_blocks_hold_whole_lines_and_an_over_long_line_comes_alone_cut_as_lines_cut_it() -> None:
    line = b'192.0.2.1 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 5 "-" "agent"\n'
    at_limit = b"x" * (MAX_LINE_CHARS - 1) + b"\n"  # MAX_LINE_CHARS characters with its newline
    over_by_its_newline = b"y" * MAX_LINE_CHARS + b"\n"
    long = b"z" * (3 * BLOCK_CHARS) + b"\n"
    data = line * 1000 + at_limit + line + over_by_its_newline + long + line * 2000 + b"no newline at the end"
    blocks = _blocks_of(data)
    assert all(len(block) <= BLOCK_CHARS for block in blocks)
    # every block ends at a line's end but the over-long line's cut beginning, alone, and the last
    assert [block for block in blocks[:-1] if not block.endswith("\n")] == ["z" * BLOCK_CHARS]
    assert blocks[-1].endswith("no newline at the end")
    assert [line for block in blocks for line in lines_of(block)] == _lines_of(data)
    rows = RowParser(make_line_parser(LogSettings()))
    reasons = [row[2].reason for row in rows.of_blocks(blocks) if row[1] is MALFORMED]
    assert reasons == [
        MalformedReason.UNRECOGNIZED,  # x…x
        MalformedReason.TOO_LONG,  # y…y and its newline
        MalformedReason.TOO_LONG,  # z…z cut
        MalformedReason.UNRECOGNIZED,  # the last line
    ]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                [
                    b'203.0.113.9 - - [01/Dec/2026:09:00:00 +0900] "GET /pricing HTTP/1.1" 200 512 "-" "Mozilla/5.0"',
                    b'203.0.113.9 - - [01/Dec/2026:09:00:01 +0900] "GET /a\\"b HTTP/1.1" 200 512 "-" "x"',
                    "\u682a\u5f0f\u4f1a\u793e".encode() * 5,
                    b"\xff\xfe broken",
                    b"\r",
                    b"",
                ]
            ),
            st.binary(max_size=40),
            st.integers(MAX_LINE_CHARS - 2, MAX_LINE_CHARS + 2).map(lambda n: "\u3042".encode() * n),
        ),
        max_size=12,
    ),
    st.booleans(),
    st.sampled_from(["utf-8", "cp932"]),
)
def test_any_bytes_read_by_blocks_give_the_lines_and_rows_of_reading_them_line_by_line(
    pieces: list[bytes], final_newline: bool, encoding: str
) -> None:
    data = b"\n".join(pieces) + (b"\n" if final_newline else b"")
    blocks = _blocks_of(data, encoding)
    lines = _lines_of(data, encoding)
    assert [line for block in blocks for line in lines_of(block)] == lines
    rows = RowParser(make_line_parser(LogSettings()))
    assert list(rows.of_blocks(blocks)) == list(rows.of_lines(lines))


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> AccountIndex:
    """The CLI tests' accounts: some of the Apache sample's visitors are theirs."""
    path = tmp_path_factory.mktemp("accounts") / "accounts.csv"
    path.write_text(ACCOUNTS, encoding="utf-8")
    return AccountIndex(load_accounts(str(path)))


def _classifier(index: AccountIndex) -> HitClassifier:
    resolvers = ResolverChain([AccountNetworkResolver(index), MaxMindResolver.from_paths([mmdb("GeoIP2-ISP-Test")])])
    return HitClassifier(Settings(), index, resolvers)


class _CountingReader(io.RawIOBase):
    """Bytes handed out as asked, each request's size written down."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.requests: list[int] = []

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        self.requests.append(len(buffer))
        return self._data.readinto(buffer)


@pytest.mark.parametrize("encoding", ["iso2022_jp", "hz", "utf-8"])
def test_blocks_are_read_in_small_chunks_whatever_the_encoding(encoding: str) -> None:
    """Escapes that decode to no character made ``TextIOWrapper.read(n)`` ask for 2 GiB at once
    (611 MB of memory on a 297 MB ISO-2022-JP file); the reader asks 8 KiB at a time, as
    ``readline`` did, and gives the same lines."""
    escape = b"\x1b(B" if encoding.startswith("iso2022") else b"~~"
    data = (escape * 21845 + b"a\n") * 40
    counting = _CountingReader(data)
    blocks = list(text_blocks(io.BufferedReader(counting, 1 << 16), encoding))
    assert max(counting.requests) <= 1 << 16 and sum(1 for _ in blocks) >= 1
    assert [line for block in blocks for line in lines_of(block)] == _lines_of(data, encoding)


def test_an_iso_2022_sequence_fails_where_it_fails_line_by_line(tmp_path: Path) -> None:
    """The ISO-2022 decoders refuse some sequences or not depending on where the bytes are cut;
    fed the chunks ``readline`` feeds them, the blocks give the same lines and the same refusal,
    told as bad input."""
    sequence = b"\x1b((!\xfe\xc3\x1b$)C!!+\x0e"  # found by the reviewer's fuzzing
    log = tmp_path / "iso.log"
    outcomes = set()
    for shift in range(len(sequence)):
        log.write_bytes(b"a" * (BLOCK_CHARS - shift - 1) + b"\n" + sequence + b"\n")
        got = []
        for reader in (read_lines, read_blocks):
            lines: list[str] = []
            try:
                for piece in reader([str(log)], "iso2022_jp_ext"):
                    lines.extend(lines_of(piece) if reader is read_blocks else [piece])
                error = ""
            except BadInput as refused:  # the decoder's refusal, naming the file
                error = str(refused)
            got.append((lines, error))
        assert got[0] == got[1]
        outcomes.add(bool(got[0][1]))
    assert outcomes == {True, False}  # some cuts are refused, some not: the cuts are what is compared


def test_a_damaged_gzip_gives_the_lines_before_the_damage_as_line_by_line(tmp_path: Path) -> None:
    line = b'192.0.2.1 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 5 "-" "agent"\n'
    packed = gzip.compress(line * 5000)
    damaged = tmp_path / "access.log.gz"
    damaged.write_bytes(packed[: len(packed) * 3 // 4])
    counts = []
    for reader in (read_lines, read_blocks):
        count = 0
        with pytest.raises(BadInput, match="gzip data ends early"):
            for piece in reader([str(damaged)]):
                count += len(lines_of(piece)) if reader is read_blocks else 1
        counts.append(count)
    assert counts[0] == counts[1] and 0 < counts[0] < 5000


def test_stdin_is_read_a_line_at_a_time_as_lines_come(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replay of a pipe classifies a line when it comes, not once a block's worth has come."""
    read_end, write_end = os.pipe()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(os.fdopen(read_end, "rb")))
    first_seen = threading.Event()

    def write() -> None:
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(b"first line\n")
            pipe.flush()
            first_seen.wait(10)
            pipe.write(b"second line\n")

    writer = threading.Thread(target=write)
    writer.start()
    blocks = read_blocks(["-"])
    assert next(blocks) == "first line\n"
    first_seen.set()
    assert list(blocks) == ["second line\n"]
    writer.join()
