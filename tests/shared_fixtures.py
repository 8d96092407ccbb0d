"""Fixtures more than one test module uses, registered for all of them in tests/conftest.py
(``pytest_plugins``): a test module imports no fixture from another."""

from __future__ import annotations

import email
import email.policy
import json
import socket
from typing import NamedTuple

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

from revisit.cli import main
from tests.conftest import APACHE_LOG, mmdb
from tests.test_cli import ACCOUNTS, CONFIG


# --- a local SMTP server ----------------------------------------------------------------------
class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp_peer():
    mailbox = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, mailbox
    controller.stop()


# --- what `revisit replay` makes of the Apache log ---------------------------------------------
class Replayed(NamedTuple):
    alert_ids: set[str]
    hits: int
    organizations: dict[str, str]  # address as stored → organisation name


@pytest.fixture(scope="module")
def replayed(tmp_path_factory) -> Replayed:
    """What `revisit replay` makes of the same log: the reference."""
    folder = tmp_path_factory.mktemp("replay")
    (folder / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    (folder / "revisit.toml").write_text(CONFIG, encoding="utf-8")
    jsonl = folder / "alerts.jsonl"
    assert (
        main(
            [
                "replay",
                str(APACHE_LOG),
                "--accounts",
                str(folder / "accounts.csv"),
                "--config",
                str(folder / "revisit.toml"),
                "--db",
                f"sqlite:///{folder / 'r.sqlite'}",
                "--alerts-jsonl",
                str(jsonl),
                "--mmdb",
                mmdb("GeoIP2-ISP-Test"),
                "--workers",
                "1",
            ]
        )
        == 0
    )
    engine = create_engine(f"sqlite:///{folder / 'r.sqlite'}")
    with engine.connect() as connection:
        hits = connection.execute(text("SELECT count(*) FROM hits")).scalar_one()
    engine.dispose()
    return Replayed(
        {json.loads(line)["alert_id"] for line in jsonl.read_text().splitlines()},
        hits,
        stored_organizations(f"sqlite:///{folder / 'r.sqlite'}"),
    )


def stored_organizations(db: str) -> dict[str, str]:
    engine = create_engine(db)
    try:
        with engine.connect() as connection:
            return dict(connection.execute(text("SELECT ip, name FROM organizations")).all())
    finally:
        engine.dispose()
