"""Who is asking: users from the config (argon2 password hashes) with a signed session cookie, or a
bearer token for the API; roles decide what they may do; CSRF tokens protect every form.

Passwords and tokens are never stored: users carry an argon2 hash (``revisit web hash-password``),
API tokens their SHA-256 (``revisit web new-token``; a random 256-bit token needs no slow hash).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from revisit.core.config import WebSettings

ANALYST, ADMIN = "analyst", "admin"


@dataclass(frozen=True)
class Principal:
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


class Authenticator:
    def __init__(self, web: WebSettings) -> None:
        self._hasher = PasswordHasher()
        self._users = {user.name: user for user in web.users}
        self._tokens = {token.token_sha256.lower(): token for token in web.api_tokens}
        # Checked when the user is unknown, so that a wrong name costs as long as a wrong password.
        self._decoy = self._hasher.hash(secrets.token_urlsafe(16))

    def check_password(self, name: str, password: str) -> Principal | None:
        user = self._users.get(name)
        try:
            self._hasher.verify(user.password_hash if user else self._decoy, password)
        except (VerificationError, InvalidHashError):
            return None
        return Principal(user.name, user.role) if user else None

    def check_token(self, token: str) -> Principal | None:
        found = self._tokens.get(token_digest(token))
        return Principal(found.name, found.role) if found else None


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
