"""Lines as rows of their fields, the shape the classifier's loop unpacks:
``(line, vhost, client, time, request, status, size, referrer, agent, forwarded)``, or for a line
that does not parse ``(line, MALFORMED, its Malformed reason, None, ...)``.

Files are parsed a block of whole lines at a time (``sources.text_blocks``): one ``findall`` of
the parser's fast expression, anchored at every line's start, gives the rows of a whole block as
tuples straight from the regular expression engine. Reading and parsing the 1,000,000-line replay
bench took 1.42-1.56 µs a line this way against 1.82 µs line by line (``readline``, ``match``,
``groups``). A block is parsed line by line, exactly as ``RowParser.of_lines`` parses lines,
unless every line of it is plain: ended by a newline, within the length limit, without an escaped
quote, and taken by the fast expression. The rows are the same either way.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final, final

from revisit.core.hit import Malformed
from revisit.stream.formats import MAX_LINE_CHARS, LineParser

Row = tuple[Any, ...]


@final
class _MalformedMark:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MALFORMED"


MALFORMED: Final = _MalformedMark()  # in a row's vhost place: the line did not parse
_NO_FIELDS = (None,) * 7


class RowParser:
    """A ``LineParser``'s rows of lines (``of_lines``) or of blocks of whole lines (``of_blocks``)."""

    def __init__(self, parser: LineParser) -> None:
        self._split = parser.split
        fast = parser.fast_pattern
        self._fast_match = fast.match if fast is not None else None
        block = _block_pattern(fast) if fast is not None else None
        self._block_findall = block.findall if block is not None else None

    def of_lines(self, lines: Iterable[str]) -> Iterator[Row]:
        fast_match, split = self._fast_match, self._split
        for line in lines:
            # the fast pattern would take any length; the parser refuses over-long lines
            match = fast_match(line) if fast_match is not None and len(line) <= MAX_LINE_CHARS else None
            if match is not None and '\\"' not in line:
                yield (line, *match.groups())
                continue
            parsed = split(line)
            yield (line, MALFORMED, parsed, *_NO_FIELDS) if type(parsed) is Malformed else (line, *parsed)

    def of_blocks(self, blocks: Iterable[str]) -> Iterator[Row]:
        return itertools.chain.from_iterable(map(self._rows_of_block, blocks))

    def _rows_of_block(self, block: str) -> Sequence[Row]:
        findall = self._block_findall
        if findall is not None and len(block) <= MAX_LINE_CHARS and block[-1:] == "\n" and '\\"' not in block:
            rows = findall(block)
            # A match starts at a line's start and ends with a newline, so as many matches as
            # lines means each line was matched alone, with the groups its own match gives.
            if len(rows) == block.count("\n"):
                return rows
        return list(self.of_lines(lines_of(block)))


def lines_of(block: str) -> list[str]:
    """The lines of a block, each with its newline (the last one may have none)."""
    pieces = block.split("\n")
    last = pieces.pop()
    lines = [piece + "\n" for piece in pieces]
    if last:
        lines.append(last)
    return lines


def _block_pattern(fast: re.Pattern[str]) -> re.Pattern[str] | None:
    """The fast expression over a block: at every line's start, the whole line (its newline too)
    as the first group, then the fast expression's own groups. None for an expression that is not
    anchored at the start or refers to its groups by number (they would shift)."""
    if not fast.pattern.startswith("^") or re.search(r"\\[1-9]|\(\?P=", fast.pattern):
        return None
    return re.compile("^((?:" + fast.pattern[1:] + ")\n)", fast.flags | re.MULTILINE)
