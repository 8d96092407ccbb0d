"""What a salesperson reads: Slack Block Kit, e-mail (text and HTML) and the webhook body.

Everything that comes from a request (path, query, user agent, referrer) is visitor-controlled and
is escaped for the medium: Slack mrkdwn (``&``, ``<``, ``>``, which also defuses ``<!channel>`` and
``<@U…>``) and HTML. E-mail headers are built by the ``email`` package, which refuses newlines.
In Slack a path sits in a code span, which a backtick in the path would close: backticks there
become ``ˋ`` (U+02CB). A mention is built only from a valid member id, and the history link
percent-encodes the account id (spaces, Japanese, ``?``, ``#``).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import unicodedata
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import format_currency

from revisit.alerts.approach import needs_repair
from revisit.core.alert import Alert
from revisit.enrichment.accounts import is_slack_member_id

_TIER_TITLE = {
    "ja": {
        "A": "A（休眠半年〜1年：最優先で連絡）",
        "B": "B（1〜2年：関係の再構築から）",
        "B-repair": "B（1〜2年：関係修復から）",
        "C": "C（2年以上：軽い接触）",
    },
    "en": {
        "A": "A (6-12 months: contact first)",
        "B": "B (1-2 years: rebuild the relationship)",
        "B-repair": "B (1-2 years: repair the relationship)",
        "C": "C (2+ years: light touch)",
    },
}
_CONSOLE_TIER_EN = {
    "A": "tier A: contact first",
    "B": "tier B: rebuild the relationship",
    "B-repair": "tier B: repair the relationship",
    "C": "tier C: light touch (digest)",
}


def _tier_key(alert: Alert) -> str:
    """The tier, and for tier B whether it is repaired (after a lost deal or a complaint) as the
    suggested approach says: "repair" after a year of bad timing would say something went wrong."""
    repair = needs_repair(alert.tier, alert.dormancy_reason, alert.lost_deal_at is not None)
    return "B-repair" if repair else alert.tier.value


def tier_title(alert: Alert, locale: str) -> str:
    return _TIER_TITLE[locale][_tier_key(alert)]


_LABELS = {
    "ja": {
        "back": "が再訪しました",
        "tier": "ランク",
        "last_deal": "最終取引",
        "value": "累計取引額",
        "score": "関心度",
        "pages": "閲覧ページ",
        "approach": "おすすめの対応",
        "opener": "書き出し例",
        "who": "訪問元",
        "history": "訪問履歴",
        "owner": "担当",
        "no_owner": "（担当者なし）",
        "priority": "優先度",
        "unknown": "不明",
        "dormant": "休眠期間",
        "lost": "失注日",
        "reason": "休眠理由",
    },
    "en": {
        "back": " is back on the website",
        "tier": "Tier",
        "last_deal": "Last deal",
        "value": "Lifetime value",
        "score": "Intent score",
        "pages": "Pages",
        "approach": "Suggested approach",
        "opener": "Opening line",
        "who": "Visitor",
        "history": "Visit history",
        "owner": "Owner",
        "no_owner": "(no owner)",
        "priority": "Priority",
        "unknown": "unknown",
        "dormant": "Dormant",
        "lost": "Lost deal",
        "reason": "Why they went quiet",
    },
}
_PRIORITY = {
    "ja": {"high": "高", "medium": "中", "normal": "通常"},
    "en": {"high": "High", "medium": "Medium", "normal": "Normal"},
}
# The default intent rules' labels (core.config.DEFAULT_PAGE_RULES); a label of one's own rules is
# shown as written there.
_PAGE_LABEL = {
    "ja": {
        "pricing": "料金",
        "contact": "お問い合わせ",
        "demo": "デモ",
        "trial": "無料トライアル",
        "case study": "導入事例",
        "product": "製品",
        "document": "資料",
        "seminar": "セミナー",
    },
    "en": {},
}
_REASON = {
    "ja": {
        "forgotten": "当社を忘れている可能性",
        "dissatisfied": "以前の不満",
        "timing": "前回はタイミングが合わなかった",
        "competitor": "競合へ移った可能性",
        "campaign": "キャンペーン時のみの購入",
        "unknown": "不明",
    },
    "en": {
        "forgotten": "they may have forgotten us",
        "dissatisfied": "they were unhappy",
        "timing": "the timing was wrong",
        "competitor": "they may have moved to a competitor",
        "campaign": "they bought only in a campaign",
        "unknown": "unknown",
    },
}
_MATCH = {
    "ja": {
        "network": "ご登録のネットワーク {network} からのアクセス",
        "ledger": "この会社の方がログイン・フォーム送信に使ったネットワーク {network} からのアクセス",
        "domain": "ドメイン {domain} が一致",
        "name": "社名が一致",
        "alias": "別名が一致",
        "fuzzy": "社名が類似（要確認）",
        "english_name": "法人番号データの英語表記の社名が一致",
        "reading": "法人番号データのフリガナ（ローマ字）が一致（要確認）",
    },
    "en": {
        "network": "a visit from your registered network {network}",
        "ledger": "a visit from {network}, used by this company's people to sign in or send a form",
        "domain": "the domain {domain} matches",
        "name": "the company name matches",
        "alias": "a listed alias matches",
        "fuzzy": "a similar company name (please check)",
        "english_name": "the registered English name (corporate-number data) matches",
        "reading": "the registered reading, romanised, matches (please check)",
    },
}
_DORMANT = {
    "ja": ("休眠 {months} か月", "最終取引 {date}", "最終接触 {date}"),
    "en": ("dormant for {months} months", "last deal {date}", "last contact {date}"),
}
_BABEL_LOCALE = {"ja": "ja_JP", "en": "en_US"}


def slack_escape(text: str) -> str:
    """Slack's own rule for text it must not interpret: only these three characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_code(text: str) -> str:
    """``text`` as one inline code span that it cannot close or leave: no backtick, no line break."""
    return f"`{slack_escape(one_line(text).replace('`', 'ˋ'))}`"


