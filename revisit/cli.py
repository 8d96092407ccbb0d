"""The ``revisit`` command line (see README, "Command line").

Exit status: 0 success, 2 bad usage or bad input (with a message naming file, line and field),
1 internal failure.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, NoReturn

from revisit.alerts.channels import REMOTE_CHANNELS
from revisit.app import (
    ReplayRequest,
    WorkerRequest,
    all_secret_sources,
    build_enrichment,
    delivery_sender,
    delivery_summary,
    format_summary,
    load_checked_settings,
    replay,
    run_worker_process,
)
from revisit.core.account import Account
from revisit.core.config import KafkaSettings, Settings
from revisit.core.errors import BadInput, ServiceFailure
from revisit.core.logs import configure_logging
from revisit.core.text import json_for_terminal, printable, without_credentials
from revisit.enrichment.accounts import AccountListErrors, load_accounts
from revisit.enrichment.ledger import LedgerEntry
from revisit.stream.filters import FilterReason, HitFilter

if TYPE_CHECKING:
    from revisit.enrichment.explain import ExplainWords
    from revisit.storage.store import Store


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse exits 2 too; keep its message short
        self.print_usage(sys.stderr)
        raise BadInput(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="revisit", description="Tell sales when a dormant customer comes back.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = commands.add_parser("demo", help="run the whole pipeline on a generated day of traffic")
    demo.add_argument("--out", default="revisit-demo", help="folder for the demo's database and alerts")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--locale", choices=("ja", "en"), default=None)

    run = commands.add_parser("replay", help="run the pipeline over log files in event time")
    run.add_argument("logs", nargs="+", metavar="LOG", help="access logs; - for stdin; .gz accepted")
    run.add_argument("--accounts", required=True, metavar="CSV")
    run.add_argument("--encoding", default="utf-8-sig", help="account list encoding (cp932 for Excel)")
    run.add_argument("--mmdb", action="append", default=[], metavar="PATH")
    run.add_argument("--config", metavar="TOML")
    run.add_argument("--db", metavar="URL")
    run.add_argument("--alerts-jsonl", metavar="PATH")
    run.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="processes for large plain files (default: one per core, at most 4; 1 = none)",
    )
    run.add_argument(
        "--locale", choices=("ja", "en"), help="alerts.locale for this run: the summary's and the alerts' language"
    )

    ship = commands.add_parser("ship", help="send log lines to Kafka, keyed by client IP (at least once)")
    ship.add_argument("logs", nargs="+", metavar="LOG", help="log files; - for stdin; .gz when not following")
    ship.add_argument("--topic", help="default: kafka.raw_topic from the config")
    ship.add_argument("--follow", action="store_true", help="keep tailing the files (tail -F)")
    ship.add_argument("--bootstrap", metavar="HOST:PORT", help="default: kafka.bootstrap_servers")
    ship.add_argument("--checkpoint", metavar="PATH", help="default: ship.checkpoint_path")
    ship.add_argument("--config", metavar="TOML")

    worker = commands.add_parser("worker", help="the streaming worker (Kafka, faust-streaming)")
    worker.add_argument("--config", metavar="TOML")
    worker.add_argument("--db", metavar="URL")
    worker.add_argument("--accounts", metavar="CSV", help="import this list first (default: the list in the database)")
    worker.add_argument("--encoding", default="utf-8-sig")
    worker.add_argument("--mmdb", action="append", default=[], metavar="PATH")
    worker.add_argument("--bootstrap", metavar="HOST:PORT")
    worker.add_argument("--web-port", type=int, help="port of /metrics (default: worker.web_port)")
    worker.add_argument(
        "--loglevel", choices=["debug", "info", "warning", "error"], help="overrides logging.level for this run"
    )

    topics = commands.add_parser("topics", help="the Kafka topics revisit uses")
    topics_commands = topics.add_subparsers(dest="topics_command", required=True, parser_class=_Parser)
    topics_create = topics_commands.add_parser("create", help="create missing topics")
    topics_create.add_argument("--partitions", type=int)
    topics_create.add_argument("--retention-hours", type=int)
    topics_create.add_argument("--bootstrap", metavar="HOST:PORT")
    topics_create.add_argument("--config", metavar="TOML")

    explain = commands.add_parser("explain", help="why an address matches an account, or not")
    explain.add_argument("ip")
    explain.add_argument("--accounts", metavar="CSV")
    explain.add_argument("--encoding", default="utf-8-sig")
    explain.add_argument("--mmdb", action="append", default=[], metavar="PATH")
    explain.add_argument("--db", metavar="URL", help="accounts (without --accounts) and cached RDAP answers from here")
    explain.add_argument("--config", metavar="TOML")
    explain.add_argument(
        "--locale", choices=("ja", "en"), help="the language of the explanation (default: alerts.locale)"
    )

    sources = commands.add_parser(
        "sources", help="the enabled data sources: licence, required credits, whether sales use is allowed"
    )
    sources.add_argument("--mmdb", action="append", default=[], metavar="PATH")
    sources.add_argument("--config", metavar="TOML")
    sources.add_argument("--locale", choices=("ja", "en"), help="the page's language (default: alerts.locale)")

    accounts = commands.add_parser("accounts", help="the dormant-account list")
    accounts_commands = accounts.add_subparsers(dest="accounts_command", required=True, parser_class=_Parser)
    account_import = accounts_commands.add_parser("import", help="validate and import a CSV")
    account_import.add_argument("csv")
    account_import.add_argument("--encoding", default="utf-8-sig")
    account_import.add_argument("--db", metavar="URL")
    account_import.add_argument("--config", metavar="TOML")
    account_lint = accounts_commands.add_parser(
        "lint", help="likely duplicates, shared domains or networks, rows without owner, domain or dates"
    )
    account_enrich = accounts_commands.add_parser(
        "enrich",
        help="attach corporate numbers, registered, English names and readings from the 法人番号 full-data CSV",
    )
    account_enrich.add_argument("csv")
    account_enrich.add_argument(
        "--houjin", required=True, metavar="FILE", help="the National Tax Agency's full-data CSV (Unicode), or its ZIP"
    )
    account_enrich.add_argument("--out", metavar="PATH", help="write the enriched list here (default: stdout)")
    account_enrich.add_argument("--encoding", default="utf-8-sig")
    account_enrich.add_argument("--config", metavar="TOML")
    account_lint.add_argument("csv")
    account_lint.add_argument("--encoding", default="utf-8-sig")
    account_lint.add_argument("--json", action="store_true", help="the findings as JSON lines")
    account_lint.add_argument("--config", metavar="TOML")

    ledger = commands.add_parser(
        "ledger", help="the first-party network ledger: addresses learned from sign-ins and forms"
    )
    ledger_commands = ledger.add_subparsers(dest="ledger_command", required=True, parser_class=_Parser)
    ledger_import = ledger_commands.add_parser(
        "import", help="learn from a form or MA-tool export (CSV: e-mail, IP address, time)"
    )
    ledger_import.add_argument("csv")
    ledger_learn = ledger_commands.add_parser("learn", help="learn from the sign-ins in access logs (ledger.log_field)")
    ledger_learn.add_argument("logs", nargs="+", metavar="LOG")
    ledger_list = ledger_commands.add_parser("list", help="the learned networks, with their evidence")
    ledger_list.add_argument("--account", metavar="ID")
    ledger_list.add_argument("--all", action="store_true", help="expired and revoked entries too")
    ledger_revoke = ledger_commands.add_parser("revoke", help="stop matching by learned networks")
    ledger_revoke.add_argument("network", nargs="?", metavar="CIDR")
    ledger_revoke.add_argument("--account", metavar="ID")
    ledger_revoke.add_argument("--reason", default="revoked by hand")
    for command in (ledger_import, ledger_learn):
        command.add_argument("--accounts", metavar="CSV", help="the account list (default: the one in the database)")
        command.add_argument("--encoding", default="utf-8-sig", help="encoding of the CSV files (cp932 for Excel)")
    for command in (ledger_import, ledger_learn, ledger_list, ledger_revoke):
        command.add_argument("--db", metavar="URL")
        command.add_argument("--config", metavar="TOML")
        command.add_argument(
            "--locale", choices=("ja", "en"), help="the language of the output (default: alerts.locale)"
        )

    logs = commands.add_parser("logs", help="access logs")
    logs_commands = logs.add_subparsers(dest="logs_command", required=True, parser_class=_Parser)
    logs_check = logs_commands.add_parser(
        "check", help="the detected format, the share parsed, malformed lines by reason, the config to use"
    )
    logs_check.add_argument("logs", nargs="+", metavar="LOG")
    logs_check.add_argument("--config", metavar="TOML")
    logs_check.add_argument("--locale", choices=("ja", "en"), help="the report's language (default: alerts.locale)")

    history = commands.add_parser("history", help="an account's visit history")
    history.add_argument("account_id")
    history.add_argument("--db", metavar="URL")
    history.add_argument("--config", metavar="TOML")
    history.add_argument("--json", action="store_true", help="JSON instead of a table")

    sender = commands.add_parser("sender", help="deliver pending alerts (Slack, e-mail, webhook) from the outbox")
    sender.add_argument("--db", metavar="URL")
    sender.add_argument("--config", metavar="TOML")
    sender.add_argument("--once", action="store_true", help="one pass over what is due, then exit")

    alerts = commands.add_parser("alerts", help="alert deliveries: snooze an account, send a test alert")
    alerts_commands = alerts.add_subparsers(dest="alerts_command", required=True, parser_class=_Parser)
    snooze = alerts_commands.add_parser("snooze", help="no deliveries for an account for N days")
    snooze.add_argument("account_id")
    snooze.add_argument("--days", type=float, required=True)
    snooze.add_argument("--reason", required=True)
    snooze.add_argument("--by", default=_login_name(), help="who asks (default: the login name)")
    snooze.add_argument("--db", metavar="URL")
    snooze.add_argument("--config", metavar="TOML")
    outcome = alerts_commands.add_parser("outcome", help="record what followed an alert")
    outcome.add_argument("alert_id")
    outcome.add_argument(
        "--result",
        required=True,
        type=_outcome_named,
        choices=OUTCOME_CODES,
        help="or its Japanese name as history shows it (対応した, 面談設定, 商談化, 受注, 興味なし)",
    )
    outcome.add_argument("--note", default="")
    outcome.add_argument("--by", default=_login_name(), help="who records it (default: the login name)")
    outcome.add_argument("--db", metavar="URL")
    outcome.add_argument("--config", metavar="TOML")
    alerts_test = alerts_commands.add_parser("test", help="send a sample alert through a channel's real path")
    alerts_test.add_argument("--channel", required=True, choices=tuple(REMOTE_CHANNELS))
    alerts_test.add_argument("--to", help="e-mail address or Slack user id of the sample owner")
    alerts_test.add_argument("--config", metavar="TOML")

    retention = commands.add_parser("retention", help="delete hits older than privacy.retention_days")
    retention.add_argument("--days", type=int, help="default: privacy.retention_days (180)")
    retention.add_argument("--dry-run", action="store_true", help="count what would be deleted")
    retention.add_argument("--db", metavar="URL")
    retention.add_argument("--config", metavar="TOML")

    web = commands.add_parser("web", help="the analysts' web UI and JSON API")
    web_commands = web.add_subparsers(dest="web_command", required=True, parser_class=_Parser)
    web_serve = web_commands.add_parser("serve", help="serve the pages and the API (web.host:web.port)")
    web_serve.add_argument("--db", metavar="URL")
    web_serve.add_argument("--config", metavar="TOML")
    web_serve.add_argument("--host")
    web_serve.add_argument("--port", type=int)
    web_serve.add_argument(
        "--today",
        metavar="YYYY-MM-DD",
        help="show the data as of this day (e.g. for a replayed old log); default: today",
    )
    web_commands.add_parser("hash-password", help="read a password from stdin, print its hash for [[web.users]]")
    web_commands.add_parser("new-token", help="print a new API token and the SHA-256 for [[web.api_tokens]]")

    config = commands.add_parser("config", help="the effective configuration")
    config_commands = config.add_subparsers(dest="config_command", required=True, parser_class=_Parser)
    config_check = config_commands.add_parser("check", help="validate TOML and REVISIT_... overrides, print the result")
    config_check.add_argument("--config", metavar="TOML")

    report = commands.add_parser("report", help="reactivation rates by tier, reason and approach")
    report.add_argument("--since", metavar="YYYY-MM-DD", help="alerts triggered on or after this day")
    report.add_argument("--db", metavar="URL")
    report.add_argument("--config", metavar="TOML")
    report.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args: argparse.Namespace | None = None
    try:
        args = build_parser().parse_args(argv)
        return _run(args)
    except AccountListErrors as bad:  # the lint command it suggests reads the list as this one did
        print(f"revisit: {bad.refusal(getattr(args, 'encoding', None) or 'utf-8-sig', bad.locale)}", file=sys.stderr)
        return 2
    except BadInput as error:  # in the run's language when known (the settings were read)
        from revisit.enrichment.explain import words_in

        translations = words_in(getattr(args, "team_locale", "en")).translations
        print(f"revisit: {without_credentials(error.said_in(translations))}", file=sys.stderr)
        return 2
    except ServiceFailure as error:
        print(f"revisit: {without_credentials(str(error))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (``revisit accounts lint … | head``): stop quietly, as a Unix filter
        # does; stdout goes to devnull so that the interpreter's last flush does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


# the commands that speak alerts.locale (the others, an SRE's, speak English), their errors too
_SPEAKING_THE_TEAMS_LANGUAGE = frozenset(
    {"replay", "explain", "sources", "accounts", "ledger", "logs", "history", "alerts", "report"}
)


def _run(args: argparse.Namespace) -> int:
    try:
        return _run_command(args)
    except AccountListErrors as bad:
        bad.locale = getattr(args, "team_locale", "en")  # said as the command's other output is
        raise


def _run_command(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from revisit.demo import run_demo

        return run_demo(args.out, args.seed, args.locale)
    settings = load_checked_settings(getattr(args, "config", None), check_terms=args.command != "sources")
    if getattr(args, "locale", None):  # the run's language: its output, and alerts for owners without their own
        settings = replace(settings, alerts=replace(settings.alerts, locale=args.locale))
    if args.command in _SPEAKING_THE_TEAMS_LANGUAGE:
        args.team_locale = settings.alerts.locale
    configure_logging(settings, getattr(args, "loglevel", None), secret_sources=all_secret_sources(settings))
    if args.command == "replay":
        if args.workers is not None and args.workers < 1:
            raise BadInput.of("--workers must be 1 or more")
        summary = replay(
            ReplayRequest(
                args.logs, args.accounts, tuple(args.mmdb), args.db, args.alerts_jsonl, args.encoding, args.workers
            ),
            settings,
        )
        print(format_summary(summary, settings.alerts.locale, _explain_options(args), settings.intent.threshold))
        return 0
    handler = _COMMANDS.get(args.command)
    if handler is None:
        raise BadInput(f"unknown command {args.command!r}")
    return handler(args, settings)


def _explain_options(args: argparse.Namespace) -> str:
    """The options of ``revisit explain`` that look at a replay's visitor as the replay did."""
    options = ["--accounts", args.accounts]
    if args.encoding != "utf-8-sig":
        options += ["--encoding", args.encoding]
    for path in args.mmdb:
        options += ["--mmdb", path]
    if args.config:
        options += ["--config", args.config]
    if args.locale:
        options += ["--locale", args.locale]
    return shlex.join(options)


