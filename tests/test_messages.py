"""What a rep reads, rendered from one fixed alert in Japanese and English: exact texts, and the
README's examples (section "What a rep reads"), which this test keeps true.

``REVISIT_WRITE_README=1`` rewrites the README's block from the rendering (then review the diff).
"""

from __future__ import annotations

import itertools
import os
import unicodedata
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from revisit.alerts.approach import opening_line, suggested_approach
from revisit.alerts.render import _facts, digest_message, email_message, slack_blocks, slack_thread_reply
from revisit.core.account import DormancyReason, DormancyTier, Owner
from revisit.core.alert import Alert
from revisit.core.config import settings_from_mapping
from revisit.core.errors import BadInput
from revisit.core.organization import Organization, OrgKind
from tests.conftest import REPO

JST = timezone(timedelta(hours=9))
BEGIN, END = "<!-- rendered messages: tests/test_messages.py -->", "<!-- end of rendered messages -->"


def fixed_alert(locale: str) -> Alert:
    """A tier-A account back on pricing and case studies, nine months after its last deal."""
    start = datetime(2026, 11, 30, 10, 2, tzinfo=JST)
    minutes = (0, 3, 7, 12)
    labels = ("case study", "pricing", "contact")  # the order of the visit
    reason = DormancyReason.DISSATISFIED
    return Alert(
        alert_id="2f6a0c1e-5b7d-5c3e-9a41-7d2b8e0f4c11",
        account_id="C-1024",
        account_name="株式会社さくら精機" if locale == "ja" else "Sakura Seiki Co., Ltd.",
        tier=DormancyTier.A,
        score=95,
        first_seen=start,
        last_seen=start + timedelta(minutes=minutes[-1]),
        pages=("/", "/case-studies/kyoto-plant", "/pricing", "/contact"),
        page_labels=labels,
        page_times=tuple(start + timedelta(minutes=m) for m in minutes),
        organization=Organization("Sakura Seiki", OrgKind.BUSINESS, "account-network", 1.0, network="133.242.18.0/24"),
        match_method="network",
        match_confidence=1.0,
        match_detail="133.242.18.7 in 133.242.18.0/24",
        owner=Owner("山田 太郎" if locale == "ja" else "Taro Yamada", "yamada@example.co.jp", "U024BE7LH"),
        dormancy_reason=reason,
        approach=suggested_approach(DormancyTier.A, reason, locale),
        opening_line=opening_line(
            "株式会社さくら精機" if locale == "ja" else "Sakura Seiki",
            "山田" if locale == "ja" else "Taro",
            locale,
            labels,
            reason,
        ),
        delivery="realtime",
        priority="medium",
        lifetime_value=Decimal("4800000"),
        last_deal_at="2026-02-20",
        last_contact_at="2025-12-01",
        lost_deal_at="2026-03-10",
        locale=locale,
    )


def slack_text(alert: Alert) -> str:
    """The Slack message as its blocks' text, in order (what the rep reads in the app)."""
    text, blocks = slack_blocks(
        alert, "https://revisit.example/accounts/{account_id}", mention="U024BE7LH", team_zone="Asia/Tokyo"
    )
    lines = [text, ""]
    for block in blocks:
        if block["type"] == "header":
            lines.append(block["text"]["text"])
        elif "fields" in block:
            lines += [field["text"].replace("\n", " ") for field in block["fields"]]
        elif block["type"] == "section":
            lines.append(block["text"]["text"])
        elif block["type"] == "context":
            lines += [element["text"] for element in block["elements"]]
        else:
            lines += [f"[{element['text']['text']}]" for element in block["elements"]]
    return "\n".join(lines)


def mail_text(message) -> str:
    headers = [f"Subject: {message['Subject']}"] + ([f"Reply-To: {message['Reply-To']}"] if message["Reply-To"] else [])
    return "\n".join(headers) + "\n\n" + message.get_body(("plain",)).get_content().rstrip("\n")


def rendered(locale: str) -> str:
    alert = fixed_alert(locale)
    later = alert.last_seen + timedelta(hours=3)
    light = replace(
        alert,
        tier=DormancyTier.C,
        delivery="digest",
        alert_id="c" * 8 + alert.alert_id[8:],
        last_deal_at="2023-06-30",
        last_contact_at=None,
        approach=suggested_approach(DormancyTier.C, alert.dormancy_reason, locale),
    )
    reply = slack_thread_reply(alert, [(later, "/seminar/2026-winter"), (later + timedelta(minutes=2), "/contact")])
    parts = {
        "Slack": slack_text(alert),
        "Slack thread reply": reply[1][0]["text"]["text"],
        "E-mail": mail_text(
            email_message(alert, "revisit@example.co.jp", "yamada@example.co.jp", team_zone="Asia/Tokyo")
        ),
        "Digest": mail_text(
            digest_message(
                [light],
                "sales-team@example.co.jp",
                "yamada@example.co.jp",
                "https://revisit.example/accounts/{account_id}",
            )
        ),
    }
    return "\n\n".join(f"{locale} · {kind}:\n\n```text\n{text}\n```" for kind, text in parts.items())


