"""The audit chain: append-only, hash-chained, serialized, and checked by `posko audit verify`."""

import threading
from datetime import timedelta

import orjson
from sqlalchemy import Engine, text
from sqlmodel import Session
from typer.testing import CliRunner

from backend.audit.cli import app as audit_cli
from backend.audit.keys import AuditKey
from backend.audit.service import AuditRecord, append, entry_hash, keyed_hash, verify
from backend.config import Settings
from tests.factories import MiniRegistry
from tests.helpers import count, incident, ping
from tests.ops.harness import Field, wib

T = wib(27, "08:00")
runner = CliRunner()


def _append(engine: Engine, n: int, actor: str = "test") -> None:
    for i in range(n):
        with Session(engine) as s:
            append(
                session=s,
                records=[
                    AuditRecord(
                        at=T + timedelta(seconds=i),
                        actor=actor,
                        action="test.step",
                        subject_kind="tps",
                        subject="16.08.01.1007-001",
                        data={"i": i, "note": "catatan"},
                    )
                ],
            )
            s.commit()


def _verify(engine: Engine):  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return verify(session=s)


def _cli_verify(settings: Settings) -> tuple[int, str]:
    # The command reads its key from the environment, like the server: give it the same one.
    env = {"POSKO_SECRET_KEY": settings.secret_key}
    r = runner.invoke(audit_cli, ["verify", "--database-url", settings.database_url], env=env)
    return r.exit_code, r.output


def test_each_hash_covers_the_previous_hash_and_the_row(engine: Engine, settings: Settings) -> None:
    _append(engine, 3)
    with engine.connect() as c:
        rows = c.execute(
            text("SELECT seq, prev_hash, hash, at FROM audit_entry ORDER BY seq")
        ).all()
    assert [r[0] for r in rows] == [1, 2, 3]
    assert rows[0][1] == "0" * 64 and rows[1][1] == rows[0][2] and rows[2][1] == rows[1][2]
    assert _verify(engine).checked == 3
    fields = {
        "seq": 1,
        "at": T,
        "actor": "test",
        "action": "test.step",
        "subject_kind": "tps",
        "subject": "16.08.01.1007-001",
        "data": orjson.dumps({"i": 0, "note": "catatan"}, option=orjson.OPT_SORT_KEYS).decode(),
    }
    key = AuditKey.from_settings(settings)
    assert keyed_hash(key, "0" * 64, area_code=None, **fields) == rows[0][2]  # type: ignore[arg-type]
    assert entry_hash("0" * 64, **fields) != rows[0][2]  # type: ignore[arg-type]


def test_editing_one_row_by_hand_is_found_and_named(engine: Engine, settings: Settings) -> None:
    _append(engine, 5)
    code, out = _cli_verify(settings)
    assert code == 0 and out.startswith("audit chain ok: 5 entries\n")
    with engine.begin() as c:
        c.execute(text("UPDATE audit_entry SET actor = 'someone else' WHERE seq = 3"))
    code, out = _cli_verify(settings)
    assert code == 1 and "BROKEN at entry 3" in out and "edited" in out


def test_recomputing_the_edited_rows_hash_breaks_the_next_link(engine: Engine) -> None:
    _append(engine, 4)
    with engine.begin() as c:
        c.execute(text("UPDATE audit_entry SET hash = :h WHERE seq = 2"), {"h": "f" * 64})
    result = _verify(engine)
    assert (result.bad_seq, result.checked) == (2, 1)


def test_deleting_a_row_in_the_middle_or_at_the_end_is_found(
    engine: Engine, settings: Settings
) -> None:
    _append(engine, 5)
    with engine.begin() as c:
        c.execute(text("DELETE FROM audit_entry WHERE seq = 5"))
    code, out = _cli_verify(settings)
    assert code == 1 and "BROKEN at entry 5" in out
    with engine.begin() as c:
        c.execute(text("DELETE FROM audit_entry WHERE seq = 2"))
    code, out = _cli_verify(settings)
    assert code == 1 and "BROKEN at entry 2: entry missing" in out


def test_appenders_on_separate_connections_never_fork_the_chain(engine: Engine) -> None:
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            barrier.wait()
            _append(engine, 25, actor=name)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"t{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = _verify(engine)
    assert result.ok and result.checked == 100


def test_intake_batches_are_chained_with_a_digest_of_their_transitions(
    field: Field, mini: MiniRegistry, settings: Settings
) -> None:
    nrp, code = mini.officer_nrps[0], mini.tps_codes[0]
    field.send([(nrp, ping(code, "persiapan", at=T)), (nrp, ping(mini.tps_codes[1], at=T))], at=T)
    field.send([(nrp, ping(code, "pemungutan", "waspada", at=T, minutes=5))], at=T)
    field.send([(nrp, incident(code, at=T))], at=T)
    assert count(field.engine, "audit_entry", "action = 'intake.batch'") == 3
    with field.engine.connect() as c:
        data = [
            orjson.loads(d) for (d,) in c.execute(text("SELECT data FROM audit_entry ORDER BY seq"))
        ]
    assert data[0]["transitions"]["count"] == 4  # phase + situation of two TPS
    assert data[2]["reports"] and data[2]["incidents_opened"]
    assert _verify(field.engine).ok
    with field.engine.begin() as c:
        c.execute(text("UPDATE tps_transition SET after = 'selesai_hitung' WHERE id = 2"))
    code_, out = _cli_verify(settings)
    assert code_ == 1 and "BROKEN at entry 1" in out and "transitions" in out


def test_export_of_a_tps_history_as_json_and_csv(
    field: Field, mini: MiniRegistry, settings: Settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    nrp, code = mini.officer_nrps[0], mini.tps_codes[0]
    field.send([(nrp, ping(code, "persiapan", at=T))], at=T)
    field.send([(nrp, ping(code, "pemungutan", at=T, minutes=60))], at=T + timedelta(hours=1))
    field.send([(nrp, incident(code, at=T, minutes=70))], at=T + timedelta(minutes=70))
    field.sweep(T + timedelta(minutes=85))  # sangat rawan: not visited after 10 minutes
    url = settings.database_url
    r = runner.invoke(audit_cli, ["export", "--tps", code, "--database-url", url])
    assert r.exit_code == 0, r.output
    history = orjson.loads(r.output)
    kinds = [row["kind"] for row in history["rows"]]
    assert kinds.count("ping") == 2 and kinds.count("transition") == 3
    assert {"incident_report", "alert_raised"} <= set(kinds)
    assert history["incidents"][0]["reports"] == 1
    assert any(a["kind"] == "tps_not_visited" for a in history["alerts"])
    assert any(e["action"] == "alert.raised" for e in history["audit"])
    out = tmp_path / "h.csv"
    r = runner.invoke(
        audit_cli,
        ["export", "--tps", code, "--format", "csv", "--out", str(out), "--database-url", url],
    )
    assert r.exit_code == 0, r.output
    lines = out.read_text().splitlines()
    assert lines[0] == "at,kind,ref,actor,before,after,detail"
    assert len(lines) == 1 + len(history["rows"])
    bad = runner.invoke(audit_cli, ["export", "--tps", "16.99.99.9999-999", "--database-url", url])
    assert bad.exit_code != 0


def test_an_empty_chain_verifies(engine: Engine) -> None:
    result = _verify(engine)
    assert result.ok and result.checked == 0
