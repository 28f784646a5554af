"""What someone who can write the database cannot do to the audit chain unnoticed.

The attacker here has write access to the database but not the key (POSKO_AUDIT_KEY, or the
secret key it defaults to): they can edit rows, re-hash with plain SHA-256, delete rows and move
the head. The anchor file stands for another machine they cannot reach.
"""

import hashlib
import hmac
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from pydantic import SecretStr, ValidationError
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from backend.alerts.models import AlertOutbox
from backend.alerts.webhook import OutboxSender
from backend.audit.anchor import Checkpoint, Checkpointer, parse_checkpoint, read_anchors
from backend.audit.cli import app as audit_cli
from backend.audit.epoch import start_new_chain
from backend.audit.keys import AuditKey, AuditKeyError, key_from_options
from backend.audit.models import GENESIS_HASH, AuditEntry, AuditHead
from backend.audit.service import AuditRecord, VerifyResult, append, entry_hash, verify
from backend.config import PLACEHOLDER_SECRET, Settings
from backend.db import UtcDateTime, make_engine
from backend.migrate import upgrade
from tests.conftest import start_server
from tests.factories import MiniRegistry, device_token
from tests.helpers import field_socket, ping, send
from tests.ops.harness import wib

T = wib(27, "08:00")
runner = CliRunner()


