"""The suggested next step for sales, from the dormancy tier and why the account went quiet.

Texts follow the source articles' practice: tier A is contacted first, tier B needs the relationship
repaired (above all after a lost deal), tier C gets a light touch; the reason decides the message.
"""

from __future__ import annotations

from revisit.enrichment.accounts import DormancyReason
from revisit.enrichment.dormancy import DormancyTier

LOCALES = ("ja", "en")

_TIER_STEP = {
    DormancyTier.A: {
        "ja": "早めに担当者から直接連絡しましょう（休眠して日が浅く、最も反応が期待できます）。",
        "en": "Call or write personally soon: the account went quiet recently and is the most likely to respond.",
    },
    DormancyTier.B: {
        "ja": "関係の修復から始めましょう。前回の経緯（失注理由など）を確認してから、"
        "お詫びや近況伺いを添えて連絡します。",
        "en": "Start by repairing the relationship: review what happened last time (a lost deal?) before reaching out.",
    },
    DormancyTier.C: {
        "ja": "軽い接触に留めましょう。季節のご挨拶やニュースレター・ダイジェストでの情報提供が適しています。",
        "en": "Keep it light: a seasonal greeting or a newsletter-style digest, not a sales call.",
    },
}

_REASON_STEP = {
    DormancyReason.FORGOTTEN: {
        "ja": "当社を思い出していただくことが目的です。以前ご利用いただいた内容に触れ、"
        "現在のサービスを改めてご案内します。",
        "en": "They may simply have forgotten us: remind them what they used and what we offer today.",
    },
    DormancyReason.DISSATISFIED: {
        "ja": "以前の不満点を踏まえ、その後に改善した点を具体的に示します。",
        "en": "They were unhappy before: show concretely what has improved since.",
    },
    DormancyReason.TIMING: {
        "ja": "前回はタイミングが合いませんでした。今だからこそ提供できる新しい情報・提案を用意します。",
        "en": "The timing was wrong last time: lead with what is new now.",
    },
    DormancyReason.COMPETITOR: {
        "ja": "競合に移った可能性があります。費用対効果の比較資料を用意し、乗り換えの利点を示します。",
        "en": "They likely moved to a competitor: bring a cost-performance comparison.",
    },
    DormancyReason.CAMPAIGN: {
        "ja": "キャンペーン時のみの購入でした。値引きではなく、継続して得られるメリットを伝えます。",
        "en": "They bought only during a campaign: stress the lasting benefit, not another discount.",
    },
    DormancyReason.UNKNOWN: {
        "ja": "休眠理由が不明です。まずは近況を伺い、理由を把握しましょう。",
        "en": "The reason they went quiet is unknown: ask how they are doing and find out.",
    },
}

_OPENING_LINE = {
    "ja": "{account}様、ご無沙汰しております。{owner}です。最近のご状況はいかがでしょうか。",
    "en": "Hello {account} team, it has been a while - this is {owner}. How are things going on your side?",
}


def suggested_approach(tier: DormancyTier, reason: DormancyReason, locale: str) -> str:
    locale = locale if locale in LOCALES else "en"
    if tier is DormancyTier.ACTIVE:
        return ""
    return f"{_TIER_STEP[tier][locale]} {_REASON_STEP[reason][locale]}"


def opening_line(account_name: str, owner_name: str, locale: str) -> str:
    locale = locale if locale in LOCALES else "en"
    return _OPENING_LINE[locale].format(account=account_name, owner=owner_name or "担当")
