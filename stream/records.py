"""JSON forms of the values that cross process boundaries in streaming mode: matched hits on the
re-keyed topic, sessions, held alerts and last alert times in the worker's tables.

Explicit codecs rather than pickle: the topics and changelogs stay readable with any Kafka tool, and
a message can never run code when it is read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Generic, Iterator, MutableMapping, TypeVar

from alerts.policy import Alert, organization_from_record, organization_record
from enrichment.match import AccountIndex, AccountMatch, MatchMethod
from stream.hit import Hit
from stream.pipeline import MatchedHit, PendingAlert
from stream.sessions import PageView, Session


class UnknownAccount(LookupError):
    """A matched hit names an account this worker's list does not hold (the lists differ)."""


def matched_to_record(matched: MatchedHit, hit_key: str) -> dict[str, Any]:
    hit = matched.hit
    return {
        "hit_key": hit_key,
        "account_id": matched.match.account.account_id,
        "hit": [hit.client_ip, hit.timestamp.isoformat(), hit.method, hit.path, hit.query, hit.status,
                hit.size, hit.referrer, hit.user_agent, hit.vhost],
        "organization": organization_record(matched.organization),
        "match": [matched.match.method.value, matched.match.confidence, matched.match.detail],
        "raw_line": matched.raw_line,
    }


def matched_from_record(record: dict[str, Any], index: AccountIndex) -> tuple[str, MatchedHit]:
    account = index.accounts.get(record["account_id"])
    if account is None:
        raise UnknownAccount(record["account_id"])
    ip, at, method, path, query, status, size, referrer, agent, vhost = record["hit"]
    hit = Hit(ip, datetime.fromisoformat(at), method, path, query, status, size, referrer, agent, vhost)
    match_method, confidence, detail = record["match"]
    match = AccountMatch(account, MatchMethod(match_method), confidence, detail)
    return record["hit_key"], MatchedHit(hit, organization_from_record(record["organization"]), match,
                                         record["raw_line"])


def session_to_record(session: Session) -> dict[str, Any]:
    return {
        "session_id": session.session_id, "account_id": session.account_id,
        "started_at": session.started_at.isoformat(), "last_seen": session.last_seen.isoformat(),
        "pages": [[p.at.isoformat(), p.path, p.weight, p.label] for p in session.pages],
        "best_by_label": [list(pair) for pair in session.best_by_label], "score": session.score,
    }


def session_from_record(record: dict[str, Any]) -> Session:
    return Session(
        record["session_id"], record["account_id"], datetime.fromisoformat(record["started_at"]),
        datetime.fromisoformat(record["last_seen"]),
        tuple(PageView(datetime.fromisoformat(at), path, weight, label) for at, path, weight, label in record["pages"]),
        tuple((label, weight) for label, weight in record["best_by_label"]), record["score"],
    )


def pending_to_record(pending: PendingAlert) -> dict[str, Any]:
    return {"alert": pending.alert.to_record(), "triggered_at": pending.triggered_at.isoformat(),
            "session_started_at": pending.session_started_at.isoformat()}


def pending_from_record(record: dict[str, Any]) -> PendingAlert:
    return PendingAlert(Alert.from_record(record["alert"]), datetime.fromisoformat(record["triggered_at"]),
                        datetime.fromisoformat(record["session_started_at"]))


V = TypeVar("V")


class EncodedMapping(MutableMapping[str, V], Generic[V]):
    """A mapping of values stored encoded in another mapping (a Faust table of JSON values)."""

    def __init__(self, store: MutableMapping[str, Any], encode: Callable[[V], Any], decode: Callable[[Any], V]) -> None:
        self._store = store
        self._encode = encode
        self._decode = decode

    def __getitem__(self, key: str) -> V:
        value = self._store[key]
        if value is None:
            raise KeyError(key)
        return self._decode(value)

    def __setitem__(self, key: str, value: V) -> None:
        self._store[key] = self._encode(value)

    def __delitem__(self, key: str) -> None:
        del self._store[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._store.keys()))

    def __len__(self) -> int:
        return len(self._store)


def sessions_view(table: MutableMapping[str, Any]) -> EncodedMapping[Session]:
    return EncodedMapping(table, session_to_record, session_from_record)


def pending_view(table: MutableMapping[str, Any]) -> EncodedMapping[PendingAlert]:
    return EncodedMapping(table, pending_to_record, pending_from_record)


def last_alerts_view(table: MutableMapping[str, Any]) -> EncodedMapping[datetime]:
    return EncodedMapping(table, datetime.isoformat, datetime.fromisoformat)
