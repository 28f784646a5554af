"""A national election day in minutes: two nodes on PostgreSQL + Redis, the national registry,
officers' phones at the national profile, a national screen and a kabupaten wall, faults.

    python -m bench.national_day [--rate 60] [--speed 6] [--steps 2,3,8] [--keep-registry]
        [--credential-cache-s S] [--results] [--from var/national_day.pickle]
    python -m bench.run --only national_day --keep-others        (writes bench/results.md)

The national registry (435,296 TPS, ~128k officers; bench.national's builder, COPY) goes into a
template database `posko_soak_tpl` (kept and reused with --keep-registry when it holds the same
number of TPS; POSKO_BENCH_KEEP_REGISTRY=1 under bench.run), copied to `posko_soak` for the run
and dropped afterwards. Two `posko serve` processes share it, with a Redis fan-out under a key
prefix of their own, and an exercise clock at `--speed` times real time (from 06:40 WIB when the
first node starts) so that twenty minutes of outage pass in 20x60/speed real seconds.

The profile: every TPS reported every 10 minutes (exercise time) on average, five times that at
the opening and the closing. This machine cannot play 435k TPS at that cadence, so the run plays
whole kabupaten, drawn across the provinces in turn, until `rate` pings/s at the base cadence:
rate x 600 / speed TPS (60/s at x6: ~6.7k TPS, ~2k phones, one per officer, each reporting its
own assigned TPS). The rest of the registry stays in it (every read and every sweep sees all
435k TPS) but is not played; so that it does not raise artifact alerts, the run sets the
not-open milestone to 10 h after opening and officer silence to 1,000 days.

Timeline, in exercise minutes from go (x6: 10 real seconds each): opening burst 5x (0-6), steady
1x (6-12, the baseline), a province's phones off the network (12-32), steady, the node holding
the alert lease SIGKILLed at 37 and restarted 10 s later, steady, closing burst 5x (44-50), then
steps (`--steps`, multipliers of the base rate, 30 real seconds each). A national /ws/live
subscriber and a kabupaten /ws/live subscriber listen throughout; a probe phone sends a ping
about a TPS of that kabupaten every second; the national rollup is read every 3 s as the
/nasional page does. The raw run is kept in var/national_day.pickle (`--from` re-analyses it).
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import pickle
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import create_engine, text
from sqlmodel import Session

from bench.figures import Figure
from bench.load import python_env
from bench.pixel import pct
from bench.prep import _pg_admin, _pg_url, bench_settings
from tests.conftest import TEST_SECRET, free_port
from tests.scale.conftest import REDIS_HOST, REDIS_PORT, REPO, Node, _popen, node_env, redis_url

SUITE = "national_day"
TEMPLATE = "posko_soak_tpl"
RUN_DB = "posko_soak"
NATIONAL_TPS = 435_296
SIM_START = datetime(2024, 11, 27, 6, 40, tzinfo=UTC) - timedelta(hours=7)  # 06:40 WIB
VOTING_OPENS = datetime(2024, 11, 27, 0, 0, tzinfo=UTC)  # 07:00 WIB
TARGET_P95_MS = 250.0
BASE_MIN = 10.0  # every TPS reported every 10 exercise minutes on average
BURST = 5.0
SILENCE_MIN = 10.0  # POSKO_OUTAGE_SILENCE_MIN (the default)
OUTAGE_MIN = 20.0
ROLLUP_EVERY_S = 3.0
DRAIN_S = 120.0  # after the schedule, how long phones wait for their last acks
RAW = REPO / "var" / "national_day.pickle"


# --- the databases ---------------------------------------------------------------------------


def _scalar(url: str, sql: str) -> Any:
    eng = create_engine(url)
    try:
        with eng.connect() as c:
            return c.execute(text(sql)).scalar_one()
    finally:
        eng.dispose()


def _exists(name: str) -> bool:
    from tests.conftest import PG_ADMIN_URL

    eng = create_engine(PG_ADMIN_URL)
    try:
        with eng.connect() as c:
            return bool(
                c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            )
    finally:
        eng.dispose()


def template(reuse: bool, say: Any) -> tuple[str, float]:
    """The national registry in `posko_soak_tpl`: reused if it holds 435,296 TPS; build seconds."""
    from backend.db import make_engine
    from backend.migrate import upgrade
    from backend.registry.build import Scale, build_registry
    from backend.registry.service import write_registry

    url = _pg_url(TEMPLATE)
    if reuse and _exists(TEMPLATE):
        try:
            if _scalar(url, "SELECT count(*) FROM tps") == NATIONAL_TPS:
                say(f"registry: reusing {TEMPLATE}")
                return url, 0.0
        except Exception:  # a half-built template: build it again
            pass
    t0 = time.perf_counter()
    _pg_admin(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
    _pg_admin(f'CREATE DATABASE "{TEMPLATE}"')
    engine = make_engine(bench_settings(url))
    upgrade(engine)
    say("registry: building the national registry (~1 min)")
    registry = build_registry(scale=Scale.NATIONAL)
    with Session(engine) as s:
        write_registry(session=s, registry=registry, erase_election_data=True)
    del registry
    engine.dispose()
    eng = create_engine(url, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text("VACUUM ANALYZE"))
    eng.dispose()
    return url, time.perf_counter() - t0


@dataclass
class Played:
    """What the phones play: kabupaten, their officers' devices, the outage and the wall."""

    kabupaten: list[str]
    tps: int
    devices: list[dict[str, Any]]
    outage_province: str
    outage_kabupaten: list[str]
    wall_kabupaten: str
    probe_tps: str
    probe_token: str
    viewer: str
    wall_viewer: str
    national_tps: int


