"""Does the hot path wait on slow DNS or RDAP? Replay throughput with and without them.

    .venv/bin/python bench/slow_resolver_bench.py [--lines 1000000] [--rounds 3] [--out bench/out]

On the replay benchmark's synthetic log (bench/traffic.py: 10,000 client addresses, 8,200 of them
random public addresses no fast resolver can match) and its 10,000-account list, with MaxMind's
test databases, it times in alternation:

- ``off``: reverse DNS and RDAP off (the default);
- ``slow``: reverse DNS against a DNS server on loopback and RDAP against an HTTP server on
  loopback that both answer only after 2 s; ``late_wait_seconds = 0`` so the run does not wait
  for answers at its end (what is measured is the stream itself);
- ``slow+wait``: the same with the default 10 s wait at the end, to show what that adds.

Prints lines/s (pipeline: the time replay reports; wall: including start-up), the ratio of
``slow`` to ``off`` (target: within 10 %), and bare_parse.py on the same file for scale. The
loopback servers run in this process, on the same cores as replay: their CPU time is printed too,
since a real resolver's would be spent elsewhere.
Not a test: figures go into the notes.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from replay_bench import SHARED, measure, replay_command
from traffic import generate, write_organisations_mmdb

from tests.loopback_servers import LoopbackDns, LoopbackRdap

DELAY_SECONDS = 2.0


def config_text(dns: LoopbackDns | None, rdap: LoopbackRdap | None, wait_seconds: float) -> str:
    if dns is None or rdap is None:
        return ""
    return f"""
[resolution]
late_wait_seconds = {wait_seconds}
[resolution.reverse_dns]
enabled = true
nameservers = ["127.0.0.1"]
port = {dns.port}
timeout_seconds = 5.0
[resolution.rdap]
enabled = true
acknowledge_terms = true
url = "{rdap.rdap_url}"
timeout_seconds = 5.0
retries = 0
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=str(REPO / "bench" / "out"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log, account_lists = generate(args.lines, out)
    accounts = account_lists[10_000]
    organisations = write_organisations_mmdb(out)
    print(
        f"file: {log} ({args.lines:,} lines); 10,000 accounts; machine: {os.cpu_count()} cores; "
        f"slow servers answer after {DELAY_SECONDS:g} s"
    )
    bare = measure([sys.executable, str(SHARED / "bench" / "bare_parse.py"), str(log)])
    bare_rate = args.lines / float(bare.output.split()[2])
    print(f"bare_parse.py {bare_rate:>12,.0f} lines/s")

    dns = LoopbackDns({}, delay_seconds=DELAY_SECONDS)
    rdap = LoopbackRdap({}, delay_seconds=DELAY_SECONDS)
    configs = {
        "off": config_text(None, None, 0),
        "slow": config_text(dns, rdap, 0),
        "slow+wait": config_text(dns, rdap, 10),
    }
    rates: dict[str, list[tuple[float, float]]] = {name: [] for name in configs}
    try:
        for _round in range(args.rounds):
            for name, text in configs.items():
                config = out / f"slow_resolver_{name.replace('+', '_')}.toml"
                config.write_text(text, encoding="utf-8")
                servers_cpu = resource.getrusage(resource.RUSAGE_SELF)
                command = replay_command(log, accounts, out, f"slow_{name}", organisations)
                run = measure([*command, "--config", str(config)])
                after = resource.getrusage(resource.RUSAGE_SELF)
                server_seconds = (after.ru_utime + after.ru_stime) - (servers_cpu.ru_utime + servers_cpu.ru_stime)
                processed = re.search(r"processed in ([\d.]+) s", run.output)
                pipeline = args.lines / float(processed.group(1)) if processed else float("nan")
                rates[name].append((pipeline, args.lines / run.seconds))
                summary = next(line for line in run.output.splitlines() if line.startswith("lines "))
                print(
                    f"  {name:<10} {pipeline:>10,.0f} lines/s pipeline {args.lines / run.seconds:>10,.0f} wall"
                    f"  (CPU of the loopback servers meanwhile: {server_seconds:.2f} s)  | {summary}"
                )
    finally:
        dns.close()
        rdap.close()
    print(f"DNS questions answered late: {len(dns.resolver.questions):,}; RDAP requests: {len(rdap.requests):,}")
    medians = {
        name: (statistics.median(p for p, _ in runs), statistics.median(w for _, w in runs))
        for name, runs in rates.items()
    }
    for name, (pipeline, wall) in medians.items():
        print(
            f"{name:<10} median {pipeline:>10,.0f} lines/s pipeline ({pipeline / bare_rate:.2f}x bare parse), "
            f"{wall:>10,.0f} lines/s wall"
        )
    print(
        f"slow / off: {medians['slow'][0] / medians['off'][0]:.3f} (pipeline), "
        f"{medians['slow'][1] / medians['off'][1]:.3f} (wall); target ≥ 0.90"
    )


if __name__ == "__main__":
    main()
