"""The event-time model (README, "Event time"): hits taken in event-time order within
``stream.max_disorder_seconds``, grouping windows closed when the watermark passes them, late hits
counted and taken as they come."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from revisit.alerts.tracker import Advance, VisitTracker
from revisit.core.account import DormancyReason
from revisit.core.alert import Alert
from revisit.core.config import Settings, StreamSettings
from revisit.kafka.event_order import RawWatermarks
from revisit.kafka.progress import CommittedEventTimes
from revisit.kafka.release import HeldAlertIndex, Lows, LowWatermarks, WaitingIndex, WatermarkReport
from tests.test_decisions import AT, account, matched

ACCOUNT = account(last_deal_at=date(2025, 1, 1), dormancy_reason=DormancyReason.TIMING)
OTHER = account(account_id="C-2", name="株式会社みなと物産", last_deal_at=date(2024, 1, 1))


def visit(minutes_and_paths: list[tuple[float, str]], acct=ACCOUNT) -> list:
    """Matched hits, each with a raw line of its own (the order of hits at one second follows it)."""
    hits = [matched(acct, path, AT + timedelta(minutes=minutes)) for minutes, path in minutes_and_paths]
    return [replace(hit, raw_line=f"{hit.hit.client_ip} {hit.hit.timestamp} {hit.hit.path}") for hit in hits]


def offer_all(tracker: VisitTracker, hits: list) -> tuple[list[str], list[Alert]]:
    """(paths in the order they were taken, alerts released), the end of input included."""
    taken: list[str] = []
    released: list[Alert] = []

    def add(advance: Advance) -> None:
        taken.extend(step.matched.hit.path for step in advance.steps)
        released.extend(advance.released)

    for number, hit in enumerate(hits):
        add(tracker.offer(f"k{number}", hit))
    add(tracker.finish())
    return taken, released


def test_hits_out_of_order_within_the_bound_give_the_in_order_alert() -> None:
    in_order = visit([(0, "/"), (0.5, "/products/a"), (1, "/pricing"), (3, "/contact")])
    # the first page comes 50 s after the second (another web server's log, read later)
    shuffled = [in_order[1], in_order[0], in_order[2], in_order[3]]
    expected = offer_all(VisitTracker(Settings()), in_order)
    taken, released = offer_all(VisitTracker(Settings()), shuffled)
    assert taken == ["/", "/products/a", "/pricing", "/contact"] == expected[0]
    (alert,) = released
    assert alert == expected[1][0]
    assert alert.first_seen == AT and alert.pages == ("/", "/products/a", "/pricing", "/contact")


def test_the_window_closes_when_the_watermark_passes_it_not_on_the_accounts_next_hit() -> None:
    tracker = VisitTracker(Settings())
    for number, hit in enumerate(visit([(0, "/"), (1, "/pricing")])):
        assert tracker.offer(f"a{number}", hit).released == []
    # another account's hits move event time on: at 11:00 + 60 s of disorder the window (1 + 10 min) is over
    assert tracker.offer("b1", visit([(11.5, "/")], OTHER)[0]).released == []
    closing = tracker.offer("b2", visit([(12, "/")], OTHER)[0])
    (alert,) = closing.released
    assert alert.pages == ("/", "/pricing") and alert.last_seen == AT + timedelta(minutes=1)
    # the account's own page after the window stays in its visit but not in the alert gone out
    after = tracker.offer("a2", visit([(12.5, "/contact")])[0])
    assert after.released == [] and tracker.finish().released == []
    assert tracker.late_events == 0


def test_a_page_exactly_at_the_window_end_is_not_in_the_alert() -> None:
    _taken, (alert,) = offer_all(VisitTracker(Settings()), visit([(1, "/pricing"), (10.9, "/"), (11, "/contact")]))
    assert alert.pages == ("/pricing", "/")


def test_hits_at_the_same_second_are_taken_in_one_order_whatever_their_arrival() -> None:
    same_second = visit([(1, "/pricing"), (1, "/contact"), (1, "/products/a")])
    orders = {
        tuple(offer_all(VisitTracker(Settings()), list(arrival))[1][0].pages)
        for arrival in (same_second, same_second[::-1], [same_second[1], same_second[2], same_second[0]])
    }
    assert len(orders) == 1


def test_a_hit_later_than_the_bound_is_counted_and_taken_as_it_comes() -> None:
    settings = replace(Settings(), stream=StreamSettings(max_disorder_seconds=60))
    tracker = VisitTracker(settings)
    hits = visit([(5, "/"), (0, "/pricing")])  # /pricing comes five minutes of event time late
    taken, (alert,) = offer_all(tracker, hits)
    assert tracker.late_events == 1
    # the rule: taken at once with its own time, into the visit that is open (never dropped)
    assert taken == ["/pricing", "/"] and alert.pages == ("/pricing", "/")


def test_a_hit_later_than_a_visit_gap_is_kept_without_the_visit_in_progress() -> None:
    """Two servers' backlogs shipped out of step (found by a new user, 2026-12-02): a page an hour
    before the visit in progress came late. It is kept as a hit only: not in that visit (which
    then held an hour without a page), not in its alert, no alert decided on it."""
    tracker = VisitTracker(replace(Settings(), stream=StreamSettings(max_disorder_seconds=60)))
    # /contact (12:00) comes after 13:00 and 13:01 were taken (13:03 moved the watermark past them)
    hits = visit([(60, "/"), (61, "/pricing"), (63, "/products/a"), (0, "/contact")])
    steps = [step for number, hit in enumerate(hits) for step in tracker.offer(f"k{number}", hit).steps]
    steps += tracker.finish().steps
    assert tracker.late_events == 1
    assert [(step.matched.hit.path, step.session is None) for step in steps] == [
        ("/", False),
        ("/pricing", False),
        ("/contact", True),
        ("/products/a", False),
    ]
    visit_in_progress = steps[1].session
    assert visit_in_progress is not None and visit_in_progress.started_at == AT + timedelta(minutes=60)
    assert [page.path for page in tracker.sessions[ACCOUNT.account_id].pages] == ["/", "/pricing", "/products/a"]


def test_no_disorder_allowed_takes_each_hit_at_once() -> None:
    tracker = VisitTracker(replace(Settings(), stream=StreamSettings(max_disorder_seconds=0)))
    first = tracker.offer("k1", visit([(0, "/pricing")])[0])
    assert [step.matched.hit.path for step in first.steps] == []  # the watermark equals it: not yet older
    second = tracker.offer("k2", visit([(0.1, "/")])[0])
    assert [step.matched.hit.path for step in second.steps] == ["/pricing"]


def test_the_classify_stages_low_watermark_follows_its_slowest_raw_partition() -> None:
    """One company behind three addresses on three raw partitions, each read a batch at a time: the
    stage's low watermark (what its markers tell the tracker) is the slowest partition's newest
    event time − 60 s, waits for every partition's first line, and never moves back."""
    clock: RawWatermarks[int] = RawWatermarks(timedelta(seconds=60), idle_seconds=10.0)
    clock.assign({1, 2, 3}, now=0.0)
    at = [AT + timedelta(minutes=m) for m in range(6)]
    clock.saw(3, at[4], now=0.1)  # partition 3 is read first; 1 and 2 are unread
    assert clock.advance(now=0.1) is None and not clock.is_late(at[0])
    clock.saw(1, at[3], now=0.2)
    clock.saw(2, at[5], now=0.3)
    assert clock.advance(now=0.3) == at[3] - timedelta(seconds=60)
    # a hit the watermark has passed is late (counted; the tracker takes it as it comes)
    assert clock.is_late(at[1]) and not clock.is_late(at[2]) and clock.late == 1
    # partitions 3 and 1 idle: partition 2 alone counts (minute 5)
    assert clock.advance(now=10.2) == at[5] - timedelta(seconds=60)
    # a partition's new owner restarting further back does not move it back
    clock.saw(1, at[0], now=10.25)
    assert clock.advance(now=10.25) == at[5] - timedelta(seconds=60)
    # every partition idle: all that was read has been sent
    assert clock.advance(now=10.3 + 10) == at[5] + timedelta(microseconds=1)


