"""Candidate search (enrichment.fuzzy.SegmentIndex) gives the exhaustive search's answers: the same
candidates, scores and order, on the labelled evaluation set and on 100,000 generated names."""

from __future__ import annotations

import json
import pickle
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz

from revisit.core.account import Account
from revisit.core.config import MatchingSettings
from revisit.enrichment.accounts import load_accounts
from revisit.enrichment.fuzzy import (
    FEW,
    FuzzyNames,
    SegmentIndex,
    letter_masks,
    letter_table,
    query_codes,
    reaching,
    texts_by_length,
)
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
        assert found == names.exhaustive_candidates(normalized), name
        reference = names.decide_exhaustively(normalized)
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


@settings(max_examples=400, deadline=None)
@given(
    st.text(alphabet="abcdeko tn株式会社サクラ精機0123", max_size=30),
    st.text(alphabet="abcdeko tn株式会社サクラ精機0123", max_size=30),
    st.sampled_from([0.0, 50.0, 82.0, 90.0]),
)
def test_the_letter_count_filter_keeps_every_text_that_reaches_the_cutoff(
    query: str, listed: str, cutoff: float
) -> None:
    """The filter may keep a text that then scores too little, never drop one that scores enough:
    letters repeated past the last exact level, kanji sharing buckets and empty texts included."""
    rows = letter_table(texts_by_length([listed]), 1)
    kept = reaching(len(query), letter_masks(query), rows, np.array([7]), cutoff)
    if fuzz.ratio(query, listed) >= cutoff:
        assert kept == [7]


def test_the_letter_count_filter_drops_a_text_whose_letters_cannot_reach_the_cutoff() -> None:
    listed = ["kasushi trading", "momore trading", "kasushi tradin"]
    rows = letter_table(texts_by_length(listed), len(listed))
    query = "kasushi tradnig"
    assert reaching(len(query), letter_masks(query), rows, np.arange(3), 90.0) == [0, 2]
    twice = np.concatenate([rows, rows], axis=1)
    assert reaching(len(query), letter_masks(query), twice, np.array([0, 1, 2, 0, 1, 2]), 90.0) == [0, 2]  # once each


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="abcaaaaeko tn株式会社サクラ精機0123\U0001f600", max_size=30), max_size=8))
def test_the_letter_table_counts_each_text_as_letter_masks_does(texts: list[str]) -> None:
    """The table is counted in bulk per text length; the query one letter at a time: the same
    masks, excess and length, in each text's row (an empty text, a removed name, keeps zeros)."""
    rows = letter_table(texts_by_length(texts), len(texts))
    for text, row in zip(texts, rows.T.tolist(), strict=True):
        masks, beyond = letter_masks(text)
        assert row == ([*masks, len(text) | beyond << 16] if text else [0, 0, 0, 0])


