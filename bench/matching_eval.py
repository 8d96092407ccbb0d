"""Precision and recall of name matching (名寄せ) on a labelled evaluation set.

    .venv/bin/python bench/matching_eval.py [--shared-data ../shared/data] [--verbose]

``bench/matching_eval/cases.jsonl`` holds the cases, each a resolver answer and the account it
should match (or none); ``accounts.csv`` is the account list they are matched against. A case's
resolver answer is one of:

- ``maxmind``: an address, looked up in MaxMind's official test databases (ISP, ASN) through the
  same resolver chain the pipeline uses;
- ``open``: an address, looked up in the open databases of ``open_databases.json`` (IPinfo Lite,
  DB-IP Lite ASN and iptoasn records, romanised and Japanese company names, ISPs and clouds),
  written into MaxMind-format files with mmdb-writer in each product's schema at the start;
- ``rdap``: an address, looked up with the real RDAP client against the registries' recorded
  answers (ipwhois' and 20c/rdap's test data, JPNIC's gateway page) served on loopback;
- ``answer``: an organisation as a resolver would report it (name, domain, kind): Japanese and
  English variants written for this set, and the traps (ISPs named like customers, near names);
  the ``cross-script`` group is romanised names of Japanese accounts, matched through the
  registered English names and readings that ``enrich`` attached from ``houjin.csv`` (invented
  companies, written for this set in the corporate-number full-data layout);
- ``ledger``: an address, looked up through the resolver chain with the first-party ledger
  learned from ``ledger.csv`` (a form export written for this set) by the real learning code.

Precision = right matches / all matches made; recall = right matches / cases that have an account.
Targets: precision ≥ 0.99 (1.000 measured), recall ≥ 0.95 (tests/test_matching_eval.py checks them).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from revisit.app import build_enrichment
from revisit.core.config import RdapSettings, Settings
from revisit.core.match import AccountMatch
from revisit.core.organization import Organization, OrgKind
from revisit.enrichment.accounts import load_accounts, parse_accounts
from revisit.enrichment.houjin import enrich, enriched_csv
from revisit.enrichment.ledger import Ledger
from revisit.enrichment.ledger_import import learn_all, read_form_export
from revisit.enrichment.rdap import RdapClient, RdapLookupFailed
from tests.loopback_servers import LoopbackRdap, recorded_rdap_answers
from tests.open_mmdb import write_mmdb

EVAL_DIR = Path(__file__).resolve().parent / "matching_eval"
ANY_ADDRESS = ipaddress.ip_address("8.8.4.4")  # literal answers are not about an address


@dataclass
class Scores:
    cases: int = 0
    expected_matches: int = 0
    right: int = 0
    wrong: int = 0  # matched an account the case does not expect (incl. when none is expected)
    missed: int = 0  # expected an account, matched none
    by_source: Counter = field(default_factory=Counter)
    by_group: Counter = field(default_factory=Counter)
    failed_by_group: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        made = self.right + self.wrong
        return self.right / made if made else 1.0

    @property
    def recall(self) -> float:
        return self.right / self.expected_matches if self.expected_matches else 1.0


def evaluate(shared_data: Path) -> Scores:
    settings = Settings()
    listed = load_accounts(EVAL_DIR / "accounts.csv")
    report = enrich(listed, EVAL_DIR / "houjin.csv")
    accounts = parse_accounts(enriched_csv((EVAL_DIR / "accounts.csv").read_text(encoding="utf-8"), report))
    maxmind_dir = shared_data / "maxmind" / "test-data"
    enrichment = build_enrichment(
        accounts, [str(maxmind_dir / "GeoIP2-ISP-Test.mmdb"), str(maxmind_dir / "GeoLite2-ASN-Test.mmdb")], settings
    )
    sightings = read_form_export(EVAL_DIR / "ledger.csv", ZoneInfo("Asia/Tokyo"))
    enrichment.index.use_ledger(Ledger(learn_all(sightings, enrichment.index, settings.ledger).entries))
    answers, jpnic = recorded_rdap_answers(shared_data)
    registry = LoopbackRdap(answers, jpnic)
    rdap = RdapClient(RdapSettings(enabled=True, url=registry.rdap_url, jpnic_url=registry.jpnic_url, retries=0))
    scores = Scores()
    with tempfile.TemporaryDirectory(prefix="revisit-eval-") as folder:
        open_enrichment = build_enrichment(accounts, _open_databases(Path(folder)), settings)
        try:
            for line in (EVAL_DIR / "cases.jsonl").read_text(encoding="utf-8").splitlines():
                case = json.loads(line)
                source, address, organization = _resolver_answer(case, enrichment, open_enrichment, rdap)
                result = enrichment.index.match(address, organization)
                matched = result.account.account_id if isinstance(result, AccountMatch) else None
                _score(scores, case, source, matched, organization, result)
        finally:
            registry.close()
            enrichment.close()
            open_enrichment.close()
    return scores


def _open_databases(folder: Path) -> list[str]:
    """The open products' databases of the evaluation set, written in their schemas."""
    described = json.loads((EVAL_DIR / "open_databases.json").read_text(encoding="utf-8"))
    return [
        write_mmdb(folder / f"{name}.mmdb", database["database_type"], database["records"])
        for name, database in described.items()
    ]