def test_an_idle_raw_partition_stops_holding_the_watermark_back() -> None:
    clock: RawWatermarks[int] = RawWatermarks(timedelta(seconds=60), idle_seconds=10.0)
    clock.assign({0, 1}, now=0.0)  # partition 1 never gives a line
    clock.saw(0, AT, now=1.0)
    clock.saw(0, AT + timedelta(minutes=5), now=9.0)
    assert clock.advance(now=9.5) is None  # partition 1 may still hold older lines
    # idle since its assignment 10 s ago: partition 0 alone counts
    assert clock.advance(now=10.0) == AT + timedelta(minutes=4)
    clock.keep({1})  # partition 0 went to another worker: its clock goes with it
    assert clock.low_watermark(now=10.5) is None


def test_the_sweep_judges_a_matched_partition_by_its_slowest_classify_stage() -> None:
    """Two classify stages write to one matched partition, one far ahead in event time while a
    backlog is read: state is forgotten by the slower one's low watermark, not the newest hit."""
    times = CommittedEventTimes()
    ahead, behind = AT + timedelta(hours=8), AT + timedelta(minutes=5)
    times.read(0, 1, AT + timedelta(minutes=6), ((0, 1), behind))
    times.read(0, 2, ahead, ((2, 3), ahead - timedelta(minutes=1)))
    times.commit([(0, 3)])
    assert times.watermarks() == {0: behind}


