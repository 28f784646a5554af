"""Custody steps: stored in intake's transaction, read per TPS and per kecamatan, PPK places."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson

from backend.db import RawDb
from backend.tps.index import TpsRef
from schemas.events import AnyFieldEvent, CustodyIn

_CHUNK = 300  # rows per multi-row INSERT: 300 x 18 parameters stays under every driver's limit
_COLS = (
    "event_id, tps_id, tps_code, kecamatan_code, kabupaten_code, step, device_time, "
    "received_at, officer_id, seal_numbers, escort_nrps, vehicle, ba_number, receiver_name, "
    "lat, lon, note, flags, source"
)
_ROW = "(" + ",".join("?" * 19) + ")"


class Step(Protocol):
    """A custody step as intake checked it (`intake.validate.Accepted` is one)."""

    @property
    def event(self) -> AnyFieldEvent:
        """The event as the device sent it."""

    @property
    def officer_id(self) -> int:
        """Who sent it."""

    @property
    def tps(self) -> TpsRef | None:
        """The TPS whose boxes it is about."""

    @property
    def received_at(self) -> datetime:
        """When it arrived."""

    @property
    def flags(self) -> int:
        """Its EventFlag bits."""

    @property
    def source(self) -> str:
        """Where it came from (ws, http, a chat channel)."""


def _json_list(values: list[str]) -> str | None:
    return orjson.dumps(values).decode() if values else None


def insert_events(db: RawDb, steps: Sequence[Step]) -> tuple[list[Any], set[Any]]:
    """Insert custody steps once by event id; return each one's bound key and the keys stored.

    A repeated event id is skipped by the unique index (`ON CONFLICT DO NOTHING`), so a step
    resent after a lost ack, or stored by another node, is a duplicate and not a second row.
    """
    keys: list[Any] = []
    rows: list[tuple[Any, ...]] = []
    for a in steps:
        e = a.event
        assert isinstance(e, CustodyIn) and a.tps is not None
        k = db.uuid(e.event_id)
        keys.append(k)
        rows.append(
            (
                k,
                a.tps.id,
                a.tps.code,
                a.tps.kecamatan_code,
                a.tps.kabupaten_code,
                e.step.value,
                db.time(e.device_time),
                db.time(a.received_at),
                a.officer_id,
                _json_list(e.seal_numbers),
                _json_list(e.escort_nrps),
                e.vehicle,
                e.ba_number,
                e.receiver_name,
                e.lat,
                e.lon,
                e.note,
                a.flags,
                a.source,
            )
        )
    if not db.is_sqlite:
        rows.sort(key=lambda r: r[0])  # locked in event-id order on every node: no deadlock
    inserted: set[Any] = set()
    cur = db.conn.cursor()
    for i in range(0, len(rows), _CHUNK):
        chunk = rows[i : i + _CHUNK]
        cur.execute(
            db.sql(
                f"INSERT INTO custody_event ({_COLS}) VALUES {','.join([_ROW] * len(chunk))} "
                "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
            ),
            [v for r in chunk for v in r],
        )
        inserted.update(r[0] for r in cur.fetchall())
    cur.close()
    return keys, inserted


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


@dataclass(frozen=True, slots=True)
class RoadModel:
    """How long the road from a TPS to its PPK takes: straight distance x factor / speed."""

    road_factor: float = 1.3
    kmh: float = 30.0

    def travel(self, lat1: float, lon1: float, lat2: float, lon2: float) -> timedelta:
        """Expected driving time between two points."""
        km = distance_km(lat1, lon1, lat2, lon2) * self.road_factor
        return timedelta(hours=km / self.kmh)
