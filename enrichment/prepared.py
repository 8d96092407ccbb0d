"""The account list prepared once per content: validated accounts and their index, kept on disk
keyed by the file's SHA-256 and reused while the file is unchanged.

Validating 100,000 rows and building their index took 6-10 s at every start; loading the kept
result takes well under a second. A changed list is validated again (every row can be wrong), but
only its new or changed names are normalised: the others come from the previous list's names.

The kept files are pickles, so they are read only from a directory that this user owns and
nobody else can write to (a pickle can run code when loaded); anything else means no cache.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path

from revisit.core.config import MatchingSettings
from revisit.enrichment.accounts import Account, decode_accounts, parse_accounts, read_accounts
from revisit.enrichment.match import AccountIndex
from revisit.enrichment.normalize import NormalizedName, normalize_uncached

FORMAT = 1  # raised whenever what is pickled, or how names are normalised, changes
KEPT_LISTS = 2  # the current list and the one before it (its names help the next change)


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
        digest, encoding, matching, lambda: parse_accounts(decode_accounts(path, raw, encoding), str(path))
    )


def prepare_stored_accounts(
    digest: str, load: Callable[[], tuple[Account, ...]], matching: MatchingSettings
) -> PreparedAccounts:
    """The list in the database (the worker without ``--accounts``), kept by the digest of the
    import that stored it; ``load`` reads it when it is not kept."""
    if not digest:
        accounts = load()
        return PreparedAccounts(digest, accounts, AccountIndex(accounts, matching), reused=False)
    return _prepared(digest, "database", matching, load)


def _prepared(
    digest: str, encoding: str, matching: MatchingSettings, validate: Callable[[], tuple[Account, ...]]
) -> PreparedAccounts:
    folder = _private_folder(Path(matching.prepared_dir) if matching.prepared_dir else default_cache_dir())
    key = _cache_key(digest, encoding, matching)
    if folder is not None:
        kept = _load(folder / f"{key}.accounts")
        if isinstance(kept, tuple) and len(kept) == 2:
            accounts, index = kept
            return PreparedAccounts(digest, accounts, index, reused=True)
    accounts = validate()
    names = _NameMemo(_load(_newest(folder, ".names")) if folder is not None else None)
    index = AccountIndex(accounts, matching, names.normalize)
    if folder is not None:
        _keep(folder, key, (accounts, index), names.used)
    return PreparedAccounts(digest, accounts, index, reused=False)


class _NameMemo:
    def __init__(self, previous: object) -> None:
        self.previous: dict[str, NormalizedName] = previous if isinstance(previous, dict) else {}
        self.used: dict[str, NormalizedName] = {}

    def normalize(self, text: str) -> NormalizedName:
        normalized = self.previous.get(text)
        if normalized is None:
            normalized = normalize_uncached(text)
        self.used[text] = normalized
        return normalized


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


def _load(path: Path | None) -> object:
    if path is None:
        return None
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        return None  # missing, half-written or from another version: prepared anew


def _newest(folder: Path, suffix: str) -> Path | None:
    found = sorted(folder.glob(f"*{suffix}"), key=lambda p: p.stat().st_mtime, reverse=True)
    return found[0] if found else None


def _keep(folder: Path, key: str, prepared: object, names: dict[str, NormalizedName]) -> None:
    """Written to a temporary file and renamed, so a reader never sees half a file; the oldest
    lists beyond ``KEPT_LISTS`` are removed."""
    try:
        for suffix, value in ((".names", names), (".accounts", prepared)):
            target = folder / f"{key}{suffix}"
            partial = target.with_suffix(suffix + ".partial")
            with partial.open("wb") as handle:
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
            partial.replace(target)
        for suffix in (".accounts", ".names"):
            kept = sorted(folder.glob(f"*{suffix}"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in kept[KEPT_LISTS:]:
                old.unlink(missing_ok=True)
    except OSError:
        return  # a full or read-only disk costs the next start its speed, nothing else
