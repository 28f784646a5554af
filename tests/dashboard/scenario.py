"""The real OKU Timur registry in a fresh database, credentials, a browser, and a played morning.

Shared by the browser tests and `python -m tests.dashboard.make_screenshots`.
"""

import asyncio
import random
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlmodel import Session, col, select
from websockets.asyncio.client import ClientConnection, connect

from backend.auth.service import issue
from backend.config import Settings
from backend.db import make_engine
from backend.migrate import upgrade
from backend.officers.models import Assignment, Officer
from backend.registry.build import build_registry
from backend.registry.national import build_national
from backend.registry.service import write_registry
from backend.tps.models import Tps
from backend.tps.service import list_views
from schemas.enums import CredentialKind, Role
from schemas.live import TpsView
from tests.conftest import TEST_SECRET
from tests.factories import NOW
from tests.helpers import uuid7

CHROMIUM = "/usr/bin/chromium"
# Never --disable-software-rasterizer: it kills WebGL and the map never renders.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
WIB_OFFSET = "+07:00"


def has_chromium() -> bool:
    """Whether Debian's chromium is installed."""
    return Path(CHROMIUM).is_file() or shutil.which("chromium") is not None


def make_settings(db_path: Path, **overrides: Any) -> Settings:
    """Settings on a SQLite file, accepting election-day device times from any clock."""
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{db_path}",
        "secret_key": TEST_SECRET,
        "max_age_s": 10 * 365 * 24 * 3600.0,
        "max_future_s": 10 * 365 * 24 * 3600.0,
        "clock_skew_tolerance_s": 10 * 365 * 24 * 3600.0,
        "late_after_s": 10 * 365 * 24 * 3600.0,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class Seeded:
    """A database holding the real registry, and credentials for it."""

    settings: Settings
    kiosk: str
    commander: str
    devices: dict[str, str] = field(default_factory=dict)  # NRP -> device token
    views: list[TpsView] = field(default_factory=list)


def seed(settings: Settings, *, devices: bool = True) -> Seeded:
    """Write the seeded OKU Timur registry (1,012 TPS, 298 officers) and issue tokens."""
    engine = make_engine(settings)
    upgrade(engine)
    registry = build_registry(
        seed=2024, region_data_dir=settings.region_data_dir, boundaries_path=None
    )
    with Session(engine) as s:
        write_registry(session=s, registry=registry)
        _, kiosk = issue(session=s, kind=CredentialKind.KIOSK, name="wall", now=NOW)
        _, commander = issue(
            session=s, kind=CredentialKind.PERSON, name="kapolres", role=Role.COMMANDER, now=NOW
        )
        seeded = Seeded(settings=settings, kiosk=kiosk, commander=commander)
        seeded.views = list_views(session=s)
    if devices:
        with Session(engine) as s:
            officers = list(s.exec(select(Officer)))
            for o in officers:
                assert o.id is not None
                _, token = issue(
                    session=s,
                    kind=CredentialKind.DEVICE,
                    name=f"hp {o.nrp}",
                    officer_id=o.id,
                    area_code=o.kabupaten_code,
                    now=NOW,
                )
                seeded.devices[o.nrp] = token
    engine.dispose()
    return seeded


# -- a morning of election day ----------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Event:
    """One field event to send at a clock time, by an officer."""

    at: datetime
    nrp: str = field(compare=False)
    body: dict[str, Any] = field(compare=False)


def _ping(
    tps: str, phase: str, situation: str, at: datetime, note: str | None = None
) -> dict[str, Any]:
    body = {
        "type": "ping",
        "event_id": str(uuid7()),
        "tps": tps,
        "phase": phase,
        "situation": situation,
        "device_time": at.isoformat(),
    }
    if note:
        body["note"] = note
    return body


def _incident(tps: str, category: str, severity: int, at: datetime, text: str) -> dict[str, Any]:
    return {
        "type": "incident",
        "event_id": str(uuid7()),
        "tps": tps,
        "category": category,
        "severity": severity,
        "description": text,
        "device_time": at.isoformat(),
    }


