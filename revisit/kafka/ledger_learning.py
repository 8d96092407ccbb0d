"""The streaming worker learns the first-party network ledger from the sign-ins it reads.

With ``ledger.log_field`` set, each raw line that names a signed-in user is a sighting, learned by
the same rules as ``revisit ledger learn`` and replay (``revisit.enrichment.ledger.learn``: free
mail never, never an address in another account's network, an expiry, evidence "sign-in in the
access log"). A new entry is used at once by this process, before the lines of its batch are
classified, so the sign-in line itself and every later line from that address match by ``ledger``.

The database is the only shared state. What a process learned is written there in one batch
before it commits its offsets (about once a second, and only when something was learned), so a
restart, or a crash that re-reads the uncommitted lines, loses nothing. Every
``ledger.reload_seconds`` (60 by default) each process reads the ledger back: another process's
lessons (other partitions) reach it within that time, and so do ``revisit ledger import`` and
``revisit ledger revoke`` from the command line, which a compacted topic of learned entries would
not carry without a second path for them; the topic would also need its own consumer in every
process and a bootstrap from the database anyway. One read of the whole ledger runs in a thread,
off the event loop: 0.2-0.4 s for 10,000 entries on SQLite (measured on the shared 2-core test
machine), so about half a percent of a core at the default interval; the cached addresses of the
networks that came or went are then decided again (``HitClassifier.forget_addresses_in``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from revisit.core.config import Settings
from revisit.core.networks import IPNetwork
from revisit.enrichment.ledger import Ledger, LedgerEntry, LedgerSaved, learn, merge_entries
from revisit.enrichment.ledger_import import sightings_of_sign_ins
from revisit.stream.identity import SignInReader

if TYPE_CHECKING:
    from revisit.enrichment.match import AccountIndex

SOURCE = "the access log"  # the evidence reads "sign-in in the access log: an address at example.co.jp"


class LedgerStore(Protocol):
    """Where the ledger is kept (``revisit.storage.Store``)."""

    def save_ledger_entries(self, entries: Sequence[LedgerEntry]) -> LedgerSaved: ...

    def load_ledger(self, account_id: str | None = None, include_inactive: bool = False) -> list[LedgerEntry]: ...

    def revoked_ledger_keys(self) -> set[tuple[str, str]]: ...


def _key(entry: LedgerEntry) -> tuple[str, str]:
    return str(entry.network), entry.account_id


class StreamLedger:
    """One classify stage's ledger learning: reads sign-ins, keeps the index's ledger current."""

    def __init__(self, settings: Settings, index: AccountIndex, revoked: set[tuple[str, str]]) -> None:
        self._reader = SignInReader(settings.log, settings.ledger.log_field)
        self._holds = settings.ledger.log_field_holds
        self._settings = settings.ledger
        self._drop_private = settings.filters.drop_private  # kept private traffic is learned from too
        self._index = index
        if index.ledger is None:
            index.use_ledger(Ledger())
        self._revoked = revoked  # (network, account id) revoked by hand: never learned again
        self._pending: dict[tuple[str, str], LedgerEntry] = {}  # learned, not yet written
        self.refused: Counter[str] = Counter()  # sightings that taught nothing, per reason
        self.learned = 0  # entries this process added to its ledger

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def learn_lines(self, lines: Sequence[str]) -> list[IPNetwork]:
        """Learn the sign-ins of these lines; returns the networks new to this process's ledger
        (the classifier must decide their addresses again)."""
        if self._holds == "email":
            # No "@", no e-mail: the test costs 0.05 µs a line where reading the field costs 4.8
            # (the line parsed a second time), and few lines carry an "@" anywhere.
            lines = [line for line in lines if "@" in line]
        read = self._reader.sign_in
        sign_ins = [sign_in for sign_in in map(read, lines) if sign_in is not None]
        if not sign_ins:
            return []
        ledger, now = self._ledger(), datetime.now(UTC)
        new: list[IPNetwork] = []
        for sighting in sightings_of_sign_ins(sign_ins, self._holds, SOURCE):
            outcome = learn(sighting, self._index, self._settings, self._drop_private)
            if not isinstance(outcome, LedgerEntry):
                self.refused[outcome.reason] += 1
                continue
            key = _key(outcome)
            if outcome.expires_at <= now:  # a backlog older than ledger.expiry_days
                self.refused["expired"] += 1
                continue
            if key in self._revoked:
                self.refused["revoked"] += 1
                continue
            earlier = self._pending.get(key)
            self._pending[key] = outcome if earlier is None else earlier.merged(outcome)
            if not ledger.has(outcome):
                ledger.add(outcome)
                new.append(outcome.network)
                self.learned += 1
        return new

    def take_pending(self) -> list[LedgerEntry]:
        """What to write now (given back with ``keep_pending`` if the write fails)."""
        pending, self._pending = list(self._pending.values()), {}
        return pending

    def keep_pending(self, entries: Sequence[LedgerEntry]) -> None:
        for entry in merge_entries([*entries, *self._pending.values()]):
            self._pending[_key(entry)] = entry

    def save(self, store: LedgerStore, entries: Sequence[LedgerEntry]) -> None:
        """Runs in a thread: one write for everything learned since the last one."""
        if entries:
            store.save_ledger_entries(entries)

    @staticmethod
    def load(store: LedgerStore) -> tuple[Ledger, set[tuple[str, str]]]:
        """Runs in a thread: the unexpired, unrevoked entries every process has written, and the
        revoked ones' keys."""
        return Ledger(store.load_ledger(), datetime.now(UTC)), store.revoked_ledger_keys()

    def use(self, loaded: Ledger, revoked: set[tuple[str, str]]) -> list[IPNetwork]:
        """Match by the ledger read back from the database, plus what was learned here while it was
        read (not written yet); returns the networks that came or went."""
        self._revoked = revoked
        before = {_key(entry): entry.network for entry in self._ledger().entries}
        for entry in self._pending.values():
            if not loaded.has(entry):
                loaded.add(entry)
        self._index.use_ledger(loaded)
        after = {_key(entry): entry.network for entry in loaded.entries}
        changed = before.keys() ^ after.keys()
        return sorted({before.get(key) or after[key] for key in changed}, key=str)

    def _ledger(self) -> Ledger:
        ledger = self._index.ledger
        if ledger is None:
            ledger = Ledger()
            self._index.use_ledger(ledger)
        return ledger
