"""What matching a visitor's organisation against the list answered, and in words why."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from revisit.core.account import Account
from revisit.core.phrase import Phrase, said_in_process


class MatchMethod(StrEnum):
    NETWORK = "network"
    LEDGER = "ledger"
    DOMAIN = "domain"
    NAME = "name"
    ALIAS = "alias"
    FUZZY = "fuzzy"
    # the National Tax Agency's registered names (``revisit accounts enrich --houjin``), for
    # romanised names: the registered English name, and the reading (フリガナ) romanised
    ENGLISH_NAME = "english_name"
    READING = "reading"


@said_in_process("phrase")
@dataclass(frozen=True, slots=True)
class AccountMatch:
    account: Account
    method: MatchMethod
    confidence: float
    detail: str  # in words: "network 203.0.113.0/24 is on the account", "name 'acme' = 'ACME Co., Ltd.'"
    phrase: Phrase | None = field(default=None, compare=False)  # the detail, to be said in another language

    @classmethod
    def because(cls, account: Account, method: MatchMethod, confidence: float, phrase: Phrase) -> AccountMatch:
        return cls(account, method, confidence, str(phrase), phrase)


@said_in_process("phrase")
@dataclass(frozen=True, slots=True)
class NoMatch:
    reason: str
    phrase: Phrase | None = field(default=None, compare=False)  # the reason, to be said in another language

    @classmethod
    def because(cls, template: str, /, **values: object) -> NoMatch:
        phrase = Phrase.of(template, **values)
        return cls(str(phrase), phrase)


@dataclass(frozen=True, slots=True)
class Ambiguity:
    """A visitor organisation left unmatched because its name fits several accounts alike: the
    accounts (their ids) and the first address it came from (for ``revisit explain``)."""

    organization: str
    account_ids: tuple[str, ...]
    address: str