def _explain(args: argparse.Namespace, settings: Settings) -> int:
    from revisit.enrichment.explain import explain_address, words_in
    from revisit.storage.store import Store

    try:
        address = ipaddress.ip_address(args.ip)
    except ValueError:
        raise BadInput.of("{address!r} is not an IP address", address=args.ip) from None
    accounts: Sequence[Account] | None = load_accounts(args.accounts, args.encoding) if args.accounts else None
    store = Store(args.db) if args.db else None
    words = words_in(settings.alerts.locale)  # --locale, when given, is alerts.locale (_run)
    ledger_notes: list[str] = []
    try:
        if accounts is None:
            accounts = store.load_accounts() if store is not None else []
        enrichment = build_enrichment(accounts, list(settings.resolution.mmdb_paths) + list(args.mmdb), settings)
        if store is not None:
            enrichment.remember_registrations(store.load_network_registrations())
            enrichment.use_ledger(store)
            if settings.ledger.enabled:
                ledger_notes = _ledger_accounts_missing(
                    address, store.load_ledger(), accounts, bool(args.accounts), words
                )
    finally:
        if store is not None:
            store.close()
    try:
        filtered = HitFilter(settings.filters).reason_for_address(address)
        if filtered == FilterReason.PRIVATE_ADDRESS:
            print(
                words.say(
                    "address {address}: a private or reserved address, filtered before resolution (no match)",
                    address=address,
                )
            )
            return 0
        if filtered == FilterReason.OWN_NETWORK:
            print(
                words.say(
                    "address {address}: one of our own networks (filters.own_networks), filtered before "
                    "resolution (no match)",
                    address=address,
                )
            )
            return 0
        explanation = explain_address(
            address, enrichment.index, enrichment.resolvers, enrichment.late, settings.dormancy
        )
        print("\n".join(printable(line) for line in [*explanation.lines(words), *ledger_notes]))
        return 0
    finally:
        enrichment.close()


