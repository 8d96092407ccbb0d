"""Reading log lines from files, gzip files and stdin (replay mode).

Bytes that are not UTF-8 are replaced, not fatal: such a line is then counted as malformed
("binary") by the parser and the run goes on. Lines end at "\n" only (a stray "\r" stays inside
its line), the same in every reader, so a file split across processes reads the same.
"""

from __future__ import annotations

import gzip
import io
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from revisit.core.errors import BadInput


def check_log_paths(paths: Sequence[str]) -> None:
    """Fail before any work (and any database write) if a named log cannot be read."""
    for path in paths:
        if path == "-":
            continue
        file = Path(path)
        if not file.exists():
            raise BadInput(f"{path}: log file not found")
        if not file.is_file():
            raise BadInput(f"{path}: not a regular file")
        try:
            with open(file, "rb") as handle:
                head = handle.read(2)
        except OSError as error:
            raise BadInput(f"{path}: cannot read ({error.strerror})") from None
        if path.endswith(".gz") and head != b"\x1f\x8b":
            raise BadInput(f"{path}: named .gz but not gzip data")


def read_lines(paths: Sequence[str]) -> Iterator[str]:
    for path in paths:
        if path == "-":
            yield from io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace", newline="\n")
        elif path.endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="\n") as handle:
                try:
                    yield from handle
                except (EOFError, gzip.BadGzipFile) as error:  # lines read so far were processed
                    raise BadInput(f"{path}: gzip data ends early or is damaged ({error})") from None
        else:
            with open(path, encoding="utf-8", errors="replace", newline="\n") as handle:
                yield from handle
