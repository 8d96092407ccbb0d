"""Reading log lines from files, gzip files and stdin (replay mode).

Bytes that are not of ``log.encoding`` (UTF-8 by default) are replaced, not fatal: such a line is
then counted as malformed ("binary") by the parser and the run goes on. Lines end at "\n" only (a
stray "\r" stays inside its line), the same in every reader, so a file split across processes reads the same.

No line is ever held whole past the parser's limit: every reader reads at most
``MAX_LINE_CHARS + 1`` characters of a line (``MAX_LINE_BYTES`` bytes where lines are read as
bytes), hands that cut beginning on (the parser counts it as malformed, ``too_long``) and drops
the rest up to the newline in bounded chunks. Reading a line whole, a 2 MB gzip holding one
2 GiB line took replay to 4.3 GB of memory.
"""

from __future__ import annotations

import codecs
import gzip
import io
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Protocol

from revisit.core.errors import BadInput
from revisit.stream.formats import MAX_LINE_CHARS

# A line of up to MAX_LINE_CHARS characters always fits (UTF-8 takes at most 4 bytes a character);
# a line that does not fit is over MAX_LINE_CHARS characters however its bytes decode, so the cut
# beginning is refused as too long exactly as the whole line would be.
MAX_LINE_BYTES = 4 * MAX_LINE_CHARS + 1
SKIP_CHUNK_BYTES = 1 << 20  # the rest of an over-long line is dropped this much at a time
SKIP_CHUNK_CHARS = 1 << 18


class LineReader(Protocol):
    """A binary stream read line by line with a limit: a file, a ``GzipFile``, ``stdin.buffer``."""

    def readline(self, size: int = -1, /) -> bytes: ...


def is_cut(line: bytes) -> bool:
    """Whether ``readline(MAX_LINE_BYTES)`` stopped at the limit rather than at a line's end."""
    return len(line) >= MAX_LINE_BYTES and not line.endswith(b"\n")


def skip_rest_of_line(handle: LineReader) -> tuple[int, bool]:
    """Drop bytes up to and including the next newline: (bytes dropped, whether a newline came)."""
    dropped = 0
    while chunk := handle.readline(SKIP_CHUNK_BYTES):
        dropped += len(chunk)
        if chunk.endswith(b"\n"):
            return dropped, True
    return dropped, False


def check_log_paths(paths: Sequence[str]) -> None:
    """Fail before any work (and any database write) if a named log cannot be read."""
    for path in paths:
        if path == "-":
            continue
        file = Path(path)
        if not file.exists():
            raise BadInput.of("{path}: log file not found", path=path)
        if not file.is_file():
            raise BadInput.of("{path}: not a regular file", path=path)
        try:
            with open(file, "rb") as handle:
                head = handle.read(2)
        except OSError as error:
            raise BadInput.of("{path}: cannot read ({reason})", path=path, reason=error.strerror) from None
        if path.endswith(".gz") and head != b"\x1f\x8b":
            raise BadInput.of("{path}: named .gz but not gzip data", path=path)


def decoded_lines(handle: IO[bytes] | gzip.GzipFile, encoding: str, owned: bool = False) -> Iterator[str]:
    """The lines of a binary stream decoded as they are read, an over-long one cut after
    ``MAX_LINE_CHARS + 1`` characters (the rest dropped): it is refused as too long either way.

    Decoded by the stream (``io.TextIOWrapper``, newlines left as they are) rather than line by
    line: 0.25 µs a line against 0.7 µs for ``readline`` in bytes and a ``decode`` per line (the
    1,000,000-line replay bench), the same text for every line that fits. The wrapper is detached
    at the end, so the caller's handle stays the caller's to close, unless ``owned``: then it is
    closed here."""
    text = io.TextIOWrapper(handle, encoding=encoding, errors="replace", newline="\n")
    readline = text.readline
    try:
        while line := readline(MAX_LINE_CHARS + 1):
            if len(line) > MAX_LINE_CHARS and not line.endswith("\n"):
                while (rest := readline(SKIP_CHUNK_CHARS)) and not rest.endswith("\n"):
                    pass
            yield line
    finally:
        if owned:
            text.close()
        else:
            text.detach()


BLOCK_CHARS = MAX_LINE_CHARS + 1  # a block of ``text_blocks`` holds whole lines up to this many characters
# What ``io.TextIOWrapper.readline`` hands its decoder at a time (``read1`` of 8 KiB): fed the same
# chunks, the decoder gives ``decoded_lines``' text, and fails where it fails, in every encoding.
_DECODE_CHUNK_BYTES = 8192