def slack_mention(user_id: str) -> str:
    """``<@U…>`` for a valid member id, else nothing: a mention is never built from other text."""
    return f"<@{user_id}>" if is_slack_member_id(user_id) else ""


_HISTORY = {
    "ja": {
        "visit": "訪問 {at}（{source}）",
        "alerts": "この取引先のアラート {count} 件",
        "none": "取引先 {account_id} の訪問記録はありません",
        "alert": "  アラート {at}　ランク {tier}・関心度 {score}・{outcomes}　ID {id}",
        "no_outcome": "結果の記録なし",
        "contacted": "対応した",
        "meeting": "面談設定",
        "opportunity": "商談化",
        "won": "受注",
        "not_interested": "興味なし",
        "unknown": (
            "{account_id}：このデータベースにない取引先です（取引先は `revisit accounts import`、`replay`、"
            "ワーカーが取り込みます。ID と --db を確かめてください）"
        ),
        "snoozed": "{account_id}：{until} まで配信しません（{reason}）",
        "recorded": "{alert_id}（{account_id}）：結果「{result}」を記録しました",
        "no_alert": "ID が {given} のアラートはありません（`revisit history 取引先ID` に各アラートの ID があります）",
        "days": "--days には 1〜{most} の日数を指定してください",
        "reason": "--reason に配信を止める理由を書いてください",
        "several_alerts": "{given} で始まるアラートが複数あります（{ids}）。ID をもっと長く指定してください",
    },
    "en": {
        "visit": "visit {at} from {source}",
        "alerts": "{count} alert(s) for this account",
        "none": "no visits stored for account {account_id}",
        "alert": "  alert {at}  tier {tier}, score {score}, {outcomes}  id {id}",
        "no_outcome": "no outcome recorded",
        "contacted": "contacted",
        "meeting": "meeting set",
        "opportunity": "opportunity",
        "won": "won",
        "not_interested": "not interested",
        "unknown": (
            "{account_id}: no such account in this database (imported by `revisit accounts import`, "
            "`replay` or the worker; check the id and --db)"
        ),
        "snoozed": "{account_id}: no deliveries until {until} ({reason})",
        "recorded": "{alert_id} ({account_id}): {result} recorded",
        "no_alert": "no alert with the id {given} (`revisit history ACCOUNT_ID` shows each alert's id)",
        "days": "--days must be from 1 to {most}",
        "reason": "--reason must say why deliveries stop",
        "several_alerts": "several alerts start with {given} ({ids}): give more of the id",
    },
}


