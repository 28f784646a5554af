"""Counts of TPS per kecamatan x phase x situation (`tps_rollup`): summaries at national scale.

Measured on 435,296 TPS (bench/national.md): grouping tps JOIN tps_state takes ~0.7 s on
PostgreSQL, too slow for a national wall that many people refresh; the rollup answers the same
question from ~70k rows in milliseconds. It stays true three ways:

- the writer adds each TPS change to it in the same transaction (`rollup_deltas`, `apply`), so a
  reader never sees tps_state and the rollup disagree;
- every registry write rebuilds it (`rebuild`);
- a leased periodic job (`check`, one node of the cluster) compares it with tps_state in one
  snapshot and adds the differences, so nothing (a hand-made TPS, a future code path) can leave
  it wrong for longer than one check.
"""

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from backend.db import RawDb
from backend.regions.models import Region
from backend.tps.state import StateRow
from schemas.rollup import AreaCount

NONE = ""  # phase or situation not reported yet

Key = tuple[str, str, str]  # kecamatan code, phase, situation

_UPSERT = (
    "INSERT INTO tps_rollup (kecamatan_code, phase, situation, kabupaten_code, province_code, n) "
    "VALUES (?,?,?,?,?,?) ON CONFLICT (kecamatan_code, phase, situation) "
    "DO UPDATE SET n = tps_rollup.n + excluded.n"
)
_COUNT_STATES = (
    "SELECT t.kecamatan_code, COALESCE(s.phase, ''), COALESCE(s.situation, ''), count(*) "
    "FROM tps t JOIN tps_state s ON s.tps_id = t.id GROUP BY 1, 2, 3"
)


def state_key(kecamatan_code: str, s: StateRow) -> Key:
    """Where a TPS in state `s` is counted."""
    phase, situation = s.phase, s.situation
    return (
        kecamatan_code,
        phase.value if phase is not None else NONE,
        situation.value if situation is not None else NONE,
    )


def rollup_deltas(changes: Iterable[tuple[str, Key | None, Key]]) -> dict[Key, int]:
    """Net count changes from (kecamatan, before, after) keys; zero nets dropped."""
    out: dict[Key, int] = defaultdict(int)
    for _, before, after in changes:
        if before == after:
            continue
        if before is not None:
            out[before] -= 1
        out[after] += 1
    return {k: v for k, v in out.items() if v}


def apply(db: RawDb, deltas: dict[Key, int]) -> None:
    """Add count changes in the caller's transaction (keys sorted: no deadlock across nodes)."""
    if not deltas:
        return
    cur = db.conn.cursor()
    cur.executemany(
        db.sql(_UPSERT),
        [(kec, ph, si, kec[:5], kec[:2], n) for (kec, ph, si), n in sorted(deltas.items())],
    )
    cur.close()


def apply_in_session(*, session: Session, deltas: dict[Key, int]) -> None:
    """Add count changes in a session's transaction (a commander's correction of a TPS)."""
    if not deltas:
        return
    session.execute(
        text(
            "INSERT INTO tps_rollup "
            "(kecamatan_code, phase, situation, kabupaten_code, province_code, n) "
            "VALUES (:kec, :ph, :si, :kab, :prov, :n) "
            "ON CONFLICT (kecamatan_code, phase, situation) "
            "DO UPDATE SET n = tps_rollup.n + excluded.n"
        ),
        [
            {"kec": kec, "ph": ph, "si": si, "kab": kec[:5], "prov": kec[:2], "n": n}
            for (kec, ph, si), n in sorted(deltas.items())
        ],
    )


def rebuild(*, session: Session) -> None:
    """Recount the whole rollup from tps_state, in the caller's transaction (registry writes)."""
    session.execute(text("DELETE FROM tps_rollup"))
    session.execute(
        text(
            "INSERT INTO tps_rollup "
            "(kecamatan_code, phase, situation, kabupaten_code, province_code, n) "
            "SELECT t.kecamatan_code, COALESCE(s.phase, ''), COALESCE(s.situation, ''), "
            "min(t.kabupaten_code), min(t.province_code), count(*) "
            "FROM tps t JOIN tps_state s ON s.tps_id = t.id GROUP BY 1, 2, 3"
        )
    )