def text_blocks(handle: IO[bytes] | gzip.GzipFile, encoding: str, owned: bool = False) -> Iterator[str]:
    """The stream's text in blocks of whole lines: the lines of ``decoded_lines``, joined.

    Replay reads files this way: one regular expression over a block parses all its lines
    (``stream.rows``), and reading costs 0.10-0.15 µs a line against 0.26-0.38 µs for ``readline``
    (the 1,000,000-line bench). A block holds at most ``BLOCK_CHARS`` characters, so no line in it is
    over the parser's limit unless it is the block's only line; an over-long line comes alone, cut
    after ``MAX_LINE_CHARS + 1`` characters with the rest dropped, as ``decoded_lines`` cuts it.
    The last block ends without a newline when the stream does. Bytes are read 8 KiB at a time
    whatever the encoding (``TextIOWrapper.read(n)`` asked an ISO-2022-JP file for 2 GiB at once).
    When reading fails (a damaged gzip file), the whole lines read before are handed on first."""
    read = getattr(handle, "read1", handle.read)
    decode = codecs.getincrementaldecoder(encoding)(errors="replace").decode
    parts: list[str] = []  # text not handed on yet, less than BLOCK_CHARS of it
    size = 0
    skipping = False  # inside an over-long line whose cut beginning was handed on
    try:
        while True:
            try:
                data = read(_DECODE_CHUNK_BYTES)
                text = decode(data, not data)
            except Exception:
                before = "".join(parts)
                if whole := before[: before.rfind("\n") + 1]:
                    yield whole
                raise
            if skipping:
                end = text.find("\n")
                if end >= 0:
                    text, skipping = text[end + 1 :], False
                else:
                    text = ""
            if text:
                parts.append(text)
                size += len(text)
            if size >= BLOCK_CHARS or (not data and parts):
                pending = "".join(parts)
                while len(pending) >= BLOCK_CHARS:
                    cut = pending.rfind("\n", 0, BLOCK_CHARS) + 1
                    if cut:
                        yield pending[:cut]
                        pending = pending[cut:]
                        continue
                    yield pending[:BLOCK_CHARS]  # a line over the limit: its cut beginning
                    end = pending.find("\n", BLOCK_CHARS)
                    pending, skipping = (pending[end + 1 :], False) if end >= 0 else ("", True)
                if not data:
                    if pending:
                        yield pending
                    return
                parts, size = ([pending], len(pending)) if pending else ([], 0)
            elif not data:
                return
    finally:
        if owned:
            handle.close()


def read_lines(paths: Sequence[str], encoding: str = "utf-8") -> Iterator[str]:
    """The lines of the files in ``log.encoding`` (CP932 and EUC-JP logs of Japanese IIS and Apache
    servers); bytes that are not of the encoding are replaced, so the line counts as malformed."""
    return _read(paths, encoding, decoded_lines)


def read_blocks(paths: Sequence[str], encoding: str = "utf-8") -> Iterator[str]:
    """The files' text in blocks of whole lines (``text_blocks``), read like ``read_lines``; stdin
    a line at a time (a line is a block too), so that a pipe's lines are classified as they come."""
    return _read(paths, encoding, text_blocks)


def _read(
    paths: Sequence[str], encoding: str, reader: Callable[[IO[bytes] | gzip.GzipFile, str], Iterator[str]]
) -> Iterator[str]:
    for path in paths:
        if path == "-":
            yield from decoding_failures_named(decoded_lines(sys.stdin.buffer, encoding), "stdin", encoding)
        elif path.endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                try:
                    yield from decoding_failures_named(reader(handle, encoding), path, encoding)
                except (EOFError, zlib.error, gzip.BadGzipFile) as error:  # lines read so far were processed
                    raise BadInput(f"{path}: gzip data ends early or is damaged ({error})") from None
        else:
            with open(path, "rb") as handle:
                yield from decoding_failures_named(reader(handle, encoding), path, encoding)


def decoding_failures_named(texts: Iterator[str], path: str, encoding: str) -> Iterator[str]:
    """The texts, and a decoder's refusal as bad input naming the file. Bad bytes are replaced,
    but some decoders refuse a stream outright (UTF-16 without its byte-order mark, an ISO-2022
    escape they cannot hold): a traceback before."""
    try:
        yield from texts
    except UnicodeError as error:
        raise BadInput(
            f"{path}: cannot be read as {encoding} ({error}); set log.encoding to the file's encoding"
        ) from None


def newline_is_one_byte(encoding: str) -> bool:
    """Whether the encoding writes a newline as the byte ``\n`` alone (not UTF-16 or UTF-32),
    after whatever it writes first (UTF-8's signature)."""
    try:
        encoder = codecs.getincrementalencoder(encoding)()
        encoder.encode("a")
        return encoder.encode("\n") == b"\n"
    except (LookupError, UnicodeError):
        return False