def _resolver_answer(case, enrichment, open_enrichment, rdap: RdapClient):  # type: ignore[no-untyped-def]
    if "open" in case:
        address = ipaddress.ip_address(case["open"])
        return "open", address, open_enrichment.resolvers.resolve_organization(address)
    if "maxmind" in case:
        address = ipaddress.ip_address(case["maxmind"])
        return "maxmind", address, enrichment.resolvers.resolve_organization(address)
    if "ledger" in case:
        address = ipaddress.ip_address(case["ledger"])
        return "ledger", address, enrichment.resolvers.resolve_organization(address)
    if "rdap" in case:
        address = ipaddress.ip_address(case["rdap"])
        try:
            return "rdap", address, rdap.lookup(address).organization()
        except RdapLookupFailed:
            return "rdap", address, None
    answer = case["answer"]
    organization = Organization(
        name=answer.get("name"),
        kind=OrgKind(answer.get("kind", "business")),
        source="eval",
        confidence=float(answer.get("confidence", 0.8)),
        domain=answer.get("domain"),
    )
    return "answer", ANY_ADDRESS, organization


def _score(scores: Scores, case: dict, source: str, matched: str | None, organization, result) -> None:  # type: ignore[no-untyped-def]
    expected = case["expected"]
    scores.cases += 1
    scores.by_source[source] += 1
    if "group" in case:
        scores.by_group[case["group"]] += 1
    if expected is not None:
        scores.expected_matches += 1
    if matched is not None and matched == expected:
        scores.right += 1
        return
    if matched is not None:
        scores.wrong += 1
    elif expected is not None:
        scores.missed += 1
    else:
        return
    if "group" in case:
        scores.failed_by_group[case["group"]] += 1
    said = organization.name or organization.domain if organization is not None else None
    why = result.detail if isinstance(result, AccountMatch) else result.reason
    scores.failures.append(
        f"{case['id']} [{source}] {said!r}: expected {expected}, got {matched} — {why} ({case.get('note', '')})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared-data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--verbose", action="store_true", help="list every failed case")
    args = parser.parse_args()
    scores = evaluate(args.shared_data)
    sources = ", ".join(f"{name} {count}" for name, count in sorted(scores.by_source.items()))
    print(
        f"cases {scores.cases} ({sources}); {scores.expected_matches} expect an account, "
        f"{scores.cases - scores.expected_matches} expect none"
    )
    groups = ", ".join(f"{name} {count}" for name, count in sorted(scores.by_group.items()))
    if groups:
        print(f"groups: {groups}")
    print(f"right {scores.right}  wrong {scores.wrong}  missed {scores.missed}")
    print(f"precision {scores.precision:.3f} (target 0.99)  recall {scores.recall:.3f} (target 0.95)")
    for failure in scores.failures if args.verbose else scores.failures[:20]:
        print("  " + failure)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
