"""Visit state under at-least-once delivery: the same hit twice, stragglers, and the worker's
one-record-per-account state that reaches its table only after the rows are stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from revisit.alerts.sessions import advance_session
from revisit.core.visit import PageView, Session
from revisit.kafka.expiry import ExpiryQueue
from revisit.kafka.progress import CommittedEventTimes
from revisit.kafka.records import AccountStateTable, last_alerts_field, sessions_field

GAP = timedelta(minutes=30)
T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


def stored(table: dict[str, bytes], account_id: str) -> dict:
    """A record as the table (and its changelog) holds it: JSON bytes."""
    return json.loads(table[account_id])


def test_the_same_page_at_the_same_second_is_counted_once() -> None:
    session = advance_session(None, "A1", PageView(T0, "/pricing", 5, "pricing"), GAP)
    later = advance_session(session, "A1", PageView(T0 + timedelta(minutes=1), "/contact", 8, "contact"), GAP)
    again = advance_session(later, "A1", PageView(T0, "/pricing", 5, "pricing"), GAP)
    assert again is later
    assert [page.path for page in again.pages] == ["/pricing", "/contact"]


def test_a_straggler_older_than_the_visit_by_a_gap_leaves_the_visit_alone() -> None:
    session = advance_session(None, "A1", PageView(T0, "/", 0, None), GAP)
    straggler = advance_session(session, "A1", PageView(T0 - timedelta(hours=5), "/pricing", 5, "pricing"), GAP)
    assert straggler is session
    late_but_close = advance_session(session, "A1", PageView(T0 - timedelta(minutes=5), "/pricing", 5, "pricing"), GAP)
    assert late_but_close.started_at == T0 - timedelta(minutes=5)
    assert late_but_close.session_id == session.session_id


def test_state_reaches_the_table_only_when_published() -> None:
    table: dict = {}
    states = AccountStateTable(table, {})
    sessions, last_alerts = sessions_field(states), last_alerts_field(states)
    sessions["A1"] = advance_session(None, "A1", PageView(T0, "/", 0, None), GAP)
    last_alerts["A1"] = T0
    assert table == {}  # nothing before the rows are stored
    assert last_alerts["A1"] == T0 and "A1" in sessions  # but the tracker reads its own writes
    snapshot = states.staged()
    last_alerts["A1"] = T0 + timedelta(hours=1)  # changed again while the rows were being written
    states.publish(snapshot)
    assert stored(table, "A1")["last_alert_at"] == T0.isoformat()  # one record per account, whole
    assert stored(table, "A1")["session"]["account_id"] == "A1"
    assert last_alerts["A1"] == T0 + timedelta(hours=1)  # the newer change is still staged
    states.publish(states.staged())
    assert stored(table, "A1")["last_alert_at"] == (T0 + timedelta(hours=1)).isoformat()
    assert states.staged() == {}
    del last_alerts["A1"]
    assert "A1" not in last_alerts and list(sessions) == ["A1"]


def sweep(states: AccountStateTable, watermarks: dict[int, datetime]) -> dict[str, list[str]]:
    """What the worker's sweep does: the due accounts from the expiry queue, their expired fields forgotten."""
    return states.forget_expired(watermarks, states.due_accounts(watermarks))


def test_state_of_ended_visits_is_forgotten_and_active_state_kept() -> None:
    table: dict = {}
    states = AccountStateTable(table, {"session": timedelta(minutes=90), "last_alert_at": timedelta(hours=25)})
    sessions, last_alerts = sessions_field(states), last_alerts_field(states)
    noon = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    for account, seen in (("old", noon - timedelta(hours=3)), ("recent", noon - timedelta(minutes=5))):
        sessions[account] = Session(f"s-{account}", account, seen, seen, (PageView(seen, "/"),), (), 0)
        last_alerts[account] = seen
    states.publish(states.staged())
    sessions["recent"] = sessions["recent"]  # staged, not yet stored: never swept
    assert sweep(states, {0: noon}) == {"old": ["session"]}
    assert "session" not in stored(table, "old") and "last_alert_at" in stored(table, "old")
    assert sweep(states, {0: noon}) == {}  # nothing more is due at the same time
    assert sweep(states, {0: noon + timedelta(days=2)}) == {"old": ["last_alert_at"]}
    assert "old" not in table and "recent" in table  # nothing left: the record itself goes
    states.publish(states.staged())  # the staged account is queued again when it is stored
    assert sweep(states, {0: noon + timedelta(days=2)}) == {"recent": ["session", "last_alert_at"]}
    assert table == {}


def test_a_visit_that_went_on_is_kept_when_its_first_due_time_comes() -> None:
    """The queue keeps an account's earliest due time; a visit that continued since is re-checked
    then, kept, and queued again at its new time."""
    table: dict = {}
    states = AccountStateTable(table, {"session": timedelta(minutes=30)})
    sessions = sessions_field(states)
    sessions["A1"] = advance_session(None, "A1", PageView(T0, "/", 0, None), GAP)
    states.publish(states.staged())
    sessions["A1"] = advance_session(
        sessions["A1"], "A1", PageView(T0 + timedelta(minutes=20), "/pricing", 5, "pricing"), GAP
    )
    states.publish(states.staged())
    assert sweep(states, {0: T0 + timedelta(minutes=40)}) == {}
    assert "A1" in table
    assert sweep(states, {0: T0 + timedelta(minutes=49)}) == {}
    assert sweep(states, {0: T0 + timedelta(minutes=51)}) == {"A1": ["session"]}


