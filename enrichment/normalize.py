"""Company-name normalisation for matching (名寄せ).

``株式会社トヨタ自動車``, ``トヨタ自動車㈱`` and ``ﾄﾖﾀ自動車（株）`` all become ``トヨタ自動車``;
``H & M Hennes & Mauritz AB`` and ``H&M Hennes & Mauritz`` both become ``hmhennesmauritz``. Only
equal keys match: a shared word is never enough (``Caravan Guard Ltd`` ≠ ``Caravan Club Ltd``).

Legal forms come from the ISO 20275 list (packaged in ``data/legal_forms.txt``, rebuilt with
``python -m revisit.enrichment.legal_forms``) plus the usual English renderings of Japanese forms.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from rapidfuzz.distance import OSA

# Japanese forms are removed wherever they stand: 株式会社 goes before or after the name.
JAPANESE_FORMS = (
    "株式会社",
    "有限会社",
    "合同会社",
    "合資会社",
    "合名会社",
    "相互会社",
    "一般社団法人",
    "一般財団法人",
    "公益社団法人",
    "公益財団法人",
    "特定非営利活動法人",
    "独立行政法人",
    "国立大学法人",
    "学校法人",
    "医療法人社団",
    "医療法人財団",
    "社会医療法人",
    "医療法人",
    "社会福祉法人",
    "宗教法人",
    "(株)",
    "(有)",
    "(同)",
    "(資)",
    "(名)",
    "(社)",
    "(財)",
    "(医)",
    "(学)",
    "(独)",
    "カブシキガイシャ",
    "カブシキカイシャ",
    "ユウゲンガイシャ",
)
# Latin forms removed anywhere in the name, not just at its end: unambiguous words only.
FORMS_ANYWHERE = (
    "co ltd",
    "kabushiki kaisha",
    "kabushiki gaisha",
    "kk",
    "inc",
    "corp",
    "llc",
    "gmbh",
    "pte ltd",
    "pty ltd",
    "sdn bhd",
)
LEADING_WORDS = ("the",)
# Long legal-form words read as themselves with one typo (a letter missing, doubled or swapped:
# Corporaton, Limitted, Kabushki Kaisha), so the form is taken off as if spelt right. Short
# forms (Ltd, Inc, AB) are left exact: one letter off, they are other words or initials.
TYPO_TOLERANT_FORM_WORDS = (
    "company",
    "limited",
    "corporation",
    "incorporated",
    "kabushiki",
    "kaisha",
    "gaisha",
    "partnership",
)

# Old and variant kanji that company names and lists write both ways (髙島屋/高島屋, 山﨑/山崎).
VARIANT_KANJI = str.maketrans(
    {
        "髙": "高",
        "﨑": "崎",
        "嵜": "崎",
        "齋": "斎",
        "齊": "斎",
        "邊": "辺",
        "邉": "辺",
        "濱": "浜",
        "澤": "沢",
        "櫻": "桜",
        "國": "国",
        "廣": "広",
        "德": "徳",
        "惠": "恵",
        "𠮷": "吉",
        "槇": "槙",
        "竸": "競",
        "舘": "館",
        "瀨": "瀬",
        "冨": "富",
        "ヶ": "ケ",
        "ヵ": "カ",
        "ゝ": "",
        "ゞ": "",
    }
)
# A branch or office after the company's name (サクラ精機 東京支店, ACME Japan Branch) names a part of
# the company: the part is taken off, with a place before it if it is one of these.
BRANCH_WORDS_JA = ("支店", "支社", "営業所", "出張所", "事業所", "本店", "本社", "事務所", "営業部")
PLACES_JA = (
    "北海道",
    "青森",
    "岩手",
    "宮城",
    "秋田",
    "山形",
    "福島",
    "茨城",
    "栃木",
    "群馬",
    "埼玉",
    "千葉",
    "東京",
    "神奈川",
    "新潟",
    "富山",
    "石川",
    "福井",
    "山梨",
    "長野",
    "岐阜",
    "静岡",
    "愛知",
    "三重",
    "滋賀",
    "京都",
    "大阪",
    "兵庫",
    "奈良",
    "和歌山",
    "鳥取",
    "島根",
    "岡山",
    "広島",
    "山口",
    "徳島",
    "香川",
    "愛媛",
    "高知",
    "福岡",
    "佐賀",
    "長崎",
    "熊本",
    "大分",
    "宮崎",
    "鹿児島",
    "沖縄",
    "札幌",
    "仙台",
    "横浜",
    "川崎",
    "名古屋",
    "神戸",
    "北九州",
    "博多",
    "那覇",
    "浜松",
    "金沢",
    "松山",
    "高松",
    "新宿",
    "渋谷",
    "品川",
    "丸の内",
    "梅田",
    "関東",
    "関西",
    "中部",
    "東海",
    "北陸",
    "東北",
    "中国",
    "四国",
    "九州",
    "近畿",
    "東日本",
    "西日本",
    "首都圏",
)
BRANCH_WORDS_EN = ("branch", "office", "branch office", "representative office", "liaison office")
PLACES_EN = (
    "japan",
    "tokyo",
    "osaka",
    "nagoya",
    "yokohama",
    "kyoto",
    "kobe",
    "fukuoka",
    "sapporo",
    "sendai",
    "hiroshima",
    "asia",
    "apac",
    "emea",
    "singapore",
    "london",
    "new york",
    "us",
    "usa",
    "uk",
)
_BRANCH_JA = re.compile("(?:(?:" + "|".join(PLACES_JA) + ")[都道府県市区]?)?(?:" + "|".join(BRANCH_WORDS_JA) + ")$")

_ANY_JAPANESE_FORM = re.compile("|".join(re.escape(form) for form in JAPANESE_FORMS))
# longest first, as word lists: what _strip_branch compares the end of a name with
_BRANCHES_EN = tuple(branch.split() for branch in sorted(BRANCH_WORDS_EN, key=len, reverse=True))
_BRANCH_LAST_WORDS = frozenset(words[-1] for words in _BRANCHES_EN)
_PLACES_EN = tuple(place.split() for place in sorted(PLACES_EN, key=len, reverse=True))
_APOSTROPHES = re.compile(r"['’`]")
_DOTTED = re.compile(r"(?<=\w)\.(?=\w)|(?<=\w)\.")
_NOT_WORD = re.compile(r"[^\w]+|_")


@dataclass(frozen=True, slots=True)
class NormalizedName:
    key: str  # the matching key; empty when the name is nothing but a legal form
    removed: tuple[str, ...]  # legal forms and words taken out, to explain a match
    words: tuple[str, ...] = ()  # the key's words, for word-order-insensitive fuzzy matching


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
    text = resources.files("revisit.enrichment").joinpath("data/legal_forms.txt").read_text("utf-8")
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
    text = unicodedata.normalize("NFKC", name).casefold().translate(VARIANT_KANJI)
    if _ANY_JAPANESE_FORM.search(text):  # one scan for the usual name with none (100,000 names: 0.3 s less)
        for form in JAPANESE_FORMS:
            if form in text:
                removed.append(form)
                text = text.replace(form, " ")
    tokens = tokens_of(text)
    tokens = _remove_anywhere(tokens, _forms_anywhere(), removed)
    while tokens and tokens[0] in LEADING_WORDS:
        removed.append(tokens.pop(0))
    tokens = _strip_trailing_forms(tokens, legal_forms(), removed)
    tokens = _strip_branch(tokens, removed)
    tokens = _strip_trailing_forms(tokens, legal_forms(), removed)  # ACME Ltd. Tokyo Branch
    tokens = [_hiragana(token) for token in tokens]  # かもめ印刷 and カモメ印刷 are written both ways
    return NormalizedName("".join(tokens), tuple(removed), tuple(tokens))


@lru_cache(maxsize=65_536)
def form_word(token: str) -> str:
    """The legal-form word a token stands for, allowing one letter missing, doubled or swapped
    with its neighbour in a long one; any other token as it is. A wrong letter is not read
    through: ``limiter`` is a word of its own, not ``limited``."""
    if len(token) < 6 or token in TYPO_TOLERANT_FORM_WORDS:
        return token
    for word in TYPO_TOLERANT_FORM_WORDS:
        one_edit = abs(len(word) - len(token)) <= 1 and OSA.distance(token, word, score_cutoff=1) <= 1
        if one_edit and (len(word) != len(token) or sorted(word) == sorted(token)):  # same length: a swap
            return word
    return token


def _strip_branch(tokens: list[str], removed: list[str]) -> list[str]:
    """Take a branch or office designation off the end, keeping at least one word."""
    if not tokens:
        return tokens
    for words in _BRANCHES_EN if tokens[-1] in _BRANCH_LAST_WORDS else ():
        if len(tokens) > len(words) and tokens[-len(words) :] == words:
            cut = len(words)
            for place_words in _PLACES_EN:
                if len(tokens) > cut + len(place_words) and tokens[-cut - len(place_words) : -cut] == place_words:
                    cut += len(place_words)
                    break
            removed.append(" ".join(tokens[-cut:]))
            return tokens[:-cut]
    found = _BRANCH_JA.search(tokens[-1])
    if found is not None:
        rest = tokens[-1][: found.start()]
        if rest or len(tokens) > 1:
            removed.append(found.group(0))
            return tokens[:-1] + ([rest] if rest else [])
    return tokens


def _remove_anywhere(tokens: list[str], forms: dict[str, tuple[tuple[str, ...], ...]], removed: list[str]) -> list[str]:
    result: list[str] = []
    i = 0
    while i < len(tokens):
        for form in forms.get(form_word(tokens[i]), ()):
            if tuple(map(form_word, tokens[i : i + len(form)])) == form and len(tokens) > len(form):
                removed.append(" ".join(form))
                i += len(form)
                break
        else:
            result.append(tokens[i])
            i += 1
    return result


def _strip_trailing_forms(
    tokens: list[str], forms: dict[str, tuple[tuple[str, ...], ...]], removed: list[str]
) -> list[str]:
    """Take legal forms off the end, repeatedly (``Co., Ltd.``, ``Ltd. Co.``), keeping one word."""
    changed = True
    while changed and tokens:
        changed = False
        for form in forms.get(form_word(tokens[-1]), ()):
            n = len(form)
            if len(tokens) > n and tuple(map(form_word, tokens[-n:])) == form:
                removed.append(" ".join(form))
                del tokens[-n:]
                changed = True
                break
    return tokens


# --- for people looking for a name: sorting and searching (the analysts' web UI) ----------------

_TO_HIRAGANA = {katakana: katakana - 0x60 for katakana in range(0x30A1, 0x30F7)}  # ァ..ヶ → ぁ..ゖ


def _hiragana(text: str) -> str:
    """Katakana → hiragana, so that サクラ and さくら sort and search as one."""
    return text.translate(_TO_HIRAGANA)


_NO_KEYS: Mapping[str, str] = {}


def _key(name: str, keys: Mapping[str, str]) -> str:
    found = keys.get(name)
    return normalize_name(name).key if found is None else found


def sort_key(name: str, reading: str = "", keys: Mapping[str, str] = _NO_KEYS) -> str:
    """Where a company belongs in a list: by its reading (フリガナ) when the list gives one, else by
    its name without legal forms, so 株式会社サクラ sorts under さ, not under 株. Kana sort in
    gojūon order; a name in kanji without a reading sorts by code point. ``keys``: names whose
    matching key is known already (``normalize_name(name).key``), not normalised again."""
    if reading.strip():
        return _hiragana("".join(unicodedata.normalize("NFKC", reading).casefold().split()))
    key = _key(name, keys)
    return _hiragana(key or unicodedata.normalize("NFKC", name).casefold())


def search_text(*names: str, keys: Mapping[str, str] = _NO_KEYS) -> str:
    """What a name search looks in: each name as written and as its matching key, width- and
    case-folded, kana as hiragana (one line each); ``keys`` as for ``sort_key``."""
    forms: list[str] = []
    for name in names:
        if name:
            forms += [folded_for_search(name), _hiragana(_key(name, keys))]
    return "\n".join(dict.fromkeys(form for form in forms if form))


def search_forms(query: str) -> tuple[str, ...]:
    """The forms of a name search query to look for in ``search_text``: as typed (folded), and as
    its matching key, so さくら精機株式会社 finds 株式会社さくら精機 (the key drops the legal form
    wherever it stands; the typed form keeps a partial query like 株式会社サク working)."""
    return tuple(dict.fromkeys(form for form in (folded_for_search(query), _hiragana(_key(query, _NO_KEYS))) if form))


def folded_for_search(text: str) -> str:
    """A search query (or a name) as ``search_text`` stores names: ｻｸﾗ, サクラ and さくら are equal."""
    return _hiragana(unicodedata.normalize("NFKC", text).casefold().strip())
