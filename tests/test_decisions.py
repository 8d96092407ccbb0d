"""Dormancy tiers, intent scoring, sessions and the alert decision, all in event time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from revisit.alerts.approach import suggested_approach
from revisit.alerts.intent import PageScorer, PageWeight, score_of, with_page
from revisit.alerts.policy import ACTIVE, LOW_INTENT, decide_alert
from revisit.alerts.sessions import advance_session
from revisit.alerts.tracker import VisitTracker
from revisit.core.account import Account, DormancyReason, DormancyTier, Owner
from revisit.core.alert import Delivery
from revisit.core.config import DormancySettings, DormancyThresholds, PageRule, Settings
from revisit.core.hit import Hit
from revisit.core.match import AccountMatch, MatchMethod
from revisit.core.organization import Organization, OrgKind
from revisit.core.visit import PageView
from revisit.enrichment.accounts import parse_accounts
from revisit.enrichment.classify import MatchedHit
from revisit.enrichment.dormancy import dormancy_tier, months_between

JST = timezone(timedelta(hours=9))
AT = datetime(2026, 11, 20, 10, 0, tzinfo=JST)


def account(**fields) -> Account:
    values = dict(account_id="C-1", name="株式会社さくら精機", owner=Owner("山田 花子", "h@example.com", "U1"))
    values.update(fields)
    return Account(**values)


@pytest.mark.parametrize(
    "last_deal, tier",
    [
        (date(2026, 6, 1), DormancyTier.ACTIVE),  # 5 months
        (date(2026, 5, 21), DormancyTier.ACTIVE),  # one day short of 6 months
        (date(2026, 5, 20), DormancyTier.A),  # exactly 6 months
        (date(2025, 11, 21), DormancyTier.A),  # 11 months
        (date(2025, 11, 20), DormancyTier.B),  # 12 months
        (date(2024, 11, 21), DormancyTier.B),
        (date(2024, 11, 20), DormancyTier.C),  # 24 months
        (None, DormancyTier.C),  # no date at all
    ],
)
def test_tiers_at_event_time(last_deal: date | None, tier: DormancyTier) -> None:
    assert dormancy_tier(account(last_deal_at=last_deal), AT, DormancySettings()) is tier


def test_latest_of_deal_and_contact_counts() -> None:
    acct = account(last_deal_at=date(2023, 1, 1), last_contact_at=date(2026, 8, 1))
    assert dormancy_tier(acct, AT, DormancySettings()) is DormancyTier.ACTIVE


def test_same_account_judged_at_the_hit_time_not_now() -> None:
    acct = account(last_deal_at=date(2015, 1, 10))
    assert dormancy_tier(acct, datetime(2015, 5, 17, tzinfo=UTC), DormancySettings()) is DormancyTier.ACTIVE
    assert dormancy_tier(acct, datetime(2015, 9, 1, tzinfo=UTC), DormancySettings()) is DormancyTier.A


def test_thresholds_per_industry() -> None:
    consumables = DormancySettings(by_industry={"consumables": DormancyThresholds(2, 4, 12)})
    acct = account(last_deal_at=date(2026, 8, 1), industry="consumables")
    assert dormancy_tier(acct, AT, consumables) is DormancyTier.A
    assert dormancy_tier(account(last_deal_at=date(2026, 8, 1)), AT, consumables) is DormancyTier.ACTIVE


def test_months_between_handles_month_ends() -> None:
    assert months_between(date(2026, 1, 31), date(2026, 2, 28)) == 0
    assert months_between(date(2026, 1, 31), date(2026, 3, 31)) == 2


@pytest.mark.parametrize(
    "path, label",
    [
        ("/pricing", "pricing"),
        ("/en/pricing/enterprise", "pricing"),
        ("/contact", "contact"),
        ("/demo", "demo"),
        ("/free-trial", "trial"),
        ("/case-studies/acme", "case study"),
        ("/products/laser", "product"),
        ("/download/whitepaper.pdf", "document"),
        ("/webinar/2026", "seminar"),
        ("/%E6%96%99%E9%87%91", "pricing"),  # /料金, percent-encoded as it appears in the log
        ("/careers", None),
        ("/login", None),
        ("/blog/hello", None),
        ("/", None),
    ],
)
def test_default_page_rules(path: str, label: str | None) -> None:
    weight = PageScorer(Settings().intent.rules).weigh(path)
    assert weight.label == label
    assert (weight.weight >= Settings().intent.threshold) == (label is not None)


def test_configured_regex_rule_and_bad_rule() -> None:
    scorer = PageScorer([PageRule(r"^/projects/[a-z]+/?$", 20, "project", regex=True)])
    assert scorer.weigh("/projects/xdotool/") == PageWeight(20, "project")
    assert scorer.weigh("/projects/xdotool/docs") == PageWeight(0, None)
    with pytest.raises(ValueError, match="page rule"):
        PageScorer([PageRule("(", 1, "x", regex=True)])


def test_score_counts_each_label_once() -> None:
    best = ()
    for page in (
        PageWeight(30, "pricing"),
        PageWeight(30, "pricing"),
        PageWeight(40, "contact"),
        PageWeight(25, "pricing"),
        PageWeight(0, None),
    ):
        best = with_page(best, page)
    assert best == (("contact", 40), ("pricing", 30)) and score_of(best) == 70


def test_sessions_split_after_thirty_minutes_and_keep_visit_order() -> None:
    gap = timedelta(minutes=30)
    session = advance_session(None, "C-1", PageView(AT, "/", 0, None), gap)
    session = advance_session(session, "C-1", PageView(AT + timedelta(minutes=10), "/pricing", 30, "pricing"), gap)
    session = advance_session(session, "C-1", PageView(AT + timedelta(minutes=5), "/products/a", 15, "product"), gap)
    assert [p.path for p in session.pages] == ["/", "/products/a", "/pricing"]
    assert session.score == 45
    later = advance_session(session, "C-1", PageView(AT + timedelta(minutes=41), "/", 0, None), gap)
    assert later.started_at == AT + timedelta(minutes=41) and len(later.pages) == 1
    assert later.session_id != session.session_id


def matched(acct: Account, path: str, at: datetime) -> MatchedHit:
    hit = Hit("133.242.18.9", at, "GET", path, "", 200, 100, "", "Mozilla/5.0")
    org = Organization(acct.name, OrgKind.BUSINESS, "account_networks", 1.0, network="133.242.18.0/24")
    return MatchedHit(hit, org, AccountMatch(acct, MatchMethod.NETWORK, 1.0, "own network"), "line")


def test_an_alert_lists_the_labels_of_what_was_read_in_the_order_of_the_visit() -> None:
    """関心度 95（導入事例、料金、お問い合わせ）: the rep reads the visit as it went, not A-Z."""
    acct = account(last_deal_at=date(2026, 2, 14))
    tracker = VisitTracker(Settings())
    released = []
    for minutes, path in ((0, "/case-studies/a"), (1, "/pricing"), (2, "/contact"), (3, "/pricing")):
        released += tracker.observe(matched(acct, path, AT + timedelta(minutes=minutes))).released
    released += tracker.release_all()
    (alert,) = released
    assert alert.page_labels == ("case study", "pricing", "contact")


def test_alert_waits_for_the_visit_then_cooldown_holds() -> None:
    acct = account(last_deal_at=date(2026, 2, 14), dormancy_reason=DormancyReason.TIMING)
    tracker = VisitTracker(Settings())
    released = []
    for minutes, path in ((0, "/"), (1, "/pricing"), (3, "/contact"), (12, "/case-studies/a")):
        released += tracker.observe(matched(acct, path, AT + timedelta(minutes=minutes))).released
    (alert,) = released  # released once the 10-minute grouping window after /pricing passed
    # /case-studies/a came after the window (1 + 10 minutes): the alert went out without it
    assert alert.pages == ("/", "/pricing", "/contact")
    assert alert.score == 70 and alert.tier is DormancyTier.A and alert.delivery == Delivery.REALTIME
    assert alert.first_seen == AT
    # back the same evening: inside the 24 h cooldown, history only
    evening = [tracker.observe(matched(acct, "/pricing", AT + timedelta(hours=8, minutes=m))).released for m in (0, 15)]
    assert evening == [[], []] and tracker.release_all() == []
    # the next day, after the cooldown, a new visit alerts again with a different id
    tracker.observe(matched(acct, "/contact", AT + timedelta(hours=25)))
    (next_day,) = tracker.release_all()
    assert next_day.alert_id != alert.alert_id


def test_alert_ids_are_stable_across_runs() -> None:
    acct = account(last_deal_at=date(2025, 1, 1))
    ids = []
    for _run in range(2):
        tracker = VisitTracker(Settings())
        tracker.observe(matched(acct, "/pricing", AT))
        ids.append(tracker.release_all()[0].alert_id)
    assert ids[0] == ids[1]


def test_active_customers_and_weak_visits_do_not_alert() -> None:
    settings = Settings()
    active = account(last_deal_at=date(2026, 10, 1))
    tracker = VisitTracker(settings)
    tracker.observe(matched(active, "/pricing", AT))
    tracker.observe(matched(account(account_id="C-2", last_deal_at=date(2024, 1, 1)), "/careers", AT))
    assert tracker.release_all() == []
    assert tracker.decisions == {ACTIVE: 1, LOW_INTENT: 1}


def test_tier_c_goes_to_the_digest_with_a_light_touch() -> None:
    acct = account(last_deal_at=date(2022, 3, 18), dormancy_reason=DormancyReason.CAMPAIGN)
    session = advance_session(None, acct.account_id, PageView(AT, "/pricing", 30, "pricing"), timedelta(minutes=30))
    hit = matched(acct, "/pricing", AT)
    decision = decide_alert(acct, hit.match, hit.organization, session, AT, None, Settings())
    assert decision.alert.delivery == Delivery.DIGEST and decision.alert.tier is DormancyTier.C
    # the light version of the campaign reason's step: no pitch beside "keep it light"
    assert "季節のご挨拶" in decision.alert.approach and "値引きの案内は控え" in decision.alert.approach


def test_tier_b_apologises_only_after_a_lost_deal_or_a_complaint() -> None:
    """Tier B rebuilds the relationship: repaired with an apology after a lost deal (the list's
    lost_deal_at) or when the reason is dissatisfied; otherwise it asks after them, with nothing to
    apologise for, and nothing called "repair" (README-user finding: 関係修復 after bad timing)."""
    session = advance_session(None, "C-1", PageView(AT, "/pricing", 30, "pricing"), timedelta(minutes=30))

    def approach(**fields: object) -> str:
        acct = account(last_deal_at=date(2025, 6, 1), **fields)
        hit = matched(acct, "/pricing", AT)
        alert = decide_alert(acct, hit.match, hit.organization, session, AT, None, Settings()).alert
        assert alert.tier is DormancyTier.B
        return alert.approach

    assert approach(dormancy_reason=DormancyReason.TIMING) == (
        "関係の再構築から始めましょう。これまでの取引の経緯を確認したうえで、近況伺いから連絡を再開します。"
        "前回はタイミングが合いませんでした。今だからこそ提供できる新しい情報・提案を用意します。"
    )
    apology = (
        "関係の修復から始めましょう。前回の経緯（失注理由やご不満の内容）を確認し、まずはお詫びを添えて連絡します。"
    )
    assert approach(dormancy_reason=DormancyReason.TIMING, lost_deal_at=date(2025, 7, 1)).startswith(apology)
    assert approach(dormancy_reason=DormancyReason.DISSATISFIED).startswith(apology)
    assert suggested_approach(DormancyTier.B, DormancyReason.FORGOTTEN, "en") == (
        "Start by rebuilding the relationship: review the history of the account, then get back in touch by asking "
        "how they are doing. They may simply have forgotten us: remind them what they used and what we offer today."
    )
    assert suggested_approach(DormancyTier.B, DormancyReason.COMPETITOR, "en", lost_deal=True).startswith(
        "Start by repairing the relationship: review what went wrong last time (the lost deal, the complaint) "
        "and open with an apology. "
    )
    assert "お詫び" not in suggested_approach(DormancyTier.A, DormancyReason.DISSATISFIED, "ja", lost_deal=True)


def test_an_owner_who_reads_english_gets_english_alerts_from_a_japanese_team() -> None:
    """alerts.locale is the team's language (ja); a rep of a foreign office reads English."""
    rows = parse_accounts(
        "account_id,name,owner_name,owner_email,owner_locale,last_deal_at,dormancy_reason\n"
        "C-1,株式会社さくら精機,山田 花子,h@example.com,,2025-06-30,timing\n"
        "C-2,ミナト物流㈱,Jane Smith,j@example.com,EN,2025-06-30,timing\n"
    )
    assert [a.owner.locale for a in rows] == ["", "en"]
    settings = Settings()
    assert settings.alerts.locale == "ja"
    alerts = {}
    for acct in rows:
        session = advance_session(None, acct.account_id, PageView(AT, "/pricing", 30, "pricing"), timedelta(minutes=30))
        hit = matched(acct, "/pricing", AT)
        alerts[acct.account_id] = decide_alert(acct, hit.match, hit.organization, session, AT, None, settings).alert
    assert alerts["C-1"].locale == "ja" and "今だからこそ" in alerts["C-1"].approach
    assert alerts["C-2"].locale == "en" and "new now" in alerts["C-2"].approach
    assert alerts["C-2"].opening_line.startswith(
        "Hello ミナト物流株式会社 team, it has been a while - this is Jane Smith."
    )