def _ledger_accounts_missing(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
    entries: Sequence[LedgerEntry],
    accounts: Sequence[Account],
    from_csv: bool,
    words: ExplainWords,
) -> list[str]:
    """Why ledger entries cannot match: their account is not in the list explain matches against.

    ``ledger import --accounts CSV --db URL`` stores the ledger but not the list, so ``explain
    --db URL`` alone found no account for any entry and said "no answer" as if the ledger were empty.
    """
    from revisit.enrichment.explain import LEDGER_NO_LIST, LEDGER_NOT_IN_CSV, LEDGER_NOT_IN_DATABASE

    known = {account.account_id for account in accounts}
    missing = [entry for entry in entries if entry.account_id not in known]
    if not missing:
        return []
    if from_csv:
        where = LEDGER_NOT_IN_CSV
    elif not accounts:
        where = LEDGER_NO_LIST
    else:
        where = LEDGER_NOT_IN_DATABASE
    ids = sorted({entry.account_id for entry in missing})
    lines = [
        words.say(
            where,
            count=len(missing),
            ids=", ".join(ids[:5]) + (" ..." if len(ids) > 5 else ""),
        )
    ]
    lines += [
        "  "
        + words.say(
            "{address} is in {network}, learned for account {account}: {entry}",
            address=address,
            network=entry.network,
            account=entry.account_id,
            entry=entry.described(),
        )
        for entry in missing
        if address in entry.network
    ]
    return lines