def history_words(locale: str) -> dict[str, str]:
    """``revisit history``'s and ``revisit alerts snooze/outcome``'s words in ``alerts.locale``: a
    rep reads them beside the alerts."""
    return _HISTORY.get(locale, _HISTORY["en"])


def _labels(alert: Alert) -> dict[str, str]:
    return _LABELS.get(alert.locale, _LABELS["en"])


def _locale(alert: Alert) -> str:
    return alert.locale if alert.locale in _LABELS else "en"


def money(alert: Alert) -> str:
    """The lifetime value in the list's currency, written the reader's way (CLDR, via Babel)."""
    if alert.lifetime_value is None:
        return _labels(alert)["unknown"]
    return amount_in(alert.lifetime_value, alert.currency, _locale(alert))


def amount_in(amount: Decimal | float, currency: str, locale: str) -> str:
    """An amount as the reader's locale writes its currency (￥12,000,000, $1,200.00): alerts and web."""
    return format_currency(amount, currency, locale=_BABEL_LOCALE.get(locale, "en_US"))


def dormancy_reason_words(code: str, locale: str) -> str:
    """Why the account went quiet, as the alerts say it (the web UI shows the same words)."""
    return _REASON.get(locale, _REASON["en"]).get(code or "unknown", code)


def page_label(label: str, locale: str) -> str:
    return _PAGE_LABEL.get(locale, {}).get(label, label)


def _months_between(start: date, end: date) -> int:
    return max(0, (end.year - start.year) * 12 + end.month - start.month - (end.day < start.day))


def dormancy(alert: Alert) -> str:
    """「休眠 9 か月（最終取引 2026-03-06）」: months since the last deal or contact, whichever is later."""
    words, deal, contact = _DORMANT[_locale(alert)]
    dates = [
        (date.fromisoformat(value), template)
        for value, template in ((alert.last_deal_at, deal), (alert.last_contact_at, contact))
        if value
    ]
    if not dates:
        return _labels(alert)["unknown"]
    latest, template = max(dates)
    months = _months_between(latest, alert.last_seen.date())
    opening, closing = ("（", "）") if _locale(alert) == "ja" else (" (", ")")
    return f"{words.format(months=months)}{opening}{template.format(date=latest.isoformat())}{closing}"


def match_in_words(alert: Alert) -> str:
    """The organisation and why it is this account, in words instead of a method code."""
    org = alert.organization
    template = _MATCH[_locale(alert)].get(alert.match_method, "")
    why = template.format(network=org.network or "-", domain=org.domain or "-")
    who = org.name or org.domain or org.network or "-"
    opening, closing = ("（", "）") if _locale(alert) == "ja" else (" (", ")")
    return f"{who}{opening}{why}{closing}" if why else who


def _facts(alert: Alert) -> list[tuple[str, str]]:
    """(label, value) pairs shared by every medium, every word in the reader's language; values
    are raw text, escaped by the caller."""
    words = _labels(alert)
    locale = _locale(alert)
    labels = ("、" if locale == "ja" else ", ").join(page_label(label, locale) for label in alert.page_labels)
    opening, closing = ("（", "）") if locale == "ja" else (" (", ")")
    facts = [
        (words["tier"], tier_title(alert, locale)),
        (words["dormant"], dormancy(alert)),
    ]
    if alert.lost_deal_at:
        facts.append((words["lost"], alert.lost_deal_at))
    facts += [
        (words["reason"], dormancy_reason_words(alert.dormancy_reason.value, locale)),
        (words["value"], money(alert)),
        (words["score"], f"{alert.score}{opening}{labels}{closing}" if labels else str(alert.score)),
        (words["priority"], _PRIORITY[locale].get(alert.priority, alert.priority)),
        (words["who"], match_in_words(alert)),
        (words["owner"], alert.owner.name or words["no_owner"]),
    ]
    return facts


