"""The terms of each data source revisit can ask: licence, the attribution it requires, and whether
its data may be used to tell sales who visited.

A source is named by the ``source`` of the Organization it answers with, so ``revisit explain``
can show the terms of the one that answered, ``revisit sources`` prints the attribution page the
open databases require (CC BY 4.0 and CC BY-SA 4.0 ask for credit wherever their data is shown),
and the configuration refuses to turn on a source whose terms forbid sales use unless it is
acknowledged (``resolution.rdap.acknowledge_terms``). The texts below follow each provider's
published terms (URLs beside them; README, "Data sources").
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from revisit.core.config import ResolutionSettings
from revisit.core.errors import BadInput


@dataclass(frozen=True, slots=True)
class SourceTerms:
    key: str  # the Organization.source it covers ("ipinfo_lite", "rdap", ...)
    title: str
    licence: str
    terms_url: str
    sales_use: bool | None  # may its data tell sales who visited? None: unknown (a file of unknown origin)
    attribution: str = ""  # the credit the terms require wherever the data is shown; "" when none
    attribution_url: str = ""
    note: str = ""

    def sales_use_words(self) -> str:
        if self.sales_use is None:
            return "unknown: check the terms of whoever made the file"
        return "allowed" if self.sales_use else "NOT allowed by its terms"


# Each registry's own words, one per line in the refusal (a single line was over 500 characters).
_REGISTRY_QUOTES = (
    "ARIN: not for 'advertising, direct marketing, marketing research or similar purposes', nor as "
    "part of a commercial service 'including the solicitation and servicing of ... customers'",
    "APNIC: 'any use of this material to target advertising or similar activities is explicitly forbidden'",
    "RIPE NCC (Terms and Conditions, article 4.4): not for 'advertising, direct "
    "marketing, marketing research or similar purposes'",
    "JPNIC: published for network operation and management, not for sales",
)
_REGISTRY_NOTE = "; ".join(_REGISTRY_QUOTES)
_REGISTRY_URLS = (
    " (APNIC: https://www.apnic.net/manage-ip/using-whois/bulk-access/copyright/ ; RIPE NCC: "
    "https://www.ripe.net/publications/news/incorrect-use-of-the-ripe-database/)"
)

# The database_type ``revisit demo`` writes into demo.mmdb: read as IPinfo Lite (its schema), listed
# by ``revisit sources`` as invented data, which owes IPinfo no credit.
DEMO_DATABASE_TYPE = "revisit-demo"

SOURCE_TERMS: dict[str, SourceTerms] = {
    terms.key: terms
    for terms in (
        SourceTerms(
            "account_networks",
            "Your account list's networks",
            "your own data",
            "accounts CSV (networks column)",
            True,
        ),
        SourceTerms(
            "ledger",
            "Your network ledger",
            "your own data (sign-ins and form exports of your own visitors)",
            "revisit ledger list",
            True,
            note="first-party evidence: only the e-mail's domain is kept (README, data map)",
        ),
        SourceTerms(
            "maxmind",
            "MaxMind GeoIP databases",
            "MaxMind commercial licence (End User License Agreement)",
            "https://www.maxmind.com/en/end-user-license-agreement",
            True,
            note="MaxMind asks users to honour its 'Do Not Sell' privacy exclusions for advertising and marketing",
        ),
        SourceTerms(
            "geolite2",
            "MaxMind GeoLite databases",
            "GeoLite End User License Agreement",
            "https://www.maxmind.com/en/geolite2/eula",
            True,
            "This product includes GeoLite2 data created by MaxMind, available from https://www.maxmind.com.",
            "https://www.maxmind.com",
            note="no redistribution of the database; honour MaxMind's 'Do Not Sell' privacy exclusions",
        ),
        SourceTerms(
            "ipinfo_lite",
            "IPinfo Lite",
            "CC BY-SA 4.0",
            "https://ipinfo.io/developers/ipinfo-lite-database",
            True,
            "IP address data powered by IPinfo",
            "https://ipinfo.io",
        ),
        SourceTerms(
            "revisit_demo",
            "The revisit demo's IP database (invented records in IPinfo Lite's schema)",
            "invented by `revisit demo`: no third-party data",
            "revisit/demo.py",
            True,
            note="its organisations and networks are made up for the demo and name no real visitor; "
            "IPinfo's credit is owed for a real IPinfo Lite file, not for this one",
        ),
        SourceTerms(
            "dbip_lite",
            "DB-IP Lite",
            "CC BY 4.0",
            "https://db-ip.com/db/lite.php",
            True,
            "IP Geolocation by DB-IP",
            "https://db-ip.com",
            note="pages that show or use its results must link back to db-ip.com",
        ),
        SourceTerms(
            "iptoasn",
            "iptoasn",
            "Open Data Commons PDDL 1.0 (public domain)",
            "https://iptoasn.com",
            True,
        ),
        SourceTerms(
            "mmdb",
            "A MaxMind-format database of unknown origin",
            "unknown",
            "the file's own documentation",
            None,
        ),
        SourceTerms(
            "reverse_dns",
            "Reverse DNS (PTR names)",
            "public DNS answers, no licence",
            "RFC 1035",
            True,
            note="each lookup sends the visitor's address to your DNS resolver",
        ),
        SourceTerms(
            "rdap",
            "Regional Internet Registries' RDAP/WHOIS (ARIN, APNIC, RIPE NCC, LACNIC, AFRINIC)",
            "each registry's WHOIS/RDAP terms of use",
            "https://www.arin.net/resources/registry/whois/tou/",
            False,
            note=_REGISTRY_NOTE + _REGISTRY_URLS,
        ),
        SourceTerms(
            "rdap+jpnic",
            "JPNIC WHOIS (through APNIC's RDAP)",
            "JPNIC WHOIS terms of use",
            "https://www.nic.ad.jp/ja/topics/2003/20030912-01.html",
            False,
            note=_REGISTRY_NOTE,
        ),
    )
}


def terms_for(source: str) -> SourceTerms | None:
    return SOURCE_TERMS.get(source)


def late_source_terms(resolution: ResolutionSettings) -> tuple[SourceTerms, ...]:
    """The terms of the slow sources the settings turn on (reverse DNS, RDAP with JPNIC)."""
    keys = (["reverse_dns"] if resolution.reverse_dns.enabled else []) + (
        ["rdap", "rdap+jpnic"] if resolution.rdap.enabled else []
    )
    return tuple(SOURCE_TERMS[key] for key in keys)


def check_source_terms(resolution: ResolutionSettings) -> None:
    """BadInput (exit 2) when a source whose terms forbid sales use is enabled without the
    acknowledgement key: a user must not learn from a lawyer that RDAP was on by a default."""
    if rdap_needs_acknowledgement(resolution):
        quotes = "\n".join(
            textwrap.fill(quote, 100, initial_indent="  ", subsequent_indent="    ") for quote in _REGISTRY_QUOTES
        )
        raise BadInput(
            "resolution.rdap.enabled: the registries' WHOIS/RDAP terms forbid using their data\n"
            f"for marketing or sales:\n{quotes}\n"
            "Set resolution.rdap.acknowledge_terms = true to confirm your use complies with them\n"
            "(see `revisit sources`), or turn RDAP off."
        )


def rdap_needs_acknowledgement(resolution: ResolutionSettings) -> bool:
    return resolution.rdap.enabled and not resolution.rdap.acknowledge_terms
