"""Deterministic company names for tests and benchmarks of name search at scale: English and
Japanese names from word lists and made-up romanised words, with legal forms, and typos of them.

Made up here (no outside source): a generator, so 100,000 names cost nothing to keep."""

from __future__ import annotations

import random

SYLLABLES = [
    "ka",
    "ki",
    "ku",
    "ke",
    "ko",
    "sa",
    "shi",
    "su",
    "se",
    "so",
    "ta",
    "chi",
    "tsu",
    "te",
    "to",
    "na",
    "ni",
    "nu",
    "ne",
    "no",
    "ha",
    "hi",
    "fu",
    "he",
    "ho",
    "ma",
    "mi",
    "mu",
    "me",
    "mo",
    "ya",
    "yu",
    "yo",
    "ra",
    "ri",
    "ru",
    "re",
    "ro",
    "wa",
]
WORDS = [
    "Sakura",
    "Fuji",
    "Nippon",
    "Tokyo",
    "Osaka",
    "Pacific",
    "Global",
    "Alpha",
    "Summit",
    "Blue",
    "Harbor",
    "North",
    "Star",
    "Green",
    "Valley",
    "Royal",
    "Golden",
    "River",
    "Eastern",
    "Western",
    "Silver",
    "Maple",
    "Ocean",
    "Crystal",
    "Phoenix",
    "Apex",
    "Nova",
    "Delta",
    "Orion",
    "Pioneer",
    "Unity",
]
TRADES = [
    "Industries",
    "Trading",
    "Systems",
    "Logistics",
    "Electric",
    "Software",
    "Foods",
    "Chemical",
    "Steel",
    "Pharma",
    "Holdings",
    "Engineering",
    "Consulting",
    "Textiles",
    "Motors",
    "Printing",
    "Materials",
    "Networks",
    "Solutions",
    "Partners",
    "Bank",
    "Insurance",
]
FORMS = ("Co., Ltd.", "Inc.", "Corporation", "Limited", "K.K.", "LLC", "GmbH", "Kabushiki Kaisha", "")
KANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワ"
KANJI = "山田中川本木村林松井上野高橋石原森岡藤小大東西南北精機電工業商事製作所化学"
JA_FORMS = ("株式会社", "有限会社", "(株)", "")


def made_up_word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def company_name(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.15:  # Japanese
        body = "".join(rng.choice(KANA) for _ in range(rng.randint(2, 5))) + "".join(
            rng.choice(KANJI) for _ in range(rng.randint(1, 4))
        )
        form = rng.choice(JA_FORMS)
        return form + body if rng.random() < 0.5 else body + form
    words = [made_up_word(rng)] if roll < 0.75 else [rng.choice(WORDS)]
    if rng.random() < 0.5:
        words.append(rng.choice(WORDS) if rng.random() < 0.3 else made_up_word(rng))
    words.append(rng.choice(TRADES))
    form = rng.choice(FORMS)
    return " ".join(words) + (" " + form if form else "")


def company_names(count: int, seed: int = 23) -> list[str]:
    """``count`` different names, the same ones for the same seed."""
    rng = random.Random(seed)
    names: dict[str, None] = {}
    while len(names) < count:
        names[company_name(rng)] = None
    return list(names)


def with_typo(name: str, rng: random.Random) -> str:
    """The name with one letter missing, doubled, swapped with the next, or replaced."""
    at = rng.randrange(len(name) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return name[:at] + name[at + 1 :]
    if kind == 1:
        return name[: at + 1] + name[at:]
    if kind == 2:
        return name[:at] + name[at + 1] + name[at] + name[at + 2 :]
    return name[:at] + rng.choice("aeiourstn") + name[at + 1 :]