_CONSOLE = {
    "ja": {
        "when": "訪問開始",  # the visit's first page; the alert's own time is its last (history, web)
        "pages_count": "{count} ページ",
        "no_key_pages": "注目ページなし",
        "realtime": "即時通知",
        "digest": "ダイジェスト",
        "delivery": "配信",
    },
    "en": {
        "when": "visited",  # console_card_en writes its labels in place
        "pages_count": "{count} pages",
        "no_key_pages": "no key pages",
        "realtime": "real time",
        "digest": "digest",
        "delivery": "delivery",
        "no_owner": "(no owner: route to the team)",
    },
}


def console_card_ja(alert: Alert, team_zone: str = "") -> list[str]:
    """The console card (``revisit replay``, ``revisit demo``) for a Japanese reader: the same
    facts as Slack and e-mail, every label and value in Japanese; the time as ``shown_time`` says
    (``team_zone``: ``business_hours.timezone``, the zone's name when the owner has none)."""
    words, console = _LABELS["ja"], _CONSOLE["ja"]
    labels = "、".join(page_label(label, "ja") for label in alert.page_labels) or console["no_key_pages"]
    pages = " → ".join(alert.pages[:8]) + (" …" if len(alert.pages) > 8 else "")
    reason = dormancy_reason_words(alert.dormancy_reason.value, "ja")
    lost = f"、{words['lost']} {alert.lost_deal_at}" if alert.lost_deal_at else ""
    return [
        f"● {alert.account_name}（{alert.account_id}）{words['back']} - {words['tier']} {tier_title(alert, 'ja')}",
        _ja_field(
            console["when"],
            f"{shown_time(alert.first_seen, (alert.owner.timezone, team_zone))}、"
            f"{console['pages_count'].format(count=len(alert.pages))}、{words['score']} {alert.score}（{labels}）",
        ),
        _ja_field(words["pages"], pages),
        _ja_field(words["who"], match_in_words(alert)),
        _ja_field(
            words["dormant"],
            f"{dormancy(alert)}{lost}、{words['value']} {money(alert)}、"
            f"{words['priority']} {_PRIORITY['ja'].get(alert.priority, alert.priority)}、{words['reason']} {reason}",
        ),
        _ja_field(
            words["owner"],
            f"{alert.owner.name or words['no_owner']} ・ {console['delivery']}："
            f"{console.get(alert.delivery, alert.delivery)}",
        ),
        _ja_field(words["approach"], alert.approach),
        _ja_field(words["opener"], alert.opening_line),
    ]


_JA_LABEL_CELLS = 16  # おすすめの対応 (14 cells on a terminal) and two spaces


def _ja_field(label: str, value: str) -> str:
    """A card line with its value where the others' start: a Japanese label is counted in
    terminal cells (a full-width character takes two), not characters, which left the values of
    日時 and 閲覧ページ four cells apart."""
    cells = sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in label)
    return f"  {label}{' ' * (_JA_LABEL_CELLS - cells)}{value}"


def console_card_en(alert: Alert, team_zone: str = "") -> list[str]:
    """The console card for an English reader, built like the Japanese one: the match, dormancy
    and money in words (never a method code or a bare number), the tier title in the header."""
    words, console = _LABELS["en"], _CONSOLE["en"]
    labels = ", ".join(alert.page_labels) or console["no_key_pages"]
    pages = " → ".join(alert.pages[:8]) + (" …" if len(alert.pages) > 8 else "")
    reason = dormancy_reason_words(alert.dormancy_reason.value, "en")
    lost = f", {words['lost'].lower()} {alert.lost_deal_at}" if alert.lost_deal_at else ""
    return [
        f"● {alert.account_name} ({alert.account_id}) is back - {_CONSOLE_TIER_EN[_tier_key(alert)]}",
        f"  visited   {shown_time(alert.first_seen, (alert.owner.timezone, team_zone))}, "
        f"{console['pages_count'].format(count=len(alert.pages))}, intent score {alert.score} ({labels})",
        f"  pages     {pages}",
        f"  who       {match_in_words(alert)}",
        f"  account   {dormancy(alert)}{lost}, lifetime value {money(alert)}, "
        f"priority {_PRIORITY['en'].get(alert.priority, alert.priority).lower()}, went quiet: {reason}",
        f"  owner     {alert.owner.name or console['no_owner']} · {console['delivery']}: "
        f"{console.get(alert.delivery, alert.delivery)}",
        f"  next step {alert.approach}",
        f"  opener    {alert.opening_line}",
    ]