def play(url: str, target_tps: int, seed: int = 7) -> Played:
    """Whole kabupaten drawn across the provinces in turn, their officers' device tokens."""
    from backend.auth.service import issue
    from backend.db import make_engine
    from schemas.enums import CredentialKind, Role

    engine = make_engine(bench_settings(url))
    rng = random.Random(seed)
    with engine.connect() as c:
        sizes = {
            kab: (prov, n, kecs)
            for kab, prov, n, kecs in c.execute(
                text(
                    "SELECT kabupaten_code, province_code, count(*), "
                    "count(DISTINCT kecamatan_code) FROM tps GROUP BY 1, 2"
                )
            )
        }
        national = int(c.execute(text("SELECT count(*) FROM tps")).scalar_one())
    by_prov: dict[str, list[str]] = defaultdict(list)
    for kab, (prov, _n, kecs) in sorted(sizes.items()):
        if kecs > 1:  # a kabupaten-wide outage needs more than one kecamatan
            by_prov[prov].append(kab)
    provinces = sorted(by_prov)
    rng.shuffle(provinces)
    for p in provinces:
        rng.shuffle(by_prov[p])
    chosen: list[str] = []
    total = 0
    outage_prov = provinces[0]
    # The outage province plays two kabupaten (its network is cut as a whole), then one per
    # province in turn, round after round, until the target (at least one other province: the
    # wall's).
    for _ in range(2):
        if by_prov[outage_prov]:
            kab = by_prov[outage_prov].pop()
            chosen.append(kab)
            total += sizes[kab][1]
    others = provinces[1:]
    while (total < target_tps or len(chosen) < 3) and any(by_prov[p] for p in others):
        for p in others:
            if by_prov[p]:
                kab = by_prov[p].pop()
                chosen.append(kab)
                total += sizes[kab][1]
                if total >= target_tps and len(chosen) >= 3:
                    break
    wall = next(k for k in chosen if sizes[k][0] != outage_prov)
    now = datetime.now(UTC)
    devices: list[dict[str, Any]] = []
    with Session(engine) as s:
        rows = s.execute(
            text(
                "SELECT a.officer_id, t.code, t.kabupaten_code, t.province_code FROM assignment a "
                "JOIN tps t ON t.id = a.tps_id WHERE t.kabupaten_code = ANY(:kabs) "
                "ORDER BY a.officer_id, t.code"
            ),
            {"kabs": chosen},
        ).all()
        codes: dict[int, list[str]] = defaultdict(list)
        where: dict[int, tuple[str, str]] = {}
        probe_tps = ""
        for oid, code, kab, prov in rows:
            if kab == wall and not probe_tps:
                probe_tps = code  # the probe's own TPS: no officer's phone reports it
                continue
            if code == probe_tps:
                continue
            codes[oid].append(code)
            where[oid] = (kab, prov)
        for oid in sorted(codes):
            kab, prov = where[oid]
            _, token = issue(
                session=s,
                kind=CredentialKind.DEVICE,
                name="national day phone",
                officer_id=oid,
                area_code=kab,
                now=now,
            )
            devices.append({"token": token, "tps": codes[oid], "kab": kab, "prov": prov})
        probe_officer = next(oid for oid in sorted(codes) if where[oid][0] == wall)
        _, probe_token = issue(
            session=s,
            kind=CredentialKind.DEVICE,
            name="national day probe",
            officer_id=probe_officer,
            area_code=wall,
            now=now,
        )
        _, viewer = issue(
            session=s, kind=CredentialKind.PERSON, name="nasional", role=Role.VIEWER, now=now
        )
        _, wall_viewer = issue(
            session=s,
            kind=CredentialKind.PERSON,
            name="wall",
            role=Role.VIEWER,
            area_code=wall,
            now=now,
        )
        s.commit()
    engine.dispose()
    rng.shuffle(devices)  # phones of every kabupaten on both nodes and in both processes
    return Played(
        kabupaten=chosen,
        tps=total - 1,
        devices=devices,
        outage_province=outage_prov,
        outage_kabupaten=[k for k in chosen if sizes[k][0] == outage_prov],
        wall_kabupaten=wall,
        probe_tps=probe_tps,
        probe_token=probe_token,
        viewer=viewer,
        wall_viewer=wall_viewer,
        national_tps=national,
    )


# --- nodes -------------------------------------------------------------------------------------