INCIDENTS = (
    ("kericuhan", 4, "Adu mulut antar pendukung paslon di depan TPS, massa sekitar 30 orang."),
    ("politik_uang", 2, "Laporan warga: pembagian amplop di dekat TPS pagi ini."),
    ("intimidasi", 3, "Saksi paslon merasa diintimidasi oleh sekelompok orang tak dikenal."),
    ("logistik", 1, "Surat suara kurang 25 lembar, PPS sudah dihubungi."),
    ("unjuk_rasa", 4, "Massa menghadang kotak suara, meminta pemungutan ulang."),
    ("bencana_cuaca", 1, "Hujan deras, tenda TPS bocor; pemungutan tetap berjalan."),
)


def plan_morning(
    views: list[TpsView], *, day_start: datetime, until: datetime, seed_value: int = 27
) -> list[Event]:
    """Plausible field events from logistics at dawn to mid-morning voting, sorted by time.

    Every TPS: logistics arrive, preparation, voting from 07:00 with pings at a rhythm set by
    its risk rating; a few go quiet (their officer stops reporting), a handful turn waspada or
    gangguan, six incidents are reported, one TPS is postponed.
    """
    rng = random.Random(seed_value)
    events: list[Event] = []
    staffed = [v for v in views if v.officers]
    quiet = set(rng.sample([v.code for v in staffed], 9))
    troubled = rng.sample([v.code for v in staffed if v.code not in quiet], 24)
    waspada, gangguan = set(troubled[:14]), set(troubled[14:18])
    postponed = troubled[18]
    incident_at = dict(zip(troubled[18:24], INCIDENTS, strict=True))
    voting = day_start.replace(hour=7, minute=0)
    rhythm = {"sangat_rawan": (6, 10), "rawan": (10, 16), "kurang_rawan": (14, 28)}
    for v in staffed:
        nrp = v.officers[0]
        arrive = day_start + timedelta(minutes=rng.uniform(0, 40))
        prepare = day_start + timedelta(minutes=rng.uniform(55, 80))
        opens = voting + timedelta(minutes=rng.uniform(0, 10))
        stop = until
        if v.code in quiet:
            stop = voting + timedelta(minutes=rng.uniform(60, 125))
        turn = voting + timedelta(minutes=rng.uniform(40, 170))
        lo, hi = rhythm[v.risk.value]
        t = arrive
        while t < stop:
            if t < prepare:
                phase = "logistik_tiba"
            elif t < opens:
                phase = "persiapan"
            else:
                phase = "ditunda" if v.code == postponed and t > turn else "pemungutan"
            situation = "aman"
            if v.code in waspada and turn < t < turn + timedelta(minutes=70):
                situation = "waspada"
            if v.code in gangguan and t > turn:
                situation = "gangguan"
            events.append(Event(t, nrp, _ping(v.code, phase, situation, t)))
            step = rng.uniform(lo, hi) * (1.4 if t < voting else 1.0)
            # The phase changes are reported when they happen, not at the next round.
            t = min([t + timedelta(minutes=step), *(x for x in (prepare, opens) if x > t)])
        if v.code in incident_at:
            category, severity, text = incident_at[v.code]
            at = voting + timedelta(minutes=rng.uniform(60, 160))
            events.append(Event(at, nrp, _incident(v.code, category, severity, at, text)))
            if len(v.officers) > 1 and severity >= 4:
                later = at + timedelta(minutes=4)
                events.append(
                    Event(later, v.officers[1], _incident(v.code, category, severity, later, text))
                )
    return sorted(e for e in events if e.at <= until)


