"""Reading evidence for the network ledger: form / MA-tool exports (CSV) and sign-ins in access logs.

A CSV needs a header with an e-mail, an IP address and a time column; the names the common
tools export under are accepted (``email``/``e-mail``/``メールアドレス``, ``ip``/``ip_address``/
``IPアドレス``, ``time``/``submitted_at``/``created_at``/``日時``). Every bad row is reported
(``file:line:column: reason``) and then nothing is learned: an import is all or nothing, so
fixing the file and importing it again loses no row and counts none twice.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from revisit.core.config import LedgerSettings
from revisit.core.errors import BadInput
from revisit.core.phrase import Phrase
from revisit.enrichment.ledger import FORM, SIGN_IN, LedgerEntry, Refusal, Sighting, learn, merge_entries
from revisit.stream.fields import normalize_address

if TYPE_CHECKING:
    from revisit.enrichment.match import AccountIndex
    from revisit.stream.identity import SignIn

_COLUMNS = {
    "email": ("email", "e-mail", "mail", "email_address", "メールアドレス", "メール"),
    "ip": ("ip", "ip_address", "ipaddress", "address", "remote_ip", "ipアドレス"),
    "time": ("time", "timestamp", "submitted_at", "created_at", "date", "日時", "送信日時"),
}
_MAX_ERRORS_SHOWN = 50
_LOCAL_TIME = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")


@dataclass
class Learned:
    """What an import taught: entries to keep (sightings of one network and account folded into
    one as they come, so a long log costs one entry per address), and refusals per reason."""

    learned: dict[tuple[str, str], LedgerEntry] = field(default_factory=dict)
    refused: Counter[str] = field(default_factory=Counter)
    examples: dict[str, Phrase] = field(default_factory=dict)  # one refusal's detail per reason
    rows: int = 0
    # each row with an address that can never match, named (the first _MAX_ERRORS_SHOWN): a typo or a
    # test address in an export is the user's to fix, not a count to shrug at
    unusable_addresses: list[Phrase] = field(default_factory=list)

    def add(self, outcome: LedgerEntry | Refusal) -> None:
        self.rows += 1
        if isinstance(outcome, Refusal):
            self.refused[outcome.reason] += 1
            self.examples.setdefault(outcome.reason, outcome.said)
            if outcome.reason == "not_public_address" and len(self.unusable_addresses) < _MAX_ERRORS_SHOWN:
                self.unusable_addresses.append(outcome.said)
        else:
            key = (str(outcome.network), outcome.account_id)
            earlier = self.learned.get(key)
            self.learned[key] = outcome if earlier is None else earlier.merged(outcome)

    @property
    def entries(self) -> list[LedgerEntry]:
        return merge_entries(self.learned.values())

    def summary(self, translations: Mapping[str, str] | None = None) -> list[str]:
        """What was learned and why the rest was not, in the language of ``translations``
        (``enrichment.japanese.TRANSLATIONS``; English without)."""
        words = translations or {}
        accounts = {entry.account_id for entry in self.entries}
        refused = sum(self.refused.values())
        said = [
            Phrase.of(
                "{rows:,} sightings: {used:,} used ({networks:,} network(s) of {accounts:,} account(s)), "
                "{refused:,} not used",
                rows=self.rows,
                used=self.rows - refused,
                networks=len(self.learned),
                accounts=len(accounts),
                refused=refused,
            )
        ]
        for reason, count in sorted(self.refused.items()):
            if reason == "not_public_address":
                said.append(Phrase.of("  not used, {reason}: {count:,}", reason=Phrase.of(reason), count=count))
                said += [Phrase.of("    warning: {detail}", detail=detail) for detail in self.unusable_addresses]
            else:
                said.append(
                    Phrase.of(
                        "  not used, {reason}: {count:,} (e.g. {example})",
                        reason=Phrase.of(reason),
                        count=count,
                        example=self.examples[reason],
                    )
                )
        return [phrase.said_in(words) for phrase in said]


def parse_time(text: str, zone: tzinfo) -> datetime | None:
    """ISO 8601 (an offset kept, none read in ``zone``) or ``YYYY/MM/DD HH:MM[:SS]``."""
    text = text.strip()
    local = _LOCAL_TIME.match(text)
    try:
        if local is not None:
            year, month, day, hour, minute, second = (int(part or 0) for part in local.groups())
            value = datetime(year, month, day, hour, minute, second)
        else:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def read_form_export(
    path: str | Path, zone: tzinfo, encoding: str = "utf-8-sig", translations: Mapping[str, str] | None = None
) -> list[Sighting]:
    """Every row as a sighting; BadInput listing every bad row (none is returned then), in the
    language of ``translations`` (``enrichment.japanese.TRANSLATIONS``; English without): a list
    of many phrases, which the CLI cannot translate as it does a ``BadInput.of``."""
    words = translations or {}

    def say(template: str, /, **values: object) -> str:
        return Phrase.of(template, **values).said_in(words)

    # a refusal of the whole file: said in the command's language where the CLI says its errors
    try:
        text = Path(path).read_bytes().decode(encoding)
    except FileNotFoundError:
        raise BadInput.of("{path}: file not found", path=str(path)) from None
    except OSError as error:
        raise BadInput.of("{path}: cannot read ({reason})", path=str(path), reason=error.strerror) from None
    except UnicodeDecodeError:
        if encoding.startswith("utf"):
            raise BadInput.of(
                "{path}: not valid {encoding} text (try --encoding cp932)", path=str(path), encoding=encoding
            ) from None
        raise BadInput.of("{path}: not valid {encoding} text", path=str(path), encoding=encoding) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise BadInput.of("{path}:1:1: empty file, expected a header (email, ip, time)", path=str(path)) from None
    except csv.Error as error:
        raise BadInput(f"{path}:1:1: {error}") from None
    positions: dict[str, int] = {}
    for column, names in _COLUMNS.items():
        for index, name in enumerate(header):
            if name in names:
                positions[column] = index
                break
        else:
            raise BadInput.of(
                "{path}:1:1: no {column} column (one of: {names})",
                path=str(path),
                column=column,
                names=", ".join(names),
            )
    source = Path(path).name
    sightings: list[Sighting] = []
    errors: list[str] = []
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            errors.append(f"{path}:{line}:1: {error}")
            break
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            fields = say("expected {expected} fields, found {found}", expected=len(header), found=len(row))
            errors.append(f"{path}:{line}:1: {fields}")
            continue
        email, ip_text, time_text = (row[positions[c]].strip() for c in ("email", "ip", "time"))
        address = normalize_address(ip_text) if ip_text else None
        seen_at = parse_time(time_text, zone) if time_text else None
        if "@" not in email:
            said = say("email: {email!r} is not an e-mail address", email=email)
            errors.append(f"{path}:{line}:{positions['email'] + 1}: {said}")
        elif address is None:
            said = say("ip: {address!r} is not an IP address", address=ip_text)
            errors.append(f"{path}:{line}:{positions['ip'] + 1}: {said}")
        elif seen_at is None:
            said = say("time: {time!r} is not a time (ISO 8601 or YYYY/MM/DD HH:MM:SS)", time=time_text)
            errors.append(f"{path}:{line}:{positions['time'] + 1}: {said}")
        else:
            where = Phrase.of("{file} line {line}", file=source, line=line)
            sightings.append(Sighting(address, seen_at, email=email, kind=FORM, source=where))
    if errors:
        shown = errors[:_MAX_ERRORS_SHOWN]
        more = len(errors) - len(shown)
        raise BadInput(
            say("{count:,} bad row(s) in {path}; nothing was imported:", count=len(errors), path=str(path))
            + "\n"
            + "\n".join(shown)
            + ("\n" + say("... and {count:,} more", count=more) if more else "")
        )
    return sightings


def learn_all(
    sightings: Iterable[Sighting], index: AccountIndex, settings: LedgerSettings, drop_private: bool = True
) -> Learned:
    learned = Learned()
    for sighting in sightings:
        learned.add(learn(sighting, index, settings, drop_private))
    return learned


def sightings_of_sign_ins(sign_ins: Iterable[SignIn], holds: str, source: str) -> Iterable[Sighting]:
    """Sign-ins as sightings: the field holds an e-mail or an account id (``ledger.log_field_holds``)."""
    where = Phrase.of("in {file}", file=source)
    for sign_in in sign_ins:
        if holds == "account_id":
            yield Sighting(sign_in.address, sign_in.seen_at, account_id=sign_in.identity, kind=SIGN_IN, source=where)
        else:
            yield Sighting(sign_in.address, sign_in.seen_at, email=sign_in.identity, kind=SIGN_IN, source=where)
