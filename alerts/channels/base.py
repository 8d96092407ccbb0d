"""What every channel shares: the result of a local delivery, the failure of a remote one, secrets.

A remote channel's ``send`` returns a provider reference (Slack message ts, SMTP or HTTP answer) or
raises ``DeliveryFailure`` saying whether trying again can help and when. Secrets come from
environment variables or files named in the config and never appear in a failure's text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from revisit.core.alert import Alert
from revisit.core.config import read_secret as read_secret_value


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What a local channel (JSON Lines, console) did with one alert."""

    channel: str
    alert_id: str
    ok: bool
    detail: str = ""


class Channel(Protocol):
    """A local channel: writes the alert at once, in the run that found it."""

    name: str

    def send(self, alert: Alert) -> DeliveryResult: ...


class DeliveryFailure(Exception):
    def __init__(self, reason: str, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


class RemoteChannel(Protocol):
    """A channel the sender delivers the outbox to: returns the provider's reference."""

    name: str

    def send(self, alert: Alert) -> str: ...


@runtime_checkable
class ThreadChannel(RemoteChannel, Protocol):
    """A remote channel that can answer in the thread of a message it sent (Slack)."""

    def send_reply(self, alert: Alert, message_ref: str, activity: list[tuple[datetime, str]]) -> str: ...


@runtime_checkable
class DigestChannel(RemoteChannel, Protocol):
    """A remote channel that can carry the daily digest of several alerts to one person (e-mail)."""

    def recipient(self, alert: Alert) -> str: ...

    def send_digest(self, alerts: list[Alert], recipient: str, over_budget: int = 0) -> str:
        """``over_budget``: how many of ``alerts`` are here because the owner's daily budget of
        realtime alerts was spent (the digest says so)."""
        ...


def read_secret(env_name: str, file_path: str) -> str:
    """``revisit.core.config.read_secret``, with an unreadable file as a delivery failure (retried:
    a secret mount may come back)."""
    try:
        return read_secret_value(env_name, file_path)
    except OSError as error:
        raise DeliveryFailure(f"secret file {file_path}: {error.strerror}") from None


def retry_after(value: str | None) -> float | None:
    """A provider's Retry-After header in seconds (None when absent or not a number)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
