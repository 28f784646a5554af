"""An election day for every officer, planned deterministically from a seed and streamed lazily.

How the day is made (times WIB; each concern draws from its own `random.Random`, derived from
the seed, so changing one does not shift the numbers of the others):

1. Per TPS: logistik_tiba 26 Nov 14:00-21:00, persiapan 05:30-06:50, pemungutan 07:00 +- a few
   minutes (a few TPS 15-60 min late), penghitungan 13:00-13:40, selesai_hitung 15:00-20:00,
   kotak_dikawal 30-90 min later, diterima_ppk 1-3 h after that (into 28 Nov).
2. Across the day: 1-2 TPS postponed (`ditunda`) mid-morning for 30-120 min by a flood or a
   shortage of ballots, their count shifted by as much; 10-25 incidents (fewer on a small
   registry) at the hours each kind happens, weighted to risky TPS, a third of them (at least
   one) reported again within minutes by 1-2 officers posted nearby; waspada spells, mostly at
   rawan and sangat_rawan TPS, gangguan where an incident is grave; a few phones that die for
   hours; a few that lose signal for 20-40 min and replay their buffer when it returns.
3. Per officer, lazily: a round over the officer's TPS, each checked in on when due (10-20 min
   sangat_rawan, 15-30 rawan, 20-45 otherwise, doubled at night) but no sooner than the ride from
   the previous one allows; an immediate ping on every phase or situation change the officer is
   first to see; incident reports; a phone back from the dead reports all its TPS at once; about
   1 % of events sent twice with the same event id. Event ids are UUIDv7 carrying the planned
   millisecond, their random bits drawn from the officer's generator.
4. The boxes' custody steps (docs/custody.md), by the officer who sees each phase: sealed 3-15
   min after the count, left when escorted, arrived 5-20 min before the PPK receives them,
   handed over then; one handover in twenty without its berita acara number.

`DayPlan.steps()` merges the officers' streams with `heapq.merge`, so a whole day never sits in
memory: only the TPS schedules and the incidents do (a few hundred bytes per TPS).
"""

import heapq
import math
import random
import uuid
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from backend.config import WIB
from schemas.enums import (
    SITUATION_RANK,
    CustodyStep,
    IncidentCategory,
    Phase,
    RiskRating,
    Situation,
)

ELECTION_DAY = date(2024, 11, 27)
MIN = timedelta(minutes=1)


