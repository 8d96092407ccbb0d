"""Slack interactivity: the outcome buttons of an alert (対応した / 商談化 / 興味なし / スヌーズ) post here.

A request is taken only as Slack documents it
(https://api.slack.com/authentication/verifying-requests-from-slack): ``X-Slack-Signature`` must be
``v0=`` HMAC-SHA256 of ``v0:{X-Slack-Request-Timestamp}:{raw body}`` under the app's signing
secret (compared in constant time), the timestamp within five minutes of now (a captured request
cannot be replayed later), and the clicking user an owner in the account list. Anything else is 401
and stores nothing. A valid click records the outcome (or the snooze) with who did it, then
replaces the buttons in the message with what was done (``chat.update``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from revisit.alerts.render import ACTION_PREFIX, ACTIONS_BLOCK, button_label, slack_escape
from revisit.alerts.report import Outcome
from revisit.core.alert import Alert
from revisit.core.config import Settings, read_secret
from revisit.core.errors import BadInput
from revisit.storage.models import AccountRow, AlertRow
from revisit.storage.outbox import AlertOutbox
from revisit.storage.outcomes import record_outcome
from revisit.storage.store import Store
from revisit.web.app import context

log = logging.getLogger("revisit.web.slack")

router = APIRouter()

REPLAY_WINDOW_SECONDS = 300  # Slack's own advice: refuse requests older than five minutes
MAX_BODY_BYTES = 256 * 1024  # a block_actions payload echoes the message: tens of KB at most
SNOOZE = "snooze"


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v0=`` + hex HMAC-SHA256 of ``v0:timestamp:body``: the scheme Slack signs requests with."""
    base = b"v0:" + timestamp.encode("ascii", "replace") + b":" + body
    return "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def verified(secret: str, timestamp: str, signature: str, body: bytes, now: float) -> bool:
    if not secret or not timestamp.isdigit() or abs(now - int(timestamp)) > REPLAY_WINDOW_SECONDS:
        return False
    return hmac.compare_digest(slack_signature(secret, timestamp, body), signature)


@dataclass(frozen=True, slots=True)
class Click:
    """What a rep pressed, on which message."""

    user: str
    action: str  # an Outcome value, or "snooze"
    alert_id: str
    channel: str
    message_ts: str
    blocks: list[dict[str, Any]]


def parse_click(body: bytes) -> Click:
    """The ``payload`` form field of a ``block_actions`` request; anything else is bad input."""
    try:
        payload = json.loads(parse_qs(body.decode("utf-8"), strict_parsing=True)["payload"][0])
        (action,) = [a for a in payload["actions"] if str(a.get("action_id", "")).startswith(ACTION_PREFIX)]
        click = Click(
            user=str(payload["user"]["id"]),
            action=str(action["action_id"])[len(ACTION_PREFIX) :],
            alert_id=str(action["value"]),
            channel=str(payload["container"]["channel_id"]),
            message_ts=str(payload["container"]["message_ts"]),
            blocks=list(payload.get("message", {}).get("blocks", [])),
        )
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        raise BadInput("not a Slack block_actions payload with one revisit button") from None
    if click.action != SNOOZE and click.action not in {o.value for o in Outcome}:
        raise BadInput(f"unknown action {click.action!r}")
    return click


def is_owner(store: Store, slack_user: str) -> bool:
    with store.engine.connect() as connection:
        found = connection.execute(select(AccountRow.account_id).where(AccountRow.owner_slack == slack_user)).first()
    return found is not None


def stored_alert(store: Store, alert_id: str) -> Alert:
    with store.engine.connect() as connection:
        payload = connection.execute(select(AlertRow.payload).where(AlertRow.alert_id == alert_id)).scalar()
    if payload is None:
        raise BadInput(f"no alert {alert_id!r} in the database")
    return Alert.from_record(payload)


_DONE = {"ja": "{label}（<@{user}>、{at}）", "en": "{label} (<@{user}>, {at})"}
_SNOOZED = {"ja": "{days} 日間通知を止めます", "en": "no alerts for {days} days"}


def answered_blocks(click: Click, alert: Alert, settings: Settings, at: datetime) -> list[dict[str, Any]]:
    """The message's blocks with its buttons replaced by what was done, by whom, when."""
    locale = alert.locale if alert.locale in _DONE else "en"
    label = button_label(click.action, locale)
    if click.action == SNOOZE:
        label += "：" if locale == "ja" else ": "
        label += _SNOOZED[locale].format(days=settings.delivery.slack.snooze_days)
    when = at.astimezone(ZoneInfo(settings.delivery.business_hours.timezone))
    done = _DONE[locale].format(label=slack_escape(label), user=click.user, at=f"{when:%Y-%m-%d %H:%M}")
    context = {"type": "context", "elements": [{"type": "mrkdwn", "text": f"✅ {done}"}]}
    return [context if block.get("block_id") == ACTIONS_BLOCK else block for block in click.blocks]


def act(store: Store, settings: Settings, click: Click) -> None:
    """Record the click, then update the message (a failed update is logged: the record stands)."""
    alert = stored_alert(store, click.alert_id)
    who = f"slack:{click.user}"
    if click.action == SNOOZE:
        AlertOutbox(store).snooze(alert.account_id, settings.delivery.slack.snooze_days, "スヌーズ（Slack）", who)
    else:
        record_outcome(store, click.alert_id, Outcome(click.action), "Slack", who)
    slack = settings.delivery.slack
    try:
        token = read_secret(slack.bot_token_env, slack.bot_token_file)
    except OSError:
        token = ""
    if not token:
        return
    client = WebClient(token=token, base_url=slack.api_url, timeout=int(slack.timeout_seconds))
    try:
        client.chat_update(
            channel=click.channel,
            ts=click.message_ts,
            blocks=answered_blocks(click, alert, settings, datetime.now(UTC)),
            text=alert.account_name,
        )
    except (SlackApiError, OSError) as error:
        log.warning("slack: the message of alert %s was not updated (%s)", click.alert_id, type(error).__name__)


@router.post("/slack/interactivity", include_in_schema=False)
async def interactivity(request: Request) -> Response:
    web = context(request)
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return Response("too large", status_code=413)
    slack = web.settings.delivery.slack
    try:
        secret = read_secret(slack.signing_secret_env, slack.signing_secret_file)
    except OSError:  # an unreadable secret file: nobody can be verified
        log.warning("slack: the signing secret file %s cannot be read", slack.signing_secret_file)
        secret = ""
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    if not verified(secret, timestamp, request.headers.get("X-Slack-Signature", ""), body, time.time()):
        return Response("invalid signature", status_code=401)
    try:
        click = parse_click(body)
    except BadInput as error:
        return Response(str(error), status_code=400)
    if not await run_in_threadpool(is_owner, web.store, click.user):
        return Response("unknown user", status_code=401)
    try:
        await run_in_threadpool(act, web.store, web.settings, click)
    except BadInput as error:
        return Response(str(error), status_code=400)
    return Response(status_code=200)
