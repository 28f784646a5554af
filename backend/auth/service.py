"""Issue, revoke and resolve credentials; verify HMAC-signed webhooks."""

import asyncio
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend.auth.models import Credential
from backend.officers.models import Officer
from schemas.enums import ROLE_RANK, CredentialKind, Role

_PREFIX = {
    CredentialKind.DEVICE: "pkd_",
    CredentialKind.PERSON: "pkp_",
    CredentialKind.KIOSK: "pkk_",
    CredentialKind.SESSION: "pks_",
}


def hash_token(token: str) -> str:
    """SHA-256 of a token.

    Tokens carry 256 random bits, so a fast hash is enough: there is nothing to brute-force,
    and intake must resolve credentials without spending milliseconds on a password hash.
    """
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, resolved from a credential."""

    credential_id: int
    kind: CredentialKind
    name: str
    role: Role | None
    officer_id: int | None
    officer_nrp: str | None
    area_code: str | None  # None = national
    token_hash: str

    def has_role(self, role: Role) -> bool:
        """Whether this principal holds `role` or a higher one."""
        return self.role is not None and ROLE_RANK[self.role] >= ROLE_RANK[role]

    @property
    def can_read(self) -> bool:
        """People, systems and kiosks read; devices only send."""
        return self.kind is CredentialKind.KIOSK or self.role is not None


class AuthError(Exception):
    """A refused credential, with a reason that is safe to show and to record.

    `field` is what the refusal names: the Authorization header, or one of the signature headers.
    """

    def __init__(
        self, reason: str, prefix: str | None = None, *, field: str = "authorization"
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.prefix = prefix
        self.field = field


def new_credential(
    *,
    kind: CredentialKind,
    name: str,
    now: datetime,
    role: Role | None = None,
    officer_id: int | None = None,
    user_id: int | None = None,
    area_code: str | None = None,
    expires_at: datetime | None = None,
) -> tuple[Credential, str]:
    """Build a credential and its secret (not added to any session; the secret is never stored)."""
    if kind is CredentialKind.DEVICE and officer_id is None:
        raise ValueError("a device token belongs to an officer")
    if kind in (CredentialKind.PERSON, CredentialKind.SESSION) and role is None:
        raise ValueError("a person's token needs a role")
    token = _PREFIX[kind] + secrets.token_urlsafe(32)
    cred = Credential(
        kind=kind,
        token_hash=hash_token(token),
        prefix=token[:12],
        name=name,
        role=role,
        officer_id=officer_id,
        user_id=user_id,
        area_code=area_code,
        created_at=now,
        expires_at=expires_at,
    )
    return cred, token


def issue(
    *,
    session: Session,
    kind: CredentialKind,
    name: str,
    now: datetime,
    role: Role | None = None,
    officer_id: int | None = None,
    area_code: str | None = None,
    expires_at: datetime | None = None,
) -> tuple[Credential, str]:
    """Create a credential and return it with its secret, which is never stored."""
    cred, token = new_credential(
        kind=kind,
        name=name,
        now=now,
        role=role,
        officer_id=officer_id,
        area_code=area_code,
        expires_at=expires_at,
    )
    session.add(cred)
    session.commit()
    session.refresh(cred)
    return cred, token


def revoke(*, session: Session, credential_id: int, now: datetime) -> Credential:
    """Revoke a credential (callers announce it: backend.auth.revocation)."""
    cred = session.get(Credential, credential_id)
    if cred is None:
        raise LookupError(f"no credential {credential_id}")
    if cred.revoked_at is None:
        cred.revoked_at = now
        session.add(cred)
        session.commit()
        session.refresh(cred)
    return cred


def list_credentials(*, session: Session, include_revoked: bool = False) -> list[Credential]:
    """All credentials, newest first."""
    q = select(Credential).order_by(col(Credential.id).desc())
    if not include_revoked:
        q = q.where(col(Credential.revoked_at).is_(None))
    return list(session.exec(q))


def hmac_secret(secret_key: str, cred_id: int, token_hash: str) -> str:
    """The HMAC key of a device credential, derived so that the database alone cannot forge."""
    msg = f"posko-hmac:{cred_id}:{token_hash}".encode()
    return hmac.new(secret_key.encode(), msg, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Signature header value for a webhook body: sha256=HMAC(secret, timestamp + "." + body)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


KEY_ID_HEADER = "x-posko-key-id"
TIMESTAMP_HEADER = "x-posko-timestamp"
SIGNATURE_HEADER = "x-posko-signature"
# ASCII digits only, and few of them: str.isdigit() also passes "²" and "٣٤", which int()
# refuses or reads as 34, and int() of thousands of digits raises. A key id is a credential's row
# id, a 32-bit INTEGER on PostgreSQL (a larger one made its lookup a 500); a timestamp is Unix
# seconds (12 digits reach the year 33658).
_KEY_ID = re.compile(r"[0-9]{1,10}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"sha256=[0-9a-f]{64}")  # also: compare_digest refuses non-ASCII text
MAX_KEY_ID = 2**31 - 1


@dataclass(frozen=True, slots=True)
class SignedHeaders:
    """The three headers of an HMAC-signed webhook, checked and parsed."""

    key_id: int
    stamp: str  # the timestamp as sent: the signature covers these characters
    signature: str

    @property
    def timestamp(self) -> int:
        """Unix seconds."""
        return int(self.stamp)


def parse_signed_headers(
    key_id: str | None, timestamp: str | None, signature: str | None
) -> SignedHeaders:
    """Parse the signature headers or raise AuthError naming the header and what is wrong."""

    def refuse(header: str, reason: str) -> AuthError:
        return AuthError(f"{header}: {reason}", field=header)

    if not key_id or _KEY_ID.fullmatch(key_id) is None or not 1 <= int(key_id) <= MAX_KEY_ID:
        raise refuse(KEY_ID_HEADER, "not a credential id (1 to 2^63-1, ASCII digits)")
    if not timestamp:
        raise refuse(TIMESTAMP_HEADER, "missing")
    if _TIMESTAMP.fullmatch(timestamp) is None:
        raise refuse(TIMESTAMP_HEADER, "not Unix seconds (up to 12 ASCII digits)")
    if not signature:
        raise refuse(SIGNATURE_HEADER, "missing")
    if _SIGNATURE.fullmatch(signature) is None:
        raise refuse(SIGNATURE_HEADER, "not sha256=<64 lowercase hex digits>")
    return SignedHeaders(key_id=int(key_id), stamp=timestamp, signature=signature)


class ReplayGuard:
    """Remembers signatures inside the replay window so a captured request cannot be resent."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._next_prune = 0.0

    def first_time(self, key: str, ttl_s: float) -> bool:
        """True the first time `key` is seen within `ttl_s`."""
        now = time.monotonic()
        if now >= self._next_prune:
            self._seen = {k: t for k, t in self._seen.items() if t > now}
            self._next_prune = now + 10
        expiry = self._seen.get(key)
        if expiry is not None and expiry > now:
            return False
        self._seen[key] = now + ttl_s
        return True