def test_a_japanese_reader_reads_no_english_label_and_the_facts_in_words():
    facts = dict(_facts(fixed_alert("ja")))
    assert facts == {
        "ランク": "A（休眠半年〜1年：最優先で連絡）",
        "休眠期間": "休眠 9 か月（最終取引 2026-02-20）",
        "失注日": "2026-03-10",
        "休眠理由": "以前の不満",
        "累計取引額": "￥4,800,000",
        "関心度": "95（導入事例、料金、お問い合わせ）",
        "優先度": "中",
        "訪問元": "Sakura Seiki（ご登録のネットワーク 133.242.18.0/24 からのアクセス）",
        "担当": "山田 太郎",
    }


def test_an_english_reader_gets_the_same_facts_in_english_and_the_currency_is_configurable():
    alert = replace(fixed_alert("en"), currency="USD", lifetime_value=Decimal("48000"))
    assert dict(_facts(alert)) == {
        "Tier": "A (6-12 months: contact first)",
        "Dormant": "dormant for 9 months (last deal 2026-02-20)",
        "Lost deal": "2026-03-10",
        "Why they went quiet": "they were unhappy",
        "Lifetime value": "$48,000.00",
        "Intent score": "95 (case study, pricing, contact)",
        "Priority": "Medium",
        "Visitor": "Sakura Seiki (a visit from your registered network 133.242.18.0/24)",
        "Owner": "Taro Yamada",
    }
    domain = replace(alert, match_method="domain", organization=replace(alert.organization, domain="sakura.co.jp"))
    assert dict(_facts(domain))["Visitor"] == "Sakura Seiki (the domain sakura.co.jp matches)"
    named = replace(fixed_alert("ja"), match_method="name")
    assert dict(_facts(named))["訪問元"] == "Sakura Seiki（社名が一致）"


def test_a_currency_that_is_no_iso_code_is_a_clear_configuration_error(tmp_path):
    from revisit.app import load_checked_settings

    config = tmp_path / "revisit.toml"
    config.write_text('[alerts]\ncurrency = "YEN"\n', encoding="utf-8")
    with pytest.raises(BadInput, match="alerts.currency: 'YEN' is no ISO 4217 currency code"):
        load_checked_settings(str(config))
    assert settings_from_mapping({"alerts": {"currency": "USD"}}).alerts.currency == "USD"


def test_the_opening_line_takes_a_pretext_from_what_was_read_and_never_mentions_the_visit():
    reason = DormancyReason.TIMING
    assert opening_line("株式会社さくら精機", "山田", "ja", ("seminar", "pricing"), reason) == (
        "株式会社さくら精機様、ご無沙汰しております。山田でございます。"
        "近く開催するセミナーのご案内を兼ねて、ご連絡いたしました。"
        "前回から状況も変わられたことと思いますので、改めてお役に立てることがあればと考えております。"
        "ご都合のよろしいときに、15分ほどお時間をいただけますと幸いです。"
    )
    assert opening_line("Sakura Seiki", "Taro", "en", ("pricing",), DormancyReason.COMPETITOR) == (
        "Hello Sakura Seiki team, it has been a while - this is Taro. "
        "I would be glad to walk you through our current plans and how we price them today. "
        "I can also share a cost-performance comparison if that helps. "
        "Would you have 15 minutes in the coming weeks?"
    )
    assert opening_line("X", "Y", "ja", ("case study", "product")) == (
        "X様、ご無沙汰しております。Yでございます。"
        "貴社と近い業種のお客様の導入事例がまとまりましたので、ご参考までにお届けできればと存じます。"
        "ご都合のよろしいときに、15分ほどお時間をいただけますと幸いです。"
    )
    for locale, labels, reason, tier, lost_deal in itertools.product(
        ("ja", "en"),
        ((), ("pricing",), ("seminar",), ("case study",), ("document",), ("product",)),
        DormancyReason,
        (DormancyTier.A, DormancyTier.B, DormancyTier.C),
        (False, True),
    ):
        line = opening_line("X", "Y", locale, labels, reason, tier, lost_deal).casefold()
        assert not any(word in line for word in ("visit", "閲覧", "アクセス", "ご覧", "拝見", "website", "サイト"))
        # one polite ending of each kind: the same formula twice reads like a template
        for ending in ("存じます", "ご連絡いたしました", "幸いです", "ご紹介", "あわせて", "申し訳", "失礼"):
            assert line.count(ending) <= 1, (labels, reason, tier, lost_deal, line)


