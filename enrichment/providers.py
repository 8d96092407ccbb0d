"""Who is an access provider: the packaged list of ISP, mobile, cloud and VPN networks, and the
look of ISP-style reverse-DNS names.

Traffic from these carries the provider's name, not the visitor's company: showing "KDDI" or
"Amazon" as a returning customer is the mistake users of visitor-identification tools complain
about most, so these answers are marked as access providers and never matched by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from revisit.core.organization import OrgKind
from revisit.core.phrase import Phrase
from revisit.enrichment.normalize import normalize_name

_KINDS = {"isp": OrgKind.ISP, "mobile": OrgKind.MOBILE, "hosting": OrgKind.HOSTING, "vpn": OrgKind.VPN}

# Labels that name a dial-up, DSL, cable, fibre or mobile pool in a PTR name (p1234-ipngn...,
# ppp-203-0-113-7..., dynamic-..., cpe-..., ...). Matched as whole labels or label prefixes.
_POOL_WORDS = (
    "ppp",
    "pppoe",
    "dsl",
    "adsl",
    "vdsl",
    "xdsl",
    "dhcp",
    "dyn",
    "dynamic",
    "dynip",
    "pool",
    "dial",
    "dialup",
    "cable",
    "ftth",
    "fttx",
    "fttp",
    "fiber",
    "fibre",
    "broadband",
    "bb",
    "cust",
    "customer",
    "client",
    "clients",
    "res",
    "resident",
    "residential",
    "home",
    "user",
    "users",
    "cpe",
    "wireless",
    "mobile",
    "lte",
    "wimax",
    "ipngn",
    "flets",
    "sub",
    "static",
)
_POOL_LABEL = re.compile(
    r"^(?:" + "|".join(_POOL_WORDS) + r")(?:[\d-].*)?$|-(?:" + "|".join(_POOL_WORDS) + r")(?:[\d-]|$)"
)
# The address itself written into the name: 203-0-113-7, 203.0.113.7 inside a label, 0xcb007107
_EMBEDDED_ADDRESS = re.compile(r"\d{1,3}[-_.]\d{1,3}[-_.]\d{1,3}[-_.]\d{1,3}|(?:^|[^a-z])[0-9a-f]{8}(?:[^a-z]|$)")


# Words that make an organisation name a network operator's (Telstra Internet, Level 3 Communications,
# Wave Broadband, Tiscali SpA is not caught: the list above is for those).
_PROVIDER_WORDS = frozenset(
    (
        "telecom",
        "telecoms",
        "telecommunication",
        "telecommunications",
        "telekom",
        "telecomunicacoes",
        "telecomunicações",
        "telecomunicaciones",
        "telefonica",
        "telephone",
        "telco",
        "communications",
        "comunicacoes",
        "comunicações",
        "broadband",
        "internet",
        "cable",
        "catv",
        "wireless",
        "mobile",
        "cellular",
        "network",
        "networks",
        "net",
        "online",
        "fiber",
        "fibre",
        "isp",
        "hosting",
        "datacenter",
        "provedor",
        "provider",
        "dsl",
        "adsl",
        "satellite",
        "bb",
        "wifi",
        "wisp",
        "colocation",
        "cloud",
    )
)
_PROVIDER_SUFFIXES = ("telecom", "net", "tel", "com", "link", "host")


def provider_words_clue(name: str) -> Phrase | None:
    """Why a name reads as a network operator's ("Wave Broadband": the word "broadband"), or None."""
    words = re.split(r"[^\w]+", name.casefold())
    for word in words:
        if word in _PROVIDER_WORDS:
            return Phrase.of("the name has the word {word!r}", word=word)
    for word in words:
        if len(word) > 5 and word.endswith(_PROVIDER_SUFFIXES) and not word.endswith("com"):
            return Phrase.of("the name ends like a network operator's ({word!r})", word=word)
    return None


@dataclass(frozen=True, slots=True)
class AccessProvider:
    name: str
    kind: OrgKind


@dataclass(frozen=True)
class ProviderDirectory:
    """The access-provider list, by autonomous-system number and by reverse-DNS domain."""

    by_asn: dict[int, AccessProvider]
    by_domain: dict[str, AccessProvider]
    by_name: dict[str, AccessProvider]  # normalised names: "Google Inc." and "Google" are one

    def for_asn(self, asn: int | None) -> AccessProvider | None:
        return self.by_asn.get(asn) if asn is not None else None

    def for_name(self, name: str | None) -> AccessProvider | None:
        """The provider a registrant or organisation name is, e.g. "Google Inc." or "KDDI Corporation"."""
        if not name:
            return None
        key = normalize_name(name).key
        return self.by_name.get(key) if key else None

    def for_domain(self, domain: str | None) -> AccessProvider | None:
        return self.by_domain.get(domain.lower().rstrip(".")) if domain else None


@lru_cache(maxsize=1)
def access_providers() -> ProviderDirectory:
    """The packaged list (``enrichment/data/access_providers.txt``; its header names its sources)."""
    text = resources.files("revisit.enrichment").joinpath("data/access_providers.txt").read_text("utf-8")
    return parse_provider_list(text)


def parse_provider_list(text: str) -> ProviderDirectory:
    by_asn: dict[int, AccessProvider] = {}
    by_domain: dict[str, AccessProvider] = {}
    by_name: dict[str, AccessProvider] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 3)
        if parts[0] == "name" and len(parts) >= 3:
            parts = ["name", "-", parts[1], " ".join(parts[2:])]
        if len(parts) != 4 or parts[0] not in ("asn", "domain", "name") or parts[2] not in _KINDS:
            raise ValueError(
                f"access provider list, line {number}: expected 'asn <number> <kind> <name>', "
                f"'domain <domain> <kind> <name>' or 'name <kind> <name>', got {line!r}"
            )
        provider = AccessProvider(parts[3], _KINDS[parts[2]])
        if parts[0] == "asn":
            by_asn[int(parts[1])] = provider
        elif parts[0] == "domain":
            by_domain[parts[1].lower()] = provider
        # "NTT Communications (OCN)" is known as both "NTT Communications" and "OCN"
        for name in re.split(r"\s*[()]\s*", provider.name):
            key = normalize_name(name).key if name else ""
            if len(key) >= 3:
                by_name.setdefault(key, provider)
    return ProviderDirectory(by_asn, by_domain, by_name)


def pool_name_clue(ptr_name: str) -> Phrase | None:
    """Why a PTR name looks like an address in an ISP's customer pool, or None.

    Only the labels left of the registrable domain are looked at, so a company called
    "Home Centre" with PTR ``www.homecentre.co.jp`` is not taken for a home line."""
    labels = ptr_name.lower().rstrip(".").split(".")
    host_labels = labels[:-2] if len(labels) > 2 else []
    for label in host_labels:
        if _POOL_LABEL.search(label):
            return Phrase.of("the name has an ISP pool label ({label!r})", label=label)
    if _EMBEDDED_ADDRESS.search(".".join(host_labels)):
        return Phrase.of("the name spells out the address, as ISPs' pool names do")
    return None