class Nodes:
    """Two `posko serve` processes; either can be killed and started again on its port."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        # One after the other (the first records the exercise clock's origin, the second
        # follows it); on the national registry under a shared machine's load a node may take
        # minutes to answer, longer than start_node waits.
        self.nodes: list[Node] = []
        self.start_s: list[float] = []
        try:
            for i in range(2):
                port = free_port()
                log = logs / f"node-{port}.log"
                with log.open("wb") as out:
                    self.nodes.append(Node(port, _popen(port, 1, env, out), log))
                self.start_s.append(self.wait(i))
        except BaseException:
            self.stop()
            raise

    def wait(self, i: int, deadline_s: float = 600.0) -> float:
        """Wait until node i answers /healthz; the seconds it took."""
        n = self.nodes[i]
        t0 = time.monotonic()
        while time.monotonic() - t0 < deadline_s:
            if n.proc.poll() is not None:
                raise RuntimeError(f"node exited: {n.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(n.url + "/healthz", timeout=2).status_code in (200, 503):
                    return time.monotonic() - t0
            time.sleep(0.2)
        raise RuntimeError(f"node did not start: {n.log.read_text()[-3000:]}")

    def kill(self, i: int) -> None:
        """SIGKILL node i (a crash: no lease released, no socket closed)."""
        self.nodes[i].kill()

    def restart(self, i: int) -> None:
        """Start node i again on its port (without waiting for it)."""
        old = self.nodes[i]
        log = self.logs / f"node-{old.port}-again.log"
        with log.open("ab") as out:
            proc = _popen(old.port, 1, self.env, out)
        self.nodes[i] = Node(old.port, proc, log)

    def stop(self) -> None:
        """Stop both."""
        for n in self.nodes:
            n.stop()


def rss_mib(pid: int) -> float | None:
    """Resident memory of a process, MiB (None once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# --- screens, probe and the watch on the nodes -------------------------------------------------


@dataclass
class Watch:
    """What the screens, the probe and the health poll saw (monotonic seconds from go)."""

    go: float = 0.0
    probe_sent: dict[datetime, float] = field(default_factory=dict)
    probe_ids: set[str] = field(default_factory=set)
    probe_ack: list[tuple[float, float]] = field(default_factory=list)  # (offset, latency)
    seen: dict[str, dict[datetime, float]] = field(default_factory=lambda: defaultdict(dict))
    outage_open: dict[str, float] = field(default_factory=dict)  # kab -> first seen open
    outage_closed: dict[str, float] = field(default_factory=dict)
    rollup: list[tuple[float, float]] = field(default_factory=list)
    health: list[tuple[float, int, bool, str | None]] = field(default_factory=list)
    lease: list[tuple[float, str | None]] = field(default_factory=list)  # alerts lease holder
    raised: dict[str, str] = field(default_factory=dict)  # kab -> raised_at (exercise clock)
    rss: list[tuple[float, int, float]] = field(default_factory=list)
    resyncs: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    frames: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def t(self) -> float:
        """Seconds since go."""
        return time.time() - self.go


def _parse(ts: str | None) -> datetime | None:
    return datetime.fromisoformat(ts) if ts else None


async def _screen(
    name: str,
    urls: list[str],
    token: str,
    area: str | None,
    w: Watch,
    probe: str,
    kabs: set[str],
    stop: asyncio.Event,
) -> None:
    """A /ws/live subscriber; reconnects to the other node when its node goes."""
    from websockets.asyncio.client import connect

    i = 0 if name == "nasional" else 1
    q = f"?area={area}" if area else ""
    while not stop.is_set():
        try:
            async with connect(
                f"{urls[i]}/ws/live{q}",
                additional_headers={"Authorization": f"Bearer {token}"},
                max_size=None,
                open_timeout=10,
            ) as ws:
                reader = asyncio.ensure_future(_read_screen(ws, name, w, probe, kabs))
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                reader.cancel()
                with contextlib.suppress(BaseException):
                    await reader
        except Exception:  # the node is gone: the screen reconnects, as the wall does
            pass
        i = (i + 1) % len(urls)
        await asyncio.sleep(0.3)


async def _read_screen(ws: Any, name: str, w: Watch, probe: str, kabs: set[str]) -> None:
    async for raw in ws:
        now = w.t()
        msg = orjson.loads(raw)
        kind = msg.get("type")
        if kind == "resync":
            w.resyncs[name] += 1
        if kind != "delta":
            continue
        w.frames[name] += 1
        for row in msg.get("tps", ()):
            if row.get("code") == probe:
                at = _parse(row.get("last_seen_at"))
                if at is not None and at not in w.seen[name]:
                    w.seen[name][at] = now
        if name != "nasional":
            continue
        for a in msg.get("alerts", ()):
            if a.get("kind") != "network_outage" or a.get("subject") not in kabs:
                continue
            w.raised.setdefault(a["subject"], a.get("raised_at") or "")
            if a.get("cleared_at") is None:
                w.outage_open.setdefault(a["subject"], now)
            else:
                w.outage_closed.setdefault(a["subject"], now)


async def _probe(urls: list[str], p: Played, w: Watch, sim: "SimClock", stop: asyncio.Event):
    """A phone of the wall's kabupaten: one ping a second about its own TPS, situation flipping."""
    from websockets.asyncio.client import connect

    flip = False
    i = 1
    while not stop.is_set():
        try:
            async with connect(
                f"{urls[i]}/ws/field",
                additional_headers={"Authorization": f"Bearer {p.probe_token}"},
                open_timeout=10,
            ) as ws:
                while not stop.is_set():
                    flip = not flip
                    at = sim.now()
                    ev = {
                        "type": "ping",
                        "event_id": str(uuid.uuid4()),
                        "tps": p.probe_tps,
                        "phase": "pemungutan" if at >= VOTING_OPENS else "persiapan",
                        "situation": "waspada" if flip else "aman",
                        "device_time": at.isoformat(),
                    }
                    t0 = time.time()
                    await ws.send(orjson.dumps(ev).decode())
                    w.probe_sent[at] = t0 - w.go
                    ack = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
                    if ack.get("result") in ("stored", "duplicate"):
                        w.probe_ack.append((t0 - w.go, time.time() - t0))
                        w.probe_ids.add(ev["event_id"])
                    await asyncio.sleep(max(0.0, 1.0 - (time.time() - t0)))
        except Exception:  # node gone: the probe phone reconnects elsewhere
            pass
        i = (i + 1) % len(urls)
        await asyncio.sleep(0.3)


async def _rollup(urls: list[str], token: str, w: Watch, stop: asyncio.Event) -> None:
    """The /nasional page's read: the national rollup every 3 s."""
    async with httpx.AsyncClient(timeout=30) as client:
        i = 0
        while not stop.is_set():
            t0 = time.time()
            try:
                r = await client.get(
                    urls[i] + "/api/v1/rollup", headers={"Authorization": f"Bearer {token}"}
                )
                if r.status_code == 200:
                    w.rollup.append((t0 - w.go, time.time() - t0))
                else:
                    i = (i + 1) % len(urls)
            except httpx.HTTPError:
                i = (i + 1) % len(urls)
            await asyncio.sleep(max(0.0, ROLLUP_EVERY_S - (time.time() - t0)))


def _health(nodes: Nodes, w: Watch, stop: threading.Event) -> None:
    """Every second: which node sweeps, when it last swept (exercise clock), memory."""
    eng = create_engine(nodes.env["POSKO_DATABASE_URL"])
    with httpx.Client(timeout=10) as client:  # a node's loop lags by seconds under this load
        while not stop.is_set():
            t = time.time()  # epoch: this starts before `go` is known
            with contextlib.suppress(Exception), eng.connect() as c:
                row = c.execute(text("SELECT holder FROM lease WHERE name = 'alerts'")).first()
                w.lease.append((t, row[0] if row else None))
            for i, n in enumerate(nodes.nodes):
                rss = rss_mib(n.proc.pid)
                if rss is not None and n.proc.poll() is None:
                    w.rss.append((t, i, rss))
                try:
                    h = client.get(n.url + "/healthz").json()
                    w.health.append((t, i, bool(h.get("sweeper_leader")), h.get("last_sweep_at")))
                except (httpx.HTTPError, ValueError):
                    pass
            stop.wait(1.0)
    eng.dispose()


class SimClock:
    """The nodes' exercise clock, read once from a node and followed here."""

    def __init__(self, url: str) -> None:
        data = httpx.get(url + "/api/v1/clock", timeout=10).json()
        self.real0 = time.time()
        self.sim0 = datetime.fromisoformat(data["now"])
        self.speed = float(data["speed"])

    def now(self) -> datetime:
        """Exercise time now."""
        return self.sim0 + timedelta(seconds=(time.time() - self.real0) * self.speed)

    def real(self, at: datetime) -> float:
        """The epoch second at which the exercise clock reads `at`."""
        return self.real0 + (at - self.sim0).total_seconds() / self.speed


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Plan:
    """The timeline in real seconds from go."""

    speed: float
    steps: list[float]

    def sim_s(self, minutes: float) -> float:
        """Real seconds for exercise minutes."""
        return minutes * 60.0 / self.speed

    def segments(self) -> list[tuple[str, float, float, float]]:
        """(label, from, to, multiplier)."""
        m = self.sim_s
        out = [
            ("opening burst 5x", 0.0, m(6), BURST),
            ("steady 1x", m(6), m(12), 1.0),
            ("province outage, 1x", m(12), m(12 + OUTAGE_MIN), 1.0),
            ("steady 1x after the outage", m(32), m(36), 1.0),
            ("node killed and restarted, 1x", m(36), m(44), 1.0),
            ("closing burst 5x", m(44), m(50), BURST),
        ]
        t = m(50)
        for k in self.steps:
            out.append((f"step {k:g}x", t, t + 30.0, k))
            t += 30.0
        return out

    @property
    def outage(self) -> tuple[float, float]:
        """Real seconds the outage province is off the network."""
        return self.sim_s(12), self.sim_s(12 + OUTAGE_MIN)

    @property
    def kill_at(self) -> float:
        """When the alert-lease holder is killed."""
        return self.sim_s(37)

    @property
    def end(self) -> float:
        """When the phones stop making pings."""
        return self.segments()[-1][2]


def _phones(cfg_base: dict[str, Any], devices: list[dict[str, Any]], n_proc: int, work: Path):
    procs = []
    for k in range(n_proc):
        cfg = {**cfg_base, "devices": devices[k::n_proc], "out": str(work / f"phones-{k}.json")}
        path = work / f"phones-{k}.cfg.json"
        path.write_text(json.dumps(cfg))
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "bench.national_phones", "@" + str(path)],
                cwd=REPO,
                env=python_env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=(work / f"phones-{k}.err").open("wb"),
                text=True,
            )
        )
    return procs


