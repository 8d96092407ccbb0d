"""The outcome buttons of a Slack alert, end to end on loopback: the alert posted (with its buttons)
to the Slack Web API stand-in, then clicks posted to a real `revisit web serve` app on uvicorn,
signed as Slack documents it (v0 HMAC-SHA256 of ``v0:timestamp:body`` under the signing secret)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import replace
from http.server import ThreadingHTTPServer
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import select

from revisit.alerts.channels import remote_channels
from revisit.alerts.sender import DeliverySender
from revisit.core.account import Account, Owner
from revisit.demo import sample_alert
from revisit.storage.models import OutcomeRow, SnoozeRow
from revisit.storage.outbox import AlertOutbox
from revisit.storage.store import PendingRows, Store
from revisit.web.app import create_app
from tests.test_delivery import Recorder
from tests.test_web_security import serving, web_settings

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
REP = "U024BE7LH"


@pytest.fixture
def slack_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.lock, server.answers, server.requests = threading.Lock(), [], []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def posted(tmp_path, slack_api, monkeypatch):
    """A stored alert of the rep's account, sent to Slack with its buttons; the web app serving."""
    monkeypatch.setenv("REVISIT_SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("REVISIT_SLACK_SIGNING_SECRET", SIGNING_SECRET)
    host, port = slack_api.server_address
    settings = web_settings(tmp_path)
    slack = replace(settings.delivery.slack, api_url=f"http://{host}:{port}/api/", interactive=True)
    settings = replace(
        settings,
        delivery=replace(settings.delivery, slack=slack, default_channels=("slack",), group_wait_seconds=0.0),
    )
    store = Store(f"sqlite:///{tmp_path / 'd.sqlite'}", delivery=settings.delivery)
    alert = sample_alert(settings, REP)
    store.save_accounts([Account(alert.account_id, alert.account_name, owner=Owner("テスト担当", "", REP))])
    store.write_rows(PendingRows([], {}, [alert], {}))
    DeliverySender(AlertOutbox(store), remote_channels(settings.delivery), settings.delivery).run_once()
    message = json.loads(slack_api.requests[0][2])
    with serving(create_app(settings, store)) as base:
        yield base, store, alert, message
    store.close()


def click(alert_id: str, action: str, message: dict, user: str = REP) -> bytes:
    """A block_actions payload as Slack posts it (form-encoded ``payload``)."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "rep"},
        "container": {"type": "message", "channel_id": "C1", "message_ts": "1.0001"},
        "message": {"ts": "1.0001", "blocks": message["blocks"]},
        "actions": [{"type": "button", "action_id": f"revisit:{action}", "value": alert_id, "block_id": "x"}],
    }
    return urlencode({"payload": json.dumps(payload, ensure_ascii=False)}).encode()


def signed(body: bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def outcomes(store: Store) -> list[tuple]:
    with store.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(select(OutcomeRow.outcome, OutcomeRow.recorded_by))]


def test_the_alert_carries_the_four_buttons_in_the_readers_language(posted):
    _, _, alert, message = posted
    (actions,) = [block for block in message["blocks"] if block.get("block_id") == "revisit_actions"]
    assert [(b["action_id"], b["text"]["text"], b["value"]) for b in actions["elements"]] == [
        ("revisit:contacted", "対応した", alert.alert_id),
        ("revisit:opportunity", "商談化", alert.alert_id),
        ("revisit:not_interested", "興味なし", alert.alert_id),
        ("revisit:snooze", "スヌーズ", alert.alert_id),
    ]


def test_a_signed_click_records_the_outcome_with_who_and_updates_the_message(posted, slack_api):
    base, store, alert, message = posted
    body = click(alert.alert_id, "opportunity", message)
    answer = httpx.post(f"{base}/slack/interactivity", content=body, headers=signed(body))
    assert answer.status_code == 200
    assert outcomes(store) == [("opportunity", f"slack:{REP}")]
    path, headers, update, _ = slack_api.requests[-1]
    assert path == "/api/chat.update"
    updated = json.loads(update)
    assert (updated["channel"], updated["ts"]) == ("C1", "1.0001")
    assert all(block.get("block_id") != "revisit_actions" for block in updated["blocks"])
    (done,) = [block for block in updated["blocks"] if block["type"] == "context"]
    assert done["elements"][0]["text"].startswith(f"✅ 商談化（<@{REP}>、")
    unchanged = [b for b in message["blocks"] if b.get("block_id") != "revisit_actions"]
    assert [b for b in updated["blocks"] if b["type"] != "context"] == unchanged


def test_snooze_from_slack_holds_the_account_for_the_configured_days(posted, slack_api):
    base, store, alert, message = posted
    body = click(alert.alert_id, "snooze", message)
    assert httpx.post(f"{base}/slack/interactivity", content=body, headers=signed(body)).status_code == 200
    with store.engine.connect() as connection:
        (snooze,) = connection.execute(select(SnoozeRow.account_id, SnoozeRow.created_by, SnoozeRow.until)).all()
    assert snooze[:2] == (alert.account_id, f"slack:{REP}")
    assert (
        "スヌーズ：30 日間通知を止めます" in json.loads(slack_api.requests[-1][2])["blocks"][-1]["elements"][0]["text"]
    )


@pytest.mark.parametrize(
    "case",
    ["bad signature", "other secret", "stale timestamp", "future timestamp", "no headers", "unknown user"],
)
def test_refused_clicks_are_401_and_store_nothing(posted, slack_api, case):
    base, store, alert, message = posted
    body = click(alert.alert_id, "contacted", message, user="U0STRANGER" if case == "unknown user" else REP)
    headers = {
        "bad signature": {**signed(body), "X-Slack-Signature": "v0=" + "0" * 64},
        "other secret": signed(body, secret="not-the-secret"),
        "stale timestamp": signed(body, timestamp=int(time.time()) - 400),  # the window is 300 s
        "future timestamp": signed(body, timestamp=int(time.time()) + 400),
        "no headers": {"Content-Type": "application/x-www-form-urlencoded"},
        "unknown user": signed(body),
    }[case]
    requests_before = len(slack_api.requests)
    assert httpx.post(f"{base}/slack/interactivity", content=body, headers=headers).status_code == 401
    assert outcomes(store) == [] and len(slack_api.requests) == requests_before


def test_a_signed_request_that_is_no_click_is_400(posted):
    base, store, _, _ = posted
    for body in (b"payload=%7Bnot+json", b"nothing=here", urlencode({"payload": json.dumps({"type": "x"})}).encode()):
        assert httpx.post(f"{base}/slack/interactivity", content=body, headers=signed(body)).status_code == 400
    assert outcomes(store) == []
