"""The local channels: a JSON Lines file (machine-readable, the contract) and the console (what a
salesperson reads). Each has ``send(alert) -> DeliveryResult``; a failed delivery is a result, not
an exception that stops the run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from revisit.alerts.channels.base import DeliveryResult
from revisit.alerts.render import console_card_ja
from revisit.core.alert import Alert
from revisit.core.text import printable


class JsonLinesChannel:
    name = "jsonl"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def send(self, alert: Alert) -> DeliveryResult:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(alert.to_record(), ensure_ascii=False) + "\n")
        except OSError as error:
            return DeliveryResult(self.name, alert.alert_id, False, f"{self.path}: {error.strerror}")
        return DeliveryResult(self.name, alert.alert_id, True)


class ConsoleChannel:
    name = "console"

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def send(self, alert: Alert) -> DeliveryResult:
        self.stream.write(format_alert(alert) + "\n")
        return DeliveryResult(self.name, alert.alert_id, True)


_TIER_TITLES = {
    "A": "tier A: contact first",
    "B": "tier B: repair the relationship",
    "C": "tier C: light touch (digest)",
}


def format_alert(alert: Alert) -> str:
    """A short card a salesperson can act on without opening anything else, in the alert's
    language. Names, paths and the opener carry visitor and list text: each line is made
    ``printable`` for the terminal."""
    if alert.locale == "ja":
        return "\n".join(printable(line) for line in console_card_ja(alert))
    org = alert.organization
    owner = alert.owner.name or "(no owner: route to the team)"
    value = f"{alert.lifetime_value:,.0f}" if alert.lifetime_value is not None else "unknown"
    when = alert.first_seen.strftime("%Y-%m-%d %H:%M %z")
    lines = [
        f"● {alert.account_name} ({alert.account_id}) is back - {_TIER_TITLES[alert.tier.value]}",
        f"  when      {when}, {len(alert.pages)} pages, intent score {alert.score} "
        f"({', '.join(alert.page_labels) or 'no key pages'})",
        f"  pages     {' → '.join(alert.pages[:8])}{' …' if len(alert.pages) > 8 else ''}",
        f"  who       {org.name or org.domain} via {org.source} ({alert.match_method} match, "
        f"confidence {alert.match_confidence:.2f})",
        f"  account   last deal {alert.last_deal_at or 'unknown'}, lifetime value {value}, "
        f"priority {alert.priority}, went quiet: {alert.dormancy_reason.value}",
        f"  owner     {owner}  · delivery: {alert.delivery}",
        f"  next step {alert.approach}",
        f"  opener    {alert.opening_line}",
    ]
    return "\n".join(printable(line) for line in lines)
