"""Lines as rows of their fields, the shape the classifier's loop unpacks:
``(line, vhost, client, time, request, status, size, referrer, agent, forwarded)``, or for a line
that does not parse ``(line, MALFORMED, its Malformed reason, None, ...)``.

Files are parsed a block of whole lines at a time (``sources.text_blocks``): one ``findall`` of
the parser's block expression (its fast expression anchored at every line's start, each line
whole as the first group) gives the rows of a whole block as tuples straight from the regular
expression engine. Reading and parsing the 1,000,000-line replay bench took 1.42-1.56 µs a line
this way against 1.82 µs line by line (``readline``, ``match``, ``groups``). A block is parsed
line by line, exactly as ``RowParser.of_lines`` parses lines, unless every line of it is plain:
ended by a newline, within the length limit, without an escaped quote, and taken by the fast
expression. The rows are the same either way.
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
# in a combined line (the only format with a block pattern): its three quoted fields; and its time's ``]``
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
        if (
            findall is not None
            and len(block) <= MAX_LINE_CHARS
            and block[-1:] == "\n"
            and ("\\" not in block or '\\"' not in block)
        ):
            lines = block.count("\n")
            # A block of lines without their share of quotes and closing brackets is not plain,
            # and not searched: on lines cut inside a field, each attempt ran to the block's end
            # (a million ``a b c [`` lines: 303 against 8.8 µs a line, line by line; 20,000 lines
            # without the time's ``]``: 321 against 11 µs).
            if block.count('"') >= QUOTES_PER_LINE * lines and block.count("]") >= lines:
                rows = findall(block)
                # A match starts at a line's start and ends with a newline, so as many matches as
                # lines means each line was matched alone, with the groups its own match gives.
                if len(rows) == lines:
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