def zone_name(alert: Alert, team_zone: str = "") -> str:
    """The name of the zone the alert's times are in, as the command line writes it (``JST``):
    the owner's ``owner_timezone``, else the team's (``business_hours.timezone``) when its offset is
    the alert's; else the offset (``UTC+09:00``), which a stored record alone carries."""
    return zone_abbreviation(alert.last_seen, (alert.owner.timezone, team_zone))


def zone_abbreviation(at: datetime, zone_names: Sequence[str] = ()) -> str:
    """The short name of ``at``'s zone (``JST``, ``CET``): that of the first of ``zone_names``
    whose offset at that moment is ``at``'s (a log's ``+0900`` read as Asia/Tokyo), else ``at``'s
    own (``JST`` for an IANA zone; ``UTC+09:00`` for a bare offset, all a stored record carries)."""
    for name in zone_names:
        try:
            local = at.astimezone(ZoneInfo(name)) if name else None
        except (ZoneInfoNotFoundError, ValueError):
            local = None
        if local is not None and local.utcoffset() == at.utcoffset():
            return local.tzname() or name
    return f"{at:%Z}"


def shown_time(at: datetime, zone_names: Sequence[str] = ()) -> str:
    """A time as people read it everywhere on the command line and in alerts: ``2026-11-30 14:00
    JST``, the zone by its short name (``zone_abbreviation``). Machine-readable outputs (JSON Lines,
    ``--json``, CSV) keep ISO 8601 with the offset instead."""
    return f"{at:%Y-%m-%d %H:%M} {zone_abbreviation(at, zone_names)}"


def visit_span(alert: Alert, team_zone: str = "") -> str:
    """When the pages were read, said once: ``2026-11-30 10:02 – 10:14 JST``; one time for a
    one-page visit (``2026-11-30 14:00 JST``), both dates when it ran past midnight."""
    start, end = alert.first_seen, alert.last_seen
    if f"{start:%Y-%m-%d %H:%M}" == f"{end:%Y-%m-%d %H:%M}":
        span = f"{start:%Y-%m-%d %H:%M}"
    elif start.date() == end.date():
        span = f"{start:%Y-%m-%d %H:%M} – {end:%H:%M}"
    else:
        span = f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}"
    return f"{span} {zone_name(alert, team_zone)}"


def _times(alert: Alert) -> list[str]:
    """HH:MM of each page in the alert's own offset (blank for records made before page times)."""
    times = [f"{at:%H:%M}" for at in alert.page_times]
    return times + [""] * (len(alert.pages) - len(times))


def history_link(alert: Alert, history_url: str) -> str:
    """The account's page; its id percent-encoded as one path segment or query value."""
    return history_url.format(account_id=quote(alert.account_id, safe="")) if history_url else ""


def title(alert: Alert) -> str:
    return one_line(f"{alert.account_name}{_labels(alert)['back']}")


def one_line(text: str) -> str:
    """Line breaks and other control characters as spaces: a name from the account list must not
    add lines to a mail header (the ``email`` package would refuse the message) or to a title."""
    return "".join(" " if ord(ch) < 32 or ch == "\x7f" else ch for ch in text)


ACTIONS_BLOCK = "revisit_actions"  # the buttons' block: the interactivity endpoint replaces it
ACTION_PREFIX = "revisit:"  # action_id = prefix + an Outcome value, or "snooze"
_BUTTONS = {
    "ja": (
        ("contacted", "対応した"),
        ("opportunity", "商談化"),
        ("not_interested", "興味なし"),
        ("snooze", "スヌーズ"),
    ),
    "en": (
        ("contacted", "Contacted"),
        ("opportunity", "Opportunity"),
        ("not_interested", "Not interested"),
        ("snooze", "Snooze"),
    ),
}


def button_label(action: str, locale: str) -> str:
    return dict(_BUTTONS.get(locale, _BUTTONS["en"])).get(action, action)