def due_moments(url: str, kabs: list[str], sim: SimClock) -> dict[str, float]:
    """When each kabupaten's outage becomes due by the rule, as epoch seconds.

    From the facts the sweep itself reads (last heard per TPS, from it or its officers' phones),
    after the province's phones stopped: the moment the k-th least recently heard watched TPS
    passes the silence window, k = max(outage_min_tps, ceil(outage_share x watched)).
    """
    from backend.alerts.service import load_facts
    from backend.config import Settings
    from backend.db import make_engine
    from backend.tps.liveness import grace_s

    settings = Settings(database_url=url, secret_key=TEST_SECRET)
    engine = make_engine(settings)
    out = {}
    with Session(engine) as s:
        for kab in kabs:
            facts = load_facts(
                session=s,
                now=sim.now(),
                listening_since=SIM_START,
                intake_stalled=False,
                area_code=kab,
            )
            heard = sorted(
                t.last_heard_at or SIM_START
                for t in facts.tps
                if grace_s(settings, t.risk, t.phase) is not None
            )
            if not heard:
                continue
            k = max(settings.outage_min_tps, math.ceil(settings.outage_share * len(heard)))
            due = heard[min(k, len(heard)) - 1] + timedelta(minutes=settings.outage_silence_min)
            out[kab] = sim.real(due)
    engine.dispose()
    return out


def stored_once(url: str, acked: set[str]) -> dict[str, int]:
    """Every acknowledged event id against the ping table: missing, doubled, rows not acked."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        conn.execute("CREATE TEMP TABLE acked (event_id uuid PRIMARY KEY)")
        with conn.cursor() as cur, cur.copy("COPY acked FROM STDIN") as copy:
            for eid in acked:
                copy.write_row((eid,))
        missing = conn.execute(
            "SELECT count(*) FROM acked a LEFT JOIN ping p ON p.event_id = a.event_id "
            "WHERE p.id IS NULL"
        ).fetchone()
        doubled = conn.execute(
            "SELECT count(*) FROM (SELECT event_id FROM ping GROUP BY event_id "
            "HAVING count(*) > 1) d"
        ).fetchone()
        rows = conn.execute("SELECT count(*) FROM ping").fetchone()
        unacked = conn.execute(
            "SELECT count(*) FROM ping p LEFT JOIN acked a ON a.event_id = p.event_id "
            "WHERE a.event_id IS NULL"
        ).fetchone()
    assert missing and doubled and rows and unacked
    return {
        "acked": len(acked),
        "missing": int(missing[0]),
        "doubled": int(doubled[0]),
        "rows": int(rows[0]),
        "rows_not_acked": int(unacked[0]),
    }


def db_size(url: str) -> int:
    """pg_database_size of the run's database, bytes."""
    return int(_scalar(url, "SELECT pg_database_size(current_database())"))


