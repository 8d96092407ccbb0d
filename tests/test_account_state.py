"""Visit state under at-least-once delivery: the same hit twice, stragglers, and the worker's
one-record-per-account state that reaches its table only after the rows are stored."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from stream.progress import CommittedEventTimes
from stream.records import AccountStateTable, last_alerts_field, sessions_field
from stream.sessions import PageView, Session, advance_session

GAP = timedelta(minutes=30)
T0 = datetime(2026, 5, 1, 10, 0, tzinfo=timezone.utc)


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
    states = AccountStateTable(table)
    sessions, last_alerts = sessions_field(states), last_alerts_field(states)
    sessions["A1"] = advance_session(None, "A1", PageView(T0, "/", 0, None), GAP)
    last_alerts["A1"] = T0
    assert table == {}  # nothing before the rows are stored
    assert last_alerts["A1"] == T0 and "A1" in sessions  # but the tracker reads its own writes
    snapshot = states.staged()
    last_alerts["A1"] = T0 + timedelta(hours=1)  # changed again while the rows were being written
    states.publish(snapshot)
    assert table["A1"]["last_alert_at"] == T0.isoformat()  # one record per account, whole
    assert table["A1"]["session"]["account_id"] == "A1"
    assert last_alerts["A1"] == T0 + timedelta(hours=1)  # the newer change is still staged
    states.publish(states.staged())
    assert table["A1"]["last_alert_at"] == (T0 + timedelta(hours=1)).isoformat()
    assert states.staged() == {}
    del last_alerts["A1"]
    assert "A1" not in last_alerts and list(sessions) == ["A1"]


def test_state_of_ended_visits_is_forgotten_and_active_state_kept() -> None:
    table: dict = {}
    states = AccountStateTable(table)
    sessions, last_alerts = sessions_field(states), last_alerts_field(states)
    noon = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
    for account, seen in (("old", noon - timedelta(hours=3)), ("recent", noon - timedelta(minutes=5))):
        sessions[account] = Session(f"s-{account}", account, seen, seen, (PageView(seen, "/"),), (), 0)
        last_alerts[account] = seen
    states.publish(states.staged())
    horizons = {"session": timedelta(minutes=90), "last_alert_at": timedelta(hours=25)}
    assert states.expired({0: noon}, horizons) == {"old": ["session"]}
    sessions["recent"] = sessions["recent"]  # staged, not yet stored: never swept
    states.forget("old", ["session"])
    assert "session" not in table["old"] and "last_alert_at" in table["old"]
    assert states.expired({0: noon + timedelta(days=2)}, horizons) == {"old": ["last_alert_at"]}
    states.forget("old", ["last_alert_at"])
    assert "old" not in table and "recent" in table  # nothing left: the record itself goes


def test_each_account_is_judged_by_the_event_time_of_its_own_partition() -> None:
    """After a restart partition 1 may be re-reading the morning while partition 0 is already at
    night: the morning's visit and cooldown on partition 1 must not be forgotten meanwhile."""
    table: dict = {}
    states = AccountStateTable(table)
    sessions, last_alerts = sessions_field(states), last_alerts_field(states)
    morning = datetime(2026, 5, 1, 9, 0, tzinfo=timezone.utc)
    for account, partition in (("fast", 0), ("slow", 1)):
        sessions[account] = Session(f"s-{account}", account, morning, morning, (PageView(morning, "/"),), (), 0)
        last_alerts[account] = morning
        states.note_partition(account, partition)
    states.publish(states.staged())
    horizons = {"session": timedelta(minutes=45), "last_alert_at": timedelta(hours=24, minutes=15)}
    night, a_bit_later = morning + timedelta(hours=12), morning + timedelta(minutes=10)
    assert states.expired({0: night, 1: a_bit_later}, horizons) == {"fast": ["session"]}
    assert states.expired({0: night}, horizons) == {"fast": ["session"]}  # partition 1 not read yet: kept
    states.forget("fast", ["session"])
    assert table["fast"]["partition"] == 0 and "last_alert_at" in table["fast"]
    assert states.expired({0: night + timedelta(days=1), 1: night}, horizons) == {
        "fast": ["last_alert_at"], "slow": ["session"]}
    states.forget("fast", ["last_alert_at"])
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