def _sources(args: argparse.Namespace, settings: Settings) -> int:
    """The attribution page: the open databases' licences (CC BY, CC BY-SA) ask for credit
    wherever their data is shown; this is the text to show."""
    from revisit.app import enabled_source_terms
    from revisit.enrichment.explain import sources_page, words_in
    from revisit.enrichment.terms import rdap_needs_acknowledgement

    unacknowledged = frozenset({"rdap", "rdap+jpnic"} if rdap_needs_acknowledgement(settings.resolution) else set())
    # --locale, when given, is alerts.locale (_run)
    page = sources_page(enabled_source_terms(settings, args.mmdb), unacknowledged, words_in(settings.alerts.locale))
    print("\n".join(printable(line) for line in page))
    return 0


def _kafka_settings(args: argparse.Namespace, settings: Settings) -> KafkaSettings:
    if args.bootstrap:
        return replace(settings.kafka, bootstrap_servers=args.bootstrap)
    return settings.kafka


def _ship(args: argparse.Namespace, settings: Settings) -> int:
    from revisit.kafka.ship import run_ship

    kafka = _kafka_settings(args, settings)
    result = run_ship(
        args.logs,
        args.topic or kafka.raw_topic,
        args.follow,
        kafka.bootstrap_servers,
        settings.log,
        settings.ship,
        args.checkpoint,
    )
    print(f"shipped {result.sent:,} lines to {args.topic or kafka.raw_topic}")
    if result.skipped:
        count = sum(result.skipped.values())
        reasons = ", ".join(f"{reason} {number:,}" for reason, number in result.skipped.items())
        print(f"skipped {count:,} line{'' if count == 1 else 's'}: {reasons}")
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    settings = replace(settings, kafka=_kafka_settings(args, settings))
    if args.web_port is not None:
        settings = replace(settings, worker=replace(settings.worker, web_port=args.web_port))
    return run_worker_process(WorkerRequest(args.accounts, tuple(args.mmdb), args.db, args.encoding), settings)


def _topics(args: argparse.Namespace, settings: Settings) -> int:
    from revisit.kafka.topics import create_topics

    if args.partitions is not None and args.partitions < 1:
        raise BadInput("--partitions must be 1 or more")
    for report in create_topics(_kafka_settings(args, settings), args.partitions, args.retention_hours):
        state = "created" if report.created else "exists"
        print(f"{report.name}: {state}, {report.partitions} partitions")
    return 0


def _accounts(args: argparse.Namespace, settings: Settings) -> int:
    if args.accounts_command == "enrich":
        return _enrich_accounts(args, settings)
    return _lint_accounts(args, settings) if args.accounts_command == "lint" else _import_accounts(args, settings)


