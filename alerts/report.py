"""What happened after alerts: reactivation rates by tier, dormancy reason and suggested approach.

The source articles insist on measuring which approach wins accounts back before spending more on
it. Pure: rows in, table out; the database query lives in revisit/storage/outcomes.py.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum

from rich.cells import cell_len

from revisit.alerts.render import dormancy_reason_words


class Outcome(StrEnum):
    """In the order a good follow-up moves through them."""

    CONTACTED = "contacted"
    MEETING = "meeting"
    OPPORTUNITY = "opportunity"
    WON = "won"
    NOT_INTERESTED = "not_interested"


REACTIVATED = frozenset({Outcome.OPPORTUNITY, Outcome.WON})  # a deal is moving again


@dataclass(frozen=True, slots=True)
class AlertFollowUp:
    alert_id: str
    tier: str
    reason: str
    approach: str
    outcomes: frozenset[str]


@dataclass(frozen=True, slots=True)
class ReportLine:
    dimension: str  # tier, reason or approach
    value: str
    alerts: int
    contacted: int  # any outcome recorded at all
    reactivated: int  # opportunity or won
    won: int

    @property
    def reactivation_rate(self) -> float:
        return self.reactivated / self.alerts if self.alerts else 0.0


def reactivation_report(follow_ups: list[AlertFollowUp]) -> list[ReportLine]:
    groups: dict[tuple[str, str], list[AlertFollowUp]] = defaultdict(list)
    for follow_up in follow_ups:
        for dimension, value in (
            ("tier", follow_up.tier),
            ("reason", follow_up.reason),
            ("approach", follow_up.approach),
        ):
            groups[(dimension, value)].append(follow_up)
    order = {"tier": 0, "reason": 1, "approach": 2}
    return [
        ReportLine(
            dimension,
            value,
            len(items),
            sum(1 for i in items if i.outcomes),
            sum(1 for i in items if i.outcomes & REACTIVATED),
            sum(1 for i in items if Outcome.WON in i.outcomes),
        )
        for (dimension, value), items in sorted(groups.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))
    ]


_REPORT_WORDS = {
    "ja": {
        "since": "期間：{since} 以降に出たアラート（{zone}）",
        "all": "期間：これまでのすべてのアラート",
        "legend": "再活性化：商談化か受注まで進んだアラート。再活性化率は再活性化 ÷ アラート",
        "empty": "この期間のアラートはありません",
        "header": ("アラート", "対応済み", "再活性化", "受注", "再活性化率"),
        "tier": "ランク",
        "reason": "休眠理由",
        "approach": "アプローチ",
    },
    "en": {
        "since": "period: alerts raised since {since} ({zone})",
        "all": "period: every alert so far",
        "legend": "reactivated: alerts followed by an opportunity or a win; rate = reactivated / alerts",
        "empty": "no alerts in this period",
        "header": ("alerts", "followed", "reactivated", "won", "rate"),
        "tier": "tier",
        "reason": "reason",
        "approach": "approach",
    },
}


def _padded(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal cells: a Japanese character takes two."""
    return text + " " * max(0, width - cell_len(text))


def report_period(since: str | None, zone: str, locale: str = "en") -> str:
    """What the report counts: since a day (in ``zone``, the team's), or every alert."""
    words = _REPORT_WORDS["ja" if locale == "ja" else "en"]
    return str(words["since"]).format(since=since, zone=zone) if since else str(words["all"])


def report_legend(locale: str = "en") -> str:
    """What "reactivated" means, under the table: beside "opportunity" it read as a third outcome."""
    return str(_REPORT_WORDS["ja" if locale == "ja" else "en"]["legend"])


def format_report(lines: list[ReportLine], locale: str = "en") -> str:
    """The report as a table in ``locale`` (``ja`` or English), aligned by display width. An
    approach is a paragraph: its row names it by number and the paragraphs follow the table in
    full (cut to 40 characters, two approaches that differ only after them read the same)."""
    words = _REPORT_WORDS["ja" if locale == "ja" else "en"]
    if not lines:
        return str(words["empty"])
    approaches = [line.value for line in lines if line.dimension == "approach"]
    labels = []
    for line in lines:
        if line.dimension == "reason":
            value = dormancy_reason_words(line.value, locale)
        elif line.dimension == "approach":
            value = f"#{approaches.index(line.value) + 1}"
        else:
            value = line.value
        labels.append((str(words[line.dimension]), value))
    first = max(cell_len(dimension) for dimension, _ in labels)
    second = max(cell_len(value) for _, value in labels)
    header = words["header"]
    widths = [max(cell_len(title), 7) for title in header]
    rows = [
        _padded("", first + second + 1)
        + "".join(" " * (width - cell_len(title) + 2) + title for title, width in zip(header, widths, strict=True))
    ]
    for (dimension, value), line in zip(labels, lines, strict=True):
        figures = (f"{line.alerts:,}", f"{line.contacted:,}", f"{line.reactivated:,}", f"{line.won:,}")
        cells = [*figures, f"{line.reactivation_rate:.1%}"]
        rows.append(
            _padded(dimension, first)
            + " "
            + _padded(value, second)
            + "".join(" " * (width - len(cell) + 2) + cell for cell, width in zip(cells, widths, strict=True))
        )
    if approaches:
        rows.append("")
        rows += [f"#{number} {text}" for number, text in enumerate(approaches, 1)]
    return "\n".join(rows)