def _credential_query(key: str) -> Select[Any]:
    """A credential with its officer's NRP, by one key column (bound as :key)."""
    cred_t, officer_t = Credential.__table__, Officer.__table__  # type: ignore[attr-defined]
    cred, officer = cred_t.c, officer_t.c
    return (
        sa_select(
            cred.id,
            cred.kind,
            cred.name,
            cred.role,
            cred.officer_id,
            cred.area_code,
            cred.token_hash,
            cred.prefix,
            cred.revoked_at,
            cred.expires_at,
            officer.nrp,
        )
        .select_from(cred_t.outerjoin(officer_t, officer.id == cred.officer_id))
        .where(cred[key] == bindparam("key"))
    )


_BY_HASH = _credential_query("token_hash")
_BY_ID = _credential_query("id")


class CredentialResolver:
    """Resolves tokens to principals with a long cache that revocations empty at once.

    A revocation is announced on the cluster's broadcaster (backend.auth.revocation), and every
    node's resolver `forget`s those credentials and wakes the sockets holding them; so the cache
    can be long (settings.credential_cache_s) and a revoked phone is still refused at its very
    next frame on every node.
    """

    def __init__(self, engine: Engine, cache_s: float) -> None:
        self._engine = engine
        self._cache_s = cache_s
        self._cache: dict[str, tuple[float, Principal | AuthError]] = {}
        self._by_id: dict[int, tuple[float, Principal | AuthError]] = {}
        self._hash_of: dict[int, str] = {}  # credential id -> token hash, for forget()
        self._watchers: dict[str, set[Callable[[], None]]] = {}
        # Bumped by every forget/clear: a read that started before one must not cache what it
        # read (it may predate the revocation, and the cache would keep it for cache_s).
        self._generation = 0

    def clear(self) -> None:
        """Forget every cached result (revocations may have been missed: re-read them all)."""
        self._generation += 1
        self._cache.clear()
        self._by_id.clear()
        self._hash_of.clear()

    def held_ids(self) -> list[int]:
        """The credential ids this cache holds an answer for."""
        return sorted({*self._by_id, *self._hash_of})

    def forget(self, credential_ids: Iterable[int]) -> None:
        """Drop these credentials from the cache and wake the sockets that hold them."""
        self._generation += 1
        for cred_id in credential_ids:
            self._by_id.pop(cred_id, None)
            h = self._hash_of.pop(cred_id, None)
            if h is None:
                continue
            self._cache.pop(h, None)
            for wake in list(self._watchers.get(h, ())):
                wake()

    def watch(self, token_hash: str, wake: Callable[[], None]) -> Callable[[], None]:
        """Call `wake` when this credential is forgotten; returns the function that stops it."""
        self._watchers.setdefault(token_hash, set()).add(wake)

        def stop() -> None:
            watchers = self._watchers.get(token_hash)
            if watchers is not None:
                watchers.discard(wake)
                if not watchers:
                    del self._watchers[token_hash]

        return stop

    def cached(self, token: str | None) -> Principal | None:
        """The cached principal of a token (AuthError if refused), or None on a miss."""
        if not token or len(token) > 200:
            return None  # resolve() refuses it without the database
        hit = self._cache.get(hash_token(token))
        if hit is None or hit[0] < time.monotonic():
            return None
        if isinstance(hit[1], AuthError):
            raise hit[1]
        return hit[1]

    def cached_id(self, cred_id: int) -> bool:
        """Whether resolve_id would answer from the cache."""
        hit = self._by_id.get(cred_id)
        return hit is not None and hit[0] >= time.monotonic()

    async def resolve_async(self, token: str | None, *, now: datetime) -> Principal:
        """resolve(), reading the database (on a miss) in a thread: the event loop never waits."""
        hit = self.cached(token)
        if hit is not None:
            return hit
        return await asyncio.to_thread(self.resolve, token, now=now)

    def resolve(self, token: str | None, *, now: datetime) -> Principal:
        """Return the principal for a token or raise AuthError with the reason."""
        if not token:
            raise AuthError("missing credential")
        if len(token) > 200:
            raise AuthError("malformed credential")
        h = hash_token(token)
        mono = time.monotonic()
        hit = self._cache.get(h)
        if hit is None or hit[0] < mono:
            if len(self._cache) > 50_000:
                self._cache.clear()  # bounded: a spray of random tokens must not grow memory
            generation = self._generation
            hit = (mono + self._cache_s, self._load(_BY_HASH, h, token[:12], now))
            if generation == self._generation:
                self._remember(hit[1])
                self._cache[h] = hit
        result = hit[1]
        if isinstance(result, AuthError):
            raise result
        return result

    def resolve_id(self, cred_id: int, *, now: datetime) -> tuple[Principal, str]:
        """Resolve a credential by id (HMAC key id); return it with its token hash."""
        mono = time.monotonic()
        hit = self._by_id.get(cred_id)
        if hit is None or hit[0] < mono:
            if len(self._by_id) > 50_000:
                self._by_id.clear()  # bounded like the token cache: key ids can be sprayed too
            generation = self._generation
            hit = (mono + self._cache_s, self._load(_BY_ID, cred_id, None, now))
            if generation == self._generation:
                self._remember(hit[1])
                self._by_id[cred_id] = hit
        result = hit[1]
        if isinstance(result, AuthError):
            raise result
        return result, result.token_hash

    def _remember(self, result: Principal | AuthError) -> None:
        if isinstance(result, Principal):
            if len(self._hash_of) > 100_000:
                self.clear()  # bounded; clearing only costs re-reads
            self._hash_of[result.credential_id] = result.token_hash

    def _load(
        self, query: Select[Any], key: str | int, prefix: str | None, now: datetime
    ) -> Principal | AuthError:
        # One Core statement (its compiled form cached), not ORM gets: a miss costs a round
        # trip per phone every credential_cache_s, and three ORM reads took ~1-10 ms.
        with self._engine.connect() as c:
            row = c.execute(query, {"key": key}).first()
        if row is None:
            return AuthError("unknown credential", prefix)
        if row.revoked_at is not None:
            return AuthError("revoked credential", row.prefix)
        if row.expires_at is not None and row.expires_at <= now:
            return AuthError("expired credential", row.prefix)
        return Principal(
            credential_id=row.id,
            kind=row.kind,
            name=row.name,
            role=row.role,
            officer_id=row.officer_id,
            officer_nrp=row.nrp,
            area_code=row.area_code,
            token_hash=row.token_hash,
        )
