"""The audit chain's key: derived from the settings, carried by the engine, never stored.

`make_engine` puts the key in the engine's execution options, so every session and raw
connection made from it can chain entries without the services that append (incidents, alerts,
users, intake ...) being handed settings. The database holds only `key_id`, a one-way
fingerprint that lets a process with another key refuse to write instead of breaking the chain.
"""

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from backend.config import Settings

ENGINE_OPTION = "posko_audit_key"


class AuditKeyError(RuntimeError):
    """No audit key, or not the key the chain was started with."""


@dataclass(frozen=True, slots=True, repr=False)
class AuditKey:
    """Keys for the chain's HMAC and the checkpoints' signatures, and their fingerprint."""

    chain: bytes
    anchor: bytes
    key_id: str

    @classmethod
    def from_secret(cls, secret: str) -> "AuditKey":
        """Derive the keys from one secret (separate keys for separate uses)."""
        master = secret.encode()

        def derive(label: bytes) -> bytes:
            return hmac.new(master, label, hashlib.sha256).digest()

        key_id = derive(b"posko-audit-key-id-v1").hex()[:16]
        return cls(derive(b"posko-audit-chain-v1"), derive(b"posko-audit-anchor-v1"), key_id)

    @classmethod
    def from_settings(cls, settings: Settings) -> "AuditKey":
        """POSKO_AUDIT_KEY, or POSKO_SECRET_KEY when that is unset."""
        if settings.audit_key is not None:
            return cls.from_secret(settings.audit_key.get_secret_value())
        return cls.from_secret(settings.secret_key)

    def __repr__(self) -> str:
        return f"AuditKey(key_id={self.key_id!r})"  # never the key itself, in logs or tracebacks


NO_KEY = "this engine carries no audit key: build it with backend.db.make_engine"


def key_from_options(options: Any) -> AuditKey:
    """The audit key in an engine's or connection's execution options, or raise."""
    key = options.get(ENGINE_OPTION)
    if not isinstance(key, AuditKey):
        raise AuditKeyError(NO_KEY)
    return key


def check_key_id(chain_key_id: str | None, key: AuditKey) -> None:
    """Refuse to go on with a key other than the one the chain was started with."""
    if chain_key_id is not None and chain_key_id != key.key_id:
        raise AuditKeyError(
            f"the audit chain was started with another key (key id {chain_key_id}, this process "
            f"has {key.key_id}): set POSKO_AUDIT_KEY to the secret the chain was started with "
            "(the previous POSKO_SECRET_KEY, if that was changed and POSKO_AUDIT_KEY was unset)"
        )
