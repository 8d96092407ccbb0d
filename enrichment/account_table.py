"""The listed accounts by position, made into objects only when asked for.

An index kept on disk (``enrichment.prepared``) holds each account as a small pickle of its own,
not as objects: unpickling 100,000 accounts as objects (an ``Account``, an ``Owner`` and an
``IPv4Network`` each, built by their Python constructors) took 3.5 s of a 3.7 s start-up on the
loaded 2-core bench machine, and a run only ever needs the few accounts its visitors match.
"""

from __future__ import annotations

import copyreg
import hashlib
import io
import ipaddress
import itertools
import operator
import pickle
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import fields
from typing import IO, Any

import numpy as np

from revisit.core.account import Account, Owner
from revisit.core.networks import IPNetwork


class AccountTable(Collection[Account]):
    """Accounts by position (the index refers to them so); ``get`` finds one by id. Pickled as
    one pickle per account. An account removed leaves its position empty: the index of a changed
    list is the previous one with its difference applied (``enrichment.prepared``)."""

    def __init__(self, accounts: Iterable[Account] = ()) -> None:
        self._position: dict[str, int] = {}
        self._objects: list[Account | None] = []
        self._pickles: list[bytes] = []  # b"" until pickled, or for an empty position
        # as loaded: the pickles one after another in one bytes object, and where each ends (one
        # object instead of 100,000 to unpickle); ``_pickles`` holds what changed since
        self._joined: bytes | bytearray = b""
        self._ends = array("Q")
        self._changed: set[int] = set()  # positions whose pickle in ``_joined`` is out of date
        # each position's fingerprint (16 bytes), as ``write`` last wrote the table; None once changed
        self._written: bytes | None = None
        for account in accounts:
            self.add(account)

    def add(self, account: Account) -> int:
        """The account's position; an id listed again replaces the account at its position."""
        position = self._position.get(account.account_id)
        self._written = None
        if position is None:
            position = self._position[account.account_id] = len(self._objects)
            self._objects.append(account)
            self._pickles.append(b"")
        else:
            self._objects[position], self._pickles[position] = account, b""
            self._changed.add(position)
        return position

    def remove(self, position: int) -> None:
        del self._position[self.at(position).account_id]
        self._written = None
        self._objects[position], self._pickles[position] = None, b""
        self._changed.add(position)

    def positions(self) -> Iterator[tuple[str, int]]:
        """(account id, position) of each account."""
        return iter(self._position.items())

    def position(self, account_id: str) -> int | None:
        return self._position.get(account_id)

    def at(self, position: int) -> Account:
        account = self._objects[position]
        if account is None:
            kept = self._pickle_at(position)
            if not kept:
                raise KeyError(position)  # removed
            account = self._objects[position] = pickle.loads(kept)
        return account

    def _pickle_at(self, position: int) -> bytes | bytearray:
        if self._pickles[position] or position >= len(self._ends) or position in self._changed:
            return self._pickles[position]
        return self._joined[self._ends[position - 1] if position else 0 : self._ends[position]]

    def made(self, account_id: str) -> Account | None:
        """The account, made from its pickle without keeping the object here (``get`` keeps it):
        for the import of a new list, which needs each account once."""
        position = self._position.get(account_id)
        if position is None:
            return None
        account = self._objects[position]
        return account if account is not None else pickle.loads(self._pickle_at(position))

    def get(self, account_id: str) -> Account | None:
        position = self._position.get(account_id)
        return None if position is None else self.at(position)

    @property
    def empty_positions(self) -> int:
        return len(self._objects) - len(self._position)

    def fingerprints(self) -> Iterator[tuple[str, str]]:
        """(account id, fingerprint) of each account, without making objects of the kept ones.
        Those of a table just written are remembered by ``write``; a pickle made here is not
        kept: holding 100,000 of them until the table is written raised the first run's peak by
        31 MB, while pickling them again costs ~1 s."""
        if self._written is not None:  # as written (the import follows the kept copy's writing)
            for account_id, position in self._position.items():
                yield account_id, self._written[position * 16 : position * 16 + 16].hex()
            return
        pickler = _AccountPickler()
        for account_id, position in self._position.items():
            kept = self._pickle_at(position)
            account = self._objects[position]
            if not kept and account is not None:
                kept = pickler.pickle(account)
            yield account_id, _fingerprint(kept).hex()

    def written_fingerprints(self) -> Mapping[str, str] | None:
        """Account id → fingerprint as ``write`` last wrote the table (None before, or once
        changed), each made when asked: a dict of 100,000 of them was ~10 MB at the peak of the
        first run's import."""
        return None if self._written is None else _WrittenFingerprints(self._position, self._written)

    def __contains__(self, item: object) -> bool:
        return isinstance(item, Account) and self.get(item.account_id) == item

    def __len__(self) -> int:
        return len(self._position)

    def __iter__(self) -> Iterator[Account]:
        return (self.at(position) for position in self._position.values())

    def __getstate__(self) -> tuple[dict[str, int], bytes | bytearray, array[int]]:
        if self._changed or len(self._ends) < len(self._objects):  # else joined already
            self._join()
        return self._position, self._joined, self._ends

    def _join(self) -> None:
        """Every account's pickle written into one bytes object, as a loaded table holds them.
        Keeping each as its own ``bytes`` and joining them at the end held every pickle twice:
        ~70 MB more at the first run's peak, for 100,000 accounts. The objects stay: letting
        them go here lowered no peak (their memory is interleaved with the index's, so Python
        keeps it) and made the import of a new list make them again, 3 s CPU."""
        joined, ends = io.BytesIO(), array("Q")
        pickler = _AccountPickler()
        for position, account in enumerate(self._objects):
            kept = self._pickle_at(position)
            joined.write(kept if kept or account is None else pickler.pickle(account))
            ends.append(joined.tell())
        self._joined, self._ends = joined.getvalue(), ends
        self._pickles = [b""] * len(self._objects)
        self._changed = set()

    def write(self, handle: IO[bytes]) -> None:
        """The table as ``read`` takes it: the positions, then the accounts' pickles in chunks of
        ``CHUNK``, each chunk's bytes and where its pickles end, straight into the file. Joining
        every pickle in memory first (``__getstate__``) held them all beside the accounts' objects
        at the first run's peak: 28 MB (38 MB of RSS) for 100,000 accounts."""
        pickle.dump((self._position, len(self._objects)), handle, protocol=pickle.HIGHEST_PROTOCOL)
        pickler, written = _AccountPickler(), bytearray()
        for first in range(0, len(self._objects), CHUNK):
            pickles = []
            for position in range(first, min(first + CHUNK, len(self._objects))):
                kept, account = self._pickle_at(position), self._objects[position]
                pickles.append(kept if kept or account is None else pickler.pickle(account))
            ends = array("Q", itertools.accumulate(map(len, pickles)))
            pickle.dump((b"".join(pickles), ends), handle, protocol=pickle.HIGHEST_PROTOCOL)
            for kept in pickles:
                written += _fingerprint(kept)
        self._written = bytes(written)  # for the import that follows: not pickled again

    @classmethod
    def read(cls, handle: IO[bytes]) -> AccountTable:
        """The table ``write`` wrote, its pickles in one bytearray (each chunk added in place)."""
        table = cls()
        position, count = pickle.load(handle)
        joined, ends = bytearray(), array("Q")
        while len(ends) < count:
            chunk, chunk_ends = pickle.load(handle)
            ends.frombytes((np.frombuffer(chunk_ends, dtype=np.uint64) + np.uint64(len(joined))).tobytes())
            joined += chunk
        table.__setstate__((position, joined, ends))
        return table

    def __setstate__(self, state: tuple[dict[str, int], bytes | bytearray, array[int]]) -> None:
        self._position, self._joined, self._ends = state
        self._objects = [None] * len(self._ends)
        self._pickles = [b""] * len(self._ends)
        self._changed = set()
        self._written = None