def outcome_buttons(alert: Alert) -> dict[str, Any]:
    """The rep's answers, each carrying the alert id (Slack sends it back to the endpoint)."""
    return {
        "type": "actions",
        "block_id": ACTIONS_BLOCK,
        "elements": [
            {
                "type": "button",
                "action_id": f"{ACTION_PREFIX}{action}",
                "text": {"type": "plain_text", "text": label},
                "value": alert.alert_id,
                **({"style": "primary"} if action == "opportunity" else {}),
            }
            for action, label in _BUTTONS[_locale(alert)]
        ],
    }


def slack_blocks(
    alert: Alert, history_url: str = "", mention: str = "", buttons: bool = False, team_zone: str = ""
) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks). ``mention`` is a Slack user id to address, put in by us, not the
    visitor; ``buttons``: the outcome buttons (``slack.interactive``); ``team_zone``:
    ``business_hours.timezone``, to name the zone of the times (``JST``)."""
    words = _labels(alert)
    heading = title(alert)
    fields = [
        {"type": "mrkdwn", "text": f"*{slack_escape(label)}*\n{slack_escape(value)}"} for label, value in _facts(alert)
    ]
    pages = "\n".join(
        f"{number}. {when} {slack_code(page)}"
        for number, (when, page) in enumerate(zip(_times(alert), alert.pages[:15], strict=False), start=1)
    )
    if len(alert.pages) > 15:
        pages += f"\n… (+{len(alert.pages) - 15})"
    when = visit_span(alert, team_zone)
    address = slack_mention(mention)
    colon = "：" if _locale(alert) == "ja" else ": "
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": heading[:150]}}]
    if address:
        # In the blocks too: with blocks, ``text`` is only the notification's fallback, and the
        # rep must see in the message itself that it is addressed to them.
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"{words['owner']}{colon}{address}"}]}
        )
    blocks += [
        {"type": "section", "fields": fields[:10]},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{words['pages']}* ({slack_escape(when)})\n{pages}"}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*{words['approach']}*\n{slack_escape(alert.approach)}\n"
                f"*{words['opener']}*\n> {slack_escape(alert.opening_line)}",
            },
        },
    ]
    link = history_link(alert, history_url)
    if link:
        blocks.append(
            {
                "type": "actions",
                "elements": [{"type": "button", "text": {"type": "plain_text", "text": words["history"]}, "url": link}],
            }
        )
    if buttons:
        blocks.append(outcome_buttons(alert))
    text = f"{address} {slack_escape(heading)}" if address else slack_escape(heading)
    return text, blocks


_MORE = {"ja": ("その後の閲覧", "ページ"), "en": ("Later pages", "")}


def slack_thread_reply(alert: Alert, activity: list[tuple[datetime, str]]) -> tuple[str, list[dict[str, Any]]]:
    """The reply in an alert's thread when the account kept reading: exactly the pages after what
    the thread already told (the sender chooses them)."""
    heading, unit = _MORE[_locale(alert)]
    latest = "\n".join(
        f"• {at.astimezone(alert.last_seen.tzinfo):%m-%d %H:%M} {slack_code(path)}" for at, path in activity[-8:]
    )
    count = f"{len(activity)} {unit}".strip()
    if len(activity) > 8:
        latest = f"… (+{len(activity) - 8})\n{latest}"
    text = f"*{heading}*: {count}\n{latest}"
    return slack_escape(f"{title(alert)}: +{len(activity)}"), [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    ]


def message_id(sender: str, *parts: str) -> str:
    """A Message-ID that is the same each time the same message is made (RFC 5322 3.6.4): a copy
    sent again after a crash is recognisably the same mail, and providers that score mail without
    one as spam do not. The right side is the sending domain."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "revisit.invalid"
    left = hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:32]
    return f"<revisit.{left}@{domain}>"


def _envelope(message: EmailMessage, sender: str, sent_at: datetime, identity: str, reply_to: str) -> None:
    """Date (the time it is sent, RFC 5322 requires it), a stable Message-ID, and Reply-To the owner
    when the mail comes from a team address, so that a reply reaches a person."""
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = identity
    if reply_to and parseaddr(reply_to)[1].casefold() != parseaddr(sender)[1].casefold():
        message["Reply-To"] = reply_to