def test_markers_after_the_last_hit_move_the_committed_watermark_once_committed() -> None:
    """The last hit of a log was sent while another raw partition, read to its end early, held the
    stage's low watermark an hour back: the markers that follow say every hit below the newest
    time was sent, and the sweep may judge by that once they are committed (not before)."""
    times = CommittedEventTimes()
    last_hit, held_back = AT + timedelta(hours=30), AT + timedelta(hours=29)
    times.read(0, 7, last_hit, ((0, 1), held_back))
    times.commit([(0, 8)])
    assert times.watermarks() == {0: held_back}
    times.read_marker(0, 8, ((0, 1), last_hit + timedelta(microseconds=1)))
    assert times.watermarks() == {0: held_back}  # read, not committed: a crash would read it again
    times.commit([(0, 9)])
    assert times.watermarks() == {0: last_hit}  # no later than the newest hit committed


def test_a_marker_before_any_hit_sets_no_committed_time() -> None:
    times = CommittedEventTimes()
    times.read_marker(3, 0, ((0,), AT))
    times.commit([(3, 1)])
    assert times.watermarks() == {}
    times.read(3, 1, AT + timedelta(minutes=1), ((0,), AT))
    times.commit([(3, 2)])
    assert times.watermarks() == {3: AT}


def test_held_alerts_may_close_by_wall_clock_only_once_every_raw_partition_is_idle() -> None:
    clock: RawWatermarks[int] = RawWatermarks(timedelta(seconds=60), idle_seconds=10.0)
    clock.assign({0, 1}, now=0.0)
    clock.saw(0, AT, now=1.0)
    clock.saw(1, AT + timedelta(minutes=5), now=1.0)
    clock.advance(now=1.0)
    wall = AT + timedelta(days=30)  # a backlog: its event times lie far behind the clock
    assert clock.release_watermark(now=1.0, wall_now=wall) == AT + timedelta(minutes=-1)  # the hits' watermark
    # both idle: a quiet site's held alert closes by the clock; the hits wait for no one either
    assert clock.release_watermark(now=11.0, wall_now=wall) == wall - timedelta(seconds=60)
    assert clock.advance(now=11.0) == AT + timedelta(minutes=5, microseconds=1)


def test_the_tracker_goes_by_the_lowest_watermarks_of_every_raw_partition() -> None:
    marks = LowWatermarks(idle_seconds=10.0)
    minutes = [AT + timedelta(minutes=m) for m in range(12)]
    # a stage owning raw partitions 0 and 1 of 4: partitions 2 and 3 may still send older hits
    assert marks.report(5, WatermarkReport((0, 1), 4, minutes[5], minutes[4]), now=0.0) == Lows(None, None)
    # the other stage has sent no hit yet: alerts may close up to minute 3, no hit is taken
    assert marks.report(5, WatermarkReport((2, 3), 4, minutes[3], None), now=1.0) == Lows(None, minutes[3])
    assert marks.report(5, WatermarkReport((2, 3), 4, minutes[9], minutes[8]), now=2.0) == Lows(minutes[4], minutes[5])
    # a raw partition's new owner starts further back: the watermarks do not move back
    assert marks.report(5, WatermarkReport((0, 1), 4, minutes[1], minutes[0]), now=3.0) == Lows(minutes[4], minutes[5])
    assert marks.lows(5) == Lows(minutes[4], minutes[5]) and marks.lows(6) == Lows(None, None)
    # a stage whose partitions are all idle has sent all it read: the other one alone holds hits back
    assert marks.report(5, WatermarkReport((0, 1), 4, minutes[9], minutes[7], idle=True), now=4.0) == Lows(
        minutes[8], minutes[9]
    )
    # both idle: every stage has sent all it read, so the highest goes
    assert marks.report(5, WatermarkReport((2, 3), 4, minutes[11], minutes[10], idle=True), now=5.0) == Lows(
        minutes[10], minutes[9], idle=True
    )
    lonely = LowWatermarks(idle_seconds=10.0)  # no other stage reports: after the idle time it counts alone
    assert lonely.report(0, WatermarkReport((0,), 2, AT, AT), now=0.0) == Lows(None, None)
    assert lonely.report(0, WatermarkReport((0,), 2, AT, AT), now=10.0) == Lows(AT, AT)


