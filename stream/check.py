"""``revisit logs check``: which format a log is in, how much of it parses, and why the rest does not.

Detection tries every named format on the first lines (a fresh parser each, so W3C directives are
seen in order) and keeps the one that reads the most; "auto" wins only when no single format reads
as many lines, as in a file that mixes layouts.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from revisit.core.config import LogSettings
from revisit.core.hit import Malformed, MalformedReason, RawFields
from revisit.stream.fields import TimestampParser, split_request, zone_named
from revisit.stream.formats import FORMAT_NAMES, LineParser, make_line_parser
from revisit.stream.jsonlogs import unwrap_container_line
from revisit.stream.sources import read_lines

SAMPLE_LINES = 1000
EXAMPLES_PER_REASON = 2


@dataclass
class LogCheck:
    """What ``logs check`` found over the files."""

    settings: LogSettings  # the settings the counts were made with (detected or configured)
    detected: LogSettings  # what detection picked over the first lines
    configured_fails: bool  # a configured (non-auto) format read under half of the first lines
    lines: int = 0
    parsed: int = 0
    malformed: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)  # MalformedReason.NOT_DATA: no data, no fault
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def data_lines(self) -> int:
        return self.lines - sum(self.skipped.values())

    @property
    def nothing_read(self) -> bool:
        """No line parsed, for either reason: none is data, or none of the data parses (exit 2)."""
        return self.parsed == 0

    @property
    def unreadable(self) -> bool:
        """Lines that are data, none of them parsed with the settings used: ``revisit logs check``
        exits 2 (and proposes a config only when another format reads some of them)."""
        return self.data_lines > 0 and self.parsed == 0

    def parsed_share(self) -> str:
        """The share parsed in percent, rounded DOWN to one decimal: 9,999 of 10,000 is "99.9",
        never "100.0" while a line failed."""
        if not self.data_lines:
            return "0.0"
        tenths = 1000 * self.parsed // self.data_lines
        return f"{tenths // 10}.{tenths % 10}"


def outcome_of(parser: LineParser, timestamps: TimestampParser, line: str) -> str:
    """``ok`` or the reason a line is not a hit's raw material (as replay counts it)."""
    raw = parser.split(line)
    if isinstance(raw, Malformed):
        return raw.reason
    assert isinstance(raw, RawFields)
    if timestamps.parse(raw.timestamp) is None:
        return "bad_timestamp"
    if split_request(raw.request) is None:
        return "bad_request"
    return "ok"


def _parsed_count(settings: LogSettings, lines: Sequence[str]) -> int:
    parser = make_line_parser(settings)
    timestamps = TimestampParser(zone_named(settings.timezone))
    return sum(outcome_of(parser, timestamps, line) == "ok" for line in lines)


def detect(lines: Sequence[str], base: LogSettings) -> tuple[LogSettings, int]:
    """The settings that read the most of ``lines`` (ties: the more specific name), and that count."""
    container = "none"
    for line in lines:
        if line.strip():
            if unwrap_container_line(line) is not None:
                container = "cri" if not line.startswith("{") else "docker"
            break
    best, best_count = dataclasses.replace(base, format="auto", container="none"), -1
    for name in (*(n for n in FORMAT_NAMES if n != "auto"), "auto"):
        candidate = dataclasses.replace(base, format=name, container="none" if name == "auto" else container)
        count = _parsed_count(candidate, lines)
        if count > best_count:
            best, best_count = candidate, count
    return best, best_count


def check_logs(paths: Sequence[str], settings: LogSettings, sample_lines: int = SAMPLE_LINES) -> LogCheck:
    first = list(itertools.islice(read_lines(paths, settings.encoding), sample_lines))
    detected, detected_count = detect(first, settings)
    configured = settings.format != "auto"
    configured_count = _parsed_count(settings, first) if configured else detected_count
    configured_fails = configured and 2 * configured_count < len(first) and detected_count > configured_count
    used = settings if configured else detected
    check = LogCheck(used, detected, configured_fails)
    _tally(check, read_lines(paths, settings.encoding))
    return check


def _tally(check: LogCheck, lines: Iterable[str]) -> None:
    parser = make_line_parser(check.settings)
    timestamps = TimestampParser(zone_named(check.settings.timezone))
    for line in lines:
        check.lines += 1
        outcome = outcome_of(parser, timestamps, line)
        if outcome == "ok":
            check.parsed += 1
            continue
        if outcome in MalformedReason.NOT_DATA:
            check.skipped[outcome] += 1
            continue
        check.malformed[outcome] += 1
        examples = check.examples.setdefault(outcome, [])
        if len(examples) < EXAMPLES_PER_REASON:
            examples.append(line.rstrip("\r\n")[:300])


def config_lines(settings: LogSettings) -> list[str]:
    """The ``[log]`` keys that reproduce these settings (only those that differ from the defaults)."""
    default = LogSettings()
    lines = ["[log]"]
    for key in ("format", "encoding", "container", "timezone"):
        value = getattr(settings, key)
        if key == "format" or value != getattr(default, key):
            lines.append(f"{key} = {_toml_string(value)}")
    return lines


def _toml_string(value: str) -> str:
    if "\n" in value or "'" in value:
        return '"""' + value.replace("\\", "\\\\").replace('"""', '\\"""') + '"""'
    return f"'{value}'" if '"' in value or "\\" in value else f'"{value}"'


@dataclass(frozen=True)
class LogCheckWords:
    """The words of ``render`` in one language (English here; the Japanese ones are the
    application's, ``revisit.app.log_check_words``): templates for ``str.format`` and the names of
    the reasons lines were not read for (else the reason's code)."""

    format: str = "format: {name}"
    configured_string: str = "the configured log.format string"
    warning: str = "warning: log.format {format!r} reads under half of the first lines; auto would pick: {detected}"
    counts: str = (
        "lines {lines:,}  parsed {parsed:,} ({share} % of {data:,} lines that are not empty or comments)  "
        "malformed {malformed:,}"
    )
    skipped: str = "skipped (no data): {items}"
    unreadable: str = "no line parses with any known format: no [log] config to propose (see log.format in README)"
    empty: str = "no line to check: the files hold no data (empty, or comments only): no [log] config to propose"
    config: str = "config:"
    separator: str = ", "
    names: Mapping[str, str] = field(default_factory=dict)

    def named(self, reason: str, count: int) -> str:
        return f"{self.names.get(reason, reason)} {count:,}"


def render(check: LogCheck, words: LogCheckWords = LogCheckWords()) -> list[str]:
    """The report, one line per item, for a person setting revisit up."""
    name = check.settings.format
    out = [words.format.format(name=name if name in FORMAT_NAMES else words.configured_string)]
    if check.configured_fails:
        out.append(words.warning.format(format=check.settings.format, detected=check.detected.format))
    out.append(
        words.counts.format(
            lines=check.lines,
            parsed=check.parsed,
            share=check.parsed_share(),
            data=check.data_lines,
            malformed=sum(check.malformed.values()),
        )
    )
    if check.skipped:
        items = words.separator.join(words.named(k, v) for k, v in sorted(check.skipped.items()))
        out.append(words.skipped.format(items=items))
    for reason, count in check.malformed.most_common():
        out.append(f"  {words.named(reason, count)}")
        out.extend(f"    {example}" for example in check.examples.get(reason, []))
    if not check.data_lines:
        out.append(words.empty)
        return out
    if check.unreadable and not check.configured_fails:
        out.append(words.unreadable)
        return out
    out.append(words.config)
    out.extend(
        f"  {line}" for line in config_lines(check.settings if check.configured_fails is False else check.detected)
    )
    return out