def check(engine: Engine) -> int:
    """Compare the rollup with tps_state in one snapshot and add the differences; return them.

    Reads both in one repeatable-read snapshot: the writer changes tps_state and the rollup in
    one transaction, so inside a snapshot they agree unless something went wrong. Differences
    are then added as increments in a second transaction; increments commute with the writers'
    own, so nothing is locked and intake never waits for the check.
    """
    db = RawDb(engine)
    try:
        cur = db.conn.cursor()
        if db.is_sqlite:
            cur.execute("BEGIN")  # a WAL read transaction: one snapshot for both reads
        else:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cur.execute(_COUNT_STATES)
        want: dict[Key, int] = {(r[0], r[1], r[2]): int(r[3]) for r in cur.fetchall()}
        cur.execute("SELECT kecamatan_code, phase, situation, n FROM tps_rollup")
        have: dict[Key, int] = {(r[0], r[1], r[2]): int(r[3]) for r in cur.fetchall()}
        db.commit()
        diff = {k: want.get(k, 0) - have.get(k, 0) for k in want.keys() | have.keys()}
        diff = {k: d for k, d in diff.items() if d}
        if diff:
            db.begin()
            apply(db, diff)
            db.commit()
        cur.close()
        return sum(abs(d) for d in diff.values())
    finally:
        db.close()


NOT_REPORTED = "belum"  # how "" is shown: the same bucket name as the kecamatan summary
LEVEL_LENGTH = {"province": 2, "kabupaten": 5, "kecamatan": 8}
_LEVEL_COLUMN = {
    "province": "province_code",
    "kabupaten": "kabupaten_code",
    "kecamatan": "kecamatan_code",
}


def count_by_area(
    *, session: Session, level: str, area_code: str | None
) -> dict[str, tuple[dict[str, int], dict[str, int]]]:
    """(phases, situations) per area code at `level` inside `area_code` (None: national)."""
    column = _LEVEL_COLUMN[level]
    where, params = "", {}
    if area_code is not None:
        where = "WHERE province_code = :a" if len(area_code) == 2 else "WHERE kabupaten_code = :a"
        params = {"a": area_code}
    if level == "kecamatan":  # the table's own grain: nothing to add up
        sql = f"SELECT {column}, phase, situation, n FROM tps_rollup {where}"
    else:
        sql = (
            f"SELECT {column}, phase, situation, sum(n) FROM tps_rollup {where} "
            f"GROUP BY {column}, phase, situation"
        )
    rows = session.execute(text(sql), params).all()
    out: dict[str, tuple[dict[str, int], dict[str, int]]] = {}
    for code, phase, situation, n in rows:
        if not n:
            continue
        phases, situations = out.setdefault(code, ({}, {}))
        p, s = phase or NOT_REPORTED, situation or NOT_REPORTED
        phases[p] = phases.get(p, 0) + int(n)
        situations[s] = situations.get(s, 0) + int(n)
    return out


def region_names(*, session: Session, codes: Iterable[str]) -> dict[str, str]:
    """Names of provinces, kabupaten or kecamatan by code (a code without a name is left out)."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    q = select(col(Region.code), col(Region.name)).where(col(Region.code).in_(wanted))
    return dict(session.exec(q).all())


def add_rows(code: str, name: str, rows: Iterable[AreaCount]) -> AreaCount:
    """One row that adds up `rows` (the totals of the area shown)."""
    phases: dict[str, int] = defaultdict(int)
    situations: dict[str, int] = defaultdict(int)
    incidents: dict[int, int] = defaultdict(int)
    total = not_seen = behind = 0
    for r in rows:
        total, not_seen, behind = total + r.total, not_seen + r.not_seen, behind + r.behind
        for k, v in r.phases.items():
            phases[k] += v
        for k, v in r.situations.items():
            situations[k] += v
        for sev, v in r.incidents.items():
            incidents[sev] += v
    return AreaCount(
        code=code,
        name=name,
        total=total,
        phases=dict(phases),
        situations=dict(situations),
        not_seen=not_seen,
        behind=behind,
        incidents=dict(incidents),
    )
