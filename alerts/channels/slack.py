"""Slack: a Block Kit message through the Web API (bot token) or an incoming webhook; thread replies."""

from __future__ import annotations

import urllib.error
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from revisit.alerts.channels.base import DeliveryFailure, read_secret, retry_after
from revisit.alerts.render import slack_blocks, slack_thread_reply
from revisit.core.alert import Alert
from revisit.core.config import DeliverySettings, SlackSettings
from revisit.enrichment.accounts import is_slack_member_id

if TYPE_CHECKING:
    from slack_sdk.errors import SlackApiError

# Slack Web API errors that no retry will cure (https://api.slack.com/methods/chat.postMessage).
SLACK_PERMANENT_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "user_not_found",
        "user_disabled",
        "missing_scope",
        "invalid_blocks",
        "msg_too_long",
        "no_permission",
        "restricted_action",
        "org_login_required",
    }
)


def _slack_failure(error: SlackApiError) -> DeliveryFailure:
    code = error.response.get("error", "") if error.response is not None else ""
    status = error.response.status_code if error.response is not None else 0
    if status == 429 or code == "ratelimited":
        return DeliveryFailure(
            "slack: rate limited",
            retry_after=retry_after(error.response.headers.get("Retry-After") if error.response is not None else None),
        )
    return DeliveryFailure(f"slack: {code or f'HTTP {status}'}", permanent=code in SLACK_PERMANENT_ERRORS)


@dataclass
class SlackChannel:
    """Every post (message, thread reply, incoming webhook) says ``unfurl_links`` and
    ``unfurl_media`` False: Slack must not fetch or preview a visitor-chosen URL, which would tell
    its owner that sales is looking."""

    settings: SlackSettings
    history_url: str = ""
    name: str = "slack"
    team_zone: str = ""  # business_hours.timezone: the zone the messages name (JST)

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
        # An id that is not a member id (a list imported before it was checked) counts as none.
        owner = alert.owner.slack if is_slack_member_id(alert.owner.slack) else ""
        if self.settings.channel:
            channel, mention = self.settings.channel, owner
        elif owner:
            channel, mention = owner, ""  # a direct message to the owner
        elif self.settings.fallback_channel:
            channel, mention = self.settings.fallback_channel, ""
        else:
            raise DeliveryFailure(
                "slack: the owner has no Slack id and neither slack.channel nor slack.fallback_channel is set",
                permanent=True,
            )
        text, blocks = slack_blocks(
            alert, self.history_url, mention=mention, buttons=self.settings.interactive, team_zone=self.team_zone
        )
        response = self._post_message_api(
            token, channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
        )
        return f"{response.get('channel', channel)}:{response.get('ts', '')}"

    def send_reply(self, alert: Alert, message_ref: str, activity: list[tuple[datetime, str]]) -> str:
        """A reply in the thread of the message ``message_ref`` ("channel:ts", from ``send``)."""
        token = self._token()
        channel, _, thread_ts = message_ref.partition(":")
        if not token or not thread_ts:
            raise DeliveryFailure(
                "slack: replies in a thread need a bot token (incoming webhooks cannot)", permanent=True
            )
        text, blocks = slack_thread_reply(alert, activity)
        response = self._post_message_api(
            token,
            channel=channel,
            thread_ts=thread_ts,
            text=text,
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
        return f"{channel}:{response.get('ts', '')}"

    def _post_message_api(self, token: str, **message: Any) -> Any:
        """``chat.postMessage``, its failures turned into ``DeliveryFailure``."""
        # slack_sdk is imported when a message is sent: 0.05 s of every command's start otherwise
        from slack_sdk import WebClient
        from slack_sdk.errors import SlackApiError

        client = WebClient(token=token, base_url=self.settings.api_url, timeout=int(self.settings.timeout_seconds))
        try:
            return client.chat_postMessage(**message)
        except SlackApiError as error:
            raise _slack_failure(error) from None
        except (OSError, urllib.error.URLError) as error:
            raise DeliveryFailure(f"slack: cannot reach the API ({type(error).__name__})") from None

    def _post_webhook(self, alert: Alert, url: str) -> str:
        from slack_sdk import WebhookClient

        # An incoming webhook posts to the one channel it was made for: the owner is mentioned
        # there, as in the team channel of the bot-token path, or they would not be notified.
        owner = alert.owner.slack if is_slack_member_id(alert.owner.slack) else ""
        text, blocks = slack_blocks(alert, self.history_url, mention=owner, team_zone=self.team_zone)
        client = WebhookClient(url, timeout=int(self.settings.timeout_seconds))
        try:
            response = client.send(text=text, blocks=blocks, unfurl_links=False, unfurl_media=False)
        except (OSError, urllib.error.URLError) as error:
            raise DeliveryFailure(f"slack webhook: cannot reach it ({type(error).__name__})") from None
        if response.status_code == 200:
            return "webhook:ok"
        if response.status_code == 429:
            raise DeliveryFailure(
                "slack webhook: rate limited",
                retry_after=retry_after(response.headers.get("Retry-After") or response.headers.get("retry-after")),
            )
        # 403/404/410 with no_service, invalid_token, channel_is_archived ...: the hook is gone.
        permanent = response.status_code in (400, 403, 404, 410)
        raise DeliveryFailure(f"slack webhook: HTTP {response.status_code} {response.body[:80]!r}", permanent=permanent)


def build(delivery: DeliverySettings) -> SlackChannel:
    return SlackChannel(delivery.slack, delivery.history_url, team_zone=delivery.business_hours.timezone)


def secrets(delivery: DeliverySettings) -> dict[str, tuple[str, str]]:
    slack = delivery.slack
    return {
        "slack webhook URL": (slack.webhook_url_env, slack.webhook_url_file),
        "slack bot token": (slack.bot_token_env, slack.bot_token_file),
        "slack signing secret": (slack.signing_secret_env, slack.signing_secret_file),
    }
