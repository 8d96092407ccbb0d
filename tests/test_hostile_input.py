"""Hostile input, property-based (hypothesis): whatever arrives, the log parser, the account-list
import and the config loader either accept it or reject it with a reason; they never crash.

Each property runs the number of examples in its ``settings``; the suite's total is printed by
``pytest -s -k hostile`` (the README's table quotes it). A coverage-guided fuzz harness for the same
three entry points is tests/fuzz/fuzz_inputs.py (atheris)."""

from __future__ import annotations

import string
import tomllib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from revisit.app import build_enrichment
from revisit.core.config import Settings, load_settings
from revisit.core.errors import BadInput
from revisit.core.hit import Malformed, MalformedReason
from revisit.enrichment.accounts import load_accounts, parse_accounts
from revisit.enrichment.classify import Filtered, HitClassifier, MatchedHit, Unmatched
from revisit.stream.fields import normalize_address
from revisit.stream.filters import FilterReason

EXAMPLES = 400
TRIED: dict[str, int] = {}


def count(name: str) -> None:
    TRIED[name] = TRIED.get(name, 0) + 1


@pytest.fixture(scope="module")
def classifier() -> HitClassifier:
    accounts = parse_accounts("account_id,name,networks\nK1,Kaisha K.K.,1.2.3.0/24;2001:db8::/32\n", "inline.csv")
    enrichment = build_enrichment(accounts, [], Settings())
    return HitClassifier(Settings(), enrichment.index, enrichment.resolvers)


def classify_all(classifier: HitClassifier, lines: list[str]) -> list:
    outcomes = list(classifier.classify_lines(lines))
    assert len(outcomes) == len(lines)  # one outcome per line, in order: nothing dropped silently
    for outcome in outcomes:
        if isinstance(outcome, Malformed):
            assert outcome.reason in MalformedReason.ALL
        elif isinstance(outcome, Filtered):
            assert outcome.reason in FilterReason.ALL
        else:
            assert isinstance(outcome, (Unmatched, MatchedHit))
    return outcomes


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_random_bytes_are_lines_with_an_outcome(classifier, chunks: list[bytes]) -> None:
    count("parser: random bytes")
    lines = [chunk.decode("utf-8", "replace") for chunk in chunks]  # as the stream and replay decode
    classify_all(classifier, lines)


ODD_ADDRESSES = [
    "::ffff:1.2.3.4",
    "0.0.0.0",
    "[::1]:443",
    "fe80::1%eth0",
    "[2001:db8::1]:8080",
    "1.2.3.4:80",
    "1.2.3.999",
    "::",
    "255.255.255.255",
    "1.2.3.4, 5.6.7.8",
    "-",
    "",
    "unknown",
    "[::ffff:1.2.3.5]",
    "2001:db8::%25en0",
    "01.02.03.04",
    "1.2.3.4\x00",
]
ODD_TIMES = [
    "10/Oct/2000:13:55:36 -0700",
    "01/Jan/0001:00:00:00 +0000",
    "31/Dec/9999:23:59:59 +2359",
    "99/Foo/2015:25:61:61 +0000",
    "17/May/2015:10:05:03",
    "1e309",
    "-1",
    "",
    "2015-05-17T10:05:03Z",
    "17/May/2015:10:05:03 +0000\x00",
]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    address=st.sampled_from(ODD_ADDRESSES) | st.text(max_size=40),
    when=st.sampled_from(ODD_TIMES),
    path=st.text(max_size=200),
    status=st.sampled_from(["200", "304", "999", "-", "2000"]),
    agent=st.text(max_size=100),
    padding=st.integers(min_value=0, max_value=3),
)
def test_combined_lines_with_odd_fields_never_crash(classifier, address, when, path, status, agent, padding) -> None:
    count("parser: odd combined-log fields")
    line = f'{address} - - [{when}] "GET /{path} HTTP/1.1" {status} 12 "-" "{agent}"' + " x" * padding
    outcome = classify_all(classifier, [line])[0]
    if isinstance(outcome, MatchedHit):
        assert str(normalize_address(outcome.hit.client_ip)).startswith(("1.2.3.", "2001:db8:"))


