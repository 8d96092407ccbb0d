"""The event-time model (README, "Event time"): hits taken in event-time order within
``stream.max_disorder_seconds``, grouping windows closed when the watermark passes them, late hits
counted and taken as they come."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from revisit.alerts.policy import Alert
from revisit.alerts.tracker import Advance, VisitTracker
from revisit.core.config import Settings, StreamSettings
from revisit.enrichment.accounts import DormancyReason
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


def test_no_disorder_allowed_takes_each_hit_at_once() -> None:
    tracker = VisitTracker(replace(Settings(), stream=StreamSettings(max_disorder_seconds=0)))
    first = tracker.offer("k1", visit([(0, "/pricing")])[0])
    assert [step.matched.hit.path for step in first.steps] == []  # the watermark equals it: not yet older
    second = tracker.offer("k2", visit([(0.1, "/")])[0])
    assert [step.matched.hit.path for step in second.steps] == ["/pricing"]
