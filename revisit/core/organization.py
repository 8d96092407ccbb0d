"""Who is behind an IP address, as far as a resolver can tell."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from revisit.core.phrase import Phrase, said_in_process


class OrgKind(StrEnum):
    BUSINESS = "business"
    ISP = "isp"
    MOBILE = "mobile"
    HOSTING = "hosting"
    VPN = "vpn"
    EDUCATION = "education"
    GOVERNMENT = "government"
    UNKNOWN = "unknown"


# Traffic through these is the provider's, not its customers': never matched to an account by name
# or domain (an account's own CIDR still matches), because "ISP shown as the company" is the
# complaint users of visitor-identification tools make most.
ACCESS_PROVIDER_KINDS = frozenset({OrgKind.ISP, OrgKind.MOBILE, OrgKind.HOSTING, OrgKind.VPN})


@said_in_process("evidence_said")
@dataclass(frozen=True, slots=True)
class Organization:
    name: str | None
    kind: OrgKind
    source: str
    confidence: float
    domain: str | None = None
    asn: int | None = None
    network: str | None = None
    access_provider: str | None = None  # the ISP carrying the traffic, when named separately
    evidence: str = ""  # what the resolver saw, in words, for `revisit explain`
    # the same clues kept as sentences and values, to be said in the reader's language (not stored)
    evidence_said: tuple[Phrase, ...] = field(default=(), compare=False)

    @property
    def is_access_provider(self) -> bool:
        return self.kind in ACCESS_PROVIDER_KINDS

    def as_record(self) -> dict[str, object]:
        return {
            "name": self.name,
            "domain": self.domain,
            "network": self.network,
            "source": self.source,
            "kind": self.kind.value,
            "asn": self.asn,
        }


def clues_said(*clues: Phrase) -> dict[str, Any]:
    """``evidence`` and ``evidence_said`` of an Organization from its clues: ``Organization(...,
    **clues_said(a, b))``."""
    return {"evidence": "; ".join(map(str, clues)), "evidence_said": clues}


def organization_record(organization: Organization) -> dict[str, Any]:
    """The contract's {name, domain, network, source}, plus what rebuilds the Organization."""
    return {
        "name": organization.name,
        "domain": organization.domain,
        "network": organization.network,
        "source": organization.source,
        "kind": organization.kind.value,
        "asn": organization.asn,
        "confidence": organization.confidence,
        "access_provider": organization.access_provider,
        "evidence": organization.evidence,
    }


def organization_from_record(record: dict[str, Any]) -> Organization:
    return Organization(
        name=record["name"],
        kind=OrgKind(record["kind"]),
        source=record["source"],
        confidence=record["confidence"],
        domain=record["domain"],
        asn=record["asn"],
        network=record["network"],
        access_provider=record["access_provider"],
        evidence=record["evidence"],
    )
