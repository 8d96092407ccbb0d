"""The account list prepared once per content: validated accounts and their index, kept on disk
keyed by the file's SHA-256 and reused while the file is unchanged.

Validating 100,000 rows and building their index took 6-10 s at every start (and 25-50 s on the
loaded bench machine); the kept index is ints and strings plus one small pickle per account (see
``enrichment.account_table``), loaded without making an object of any account. A changed list is
the newest kept one with its difference applied: rows with the same cells under the same header
are neither validated nor indexed again, accounts gone or changed are taken out of the index, and
only new or changed rows are validated and added.

The kept files are pickles, so they are read only from a directory that this user owns and
nobody else can write to (a pickle can run code when loaded); anything else means no cache.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import pickle
import stat
import tempfile
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

from revisit.core.account import Account
from revisit.core.collection import no_collection
from revisit.core.config import MatchingSettings
from revisit.core.version import __version__
from revisit.enrichment.account_table import REDUCERS, AccountTable
from revisit.enrichment.accounts import Cells, RowKey, decode_accounts, parse_rows, read_accounts
from revisit.enrichment.match import AccountIndex

# in place of the index's account table, which follows its other parts (``AccountTable.write``)
_WRITTEN_APART = "the account table follows"
FORMAT = 8  # raised whenever what is pickled, or how names are normalised, changes
DICT_CHUNK = 10_000  # entries of a large dict of the index written as one pickle (``_keep``)
KEPT_LISTS = 2  # the current list and the one before it (its names help the next change)
SUFFIX = ".prepared"
IMPORT_ENCODINGS = ("utf-8-sig", "utf-8", "cp932")  # the encodings lists are usually read in (--encoding)


@dataclass(frozen=True)
class PreparedAccounts:
    digest: str  # SHA-256 of the file's bytes: what the database remembers of the last import
    accounts: Collection[Account]  # the index's own table: accounts become objects when read
    index: AccountIndex
    reused: bool  # loaded as kept, not validated again
    # the matching key of each name indexed by this start (none when kept): for the import
    keys: Mapping[str, str] = field(default_factory=dict)
    # a new list not kept yet (``prepare_accounts(..., keep=False)``): ``keep`` writes it
    _unkept: list[Callable[[], None]] = field(default_factory=list, repr=False, compare=False)

    def keep(self) -> None:
        """Write the kept copy of a list prepared with ``keep=False`` (once; nothing otherwise)."""
        while self._unkept:
            self._unkept.pop()()


def default_cache_dir() -> Path:
    """``[matching] prepared_dir`` when empty: the system's temporary folder, one per user."""
    return Path(tempfile.gettempdir()) / f"revisit-accounts-{os.getuid()}"


def prepare_accounts(
    path: str | Path, encoding: str, matching: MatchingSettings, keep: bool = True
) -> PreparedAccounts:
    """The list of a CSV file: kept by the file's digest (and the encoding it is read in). A
    changed file is the newest kept list with the difference applied: its new and changed rows
    validated and indexed, its unchanged rows taken as they were, accounts gone removed.

    ``keep=False``: a new list is kept when the caller calls ``PreparedAccounts.keep``. Replay
    does so once its worker processes run: pickling 100,000 accounts and their index takes ~2 s
    that no longer delay the first line."""
    raw = read_accounts(path)
    digest = hashlib.sha256(raw).hexdigest()
    folder = _folder(matching)
    key = _cache_key(digest, encoding, matching)
    found = _reused(folder, key, digest)
    if found is not None:
        return found
    keys: dict[str, str] = {}
    text = decode_accounts(path, raw, encoding)
    del raw  # the bytes are not needed once decoded, nor the text once parsed (below): ~40 MB at 100,000 rows
    rules = _rules(matching)
    previous = _load(_newest(folder), parts=2)
    if (
        len(previous) == 2
        and isinstance(previous[0], AccountIndex)
        and isinstance(previous[1], _Rows)
        and previous[1].rules == rules
    ):
        index, before = previous[0], previous[1]
        with no_collection():
            header, parsed = parse_rows(text, str(path), before.header, before.positions)
        del text
        kept = sum(isinstance(row, int) for _cells, row in parsed)
        if header == before.header and len(index.accounts) - kept <= len(parsed) // 4:
            _apply_difference(index, parsed, keys)
        else:  # other columns, or most of the list gone (taking 99,990 accounts out took 13 s)
            index = _new_index(index, parsed, matching, keys)
    else:
        with no_collection():
            header, parsed = parse_rows(text, str(path), (), {})
        del text
        index = _new_index(None, parsed, matching, keys)
    if index.accounts.empty_positions > len(index.accounts) // 4:
        index = _new_index(index, parsed, matching, keys)  # many accounts gone: not worth carrying their places
    positions = {cells: row if isinstance(row, int) else _position(index, row) for cells, row in parsed}
    del parsed  # the row keys: not needed once their positions are known
    prepared = PreparedAccounts(digest, index.accounts, index, reused=False, keys=keys)
    if folder is not None:
        kept_folder, rows = folder, _Rows(rules, header, positions)
        prepared._unkept.append(lambda: _keep(kept_folder, key, index, rows))
        if keep:
            prepared.keep()
    return prepared