@pytest.mark.parametrize(
    "reason, ja, en",
    [
        (DormancyReason.FORGOTTEN, "思い出して", "remind"),
        (DormancyReason.DISSATISFIED, "改善した点", "improved"),
        (DormancyReason.TIMING, "今だからこそ", "new now"),
        (DormancyReason.COMPETITOR, "費用対効果", "cost-performance"),
        (DormancyReason.CAMPAIGN, "継続して得られるメリット", "lasting benefit"),
    ],
)
def test_approach_follows_the_reason(reason: DormancyReason, ja: str, en: str) -> None:
    assert ja in suggested_approach(DormancyTier.B, reason, "ja")
    assert en in suggested_approach(DormancyTier.B, reason, "en")
    step = "repairing" if reason is DormancyReason.DISSATISFIED else "rebuilding"
    assert f"Start by {step} the relationship" in suggested_approach(DormancyTier.B, reason, "en")


def test_alert_record_has_every_contract_field() -> None:
    acct = parse_accounts(
        "account_id,name,owner_name,owner_email,owner_slack,last_deal_at,lifetime_value,"
        "dormancy_reason\nC-9,ミナト物流㈱,佐藤,s@example.com,U09SATO00,2025-06-30,4200000,competitor\n"
    )[0]
    tracker = VisitTracker(Settings())
    tracker.observe(matched(acct, "/pricing", AT))
    record = tracker.release_all()[0].to_record()
    for key in (
        "alert_id",
        "account_id",
        "account_name",
        "tier",
        "score",
        "first_seen",
        "last_seen",
        "pages",
        "organization",
        "match",
        "owner",
        "dormancy_reason",
        "approach",
        "delivery",
    ):
        assert key in record, key
    assert record["first_seen"] == "2026-11-20T10:00:00+09:00"
    assert set(record["organization"]) >= {"name", "domain", "network", "source"}
    assert record["match"]["method"] == "network" and record["match"]["confidence"] == 1.0
    assert record["owner"] == {"name": "佐藤", "email": "s@example.com", "slack": "U09SATO00", "timezone": ""}
    assert (record["tier"], record["delivery"], record["dormancy_reason"]) == ("B", "realtime", "competitor")
    assert record["priority"] == "medium"
