"""What happened after alerts: reactivation rates by tier, dormancy reason and suggested approach.

The source articles insist on measuring which approach wins accounts back before spending more on
it. Pure: rows in, table out; the database query lives in revisit/storage/outcomes.py.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum


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


def format_report(lines: list[ReportLine]) -> str:
    if not lines:
        return "no alerts in this period"
    rows = [f"{'':9} {'':40} {'alerts':>7} {'followed':>9} {'reactivated':>12} {'won':>5} {'rate':>6}"]
    for line in lines:
        value = line.value if len(line.value) <= 40 else line.value[:39] + "…"
        rows.append(
            f"{line.dimension:9} {value:40} {line.alerts:7,} {line.contacted:9,} {line.reactivated:12,} "
            f"{line.won:5,} {line.reactivation_rate:6.1%}"
        )
    return "\n".join(rows)
