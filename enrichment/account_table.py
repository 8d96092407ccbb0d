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
import operator
import pickle
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import fields
from typing import Any

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
        self._joined = b""
        self._ends = array("Q")
        self._changed: set[int] = set()  # positions whose pickle in ``_joined`` is out of date
        for account in accounts:
            self.add(account)

    def add(self, account: Account) -> int:
        """The account's position; an id listed again replaces the account at its position."""
        position = self._position.get(account.account_id)
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

    def _pickle_at(self, position: int) -> bytes:
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
        """(account id, fingerprint) of each account, without making objects of the kept ones."""
        for account_id, position in self._position.items():
            yield account_id, hashlib.blake2b(self._pickle(position), digest_size=16).hexdigest()

    def _pickle(self, position: int) -> bytes:
        """The account's pickle: as kept, else made now (and kept for the next time it is asked)."""
        kept = self._pickle_at(position)
        if not kept and self._objects[position] is not None:
            kept = self._pickles[position] = account_pickle(self.at(position))
        return kept

    def __contains__(self, item: object) -> bool:
        return isinstance(item, Account) and self.get(item.account_id) == item

    def __len__(self) -> int:
        return len(self._position)

    def __iter__(self) -> Iterator[Account]:
        return (self.at(position) for position in self._position.values())

    def __getstate__(self) -> tuple[dict[str, int], bytes, array[int]]:
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

    def __setstate__(self, state: tuple[dict[str, int], bytes, array[int]]) -> None:
        self._position, self._joined, self._ends = state
        self._objects = [None] * len(self._ends)
        self._pickles = [b""] * len(self._ends)
        self._changed = set()


def account_fingerprint(account: Account) -> str:
    """A digest of everything validated about an account: what tells a changed one."""
    return hashlib.blake2b(account_pickle(account), digest_size=16).hexdigest()


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