def _append(engine: Engine, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        with Session(engine) as s:
            append(
                session=s,
                records=[
                    AuditRecord(
                        at=T + timedelta(seconds=i),
                        actor="user:budi",
                        action="incident.status",
                        subject_kind="incident",
                        subject=str(i),
                        data={"i": i},
                        area_code="16.08",
                    )
                ],
            )
            s.commit()


def _verify(engine: Engine, anchors: Path | None = None) -> VerifyResult:
    with Session(engine) as s:
        if anchors is None:
            return verify(session=s)
        key = key_from_options(engine.get_execution_options())
        return verify(session=s, anchors=read_anchors([anchors], key))


def _cli(settings: Settings, *args: str) -> tuple[int, str]:
    """`posko audit verify` with the environment the settings stand for."""
    env = {"POSKO_SECRET_KEY": settings.secret_key}
    if settings.audit_anchor_path is not None:
        env["POSKO_AUDIT_ANCHOR_PATH"] = str(settings.audit_anchor_path)
    r = runner.invoke(
        audit_cli, ["verify", *args, "--database-url", settings.database_url], env=env
    )
    return r.exit_code, r.output


def _rehash_with_sha256(engine: Engine, from_seq: int) -> None:
    """Re-hash entries from `from_seq` on with plain SHA-256 and move the head along."""
    with Session(engine) as s:
        prev = GENESIS_HASH
        if from_seq > 1:
            before = s.get(AuditEntry, from_seq - 1)
            assert before is not None
            prev = before.hash
        rows = s.exec(
            select(AuditEntry).where(col(AuditEntry.seq) >= from_seq).order_by(col(AuditEntry.seq))
        ).all()
        for e in rows:
            e.prev_hash = prev
            e.hash = entry_hash(
                prev,
                seq=e.seq,
                at=e.at,
                actor=e.actor,
                action=e.action,
                subject_kind=e.subject_kind,
                subject=e.subject,
                data=e.data,
            )
            prev = e.hash
            s.add(e)
        head = s.get(AuditHead, 1)
        assert head is not None
        head.hash = prev
        s.add(head)
        s.commit()


def _truncate(engine: Engine, keep: int) -> None:
    """Delete the entries after `keep` and roll the head back to it."""
    with engine.begin() as c:
        c.execute(text("DELETE FROM audit_entry WHERE seq > :k"), {"k": keep})
        last = c.execute(text("SELECT hash FROM audit_entry WHERE seq = :k"), {"k": keep})
        c.execute(
            text("UPDATE audit_head SET seq = :k, hash = :h WHERE id = 1"),
            {"k": keep, "h": last.scalar_one()},
        )


@pytest.fixture
def anchored(settings: Settings, tmp_path: Path) -> Settings:
    """The suite's settings with an anchor file."""
    return settings.model_copy(update={"audit_anchor_path": tmp_path / "anchor" / "audit.jsonl"})


def test_editing_an_entry_and_rehashing_the_rest_with_sha256_is_detected(
    engine: Engine, settings: Settings
) -> None:
    _append(engine, 5)
    with engine.begin() as c:
        c.execute(text("UPDATE audit_entry SET actor = 'user:someone-else' WHERE seq = 3"))
    _rehash_with_sha256(engine, 3)  # every link and the head agree again
    result = _verify(engine)
    assert not result.ok and result.bad_seq == 3 and "edited" in (result.reason or "")
    code, out = _cli(settings)
    assert code == 1 and "BROKEN at entry 3" in out


def test_moving_an_entry_to_another_area_is_detected(engine: Engine) -> None:
    _append(engine, 3)
    with engine.begin() as c:
        c.execute(text("UPDATE audit_entry SET area_code = '16.07' WHERE seq = 2"))
    result = _verify(engine)
    assert (result.bad_seq, result.checked) == (2, 1)


def test_truncating_the_newest_entries_and_rolling_back_the_head_is_detected_once_checkpointed(
    engine: Engine, anchored: Settings
) -> None:
    path = anchored.audit_anchor_path
    assert path is not None
    _append(engine, 5)
    first = Checkpointer(engine, anchored).run_once()
    _append(engine, 3, start=5)
    second = Checkpointer(engine, anchored).run_once()
    assert first is not None and second is not None and (first.seq, second.seq) == (5, 8)
    assert _verify(engine, path).ok and _verify(engine, path).anchors == 2

    _truncate(engine, 6)  # entries 7 and 8 are gone, and the head says 6
    assert _verify(engine).ok  # the shorter chain holds in itself: only the anchor can tell
    result = _verify(engine, path)
    assert not result.ok and result.bad_seq == 7 and "truncated" in (result.reason or "")
    code, out = _cli(anchored)  # the configured anchor file by default
    assert code == 1 and "BROKEN at entry 7" in out and "names entry 8" in out
    unconfigured = anchored.model_copy(update={"audit_anchor_path": None})
    code, out = _cli(unconfigured, "--anchors", str(path))
    assert code == 1 and "truncated" in out


def test_entries_after_the_newest_checkpoint_can_be_truncated_unnoticed(
    engine: Engine, anchored: Settings
) -> None:
    # The window the docs warn of: what was never checkpointed cannot be missed.
    _append(engine, 4)
    Checkpointer(engine, anchored).run_once()
    _append(engine, 2, start=4)
    _truncate(engine, 4)
    assert anchored.audit_anchor_path is not None
    assert _verify(engine, anchored.audit_anchor_path).ok


def test_a_forged_anchor_line_is_reported(engine: Engine, anchored: Settings) -> None:
    path = anchored.audit_anchor_path
    assert path is not None
    _append(engine, 3)
    cp = Checkpointer(engine, anchored).run_once()
    assert cp is not None
    key = AuditKey.from_settings(anchored)
    genuine = cp.to_json(key)
    bumped = {**genuine, "seq": 9}  # claims more than was ever there, with the old signature
    wrong = AuditKey.from_secret("a guess at the key, not the key")
    forged = Checkpoint(2, "ab" * 32, 1, datetime.now(UTC), key.key_id, cp.first).to_json(wrong)
    with path.open("ab") as f:
        f.write(orjson.dumps(bumped) + b"\n" + orjson.dumps(forged) + b"\nnonsense\n")
    result = _verify(engine, path)
    assert not result.ok and result.bad_seq is None  # the chain itself holds
    assert result.anchors == 1 and len(result.anchor_problems) == 3
    assert [p.split(": ", 1)[1] for p in result.anchor_problems[:2]] == [
        "bad signature: forged or altered"
    ] * 2
    code, out = _cli(anchored)
    assert code == 1 and out.count("anchor line not trusted") == 3


def test_passing_keyed_entries_off_as_older_ones_is_detected_by_a_checkpoint(
    engine: Engine, anchored: Settings
) -> None:
    path = anchored.audit_anchor_path
    assert path is not None
    _append(engine, 4)
    Checkpointer(engine, anchored).run_once()
    # Declare every entry older than keyed chaining and re-hash them all with SHA-256 (and
    # drop their areas, which older entries cannot have): the chain alone then holds.
    with engine.begin() as c:
        c.execute(text("UPDATE audit_head SET keyed_from = 5"))
        c.execute(text("UPDATE audit_entry SET area_code = NULL"))
    _rehash_with_sha256(engine, 1)
    assert _verify(engine).ok
    result = _verify(engine, path)
    # Re-hashing entry 1 also gave the chain another identity than the checkpoint names.
    reason = result.reason or ""
    assert not result.ok and ("keyed from entry 5" in reason or "another chain" in reason)


def test_entries_from_before_the_upgrade_still_verify_and_stay_protected(
    database_url: str, settings: Settings
) -> None:
    engine = make_engine(settings)
    upgrade(engine, "0003")
    # Three entries as Posko wrote them before keyed chaining: plain SHA-256, no area.
    legacy = sa.table(
        "audit_entry",
        *(sa.column(c) for c in ("seq", "actor", "action", "subject_kind", "subject", "data")),
        sa.column("at", UtcDateTime()),
        sa.column("prev_hash"),
        sa.column("hash"),
    )
    prev = GENESIS_HASH
    with engine.begin() as c:
        for seq in (1, 2, 3):
            row = {
                "seq": seq,
                "at": T + timedelta(minutes=seq),
                "actor": "cli:root",
                "action": "credential.issued",
                "subject_kind": "credential",
                "subject": str(seq),
                "data": "{}",
            }
            h = entry_hash(prev, **row)  # type: ignore[arg-type]
            c.execute(sa.insert(legacy).values(**row, prev_hash=prev, hash=h))
            prev = h
        c.execute(text("UPDATE audit_head SET seq = 3, hash = :h WHERE id = 1"), {"h": prev})
    upgrade(engine)
    _append(engine, 2)
    result = _verify(engine)
    assert result.ok and (result.checked, result.keyed_from) == (5, 4)
    with Session(engine) as s:
        assert [e.area_code for e in s.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))] == [
            None,
            None,
            None,
            "16.08",
            "16.08",
        ]
    # An old entry rewritten with SHA-256 up to the first keyed one: that one's MAC breaks.
    with engine.begin() as c:
        c.execute(text("UPDATE audit_entry SET actor = 'cli:nobody' WHERE seq = 2"))
    _rehash_with_sha256_upto(engine, 2, 3)
    assert _verify(engine).bad_seq == 4
    engine.dispose()