def prepare_stored_accounts(
    digest: str, load: Callable[[], tuple[Account, ...]], matching: MatchingSettings
) -> PreparedAccounts:
    """The list in the database (the worker without ``--accounts``), kept by the digest of the
    import that stored it; ``load`` reads it when it is not kept."""
    folder = _folder(matching) if digest else None
    key = _cache_key(digest, "database", matching)
    # the index kept when the file was imported holds the same list (those that left it are out
    # of both): a worker started after `revisit accounts import` on this machine loads that one
    for encoding in ("database", *IMPORT_ENCODINGS):
        found = _reused(folder, _cache_key(digest, encoding, matching), digest)
        if found is not None:
            return found
    index = AccountIndex(load(), matching)
    if folder is not None:
        _keep(folder, key, index, _Rows(_rules(matching), (), {}))
    return PreparedAccounts(digest, index.accounts, index, reused=False)


@dataclass(frozen=True)
class _Rows:
    """Kept after the index: the rows it was made from, by their cells, so the next change of
    the list is validated and indexed in its changed rows only."""

    rules: str  # what the index depends on besides the rows (format, version, matching settings)
    header: Cells
    positions: dict[RowKey, int]  # row (``accounts.row_key``) → its account's position in the index's table


def _folder(matching: MatchingSettings) -> Path | None:
    return _private_folder(Path(matching.prepared_dir) if matching.prepared_dir else default_cache_dir())


def _reused(folder: Path | None, key: str, digest: str) -> PreparedAccounts | None:
    if folder is None:
        return None
    kept = _load(folder / f"{key}{SUFFIX}", parts=1)
    if not kept or not isinstance(kept[0], AccountIndex):
        return None
    return PreparedAccounts(digest, kept[0].accounts, kept[0], reused=True)


def _apply_difference(index: AccountIndex, parsed: list[tuple[RowKey, Account | int]], keys: dict[str, str]) -> None:
    still = {row for _cells, row in parsed if isinstance(row, int)}
    # gone from the list, or changed (added again below)
    index.remove([account_id for account_id, position in index.accounts.positions() if position not in still])
    with no_collection():
        for _cells, row in parsed:
            if isinstance(row, Account):
                index.add(row, keys)


def _new_index(
    previous: AccountIndex | None,
    parsed: list[tuple[RowKey, Account | int]],
    matching: MatchingSettings,
    keys: dict[str, str],
) -> AccountIndex:
    def account(row: Account | int) -> Account:
        if isinstance(row, Account):
            return row
        assert previous is not None  # a row is known only with a previous index
        return previous.accounts.at(row)

    with no_collection():
        return AccountIndex([account(row) for _cells, row in parsed], matching, keys=keys)


def _position(index: AccountIndex, account: Account) -> int:
    position = index.accounts.position(account.account_id)
    assert position is not None  # every parsed account is in the index
    return position


def _rules(matching: MatchingSettings) -> str:
    rules = replace(matching, prepared_dir="")  # where the files are is no part of what they hold
    return f"{FORMAT}\0{__version__}\0{rules!r}"


def _cache_key(digest: str, encoding: str, matching: MatchingSettings) -> str:
    text = f"{_rules(matching)}\0{digest}\0{encoding}"
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


