"""IP address → Organization, through a chain of resolvers.

Each resolver is a small object with ``resolve(address) -> Organization | None``; the chain asks
them in order of trust and keeps the first answer. The same chain serves replay, the streaming
worker and ``revisit explain``, which shows every resolver's answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, Sequence

from enrichment.organization import Organization, OrgKind
from stream.fields import IPAddress

if TYPE_CHECKING:
    from enrichment.match import AccountIndex


class Resolver(Protocol):
    name: str

    def resolve(self, address: IPAddress) -> Organization | None: ...


@dataclass(frozen=True, slots=True)
class ResolverAnswer:
    resolver: str
    organization: Organization | None


class ResolverChain:
    def __init__(self, resolvers: Sequence[Resolver]) -> None:
        self.resolvers = tuple(resolvers)

    def resolve_organization(self, address: IPAddress) -> Organization | None:
        for resolver in self.resolvers:
            organization = resolver.resolve(address)
            if organization is not None:
                return organization
        return None

    def answers(self, address: IPAddress) -> list[ResolverAnswer]:
        """Every resolver's answer, for explaining a decision (the hot path stops at the first)."""
        return [ResolverAnswer(r.name, r.resolve(address)) for r in self.resolvers]


class AccountNetworkResolver:
    """The account list's own networks: the most trusted answer there is (confidence 1.0)."""

    name = "account_networks"

    def __init__(self, index: "AccountIndex") -> None:
        self._index = index

    def resolve(self, address: IPAddress) -> Organization | None:
        found = self._index.by_network(address)
        if found is None:
            return None
        accounts, network = found
        first = accounts[0]
        return Organization(
            name=first.name, kind=OrgKind.BUSINESS, source=self.name, confidence=1.0,
            domain=first.domains[0] if first.domains else None, network=network,
            evidence=f"{network} is listed on account {first.account_id}",
        )
