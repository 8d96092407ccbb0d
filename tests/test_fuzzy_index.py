"""Candidate search (enrichment.fuzzy.SegmentIndex) gives the exhaustive search's answers: the same
candidates, scores and order, on the labelled evaluation set and on 100,000 generated names."""

from __future__ import annotations

import json
import random

from revisit.core.account import Account
from revisit.enrichment.accounts import load_accounts
from revisit.enrichment.match import AccountIndex
from revisit.enrichment.normalize import normalize_name
from tests.company_names import company_names, with_typo
from tests.conftest import REPO

EVAL_DIR = REPO / "bench" / "matching_eval"


def assert_same_as_exhaustive(index: AccountIndex, names: list[str]) -> int:
    """Checks every name; returns how many had at least one candidate (so the check is not empty)."""
    with_candidates = 0
    for name in names:
        normalized = normalize_name(name)
        names = index.fuzzy_names
        found = names.candidates(normalized)
        reference = names.decide_exhaustively(normalized)  # one scan of the list: its candidates too
        assert tuple(found) == reference.candidates, name
        verdict = names.decide(normalized)
        assert verdict.winner == reference.winner, name
        if reference.candidates and reference.candidates[0].score >= index.matching.fuzzy_min_score:
            assert verdict == reference, name  # a possible winner: its rivals are looked for too
        with_candidates += bool(found)
    return with_candidates


def test_candidate_search_equals_exhaustive_search_on_the_evaluation_set() -> None:
    accounts = load_accounts(EVAL_DIR / "accounts.csv")
    index = AccountIndex(accounts)
    names = [
        json.loads(line)["answer"]["name"]
        for line in (EVAL_DIR / "cases.jsonl").read_text("utf-8").splitlines()
        if "answer" in json.loads(line) and json.loads(line)["answer"].get("name")
    ]
    rng = random.Random(7)
    listed = [name for account in accounts for name in (account.name, *account.aliases)]
    names += listed + [with_typo(name, rng) for name in listed for _ in range(3)]
    assert len(names) > 400
    assert assert_same_as_exhaustive(index, names) > 250


def test_candidate_search_equals_exhaustive_search_on_100000_generated_names() -> None:
    names = company_names(100_000)
    index = AccountIndex(Account(f"G{i}", name) for i, name in enumerate(names))
    rng = random.Random(11)
    queries = [with_typo(names[rng.randrange(len(names))], rng) for _ in range(60)]
    queries += [with_typo(with_typo(names[rng.randrange(len(names))], rng), rng) for _ in range(30)]
    queries += company_names(30, seed=99)  # mostly names nobody listed
    assert assert_same_as_exhaustive(index, queries) >= 80
