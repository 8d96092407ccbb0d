"""IP address → Organization, through a chain of resolvers.

Each resolver is a small object with ``resolve(address) -> Organization | None``; the chain asks
them in order of trust and keeps the first answer. The same chain serves replay, the streaming
worker and ``revisit explain``, which shows every resolver's answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from revisit.core.networks import IPAddress
from revisit.core.organization import Organization, OrgKind, clues_said
from revisit.core.phrase import Phrase
from revisit.enrichment.terms import SOURCE_TERMS, SourceTerms

if TYPE_CHECKING:
    from revisit.enrichment.match import AccountIndex

log = logging.getLogger("revisit.resolve")

# (resolver name, seconds taken, result: "answer", "none" or "error"), for metrics
ResolutionObserver = Callable[[str, float, str], None]


class Resolver(Protocol):
    name: str

    @property
    def terms(self) -> tuple[SourceTerms, ...]:
        """The terms of the data it answers from (licence, credit, sales use)."""
        ...

    def resolve(self, address: IPAddress) -> Organization | None: ...


@dataclass(frozen=True, slots=True)
class ResolverAnswer:
    resolver: str
    organization: Organization | None


class ResolverChain:
    """Runs once per new address (callers cache the outcome), so timing each resolver is cheap.

    A resolver that raises does not stop the line: its error is logged and counted, and the next
    resolver is asked, as if it had no answer (a failure output, not a failed pipeline).
    """

    def __init__(self, resolvers: Sequence[Resolver], observer: ResolutionObserver | None = None) -> None:
        self.resolvers = tuple(resolvers)
        self.observer = observer

    def resolve_organization(self, address: IPAddress) -> Organization | None:
        for resolver in self.resolvers:
            organization = self._ask(resolver, address)
            if organization is not None:
                return organization
        return None

    def _ask(self, resolver: Resolver, address: IPAddress) -> Organization | None:
        started = time.perf_counter()
        try:
            organization = resolver.resolve(address)
        except Exception as error:
            log.warning("resolver %s failed for an address: %s: %s", resolver.name, type(error).__name__, error)
            if self.observer is not None:
                self.observer(resolver.name, time.perf_counter() - started, "error")
            return None
        if self.observer is not None:
            self.observer(resolver.name, time.perf_counter() - started, "none" if organization is None else "answer")
        return organization

    def terms(self) -> tuple[SourceTerms, ...]:
        return tuple(dict.fromkeys(t for r in self.resolvers for t in r.terms))

    def answers(self, address: IPAddress) -> list[ResolverAnswer]:
        """Every resolver's answer, for explaining a decision (the hot path stops at the first)."""
        return [ResolverAnswer(r.name, self._ask(r, address)) for r in self.resolvers]


class AccountNetworkResolver:
    """The account list's own networks: the most trusted answer there is (confidence 1.0)."""

    name = "account_networks"
    terms = (SOURCE_TERMS["account_networks"],)

    def __init__(self, index: AccountIndex) -> None:
        self._index = index

    def resolve(self, address: IPAddress) -> Organization | None:
        found = self._index.by_network(address)
        if found is None:
            return None
        accounts, network = found
        first = accounts[0]
        return Organization(
            name=first.name,
            kind=OrgKind.BUSINESS,
            source=self.name,
            confidence=1.0,
            domain=first.domains[0] if first.domains else None,
            network=network,
            **clues_said(
                Phrase.of("{network} is listed on account {account}", network=network, account=first.account_id)
            ),
        )
