"""Visitor IP addresses are personal data (GDPR, APPI): how they are kept, and for how long.

revisit needs a visitor's full address only while it resolves it to an organisation, in memory.
What it stores is chosen by ``privacy.ip_storage``:

- ``full``: the address as seen (the default; analysts can check the evidence address by address);
- ``truncated``: its network, /24 for IPv4 and /48 for IPv6, enough to show which office it was;
- ``hashed``: a keyed hash (HMAC-SHA256 with a secret key), equal for equal addresses so visits
  can still be grouped, but not reversible by trying all 2^32 IPv4 addresses without the key.

``delete_expired`` is the retention job: hits (and cached resolutions) older than
``privacy.retention_days`` go; sessions, alerts, deliveries and outcomes, which name companies and
not people, stay for the reports.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, func, select

from revisit.core.config import PrivacySettings, read_secret
from revisit.core.errors import BadInput
from revisit.core.networks import subnet_of
from revisit.storage.models import HitRow, LedgerRow, LedgerSightingRow, NetworkRegistrationRow, OrganizationRow

HASH_PREFIX = "h:"


class AddressProtector:
    """Turns a visitor address into what may be stored, as configured."""

    def __init__(self, settings: PrivacySettings, key: bytes = b"") -> None:
        self.mode = settings.ip_storage
        if self.mode == "hashed" and len(key) < 16:
            raise BadInput(
                f'privacy.ip_storage = "hashed" needs a key of 16 bytes or more in '
                f"${settings.ip_hash_key_env} or privacy.ip_hash_key_file"
            )
        self._key = key

    @classmethod
    def from_settings(cls, settings: PrivacySettings) -> AddressProtector:
        key = b""
        if settings.ip_storage == "hashed":
            try:
                key = read_secret(settings.ip_hash_key_env, settings.ip_hash_key_file).encode("utf-8")
            except OSError as error:
                raise BadInput(f"privacy.ip_hash_key_file {settings.ip_hash_key_file}: {error.strerror}") from None
        return cls(settings, key)

    def protect(self, address: str) -> str:
        if self.mode == "full" or not address:
            return address
        if self.mode == "hashed":
            return (
                HASH_PREFIX + hmac.new(self._key, address.encode("ascii", "replace"), hashlib.sha256).hexdigest()[:32]
            )
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return ""  # not an address: nothing worth keeping
        return str(ipaddress.ip_network(f"{parsed}/{24 if parsed.version == 4 else 48}", strict=False))


def stored_address_in(stored: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> str:
    """The first of ``networks`` holding a stored address (full or truncated), or "" (hashed: unknown)."""
    try:
        found = ipaddress.ip_network(stored, strict=False)
    except ValueError:
        return ""
    for network in networks:
        if subnet_of(found, network) or subnet_of(network, found):
            return str(network)
    return ""


@dataclass(frozen=True)
class RetentionReport:
    cutoff: datetime
    hits: int
    resolutions: int


def delete_expired(
    engine: Engine, days: int, now: datetime | None = None, dry_run: bool = False, batch: int = 10_000
) -> RetentionReport:
    """Deletes hits, cached resolutions and the ledger's sighting instants older than ``days``, in
    batches (short locks on a busy table), and expired RDAP answers and ledger entries; alerts,
    sessions, deliveries and outcomes stay."""
    if days < 1:
        raise BadInput("retention days must be 1 or more")
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    with engine.connect() as connection:
        old_hits = connection.execute(
            select(func.count()).select_from(HitRow).where(HitRow.occurred_at < cutoff)
        ).scalar_one()
        old_resolutions = connection.execute(
            select(func.count()).select_from(OrganizationRow).where(OrganizationRow.resolved_at < cutoff)
        ).scalar_one()
    if dry_run:
        return RetentionReport(cutoff, old_hits, old_resolutions)
    while True:
        with engine.begin() as connection:
            ids = connection.execute(select(HitRow.id).where(HitRow.occurred_at < cutoff).limit(batch)).scalars().all()
            if not ids:
                break
            connection.execute(delete(HitRow).where(HitRow.id.in_(ids)))
    with engine.begin() as connection:
        connection.execute(delete(OrganizationRow).where(OrganizationRow.resolved_at < cutoff))
        # RDAP answers past their own expiry: not personal data, but no use either
        connection.execute(
            delete(NetworkRegistrationRow).where(NetworkRegistrationRow.expires_at < (now or datetime.now(UTC)))
        )
        # ledger entries past their expiry (``ledger.expiry_days`` after their last sighting),
        # revoked ones too: a learned address may be one person's, kept no longer than it is used
        connection.execute(delete(LedgerRow).where(LedgerRow.expires_at < (now or datetime.now(UTC))))
        entry = select(LedgerRow.network).where(
            LedgerRow.network == LedgerSightingRow.network, LedgerRow.account_id == LedgerSightingRow.account_id
        )
        connection.execute(delete(LedgerSightingRow).where(~entry.exists()))  # the instants of those gone
        # and when a kept entry's network (one address, by default) was used, as old as the hits gone
        connection.execute(delete(LedgerSightingRow).where(LedgerSightingRow.seen_at < cutoff))
    return RetentionReport(cutoff, old_hits, old_resolutions)