def _rehash_with_sha256_upto(engine: Engine, first: int, last: int) -> None:
    """Re-hash old entries first..last with SHA-256 and point the next entry at the new hash."""
    with Session(engine) as s:
        before = s.get(AuditEntry, first - 1)
        prev = before.hash if before else GENESIS_HASH
        for seq in range(first, last + 1):
            e = s.get(AuditEntry, seq)
            assert e is not None
            e.prev_hash = prev
            e.hash = entry_hash(
                prev,
                seq=e.seq,
                at=e.at,
                actor=e.actor,
                action=e.action,
                subject_kind=e.subject_kind,
                subject=e.subject,
                data=e.data,
            )
            prev = e.hash
            s.add(e)
        nxt = s.get(AuditEntry, last + 1)
        assert nxt is not None
        nxt.prev_hash = prev
        s.add(nxt)
        s.commit()


def test_a_process_with_another_key_neither_appends_nor_verifies(
    engine: Engine, settings: Settings
) -> None:
    _append(engine, 2)
    other = make_engine(settings.model_copy(update={"secret_key": "another-secret-entirely"}))
    with Session(other) as s, pytest.raises(AuditKeyError, match="another key"):
        append(session=s, records=[AuditRecord(at=T, actor="x", action="test.step")])
    wrong = _verify(other)
    assert not wrong.ok and "another key" in (wrong.reason or "")
    r = runner.invoke(
        audit_cli,
        ["verify", "--database-url", settings.database_url],
        env={"POSKO_SECRET_KEY": "another-secret-entirely"},
    )
    assert r.exit_code == 1 and "another key" in r.output
    other.dispose()
    # A rotated secret key with POSKO_AUDIT_KEY set to the old one carries the chain on.
    rotated = settings.model_copy(
        update={"secret_key": "rotated-secret-key", "audit_key": SecretStr(settings.secret_key)}
    )
    same = make_engine(rotated)
    _append(same, 1, start=2)
    result = _verify(same)
    assert result.ok and result.checked == 3
    same.dispose()


def test_the_checkpointer_notices_a_truncation_between_its_runs(
    engine: Engine, anchored: Settings
) -> None:
    _append(engine, 4)
    checkpointer = Checkpointer(engine, anchored)
    assert checkpointer.run_once() is not None
    assert checkpointer.run_once() is None  # the head did not move: nothing new to sign
    _truncate(engine, 2)
    checkpointer.run_once()
    assert checkpointer.mismatch and "named 4" in checkpointer.mismatch
    # A checkpointer started later picks up where the anchor file ends.
    assert Checkpointer(engine, anchored).last is not None