def test_the_opening_line_does_what_the_suggested_approach_says():
    """Found by a new user: the approach said to open a lost deal's repair with an apology, and
    tier C with a light touch and no discount, while the opening line had no apology and pitched
    plans and "what you gain by staying with us". Now the line follows the approach."""
    repair = opening_line("ミナト物流株式会社", "佐藤", "ja", ("pricing",), DormancyReason.TIMING, DormancyTier.B, True)
    assert "お詫び" in suggested_approach(DormancyTier.B, DormancyReason.TIMING, "ja", lost_deal=True)
    assert repair == (
        "ミナト物流株式会社様、ご無沙汰しております。佐藤でございます。"
        "前回はご期待に十分お応えできず、申し訳ございませんでした。"
        "現在のプランとお見積りの考え方を改めてご案内できればと思い、ご連絡いたしました。"
        "前回から状況も変わられたことと思いますので、改めてお役に立てることがあればと考えております。"
        "ご都合のよろしいときに、15分ほどお時間をいただけますと幸いです。"
    )
    # the same account without a lost deal: no apology
    assert "申し訳" not in opening_line(
        "ミナト物流株式会社", "佐藤", "ja", ("pricing",), DormancyReason.TIMING, DormancyTier.B
    )
    light = opening_line("有限会社かもめ印刷", "鈴木", "ja", ("pricing",), DormancyReason.CAMPAIGN, DormancyTier.C)
    assert "値引き" in suggested_approach(DormancyTier.C, DormancyReason.CAMPAIGN, "ja")
    assert light == (
        "有限会社かもめ印刷様、ご無沙汰しております。鈴木でございます。"
        "季節のご挨拶とあわせて、最近の取り組みを少しご紹介できればと思い、ご連絡いたしました。"
        "今後とも何卒よろしくお願いいたします。"
    )
    for reason in DormancyReason:  # tier C: no plans, prices, offers or meeting, in either language
        for locale, pitches in (
            ("ja", ("プラン", "お見積り", "メリット", "15分")),
            ("en", ("current plans", "price", "what you gain", "15 minutes")),
        ):
            line = opening_line("X", "Y", locale, ("pricing",), reason, DormancyTier.C)
            assert not any(pitch in line for pitch in pitches), (reason, line)


def test_the_opening_line_spells_out_the_legal_form_and_signs_with_the_surname():
    """Text for the customer: no CRM shorthand (㈱, (有), ｶ)) and, in Japanese, the rep's surname
    (as in 「山田でございます」) when the list gives the full name with a space; Latin names whole."""
    greetings = {
        ("㈱ミドリ商事", "田中 一郎"): "株式会社ミドリ商事様、ご無沙汰しております。田中でございます。",
        ("ミドリ商事㈱", "田中　一郎"): "ミドリ商事株式会社様、ご無沙汰しております。田中でございます。",
        ("（株）あおば工業", "佐々木"): "株式会社あおば工業様、ご無沙汰しております。佐々木でございます。",
        ("ｶ)ミドリ", "Emily Clark"): "株式会社ミドリ様、ご無沙汰しております。Emily Clarkでございます。",
        ("さくら運輸(有)", "山本"): "さくら運輸有限会社様、ご無沙汰しております。山本でございます。",
        ("㈲さくら運輸", "山本"): "有限会社さくら運輸様、ご無沙汰しております。山本でございます。",
        ("株式会社つばさ商会", "伊藤 大輔"): "株式会社つばさ商会様、ご無沙汰しております。伊藤でございます。",
        # a department before the name, as CRM exports write it: the rep signs with the surname
        ("株式会社さくら運輸", "営業二課 高橋"): "株式会社さくら運輸様、ご無沙汰しております。高橋でございます。",
        (
            "株式会社さくら運輸",
            "東京支店　営業部 高橋 健",
        ): "株式会社さくら運輸様、ご無沙汰しております。高橋でございます。",
    }
    for (account, owner), greeting in greetings.items():
        assert opening_line(account, owner, "ja").startswith(greeting), (account, owner)
    assert opening_line("(株)あおば工業", "Ichiro Tanaka", "en").startswith(
        "Hello 株式会社あおば工業 team, it has been a while - this is Ichiro Tanaka. "
    )


