"""Cost of a fuzzy name search per distinct organisation, at 10 to 100,000 listed accounts.

    .venv/bin/python bench/fuzzy_bench.py [--queries 2000]

Lists of generated company names (tests/company_names.py); the queries are what a log brings: a
tenth are listed names with a typo (the searches that find a winner and look for its rivals),
the rest names nobody listed. Times ``FuzzyNames.decide`` on new names (no cache hit), apart for
the names that some listed name resembles ``fuzzy_min_score`` (their rivals are looked for too),
and, for comparison, the scan of every listed name it replaced, in CPU time of this process (the
bench machine is shared: wall time moves with the neighbours' load), with the index out of the
garbage collector's full collections as in the pipeline (``freeze_long_lived_objects``: without
it, collections visiting the accounts' objects cost every name a share). The index's build time
includes normalising the names and indexing them in bulk (``FuzzyNames.ready``). Not a test:
figures go into the notes, never into assertions.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from revisit.app import freeze_long_lived_objects
from revisit.core.account import Account
from revisit.enrichment.match import AccountIndex
from revisit.enrichment.normalize import normalize_name
from tests.company_names import company_names, with_typo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    names = company_names(100_000)
    unlisted = company_names(100_000 + args.queries, seed=99)[-args.queries :]
    for size in (10, 10_000, 100_000):
        started = time.process_time()
        index = AccountIndex(Account(f"G{i}", name) for i, name in enumerate(names[:size]))
        index.fuzzy_names.ready()  # indexed in bulk, as writing the kept copy or the first search does
        built = time.process_time() - started
        freeze_long_lived_objects()  # as the pipeline does after building its index
        rng = random.Random(5)
        queries = [with_typo(names[rng.randrange(size)], rng) for _ in range(args.queries // 10)]
        queries += unlisted[: args.queries - len(queries)]
        normalized = [normalize_name(query) for query in queries]
        winners = 0
        spent: dict[bool, list[float]] = {False: [], True: []}  # by whether rivals were looked for
        for name in normalized:
            started = time.process_time()
            verdict = index.fuzzy_names.decide(name)
            spent[bool(verdict.candidates)].append(time.process_time() - started)
            winners += verdict.winner is not None
        indexed_ms = sum(map(sum, spent.values())) / len(normalized) * 1000
        rivals_ms = sum(spent[True]) / max(1, len(spent[True])) * 1000
        alone_ms = sum(spent[False]) / max(1, len(spent[False])) * 1000
        sample = normalized[:: max(1, len(normalized) // 200)]
        started = time.process_time()
        for name in sample:
            index.fuzzy_names.decide_exhaustively(name)
        scan_ms = (time.process_time() - started) / len(sample) * 1000
        print(
            f"{size:>7,} accounts: index built in {built:5.1f} s; {indexed_ms:6.3f} ms per new organisation "
            f"({winners} of {len(normalized)} matched; {len(spent[True])} with a rival search, {rivals_ms:.3f} ms "
            f"each, the others {alone_ms:.3f} ms), a scan of the list {scan_ms:6.3f} ms"
        )


if __name__ == "__main__":
    main()
