"""Lines as rows of their fields, the shape the classifier's loop unpacks:
``(line, vhost, client, time, request, status, size, referrer, agent, forwarded)``, or for a line
that does not parse ``(line, MALFORMED, its Malformed reason, None, ...)``.

Files are parsed a block of whole lines at a time (``sources.text_blocks``): one ``findall`` of
the parser's block expression (its fast expression anchored at every line's start, each line
whole as the first group) over a range of ~2 KiB of whole lines gives their rows as tuples
straight from the regular expression engine. Reading and parsing the 1,000,000-line replay bench
took 1.42-1.56 µs a line with whole blocks searched (against 1.82 µs line by line: ``readline``,
``match``, ``groups``), a quarter less again in ranges (``SEARCH_CHARS``). A range is parsed line by line, exactly as
``RowParser.of_lines`` parses lines, unless every line of it is plain: ended by a newline, within
the length limit, without an escaped quote, and taken by the fast expression. The rows are the
same either way.
"""

from __future__ import annotations

import itertools
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
# Characters searched by one ``findall``. A line cut inside a quoted field or the time has the search
# run on to the next quote or ``]``, at each line start, so a range of such lines costs its length
# squared: ``a b c [`` lines took 303 µs a line searched in blocks of 64 Ki characters. In ranges of
# this size, and with the ranges after one that was not all plain searched only if they hold their
# lines' share of quotes and brackets, such files take what line by line takes (7-25 µs a line);
# counting them in every range first cost 0.2 µs a line of every file. Reading and parsing 300,000
# of the replay bench's lines: 0.83-0.90 µs a line against 1.12-1.26 in whole blocks counted first
# (alternating in one process).
SEARCH_CHARS = 2048
# in a combined line of ``auto`` (``AutoClfParser``, the only parser with a block pattern): its three
# quoted fields; and its time's ``]``
QUOTES_PER_LINE = 6
_NO_FIELDS = (None,) * 7


class RowParser:
    """A ``LineParser``'s rows of lines (``of_lines``) or of blocks of whole lines (``of_blocks``)."""

    def __init__(self, parser: LineParser) -> None:
        self._split = parser.split
        fast, block = parser.fast_pattern, parser.block_pattern
        self._fast_match = fast.match if fast is not None else None
        self._block_findall = block.findall if block is not None and fast is not None else None

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
        # ``"\\" in`` is a memchr (0.01 µs a line of the bench), ``'\\"' in`` a search that stops at
        # every quote (0.22 µs a line): the second is asked only of a block with a backslash
        if findall is None or len(block) > MAX_LINE_CHARS or block[-1:] != "\n" or ("\\" in block and '\\"' in block):
            return list(self.of_lines(lines_of(block)))
        rows: list[Row] = []
        start, end = 0, len(block)
        guarded = False  # after a range that was not all plain: the next ones are counted before the search
        while start < end:
            # whole lines of about SEARCH_CHARS (a longer line alone)
            cut = block.rfind("\n", start, start + SEARCH_CHARS) + 1 or block.find("\n", start + SEARCH_CHARS) + 1
            lines = block.count("\n", start, cut)
            if not guarded or (
                block.count('"', start, cut) >= QUOTES_PER_LINE * lines and block.count("]", start, cut) >= lines
            ):
                found = findall(block, start, cut)
                # A match starts at a line's start and ends with a newline, so as many matches as
                # lines means each line was matched alone, with the groups its own match gives.
                if len(found) == lines:
                    rows += found
                    start = cut
                    continue
                guarded = True
            rows += self.of_lines(lines_of(block[start:cut]))
            start = cut
        return rows


def lines_of(block: str) -> list[str]:
    """The lines of a block, each with its newline (the last one may have none)."""
    pieces = block.split("\n")
    last = pieces.pop()
    lines = [piece + "\n" for piece in pieces]
    if last:
        lines.append(last)
    return lines
