"""Replay on several processes gives exactly what one process gives."""

from __future__ import annotations

import json
from pathlib import Path

from revisit.cli import main
from revisit.enrichment.parallel import line_aligned_ranges, read_range
from revisit.stream.sources import read_lines
from tests.conftest import APACHE_LOG, mmdb
from tests.test_cli import ACCOUNTS, CONFIG


def test_ranges_cover_the_file_line_by_line(tmp_path: Path) -> None:
    log = tmp_path / "mixed.log"
    log.write_bytes(APACHE_LOG.read_bytes()[:200_000] + b"tail without newline \xff\xfe")
    for parts in (1, 2, 3, 7, 64):
        ranges = line_aligned_ranges(log, parts)
        assert ranges[0][0] == 0 and ranges[-1][1] == log.stat().st_size
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
        pieces = [line for start, end in ranges for line in read_range(log, start, end)]
        assert pieces == list(read_lines([str(log)]))


def test_parallel_replay_equals_sequential(tmp_path: Path, capsys) -> None:
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    (tmp_path / "revisit.toml").write_text(CONFIG + "\n[replay]\nparallel_min_mb = 0\n", encoding="utf-8")
    results = {}
    for workers in ("1", "3"):
        jsonl = tmp_path / f"alerts-{workers}.jsonl"
        assert (
            main(
                [
                    "replay",
                    str(APACHE_LOG),
                    "--accounts",
                    str(tmp_path / "accounts.csv"),
                    "--config",
                    str(tmp_path / "revisit.toml"),
                    "--db",
                    f"sqlite:///{tmp_path / workers}.sqlite",
                    "--alerts-jsonl",
                    str(jsonl),
                    "--mmdb",
                    mmdb("GeoIP2-ISP-Test"),
                    "--workers",
                    workers,
                ]
            )
            == 0
        )
        summary = [
            line
            for line in capsys.readouterr().out.splitlines()
            if line.startswith(("lines ", "  malformed", "  filtered"))
        ]
        alerts = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
        results[workers] = (summary, alerts)
    assert results["1"][0] == results["3"][0] and len(results["1"][0]) == 3
    assert results["1"][1] == results["3"][1] and len(results["1"][1]) >= 3