@pytest.mark.parametrize(("min_score", "margin"), [(8.0, 8.0), (50.0, 8.0), (97.0, 3.0)])
def test_candidate_search_equals_exhaustive_search_at_any_cutoff_and_after_a_removal(min_score, margin) -> None:
    """Cutoff 0 leaves every name uncut (all are candidates, a removed one too, scored as nothing);
    a high one cuts names into many short segments. Names added after the index was sealed (a
    changed list) are searched unindexed until the next seal, as a kept copy is (more than
    ``fuzzy.FEW`` of them: through the letter-count filter)."""
    names = company_names(500, seed=3)
    index = AccountIndex(
        (Account(f"G{i}", name) for i, name in enumerate(names[:400])),
        MatchingSettings(fuzzy_min_score=min_score, fuzzy_margin=margin),
    )
    index.fuzzy_names.seal()
    for i, name in enumerate(names[400:], start=400):
        index.add(Account(f"G{i}", name))
    index.remove(["G1", "G7", "G405"])
    rng = random.Random(13)
    queries = [with_typo(names[rng.randrange(len(names))], rng) for _ in range(40)] + names[:10]
    queries += [with_typo(name, rng) for name in names[400:]]
    assert assert_same_as_exhaustive(index, queries) >= 50  # the typos and the listed names themselves
    unindexed = len(index.fuzzy_names._texts) - index.fuzzy_names._sealed
    assert unindexed > FEW
    kept = pickle.loads(pickle.dumps(index))  # as prepared.py keeps it: without the probe plans,
    assert len(kept.fuzzy_names._texts) - kept.fuzzy_names._sealed == unindexed  # the added ones unindexed
    assert assert_same_as_exhaustive(kept, queries) >= 50


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(alphabet="aabbcde ", min_size=1, max_size=24), min_size=1, max_size=12),
    st.text(alphabet="aabbcde ", min_size=1, max_size=24),
    st.sampled_from([60.0, 82.0]),
    st.floats(min_value=0.0, max_value=30.0),
)
def test_a_search_probes_the_last_d_plus_1_segments_and_finds_every_text_within_reach(
    listed: list[str], query: str, own: float, above: float
) -> None:
    """At a cutoff above the index's own (a winner's rivals), a text of length n may be d < tau
    edits away: only the last d + 1 of its tau + 1 segments are probed (before: all of them, in
    windows of tau edits), and every text reaching the cutoff is still found (texts much alike,
    letters repeated, so that segments occur in many places)."""
    index = SegmentIndex(own)
    index.build(texts_by_length(listed))
    cutoff = own + above
    found = set(index.candidates(query_codes(query), cutoff).tolist())
    assert {i for i, text in enumerate(listed) if fuzz.ratio(query, text) >= cutoff} <= found
    m = len(query)
    edits = index._edits(m, cutoff).tolist()
    for n, d in zip(index._lengths, edits, strict=True):
        tau, parts = index._segments_of(n)
        probed = {i for length, i, _at, _size in index._probes_for(m, edits) if length == n}
        if parts and abs(m - n) <= d:
            assert probed == set(range(tau - d, tau + 1))


def test_a_winners_verdict_holds_only_the_rivals_within_the_margin() -> None:
    """The rival search looks no lower than the winner's score minus the margin: a near miss below
    that cannot change the verdict, and is neither searched for nor named (``explain`` shows it)."""
    index = AccountIndex([Account("G1", "Kasushi Trading"), Account("G2", "Kasu Trading")])
    names = index.fuzzy_names
    normalized = normalize_name("Kasushi Tradng")
    assert [(c.owner, c.score) for c in names.candidates(normalized)] == [("G1", 96.6), ("G2", 84.6)]
    verdict = names.decide(normalized)
    assert verdict == names.decide_exhaustively(normalized)
    assert [c.owner for c in verdict.candidates] == ["G1"] and verdict.winner == verdict.candidates[0]
    assert verdict.reason == "97% alike to 'Kasushi Trading', no other account within 8 points"
    index.add(Account("G3", "Kasushi Tradingu"))  # 93.3: within the margin, so no winner
    verdict = names.decide(normalized)
    assert verdict == names.decide_exhaustively(normalized)
    assert verdict.winner is None and [c.owner for c in verdict.candidates] == ["G1", "G3"]


def test_a_score_rounded_up_to_the_minimum_wins_as_in_the_exhaustive_search() -> None:
    """Verdicts compare scores rounded to 0.1: 96.97 is 97.0, enough at ``fuzzy_min_score`` 97.
    The narrow search looked only at 97 and more, and found no winner."""
    index = AccountIndex(
        [Account("G1", "Tamunamu Networks LLC")], MatchingSettings(fuzzy_min_score=97.0, fuzzy_margin=3.0)
    )
    normalized = normalize_name("Tmunamu Networks LLC")
    verdict = index.fuzzy_names.decide(normalized)
    assert verdict == index.fuzzy_names.decide_exhaustively(normalized)
    assert verdict.winner is not None and (verdict.winner.owner, verdict.winner.score) == ("G1", 97.0)


def test_a_fuzzy_index_kept_by_another_version_is_refused_so_that_the_list_is_indexed_anew() -> None:
    """A kept index is a pickle (enrichment/prepared.py), which reads a ValueError as no kept copy:
    an index of the dict-of-bytearrays layout would otherwise load and fail at the first search."""
    names: FuzzyNames[int] = FuzzyNames(MatchingSettings())
    names._format = 1  # as before the bulk index, which kept no format at all
    with pytest.raises(ValueError, match="another version"):
        pickle.loads(pickle.dumps(names))
