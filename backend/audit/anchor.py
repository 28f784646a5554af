"""Checkpoints of the audit chain kept where the database's writer cannot rewrite them.

A keyed chain stops anyone without the key from editing an entry, but not from deleting the
newest entries and rolling `audit_head` back: what is left is a valid, shorter chain. So every
`audit_checkpoint_s`, the node holding the "audit-checkpoint" lease signs the head (seq, hash,
keyed_from, time; HMAC with a key derived from the audit key) and sends it out:

* one JSON line appended to POSKO_AUDIT_ANCHOR_PATH (best on another machine or mount), and
* with an alert webhook configured, a "checkpoint" delivery in the same durable outbox.

`posko audit verify` compares the chain with every checkpoint it is given: a seq beyond the
head means truncation, another hash at that seq means rewriting. A line whose signature does not
hold is reported too (a forged line proves someone tried). Checkpoints are written only when
the head moved, so the file grows by one short line per interval of activity.
"""

import hashlib
import hmac
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine
from sqlmodel import Session

from backend.alerts.models import AlertOutbox
from backend.audit.keys import AuditKey, key_from_options
from backend.audit.models import AuditEntry, AuditHead
from backend.config import Settings, now_utc

log = logging.getLogger("posko.audit")
CHECKPOINT_EVENT = "checkpoint"
_LABEL = "posko-audit-checkpoint-v1"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The chain's head at one moment, signed with the audit key."""

    seq: int
    hash: str
    keyed_from: int
    at: datetime
    key_id: str
    # The hash of the chain's first entry: which chain this is. Only an erase of the election
    # data starts a new chain (backend/audit/epoch.py); its checkpoints then name another first.
    first: str

    @property
    def at_text(self) -> str:
        """When it was taken, as written in the line."""
        return self.at.astimezone(UTC).isoformat(timespec="seconds")

    def _payload(self) -> bytes:
        fields = [
            _LABEL,
            self.seq,
            self.hash,
            self.keyed_from,
            self.at_text,
            self.key_id,
            self.first,
        ]
        return orjson.dumps(fields)

    def signature(self, key: AuditKey) -> str:
        """HMAC-SHA256 of the checkpoint's fields with the anchor key."""
        return hmac.new(key.anchor, self._payload(), hashlib.sha256).hexdigest()

    def to_json(self, key: AuditKey) -> dict[str, Any]:
        """The signed checkpoint as a JSON object (one anchor line, or the webhook's body)."""
        return {
            "seq": self.seq,
            "hash": self.hash,
            "keyed_from": self.keyed_from,
            "at": self.at_text,
            "key_id": self.key_id,
            "first": self.first,
            "sig": self.signature(key),
        }


class AnchorLineError(ValueError):
    """A line that is not a genuinely signed checkpoint: the reason."""


