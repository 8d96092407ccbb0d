"""The local channels: a JSON Lines file (machine-readable, the contract) and the console (what a
salesperson reads). Each has ``send(alert) -> DeliveryResult``; a failed delivery is a result, not
an exception that stops the run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from revisit.alerts.channels.base import DeliveryResult
from revisit.alerts.render import console_card_en, console_card_ja
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

    def __init__(self, stream: TextIO, team_zone: str = "") -> None:
        self.stream = stream
        self.team_zone = team_zone  # business_hours.timezone: times named as the alerts name them

    def send(self, alert: Alert) -> DeliveryResult:
        self.stream.write(format_alert(alert, self.team_zone) + "\n")
        return DeliveryResult(self.name, alert.alert_id, True)


def format_alert(alert: Alert, team_zone: str = "") -> str:
    """A short card a salesperson can act on without opening anything else, in the alert's
    language. Names, paths and the opener carry visitor and list text: each line is made
    ``printable`` for the terminal."""
    card = console_card_ja(alert, team_zone) if alert.locale == "ja" else console_card_en(alert, team_zone)
    return "\n".join(printable(line) for line in card)
