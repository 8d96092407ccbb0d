"""Bounded input: one enormous line (a 512 MiB line packs into a gzip of about half a megabyte) is
counted as malformed and skipped by replay from a gzip, a plain file cut into ranges and stdin,
and memory stays bounded while it is read: no line is held whole past the parser's limit."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from revisit.stream.formats import MAX_LINE_CHARS
from revisit.stream.sources import MAX_LINE_BYTES, read_lines
from tests.conftest import APACHE_LOG, mmdb
from tests.test_cli import ACCOUNTS, CONFIG

GIANT_LINE_BYTES = 512 << 20
PEAK_RSS_LIMIT = 400 << 20
HEAD = APACHE_LOG.read_bytes().splitlines(keepends=True)[:200]


def write_with_giant_line(path: Path, opener=gzip.open) -> None:
    """100 log lines, one line of 512 MiB of ``a``, 100 log lines: written in chunks, never whole."""
    chunk = b"a" * (1 << 20)
    with opener(path, "wb") as out:
        out.writelines(HEAD[:100])
        for _ in range(GIANT_LINE_BYTES // len(chunk)):
            out.write(chunk)
        out.write(b"\n")
        out.writelines(HEAD[100:])


# The command runs under a small launcher: a process forked from the test process itself starts
# with the test process's pages counted in its ru_maxrss (a high-water mark from the fork on),
# which late in the suite is 400 MB of pytest, not of the command.
_LAUNCHER = (
    "import os, subprocess, sys\n"
    "process = subprocess.Popen(sys.argv[2:])\n"
    "_pid, status, usage = os.wait4(process.pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def run_measured(command: list[str], stdin=None, env: dict[str, str] | None = None) -> tuple[int, str, str, int]:
    """Exit code, stdout, stderr, and the peak resident memory in bytes of the command (with the
    processes it forked and waited for)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryDirectory() as folder:
        peak_file = Path(folder) / "peak"
        launcher = [sys.executable, "-c", _LAUNCHER, str(peak_file), *command]
        code = subprocess.run(launcher, stdin=stdin, stdout=out, stderr=err, env=env, check=False).returncode
        out.seek(0)
        err.seek(0)
        return code, out.read().decode(), err.read().decode(), int(peak_file.read_text()) * 1024


def replay_command(tmp_path: Path, log: str, name: str) -> list[str]:
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    (tmp_path / "revisit.toml").write_text(CONFIG, encoding="utf-8")
    return [
        sys.executable,
        "-m",
        "revisit",
        "replay",
        log,
        "--accounts",
        str(tmp_path / "accounts.csv"),
        "--config",
        str(tmp_path / "revisit.toml"),
        "--db",
        f"sqlite:///{tmp_path / name}.sqlite",
        "--mmdb",
        mmdb("GeoIP2-ISP-Test"),
        "--locale",
        "en",
    ]


def summary_numbers(output: str) -> dict[str, int]:
    first = next(line for line in output.splitlines() if line.startswith("lines "))
    return {name: int(value.replace(",", "")) for name, value in re.findall(r"(\w+) ([\d,]+)", first)}


def expected_numbers(tmp_path: Path) -> dict[str, int]:
    """The 200 log lines alone, plus the giant line as one more malformed line."""
    control = tmp_path / "control.log"
    control.write_bytes(b"".join(HEAD))
    result = subprocess.run(replay_command(tmp_path, str(control), "control"), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    numbers = summary_numbers(result.stdout)
    assert numbers["lines"] == 200 and numbers["parsed"] == 200
    return {**numbers, "lines": 201, "malformed": numbers["malformed"] + 1}


def test_the_readers_cut_an_over_long_line_and_drop_the_rest_of_it(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"first\n" + b"\xe3\x81\x82" * MAX_LINE_BYTES + b"\nlast")
    lines = list(read_lines([str(log)]))
    assert lines[0] == "first\n" and lines[2] == "last"
    assert len(lines) == 3 and lines[1] == "\u3042" * (MAX_LINE_CHARS + 1)  # the cut beginning: too long


def test_replay_of_a_gzip_holding_one_512_mib_line_stays_small(tmp_path: Path) -> None:
    packed = tmp_path / "giant.log.gz"
    write_with_giant_line(packed)
    assert packed.stat().st_size < 2 << 20
    code, output, errors, peak = run_measured(replay_command(tmp_path, str(packed), "gz"))
    assert code == 0, errors
    assert summary_numbers(output) == expected_numbers(tmp_path)
    assert "malformed: too long 1" in output
    assert peak < PEAK_RSS_LIMIT, f"peak RSS {peak / 2**20:.0f} MiB"


def test_replay_from_stdin_of_one_512_mib_line_stays_small(tmp_path: Path) -> None:
    packed = tmp_path / "giant.log.gz"
    write_with_giant_line(packed)
    unpacking = subprocess.Popen(["gzip", "-dc", str(packed)], stdout=subprocess.PIPE)
    code, output, errors, peak = run_measured(replay_command(tmp_path, "-", "stdin"), stdin=unpacking.stdout)
    unpacking.stdout.close()
    assert unpacking.wait() == 0
    assert code == 0, errors
    assert summary_numbers(output) == expected_numbers(tmp_path)
    assert "malformed: too long 1" in output
    assert peak < PEAK_RSS_LIMIT, f"peak RSS {peak / 2**20:.0f} MiB"


def test_parallel_replay_of_a_plain_file_with_one_512_mib_line_stays_small(tmp_path: Path) -> None:
    plain = tmp_path / "giant.log"
    write_with_giant_line(plain, opener=open)
    # two worker processes: the cut between their ranges falls inside the giant line
    environment = {**os.environ, "REVISIT_REPLAY__WORKERS": "2", "REVISIT_REPLAY__PARALLEL_MIN_MB": "1"}
    code, output, errors, peak = run_measured(replay_command(tmp_path, str(plain), "plain"), env=environment)
    plain.unlink()
    assert code == 0, errors
    assert summary_numbers(output) == expected_numbers(tmp_path)
    assert "malformed: too long 1" in output
    assert peak < PEAK_RSS_LIMIT, f"peak RSS {peak / 2**20:.0f} MiB"