def measure(
    *,
    rate: float,
    speed: float,
    steps: list[float],
    reuse: bool,
    processes: int = 2,
    credential_cache_s: float | None = None,
    say: Any = print,
) -> dict[str, Any]:
    """Run the day; every raw number the figures need."""
    m: dict[str, Any] = {"rate": rate, "speed": speed, "steps": steps, "load": [os.getloadavg()]}
    m["credential_cache_s"] = credential_cache_s
    _, m["build_s"] = template(reuse, say)
    prefix = f"posko:soak:{uuid.uuid4().hex}:"
    plan = Plan(speed, steps)
    _pg_admin(f'DROP DATABASE IF EXISTS "{RUN_DB}" WITH (FORCE)')
    t0 = time.perf_counter()
    _pg_admin(f'CREATE DATABASE "{RUN_DB}" TEMPLATE "{TEMPLATE}"')
    url = _pg_url(RUN_DB)
    m["copy_s"] = time.perf_counter() - t0
    nodes: Nodes | None = None
    procs: list[subprocess.Popen[str]] = []
    work = Path(tempfile.mkdtemp(prefix="posko-soak-"))
    try:
        from backend.db import make_engine
        from backend.migrate import upgrade

        eng = make_engine(bench_settings(url))
        upgrade(eng)  # a template from before a new migration
        eng.dispose()
        target = int(rate * BASE_MIN * 60 / speed)
        t0 = time.perf_counter()
        p = play(url, target)
        m["play_s"] = time.perf_counter() - t0
        m["played"] = {
            "kabupaten": len(p.kabupaten),
            "tps": p.tps,
            "phones": len(p.devices),
            "national_tps": p.national_tps,
            "outage_province": p.outage_province,
            "outage_kabupaten": p.outage_kabupaten,
            "wall": p.wall_kabupaten,
        }
        say(f"played: {m['played']}")
        env = node_env(
            url,
            POSKO_BROADCAST_URL=redis_url(prefix),
            POSKO_CLOCK_START=SIM_START.isoformat(),
            POSKO_CLOCK_SPEED=str(speed),
            POSKO_OFFICER_GRACE_MIN=str(1000 * 24 * 60),
            POSKO_CALENDAR=json.dumps({"open_late_min": 600}),
            POSKO_REPORT_SCHEDULE="false",
            POSKO_OUTAGE_SILENCE_MIN=str(SILENCE_MIN),
            **(
                {"POSKO_CREDENTIAL_CACHE_S": str(credential_cache_s)}
                if credential_cache_s is not None
                else {}
            ),
        )
        t0 = time.perf_counter()
        nodes = Nodes(env, work)
        m["node_start_s"] = nodes.start_s
        urls = [n.url for n in nodes.nodes]
        ws_urls = [n.ws_url for n in nodes.nodes]
        m["rss_start"] = [rss_mib(n.proc.pid) for n in nodes.nodes]
        w = Watch()
        stop_health = threading.Event()
        health = threading.Thread(target=_health, args=(nodes, w, stop_health), daemon=True)
        health.start()
        sim = SimClock(urls[0])
        m["size_start"] = db_size(url)
        per_tps = speed / (BASE_MIN * 60)
        o_from, o_to = plan.outage
        cfg = {
            "nodes": ws_urls,
            "per_tps_rate": per_tps,
            "segments": [[a, b, k] for _, a, b, k in plan.segments()],
            "outage": {"province": p.outage_province, "from": o_from, "to": o_to},
            "clock": {"sim0": sim.sim0.isoformat(), "real0": sim.real0, "speed": sim.speed},
            "end": plan.end,
            "drain_s": DRAIN_S,
        }
        t0 = time.perf_counter()
        procs = _phones(cfg, p.devices, processes, work)
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if line.strip() != "ready":
                raise RuntimeError(f"phones did not get ready: {line!r}")
        m["connect_s"] = time.perf_counter() - t0
        say(f"{len(p.devices)} phones connected in {m['connect_s']:.0f} s")

        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        stop_async = asyncio.Event()
        kabs = set(p.outage_kabupaten)

        async def screens() -> None:
            await asyncio.gather(
                _screen("nasional", ws_urls, p.viewer, None, w, p.probe_tps, kabs, stop_async),
                _screen(
                    "wall",
                    ws_urls,
                    p.wall_viewer,
                    p.wall_kabupaten,
                    w,
                    p.probe_tps,
                    kabs,
                    stop_async,
                ),
                _probe(ws_urls, p, w, sim, stop_async),
                _rollup(urls, p.viewer, w, stop_async),
            )

        # Idle baseline: the probe and the screens alone for a few seconds before the phones.
        w.go = time.time() + 12.0
        fut = asyncio.run_coroutine_threadsafe(screens(), loop)
        time.sleep(12.0)
        go = w.go
        m["go_sim"] = sim.now().isoformat()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(f"go {go}\n")
            proc.stdin.flush()
        say(f"go: {plan.end:.0f} s of schedule at x{speed:g}")

        # Faults on schedule.
        time.sleep(max(0.0, go + o_from + 3.0 * 60 / speed + 2.0 - time.time()))
        m["due"] = {k: v - go for k, v in due_moments(url, p.outage_kabupaten, sim).items()}
        say(f"outage due (s from go): {m['due']}")
        time.sleep(max(0.0, go + plan.kill_at - time.time()))
        leaders = [i for _t, i, lead, _ in reversed(w.health[-6:]) if lead]
        victim = leaders[0] if leaders else 0
        m["kill"] = {"node": victim, "at": w.t()}
        m["rss_before_kill"] = [r for _t, i, r in w.rss if i == victim][-1:]
        nodes.kill(victim)
        say(f"killed node {victim} (alert lease holder: {bool(leaders)}) at {w.t():.0f} s")
        time.sleep(10.0)
        nodes.restart(victim)
        m["kill"]["restarted_at"] = w.t()

        results = []
        for proc in procs:
            assert proc.stdout is not None and proc.stdin is not None
            out = proc.stdout.read()
            proc.wait(timeout=900)
            if proc.returncode != 0 or not out.strip():
                raise RuntimeError(f"phones failed ({proc.returncode})")
            results.append(json.loads(out.strip().splitlines()[-1]))
        m["phones_done"] = w.t()
        time.sleep(3.0)  # the last deltas reach the screens
        loop.call_soon_threadsafe(stop_async.set)
        with contextlib.suppress(Exception):
            fut.result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        stop_health.set()
        health.join(timeout=10)
        m["load"].append(os.getloadavg())
        m["size_end"] = db_size(url)
        m["phones"] = results
        m["rss_end"] = [rss_mib(n.proc.pid) for n in nodes.nodes]
        acked: set[str] = set()
        lat: list[tuple[float, float]] = []
        for k in range(len(procs)):
            acked.update(x for x in (work / f"phones-{k}.acked").read_text().split() if x)
            lat += [tuple(x) for x in orjson.loads((work / f"phones-{k}.lat").read_bytes())]
        m["stored"] = stored_once(url, acked | w.probe_ids)
        m["lat"] = lat
        m["watch"] = w
        m["plan"] = plan
        m["sim"] = sim
        m["wall_s"] = w.t()
        # Raw numbers kept for `--from` (the analysis can be redone without a 20-minute run).
        RAW.parent.mkdir(exist_ok=True)
        RAW.write_bytes(pickle.dumps(m))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        if nodes is not None:
            nodes.stop()
        _pg_admin(f'DROP DATABASE IF EXISTS "{RUN_DB}" WITH (FORCE)')
        if not reuse:
            _pg_admin(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
        _clean_redis(prefix)
    return m


def _clean_redis(prefix: str) -> None:
    with contextlib.suppress(Exception):
        from redis import Redis

        r = Redis(host=REDIS_HOST, port=REDIS_PORT)
        keys = list(r.scan_iter(match=prefix + "*", count=1000))
        if keys:
            r.delete(*keys)
        r.close()


# --- figures -----------------------------------------------------------------------------------


def _p(xs: list[float], q: float) -> float:
    return pct(xs, q) if xs else float("nan")


def analyse(m: dict[str, Any]) -> dict[str, Any]:
    """The numbers the figures and the paper sizing use, from the raw measurement."""
    w: Watch = m["watch"]
    health = [(t - w.go, i, lead, last) for t, i, lead, last in w.health]
    plan: Plan = m["plan"]
    sim: SimClock = m["sim"]
    played = m["played"]
    per_tps = plan.speed / (BASE_MIN * 60)
    segs = []
    for label, a, b, k in plan.segments():
        lat = [x * 1000 for off, x in m["lat"] if a <= off < b]
        offered = played["tps"] * per_tps * k
        segs.append(
            {
                "label": label,
                "from": a,
                "to": b,
                "mult": k,
                "offered": offered,
                "rate": len(lat) / (b - a),
                "p50": _p(lat, 50),
                "p95": _p(lat, 95),
                "p99": _p(lat, 99),
            }
        )
    all_lat = [x * 1000 for _off, x in m["lat"]]
    clean = [s for s in segs if "outage" not in s["label"] and "killed" not in s["label"]]
    held = [s for s in clean if s["p95"] <= TARGET_P95_MS]
    largest = max(held, key=lambda s: s["rate"]) if held else None
    first_miss = min(
        (s for s in clean if s["p95"] > TARGET_P95_MS), key=lambda s: s["rate"], default=None
    )

    def screen(name: str, loaded: bool) -> list[float]:
        out = []
        for at, sent in w.probe_sent.items():
            got = w.seen[name].get(at)
            if got is not None and (sent >= 0) == loaded:
                out.append((got - sent) * 1000)
        return out

    def split(xs: list[tuple[float, float]], loaded: bool) -> list[float]:
        return [v * 1000 for off, v in xs if (off >= 0) == loaded]

    # Sweeps: distinct last_sweep_at values of the node that swept, in order.
    sweeps: list[tuple[float, datetime]] = []
    seen_at: set[str] = set()
    for t, _i, lead, last in health:
        if lead and last and last not in seen_at:
            seen_at.add(last)
            sweeps.append((t, datetime.fromisoformat(last)))
    sweeps.sort(key=lambda x: x[1])
    gaps = [
        ((b[1] - a[1]).total_seconds() / plan.speed, b[0]) for a, b in itertools.pairwise(sweeps)
    ]
    kill_at = m["kill"]["at"]
    sweep_idle = [g for g, t in gaps if t < 0]
    sweep_load = [g for g, t in gaps if 0 <= t < kill_at - 15 or t > kill_at + 60]
    victim = m["kill"]["node"]
    holders = [(t - w.go, h) for t, h in getattr(w, "lease", [])]
    before = [h for t, h in holders if t < kill_at]
    lease_moved = next(
        (t - kill_at for t, h in holders if t > kill_at and before and h and h != before[-1]),
        float("nan"),
    )
    raised = {
        k: sim.real(datetime.fromisoformat(v)) - w.go - m["due"][k]
        for k, v in getattr(w, "raised", {}).items()
        if v and k in m["due"]
    }
    takeover = next(
        (
            t - kill_at
            for t, _i, lead, last in health
            if t > kill_at
            and lead
            and last
            and sim.real(datetime.fromisoformat(last)) - w.go > kill_at
        ),
        float("nan"),
    )
    back = [
        (b - a, b - kill_at)
        for r in m["phones"]
        for a, b in r["reconnects"]
        if kill_at - 1 <= a <= kill_at + 15
    ]
    alert = {k: w.outage_open[k] - due for k, due in m["due"].items() if k in w.outage_open}
    o_from, o_to = plan.outage
    cleared = {k: t - o_to for k, t in w.outage_closed.items()}
    rss: dict[int, list[float]] = defaultdict(list)
    for _t, i, r in w.rss:
        rss[i].append(r)
    rows = m["stored"]["rows"]
    grow = m["size_end"] - m["size_start"]
    per_event = grow / rows if rows else float("nan")
    return {
        "segments": segs,
        "all": {"p50": _p(all_lat, 50), "p95": _p(all_lat, 95), "p99": _p(all_lat, 99)},
        "acks_per_s": len(all_lat) / plan.end,
        "largest": largest,
        "first_miss": first_miss,
        "screen": {
            name: {"idle": screen(name, False), "load": screen(name, True)}
            for name in ("nasional", "wall")
        },
        "probe_ack": {"idle": split(w.probe_ack, False), "load": split(w.probe_ack, True)},
        "rollup": {"idle": split(w.rollup, False), "load": split(w.rollup, True)},
        "sweep": {"idle": sweep_idle, "load": sweep_load, "n": len(sweeps)},
        "takeover": takeover,
        "lease_moved": lease_moved,
        "raised": raised,
        "victim": victim,
        "back": back,
        "alert": alert,
        "cleared": cleared,
        "rss": {i: {"max": max(v), "start": m["rss_start"][i]} for i, v in rss.items()},
        "grow_per_h": grow / m["wall_s"] * 3600,
        "per_event": per_event,
        "national_per_h": per_event * NATIONAL_TPS / (BASE_MIN * 60) * 3600,
        "outage": (o_from, o_to),
    }


def figures_from(m: dict[str, Any]) -> list[Figure]:
    """The national day's figures, each beside a baseline from the same run."""
    a = analyse(m)
    pl = m["played"]
    seg = {s["label"]: s for s in a["segments"]}
    steady = seg["steady 1x"]
    load = f"load avg {m['load'][0][0]:.1f} → {m['load'][-1][0]:.1f}"
    scope = (
        f"{pl['tps']:,} TPS of {pl['national_tps']:,} played ({pl['kabupaten']} kabupaten), "
        f"{pl['phones']:,} phones, exercise clock x{m['speed']:g}, credential cache "
        f"{m.get('credential_cache_s') or 5:g} s; {load}"
    )
    out = [
        Figure(
            SUITE,
            "acks/s, steady 1x (every played TPS every 10 exercise minutes)",
            round(steady["rate"], 1),
            "acks/s",
            baseline="offered by the schedule",
            baseline_value=round(steady["offered"], 1),
            target="≥ 0.95 x offered",
            met=steady["rate"] >= 0.95 * steady["offered"],
            note=f"{scope}; whole run {a['acks_per_s']:.0f} acks/s over {m['plan'].end:.0f} s",
        ),
    ]
    for q in (50, 95, 99):
        out.append(
            Figure(
                SUITE,
                f"ack p{q}, steady 1x",
                round(steady[f"p{q}"], 1),
                "ms",
                baseline=f"probe phone's ack p{q} before the load (same nodes)",
                baseline_value=round(_p(a["probe_ack"]["idle"], q), 1),
                target="≤ 250 ms" if q == 95 else None,
                met=steady["p95"] <= TARGET_P95_MS if q == 95 else None,
                note=f"whole run p{q} {a['all'][f'p{q}']:.0f} ms (faults and steps included)",
            )
        )
    for label in ("opening burst 5x", "closing burst 5x"):
        s = seg[label]
        out.append(
            Figure(
                SUITE,
                f"ack p95, {label} ({s['rate']:.0f} acks/s of {s['offered']:.0f} offered)",
                round(s["p95"], 1),
                "ms",
                baseline="ack p95 steady 1x",
                baseline_value=round(steady["p95"], 1),
                target="≤ 250 ms",
                met=s["p95"] <= TARGET_P95_MS,
                note=f"p50 {s['p50']:.0f} ms, p99 {s['p99']:.0f} ms",
            )
        )
    big, miss = a["largest"], a["first_miss"]
    steps_note = "; ".join(
        f"{s['label']}: {s['rate']:.0f}/s p95 {s['p95']:.0f} ms"
        for s in a["segments"]
        if "outage" not in s["label"] and "killed" not in s["label"]
    )
    out.append(
        Figure(
            SUITE,
            "largest load held with ack p95 ≤ 250 ms (2 nodes + PostgreSQL + load, 2 cores)",
            round(big["rate"], 0) if big else 0.0,
            "acks/s",
            baseline="national average profile (435,296 TPS every 10 min)",
            baseline_value=round(NATIONAL_TPS / (BASE_MIN * 60), 0),
            note=(
                f"{big['label'] if big else 'none'}"
                + (
                    f"; first over: {miss['label']} {miss['rate']:.0f}/s"
                    if miss
                    else "; no step missed"
                )
                + f" — {steps_note}"
            ),
        )
    )
    for name, label in (("nasional", "national screen (channel nat)"), ("wall", "kabupaten wall")):
        sc = a["screen"][name]
        out.append(
            Figure(
                SUITE,
                f"ping → its TPS change on the {label}, p95 (at the websocket)",
                round(_p(sc["load"], 95), 1),
                "ms",
                baseline="the same before the load",
                baseline_value=round(_p(sc["idle"], 95), 1),
                note=(
                    f"probe 1/s, {len(sc['load'])} under load, p50 {_p(sc['load'], 50):.0f} ms; "
                    "a /nasional page re-reads the rollup every 3 s on top of this"
                ),
            )
        )
    r = a["rollup"]
    out.append(
        Figure(
            SUITE,
            "national rollup read (/nasional's 3 s read, GET /api/v1/rollup), p95",
            round(_p(r["load"], 95), 1),
            "ms",
            baseline="the same before the load",
            baseline_value=round(_p(r["idle"], 95), 1),
            note=f"{len(r['load'])} reads under load, p50 {_p(r['load'], 50):.0f} ms",
        )
    )
    sw = a["sweep"]
    out.append(
        Figure(
            SUITE,
            "alert sweep of 435k TPS, start to start, p50 (≈ pass + 2 s interval)",
            round(_p(sw["load"], 50), 1),
            "s",
            baseline="the same before the load" if sw["idle"] else "sweep interval setting",
            baseline_value=round(_p(sw["idle"], 50), 1) if sw["idle"] else 2.0,
            note=(
                f"{len(sw['load'])} passes under load, "
                f"max {max(sw['load'], default=float('nan')):.1f} s"
                " (from the leader's /healthz last_sweep_at, exercise clock / speed)"
            ),
        )
    )
    alert, cleared, raised = a["alert"], a["cleared"], a.get("raised", {})
    # On screen if a screen saw it open; else the server's own raised_at (a screen that was
    # reconnecting missed the delta): both are after the due moment, in real seconds.
    worst = max(alert.values()) if alert else (max(raised.values()) if raised else float("nan"))
    out.append(
        Figure(
            SUITE,
            f"network_outage raised after it fell due, worst of {len(m['due'])} kabupaten",
            round(worst, 1),
            "s",
            baseline="alert sweep start to start p50",
            baseline_value=round(_p(sw["load"], 50), 1),
            target="≤ one sweep pass + 2 s, within the outage",
            met=bool(alert)
            and len(alert) == len(m["due"])
            and max(alert.values()) <= max(sw["load"], default=0) + 2,
            note=(
                f"province {pl['outage_province']} off for {OUTAGE_MIN:g} exercise min "
                f"({a['outage'][1] - a['outage'][0]:.0f} s real); due = the rule's moment from the "
                "last-heard times; seen open on the national screen: "
                + (", ".join(f"{k} +{v:.1f} s" for k, v in sorted(alert.items())) or "never")
                + "; raised_at (server) after due: "
                + (", ".join(f"{k} +{v:.1f} s" for k, v in sorted(raised.items())) or "n/a")
                + "; cleared seen after the network came back: "
                + (", ".join(f"{k} +{v:.1f} s" for k, v in sorted(cleared.items())) or "never")
            ),
        )
    )
    back = a["back"]
    out.append(
        Figure(
            SUITE,
            "alert sweep running again after its node was SIGKILLed",
            round(a["takeover"], 1),
            "s",
            baseline="alert sweep start to start p50",
            baseline_value=round(_p(sw["load"], 50), 1),
            target="≤ lease 10 s + one pass",
            met=a["takeover"] <= 10 + max(sw["load"], default=0) + 2,
            note=(
                f"alerts lease changed hands {a.get('lease_moved', float('nan')):.1f} s after the "
                f"kill; node {a['victim']} killed, restarted 10 s later; {len(back)} phones moved, "
                f"worst reconnect {max((b for b, _ in back), default=float('nan')):.1f} s "
                f"(first connection of all phones: {m['connect_s']:.0f} s)"
            ),
        )
    )
    st = m["stored"]
    out.append(
        Figure(
            SUITE,
            "acknowledged events missing or stored twice",
            float(st["missing"] + st["doubled"]),
            "events",
            baseline="events acknowledged",
            baseline_value=float(st["acked"]),
            target="0",
            met=st["missing"] == 0 and st["doubled"] == 0,
            note=(
                f"{st['rows']:,} ping rows, {st['rows_not_acked']} stored but never acked; "
                f"resent after drops: {sum(r['resent'] for r in m['phones']):,}; rejected "
                f"{sum(r['rejected'] for r in m['phones'])}, error frames "
                f"{sum(r['errors'] for r in m['phones'])}"
            ),
        )
    )
    for i, v in sorted(a["rss"].items()):
        out.append(
            Figure(
                SUITE,
                f"memory of node {i} (RSS, max over the run)",
                round(v["max"], 0),
                "MiB",
                baseline="RSS after start on the national registry",
                baseline_value=round(v["start"] or float("nan"), 0),
                note=f"~{pl['phones'] // 2:,} phones per node; node {a['victim']} was restarted",
            )
        )
    out.append(
        Figure(
            SUITE,
            "database growth per hour at this run's rate",
            round(a["grow_per_h"] / 2**20, 0),
            "MiB/h",
            baseline="database size at start, MiB (the national registry)",
            baseline_value=round(m["size_start"] / 2**20, 0),
            note=(
                f"{a['per_event']:.0f} bytes per stored ping (with indexes, alerts, audit); at the "
                f"national average (725 pings/s) ~{a['national_per_h'] / 2**30:.1f} GiB/h"
            ),
        )
    )
    return out


def write_results(figs: list[Figure], m: dict[str, Any]) -> None:
    """Replace this suite's rows in bench/results.md and .json (as `bench.run --keep-others`)."""
    from bench.report import load_average, now_iso, write

    out = Path(__file__).resolve().parent
    old = json.loads((out / "results.json").read_text())
    fields = set(Figure.__dataclass_fields__)
    kept = [
        Figure(**{k: v for k, v in f.items() if k in fields})
        for f in old["figures"]
        if f["suite"] != SUITE
    ]
    earlier = f"{old['rerun']}; " if old.get("rerun") else ""
    facts = {k: old[k] for k in ("started", "quick", "machine", "load_before") if k in old}
    facts["rerun"] = f"{earlier}{SUITE} re-run at {now_iso()} (python -m bench.national_day)"
    facts["finished"] = now_iso()
    facts["seconds"] = old.get("seconds", 0.0)
    facts["load_after"] = load_average()
    skipped = {k: v for k, v in old.get("skipped", {}).items() if k != SUITE}
    write(out, kept + figs, facts, old.get("command", "python -m bench.run"), skipped)


def run(quick: bool) -> list[Figure]:
    """The national day for bench.run (quick: x20 clock, fewer steps)."""
    reuse = os.environ.get("POSKO_BENCH_KEEP_REGISTRY", "") == "1"
    # The credential cache at the value docs/deployment.md gives a national deployment: at the
    # default 5 s every frame of the national cadence reads the database on the loop.
    m = measure(
        rate=float(os.environ.get("POSKO_BENCH_NATIONAL_RATE", "60")),
        speed=12.0 if quick else 6.0,
        steps=[2.0] if quick else [2.0, 3.0, 8.0],
        reuse=reuse,
        credential_cache_s=float(os.environ.get("POSKO_BENCH_CREDENTIAL_CACHE_S", "600")),
    )
    return figures_from(m)


def main() -> None:
    """Run and print the figures (and the raw segments)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rate", type=float, default=60.0, help="pings/s at the base cadence")
    ap.add_argument("--speed", type=float, default=6.0, help="exercise clock speed")
    ap.add_argument("--steps", default="2,3,8", help="step multipliers after the day, 30 s each")
    ap.add_argument("--processes", type=int, default=2, help="phone processes")
    ap.add_argument(
        "--keep-registry",
        action="store_true",
        help=f"keep {TEMPLATE} afterwards and reuse it when present",
    )
    ap.add_argument(
        "--credential-cache-s",
        type=float,
        help="POSKO_CREDENTIAL_CACHE_S of the nodes (default: the setting's default, 5 s)",
    )
    ap.add_argument("--json", type=Path, help="write the analysed numbers here")
    ap.add_argument("--from", dest="raw", type=Path, help=f"analyse a kept run ({RAW})")
    ap.add_argument(
        "--results", action="store_true", help="put the figures into bench/results.md and .json"
    )
    args = ap.parse_args()
    if args.raw:
        m = pickle.loads(args.raw.read_bytes())  # our own file, written by measure()
    else:
        m = measure(
            rate=args.rate,
            speed=args.speed,
            steps=[float(x) for x in args.steps.split(",") if x],
            reuse=args.keep_registry,
            processes=args.processes,
            credential_cache_s=args.credential_cache_s,
        )
    figs = figures_from(m)
    a = analyse(m)
    for s in a["segments"]:
        print(
            f"  {s['label']:34s} offered {s['offered']:7.0f}/s  acked {s['rate']:7.0f}/s  "
            f"p50 {s['p50']:6.0f}  p95 {s['p95']:6.0f}  p99 {s['p99']:6.0f} ms"
        )
    for f in figs:
        met = "" if f.met is None else (" met" if f.met else " MISSED")
        print(f"{f.name}: {f.value:g} {f.unit} (baseline {f.baseline_value}){met} — {f.note}")
    if args.results:
        write_results(figs, m)
    if args.json:
        keep = {k: v for k, v in a.items() if k not in ("screen", "probe_ack", "rollup")}
        args.json.write_text(
            json.dumps(
                {
                    "measure": {
                        k: v
                        for k, v in m.items()
                        if k
                        in (
                            "rate",
                            "speed",
                            "played",
                            "build_s",
                            "copy_s",
                            "play_s",
                            "node_start_s",
                            "connect_s",
                            "load",
                            "stored",
                            "due",
                            "kill",
                            "rss_start",
                            "rss_end",
                            "size_start",
                            "size_end",
                            "wall_s",
                        )
                    },
                    "analysis": keep,
                },
                default=str,
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
