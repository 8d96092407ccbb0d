"""Company-name normalisation for matching (名寄せ).

``株式会社トヨタ自動車``, ``トヨタ自動車㈱`` and ``ﾄﾖﾀ自動車（株）`` all become ``トヨタ自動車``;
``H & M Hennes & Mauritz AB`` and ``H&M Hennes & Mauritz`` both become ``hmhennesmauritz``. Only
equal keys match: a shared word is never enough (``Caravan Guard Ltd`` ≠ ``Caravan Club Ltd``).

Legal forms come from the ISO 20275 list (packaged in ``data/legal_forms.txt``, rebuilt with
``python -m enrichment.legal_forms``) plus the usual English renderings of Japanese forms.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

# Japanese forms are removed wherever they stand: 株式会社 goes before or after the name.
JAPANESE_FORMS = (
    "株式会社", "有限会社", "合同会社", "合資会社", "合名会社", "相互会社",
    "一般社団法人", "一般財団法人", "公益社団法人", "公益財団法人", "特定非営利活動法人",
    "独立行政法人", "国立大学法人", "学校法人", "医療法人", "社会福祉法人", "宗教法人",
    "(株)", "(有)", "(同)", "(資)", "(名)", "(社)", "(財)", "(医)", "(学)", "(独)",
    "カブシキガイシャ", "カブシキカイシャ", "ユウゲンガイシャ",
)
# Latin forms removed anywhere in the name, not just at its end: unambiguous words only.
FORMS_ANYWHERE = ("co ltd", "kabushiki kaisha", "kabushiki gaisha", "kk", "inc", "corp", "llc",
                  "gmbh", "pte ltd", "pty ltd", "sdn bhd")
LEADING_WORDS = ("the",)

_APOSTROPHES = re.compile(r"['’`]")
_DOTTED = re.compile(r"(?<=\w)\.(?=\w)|(?<=\w)\.")
_NOT_WORD = re.compile(r"[^\w]+|_")


@dataclass(frozen=True, slots=True)
class NormalizedName:
    key: str  # the matching key; empty when the name is nothing but a legal form
    removed: tuple[str, ...]  # legal forms and words taken out, to explain a match


def tokens_of(text: str) -> list[str]:
    """NFKC, casefold, punctuation to spaces: the word list both names and legal forms go through."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _APOSTROPHES.sub("", text)
    text = _DOTTED.sub("", text)  # K.K. → kk, S.A. → sa, Co. → co
    return _NOT_WORD.sub(" ", text).split()


@lru_cache(maxsize=1)
def legal_forms() -> dict[str, tuple[tuple[str, ...], ...]]:
    """Legal forms as token tuples keyed by their last token, longest first within each key so
    ``co ltd`` goes before ``ltd``; one dict lookup per step keeps 100,000 names quick."""
    text = resources.files("enrichment").joinpath("data/legal_forms.txt").read_text("utf-8")
    forms = {tuple(line.split()) for line in text.splitlines() if line and not line.startswith("#")}
    by_last: dict[str, list[tuple[str, ...]]] = {}
    for form in sorted(forms, key=lambda form: (-len(form), form)):
        by_last.setdefault(form[-1], []).append(form)
    return {last: tuple(group) for last, group in by_last.items()}


@lru_cache(maxsize=1)
def _forms_anywhere() -> dict[str, tuple[tuple[str, ...], ...]]:
    """FORMS_ANYWHERE as token tuples keyed by their first token, longest first."""
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for form in sorted((tuple(f.split()) for f in FORMS_ANYWHERE), key=len, reverse=True):
        by_first.setdefault(form[0], []).append(form)
    return {first: tuple(group) for first, group in by_first.items()}


@lru_cache(maxsize=65_536)
def normalize_name(name: str) -> NormalizedName:
    """The matching key of a company name (cached: resolvers repeat the same names)."""
    return normalize_uncached(name)


def normalize_uncached(name: str) -> NormalizedName:
    removed: list[str] = []
    text = unicodedata.normalize("NFKC", name).casefold()
    for form in JAPANESE_FORMS:
        if form in text:
            removed.append(form)
            text = text.replace(form, " ")
    tokens = tokens_of(text)
    tokens = _remove_anywhere(tokens, _forms_anywhere(), removed)
    while tokens and tokens[0] in LEADING_WORDS:
        removed.append(tokens.pop(0))
    tokens = _strip_trailing_forms(tokens, legal_forms(), removed)
    return NormalizedName("".join(tokens), tuple(removed))


def _remove_anywhere(tokens: list[str], forms: dict[str, tuple[tuple[str, ...], ...]],
                     removed: list[str]) -> list[str]:
    result: list[str] = []
    i = 0
    while i < len(tokens):
        for form in forms.get(tokens[i], ()):
            if tuple(tokens[i:i + len(form)]) == form and len(tokens) > len(form):
                removed.append(" ".join(form))
                i += len(form)
                break
        else:
            result.append(tokens[i])
            i += 1
    return result


def _strip_trailing_forms(tokens: list[str], forms: dict[str, tuple[tuple[str, ...], ...]],
                          removed: list[str]) -> list[str]:
    """Take legal forms off the end, repeatedly (``Co., Ltd.``, ``Ltd. Co.``), keeping one word."""
    changed = True
    while changed and tokens:
        changed = False
        for form in forms.get(tokens[-1], ()):
            n = len(form)
            if len(tokens) > n and tuple(tokens[-n:]) == form:
                removed.append(" ".join(form))
                del tokens[-n:]
                changed = True
                break
    return tokens


# --- for people looking for a name: sorting and searching (the analysts' web UI) ----------------

_KATAKANA = re.compile(r"[\u30a1-\u30f6]")


def _hiragana(text: str) -> str:
    """Katakana → hiragana, so that サクラ and さくら sort and search as one."""
    return _KATAKANA.sub(lambda m: chr(ord(m.group(0)) - 0x60), text)


def sort_key(name: str, reading: str = "") -> str:
    """Where a company belongs in a list: by its reading (フリガナ) when the list gives one, else by
    its name without legal forms, so 株式会社サクラ sorts under さ, not under 株. Kana sort in
    gojūon order; a name in kanji without a reading sorts by code point."""
    if reading.strip():
        return _hiragana("".join(unicodedata.normalize("NFKC", reading).casefold().split()))
    key = normalize_name(name).key
    return _hiragana(key or unicodedata.normalize("NFKC", name).casefold())


def search_text(*names: str) -> str:
    """What a name search looks in: each name as written and as its matching key, width- and
    case-folded, kana as hiragana (one line each)."""
    forms: list[str] = []
    for name in names:
        if name:
            forms += [folded_for_search(name), _hiragana(normalize_name(name).key)]
    return "\n".join(dict.fromkeys(form for form in forms if form))


def folded_for_search(text: str) -> str:
    """A search query (or a name) as ``search_text`` stores names: ｻｸﾗ, サクラ and さくら are equal."""
    return _hiragana(unicodedata.normalize("NFKC", text).casefold().strip())