def test_recovered_state_is_swept_once_queued_again() -> None:
    """A table filled from its changelog was never published here: ``rebuild_expiry`` queues it."""
    noon = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    table = {
        account: json.dumps({"last_alert_at": (noon - age).isoformat(), "partition": 0}).encode()
        for account, age in (("gone", timedelta(days=3)), ("kept", timedelta(hours=1)))
    }
    states = AccountStateTable(table, {"last_alert_at": timedelta(hours=24)})
    assert sweep(states, {0: noon}) == {}  # not queued yet
    states.rebuild_expiry()
    assert sweep(states, {0: noon}) == {"gone": ["last_alert_at"]}
    assert list(table) == ["kept"]


def test_an_account_queued_many_times_leaves_one_live_entry_and_few_stale_ones() -> None:
    queue = ExpiryQueue()
    for minutes in range(5000, 0, -1):  # each time earlier: a new entry each time
        queue.schedule("A1", T0 + timedelta(minutes=minutes), 0)
    queue.schedule("A1", T0 + timedelta(days=9), 0)  # later than the queued time: nothing new
    assert len(queue) == 1 and queue.entries() < 1100  # stale entries are compacted away
    assert queue.pop_due({0: T0 + timedelta(seconds=59)}) == []
    assert queue.pop_due({0: T0 + timedelta(days=1)}) == ["A1"]  # once, though queued 5,000 times
    assert queue.pop_due({0: T0 + timedelta(days=10)}) == [] and len(queue) == 0


def test_each_account_is_judged_by_the_event_time_of_its_own_partition() -> None:
    """After a restart partition 1 may be re-reading the morning while partition 0 is already at
    night: the morning's visit and cooldown on partition 1 must not be forgotten meanwhile."""
    table: dict = {}
    states = AccountStateTable(
        table, {"session": timedelta(minutes=45), "last_alert_at": timedelta(hours=24, minutes=15)}
    )
    sessions, last_alerts = sessions_field(states), last_alerts_field(states)
    morning = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    for account, partition in (("fast", 0), ("slow", 1)):
        sessions[account] = Session(f"s-{account}", account, morning, morning, (PageView(morning, "/"),), (), 0)
        last_alerts[account] = morning
        states.note_partition(account, partition)
    states.publish(states.staged())
    night, a_bit_later = morning + timedelta(hours=12), morning + timedelta(minutes=10)
    assert sweep(states, {0: night}) == {"fast": ["session"]}  # partition 1 not read yet: kept
    assert sweep(states, {0: night, 1: a_bit_later}) == {}
    assert stored(table, "fast")["partition"] == 0 and "last_alert_at" in stored(table, "fast")
    assert sweep(states, {0: night + timedelta(days=1), 1: night}) == {"fast": ["last_alert_at"], "slow": ["session"]}
    assert "fast" not in table  # the partition alone is no state worth keeping
    states.note_partition("slow", 1)
    assert states.staged() == {}  # the same partition again changes nothing


def test_only_committed_events_move_the_time_the_sweep_judges_by() -> None:
    times = CommittedEventTimes()
    for offset, minutes in ((0, 0), (1, 5), (2, 3), (3, 60)):
        times.read(0, offset, T0 + timedelta(minutes=minutes))
    times.read(1, 0, T0)
    assert times.watermarks() == {}  # read, nothing committed
    times.commit([(0, 3)])  # offsets 0..2 committed: the newest of them, not the newest read
    assert times.watermarks() == {0: T0 + timedelta(minutes=5)}
    times.read(0, 2, T0 + timedelta(minutes=3))  # a rebalance: read again from offset 2
    times.read(0, 3, T0 + timedelta(minutes=60))
    times.commit([(0, 3), (1, 1)])
    assert times.watermarks() == {0: T0 + timedelta(minutes=5), 1: T0}
    times.commit([(0, 4)])
    assert times.watermarks()[0] == T0 + timedelta(minutes=60)


def test_records_read_or_written_lately_stay_decoded_until_the_table_holds_other_bytes() -> None:
    """Hits of several accounts alternate: each account's record is decoded once, not at every
    read, and what a store wrote is read back without decoding; bytes the table was given behind
    the state's back (recovery from the changelog) are decoded anew."""
    table: dict = {}
    states = AccountStateTable(table, {})
    last_alerts = last_alerts_field(states)
    for account_id in ("A1", "A2", "A3"):
        last_alerts[account_id] = T0
    states.publish(states.staged())
    first = states._read("A1")
    assert states._read("A2") is states._read("A2") and states._read("A3") is not None
    assert states._read("A1") is first  # A2 and A3 read in between
    table["A1"] = json.dumps({"last_alert_at": (T0 + timedelta(hours=1)).isoformat()}).encode()
    assert last_alerts["A1"] == T0 + timedelta(hours=1)