def test_a_tier_c_opening_line_closes_lightly_without_asking_for_a_meeting():
    """Tier C is a light touch (its own advice: a seasonal greeting, a newsletter): no request for
    15 minutes; tiers A and B keep it."""
    assert opening_line("有限会社さくら運輸", "山本", "ja", ("product",), tier=DormancyTier.C) == (
        "有限会社さくら運輸様、ご無沙汰しております。山本でございます。"
        "製品にいくつか新しい機能が加わりましたので、ご紹介を兼ねてご連絡いたしました。"
        "今後とも何卒よろしくお願いいたします。"
    )
    assert opening_line("Sakura Unyu", "Ken", "en", ("product",), tier=DormancyTier.C) == (
        "Hello Sakura Unyu team, it has been a while - this is Ken. "
        "Our product has gained a few new capabilities and I wanted to share them with you. "
        "I hope we can stay in touch."
    )
    for tier in (DormancyTier.A, DormancyTier.B):
        assert opening_line("X", "Y", "ja", tier=tier).endswith("15分ほどお時間をいただけますと幸いです。")
        assert opening_line("X", "Y", "en", tier=tier).endswith("Would you have 15 minutes in the coming weeks?")


def test_slack_says_when_the_pages_were_read_once_with_the_zones_name():
    """One time for a one-page visit, the zone named as the command line names it (JST), both
    dates for a visit past midnight; without the team's zone, the offset the record carries."""
    alert = fixed_alert("ja")
    one = replace(alert, last_seen=alert.first_seen, pages=alert.pages[:1], page_times=alert.page_times[:1])

    def heading(alert: Alert, team_zone: str = "Asia/Tokyo") -> str:
        return slack_blocks(alert, team_zone=team_zone)[1][2]["text"]["text"].splitlines()[0]

    assert heading(one) == "*閲覧ページ* (2026-11-30 10:02 JST)"
    assert heading(alert) == "*閲覧ページ* (2026-11-30 10:02 – 10:14 JST)"
    late = replace(
        alert, first_seen=alert.first_seen.replace(hour=23, minute=50), last_seen=alert.last_seen + timedelta(hours=14)
    )
    assert heading(late) == "*閲覧ページ* (2026-11-30 23:50 – 2026-12-01 00:14 JST)"
    assert heading(one, team_zone="") == "*閲覧ページ* (2026-11-30 10:02 UTC+09:00)"


def test_the_readme_shows_each_message_kind_as_rendered_from_the_fixed_alert():
    block = "\n\n".join(rendered(locale) for locale in ("ja", "en"))
    readme = REPO / "README.md"
    text = readme.read_text(encoding="utf-8")
    before, _, rest = text.partition(BEGIN)
    _, _, after = rest.partition(END)
    expected = f"{before}{BEGIN}\n\n{block}\n\n{END}{after}"
    if os.environ.get("REVISIT_WRITE_README") == "1":
        readme.write_text(expected, encoding="utf-8")
    assert text == expected


def test_the_console_card_of_replay_and_the_demo_reads_in_japanese_for_a_japanese_reader():
    """`revisit replay` and `revisit demo` print the alert as a card: for `ja`, no English label."""
    from revisit.alerts.channels.local import format_alert

    card = format_alert(fixed_alert("ja")).splitlines()
    labels = [line.split()[0] for line in card[1:]]
    assert labels == ["訪問開始", "閲覧ページ", "訪問元", "休眠期間", "担当", "おすすめの対応", "書き出し例"]
    assert card[0].endswith("が再訪しました - ランク A（休眠半年〜1年：最優先で連絡）")
    assert "休眠 9 か月（最終取引 2026-02-20）、失注日 2026-03-10、累計取引額 ￥4,800,000、優先度 中" in card[4]
    assert "関心度 95（導入事例、料金、お問い合わせ）" in card[1]
    assert card[5] == "  担当            山田 太郎 ・ 配信：即時通知"  # 全角 ：, as every other Japanese line
    # every value starts in the same terminal column (a full-width character takes two cells)
    widths = {
        sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line[: line.index(value)])
        for line, value in ((line, line.split(maxsplit=1)[1]) for line in card[1:])
    }
    assert widths == {18}
    for english in ("priority", "went quiet", "delivery", "pages", "confidence", "is back", "medium"):
        assert english not in "\n".join(card)
    assert format_alert(fixed_alert("en")).splitlines()[0].endswith("is back - tier A: contact first")


