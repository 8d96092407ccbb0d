"""Sessions of the web UI, kept in the database so that they can be ended.

A signed cookie alone cannot be taken back: whoever holds (or forges) it stays logged in. Here the
cookie carries only a random id; the row it names says who logged in and until when, and deleting
the row (logout, expiry, a user removed from the config) ends the session at once. Only the id's
SHA-256 is stored: a copy of the table logs nobody in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select, update

from revisit.storage.models import WebSessionRow, as_utc
from revisit.storage.store import Store

# last_seen_at is written at most this often per session: a page view should not always cost a write
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class WebSession:
    user_name: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class WebSessions:
    def __init__(self, store: Store) -> None:
        self._engine = store.engine

    def create(self, user_name: str, lifetime: timedelta, now: datetime | None = None) -> str:
        """A new session for ``user_name``; returns its id (for the cookie; never stored as such).
        Expired sessions are swept here, so the table holds only live ones and the newest few."""
        now = now or datetime.now(UTC)
        session_id = secrets.token_urlsafe(32)
        with self._engine.begin() as connection:
            connection.execute(delete(WebSessionRow).where(WebSessionRow.expires_at <= now))
            connection.execute(
                insert(WebSessionRow).values(
                    id_sha256=_digest(session_id),
                    user_name=user_name,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + lifetime,
                )
            )
        return session_id

    def find(self, session_id: str, now: datetime | None = None) -> WebSession | None:
        """The live session with this id, or None (unknown, ended or expired)."""
        now = now or datetime.now(UTC)
        key = _digest(session_id)
        with self._engine.connect() as connection:
            row = connection.execute(select(WebSessionRow.__table__).where(WebSessionRow.id_sha256 == key)).first()
        if row is None:
            return None
        found = WebSession(row.user_name, as_utc(row.created_at), as_utc(row.last_seen_at), as_utc(row.expires_at))
        if found.expires_at <= now:
            self.end(session_id)
            return None
        if now - found.last_seen_at >= LAST_SEEN_RESOLUTION:
            with self._engine.begin() as connection:
                connection.execute(update(WebSessionRow).where(WebSessionRow.id_sha256 == key).values(last_seen_at=now))
            return replace(found, last_seen_at=now)
        return found

    def end(self, session_id: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(delete(WebSessionRow).where(WebSessionRow.id_sha256 == _digest(session_id)))

    def count(self) -> int:
        with self._engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(WebSessionRow)).scalar_one()