def _load(path: Path | None, parts: int) -> list[Any]:
    """The first ``parts`` things of a kept file: the index, then the memo of rows that only a
    changed list needs. The index is read part by part, as ``_keep`` wrote it."""
    if path is None:
        return []
    try:
        with path.open("rb") as handle, no_collection():
            names = _part(handle)
            if not isinstance(names, tuple) or not all(isinstance(name, str) for name in names):
                return []  # another format
            index = AccountIndex.__new__(AccountIndex)
            for name in names:
                part = _part(handle)
                if isinstance(part, _Chunks):
                    part = _dict_of_chunks(handle, part.count)
                index.__dict__[name] = part
            if index.__dict__.get("accounts") == _WRITTEN_APART:
                index.accounts = AccountTable.read(handle)
            return [index] + [_part(handle) for _ in range(parts - 1)]
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        return []  # missing, half-written or from another version: prepared anew


@dataclass(frozen=True)
class _Chunks:
    """In place of a large dict of the index, whose entries follow in ``count`` pickles."""

    count: int


def _dict_of_chunks(handle: BinaryIO, count: int) -> dict[Any, Any]:
    whole: dict[Any, Any] = {}
    for _chunk in range(count):
        whole.update(_part(handle))
    return whole


def _part(handle: BinaryIO) -> Any:
    """The next part, by an unpickler of its own: ``_keep`` wrote each with the memo cleared."""
    return pickle.Unpickler(handle).load()


def _newest(folder: Path | None) -> Path | None:
    if folder is None:
        return None
    found = [(mtime, path) for path in folder.glob(f"*{SUFFIX}") if (mtime := _mtime(path)) is not None]
    return max(found)[1] if found else None


def _mtime(path: Path) -> float | None:
    """None for a file gone meanwhile: another process on the same folder may just have removed it."""
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _keep(folder: Path, key: str, index: AccountIndex, rows: _Rows) -> None:
    """Written to a temporary file and renamed, so a reader never sees half a file; the oldest
    lists beyond ``KEPT_LISTS`` are removed.

    The index goes as its attributes' names, then each attribute as a pickle of its own, the
    pickler's memo cleared between them, a large dict in chunks of ``DICT_CHUNK`` entries, the
    account table in chunks of its own (``AccountTable.write``): one pickle of the whole index
    had the pickler remember every object of it at once, ~40 MB (tracemalloc) at the first
    run's peak for 100,000 accounts. Nothing is shared between the parts but a few strings
    written twice (64.8 MB on disk against 62.5)."""
    target = folder / f"{key}{SUFFIX}"
    partial: Path | None = None
    try:
        # a name of its own: two workers starting on one machine may keep the same list at once
        with tempfile.NamedTemporaryFile(dir=folder, prefix=key, suffix=".partial", delete=False) as handle:
            partial = Path(handle.name)
            pickler = pickle.Pickler(handle, protocol=pickle.HIGHEST_PROTOCOL)
            pickler.dispatch_table = REDUCERS
            state = index.__getstate__()
            pickler.dump(tuple(state))
            for name, part in state.items():
                pickler.clear_memo()
                if isinstance(part, dict) and len(part) > DICT_CHUNK:
                    chunks = range(0, len(part), DICT_CHUNK)
                    pickler.dump(_Chunks(len(chunks)))
                    items = iter(part.items())
                    for _chunk in chunks:
                        pickler.clear_memo()
                        pickler.dump(dict(itertools.islice(items, DICT_CHUNK)))
                else:
                    pickler.dump(_WRITTEN_APART if name == "accounts" else part)
            index.accounts.write(handle)
            pickler.clear_memo()
            pickler.dump(rows)
        partial.replace(target)
        kept = sorted(
            ((mtime, path) for path in folder.glob(f"*{SUFFIX}") if (mtime := _mtime(path)) is not None),
            reverse=True,
        )
        for _mtime_of_old, old in kept[KEPT_LISTS:]:
            old.unlink(missing_ok=True)
    except OSError:  # a full or read-only disk costs the next start its speed, nothing else
        if partial is not None:
            partial.unlink(missing_ok=True)