class _Receiver:
    """A local webhook endpoint that keeps what it is sent."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        got = self.got

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    rec = _Receiver()
    yield rec
    rec.close()


async def test_checkpoints_go_out_through_the_signed_webhook_and_serve_as_anchors(
    engine: Engine, settings: Settings, receiver: _Receiver, tmp_path: Path
) -> None:
    hooked = settings.model_copy(
        update={"alert_webhook_url": receiver.url, "alert_webhook_secret": "hook-secret"}
    )
    _append(engine, 3)
    cp = Checkpointer(engine, hooked).run_once()  # no anchor file: the webhook only
    assert cp is not None
    with Session(engine) as s:
        row = s.exec(select(AlertOutbox)).one()
    assert (row.event, row.alert_id) == ("checkpoint", None)
    sender = OutboxSender(engine, hooked)
    assert await sender.send_due() == 1
    await sender.stop()
    ((headers, body),) = receiver.got
    assert headers["x-posko-event"] == "checkpoint"
    mac = hmac.new(
        b"hook-secret", headers["x-posko-timestamp"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert headers["x-posko-signature"] == "sha256=" + mac
    key = AuditKey.from_settings(settings)
    assert parse_checkpoint(body, key) == cp
    # What the receiver keeps is an anchor file as it stands: the truncation shows.
    kept = tmp_path / "received.jsonl"
    kept.write_bytes(body + b"\n")
    _truncate(engine, 1)
    result = _verify(engine, kept)
    assert not result.ok and "truncated" in (result.reason or "")


def test_a_running_server_writes_checkpoints_to_the_anchor_file(
    anchored: Settings, engine: Engine, mini: MiniRegistry
) -> None:
    path = anchored.audit_anchor_path
    assert path is not None
    server = start_server(anchored.model_copy(update={"audit_checkpoint_s": 0.1}))
    try:
        phone = device_token(engine, mini.officer_ids[0])
        with field_socket(server.ws_url, phone) as ws:
            assert send(ws, ping(mini.tps_codes[0], "persiapan"))["result"] == "stored"
        deadline = datetime.now(UTC) + timedelta(seconds=20)
        while datetime.now(UTC) < deadline and not (path.exists() and path.read_bytes()):
            threading.Event().wait(0.05)
    finally:
        server.stop()
    anchors = read_anchors([path], AuditKey.from_settings(anchored))
    assert anchors.problems == () and anchors.checkpoints
    with Session(engine) as s:
        head = s.get(AuditHead, 1)
        assert head is not None and head.key_id == AuditKey.from_settings(anchored).key_id
        # The last checkpoint, taken as the server stopped, is the head it left.
        assert (anchors.checkpoints[-1].seq, anchors.checkpoints[-1].hash) == (head.seq, head.hash)
    assert _verify(engine, path).ok


def test_a_short_or_placeholder_audit_key_is_refused() -> None:
    for bad in ("too-short", PLACEHOLDER_SECRET):
        with pytest.raises(ValidationError, match="POSKO_AUDIT_KEY"):
            Settings(_env_file=None, audit_key=bad)
    ok = Settings(_env_file=None, audit_key="a-long-enough-audit-key", audit_anchor_path="")
    assert ok.audit_anchor_path is None and "a-long-enough" not in repr(ok)
    assert AuditKey.from_settings(ok) != AuditKey.from_secret(ok.secret_key)


def test_an_erase_of_the_election_data_starts_a_chain_its_old_checkpoints_do_not_fail(
    engine: Engine, anchored: Settings
) -> None:
    path = anchored.audit_anchor_path
    assert path is not None
    _append(engine, 4)
    Checkpointer(engine, anchored).run_once()
    with Session(engine) as s:
        start_new_chain(session=s, at=T, actor="cli:root", reason="test", erased={"ping": 3})
        s.commit()
    _append(engine, 2, start=10)
    Checkpointer(engine, anchored).run_once()
    result = _verify(engine, path)
    assert result.ok, result.reason
    assert (result.checked, result.anchors, result.superseded) == (3, 1, 1)


def test_a_chain_emptied_or_rebuilt_without_an_erase_is_caught_by_its_checkpoints(
    engine: Engine, anchored: Settings
) -> None:
    path = anchored.audit_anchor_path
    assert path is not None
    _append(engine, 4)
    Checkpointer(engine, anchored).run_once()
    with engine.begin() as c:  # what a database writer without the key can do: empty it all
        c.execute(text("DELETE FROM audit_entry"))
        c.execute(
            text("UPDATE audit_head SET seq = 0, hash = :g WHERE id = 1"), {"g": GENESIS_HASH}
        )
    assert _verify(engine).ok  # an empty chain holds by itself
    result = _verify(engine, path)
    assert not result.ok and "another chain" in (result.reason or "")
