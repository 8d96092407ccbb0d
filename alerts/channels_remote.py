"""The remote channels: Slack (slack_sdk), e-mail (smtplib) and a signed webhook (urllib).

Each ``send`` returns a provider reference (Slack message ts, SMTP or HTTP answer) or raises
``DeliveryFailure`` saying whether trying again can help and when. Secrets come from environment
variables or files named in the config and never appear in a failure's text.
"""

from __future__ import annotations

import smtplib
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Protocol

from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError

from alerts.policy import Alert
from alerts.render import (digest_message, email_message, slack_blocks, slack_thread_reply, webhook_body,
                           webhook_signature)
from revisit.config import DeliverySettings, EmailSettings, SlackSettings, WebhookSettings
from revisit.config import read_secret as read_secret_value

# Slack Web API errors that no retry will cure (https://api.slack.com/methods/chat.postMessage).
SLACK_PERMANENT_ERRORS = frozenset({
    "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive", "channel_not_found",
    "not_in_channel", "is_archived", "user_not_found", "user_disabled", "missing_scope", "invalid_blocks",
    "msg_too_long", "no_permission", "restricted_action", "org_login_required",
})


class DeliveryFailure(Exception):
    def __init__(self, reason: str, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


class RemoteChannel(Protocol):
    name: str

    def send(self, alert: Alert) -> str: ...


def read_secret(env_name: str, file_path: str) -> str:
    """``revisit.config.read_secret``, with an unreadable file as a permanent delivery failure."""
    try:
        return read_secret_value(env_name, file_path)
    except OSError as error:
        raise DeliveryFailure(f"secret file {file_path}: {error.strerror}") from None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _slack_failure(error: SlackApiError) -> DeliveryFailure:
    code = error.response.get("error", "") if error.response is not None else ""
    status = error.response.status_code if error.response is not None else 0
    if status == 429 or code == "ratelimited":
        return DeliveryFailure("slack: rate limited", retry_after=_retry_after(
            error.response.headers.get("Retry-After") if error.response is not None else None))
    return DeliveryFailure(f"slack: {code or f'HTTP {status}'}", permanent=code in SLACK_PERMANENT_ERRORS)


@dataclass
class SlackChannel:
    settings: SlackSettings
    history_url: str = ""
    name: str = "slack"

    def _token(self) -> str:
        return read_secret(self.settings.bot_token_env, self.settings.bot_token_file)

    def _webhook_url(self) -> str:
        return read_secret(self.settings.webhook_url_env, self.settings.webhook_url_file)

    def send(self, alert: Alert) -> str:
        token = self._token()
        if token:
            return self._post_message(alert, token)
        url = self._webhook_url()
        if not url:
            raise DeliveryFailure("slack: neither a bot token nor a webhook URL is configured")
        return self._post_webhook(alert, url)

    def _post_message(self, alert: Alert, token: str) -> str:
        # DM the owner when we know their Slack user id; else the team channel, mentioning them.
        owner = alert.owner.slack
        if self.settings.channel:
            channel, mention = self.settings.channel, owner
        elif owner:
            channel, mention = owner, ""  # a direct message to the owner
        elif self.settings.fallback_channel:
            channel, mention = self.settings.fallback_channel, ""
        else:
            raise DeliveryFailure("slack: the owner has no Slack id and neither slack.channel nor "
                                  "slack.fallback_channel is set", permanent=True)
        text, blocks = slack_blocks(alert, self.history_url, mention=mention)
        response = self._post_message_api(token, channel=channel, text=text, blocks=blocks, unfurl_links=False)
        return f"{response.get('channel', channel)}:{response.get('ts', '')}"

    def send_reply(self, alert: Alert, message_ref: str, activity: list[tuple[datetime, str]]) -> str:
        """A reply in the thread of the message ``message_ref`` ("channel:ts", from ``send``)."""
        token = self._token()
        channel, _, thread_ts = message_ref.partition(":")
        if not token or not thread_ts:
            raise DeliveryFailure("slack: replies in a thread need a bot token (incoming webhooks cannot)",
                                  permanent=True)
        text, blocks = slack_thread_reply(alert, activity)
        response = self._post_message_api(token, channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)
        return f"{channel}:{response.get('ts', '')}"

    def _post_message_api(self, token: str, **message: Any) -> Any:
        """``chat.postMessage``, its failures turned into ``DeliveryFailure``."""
        client = WebClient(token=token, base_url=self.settings.api_url, timeout=int(self.settings.timeout_seconds))
        try:
            return client.chat_postMessage(**message)
        except SlackApiError as error:
            raise _slack_failure(error) from None
        except (OSError, urllib.error.URLError) as error:
            raise DeliveryFailure(f"slack: cannot reach the API ({type(error).__name__})") from None

    def _post_webhook(self, alert: Alert, url: str) -> str:
        text, blocks = slack_blocks(alert, self.history_url)
        client = WebhookClient(url, timeout=int(self.settings.timeout_seconds))
        try:
            response = client.send(text=text, blocks=blocks, unfurl_links=False)
        except (OSError, urllib.error.URLError) as error:
            raise DeliveryFailure(f"slack webhook: cannot reach it ({type(error).__name__})") from None
        if response.status_code == 200:
            return "webhook:ok"
        if response.status_code == 429:
            raise DeliveryFailure("slack webhook: rate limited", retry_after=_retry_after(
                response.headers.get("Retry-After") or response.headers.get("retry-after")))
        # 403/404/410 with no_service, invalid_token, channel_is_archived ...: the hook is gone.
        permanent = response.status_code in (400, 403, 404, 410)
        raise DeliveryFailure(f"slack webhook: HTTP {response.status_code} {response.body[:80]!r}", permanent=permanent)


@dataclass
class EmailChannel:
    settings: EmailSettings
    history_url: str = ""
    name: str = "email"

    def recipient(self, alert: Alert) -> str:
        return alert.owner.email or self.settings.fallback_to

    def send(self, alert: Alert) -> str:
        recipient = self.recipient(alert)
        if not recipient:
            raise DeliveryFailure("email: the owner has no e-mail and email.fallback_to is not set", permanent=True)
        return self._deliver(email_message(alert, self.settings.sender, recipient, self.history_url), recipient)

    def send_digest(self, alerts: list[Alert], recipient: str) -> str:
        if not recipient:
            raise DeliveryFailure("email: the owner has no e-mail and email.fallback_to is not set", permanent=True)
        return self._deliver(digest_message(alerts, self.settings.sender, recipient, self.history_url), recipient)

    def _deliver(self, message: EmailMessage, recipient: str) -> str:
        password = read_secret(self.settings.password_env, self.settings.password_file)
        settings = self.settings
        context = ssl.create_default_context(cafile=settings.ca_file or None)
        try:
            if settings.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout_seconds,
                                                      context=context)
            else:
                smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
            with smtp:
                if settings.security == "starttls":
                    smtp.starttls(context=context)
                if settings.username:
                    smtp.login(settings.username, password)
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryFailure(f"email: {recipient} refused by the server", permanent=True) from None
        except smtplib.SMTPAuthenticationError as error:
            # Wrong credentials are fixed by an operator, not by this alert: keep retrying.
            raise DeliveryFailure(f"email: authentication failed ({error.smtp_code})") from None
        except smtplib.SMTPResponseException as error:
            raise DeliveryFailure(f"email: server answered {error.smtp_code}",
                                  permanent=500 <= error.smtp_code < 600) from None
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryFailure(f"email: cannot deliver via {settings.host}:{settings.port} "
                                  f"({type(error).__name__})") from None
        if refused:
            raise DeliveryFailure(f"email: {', '.join(refused)} refused", permanent=True)
        return f"smtp:{recipient}"


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
        headers = {"Content-Type": "application/json; charset=utf-8", "X-Revisit-Alert-Id": alert.alert_id,
                   "X-Revisit-Timestamp": timestamp, "User-Agent": "revisit-webhook/1"}
        if secret:
            headers["X-Revisit-Signature"] = webhook_signature(secret.encode("utf-8"), timestamp, body)
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_seconds) as response:
                return f"http:{response.status}"
        except urllib.error.HTTPError as error:
            retryable = error.code == 429 or error.code >= 500 or error.code == 408
            raise DeliveryFailure(f"webhook: HTTP {error.code}", permanent=not retryable,
                                  retry_after=_retry_after(error.headers.get("Retry-After"))) from None
        except (urllib.error.URLError, OSError) as error:
            raise DeliveryFailure(f"webhook: cannot reach it ({type(error).__name__})") from None


def remote_channels(delivery: DeliverySettings) -> dict[str, RemoteChannel]:
    """By outbox channel name; the digest rows go through ``EmailChannel.send_digest``."""
    return {
        "slack": SlackChannel(delivery.slack, delivery.history_url),
        "email": EmailChannel(delivery.email, delivery.history_url),
        "webhook": WebhookChannel(delivery.webhook, delivery.history_url),
    }
