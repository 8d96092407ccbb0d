"""What matching a visitor's organisation against the list answered, and in words why."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from revisit.core.account import Account


class MatchMethod(StrEnum):
    NETWORK = "network"
    DOMAIN = "domain"
    NAME = "name"
    ALIAS = "alias"
    FUZZY = "fuzzy"


@dataclass(frozen=True, slots=True)
class AccountMatch:
    account: Account
    method: MatchMethod
    confidence: float
    detail: str  # in words: "network 203.0.113.0/24 is on the account", "name 'acme' = 'ACME Co., Ltd.'"


@dataclass(frozen=True, slots=True)
class NoMatch:
    reason: str
