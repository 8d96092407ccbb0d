"""JSON forms of the values that cross process boundaries in streaming mode: matched hits on the
re-keyed topic, sessions, held alerts and last alert times in the worker's tables.

Explicit codecs rather than pickle: the topics and changelogs stay readable with any Kafka tool, and
a message can never run code when it is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from datetime import datetime, timedelta
from typing import (
    Any,
    Generic,
    TypeVar,
)

import orjson

from revisit.alerts.tracker import PendingAlert
from revisit.core.alert import Alert
from revisit.core.hit import Hit
from revisit.core.match import AccountMatch, MatchMethod
from revisit.core.organization import organization_from_record, organization_record
from revisit.core.visit import PageView, Session
from revisit.enrichment.classify import MatchedHit
from revisit.enrichment.match import AccountIndex
from revisit.kafka.expiry import ExpiryQueue, watermark_of
from revisit.kafka.release import WatermarkReport


class UnknownAccount(LookupError):
    """A matched hit names an account this worker's list does not hold (the lists differ)."""


def matched_to_record(matched: MatchedHit, hit_key: str) -> dict[str, Any]:
    hit = matched.hit
    return {
        "hit_key": hit_key,
        "account_id": matched.match.account.account_id,
        "hit": [
            hit.client_ip,
            hit.timestamp.isoformat(),
            hit.method,
            hit.path,
            hit.query,
            hit.status,
            hit.size,
            hit.referrer,
            hit.user_agent,
            hit.vhost,
        ],
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
    return record["hit_key"], MatchedHit(
        hit, organization_from_record(record["organization"]), match, record["raw_line"]
    )


def with_source(record: dict[str, Any], raw_partitions: Iterable[int], watermark: datetime | None) -> dict[str, Any]:
    """The record naming the classify stage it came from: its raw partitions and low watermark."""
    if watermark is None:
        return record
    return {**record, "source": {"raw_partitions": sorted(raw_partitions), "watermark": watermark.isoformat()}}


def source_of(record: dict[str, Any]) -> tuple[tuple[int, ...], datetime] | None:
    source = record.get("source")
    if not isinstance(source, dict):
        return None
    return tuple(source["raw_partitions"]), datetime.fromisoformat(source["watermark"])


MARKER_KEY = b"~watermark"  # the key of watermark markers (an account id never starts with "~")


def watermark_marker(
    raw_partitions: Iterable[int], raw_count: int, watermark: datetime, hits_watermark: datetime | None, idle: bool
) -> dict[str, Any]:
    """What a classify stage sends to every matched partition about once a second: as far as its
    ``raw_partitions`` (of ``raw_count``) are concerned, every hit below ``hits_watermark`` has been
    sent (all it read, when they are ``idle``), and held alerts may close up to ``watermark``
    (README, "Event time")."""
    return {
        "marker": {
            "raw_partitions": sorted(raw_partitions),
            "raw_count": raw_count,
            "watermark": watermark.isoformat(),
            "hits_watermark": None if hits_watermark is None else hits_watermark.isoformat(),
            "idle": idle,
        }
    }


def marker_of(record: dict[str, Any]) -> WatermarkReport | None:
    marker = record.get("marker")
    if not isinstance(marker, dict):
        return None
    hits = marker.get("hits_watermark")
    return WatermarkReport(
        tuple(marker["raw_partitions"]),
        int(marker["raw_count"]),
        datetime.fromisoformat(marker["watermark"]),
        None if hits is None else datetime.fromisoformat(hits),
        marker.get("idle") is True,
    )


def waiting_order(record: dict[str, Any]) -> tuple[datetime, str]:
    """Where a matched record waiting in an account's state stands: (event time, raw line), the
    order replay takes the same hits in."""
    return datetime.fromisoformat(record["hit"][1]), record["raw_line"]


def session_to_record(session: Session) -> dict[str, Any]:
    return {
        "session_id": session.session_id,
        "account_id": session.account_id,
        "started_at": session.started_at.isoformat(),
        "last_seen": session.last_seen.isoformat(),
        "pages": [[p.at.isoformat(), p.path, p.weight, p.label] for p in session.pages],
        "best_by_label": [list(pair) for pair in session.best_by_label],
        "score": session.score,
    }


def session_from_record(record: dict[str, Any]) -> Session:
    return Session(
        record["session_id"],
        record["account_id"],
        datetime.fromisoformat(record["started_at"]),
        datetime.fromisoformat(record["last_seen"]),
        tuple(PageView(datetime.fromisoformat(at), path, weight, label) for at, path, weight, label in record["pages"]),
        tuple((label, weight) for label, weight in record["best_by_label"]),
        record["score"],
    )


def pending_to_record(pending: PendingAlert) -> dict[str, Any]:
    return {
        "alert": pending.alert.to_record(),
        "triggered_at": pending.triggered_at.isoformat(),
        "session_started_at": pending.session_started_at.isoformat(),
    }


def pending_from_record(record: dict[str, Any]) -> PendingAlert:
    return PendingAlert(
        Alert.from_record(record["alert"]),
        datetime.fromisoformat(record["triggered_at"]),
        datetime.fromisoformat(record["session_started_at"]),
    )


V = TypeVar("V")
DECODED_RECORDS = 256  # account records kept decoded beside their bytes (AccountStateTable._read)
PARTITION = "partition"  # in each account's state record: the partition its events arrive on


class AccountStateTable:
    """Each account's whole tracking state (session, held alert, last alert time) as one JSON
    record in one table, changed in memory per event and written to the table only after the
    database holds what those events caused.

    Why: the table's changelog is what a restarted worker starts from. If state reached it before
    the rows, a worker dying in between would leave state that already counts an alert the
    database never received, and the alert would be lost for good. Written afterwards, a crash
    only means re-reading events against the older state, which gives the same rows again (and
    the database ignores them by key). One record per account makes each write all or nothing.

    Staged values are kept decoded and encoded once per ``publish``, not once per event.
    ``VisitTracker`` sees the fields as separate mappings (``field``). Each stored record is
    queued by the time its state expires (``ExpiryQueue``), so forgetting costs what it forgets.

    The table holds each record as its JSON bytes, as the changelog does, not as dicts: a bytes
    object is one thing the garbage collector never looks at, a decoded session a dozen lists and
    dicts. With 70,000 accounts in state (24 h cooldowns) the decoded form made each full
    collection stop the worker for 0.4–0.5 s, which the p99 latency showed (soak, 2026-11-24).
    """

    def __init__(self, table: MutableMapping[str, bytes], horizons: Mapping[str, timedelta]) -> None:
        """``table``: account id → the record's JSON bytes. ``horizons``: field → how long after its
        own time that state still matters (see ``state_horizons``); older state is forgotten by
        ``forget_expired``."""
        self._table = table
        # the records read or written lately, decoded, with the bytes they came from (see _read)
        self._decoded: dict[str, tuple[bytes, dict[str, Any]]] = {}
        self._horizons = dict(horizons)
        self._expiry = ExpiryQueue()
        self._staged: dict[str, dict[str, Any]] = {}  # account → field → decoded value (None: removed)
        self._codecs: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {PARTITION: (int, int)}

    def note_partition(self, account_id: str, partition: int) -> None:
        """The partition the account's events arrive on: its state is judged by that partition's
        event time (see ``expired``). Staged like any change, so it costs nothing extra to store."""
        if self.get(account_id, PARTITION) != partition:
            self.set(account_id, PARTITION, partition)

    def field(self, name: str, encode: Callable[[V], Any], decode: Callable[[Any], V]) -> StateField[V]:
        self._codecs[name] = (encode, decode)
        return StateField(self, name)

    def get(self, account_id: str, name: str) -> Any:
        staged = self._staged.get(account_id)
        if staged is not None and name in staged:
            return staged[name]
        record = self._read(account_id)
        encoded = record.get(name) if record else None
        return None if encoded is None else self._codecs[name][1](encoded)

    def _read(self, account_id: str) -> dict[str, Any] | None:
        """The stored record, decoded (the last one read is kept while the table holds the same bytes)."""
        raw = self._table.get(account_id)
        if raw is None:
            return None
        kept = self._decoded.get(account_id)
        if kept is not None and kept[0] is raw:  # the table still holds these bytes (recovery replaces them)
            return kept[1]
        record = orjson.loads(raw)
        self._keep_decoded(account_id, raw, record)
        return record

    def _keep_decoded(self, account_id: str, raw: bytes, record: dict[str, Any]) -> None:
        """The last ``DECODED_RECORDS`` accounts read or written stay decoded: a hit reads its
        account's record up to four times, and the record it wrote at the last store is the one
        its next hit reads. Keeping only the last one read decoded each record again whenever
        hits of several accounts alternated (JSON was a fifth of the stateful stage's time while
        a backlog was stored, bench 2026-12-01); a few hundred decoded records are nothing to the
        garbage collector, unlike the whole table (see the class's docstring)."""
        decoded = self._decoded
        decoded.pop(account_id, None)
        decoded[account_id] = (raw, record)
        if len(decoded) > DECODED_RECORDS:
            del decoded[next(iter(decoded))]

    def _write(self, account_id: str, record: dict[str, Any]) -> None:
        raw = orjson.dumps(record)  # json.dumps(ensure_ascii=False, separators=(",", ":")) at ~1/10 the time
        self._table[account_id] = raw
        self._keep_decoded(account_id, raw, record)

    def set(self, account_id: str, name: str, value: Any) -> None:
        self._staged.setdefault(account_id, {})[name] = value

    def staged(self) -> dict[str, dict[str, Any]]:
        """The changes since the last ``publish`` (take this before storing their rows)."""
        return {account_id: dict(values) for account_id, values in self._staged.items()}

    def publish(self, changes: dict[str, dict[str, Any]]) -> None:
        """Write ``changes`` to the table; an account changed again since stays staged."""
        for account_id, values in changes.items():
            record = dict(self._read(account_id) or {})
            for name, value in values.items():
                record[name] = None if value is None else self._codecs[name][0](value)
            self._write(account_id, record)
            self._schedule(account_id, record)
            current = self._staged.get(account_id)
            if (
                current is not None
                and current.keys() == values.keys()
                and all(current[name] is value for name, value in values.items())
            ):
                del self._staged[account_id]

    def account_ids(self) -> list[str]:
        return list(dict.fromkeys([*self._table.keys(), *self._staged.keys()]))

    def stored_count(self) -> int:
        return len(self._table)

    def rebuild_expiry(self) -> None:
        """Schedules every stored record again: after the table was filled from its changelog
        (a start or a rebalance), which writes to it without passing through ``publish``."""
        self._expiry.clear()
        for account_id in list(self._table.keys()):
            record = self._read(account_id)
            if record:
                self._schedule(account_id, record)

    def stored(self, name: str) -> Iterator[tuple[str, int | None, Any]]:
        """(account id, its partition, the field as stored) of every stored record holding field
        ``name``: what a recovered worker rebuilds its indexes from."""
        for account_id in list(self._table.keys()):
            record = self._read(account_id)
            if record and record.get(name):
                yield account_id, record.get(PARTITION), record[name]

    def due_accounts(self, watermarks: Mapping[int, datetime]) -> list[str]:
        """Accounts whose state may have expired (``watermarks``: partition → newest event time
        known there for good), taken from the expiry queue: pass them to ``forget_expired``."""
        return self._expiry.pop_due(watermarks)

    def forget_expired(self, watermarks: Mapping[int, datetime], account_ids: Iterable[str]) -> dict[str, list[str]]:
        """Removes the fields of ``account_ids`` whose time is older than their horizon before the
        newest event time of the account's own partition, and returns them (account → fields).

        Per partition, because partitions advance unevenly: after a restart one may be re-reading
        yesterday while another is already at today, and a single watermark would forget the
        state of visits (and cooldowns) the slow partition is still in the middle of. An account
        whose partition has not been read yet is kept; one whose partition is unknown (a record of
        an older version) is judged by the slowest partition. An account with changes staged is
        left alone: its ``publish`` schedules it again. Whatever remains is scheduled again."""
        forgotten: dict[str, list[str]] = {}
        for account_id in account_ids:
            if account_id in self._staged:
                continue
            record = self._read(account_id)
            if not record:
                continue
            watermark = watermark_of(record.get(PARTITION), watermarks)
            names = (
                []
                if watermark is None
                else [
                    name
                    for name, horizon in self._horizons.items()
                    if record.get(name) is not None and watermark - _time_of_field(name, record[name]) > horizon
                ]
            )
            if names:
                self._forget(account_id, record, names)
                forgotten[account_id] = names
            else:
                self._schedule(account_id, record)
        return forgotten

    def _forget(self, account_id: str, record: dict[str, Any], names: list[str]) -> None:
        """A record with no state left is deleted (its changelog gets a tombstone), so the table
        holds only accounts whose state still matters."""
        kept = {k: v for k, v in record.items() if k not in names and v is not None}
        if kept.keys() - {PARTITION}:
            self._write(account_id, kept)
            self._schedule(account_id, kept)
        else:
            del self._table[account_id]
            self._expiry.unschedule(account_id)

    def _schedule(self, account_id: str, record: Mapping[str, Any]) -> None:
        """Queues the record at the time its earliest field expires (reading each field's time
        from its stored ISO text, without decoding whole records)."""
        due = min(
            (
                _time_of_field(name, record[name]) + horizon
                for name, horizon in self._horizons.items()
                if record.get(name) is not None
            ),
            default=None,
        )
        if due is not None:
            self._expiry.schedule(account_id, due, record.get(PARTITION))


def _time_of_field(name: str, encoded: Any) -> datetime:
    """The time a stored field is judged by: a session's last page, a held alert's trigger."""
    if name == "session":
        return datetime.fromisoformat(encoded["last_seen"])
    if name == "pending":
        return datetime.fromisoformat(encoded["triggered_at"])
    return datetime.fromisoformat(encoded)


class StateField(MutableMapping[str, V], Generic[V]):
    """One field of every account's state, as a mapping of account id → value."""

    def __init__(self, states: AccountStateTable, name: str) -> None:
        self._states = states
        self._name = name

    def __getitem__(self, account_id: str) -> V:
        value = self._states.get(account_id, self._name)
        if value is None:
            raise KeyError(account_id)
        return value

    def __setitem__(self, account_id: str, value: V) -> None:
        self._states.set(account_id, self._name, value)

    def __delitem__(self, account_id: str) -> None:
        if account_id not in self:
            raise KeyError(account_id)
        self._states.set(account_id, self._name, None)

    def __iter__(self) -> Iterator[str]:
        return iter([key for key in self._states.account_ids() if self._states.get(key, self._name) is not None])

    def __len__(self) -> int:
        return sum(1 for _ in self)


def sessions_field(states: AccountStateTable) -> StateField[Session]:
    return states.field("session", session_to_record, session_from_record)


def pending_field(states: AccountStateTable) -> StateField[PendingAlert]:
    return states.field("pending", pending_to_record, pending_from_record)


def waiting_field(states: AccountStateTable) -> StateField[list[dict[str, Any]]]:
    """Matched records of each account waiting for the low watermark, in ``waiting_order``."""
    return states.field("waiting", list, list)


def last_alerts_field(states: AccountStateTable) -> StateField[datetime]:
    return states.field("last_alert_at", datetime.isoformat, datetime.fromisoformat)