class _WrittenFingerprints(Mapping[str, str]):
    """The fingerprints of a written table, by account id (``AccountTable.written_fingerprints``)."""

    def __init__(self, positions: dict[str, int], written: bytes) -> None:
        self._positions, self._written = positions, written

    def __getitem__(self, account_id: str) -> str:
        position = self._positions[account_id]
        return self._written[position * 16 : position * 16 + 16].hex()

    def __iter__(self) -> Iterator[str]:
        return iter(self._positions)

    def __len__(self) -> int:
        return len(self._positions)


CHUNK = 4096  # accounts a chunk of a written table (``AccountTable.write``): ~1 MB


def account_fingerprint(account: Account) -> str:
    """A digest of everything validated about an account: what tells a changed one."""
    return _fingerprint(account_pickle(account)).hex()


def _fingerprint(kept: bytes | bytearray) -> bytes:
    return hashlib.blake2b(kept, digest_size=16).digest()


def account_pickle(account: Account) -> bytes:
    return _AccountPickler().pickle(account)


class _AccountPickler:
    """One pickler for many accounts, each pickled on its own (its memo cleared): the same bytes
    as a pickler apiece, without making one for each (1.7 → 1.2 s for 100,000 accounts)."""

    def __init__(self) -> None:
        self._buffer = io.BytesIO()
        self._pickler = pickle.Pickler(self._buffer, protocol=pickle.HIGHEST_PROTOCOL)
        self._pickler.dispatch_table = REDUCERS

    def pickle(self, account: Account) -> bytes:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._pickler.clear_memo()
        self._pickler.dump(account)
        return self._buffer.getvalue()


def _account_reduced(account: Account) -> tuple[type[Account], tuple[Any, ...]]:
    return Account, _account_fields(account)


def _owner_reduced(owner: Owner) -> tuple[type[Owner], tuple[str, ...]]:
    # without a locale, the four fields of before: kept lists and fingerprints stay as they were
    if owner.locale:
        return Owner, (owner.name, owner.email, owner.slack, owner.timezone, owner.locale)
    return Owner, (owner.name, owner.email, owner.slack, owner.timezone)


def _network_reduced(network: IPNetwork) -> tuple[type[IPNetwork], tuple[tuple[int, int]]]:
    return type(network), ((int(network.network_address), network.prefixlen),)


_account_fields = operator.attrgetter(*(field.name for field in fields(Account)))

# Accounts and networks written as constructor calls: a slotted frozen dataclass otherwise comes
# back through a Python ``__setstate__`` and a network by parsing its text (both slower).
REDUCERS: dict[type, Callable[[Any], Any]] = {
    **copyreg.dispatch_table,
    Account: _account_reduced,
    Owner: _owner_reduced,
    ipaddress.IPv4Network: _network_reduced,
    ipaddress.IPv6Network: _network_reduced,
}
