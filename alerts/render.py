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
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any
from urllib.parse import quote

from revisit.alerts.policy import Alert
from revisit.enrichment.accounts import is_slack_member_id

_TIER_TITLE = {
    "ja": {"A": "A（休眠半年〜1年：最優先で連絡）", "B": "B（1年以上：関係修復から）", "C": "C（2年以上：軽い接触）"},
    "en": {
        "A": "A (6-12 months: contact first)",
        "B": "B (over a year: repair the relationship)",
        "C": "C (2+ years: light touch)",
    },
}
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
    },
}


def slack_escape(text: str) -> str:
    """Slack's own rule for text it must not interpret: only these three characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_code(text: str) -> str:
    """``text`` as one inline code span that it cannot close or leave: no backtick, no line break."""
    return f"`{slack_escape(one_line(text).replace('`', 'ˋ'))}`"


def slack_mention(user_id: str) -> str:
    """``<@U…>`` for a valid member id, else nothing: a mention is never built from other text."""
    return f"<@{user_id}>" if is_slack_member_id(user_id) else ""


def _labels(alert: Alert) -> dict[str, str]:
    return _LABELS.get(alert.locale, _LABELS["en"])


def _facts(alert: Alert) -> list[tuple[str, str]]:
    """(label, value) pairs shared by every medium; values are raw text, escaped by the caller."""
    words = _labels(alert)
    value = f"{alert.lifetime_value:,.0f}" if alert.lifetime_value is not None else words["unknown"]
    org = alert.organization
    return [
        (words["tier"], _TIER_TITLE.get(alert.locale, _TIER_TITLE["en"])[alert.tier.value]),
        (words["last_deal"], alert.last_deal_at or words["unknown"]),
        (words["value"], value),
        (words["score"], f"{alert.score} ({', '.join(alert.page_labels) or '-'})"),
        (words["priority"], alert.priority),
        (
            words["who"],
            f"{org.name or org.domain or org.network or '-'} ({alert.match_method}, {alert.match_confidence:.2f})",
        ),
        (words["owner"], alert.owner.name or words["no_owner"]),
    ]


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


def slack_blocks(alert: Alert, history_url: str = "", mention: str = "") -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks). ``mention`` is a Slack user id to address, put in by us, not the visitor."""
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
    when = f"{alert.first_seen:%Y-%m-%d %H:%M} – {alert.last_seen:%H:%M %Z}".strip()
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": heading[:150]}},
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
    address = slack_mention(mention)
    text = f"{address} {slack_escape(heading)}" if address else slack_escape(heading)
    return text, blocks


_MORE = {"ja": "さらに閲覧が続いています", "en": "More activity"}


def slack_thread_reply(alert: Alert, activity: list[tuple[datetime, str]]) -> tuple[str, list[dict[str, Any]]]:
    """The reply in an alert's thread when the account kept reading: the pages since the alert
    (the alert's own visit if it went on while held, else the later visits)."""
    words = _labels(alert)
    if activity:
        latest = "\n".join(
            f"• {at.astimezone(alert.last_seen.tzinfo):%m-%d %H:%M} {slack_code(path)}" for at, path in activity[-8:]
        )
        count = len(activity)
    else:
        latest = "\n".join(
            f"• {when} {slack_code(page)}" for when, page in list(zip(_times(alert), alert.pages, strict=False))[-5:]
        )
        count = len(alert.pages)
    text = f"*{_MORE.get(alert.locale, _MORE['en'])}*: {count} {words['pages'].lower()}\n{latest}"
    return slack_escape(f"{title(alert)}: +{count}"), [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


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


def email_message(
    alert: Alert, sender: str, recipient: str, history_url: str = "", sent_at: datetime | None = None
) -> EmailMessage:
    """Multipart text and HTML; UTF-8 subject and body, encoded by the ``email`` package."""
    words = _labels(alert)
    facts = _facts(alert)
    link = history_link(alert, history_url)
    text_lines = [title(alert), ""] + [f"{label}: {value}" for label, value in facts]
    text_lines += ["", f"{words['pages']}:"] + [
        f"  {n}. {when} {page}" for n, (when, page) in enumerate(zip(_times(alert), alert.pages, strict=False), start=1)
    ]
    text_lines += ["", f"{words['approach']}: {alert.approach}", f"{words['opener']}: {alert.opening_line}"]
    if link:
        text_lines += ["", f"{words['history']}: {link}"]
    rows = "".join(
        f"<tr><th align='left'>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>" for label, value in facts
    )
    pages = "".join(
        f"<li>{when} <code>{html.escape(page)}</code></li>"
        for when, page in zip(_times(alert), alert.pages, strict=False)
    )
    link_html = f'<p><a href="{html.escape(link, quote=True)}">{html.escape(words["history"])}</a></p>' if link else ""
    body_html = (
        f"<html><body><h2>{html.escape(title(alert))}</h2><table>{rows}</table>"
        f"<h3>{html.escape(words['pages'])}</h3><ol>{pages}</ol>"
        f"<h3>{html.escape(words['approach'])}</h3><p>{html.escape(alert.approach)}</p>"
        f"<blockquote>{html.escape(alert.opening_line)}</blockquote>{link_html}</body></html>"
    )
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
    "ja": ("本日のダイジェスト", "社が再訪しました", "詳細"),
    "en": ("Daily digest", "accounts came back", "details"),
}


def digest_message(
    alerts: list[Alert], sender: str, recipient: str, history_url: str = "", sent_at: datetime | None = None
) -> EmailMessage:
    """One e-mail for many alerts (tier C and held ones): a list to glance at, not a call to act."""
    locale = alerts[0].locale if alerts else "en"
    heading, came_back, details = _DIGEST_WORDS.get(locale, _DIGEST_WORDS["en"])
    subject = f"[revisit] {heading}: {len(alerts)} {came_back}"
    text_lines, items = [subject, ""], []
    for alert in alerts:
        words = _labels(alert)
        summary = (
            f"{alert.account_name} ({words['tier']} {alert.tier.value}, {words['score']} {alert.score}, "
            f"{alert.first_seen:%Y-%m-%d %H:%M}): {' → '.join(alert.pages[:6])}"
        )
        link = history_link(alert, history_url)
        text_lines += [f"- {summary}", f"  {alert.approach}"] + ([f"  {link}"] if link else [])
        link_html = f' <a href="{html.escape(link, quote=True)}">{html.escape(details)}</a>' if link else ""
        items.append(f"<li>{html.escape(summary)}<br><small>{html.escape(alert.approach)}</small>{link_html}</li>")
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
        f"<html><body><h2>{html.escape(subject)}</h2><ul>{''.join(items)}</ul></body></html>",
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