def _owner_address(alert: Alert) -> str:
    return formataddr((one_line(alert.owner.name), alert.owner.email)) if alert.owner.email else ""


def email_text(alert: Alert, history_url: str = "", team_zone: str = "") -> list[str]:
    """The plain-text part, made for a phone: short lines, one fact a line, a blank line between
    parts, no tables or indented columns (a narrow screen wraps long lines itself)."""
    words = _labels(alert)
    colon = "：" if _locale(alert) == "ja" else ": "
    bullet = "・" if _locale(alert) == "ja" else "- "
    lines = [title(alert), ""] + [f"{label}{colon}{value}" for label, value in _facts(alert)]
    lines += ["", f"{words['pages']}{colon}{visit_span(alert, team_zone)}"]
    lines += [f"{bullet}{when} {page}".rstrip() for when, page in zip(_times(alert), alert.pages, strict=False)]
    lines += ["", words["approach"], alert.approach, "", words["opener"], alert.opening_line]
    link = history_link(alert, history_url)
    if link:
        lines += ["", words["history"], link]
    return lines


def email_html(alert: Alert, history_url: str = "", team_zone: str = "") -> str:
    """The HTML part: the plain-text part's facts and headings, in the same order (the title, the
    facts, when the pages were read with date and zone, the pages, the approach, the opening line,
    the history link), so either part alone tells the rep everything."""
    words = _labels(alert)
    colon = "：" if _locale(alert) == "ja" else ": "
    link = history_link(alert, history_url)
    rows = "".join(
        f"<tr><th align='left'>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>"
        for label, value in _facts(alert)
    )
    pages = "".join(
        f"<li>{f'{when} ' if when else ''}<code>{html.escape(page)}</code></li>"
        for when, page in zip(_times(alert), alert.pages, strict=False)
    )
    span = html.escape(f"{words['pages']}{colon}{visit_span(alert, team_zone)}")
    link_html = (
        f'<h3>{html.escape(words["history"])}</h3><p><a href="{html.escape(link, quote=True)}">'
        f"{html.escape(link)}</a></p>"
        if link
        else ""
    )
    return (
        f"<html><body><h2>{html.escape(title(alert))}</h2><table>{rows}</table>"
        f"<h3>{span}</h3><ul>{pages}</ul>"
        f"<h3>{html.escape(words['approach'])}</h3><p>{html.escape(alert.approach)}</p>"
        f"<h3>{html.escape(words['opener'])}</h3><blockquote>{html.escape(alert.opening_line)}</blockquote>"
        f"{link_html}</body></html>"
    )


def email_message(
    alert: Alert,
    sender: str,
    recipient: str,
    history_url: str = "",
    sent_at: datetime | None = None,
    team_zone: str = "",
) -> EmailMessage:
    """Multipart text and HTML; UTF-8 subject and body, encoded by the ``email`` package.
    ``team_zone``: ``business_hours.timezone``, to name the zone of the times (``JST``)."""
    text_lines = email_text(alert, history_url, team_zone)
    body_html = email_html(alert, history_url, team_zone)
    message = EmailMessage()
    message["Subject"] = f"[revisit] {title(alert)}"
    message["From"] = sender
    message["To"] = formataddr((one_line(alert.owner.name), recipient)) if alert.owner.email == recipient else recipient
    message["X-Revisit-Alert-Id"] = alert.alert_id
    _envelope(
        message,
        sender,
        sent_at or datetime.now(UTC),
        message_id(sender, alert.alert_id, "email"),
        _owner_address(alert) if alert.owner.email != recipient else "",
    )
    message.set_content("\n".join(text_lines), charset="utf-8")
    message.add_alternative(body_html, subtype="html", charset="utf-8")
    return message


_DIGEST_WORDS = {
    "ja": ("本日のダイジェスト", "{n} 社が再訪しました", "詳細"),
    "en": ("Daily digest", "{n} accounts came back", "details"),
}


_PRIORITY_RANK = {"high": 0, "medium": 1, "normal": 2}
_OVER_BUDGET = {
    "ja": "本日の通知上限を超えたため、{n} 件をこちらにまとめました（優先度の高い順）。",
    "en": "{n} of these went past today's limit of realtime alerts and are listed here (highest priority first).",
}