def test_a_one_megabyte_line_and_nul_bytes_are_rejected_with_reasons(classifier) -> None:
    huge = '1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET /' + "a" * 1_048_576 + ' HTTP/1.1" 200 1 "-" "x"'
    outcomes = classify_all(classifier, [huge, "\x00" * 100, "1.2.3.4\x00 - - [x]"])
    assert outcomes[0] == Malformed(MalformedReason.TOO_LONG)
    assert all(isinstance(outcome, Malformed) for outcome in outcomes)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("::ffff:1.2.3.4", "1.2.3.4"),
        ("[::1]:443", "::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("1.2.3.4:80", "1.2.3.4"),
        ("0.0.0.0", "0.0.0.0"),
        ("1.2.3.999", None),
        ("example.com", None),
        ("[::1", None),
        ("", None),
    ],
)
def test_odd_addresses_are_normalised_or_refused(text: str, expected: str | None) -> None:
    address = normalize_address(text)
    assert (str(address) if address is not None else None) == expected


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.binary(max_size=2000))
def test_account_lists_of_random_bytes_are_accepted_or_refused_with_a_reason(tmp_path_factory, data: bytes) -> None:
    count("account CSV: random bytes")
    path = tmp_path_factory.getbasetemp() / "random.csv"
    path.write_bytes(data)
    try:
        load_accounts(path)
    except BadInput as error:
        assert str(error)  # says what is wrong


CSV_CELLS = st.text(alphabet=string.printable + '株式会社㈱（）ｱｲｳ\x00\u2028;,"', max_size=30)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.lists(CSV_CELLS, min_size=0, max_size=8), max_size=6))
def test_account_lists_with_odd_cells_are_accepted_or_refused_with_a_reason(rows: list[list[str]]) -> None:
    count("account CSV: odd cells")
    header = "account_id,name,networks,domains,last_deal_at,lifetime_value,dormancy_reason,owner_email\n"
    body = "\n".join(",".join('"' + cell.replace('"', '""') + '"' for cell in row) for row in rows)
    try:
        accounts = parse_accounts(header + body, "odd.csv")
    except BadInput as error:
        assert str(error).startswith("odd.csv:")  # the file, and where in it
    else:
        assert len({a.account_id for a in accounts}) == len(accounts)


TOML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
KNOWN_KEYS = st.sampled_from(
    [
        "database_url",
        "kafka",
        "worker",
        "intent",
        "alerts",
        "delivery",
        "web",
        "privacy",
        "logging",
        "filters",
        "dormancy",
        "partitions",
        "rules",
        "port",
        "routes",
        "users",
    ]
)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.dictionaries(KNOWN_KEYS | st.text(max_size=10), TOML_VALUES, max_size=5))
def test_config_documents_load_or_fail_naming_the_key(tmp_path_factory, document: dict) -> None:
    count("config: random documents")
    import tomli_w

    path = tmp_path_factory.getbasetemp() / "random.toml"
    try:
        path.write_text(tomli_w.dumps(document), encoding="utf-8")
    except (TypeError, ValueError):
        return  # not representable in TOML (None): not an input a file can hold
    try:
        load_settings(path)
    except BadInput as error:
        assert str(error).startswith(f"{path}: ")


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.binary(max_size=500))
def test_config_files_of_random_bytes_fail_clearly(tmp_path_factory, data: bytes) -> None:
    count("config: random bytes")
    path = tmp_path_factory.getbasetemp() / "bytes.toml"
    path.write_bytes(data)
    try:
        load_settings(path)
    except BadInput as error:
        assert str(error).startswith(f"{path}: ")


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.dictionaries(st.from_regex(r"REVISIT_[A-Z_]{1,30}", fullmatch=True), st.text(max_size=30), max_size=4))
def test_environment_overrides_load_or_fail_naming_the_variable(overrides: dict[str, str]) -> None:
    count("config: environment overrides")
    try:
        load_settings(None, overrides)
    except BadInput as error:
        assert str(error).startswith("environment variable REVISIT_")


def test_zz_report_inputs_tried(capsys) -> None:
    """Prints how many inputs each property tried in this run (for the README's table)."""
    total = sum(TRIED.values())
    with capsys.disabled():
        print(f"\nhostile inputs tried: {total:,} ({', '.join(f'{k} {v:,}' for k, v in sorted(TRIED.items()))})")
    assert total >= EXAMPLES  # the properties above really ran
    tomllib.loads("")  # keeps the import honest for readers: TOML is what the loader reads