def parse_checkpoint(raw: bytes | str, key: AuditKey) -> Checkpoint:
    """A checkpoint from one anchor line (or a stored webhook body), its signature checked."""
    try:
        obj = orjson.loads(raw)
        if isinstance(obj, dict) and obj.get("event") == CHECKPOINT_EVENT:
            obj = obj.get("checkpoint")
        if not isinstance(obj, dict):
            raise AnchorLineError("not a checkpoint")
        cp = Checkpoint(
            seq=int(obj["seq"]),
            hash=str(obj["hash"]),
            keyed_from=int(obj["keyed_from"]),
            at=datetime.fromisoformat(str(obj["at"])),
            key_id=str(obj["key_id"]),
            first=str(obj["first"]),
        )
        sig = str(obj["sig"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        if isinstance(err, AnchorLineError):
            raise
        raise AnchorLineError(f"not a checkpoint ({err.__class__.__name__}: {err})") from None
    if cp.at.tzinfo is None or cp.at_text != obj["at"]:
        raise AnchorLineError("not a checkpoint (time not in the written form)")
    if cp.key_id != key.key_id:
        raise AnchorLineError(f"signed with another key (key id {cp.key_id}), or forged")
    if not hmac.compare_digest(cp.signature(key), sig):
        raise AnchorLineError("bad signature: forged or altered")
    return cp


@dataclass(slots=True)
class AnchorSet:
    """Checkpoints read from anchor files, and the lines that could not be trusted."""

    checkpoints: list[Checkpoint] = field(default_factory=list)
    problems: tuple[str, ...] = ()
    files: int = 0


def read_anchors(paths: Iterable[Path], key: AuditKey) -> AnchorSet:
    """Read and check every line of the anchor files (missing files raise FileNotFoundError)."""
    out = AnchorSet()
    problems: list[str] = []
    for path in paths:
        out.files += 1
        with path.open("rb") as f:
            for n, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                try:
                    out.checkpoints.append(parse_checkpoint(raw, key))
                except AnchorLineError as err:
                    problems.append(f"{path}:{n}: {err}")
    out.problems = tuple(problems)
    return out


def append_line(path: Path, line: bytes) -> None:
    """Append one line to the anchor file and make it durable (never rewrite what is there)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        size = os.fstat(fd).st_size
        if size:
            # A crash mid-write can leave a line without its newline: start afresh after it.
            with path.open("rb") as f:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    line = b"\n" + line
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def last_checkpoint(path: Path, key: AuditKey) -> Checkpoint | None:
    """The newest genuine checkpoint at the end of an anchor file, if any."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            lines = f.read().splitlines()
    except FileNotFoundError:
        return None
    for raw in reversed(lines):
        try:
            return parse_checkpoint(raw, key)
        except AnchorLineError:
            continue
    return None


class Checkpointer:
    """Takes a checkpoint of the head and sends it out (run by one node: see `checkpoint_task`)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.key = key_from_options(engine.get_execution_options())
        self.path = settings.audit_anchor_path
        self.webhook = bool(settings.alert_webhook_url)
        self.last = last_checkpoint(self.path, self.key) if self.path else None
        self.mismatch: str | None = None  # what the last look found wrong with the chain

    def _still_there(self, session: Session, head: AuditHead) -> str | None:
        """Whether the chain still holds the last checkpoint; what is wrong if not."""
        last = self.last
        if last is None:
            return None
        if head.seq < last.seq:
            return f"chain head at {head.seq}, but checkpoint of {last.at_text} named {last.seq}"
        entry = session.get(AuditEntry, last.seq)
        if entry is None or entry.hash != last.hash:
            return f"entry {last.seq} differs from the checkpoint of {last.at_text}"
        return None

    def run_once(self, now: datetime | None = None) -> Checkpoint | None:
        """Sign the head if it moved since the last checkpoint; return the new checkpoint."""
        now = now or now_utc()
        with Session(self.engine) as session:
            head = session.get(AuditHead, 1)
            if head is None or head.seq == 0:
                return None
            self.mismatch = self._still_there(session, head)
            if self.mismatch:
                # Noticed live; the old checkpoint in the anchor file keeps the evidence.
                log.error("audit chain truncated or rewritten: %s", self.mismatch)
            if self.last is not None and (self.last.seq, self.last.hash) == (head.seq, head.hash):
                return None
            at = now.astimezone(UTC).replace(microsecond=0)  # as the line will say
            first = session.get(AuditEntry, 1)
            cp = Checkpoint(
                head.seq,
                head.hash,
                head.keyed_from,
                at,
                self.key.key_id,
                first.hash if first is not None else "",
            )
            signed = cp.to_json(self.key)
            if self.webhook:
                body = orjson.dumps({"event": CHECKPOINT_EVENT, "checkpoint": signed}).decode()
                session.add(
                    AlertOutbox(
                        alert_id=None,
                        event=CHECKPOINT_EVENT,
                        body=body,
                        created_at=now,
                        next_attempt_at=now,
                    )
                )
                session.commit()
        self.last = cp
        if self.path is not None:
            append_line(self.path, orjson.dumps(signed) + b"\n")
        return cp