def test_held_alerts_and_waiting_hits_come_up_by_their_time_per_matched_partition() -> None:
    held = HeldAlertIndex(timedelta(minutes=10))
    held.hold(5, AT, "C-1")
    held.hold(5, AT + timedelta(minutes=1), "C-2")
    held.hold(6, AT, "C-3")
    assert held.due(5, AT + timedelta(minutes=10)) == ["C-1"]  # a window ending at the watermark is closed
    assert held.due(5, AT + timedelta(minutes=10)) == [] and held.due(6, AT + timedelta(minutes=11)) == ["C-3"]
    assert held.closed("C-1") == AT + timedelta(minutes=10) and held.closed("C-1") is None
    waiting = WaitingIndex()
    waiting.wait(5, AT, "C-1")
    waiting.wait(5, AT + timedelta(minutes=1), "C-2")
    assert waiting.due(5, AT) == [] and waiting.due(5, AT + timedelta(seconds=61)) == ["C-1", "C-2"]


def test_a_marker_takes_a_slice_of_what_came_due_earliest_first() -> None:
    """When every raw partition goes idle the watermarks jump and a minute of alerts comes due at
    once: a marker takes at most ``limit`` accounts, the earliest window (or waiting hit) first,
    also across records that name no partition, and leaves the rest for the next marker."""
    held = HeldAlertIndex(timedelta(minutes=10))
    for minute, account_id in [(3, "C-4"), (0, "C-1"), (2, "C-3"), (1, "C-2")]:
        held.hold(5, AT + timedelta(minutes=minute), account_id)
    held.hold(None, AT + timedelta(seconds=90), "C-9")  # a record of an older version: no partition
    end = AT + timedelta(minutes=20)
    assert held.due(5, end, limit=2) == ["C-1", "C-2"]
    assert held.due(5, end, limit=2) == ["C-9", "C-3"]
    assert held.due(5, end, limit=2) == ["C-4"] and held.due(5, end, limit=2) == []
    waiting = WaitingIndex()
    waiting.wait(5, AT + timedelta(seconds=2), "C-2")
    waiting.wait(5, AT, "C-1")
    waiting.wait(5, AT + timedelta(seconds=1), "C-1")  # an account's next hit: one entry of the slice
    waiting.wait(5, AT + timedelta(seconds=3), "C-3")
    assert waiting.due(5, AT + timedelta(minutes=1), limit=2) == ["C-1", "C-2"]
    assert waiting.due(5, AT + timedelta(minutes=1), limit=2) == ["C-3"]


def test_a_live_partition_read_to_its_end_moves_the_watermark_with_the_clock() -> None:
    """Live input (within the allowed disorder of the clock) read to its end at wall time c gives
    no line older than c - 60 s, so the watermark is c - 60 s, not the newest line - 60 s, and
    keeps following the clock when the traffic stops, before the partitions turn idle. A backlog,
    far behind the clock, goes by its own event time however fast it is read."""
    clock: RawWatermarks[int] = RawWatermarks(timedelta(seconds=60), idle_seconds=10.0)
    clock.assign({0, 1}, now=0.0)
    wall = AT + timedelta(hours=1)
    clock.saw(0, wall - timedelta(seconds=2), now=1.0)  # the newest lines, 2 s and 1 s behind the clock
    clock.saw(1, wall - timedelta(seconds=1), now=1.0)
    assert clock.advance(now=1.0) == wall - timedelta(seconds=62)  # not known read to the end yet
    clock.caught_up(0, wall)
    clock.caught_up(1, wall - timedelta(seconds=0.5))
    assert clock.advance(now=1.0) == wall - timedelta(seconds=60.5)
    assert clock.release_watermark(now=1.0, wall_now=wall) == wall - timedelta(seconds=60.5)
    # the traffic stops: 5 s later nothing new was read, both partitions read to their end again
    clock.caught_up(0, wall + timedelta(seconds=5))
    clock.caught_up(1, wall + timedelta(seconds=5))
    assert clock.advance(now=6.0) == wall - timedelta(seconds=55)
    # a late line (shipped more than 60 s after its time) is late for the hits too
    assert clock.is_late(wall - timedelta(seconds=56)) and not clock.is_late(wall - timedelta(seconds=55))

    backlog: RawWatermarks[int] = RawWatermarks(timedelta(seconds=60), idle_seconds=10.0)
    backlog.assign({0}, now=0.0)
    backlog.saw(0, AT, now=1.0)  # an hour behind the clock, read to its end all the same
    backlog.caught_up(0, wall)
    assert backlog.advance(now=1.0) == AT - timedelta(seconds=60)
    assert backlog.release_watermark(now=1.0, wall_now=wall) == AT - timedelta(seconds=60)