def uuid7(unix_ms: int, rand_a: int, rand_b: int) -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, 12 + 62 random bits."""
    value = (
        (unix_ms & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76
        | (rand_a & 0xFFF) << 64
        | 0b10 << 62
        | (rand_b & ((1 << 62) - 1))
    )
    return uuid.UUID(int=value)


def uuid7_at(at: datetime, rng: random.Random) -> uuid.UUID:
    """A UUIDv7 for an event happening at `at`, its random bits drawn from `rng`."""
    return uuid7(int(at.timestamp() * 1000), rng.getrandbits(12), rng.getrandbits(62))


def wire_time(at: datetime) -> str:
    """Device time as a phone in OKU Timur writes it: ISO 8601, milliseconds, +07:00."""
    return at.astimezone(WIB).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class TpsInfo:
    """What the plan needs to know about a TPS."""

    code: str
    risk: RiskRating
    lat: float
    lon: float
    kecamatan_code: str


@dataclass(frozen=True, slots=True)
class OfficerInfo:
    """An officer and the TPS assigned to them."""

    nrp: str
    tps: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PlannedPing:
    """A status ping; `device_time` is stamped when it is sent (or buffered)."""

    event_id: uuid.UUID
    tps: str
    phase: Phase
    situation: Situation
    lat: float
    lon: float
    note: str | None = None
    is_retried: bool = False

    def wire(self, device_time: datetime) -> dict[str, Any]:
        """The event as the phone sends it."""
        body: dict[str, Any] = {
            "type": "ping",
            "event_id": str(self.event_id),
            "device_time": wire_time(device_time),
            "tps": self.tps,
            "phase": self.phase.value,
            "situation": self.situation.value,
            "lat": self.lat,
            "lon": self.lon,
        }
        if self.note:
            body["note"] = self.note
        return body


@dataclass(frozen=True, slots=True)
class PlannedIncident:
    """An incident report; `trouble` numbers the trouble that co-reports share."""

    event_id: uuid.UUID
    trouble: int
    category: IncidentCategory
    severity: int
    tps: str | None  # None: a report from the scene by an officer posted elsewhere
    lat: float
    lon: float
    description: str
    is_retried: bool = False

    def wire(self, device_time: datetime) -> dict[str, Any]:
        """The event as the phone sends it."""
        body: dict[str, Any] = {
            "type": "incident",
            "event_id": str(self.event_id),
            "device_time": wire_time(device_time),
            "category": self.category.value,
            "severity": self.severity,
            "lat": self.lat,
            "lon": self.lon,
            "description": self.description,
        }
        if self.tps is not None:
            body["tps"] = self.tps
        return body


@dataclass(frozen=True, slots=True)
class PlannedCustody:
    """A custody step of a TPS's ballot boxes (docs/custody.md), sent by its officer."""

    event_id: uuid.UUID
    tps: str
    step: CustodyStep
    lat: float
    lon: float
    seal_numbers: tuple[str, ...] = ()
    vehicle: str | None = None
    escort_nrps: tuple[str, ...] = ()
    ba_number: str | None = None
    receiver_name: str | None = None
    is_retried: bool = False

    def wire(self, device_time: datetime) -> dict[str, Any]:
        """The event as the phone sends it."""
        body: dict[str, Any] = {
            "type": "custody",
            "event_id": str(self.event_id),
            "device_time": wire_time(device_time),
            "tps": self.tps,
            "step": self.step.value,
            "lat": self.lat,
            "lon": self.lon,
        }
        if self.seal_numbers:
            body["seal_numbers"] = list(self.seal_numbers)
        if self.escort_nrps:
            body["escort_nrps"] = list(self.escort_nrps)
        for name in ("vehicle", "ba_number", "receiver_name"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        return body


PlannedEvent = PlannedPing | PlannedIncident | PlannedCustody


class Action(StrEnum):
    """What a phone does at a step."""

    SEND = "send"  # stamp the device time and send
    HOLD = "hold"  # no signal: stamp the device time and keep the event in the phone's buffer
    FLUSH = "flush"  # signal is back: send the buffer as one batch (a late replay)
    RETRY = "retry"  # send an event already sent once again, same event id and device time


@dataclass(frozen=True, slots=True)
class Step:
    """One thing one phone does at one moment of the election day."""

    at: datetime
    officer: str  # NRP
    action: Action
    event: PlannedEvent | None = None  # None only for FLUSH


@dataclass(frozen=True, slots=True)
class TpsSchedule:
    """When a TPS changes phase and situation; `phases` may hold `ditunda` then a resume."""

    code: str
    phases: tuple[tuple[datetime, Phase], ...]
    situations: tuple[tuple[datetime, Situation], ...]

    @property
    def start(self) -> datetime:
        """When the TPS first has a phase (logistics arrived)."""
        return self.phases[0][0]

    @property
    def end(self) -> datetime:
        """When the ballot box reached the PPK: nothing left to guard."""
        return self.phases[-1][0]

    def phase_at(self, at: datetime) -> Phase | None:
        """The phase at `at`, None before logistics arrive."""
        i = bisect_right(self.phases, at, key=lambda p: p[0])
        return self.phases[i - 1][1] if i else None

    def situation_at(self, at: datetime) -> Situation:
        """The situation at `at`."""
        i = bisect_right(self.situations, at, key=lambda s: s[0])
        return self.situations[i - 1][1] if i else Situation.AMAN


@dataclass(frozen=True, slots=True)
class Trouble:
    """An incident on the ground: where, when, and who reports it when."""

    index: int
    category: IncidentCategory
    severity: int
    tps: str
    at: datetime
    reports: tuple[tuple[datetime, str, PlannedIncident], ...]  # (at, NRP, report)


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """Knobs of the plan; the defaults are a plausible day."""

    retry_share: float = 0.01  # events sent twice with the same event id
    silent_share: float = 0.02  # officers whose phone dies for 2-5 h
    buffered_share: float = 0.05  # officers whose phone loses signal for 20-40 min, once or twice
    co_report_share: float = 0.35  # incidents also reported by officers posted nearby
    near_km: float = 3.0  # how far an officer's post may be from a trouble to come and report it


# Check-in intervals in minutes by risk, doubled at night (22:00-05:00).
INTERVAL_MIN: dict[RiskRating, tuple[float, float]] = {
    RiskRating.SANGAT_RAWAN: (10, 20),
    RiskRating.RAWAN: (15, 30),
    RiskRating.KURANG_RAWAN: (20, 45),
}
RISK_WEIGHT: dict[RiskRating, float] = {
    RiskRating.SANGAT_RAWAN: 5.0,
    RiskRating.RAWAN: 2.5,
    RiskRating.KURANG_RAWAN: 1.0,
}
WASPADA_CHANCE: dict[RiskRating, float] = {
    RiskRating.SANGAT_RAWAN: 0.6,
    RiskRating.RAWAN: 0.35,
    RiskRating.KURANG_RAWAN: 0.06,
}


@dataclass(frozen=True, slots=True)
class _Kind:
    weight: float
    window: tuple[int, int]  # minutes from 00:00 of 27 Nov (negative: the evening before)
    severity: tuple[int, int]
    descriptions: tuple[str, ...]


# When each kind of trouble happens: politik uang at night ("serangan fajar"), quarrels over the
# count in the afternoon, accidents while boxes are escorted after dark.
KINDS: dict[IncidentCategory, _Kind] = {
    IncidentCategory.POLITIK_UANG: _Kind(
        3,
        (-6 * 60, 7 * 60),
        (2, 3),
        (
            "Warga melaporkan pembagian amplop berisi uang menjelang pemungutan",
            "Diduga serangan fajar, tim sukses membagikan uang di sekitar TPS",
        ),
    ),
    IncidentCategory.LOGISTIK: _Kind(
        3,
        (-8 * 60, 9 * 60),
        (1, 2),
        (
            "Surat suara kurang dari jumlah DPT, KPPS menghubungi PPS",
            "Kotak suara rusak saat pembongkaran logistik",
            "Tinta dan bilik suara belum lengkap",
        ),
    ),
    IncidentCategory.KERICUHAN: _Kind(
        2,
        (9 * 60, 20 * 60),
        (3, 4),
        (
            "Adu mulut antar saksi paslon saat penghitungan suara",
            "Massa berkumpul dan memprotes hasil penghitungan",
        ),
    ),
    IncidentCategory.INTIMIDASI: _Kind(
        2,
        (7 * 60, 13 * 60),
        (2, 3),
        (
            "Sekelompok orang mengarahkan pemilih di depan TPS",
            "Pemilih mengaku ditekan untuk memilih paslon tertentu",
        ),
    ),
    IncidentCategory.BENCANA_CUACA: _Kind(
        2,
        (6 * 60, 17 * 60),
        (1, 3),
        (
            "Hujan deras dan angin kencang, tenda TPS roboh",
            "Genangan air di lokasi TPS, pemilih kesulitan datang",
        ),
    ),
    IncidentCategory.KECELAKAAN: _Kind(
        1,
        (18 * 60, 25 * 60),
        (2, 3),
        ("Kendaraan pengangkut kotak suara tergelincir di jalan licin",),
    ),
    IncidentCategory.UNJUK_RASA: _Kind(
        1,
        (15 * 60, 22 * 60),
        (2, 3),
        ("Massa pendukung paslon berkumpul menuntut penghitungan ulang",),
    ),
    IncidentCategory.LAINNYA: _Kind(
        1,
        (7 * 60, 20 * 60),
        (1, 2),
        ("Pemilih pingsan saat antre, dibawa ke puskesmas", "Listrik padam di lokasi TPS"),
    ),
}
POSTPONE_CAUSES: tuple[tuple[IncidentCategory, str], ...] = (
    (IncidentCategory.BENCANA_CUACA, "Banjir di lokasi TPS, pemungutan suara dihentikan sementara"),
    (IncidentCategory.LOGISTIK, "Surat suara habis, pemungutan ditunda menunggu kiriman PPS"),
)
PHASE_NOTES: dict[Phase, str] = {
    Phase.LOGISTIK_TIBA: "Logistik tiba dan disimpan di rumah ketua KPPS",
    Phase.PERSIAPAN: "KPPS menyiapkan bilik dan kotak suara",
    Phase.PEMUNGUTAN: "Pemungutan suara dimulai",
    Phase.DITUNDA: "Pemungutan suara dihentikan sementara",
    Phase.PENGHITUNGAN: "Penghitungan suara dimulai",
    Phase.SELESAI_HITUNG: "Penghitungan selesai, C.Hasil ditandatangani",
    Phase.KOTAK_DIKAWAL: "Kotak suara dikawal menuju PPK",
    Phase.DITERIMA_PPK: "Kotak suara diterima PPK",
}


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def _rng(seed: int, *parts: str) -> random.Random:
    # String seeds hash with SHA-512 inside random: the same on every machine and run.
    return random.Random(":".join((str(seed), *parts)))


def _jitter(rng: random.Random, lat: float, lon: float, metres: float) -> tuple[float, float]:
    d = metres / 111_000
    return round(lat + rng.uniform(-d, d), 6), round(lon + rng.uniform(-d, d), 6)


def _span(rng: random.Random, lo: datetime, hi: datetime) -> datetime:
    return lo + timedelta(seconds=round(rng.uniform(0, (hi - lo).total_seconds())))


@dataclass(slots=True)
class _Spell:
    start: datetime
    end: datetime
    situation: Situation


@dataclass(slots=True)
class _Draft:
    """A TPS schedule while it is being built."""

    phases: list[tuple[datetime, Phase]]
    spells: list[_Spell] = field(default_factory=list)


class DayPlan:
    """The schedule of one election day for the given TPS and officers; `steps()` streams it."""

    def __init__(
        self,
        tps: Sequence[TpsInfo],
        officers: Sequence[OfficerInfo],
        seed: int,
        *,
        day: date = ELECTION_DAY,
        options: PlanOptions | None = None,
    ) -> None:
        self.seed = seed
        self.day = day
        self.options = options or PlanOptions()
        self.tps = {t.code: t for t in sorted(tps, key=lambda t: t.code)}
        self.officers = sorted(
            (
                OfficerInfo(o.nrp, tuple(sorted(c for c in o.tps if c in self.tps)))
                for o in officers
            ),
            key=lambda o: o.nrp,
        )
        self._officer = {o.nrp: o for o in self.officers}
        self.officers_of: dict[str, list[str]] = defaultdict(list)
        for o in self.officers:
            for code in o.tps:
                self.officers_of[code].append(o.nrp)
        self._d0 = datetime.combine(day, time(0), WIB)
        drafts = {code: self._phases(code) for code in self.officers_of}
        self.silent, self.buffered = self._phone_troubles()
        self.postponed = self._postpone(drafts)
        self.troubles = self._troubles(drafts)
        self._waspada(drafts)
        self.schedules = {code: self._finish(code, d) for code, d in drafts.items()}
        self._changes = self._change_pings()
        self._custody = self._custody_steps()

    # --- TPS schedules -------------------------------------------------------------------------

    def _at(self, minutes: float) -> datetime:
        """A moment counted in minutes from 00:00 WIB on election day."""
        return self._d0 + timedelta(minutes=minutes)

    def _phases(self, code: str) -> _Draft:
        rng = _rng(self.seed, "tps", code)
        logistik = self._at(-10 * 60 + rng.triangular(0, 7 * 60, 3 * 60))
        persiapan = self._at(rng.uniform(5 * 60 + 30, 6 * 60 + 50))
        if rng.random() < 0.04:
            pemungutan = self._at(7 * 60 + rng.uniform(15, 60))  # KPPS short-handed, or rain
        else:
            pemungutan = self._at(7 * 60 + max(-5.0, min(8.0, rng.gauss(0, 2.5))))
        hitung = self._at(13 * 60 + rng.uniform(0, 40))
        selesai = max(
            self._at(rng.triangular(15 * 60, 20 * 60, 17 * 60)), hitung + timedelta(minutes=90)
        )
        dikawal = selesai + rng.uniform(30, 90) * MIN
        ppk = dikawal + rng.uniform(60, 180) * MIN
        phases = [
            (logistik, Phase.LOGISTIK_TIBA),
            (persiapan, Phase.PERSIAPAN),
            (pemungutan, Phase.PEMUNGUTAN),
            (hitung, Phase.PENGHITUNGAN),
            (selesai, Phase.SELESAI_HITUNG),
            (dikawal, Phase.KOTAK_DIKAWAL),
            (ppk, Phase.DITERIMA_PPK),
        ]
        return _Draft([(at.replace(microsecond=0), p) for at, p in phases])

    def _postpone(self, drafts: dict[str, _Draft]) -> list[str]:
        """Stop voting at 1-2 TPS for a while; the count there starts that much later."""
        rng = _rng(self.seed, "postpone")
        codes = sorted(drafts)
        if not codes:
            return []
        n = min(len(codes), 1 if len(codes) < 100 else rng.randint(1, 2))
        chosen = sorted(rng.sample(codes, n))
        for code in chosen:
            d = drafts[code]
            start = {p: at for at, p in d.phases}[Phase.PEMUNGUTAN]
            stop = min(start + rng.uniform(60, 210) * MIN, self._at(12 * 60)).replace(microsecond=0)
            pause = timedelta(minutes=round(rng.uniform(30, 120)))
            shifted = [(at + pause if at > stop else at, p) for at, p in d.phases]
            i = next(i for i, (at, _) in enumerate(shifted) if at > stop)
            shifted[i:i] = [(stop, Phase.DITUNDA), (stop + pause, Phase.PEMUNGUTAN)]
            d.phases = shifted
        return chosen

    def _waspada(self, drafts: dict[str, _Draft]) -> None:
        """Spells of heightened alert, mostly where the TPS is rated risky."""
        rng = _rng(self.seed, "waspada")
        for code in sorted(drafts):
            risk = self.tps[code].risk
            spells = 2 if risk is RiskRating.SANGAT_RAWAN and rng.random() < 0.3 else 1
            for _ in range(spells):
                if rng.random() >= WASPADA_CHANCE[risk]:
                    continue
                start = _span(rng, self._at(6 * 60 + 30), self._at(19 * 60))
                end = start + timedelta(minutes=round(rng.uniform(20, 90)))
                drafts[code].spells.append(_Spell(start, end, Situation.WASPADA))

    def _finish(self, code: str, d: _Draft) -> TpsSchedule:
        """Turn spells (which may overlap) into situation changes: the gravest active one wins."""
        start, end = d.phases[0][0], d.phases[-1][0]
        marks = sorted({start, *(s.start for s in d.spells), *(s.end for s in d.spells)})
        changes: list[tuple[datetime, Situation]] = []
        for at in marks:
            if not start <= at < end:
                continue
            active = [s.situation for s in d.spells if s.start <= at < s.end]
            now = max(active, key=SITUATION_RANK.__getitem__, default=Situation.AMAN)
            if not changes or changes[-1][1] is not now:
                changes.append((at, now))
        return TpsSchedule(code, tuple(d.phases), tuple(changes))

    # --- phones ----------------------------------------------------------------------------------

    def _phone_troubles(
        self,
    ) -> tuple[dict[str, tuple[datetime, datetime]], dict[str, list[tuple[datetime, datetime]]]]:
        """Phones that die for hours, and phones that lose signal and replay their buffer."""
        rng = _rng(self.seed, "phones")
        nrps = [o.nrp for o in self.officers]
        if len(nrps) < 3:
            return {}, {}
        n_silent = max(1, round(len(nrps) * self.options.silent_share))
        n_buffered = max(1, round(len(nrps) * self.options.buffered_share))
        picked = rng.sample(nrps, min(len(nrps) - 1, n_silent + n_buffered))
        silent: dict[str, tuple[datetime, datetime]] = {}
        for nrp in sorted(picked[:n_silent]):
            start = _span(rng, self._at(8 * 60), self._at(18 * 60))
            silent[nrp] = (start, start + timedelta(minutes=round(rng.uniform(120, 300))))
        buffered: dict[str, list[tuple[datetime, datetime]]] = {}
        for nrp in sorted(picked[n_silent:]):
            windows = []
            start = _span(rng, self._at(7 * 60), self._at(13 * 60))
            for _ in range(1 if rng.random() < 0.6 else 2):
                end = start + timedelta(minutes=round(rng.uniform(20, 40)))
                windows.append((start, end))
                start = end + timedelta(minutes=round(rng.uniform(60, 300)))
            buffered[nrp] = windows
        return silent, buffered

    def is_silent(self, nrp: str, at: datetime) -> bool:
        """Whether the officer's phone is dead at `at`."""
        w = self.silent.get(nrp)
        return w is not None and w[0] <= at < w[1]

    def _first_seer(self, code: str, at: datetime) -> str | None:
        """The officer who reports a change at a TPS: the first of its officers with a phone."""
        return next((n for n in self.officers_of[code] if not self.is_silent(n, at)), None)

    # --- incidents -------------------------------------------------------------------------------

    def _troubles(self, drafts: dict[str, _Draft]) -> list[Trouble]:
        rng = _rng(self.seed, "incidents")
        codes = sorted(drafts)
        if not codes:
            return []
        planned: list[tuple[IncidentCategory, int, str, datetime, str]] = []
        for code in self.postponed:
            stop = next(at for at, p in drafts[code].phases if p is Phase.DITUNDA)
            category, text = rng.choice(POSTPONE_CAUSES)
            planned.append((category, 3, code, stop - timedelta(minutes=rng.randint(2, 8)), text))
        n = max(3, round(rng.randint(10, 25) * min(1.0, len(codes) / 800)))
        weights = [RISK_WEIGHT[self.tps[c].risk] for c in codes]
        categories = list(KINDS)
        cat_weights = [KINDS[c].weight for c in categories]
        for _ in range(50 * n):  # bounded: a TPS may be closed when a kind of trouble happens
            if len(planned) >= n:
                break
            category = rng.choices(categories, cat_weights)[0]
            kind = KINDS[category]
            code = rng.choices(codes, weights)[0]
            phases = drafts[code].phases
            lo = max(self._at(kind.window[0]), phases[0][0] + 10 * MIN)
            hi = min(self._at(kind.window[1]), phases[-1][0] - 10 * MIN)
            if lo >= hi:
                continue  # that TPS is not open when this kind of trouble happens: draw again
            at = _span(rng, lo, hi)
            severity = rng.randint(*kind.severity)
            planned.append((category, severity, code, at, rng.choice(kind.descriptions)))
        planned.sort(key=lambda p: p[3])
        with_help = self._pick_co_reported(rng, planned)
        troubles = []
        for i, (category, severity, code, at, text) in enumerate(planned):
            troubles.append(
                self._trouble(rng, i, category, severity, code, at, text, i in with_help)
            )
            drafts[code].spells.extend(self._aftermath(rng, at, severity))
        return troubles

    def _near(self, code: str, at: datetime) -> list[str]:
        """Officers posted within reach of a TPS who could come and report, nearest first."""
        t = self.tps[code]
        first = self._first_seer(code, at)
        found = []
        for o in self.officers:
            if o.nrp == first or self.is_silent(o.nrp, at):
                continue
            d = min(distance_km(t.lat, t.lon, self.tps[c].lat, self.tps[c].lon) for c in o.tps)
            if d <= self.options.near_km:
                found.append((d, o.nrp))
        return [nrp for _, nrp in sorted(found)]

    def _pick_co_reported(
        self, rng: random.Random, planned: list[tuple[IncidentCategory, int, str, datetime, str]]
    ) -> set[int]:
        """Which troubles officers from nearby posts also report (at least one, if anyone can)."""
        able = [i for i, p in enumerate(planned) if self._near(p[2], p[3])]
        chosen = {i for i in able if rng.random() < self.options.co_report_share}
        if able and not chosen:
            chosen.add(rng.choice(able))
        return chosen

    def _trouble(
        self,
        rng: random.Random,
        index: int,
        category: IncidentCategory,
        severity: int,
        code: str,
        at: datetime,
        text: str,
        is_co_reported: bool,
    ) -> Trouble:
        t = self.tps[code]
        reporters: list[tuple[datetime, str, str | None]] = []
        first = self._first_seer(code, at)
        if first is not None:
            reporters.append((at + timedelta(seconds=rng.randint(60, 300)), first, code))
        if is_co_reported:
            for nrp in self._near(code, at)[: rng.randint(1, 2)]:
                when = at + timedelta(seconds=rng.randint(120, 900))
                own = code in self._officer[nrp].tps
                reporters.append((when, nrp, code if own else None))
        reports = []
        for when, nrp, tps_code in reporters:
            lat, lon = _jitter(rng, t.lat, t.lon, 120)
            report = PlannedIncident(
                event_id=uuid7_at(when, rng),
                trouble=index,
                category=category,
                severity=max(1, min(4, severity + rng.choice((-1, 0, 0, 0, 1)) * (nrp != first))),
                tps=tps_code,
                lat=lat,
                lon=lon,
                description=text,
            )
            reports.append((when, nrp, report))
        return Trouble(index, category, severity, code, at, tuple(sorted(reports)))

    def _aftermath(self, rng: random.Random, at: datetime, severity: int) -> list[_Spell]:
        """Gangguan while a grave incident lasts, then waspada; waspada alone for minor ones."""
        if severity >= 3:
            calm = at + timedelta(minutes=round(rng.uniform(30, 120)))
            settled = calm + timedelta(minutes=round(rng.uniform(30, 60)))
            return [_Spell(at, calm, Situation.GANGGUAN), _Spell(calm, settled, Situation.WASPADA)]
        return [_Spell(at, at + timedelta(minutes=round(rng.uniform(30, 90))), Situation.WASPADA)]

    def _change_pings(self) -> dict[str, list[tuple[datetime, str, str | None]]]:
        """Who pings at once on each phase or situation change, when, and with what note."""
        rng = _rng(self.seed, "changes")
        out: dict[str, list[tuple[datetime, str, str | None]]] = defaultdict(list)
        for code, s in sorted(self.schedules.items()):
            notes: dict[datetime, str | None] = {at: None for at, _ in s.situations}
            before: Phase | None = None
            for at, phase in s.phases:
                resumed = before is Phase.DITUNDA
                notes[at] = "Pemungutan suara dilanjutkan" if resumed else PHASE_NOTES[phase]
                before = phase
            for at, note in sorted(notes.items()):
                nrp = self._first_seer(code, at)
                if nrp is not None:
                    out[nrp].append((at + timedelta(seconds=rng.randint(5, 180)), code, note))
        for changes in out.values():
            changes.sort()
        return out

    def _custody_steps(self) -> dict[str, list[tuple[datetime, int, PlannedCustody]]]:
        """The boxes' custody steps after the count, sent by the officer who sees each phase.

        Sealed a few minutes after the count is done, left for the PPK when the boxes are
        escorted, arrived a few minutes before the PPK receives them, handed over then; one
        handover in twenty lacks its berita acara number (the post is alerted).
        """
        rng = _rng(self.seed, "custody")
        out: dict[str, list[tuple[datetime, int, PlannedCustody]]] = defaultdict(list)
        for code, s in sorted(self.schedules.items()):
            at = {p: t for t, p in s.phases}
            done, left, ppk = (
                at.get(Phase.SELESAI_HITUNG),
                at.get(Phase.KOTAK_DIKAWAL),
                at.get(Phase.DITERIMA_PPK),
            )
            if done is None or left is None or ppk is None:
                continue
            t = self.tps[code]
            n = rng.randint(1, 2)
            first = rng.randint(100_000, 990_000)
            seals = tuple(f"SG-{first + i:07d}" for i in range(n * 4))
            plate = f"BG {rng.randint(1000, 9999)} {rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}"
            escorts = tuple(self.officers_of[code][:2])
            missing_ba = rng.random() < 0.05
            ba = None if missing_ba else f"{rng.randint(1, 999):03d}/BA-PPK/{t.kecamatan_code[-2:]}"
            receiver = rng.choice(("Hj. Siti Aminah", "Drs. Suparman", "Rahmat Hidayat", "Yuliana"))
            arrived = max(left + MIN, ppk - rng.uniform(5, 20) * MIN)
            planned = (
                (done + rng.uniform(3, 15) * MIN, CustodyStep.SEGEL),
                (left + rng.uniform(0, 3) * MIN, CustodyStep.BERANGKAT),
                (arrived, CustodyStep.TIBA),
                (ppk + rng.uniform(0, 3) * MIN, CustodyStep.SERAH_TERIMA),
            )
            for i, (when, step) in enumerate(planned):
                when = when.replace(microsecond=0)
                nrp = self._first_seer(code, when)
                if nrp is None:
                    continue
                lat, lon = _jitter(rng, t.lat, t.lon, 40)
                event = PlannedCustody(
                    uuid7_at(when, rng),
                    code,
                    step,
                    lat,
                    lon,
                    seal_numbers=seals if step is CustodyStep.SEGEL else (),
                    vehicle=plate if step is CustodyStep.BERANGKAT else None,
                    escort_nrps=escorts if step is CustodyStep.BERANGKAT else (),
                    ba_number=ba if step is CustodyStep.SERAH_TERIMA else None,
                    receiver_name=receiver if step is CustodyStep.SERAH_TERIMA else None,
                )
                out[nrp].append((when, i, event))
        for steps in out.values():
            steps.sort(key=lambda x: (x[0], x[2].tps, x[1]))
        return out

    # --- the stream ------------------------------------------------------------------------------

    @property
    def start(self) -> datetime:
        """The first moment anything happens (the earliest logistics arrival)."""
        return min((s.start for s in self.schedules.values()), default=self._d0)

    @property
    def end(self) -> datetime:
        """The last moment anything is planned (with room for late change pings)."""
        return max((s.end for s in self.schedules.values()), default=self._d0) + 5 * MIN

    def steps(self) -> Iterator[Step]:
        """Every phone's steps of the day, in time order, generated as they are consumed."""
        streams = [self.officer_steps(o.nrp) for o in self.officers]
        return heapq.merge(*streams, key=lambda s: s.at)

    def officer_steps(self, nrp: str) -> Iterator[Step]:
        """One phone's steps in time order: its events, held while out of signal, some retried."""
        rng = _rng(self.seed, "officer", nrp)
        windows = self.buffered.get(nrp, [])
        pending: list[tuple[datetime, int, Step]] = []  # retries and flushes still to come
        seq = 0
        flushed: set[datetime] = set()
        for at, event in self._officer_events(nrp, rng):
            while pending and pending[0][0] <= at:
                yield heapq.heappop(pending)[2]
            window = next((w for w in windows if w[0] <= at < w[1]), None)
            if window is not None:
                if window[1] not in flushed:
                    flushed.add(window[1])
                    seq += 1
                    heapq.heappush(pending, (window[1], seq, Step(window[1], nrp, Action.FLUSH)))
                yield Step(at, nrp, Action.HOLD, event)
                continue
            if rng.random() < self.options.retry_share:
                event = replace(event, is_retried=True)
                again = at + timedelta(seconds=rng.randint(20, 120))
                seq += 1
                heapq.heappush(pending, (again, seq, Step(again, nrp, Action.RETRY, event)))
            yield Step(at, nrp, Action.SEND, event)
        while pending:
            yield heapq.heappop(pending)[2]

    def _officer_events(
        self, nrp: str, rng: random.Random
    ) -> Iterator[tuple[datetime, PlannedEvent]]:
        """The officer's pings and reports in time order, while the phone works.

        The round goes next to the TPS with the earliest midpoint between when it is due and
        when the officer could be there: neighbours come in turn, a far one now and then. A
        phone that comes back to life reports at once every TPS still open, and those that
        closed while it was dead.
        """
        officer = self._officer.get(nrp)
        if officer is None or not officer.tps:
            return
        # Both lists are consumed from the end: the earliest item last.
        changes = sorted(self._changes.get(nrp, []), reverse=True)
        reports = sorted(
            ((when, r) for tr in self.troubles for when, n, r in tr.reports if n == nrp),
            key=lambda x: x[0],
            reverse=True,
        )
        boxes = list(reversed(self._custody.get(nrp, [])))
        due = {c: self.schedules[c].start + rng.uniform(5, 40) * MIN for c in officer.tps}
        back: datetime | None = self.silent[nrp][1] if nrp in self.silent else None
        sent: dict[str, Phase] = {}  # the last phase this phone reported per TPS
        here: str | None = None
        last: datetime | None = None

        rides = {(a, b): self._ride(a, b) for a in officer.tps for b in officer.tps}

        def arrival(code: str) -> datetime:
            if here is None or last is None:
                return due[code]
            return max(due[code], last + rides[here, code])

        while True:
            # (time, kind, TPS, note): back online, a change, a report, then a round check-in.
            nexts: list[tuple[datetime, int, str, str | None]] = []
            if back is not None:
                nexts.append((back, 0, "", None))
            if changes:
                nexts.append((changes[-1][0], 1, changes[-1][1], changes[-1][2]))
            if reports:
                nexts.append((reports[-1][0], 2, "", None))
            if boxes:
                nexts.append((boxes[-1][0], 4, "", None))
            live = [c for c in officer.tps if due[c] < self.schedules[c].end]
            if live:
                code = min(live, key=lambda c: (due[c] + (arrival(c) - due[c]) / 2, c))
                nexts.append((arrival(code).replace(microsecond=0), 3, code, None))
            if not nexts:
                return
            at, kind, code, note = min(nexts)
            if kind == 0:
                back = None
                for c in officer.tps:
                    phase = self.schedules[c].phase_at(at)
                    is_open = at < self.schedules[c].end
                    if phase is not None and (is_open or sent.get(c) is not phase):
                        ping = self._ping(rng, c, at, "Ponsel kembali aktif, laporan susulan")
                        sent[c] = ping.phase
                        yield at, ping
                continue
            event: PlannedEvent
            if kind == 4:
                event = boxes.pop()[2]
            elif kind == 2:
                event = reports.pop()[1]
            else:
                if kind == 1:
                    changes.pop()
                event = self._ping(rng, code, at, note)
                here, last = code, at
                due[code] = at + self._interval(rng, code, at)
            if self.is_silent(nrp, at):
                continue
            if isinstance(event, PlannedPing):
                sent[event.tps] = event.phase
            yield at, event

    def _ride(self, a: str, b: str) -> timedelta:
        """Riding a motorbike between two TPS: 30 km/h on village roads, plus a minute."""
        if a == b:
            return timedelta(0)
        ta, tb = self.tps[a], self.tps[b]
        return timedelta(minutes=1 + distance_km(ta.lat, ta.lon, tb.lat, tb.lon) * 2)

    def _interval(self, rng: random.Random, code: str, at: datetime) -> timedelta:
        lo, hi = INTERVAL_MIN[self.tps[code].risk]
        hour = at.astimezone(WIB).hour
        night = 2.0 if hour >= 22 or hour < 5 else 1.0
        return timedelta(minutes=rng.uniform(lo, hi) * night)

    def _ping(self, rng: random.Random, code: str, at: datetime, note: str | None) -> PlannedPing:
        s = self.schedules[code]
        phase = s.phase_at(at)
        assert phase is not None, "pings are planned only once logistics arrived"
        t = self.tps[code]
        lat, lon = _jitter(rng, t.lat, t.lon, 40)
        return PlannedPing(uuid7_at(at, rng), code, phase, s.situation_at(at), lat, lon, note)
