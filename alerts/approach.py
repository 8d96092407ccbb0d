"""The suggested next step for sales, from the dormancy tier and why the account went quiet.

Texts follow the source articles' practice: tier A is contacted first, tier B needs the relationship
rebuilt (repaired, with an apology, after a lost deal or a complaint), tier C gets a light touch; the
reason decides the message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from revisit.core.account import DormancyReason, DormancyTier

LOCALES = ("ja", "en")

_TIER_STEP = {
    DormancyTier.A: {
        "ja": "早めに担当者から直接連絡しましょう（休眠して日が浅く、最も反応が期待できます）。",
        "en": "Call or write personally soon: the account went quiet recently and is the most likely to respond.",
    },
    DormancyTier.B: {
        "ja": "関係の再構築から始めましょう。これまでの取引の経緯を確認したうえで、近況伺いから連絡を再開します。",
        "en": "Start by rebuilding the relationship: review the history of the account, "
        "then get back in touch by asking how they are doing.",
    },
    DormancyTier.C: {
        "ja": "軽い接触に留めましょう。季節のご挨拶やニュースレター・ダイジェストでの情報提供が適しています。",
        "en": "Keep it light: a seasonal greeting or a newsletter-style digest, not a sales call.",
    },
}

# Tier B after a lost deal or a complaint: the relationship is repaired with an apology first. Without
# either, "repair" and an apology would be for nothing and sound odd (a year of silence after bad
# timing broke nothing): the plain tier B step above rebuilds it by asking after them.
_APOLOGY_STEP = {
    "ja": "関係の修復から始めましょう。前回の経緯（失注理由やご不満の内容）を確認し、まずはお詫びを添えて連絡します。",
    "en": "Start by repairing the relationship: review what went wrong last time (the lost deal, the complaint) "
    "and open with an apology.",
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

# Tier C is a light touch: where a reason's own step would push (a comparison sheet, a pitch on
# lasting benefits), the light version offers the same thing as information, not a sales move.
_LIGHT_REASON_STEP = {
    DormancyReason.COMPETITOR: {
        "ja": "競合に移った可能性があります。売り込みはせず、比較の参考になる情報をニュースレターなどでお届けします。",
        "en": "They likely moved to a competitor: no pitch, just information that helps a comparison, "
        "in a newsletter or digest.",
    },
    DormancyReason.CAMPAIGN: {
        "ja": "キャンペーン時のみの購入でした。値引きの案内は控え、役立つ情報のお届けに留めます。",
        "en": "They bought only during a campaign: no discount offer, only useful news.",
    },
    DormancyReason.DISSATISFIED: {
        "ja": "以前の不満点を踏まえ、その後の改善をお知らせの形で控えめに伝えます。",
        "en": "They were unhappy before: let a short update mention what has improved, without a pitch.",
    },
}

# The opening line never says the visit was seen (the source articles: a natural reason to get in
# touch, not "we noticed you on our pricing page"). The pretext comes from what they read, the most
# telling topic first; the dormancy reason adds a sentence where it changes what to offer.
_PRETEXT_TOPICS = ("seminar", "case study", "pricing", "document", "product")

_GREETING = {
    "ja": "{account}様、ご無沙汰しております。{owner}でございます。",
    "en": "Hello {account} team, it has been a while - this is {owner}.",
}

_PRETEXT = {
    "seminar": {
        "ja": "近く開催するセミナーのご案内を兼ねて、ご連絡いたしました。",
        "en": "I am writing to invite you to one of our upcoming seminars.",
    },
    "case study": {
        "ja": "貴社と近い業種のお客様の導入事例がまとまりましたので、ご参考までにお届けできればと存じます。",
        "en": "We have put together a few case studies from companies like yours and I thought they might be useful.",
    },
    "pricing": {
        "ja": "現在のプランとお見積りの考え方を改めてご案内できればと思い、ご連絡いたしました。",
        "en": "I would be glad to walk you through our current plans and how we price them today.",
    },
    "document": {
        "ja": "最新の資料がまとまりましたので、お届けできればと存じます。",
        "en": "Our latest materials are ready and I would be happy to send them over.",
    },
    "product": {
        "ja": "製品にいくつか新しい機能が加わりましたので、ご紹介を兼ねてご連絡いたしました。",
        "en": "Our product has gained a few new capabilities and I wanted to share them with you.",
    },
    "": {
        "ja": "その後お変わりなくお過ごしでしょうか。近況をお伺いしたく、ご連絡いたしました。",
        "en": "I hope all is well - I would love to hear how things are going on your side.",
    },
}

_REASON_ADDENDUM = {
    DormancyReason.DISSATISFIED: {
        "ja": "以前は十分なご対応ができず、失礼いたしました。"
        "いただいたご意見を踏まえて改善した点も、あわせてご報告させてください。",
        "en": "We fell short last time, and I am sorry for that; "
        "I would also like to show you what we have improved since your feedback.",
    },
    DormancyReason.COMPETITOR: {
        "ja": "費用対効果の比較資料もご用意しております。",
        "en": "I can also share a cost-performance comparison if that helps.",
    },
    DormancyReason.TIMING: {
        "ja": "前回から状況も変わられたことと思いますので、改めてお役に立てることがあればと考えております。",
        "en": "Things may well have changed since we last spoke, so I wanted to reach out again.",
    },
    DormancyReason.CAMPAIGN: {
        "ja": "継続してご利用いただく場合のメリットも、あわせてお伝えいたします。",
        "en": "I can also explain what you gain by staying with us over time.",
    },
}

# What the opening line says where the suggested approach would contradict the usual sentence:
# tier C is a light touch (no plans or prices, no offer), and a relationship repaired after a lost
# deal opens with an apology, as its approach says (a dissatisfied customer's reason already has one).
_LIGHT_PRETEXT = {
    "ja": "季節のご挨拶とあわせて、最近の取り組みを少しご紹介できればと思い、ご連絡いたしました。",
    "en": "A short hello from our side, with a little news of what we have been working on.",
}
_LIGHT_REASON_ADDENDUM = {
    DormancyReason.DISSATISFIED: {
        "ja": "以前は十分なご対応ができず、失礼いたしました。その後の改善点も、折を見てお知らせいたします。",
        "en": "We fell short last time, and I am sorry for that; I will let you know what has improved since.",
    },
    DormancyReason.COMPETITOR: {
        "ja": "比較のご参考になりそうな情報も、折に触れてお届けいたします。",
        "en": "I will also send the occasional piece that may help with a comparison.",
    },
}
_REPAIR_APOLOGY = {
    "ja": "前回はご期待に十分お応えできず、申し訳ございませんでした。",
    "en": "I am sorry we could not fully meet your needs last time.",
}

# Tier A and B ask for a short meeting; tier C is a light touch (a greeting, a newsletter), so its
# line closes without asking for anyone's time.
_CLOSING = {
    "ja": "ご都合のよろしいときに、15分ほどお時間をいただけますと幸いです。",
    "en": "Would you have 15 minutes in the coming weeks?",
}
_LIGHT_CLOSING = {
    "ja": "今後とも何卒よろしくお願いいたします。",
    "en": "I hope we can stay in touch.",
}


# CRM and bank-transfer shorthand for a legal form, which a letter to the customer spells out:
# (株) ㈱ （株） and ｶ) / (ｶ are 株式会社; (有) ㈲ and ﾕ) / (ﾕ are 有限会社.
_FORM_SHORTHAND = {
    "株": "株式会社",
    "有": "有限会社",
    "同": "合同会社",
    "資": "合資会社",
    "名": "合名会社",
    "ｶ": "株式会社",
    "カ": "株式会社",
    "ﾕ": "有限会社",
    "ユ": "有限会社",
}
_ENCLOSED_FORM = {"㈱": "株", "㈲": "有", "㈴": "名", "㈾": "資"}
_SHORTHAND = re.compile(
    r"\s*(?:[(（]\s*([株有同資名])\s*[)）]|([㈱㈲㈴㈾])|^([ｶカﾕユ])\s*[)）]|[(（]\s*([ｶカﾕユ])$)\s*"
)


def spelled_out(company: str) -> str:
    """``㈱ミドリ商事`` → ``株式会社ミドリ商事``, ``ミドリ商事(株)`` → ``ミドリ商事株式会社``: the legal
    form written in full where the list abbreviates it, before or after the name as it stands."""

    def full(match: re.Match[str]) -> str:
        mark = next(group for group in match.groups() if group)
        return _FORM_SHORTHAND[_ENCLOSED_FORM.get(mark, mark)]

    return _SHORTHAND.sub(full, company).strip()


def _has_japanese(text: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" or "\u3400" <= ch <= "\u9fff" or "\uff66" <= ch <= "\uff9f" for ch in text)


# the endings of a department or office a CRM export writes before the rep's name (営業二課 高橋)
_UNIT_ENDINGS = ("部", "課", "室", "係", "グループ", "チーム", "センター", "支店", "支社", "営業所", "事業所")


def signature(owner_name: str, locale: str) -> str:
    """How the rep names themself: in a Japanese business letter the surname alone
    (``田中 一郎`` → ``田中``, the first part when the list separates the names with a space, after
    a department written before it: ``営業二課 高橋`` → ``高橋``, not 「営業二課でございます」);
    a Latin name (``Emily Clark``), or any name in English, stays whole."""
    name = owner_name.strip()
    if locale == "ja" and _has_japanese(name):
        parts = name.replace("\u3000", " ").split()
        while len(parts) > 1 and parts[0].endswith(_UNIT_ENDINGS):
            parts.pop(0)
        return parts[0]
    return name


def pretext_topic(page_labels: Sequence[str]) -> str:
    """The topic the opening line builds on: the first of ``_PRETEXT_TOPICS`` they read, else ""."""
    return next((topic for topic in _PRETEXT_TOPICS if topic in page_labels), "")


def opening_line(
    account_name: str,
    owner_name: str,
    locale: str,
    page_labels: Sequence[str] = (),
    reason: DormancyReason = DormancyReason.UNKNOWN,
    tier: DormancyTier = DormancyTier.A,
    lost_deal: bool = False,
) -> str:
    """A business-style first message that gives a natural reason to write (the topic of the pages
    read, the dormancy reason), never the visit itself, and says what ``suggested_approach`` says
    to do: a meeting asked for except in tier C, whose line offers no plans, prices or discounts;
    an apology first when a lost deal's relationship is repaired. ``lost_deal``: the list has a
    lost-deal date."""
    locale = locale if locale in LOCALES else "en"
    owner = signature(owner_name, locale) or ("担当" if locale == "ja" else "your account manager")
    light = tier is DormancyTier.C
    parts = [_GREETING[locale].format(account=spelled_out(account_name), owner=owner)]
    if needs_repair(tier, reason, lost_deal) and reason is not DormancyReason.DISSATISFIED:
        parts.append(_REPAIR_APOLOGY[locale])
    topic = pretext_topic(page_labels)
    parts.append(_LIGHT_PRETEXT[locale] if light and topic == "pricing" else _PRETEXT[topic][locale])
    addenda = _LIGHT_REASON_ADDENDUM if light and reason in _LIGHT_REASON_STEP else _REASON_ADDENDUM
    if reason in addenda:
        parts.append(addenda[reason][locale])
    parts.append((_LIGHT_CLOSING if light else _CLOSING)[locale])
    return ("" if locale == "ja" else " ").join(parts)


def needs_repair(tier: DormancyTier, reason: DormancyReason, lost_deal: bool) -> bool:
    """Tier B after a lost deal or a complaint: repaired with an apology, and titled so."""
    return tier is DormancyTier.B and (lost_deal or reason is DormancyReason.DISSATISFIED)


def suggested_approach(tier: DormancyTier, reason: DormancyReason, locale: str, lost_deal: bool = False) -> str:
    """The tier's step, then the reason's. ``lost_deal``: the list has a lost-deal date."""
    locale = locale if locale in LOCALES else "en"
    if tier is DormancyTier.ACTIVE:
        return ""
    step = _APOLOGY_STEP[locale] if needs_repair(tier, reason, lost_deal) else _TIER_STEP[tier][locale]
    reasons = _LIGHT_REASON_STEP if tier is DormancyTier.C and reason in _LIGHT_REASON_STEP else _REASON_STEP
    return ("" if locale == "ja" else " ").join((step, reasons[reason][locale]))