def _enrich_accounts(args: argparse.Namespace, settings: Settings) -> int:
    """The enriched list on stdout (or ``--out``), what was found on stderr (in the team's
    language, ``alerts.locale``): the list can be piped."""
    from pathlib import Path

    from revisit.core.phrase import Phrase
    from revisit.enrichment.explain import words_in
    from revisit.enrichment.houjin import enrich, enriched_csv

    accounts = load_accounts(args.csv, args.encoding)
    report = enrich(accounts, args.houjin)
    text = Path(args.csv).read_bytes().decode(args.encoding)  # load_accounts decoded it already
    enriched = enriched_csv(text, report)
    if args.out:
        try:
            # with a BOM, as the web UI's CSV exports: Japanese Excel reads UTF-8 only then
            Path(args.out).write_text(enriched.removeprefix("\ufeff"), encoding="utf-8-sig")
        except OSError as error:
            raise BadInput.of(
                "--out {path}: cannot write it ({reason})", path=args.out, reason=error.strerror
            ) from None
    else:
        sys.stdout.write(enriched)
    words = words_in(settings.alerts.locale)
    how: dict[str, int] = {}
    for way in report.how.values():
        how[way] = how.get(way, 0) + 1
    ways = [Phrase.of("{count:,} by {way}", count=count, way=Phrase.of(way)) for way, count in sorted(how.items())]
    said_ways = ("、" if settings.alerts.locale == "ja" else ", ").join(w.said_in(words.translations) for w in ways)
    print(
        words.say(
            "{rows:,} companies read from {file}: {found:,} of {accounts:,} accounts found ({ways})",
            rows=report.rows,
            file=args.houjin,
            found=len(report.found),
            accounts=len(accounts),
            ways=said_ways or words.say("none"),
        ),
        file=sys.stderr,
    )
    for account_id, numbers in sorted(report.ambiguous.items()):
        said = words.say(
            "  {account}: its name fits {count} companies ({numbers}); add a prefecture or corporate_number column",
            account=account_id,
            count=len(numbers),
            numbers=", ".join(numbers),
        )
        print(printable(said), file=sys.stderr)
    for account_id, record in sorted(report.found.items()):
        if record.status != "active":
            said = words.say(
                "  {account}: {name} is {status} ({date})",
                account=account_id,
                name=record.name,
                status=Phrase.of(record.status),
                date=record.close_date,
            )
            print(printable(said), file=sys.stderr)
    return 0


# bad values printed by ``accounts lint`` before "… and N more": a broken file (a wrong column
# order gives an error in every row) must not flood the terminal; --json lists them all
_LINT_ERRORS_SHOWN = 200


def _lint_accounts(args: argparse.Namespace, settings: Settings) -> int:
    """Findings on stdout in the team's language (``alerts.locale``); exit 0 either way (a list
    with findings is still a valid list). A list with bad values: each of them, in file order,
    then their count; exit 2. ``--json`` keeps English words beside the stable kind codes."""
    from datetime import date

    from revisit.enrichment.lint import KIND_LABELS_JA, KINDS, lint_accounts, why_in

    locale = "en" if args.json else settings.alerts.locale
    try:
        accounts = load_accounts(args.csv, args.encoding)
    except AccountListErrors as bad:
        _print_list_errors(bad, args.json, locale)
        return 2
    findings = lint_accounts(accounts, date.today(), settings.matching, locale=locale)
    if args.json:
        for finding in findings:
            print(
                json_for_terminal(
                    json.dumps(
                        {
                            "kind": finding.kind,
                            "accounts": list(finding.account_ids),
                            "detail": finding.detail,
                            "why": finding.why,
                        },
                        ensure_ascii=False,
                    )
                )
            )
        return 0
    if locale == "ja":
        print(printable(f"{args.csv} の取引先 {len(accounts):,} 件：指摘 {len(findings):,} 件"))
    else:
        print(printable(f"{len(accounts):,} accounts in {args.csv}: {len(findings):,} finding(s)"))
    for kind in KINDS:
        of_kind = [f for f in findings if f.kind == kind]
        if of_kind:
            if locale == "ja":
                print(f"\n{KIND_LABELS_JA[kind]}（{kind}、{len(of_kind):,} 件）：{why_in(kind, locale)}")
            else:
                print(f"\n{kind} ({len(of_kind):,}): {why_in(kind, locale)}")
            for finding in of_kind:
                print(printable(f"  {', '.join(finding.account_ids):<24} {finding.detail}"))
    return 0


def _print_list_errors(bad: AccountListErrors, as_json: bool, locale: str) -> None:
    if as_json:
        for error in bad.errors:
            record = {"kind": "bad_value", "file": bad.source, "line": error.line, "column": error.column}
            print(json_for_terminal(json.dumps(record | {"detail": error.text}, ensure_ascii=False)))
        return
    for error in bad.errors[:_LINT_ERRORS_SHOWN]:
        print(printable(error.located(bad.source, locale)))
    more = len(bad.errors) - _LINT_ERRORS_SHOWN
    if locale == "ja":
        if more > 0:
            print(f"… ほか {more:,} 件")
        print(
            printable(
                f"{bad.source}：{bad.rows:,} 行に {len(bad.errors):,} 件のエラー。ほかの点は確認していません。"
                "修正してから、もう一度 lint を実行してください"
            )
        )
        return
    if more > 0:
        print(f"… and {more:,} more")
    print(printable(f"{bad.count_text()} of {bad.source}: nothing else was checked; fix them and run lint again"))


def _import_accounts(args: argparse.Namespace, settings: Settings) -> int:
    """What was imported, in the team's language (``alerts.locale``), as ``accounts lint`` says it."""
    from revisit.enrichment.explain import words_in
    from revisit.enrichment.prepared import prepare_accounts
    from revisit.storage.store import Store

    prepared = prepare_accounts(args.csv, args.encoding, settings.matching)
    store = Store(args.db or settings.database_url)
    try:
        done = store.save_accounts(prepared.accounts, prepared.digest, keys=prepared.keys)
    finally:
        store.close()
    words = words_in(settings.alerts.locale)
    if done.unchanged:  # "imported ... (unchanged)" read as if something had been written
        said = words.say(
            "{count:,} accounts in {file}, unchanged since the last import: nothing to import",
            count=done.listed,
            file=args.csv,
        )
    else:
        said = words.say(
            "imported {count:,} accounts from {file} ({added:,} added, {changed:,} changed, {gone:,} no longer listed)",
            count=done.listed,
            file=args.csv,
            added=done.inserted,
            changed=done.updated,
            gone=done.delisted,
        )
    print(printable(said))
    lint = f"revisit accounts lint {shlex.quote(args.csv)}"
    print(
        printable(
            words.say(
                "check the list with `{command}` before a campaign (duplicates, rows without owner)", command=lint
            )
        )
    )
    return 0