def separator_colon(alert: Alert) -> str:
    """「：」 in Japanese, ": " in English: between a label and its value on one line."""
    return "：" if _locale(alert) == "ja" else ": "


def _whose(alert: Alert, recipient: str) -> str:
    """「（担当：山本）」 after the account in a digest that is not the owner's own (the team
    address gets the alerts of owners without e-mail): the team must see whom each one is for."""
    if alert.owner.email and alert.owner.email.casefold() == parseaddr(recipient)[1].casefold():
        return ""
    words, owner = _labels(alert), one_line(alert.owner.name)
    if _locale(alert) == "ja":
        return f"（{words['owner']}：{owner}）" if owner else words["no_owner"]
    return f" ({words['owner'].lower()}: {owner})" if owner else f" {words['no_owner']}"


def digest_message(
    alerts: list[Alert],
    sender: str,
    recipient: str,
    history_url: str = "",
    sent_at: datetime | None = None,
    over_budget: int = 0,
) -> EmailMessage:
    """One e-mail for many alerts (tier C, held ones, those past the owner's daily budget): a list
    to glance at, not a call to act; highest priority first."""
    alerts = sorted(alerts, key=lambda a: (_PRIORITY_RANK.get(a.priority, 3), -a.score, a.first_seen))
    locale = alerts[0].locale if alerts else "en"
    heading, came_back, details = _DIGEST_WORDS.get(locale, _DIGEST_WORDS["en"])
    if len(alerts) == 1 and locale == "en":
        came_back = "{n} account came back"
    subject = f"[revisit] {heading}: {came_back.format(n=len(alerts))}"
    text_lines, items, notice_html = [subject, ""], [], ""
    if over_budget:
        notice = _OVER_BUDGET[locale if locale in _OVER_BUDGET else "en"].format(n=over_budget)
        text_lines += [notice, ""]
        notice_html = f"<p>{html.escape(notice)}</p>"
    for alert in alerts:
        words = _labels(alert)
        separator = "、" if _locale(alert) == "ja" else ", "
        summary = separator.join(
            (
                f"{words['tier']} {alert.tier.value}",
                dormancy(alert),
                f"{words['score']} {alert.score}",
                f"{alert.first_seen:%Y-%m-%d %H:%M}",
            )
        )
        link = history_link(alert, history_url)
        name = f"{alert.account_name}{_whose(alert, recipient)}"
        text_lines += [f"■ {name}", summary, " → ".join(alert.pages[:6]), alert.approach]
        # A realtime alert here (held by quiet hours, past the budget) was meant to be acted on:
        # it keeps its opening line, as its own e-mail would have.
        opener = f"{words['opener']}{separator_colon(alert)}{alert.opening_line}" if alert.delivery != "digest" else ""
        text_lines += [opener] if opener else []
        text_lines += [link, ""] if link else [""]
        summary = f"{name}: {summary}: {' → '.join(alert.pages[:6])}"
        link_html = f' <a href="{html.escape(link, quote=True)}">{html.escape(details)}</a>' if link else ""
        opener_html = f"<br>{html.escape(opener)}" if opener else ""
        items.append(
            f"<li>{html.escape(summary)}<br><small>{html.escape(alert.approach)}</small>{opener_html}{link_html}</li>"
        )
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = recipient
    owners = {_owner_address(alert) for alert in alerts} - {""}
    _envelope(
        message,
        sender,
        sent_at or datetime.now(UTC),
        message_id(sender, "digest", recipient, *sorted(alert.alert_id for alert in alerts)),
        owners.pop() if len(owners) == 1 else "",
    )
    message.set_content("\n".join(text_lines), charset="utf-8")
    message.add_alternative(
        f"<html><body><h2>{html.escape(subject)}</h2>{notice_html}<ul>{''.join(items)}</ul></body></html>",
        subtype="html",
        charset="utf-8",
    )
    return message


def webhook_body(alert: Alert, history_url: str = "") -> bytes:
    record = {"type": "revisit.alert", "alert": alert.to_record(), "history_url": history_link(alert, history_url)}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def webhook_signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=`` HMAC over ``timestamp.body``: a receiver can reject replays and forgeries."""
    digest = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"