def test_the_english_console_card_says_the_match_dormancy_and_money_in_words():
    """The English card, like the Japanese one: no method code or resolver name, the currency
    written by CLDR, and dormancy counted from a contact later than the last deal."""
    from revisit.alerts.channels.local import format_alert

    alert = replace(fixed_alert("en"), last_contact_at="2026-06-15")
    card = format_alert(alert).splitlines()
    assert card[0] == "● Sakura Seiki Co., Ltd. (C-1024) is back - tier A: contact first"
    assert card[3] == "  who       Sakura Seiki (a visit from your registered network 133.242.18.0/24)"
    assert card[4] == (
        "  account   dormant for 5 months (last contact 2026-06-15), lost deal 2026-03-10, "
        "lifetime value ¥4,800,000, priority medium, went quiet: they were unhappy"
    )
    assert card[5] == "  owner     Taro Yamada · delivery: real time"
    for code in ("account-network", "network match", "confidence", "value 4,800,000", "last deal 2026-02-20"):
        assert code not in "\n".join(card)


def test_a_dissatisfied_account_is_advised_an_apology_and_its_opening_line_has_one() -> None:
    """The advice said 「まずはお詫びを添えて連絡します」 while the line it offered had no apology (README
    user's finding); the apology names no visit, only the past."""
    for locale, apology in (("ja", "失礼いたしました"), ("en", "I am sorry")):
        advice = suggested_approach(DormancyTier.B, DormancyReason.DISSATISFIED, locale)
        assert ("お詫び" if locale == "ja" else "apology") in advice
        line = opening_line("株式会社さくら精機", "山田 太郎", locale, ("case study",), DormancyReason.DISSATISFIED)
        assert apology in line
        for other in DormancyReason:
            if other is not DormancyReason.DISSATISFIED:
                assert apology not in opening_line("株式会社さくら精機", "山田 太郎", locale, ("case study",), other)


def test_a_tier_c_advice_stays_light_whatever_the_reason() -> None:
    """Tier C said 「軽い接触に留めましょう」 and then 「費用対効果の比較資料を用意し、乗り換えの利点を
    示します」 in one paragraph (README user's finding): in tier C no reason's step pushes."""
    pushes = {"ja": ("比較資料を用意", "乗り換えの利点", "継続して得られるメリット"), "en": ("bring a", "stress the")}
    for locale, words in pushes.items():
        for reason in DormancyReason:
            advice = suggested_approach(DormancyTier.C, reason, locale)
            assert not any(word in advice for word in words), (locale, reason, advice)
    # tiers A and B keep the reason's full step
    assert "費用対効果の比較資料を用意し" in suggested_approach(DormancyTier.A, DormancyReason.COMPETITOR, "ja")


def test_a_tier_b_title_says_repair_only_where_the_advice_does() -> None:
    """「B（1〜2年：関係修復から）」 stood above an advice that asked after a customer whose timing was
    wrong (README user's finding): "repair" only after a lost deal or a complaint, as the advice."""

    def title_and_advice(reason: DormancyReason, lost_deal_at: str | None, locale: str) -> tuple[str, str]:
        alert = replace(
            fixed_alert(locale),
            tier=DormancyTier.B,
            dormancy_reason=reason,
            lost_deal_at=lost_deal_at,
            approach=suggested_approach(DormancyTier.B, reason, locale, lost_deal=lost_deal_at is not None),
        )
        facts = dict(_facts(alert))
        return facts["ランク" if locale == "ja" else "Tier"], alert.approach

    assert title_and_advice(DormancyReason.TIMING, None, "ja") == (
        "B（1〜2年：関係の再構築から）",
        "関係の再構築から始めましょう。これまでの取引の経緯を確認したうえで、近況伺いから連絡を再開します。"
        "前回はタイミングが合いませんでした。今だからこそ提供できる新しい情報・提案を用意します。",
    )
    for reason, lost in ((DormancyReason.TIMING, "2025-07-01"), (DormancyReason.DISSATISFIED, None)):
        title, advice = title_and_advice(reason, lost, "ja")
        assert title == "B（1〜2年：関係修復から）" and advice.startswith("関係の修復から始めましょう。")
    assert title_and_advice(DormancyReason.UNKNOWN, None, "en")[0] == "B (1-2 years: rebuild the relationship)"
    assert title_and_advice(DormancyReason.DISSATISFIED, None, "en")[0] == "B (1-2 years: repair the relationship)"
