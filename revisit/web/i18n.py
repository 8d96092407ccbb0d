"""The web UI in Japanese and English: Babel message catalogs, Jinja's i18n extension.

The catalogs live in ``revisit/web/locale/<lang>/LC_MESSAGES/messages.po`` and are compiled to
``messages.mo`` in the same folder, committed and shipped as package data: nothing is fetched or
compiled when the server runs. English is the source language (the msgids); ``ja`` translates it.

Which language a request gets, first match wins: the user's own choice (the switch in the page
header, kept in the signed session cookie, so it outlives logging out and in again), ``web.locale``,
the browser's ``Accept-Language``, English.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from decimal import Decimal
from importlib import resources
from typing import Any

from babel.support import NullTranslations, Translations

from revisit.alerts.render import amount_in, match_in_words, page_label
from revisit.core.alert import Alert
from revisit.core.phrase import Phrase
from revisit.enrichment.explain import words_in

LOCALES = ("ja", "en")
DEFAULT_LOCALE = "en"


def N_(message: str) -> str:
    """Marks a message for extraction; translated where it is shown."""
    return message


# Codes stored in the database, shown to people as words.
TIER_NAMES: Mapping[str, str] = {
    "A": N_("recently dormant"),
    "B": N_("dormant"),
    "C": N_("long dormant"),
    "active": N_("active customer"),
}
OUTCOMES: Mapping[str, str] = {
    "contacted": N_("contacted"),
    "meeting": N_("meeting set"),
    "opportunity": N_("opportunity"),
    "won": N_("won"),
    "not_interested": N_("not interested"),
}
DELIVERY_STATUSES: Mapping[str, str] = {
    "sent": N_("sent"),
    "pending": N_("waiting"),
    "dead": N_("gave up"),
}
LEDGER_STATES: Mapping[str, str] = {"active": N_("in use"), "expired": N_("expired"), "revoked": N_("revoked")}
LEDGER_KINDS: Mapping[str, str] = {"sign-in": N_("sign-in"), "form": N_("form")}
HEAT: Mapping[str, str] = {"hot": N_("hot"), "warm": N_("warm"), "cool": N_("cool")}
ROLES: Mapping[str, str] = {"analyst": N_("analyst"), "sales": N_("sales"), "admin": N_("admin")}
# Which resolver named the visitor's organisation (``Organization.source``).
SOURCES: Mapping[str, str] = {
    "account_networks": N_("the account's own networks"),
    "ledger": N_("networks learned from sign-ins and forms"),
    "maxmind": N_("MaxMind database"),
    "ipinfo_lite": N_("IPinfo Lite database"),
    "revisit_demo": N_("the revisit demo's invented database"),
    "iptoasn": N_("iptoasn database"),
    "rdap": N_("RDAP registry lookup"),
    "reverse_dns": N_("reverse DNS"),
}
# How an alert is delivered (``Alert.delivery``).
DELIVERIES: Mapping[str, str] = {"realtime": N_("right away"), "digest": N_("digest")}
MATCH_METHODS: Mapping[str, str] = {
    "network": N_("the account's own network"),
    "ledger": N_("a network learned from sign-ins and forms"),
    "domain": N_("the account's domain"),
    "name": N_("the company name"),
    "fuzzy": N_("similar company name"),
    "alias": N_("a known alias"),
    "english_name": N_("the registered English name"),
    "reading": N_("the registered reading, romanised"),
}


@dataclass(frozen=True)
class Catalogs:
    by_locale: Mapping[str, NullTranslations]

    @classmethod
    def load(cls) -> Catalogs:
        folder = resources.files("revisit.web").joinpath("locale")
        found: dict[str, NullTranslations] = {DEFAULT_LOCALE: NullTranslations()}
        for locale in LOCALES:
            if locale != DEFAULT_LOCALE:
                with resources.as_file(folder) as path:
                    found[locale] = Translations.load(str(path), [locale], "messages")
        return cls(found)

    def get(self, locale: str) -> NullTranslations:
        return self.by_locale.get(locale, self.by_locale[DEFAULT_LOCALE])


def from_accept_language(header: str) -> str | None:
    """The first of LOCALES the browser prefers (RFC 9110 quality values; ``ja-JP`` counts as ``ja``)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:40]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        language = tag.strip().lower().split("-")[0]
        if language in LOCALES and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else None


def choose_locale(chosen: object, configured: str, accept_language: str) -> str:
    for candidate in (chosen, configured):
        if isinstance(candidate, str) and candidate in LOCALES:
            return candidate
    return from_accept_language(accept_language) or DEFAULT_LOCALE


_ENGLISH = NullTranslations()
_current: ContextVar[NullTranslations | None] = ContextVar("revisit_web_translations", default=None)


@contextmanager
def speaking(translations: NullTranslations) -> Iterator[None]:
    """Templates rendered (and messages made) inside use ``translations``."""
    token = _current.set(translations)
    try:
        yield
    finally:
        _current.reset(token)


def plain_gettext(message: str) -> str:
    return (_current.get() or _ENGLISH).gettext(message)


def plain_ngettext(singular: str, plural: str, number: int) -> str:
    return (_current.get() or _ENGLISH).ngettext(singular, plural, number)


def gettext(message: str, **values: Any) -> str:
    text = (_current.get() or _ENGLISH).gettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, number: int, **values: Any) -> str:
    text = (_current.get() or _ENGLISH).ngettext(singular, plural, number)
    return text % {"num": number, **values}


def money(currency: str, amount: Decimal | float | None, locale: str) -> str:
    """An amount in ``alerts.currency`` as the reader's locale writes it (￥12,000,000, ¥12,000,000),
    the way the alerts show it; "—" when the list gives none."""
    if amount is None:
        return "—"
    return amount_in(amount, currency, locale)


def page_words(what: str, locale: str) -> str:
    """A page they read: its intent label in the alerts' own words (料金, 導入事例), and the bare
    path of the home page as words, not "/"."""
    return gettext("home page") if what == "/" else page_label(what, locale)


def word(codes: Mapping[str, str], code: str | None) -> str:
    """A stored code as a word in the current language; an unknown code as it is."""
    if not code:
        return ""
    return gettext(codes[code]) if code in codes else code


def alert_match_in_words(payload: Mapping[str, Any], locale: str) -> str:
    """Why a stored alert's visitor is this account, in the page's language: the alerts' own
    sentence per match method (the stored ``detail`` is the enrichment layer's English). A payload
    too old to read back as an Alert keeps its stored detail."""
    try:
        alert = Alert.from_record(dict(payload))
    except (KeyError, ValueError, TypeError):
        return str(payload.get("match", {}).get("detail", ""))
    return match_in_words(replace(alert, locale=locale))


def stored_sentence(phrase: Phrase | None, english: str, locale: str) -> str:
    """A sentence stored with its phrase (a learned network's evidence), in the page's language,
    from the same catalog as ``revisit explain``; its stored English when it was stored without."""
    return phrase.said_in(words_in(locale).translations) if phrase is not None else english