def _login_name() -> str:
    """Who runs the command: $LOGNAME, $USER (as ``getpass`` reads them), else the account's name
    in the password database (a cron job or container has no $USER, and its outcomes showed as
    recorded by "unknown")."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container's arbitrary one)
        return ""


def _outcome_named(given: str) -> str:
    """An outcome by its code or by the Japanese name ``revisit history`` shows it under."""
    from revisit.alerts.render import history_words

    names = {name: code for code, name in history_words("ja").items() if code in OUTCOME_CODES}
    return names.get(given.strip(), given.strip())


OUTCOME_CODES = ("contacted", "meeting", "opportunity", "won", "not_interested")
MOST_SNOOZE_DAYS = 366  # a year: longer is no snooze but a removal from the list (100000 days was taken)


def _check_account_known(store: Store, account_id: str, locale: str) -> None:
    """An account id no list imported into this database held is a typo or the wrong ``--db``:
    exit 2 and say so, rather than an empty history or a snooze that silences nothing."""
    from revisit.alerts.render import history_words

    if not store.has_account(account_id):
        raise BadInput(history_words(locale)["unknown"].format(account_id=account_id))


def _history(args: argparse.Namespace, settings: Settings) -> int:
    from revisit.alerts.render import history_words, page_label, shown_time
    from revisit.storage.outcomes import outcomes_of
    from revisit.storage.store import Store
    from revisit.web.clock import web_clock

    store = Store(args.db or settings.database_url)
    try:
        _check_account_known(store, args.account_id, settings.alerts.locale)
        entries = store.history(args.account_id)
        alerts = store.alerts_for(args.account_id)
        outcomes = outcomes_of(store, [alert["alert_id"] for alert in alerts])
    finally:
        store.close()
    if args.json:
        print(
            json_for_terminal(
                json.dumps(
                    {
                        "account_id": args.account_id,
                        "alerts": alerts,
                        "hits": [
                            {
                                "at": e.occurred_at.isoformat(),
                                "session_id": e.session_id,
                                "path": e.path,
                                "label": e.page_label,
                                "organization": e.organization_name,
                            }
                            for e in entries
                        ],
                    },
                    ensure_ascii=False,
                    indent=2,
                )
            )
        )
        return 0
    words = history_words(settings.alerts.locale)
    if not entries:
        print(printable(words["none"].format(account_id=args.account_id)))
        return 0
    # the web UI's zone (web.timezone, else the business hours'): the times alerts and pages show
    zone = web_clock(settings).zone
    current = None
    for entry in entries:
        at = entry.occurred_at.astimezone(zone)
        if entry.session_id != current:
            current = entry.session_id
            source = entry.organization_name or entry.client_ip
            print(printable(words["visit"].format(at=shown_time(at), source=source)))
        label = f"  [{page_label(entry.page_label, settings.alerts.locale)}]" if entry.page_label else ""
        print(printable(f"  {at:%H:%M:%S}  {entry.path}{label}"))
    print(words["alerts"].format(count=len(alerts)))
    for alert in alerts:  # when, how dormant, how keen, and what followed: what a rep asks next
        # raised at the visit's page that crossed the threshold: the time the web UI shows it at
        at = datetime.fromisoformat(alert["last_seen"]).astimezone(zone)
        followed = "、".join if settings.alerts.locale == "ja" else ", ".join
        recorded = [words[outcome] for outcome in outcomes.get(alert["alert_id"], ()) if outcome in words]
        line = words["alert"].format(
            at=shown_time(at),
            tier=alert["tier"],
            score=alert["score"],
            outcomes=followed(recorded) or words["no_outcome"],
            id=alert["alert_id"][:8],  # enough for `revisit alerts outcome`
        )
        print(printable(line))
    return 0


def _sender(args: argparse.Namespace, settings: Settings) -> int:
    import signal
    import threading

    from revisit.core.metrics import RevisitMetrics
    from revisit.endpoints import ServiceEndpoints
    from revisit.storage.outbox import AlertOutbox
    from revisit.storage.store import Store

    store = Store(args.db or settings.database_url)
    endpoints = None
    try:
        if args.once:
            sender = delivery_sender(store, settings)
            report = sender.run_once(limit=10_000)
            for line in delivery_summary(report, AlertOutbox(store).held(sender.clock()), settings).splitlines():
                print(printable(line))
            return 0
        metrics = RevisitMetrics.create()
        sender = delivery_sender(store, settings, metrics)
        if settings.delivery.web_port:
            endpoints = ServiceEndpoints(
                settings.delivery.web_host, settings.delivery.web_port, metrics.registry, {"database": store.problem}
            ).start()
        stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda number, frame: stopping.set())
        sender.run_forever(stopping)
        return 0
    finally:
        if endpoints is not None:
            endpoints.stop()
        store.close()


def _alerts(args: argparse.Namespace, settings: Settings) -> int:
    from revisit.alerts.render import history_words

    if args.alerts_command == "snooze":
        from revisit.storage.outbox import AlertOutbox
        from revisit.storage.store import Store

        words = history_words(settings.alerts.locale)
        if not 1 <= args.days <= MOST_SNOOZE_DAYS:  # a day at least (0.0001 held deliveries 9 s)
            raise BadInput(words["days"].format(most=MOST_SNOOZE_DAYS))
        if not args.reason.strip():
            raise BadInput(words["reason"])
        store = Store(args.db or settings.database_url)
        try:
            _check_account_known(store, args.account_id, settings.alerts.locale)
            until = AlertOutbox(store).snooze(args.account_id, args.days, args.reason.strip(), args.by or "unknown")
        finally:
            store.close()
        shown = _shown_in_business_zone(until, settings)
        snoozed = words["snoozed"]
        print(printable(snoozed.format(account_id=args.account_id, until=shown, reason=args.reason.strip())))
        return 0
    if args.alerts_command == "outcome":
        from revisit.alerts.report import Outcome
        from revisit.storage.outcomes import alert_ids_starting, record_outcome
        from revisit.storage.store import Store

        words = history_words(settings.alerts.locale)
        store = Store(args.db or settings.database_url)
        try:
            found = alert_ids_starting(store, args.alert_id)
            if len(found) != 1:
                raise BadInput(
                    words["several_alerts" if found else "no_alert"].format(given=args.alert_id, ids=", ".join(found))
                )
            alert_id = found[0]
            account_id = record_outcome(store, alert_id, Outcome(args.result), args.note, args.by or "unknown")
        finally:
            store.close()
        recorded = words["recorded"].format(alert_id=alert_id, account_id=account_id, result=words[args.result])
        print(printable(recorded))
        return 0
    from revisit.alerts.channels import DeliveryFailure, remote_channels
    from revisit.demo import sample_alert

    channel = remote_channels(settings.delivery)[args.channel]
    try:
        reference = channel.send(sample_alert(settings, args.to or ""))
    except DeliveryFailure as failure:
        print(f"revisit: test alert via {args.channel} failed: {failure.reason}", file=sys.stderr)
        return 1
    print(f"test alert sent via {args.channel} ({reference})")
    return 0


def _report(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import date

    from revisit.alerts.report import format_report, reactivation_report, report_legend, report_period
    from revisit.storage.outcomes import follow_ups
    from revisit.storage.store import Store
    from revisit.web.clock import web_clock

    clock = web_clock(settings)  # the day starts where the team is, as the web UI's days do
    first_day = None
    if args.since:
        try:
            first_day = date.fromisoformat(args.since)
        except ValueError:
            raise BadInput.of("--since {day!r}: expected YYYY-MM-DD", day=args.since) from None
    store = Store(args.db or settings.database_url)
    try:
        lines = reactivation_report(follow_ups(store, clock.start_of(first_day) if first_day else None))
    finally:
        store.close()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "dimension": line.dimension,
                        "value": line.value,
                        "alerts": line.alerts,
                        "followed_up": line.contacted,
                        "reactivated": line.reactivated,
                        "won": line.won,
                        "reactivation_rate": round(line.reactivation_rate, 4),
                    }
                    for line in lines
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        locale = settings.alerts.locale
        print(report_period(f"{first_day:%Y-%m-%d}" if first_day else None, clock.label, locale))
        for row in format_report(lines, locale).splitlines():
            print(printable(row))
        if lines:
            print("\n" + report_legend(locale))
    return 0


def _retention(args: argparse.Namespace, settings: Settings) -> int:
    from revisit.privacy import delete_expired
    from revisit.storage.store import Store

    store = Store(args.db or settings.database_url)
    try:
        days = args.days if args.days is not None else settings.privacy.retention_days
        report = delete_expired(store.engine, days, dry_run=args.dry_run)
    finally:
        store.close()
    verb = "would delete" if args.dry_run else "deleted"
    print(
        f"{verb} {report.hits:,} hits and {report.resolutions:,} cached resolutions from before "
        f"{_shown_in_business_zone(report.cutoff, settings)}; alerts, visits and outcomes are kept"
    )
    return 0


def _shown_in_business_zone(at: datetime, settings: Settings) -> str:
    """``2026-12-08 14:00 JST``: in ``delivery.business_hours.timezone``, as the ``held:`` lines."""
    from zoneinfo import ZoneInfo

    from revisit.alerts.render import shown_time

    return shown_time(at.astimezone(ZoneInfo(settings.delivery.business_hours.timezone)))


def _web(args: argparse.Namespace, settings: Settings) -> int:
    if args.web_command == "hash-password":
        from revisit.web.auth import hash_password

        password = sys.stdin.readline().rstrip("\r\n") if not sys.stdin.isatty() else __import__("getpass").getpass()
        if not password:
            raise BadInput("an empty password cannot be hashed")
        print(hash_password(password))
        return 0
    if args.web_command == "new-token":
        from revisit.web.auth import new_token

        token, digest = new_token()
        print(f"token (give it to the API client, it is not stored): {token}")
        print("config (paste into the TOML file, then name the client):")
        print(f'[[web.api_tokens]]\nname = "client-name"\ntoken_sha256 = "{digest}"\nrole = "analyst"')
        return 0
    from revisit.storage.store import Store
    from revisit.web.app import run_web

    today = None
    if args.today:
        try:
            today = date.fromisoformat(args.today)
        except ValueError:
            raise BadInput(f"--today {args.today!r}: expected YYYY-MM-DD") from None
    web = replace(settings.web, host=args.host or settings.web.host, port=args.port or settings.web.port)
    settings = replace(settings, web=web)
    store = Store(args.db or settings.database_url)
    try:
        return run_web(settings, store, today)
    finally:
        store.close()


def _config(args: argparse.Namespace, settings: Settings) -> int:
    """Loading already validated everything (or exited 2 naming the key); show what is in effect.
    A web session secret that `web serve` would refuse is refused here too, with the same words;
    a missing one is only a warning: the check is how one finds out what is unset."""
    from revisit.core.config import effective_settings
    from revisit.web.app import session_secret

    web = settings.web
    if web.session_secret_file or os.environ.get(web.session_secret_env):
        session_secret(settings)
    elif web.users:
        try:
            session_secret(settings)
        except BadInput as missing:
            print(f"warning: {missing} (`revisit web serve` will not start without it)", file=sys.stderr)
    status = {}
    for name, (variable, path) in all_secret_sources(settings).items():
        if path:
            status[name] = f"file {path}: {'readable' if os.access(path, os.R_OK) else 'NOT READABLE'}"
        else:
            status[name] = f"${variable}: {'set' if os.environ.get(variable) else 'not set'}"
    print(json.dumps({"settings": effective_settings(settings), "secrets": status}, ensure_ascii=False, indent=2))
    return 0


def _ledger(args: argparse.Namespace, settings: Settings) -> int:
    from zoneinfo import ZoneInfo

    from revisit.app import learn_sign_ins
    from revisit.enrichment.explain import words_in
    from revisit.enrichment.ledger_import import learn_all, read_form_export
    from revisit.enrichment.match import AccountIndex
    from revisit.storage.store import Store
    from revisit.stream.identity import SignInReader
    from revisit.stream.sources import check_log_paths

    if args.ledger_command == "revoke" and args.network is None and args.account is None:
        raise BadInput.of("ledger revoke: name a network (CIDR), --account ID, or both")
    network = None
    if args.ledger_command == "revoke" and args.network is not None:
        try:
            network = str(ipaddress.ip_network(args.network, strict=False))
        except ValueError:
            raise BadInput.of(
                "{network!r} is not an IP network (CIDR such as 203.0.113.7/32)", network=args.network
            ) from None
    words = words_in(settings.alerts.locale)  # --locale, when given, is alerts.locale (_run)
    # every input is read and checked before the database is opened
    accounts = load_accounts(args.accounts, args.encoding) if getattr(args, "accounts", None) else None
    sightings = None
    if args.ledger_command == "import":
        zone = ZoneInfo(settings.delivery.business_hours.timezone)
        sightings = read_form_export(args.csv, zone, args.encoding, words.translations)
    elif args.ledger_command == "learn":
        check_log_paths(args.logs)
        SignInReader(settings.log, settings.ledger.log_field)
    store = Store(args.db or settings.database_url)
    try:
        if args.ledger_command == "list":
            listed = store.list_ledger(args.account, include_inactive=args.all)
            now = datetime.now(UTC)
            print(words.say("{count:,} learned network(s)", count=len(listed)))
            for item in listed:
                entry = item.entry
                state = item.state_said(now).said_in(words.translations)
                evidence = entry.described().said_in(words.translations)
                print(printable(f"  {str(entry.network):<20} {entry.account_id:<12} {state} · {evidence}"))
            return 0
        if args.ledger_command == "revoke":
            count = store.revoke_ledger(network, args.account, args.reason)
            if not count:
                raise BadInput.of("no learned network in use matches (see `revisit ledger list --all`)")
            print(words.say("revoked {count:,} learned network(s)", count=count))
            return 0
        if accounts is None:
            accounts = store.load_accounts()
        if not accounts:
            raise BadInput.of("no accounts: pass --accounts CSV or import a list with `revisit accounts import CSV`")
        index = AccountIndex(accounts, settings.matching)
        if sightings is not None:
            learned = learn_all(sightings, index, settings.ledger, settings.filters.drop_private)
        else:
            learned = learn_sign_ins(args.logs, settings, index)
        revoked = {
            (str(item.entry.network), item.entry.account_id): item
            for item in store.list_ledger(include_inactive=True)
            if item.revoked_at is not None
        }
        not_again = [revoked[key] for key in learned.learned if key in revoked]
        stored = store.save_ledger_entries(learned.entries)
    finally:
        store.close()
    print("\n".join(printable(line) for line in learned.summary(words.translations)))
    for item in not_again:  # save_ledger_entries keeps a revoked entry revoked
        said = words.say(
            "  not learned again: {network} for {account} was {state}; revoked entries stay revoked",
            network=str(item.entry.network),
            account=item.entry.account_id,
            state=item.state_said(datetime.now(UTC)),
        )
        print(printable(said))
    if stored.repeated:
        repeated = (
            "{count:,} sighting counted before, not counted again"
            if stored.repeated == 1
            else "{count:,} sightings counted before, not counted again"
        )
        print(words.say(repeated, count=stored.repeated))
    count = stored.entries
    print(words.say("stored {count:,} ledger entry" if count == 1 else "stored {count:,} ledger entries", count=count))
    return 0


# Subcommand → handler(args, settings); demo and replay are handled above.
def _logs(args: argparse.Namespace, settings: Settings) -> int:
    from revisit.app import log_check_words
    from revisit.stream.check import check_logs, render
    from revisit.stream.sources import check_log_paths

    check_log_paths(args.logs)
    check = check_logs(args.logs, settings.log)
    # --locale, when given, is alerts.locale (_run)
    print("\n".join(printable(line) for line in render(check, log_check_words(settings.alerts.locale))))
    return 2 if check.nothing_read else 0


_COMMANDS = {
    "logs": _logs,
    "explain": _explain,
    "sources": _sources,
    "ledger": _ledger,
    "ship": _ship,
    "worker": _worker,
    "topics": _topics,
    "accounts": _accounts,
    "history": _history,
    "sender": _sender,
    "alerts": _alerts,
    "report": _report,
    "config": _config,
    "web": _web,
    "retention": _retention,
}


if __name__ == "__main__":
    raise SystemExit(main())
