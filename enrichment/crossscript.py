"""Keys for matching a romanised name to a Japanese account (cross-script 名寄せ).

RDAP and MaxMind name Japanese companies in Latin letters (``SAKURA SEIKI CO.,LTD.``); the account
list has ``株式会社サクラ精機``. The National Tax Agency's corporate-number data gives each company
its registered English name and its reading (フリガナ, ``revisit accounts enrich --houjin``): the
English name is compared as it is, the reading after romanisation (jaconv: katakana → hiragana →
Hepburn-style letters).

Romanisations of one reading differ in long vowels (Kōgyō is written ``kogyo``, ``kougyou``,
``kogyou``) and in ``n`` before ``b``/``m``/``p`` (``shimbun``, ``shinbun``), so both sides are
folded the same way before comparing: ``ou``/``oo`` → ``o``, ``uu`` → ``u``, the long-vowel mark
dropped, ``m`` before ``b``/``p`` → ``n``.
"""

from __future__ import annotations

import re
import unicodedata

import jaconv

from revisit.enrichment.normalize import NormalizedName, normalize_uncached

_KANA = re.compile(r"[\u3040-\u30ff\uff66-\uff9f]")
_LATIN = re.compile(r"[A-Za-z]")
_FOLDS = ((re.compile(r"o[ou]"), "o"), (re.compile(r"uu"), "u"), (re.compile(r"m(?=[bp])"), "n"))


def has_latin(text: str) -> bool:
    return _LATIN.search(unicodedata.normalize("NFKC", text)) is not None


def fold(word: str) -> str:
    for pattern, replacement in _FOLDS:
        word = pattern.sub(replacement, word)
    return word


def romanised_reading(kana: str) -> str:
    """A katakana or hiragana reading in Latin letters (``サクラセイキ`` → ``sakuraseiki``)."""
    text = unicodedata.normalize("NFKC", kana)
    letters = jaconv.kana2alphabet(jaconv.kata2hira(text)).replace("-", "").replace("ー", "")
    return "".join(ch for ch in letters.lower() if ch.isascii() and ch.isalnum())


def cross_key(text: str) -> NormalizedName:
    """The folded key of a Latin name (legal forms removed first) or of a kana reading."""
    if _KANA.search(text) and not has_latin(text):
        key = fold(romanised_reading(text))
        return NormalizedName(key, (), (key,) if key else ())
    normalized = normalize_uncached(text)
    key = fold(normalized.key)
    # one word: a reading has no spaces, so "sakura seiki" is compared as "sakuraseiki"
    return NormalizedName(key, normalized.removed, (key,) if key else ())