class Field:
    """One websocket per officer on /ws/field; acks are read and counted in the background."""

    def __init__(self, ws_url: str, tokens: dict[str, str]) -> None:
        self.ws_url = ws_url
        self.tokens = tokens
        self.conns: dict[str, ClientConnection] = {}
        self.readers: list[asyncio.Task[None]] = []
        self.acks: dict[str, int] = {}

    async def _conn(self, nrp: str) -> ClientConnection:
        conn = self.conns.get(nrp)
        if conn is None:
            conn = await connect(
                f"{self.ws_url}/ws/field",
                additional_headers={"Authorization": f"Bearer {self.tokens[nrp]}"},
                open_timeout=20,
            )
            self.conns[nrp] = conn
            self.readers.append(asyncio.create_task(self._read(conn)))
        return conn

    async def _read(self, conn: ClientConnection) -> None:
        async for raw in conn:
            msg = orjson.loads(raw)
            result = msg.get("result") or msg.get("type", "?")
            self.acks[result] = self.acks.get(result, 0) + 1

    async def send(self, event: Event) -> None:
        """Send one event from its officer's phone."""
        conn = await self._conn(event.nrp)
        await conn.send(orjson.dumps(event.body).decode())

    async def close(self) -> None:
        """Close every phone's socket."""
        for conn in self.conns.values():
            await conn.close()
        for task in self.readers:
            task.cancel()


async def play(
    events: list[Event],
    field_: Field,
    *,
    clock_origin: datetime,
    real_origin: float,
    speed: float,
    stop_at: datetime | None = None,
) -> int:
    """Send each event when the server's exercise clock reaches its time; return how many."""
    loop = asyncio.get_running_loop()
    sent = 0
    for e in events:
        if stop_at is not None and e.at > stop_at:
            break
        due = real_origin + (e.at - clock_origin).total_seconds() / speed
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await field_.send(e)
        sent += 1
    return sent


# -- a few provinces of the national registry ---------------------------------------------------


@dataclass
class SeededProvinces:
    """A database holding some provinces of the national registry, and credentials for it."""

    settings: Settings
    commander: str  # a national commander (no area)
    polres: dict[str, str] = field(default_factory=dict)  # kabupaten code -> viewer token
    tps: dict[str, list[str]] = field(default_factory=dict)  # kabupaten code -> TPS codes
    watcher: dict[str, str] = field(default_factory=dict)  # TPS code -> a device token

    def device_for(self, code: str) -> str:
        """A device token of an officer assigned to TPS `code` (issued on first use)."""
        if code not in self.watcher:
            engine = make_engine(self.settings)
            with Session(engine) as s:
                officer = s.exec(
                    select(Officer)
                    .join(Assignment, col(Assignment.officer_id) == col(Officer.id))
                    .join(Tps, col(Tps.id) == col(Assignment.tps_id))
                    .where(col(Tps.code) == code)
                ).first()
                assert officer is not None and officer.id is not None
                _, self.watcher[code] = issue(
                    session=s,
                    kind=CredentialKind.DEVICE,
                    name=f"hp {officer.nrp}",
                    officer_id=officer.id,
                    area_code=officer.kabupaten_code,
                    now=NOW,
                )
            engine.dispose()
        return self.watcher[code]


def seed_provinces(settings: Settings, provinces: tuple[str, ...]) -> SeededProvinces:
    """Write the national registry's part in `provinces` (seconds for a few small ones)."""
    engine = make_engine(settings)
    upgrade(engine)
    registry = build_national(
        seed=2024, region_data_dir=settings.region_data_dir, provinces=provinces
    )
    with Session(engine) as s:
        write_registry(session=s, registry=registry)
        _, commander = issue(
            session=s, kind=CredentialKind.PERSON, name="kabaharkam", role=Role.COMMANDER, now=NOW
        )
        out = SeededProvinces(settings=settings, commander=commander)
        for t in registry.tps:
            out.tps.setdefault(t.kabupaten_code, []).append(t.code)
        for kab in out.tps:
            _, out.polres[kab] = issue(
                session=s,
                kind=CredentialKind.PERSON,
                name=f"polres {kab}",
                role=Role.VIEWER,
                area_code=kab,
                now=NOW,
            )
    engine.dispose()
    return out
