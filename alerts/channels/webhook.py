"""A signed JSON webhook (urllib): ``X-Revisit-Signature: sha256=HMAC(secret, timestamp + "." + body)``.

``Idempotency-Key`` (the IETF httpapi draft's header) carries the message key, the same on every
attempt: a receiver that keeps the keys it has seen takes each alert once, even one sent again by a
sender restarted between the receiver's answer and the outbox's mark."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from revisit.alerts.channels.base import DeliveryFailure, read_secret, retry_after
from revisit.alerts.outbox import message_key
from revisit.alerts.render import webhook_body, webhook_signature
from revisit.core.alert import Alert
from revisit.core.config import DeliverySettings, WebhookSettings


@dataclass
class WebhookChannel:
    settings: WebhookSettings
    history_url: str = ""
    name: str = "webhook"

    def send(self, alert: Alert) -> str:
        url = read_secret(self.settings.url_env, self.settings.url_file)
        if not url:
            raise DeliveryFailure("webhook: no URL configured")
        secret = read_secret(self.settings.secret_env, self.settings.secret_file)
        body = webhook_body(alert, self.history_url)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Revisit-Alert-Id": alert.alert_id,
            "Idempotency-Key": message_key(alert.alert_id, self.name),
            "X-Revisit-Timestamp": timestamp,
            "User-Agent": "revisit-webhook/1",
        }
        if secret:
            headers["X-Revisit-Signature"] = webhook_signature(secret.encode("utf-8"), timestamp, body)
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_seconds) as response:
                return f"http:{response.status}"
        except urllib.error.HTTPError as error:
            retryable = error.code == 429 or error.code >= 500 or error.code == 408
            raise DeliveryFailure(
                f"webhook: HTTP {error.code}",
                permanent=not retryable,
                retry_after=retry_after(error.headers.get("Retry-After")),
            ) from None
        except (urllib.error.URLError, OSError) as error:
            raise DeliveryFailure(f"webhook: cannot reach it ({type(error).__name__})") from None


def build(delivery: DeliverySettings) -> WebhookChannel:
    return WebhookChannel(delivery.webhook, delivery.history_url)


def secrets(delivery: DeliverySettings) -> dict[str, tuple[str, str]]:
    webhook = delivery.webhook
    return {
        "webhook URL": (webhook.url_env, webhook.url_file),
        "webhook signing secret": (webhook.secret_env, webhook.secret_file),
    }
