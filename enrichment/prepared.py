"""The account list prepared once per content: validated accounts and their index, kept on disk
keyed by the file's SHA-256 and reused while the file is unchanged.

Validating 100,000 rows and building their index took 6-10 s at every start; loading the kept
result takes well under a second. A changed list is validated again (every row can be wrong), but
only its new or changed names are normalised: the others come from the previous list's names.

The kept files are pickles, so they are read only from a directory that this user owns and
nobody else can write to (a pickle can run code when loaded); anything else means no cache.
"""

from __future__ import annotations

import gc
import hashlib
import ipaddress
import operator
import os
import pickle
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from revisit.core.config import MatchingSettings
from revisit.enrichment.accounts import (
    Account,
    Owner,
    RowMemo,
    decode_accounts,
    parse_accounts,
    read_accounts,
)
from revisit.enrichment.match import AccountIndex
from revisit.enrichment.normalize import NormalizedName, normalize_uncached
from revisit.stream.fields import IPNetwork

FORMAT = 1  # raised whenever what is pickled, or how names are normalised, changes
KEPT_LISTS = 2  # the current list and the one before it (its names help the next change)
SUFFIX = ".prepared"


@dataclass(frozen=True)
class PreparedAccounts:
    digest: str  # SHA-256 of the file's bytes: what the database remembers of the last import
    accounts: tuple[Account, ...]
    index: AccountIndex
    reused: bool  # loaded as kept, not validated again


def default_cache_dir() -> Path:
    """``[matching] prepared_dir`` when empty: the system's temporary folder, one per user."""
    return Path(tempfile.gettempdir()) / f"revisit-accounts-{os.getuid()}"


def prepare_accounts(path: str | Path, encoding: str, matching: MatchingSettings) -> PreparedAccounts:
    """The list of a CSV file: kept by the file's digest (and the encoding it is read in)."""
    raw = read_accounts(path)
    digest = hashlib.sha256(raw).hexdigest()
    return _prepared(
        digest, encoding, matching, lambda memo: parse_accounts(decode_accounts(path, raw, encoding), str(path), memo)
    )


def prepare_stored_accounts(
    digest: str, load: Callable[[], tuple[Account, ...]], matching: MatchingSettings
) -> PreparedAccounts:
    """The list in the database (the worker without ``--accounts``), kept by the digest of the
    import that stored it; ``load`` reads it when it is not kept."""
    if not digest:
        accounts = load()
        return PreparedAccounts(digest, accounts, AccountIndex(accounts, matching), reused=False)
    return _prepared(digest, "database", matching, lambda _memo: load())


def _prepared(
    digest: str, encoding: str, matching: MatchingSettings, validate: Callable[[RowMemo], tuple[Account, ...]]
) -> PreparedAccounts:
    folder = _private_folder(Path(matching.prepared_dir) if matching.prepared_dir else default_cache_dir())
    key = _cache_key(digest, encoding, matching)
    if folder is not None:
        kept = _load(folder / f"{key}{SUFFIX}", parts=1)
        if kept:
            accounts, index = kept[0]
            return PreparedAccounts(digest, accounts, index, reused=True)
    previous = _load(_newest(folder), parts=2) if folder is not None else []
    rows, names = previous[1] if len(previous) == 2 else (RowMemo(), {})
    rows.seen = {}
    accounts = validate(rows)
    memo = _NameMemo(names)
    with _no_collection():
        index = AccountIndex(accounts, matching, memo.normalize)
    if folder is not None:
        _keep(folder, key, (accounts, index), (RowMemo(rows.header, rows.seen), memo.used))
    return PreparedAccounts(digest, accounts, index, reused=False)


class _NameMemo:
    def __init__(self, previous: dict[str, NormalizedName]) -> None:
        self.previous = previous
        self.used: dict[str, NormalizedName] = {}

    def normalize(self, text: str) -> NormalizedName:
        normalized = self.previous.get(text)
        if normalized is None:
            normalized = normalize_uncached(text)
        self.used[text] = normalized
        return normalized


def _account_reduced(account: Account) -> tuple[type[Account], tuple[Any, ...]]:
    return Account, _account_fields(account)


def _owner_reduced(owner: Owner) -> tuple[type[Owner], tuple[str, str, str, str]]:
    return Owner, (owner.name, owner.email, owner.slack, owner.timezone)


def _network_reduced(network: IPNetwork) -> tuple[type[IPNetwork], tuple[tuple[int, int]]]:
    return type(network), ((int(network.network_address), network.prefixlen),)


# Accounts and networks written as constructor calls: a frozen dataclass otherwise comes back
# through ``__setstate__`` (a field list per object) and a network by parsing its text, which
# made loading 100,000 accounts take 5 s instead of under one. A dispatch table, not a
# ``reducer_override``: that would be a Python call for each of millions of objects.
_REDUCERS: dict[type, Callable[[Any], Any]] = {
    Account: _account_reduced,
    Owner: _owner_reduced,
    ipaddress.IPv4Network: _network_reduced,
    ipaddress.IPv6Network: _network_reduced,
}


_account_fields = operator.attrgetter(*(field.name for field in fields(Account)))


def _cache_key(digest: str, encoding: str, matching: MatchingSettings) -> str:
    try:
        version = metadata.version("revisit")
    except metadata.PackageNotFoundError:
        version = "source"
    rules = replace(matching, prepared_dir="")  # where the files are is no part of what they hold
    text = f"{FORMAT}\0{version}\0{digest}\0{encoding}\0{rules!r}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _private_folder(folder: Path) -> Path | None:
    """The folder, made if missing; None unless it is ours and closed to everybody else."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError:
        return None
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None
    return folder


@contextmanager
def _no_collection() -> Iterator[None]:
    """The garbage collector paused while a million long-lived objects are made: its passes over
    them (which free nothing) took two thirds of the time of loading 100,000 accounts."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load(path: Path | None, parts: int) -> list[Any]:
    """The first ``parts`` pickles of a kept file: the list and its index, then the memos of rows
    and names that only a changed list needs (they share the accounts, so both are read together)."""
    if path is None:
        return []
    try:
        with path.open("rb") as handle, _no_collection():
            unpickler = pickle.Unpickler(handle)
            return [unpickler.load() for _ in range(parts)]
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        return []  # missing, half-written or from another version: prepared anew


def _newest(folder: Path) -> Path | None:
    found = sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
    return found[0] if found else None


def _keep(folder: Path, key: str, prepared: object, memos: object) -> None:
    """Written to a temporary file and renamed, so a reader never sees half a file; the oldest
    lists beyond ``KEPT_LISTS`` are removed."""
    target = folder / f"{key}{SUFFIX}"
    partial = target.with_suffix(".partial")
    try:
        with partial.open("wb") as handle:
            pickler = pickle.Pickler(handle, protocol=pickle.HIGHEST_PROTOCOL)
            pickler.dispatch_table = _REDUCERS
            pickler.dump(prepared)
            pickler.dump(memos)  # the same pickler: accounts and names are written once
        partial.replace(target)
        kept = sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[KEPT_LISTS:]:
            old.unlink(missing_ok=True)
    except OSError:
        return  # a full or read-only disk costs the next start its speed, nothing else
