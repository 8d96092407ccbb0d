"""Who is asking: users from the config (argon2 password hashes) with a session kept in the database,
or a bearer token for the API; roles decide what they may do; CSRF tokens protect every form.

Passwords and tokens are never stored: users carry an argon2 hash (``revisit web hash-password``),
API tokens their SHA-256 (``revisit web new-token``; a random 256-bit token needs no slow hash).
Users, tokens and roles are looked up in the settings on every request, so a change to the config
acts on the next request.

Logins are throttled (``LoginThrottle``: failures per user name and per address lock them out for a
doubling time) and password checks are bounded (``PasswordChecks``: argon2 takes 64 MiB a check, so
64 parallel logins must not mean 4 GiB).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.concurrency import run_in_threadpool

from revisit.core.config import ApiToken, WebUser

ANALYST, SALES, ADMIN = "analyst", "sales", "admin"
LONGEST_PASSWORD = 1024  # longer is refused unchecked: hashing megabytes is a way to burn CPU


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    email: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    def may_act_on(self, owner_email: str) -> bool:
        """Snooze, undo a snooze, record an outcome: an admin for any account, a sales user for the
        accounts it owns (the list's owner_email is its configured email), an analyst never."""
        if self.role == ADMIN:
            return True
        mine = self.email.strip().casefold()
        return self.role == SALES and bool(mine) and mine == owner_email.strip().casefold()


class Authenticator:
    """Checks passwords against the users it is given (the current config's)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        # Checked when the user is unknown, so that a wrong name costs as long as a wrong password.
        self._decoy = self.hasher.hash(secrets.token_urlsafe(16))

    def check_password(self, users: Sequence[WebUser], name: str, password: str) -> Principal | None:
        if len(password) > LONGEST_PASSWORD:
            return None
        user = next((u for u in users if u.name == name), None)
        try:
            self.hasher.verify(user.password_hash if user else self._decoy, password)
        except (VerificationError, InvalidHashError):
            return None
        return Principal(user.name, user.role, user.email) if user else None


def user_named(users: Sequence[WebUser], name: str) -> Principal | None:
    """The user as configured now (their role may have changed since they logged in), or None."""
    user = next((u for u in users if u.name == name), None)
    return Principal(user.name, user.role, user.email) if user else None


def check_token(tokens: Sequence[ApiToken], token: str) -> Principal | None:
    digest = token_digest(token)
    found = next((t for t in tokens if secrets.compare_digest(t.token_sha256.lower().encode(), digest.encode())), None)
    return Principal(found.name, found.role, found.email) if found else None


# --- throttling ----------------------------------------------------------------------------------
@dataclass(slots=True)
class _Failures:
    count: int
    last: float
    locked_until: float


class LoginThrottle:
    """Failed logins per user name and per address; after ``failures_before_lockout`` of them the
    name or address is locked out for ``lockout_seconds``, doubling with every further failure up to
    ``max_seconds``. A quiet ``max_seconds`` forgets the failures. At most ``capacity`` names and as
    many addresses are remembered (the oldest go first), so invented names cannot fill the memory.
    IPv6 addresses count by /64: one host usually holds a whole /64."""

    def __init__(
        self,
        failures_before_lockout: int,
        lockout_seconds: float,
        max_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        capacity: int = 10_000,
    ) -> None:
        self.failures_before_lockout = failures_before_lockout
        self.lockout_seconds = lockout_seconds
        self.max_seconds = max_seconds
        self.clock = clock
        self.capacity = capacity
        self._failures: OrderedDict[tuple[str, str], _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def wait_for(self, name: str, address: str) -> float:
        """Seconds until this name and this address may try again (0: now)."""
        now = self.clock()
        with self._lock:
            waits = [self._current(key, now) for key in self._keys(name, address)]
        return max((entry.locked_until - now for entry in waits if entry is not None), default=0.0)

    def failed(self, name: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key in self._keys(name, address):
                entry = self._current(key, now) or _Failures(0, now, now)
                entry.count += 1
                entry.last = now
                beyond = entry.count - self.failures_before_lockout
                if beyond >= 0:
                    entry.locked_until = now + min(self.max_seconds, self.lockout_seconds * 2 ** min(beyond, 40))
                self._failures[key] = entry
                self._failures.move_to_end(key)
            while len(self._failures) > 2 * self.capacity:
                self._failures.popitem(last=False)

    def succeeded(self, name: str) -> None:
        """The name's failures are forgiven; the address's are not (one account of one's own must not
        reset the count of an address guessing other people's passwords)."""
        with self._lock:
            self._failures.pop(("user", _name_key(name)), None)

    def _current(self, key: tuple[str, str], now: float) -> _Failures | None:
        entry = self._failures.get(key)
        if entry is not None and now >= entry.locked_until and now - entry.last > self.max_seconds:
            del self._failures[key]
            return None
        return entry

    @staticmethod
    def _keys(name: str, address: str) -> tuple[tuple[str, str], tuple[str, str]]:
        return ("user", _name_key(name)), ("address", _address_key(address))


def _name_key(name: str) -> str:
    return name.strip().casefold()[:200]


def _address_key(address: str) -> str:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:100]
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def retry_after(seconds: float) -> str:
    """A Retry-After value: whole seconds, never 0 for a wait that is not over."""
    return str(max(1, math.ceil(seconds)))


class Busy(Exception):
    """No turn for a password check within the wait: the caller answers 503."""


class PasswordChecks:
    """At most ``at_once`` password checks run at a time (each in a worker thread); a login waits
    ``wait_seconds`` for a turn while holding no thread, then gives up with ``Busy``."""

    def __init__(self, at_once: int, wait_seconds: float) -> None:
        self.at_once = at_once
        self.wait_seconds = wait_seconds
        self._turns = asyncio.Semaphore(at_once)

    async def run(self, check: Callable[[], Principal | None]) -> Principal | None:
        try:
            await asyncio.wait_for(self._turns.acquire(), self.wait_seconds)
        except TimeoutError:
            raise Busy() from None
        try:
            return await run_in_threadpool(check)
        finally:
            self._turns.release()


def hash_password(password: str) -> str:
    return PasswordHasher().hash(password)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> tuple[str, str]:
    """(token to give the API client, its SHA-256 for the config)."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and secrets.compare_digest(str(expected), str(given))
