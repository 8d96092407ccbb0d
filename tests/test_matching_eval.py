"""The labelled evaluation set of name matching (bench/matching_eval.py): precision ≥ 0.99 and
recall ≥ 0.95 over at least 297 cases from MaxMind's test data, the registries' recorded RDAP
answers, open databases (IPinfo Lite, DB-IP Lite, iptoasn) written in their schemas, and Japanese,
romanised and half-width variants."""

from __future__ import annotations

import importlib.util
import sys

from tests.conftest import REPO, SHARED_DATA


def load_evaluation():
    spec = importlib.util.spec_from_file_location("matching_eval", REPO / "bench" / "matching_eval.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["matching_eval"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_matching_meets_its_precision_and_recall_targets() -> None:
    scores = load_evaluation().evaluate(SHARED_DATA)
    print(f"\nmatching evaluation: {scores.cases} cases, precision {scores.precision:.3f}, recall {scores.recall:.3f}")
    assert scores.cases >= 338
    assert set(scores.by_source) == {"maxmind", "rdap", "open", "answer", "ledger"}
    assert scores.by_source["open"] >= 25
    assert 0 < scores.expected_matches < scores.cases  # both kinds of case are there
    assert scores.precision == 1.0, scores.failures
    assert scores.recall >= 0.95, scores.failures


def test_the_ledger_and_cross_script_cases_all_come_out_right() -> None:
    """Issue 24: first-party ledger addresses and romanised names of Japanese accounts (through the
    corporate-number data's English names and readings), with their traps: free mail, another
    account's CIDR, homophones, access providers."""
    scores = load_evaluation().evaluate(SHARED_DATA)
    print(f"\nledger {scores.by_group['ledger']} and cross-script {scores.by_group['cross-script']} cases")
    assert scores.by_group["ledger"] + scores.by_group["cross-script"] >= 35
    assert scores.failed_by_group == {}, scores.failures
    assert scores.precision == 1.0
