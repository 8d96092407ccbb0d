"""Coverage-guided fuzzing (atheris) of the three places hostile input enters: the log parser and
classifier, the account-list import, and the config loader. Not part of the test suite (it runs
until stopped); run it for a while and read the figures it prints:

    .venv/bin/pip install -e '.[fuzz]'
    .venv/bin/python tests/fuzz/fuzz_inputs.py -max_total_time=300 -print_final_stats=1 [corpus-dir]

libFuzzer prints the inputs run (``stat::number_of_executed_units``) and the coverage reached. A
crash is any exception other than the clean rejection (``BadInput``) each entry point promises;
atheris then writes the input that caused it to ./crash-*.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile

import atheris

with atheris.instrument_imports():
    from revisit.app import build_enrichment
    from revisit.core.config import Settings, load_settings
    from revisit.core.errors import BadInput
    from revisit.enrichment.accounts import parse_accounts
    from revisit.enrichment.classify import HitClassifier

ACCOUNTS = parse_accounts("account_id,name,networks\nK1,Kaisha K.K.,1.2.3.0/24;2001:db8::/32\n", "fuzz.csv")
ENRICHMENT = build_enrichment(ACCOUNTS, [], Settings())
CLASSIFIER = HitClassifier(Settings(), ENRICHMENT.index, ENRICHMENT.resolvers)
CONFIG_PATH = os.path.join(tempfile.mkdtemp(prefix="revisit-fuzz."), "fuzz.toml")


def test_one_input(data: bytes) -> None:
    if not data:
        return
    target, body = data[0] % 3, data[1:]
    if target == 0:
        lines = body.decode("utf-8", "replace").split("\n")
        outcomes = list(CLASSIFIER.classify_lines(lines))
        if len(outcomes) != len(lines):
            raise AssertionError("a line without an outcome")
    elif target == 1:
        with contextlib.suppress(BadInput):
            parse_accounts(body.decode("utf-8", "replace"), "fuzz.csv")
    else:
        with open(CONFIG_PATH, "wb") as handle:
            handle.write(body)
        with contextlib.suppress(BadInput):
            load_settings(CONFIG_PATH)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
