"""The issue's proof: record the live screen's snapshot through a simulated morning on a real
server with an exercise clock, then ask replay for those moments: the same picture each time.

Everything goes through the real roads: pings and incident reports through the webhook intake
(the writer's group commits), commander steps through the API, alerts from the server's own
sweeper running every 100 ms on the exercise clock (120x).
"""

import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from backend.config import Settings
from schemas.enums import Role
from schemas.live import Snapshot
from tests.conftest import LiveServer, start_server
from tests.factories import MiniRegistry, device_token, person_token
from tests.helpers import incident, ping
from tests.ops.harness import wib
from tests.replay.test_state_at import picture

SPEED = 120.0
GAP_S = 0.25  # real seconds between the reads of a quiet picture: far above a commit's latency


@pytest.fixture
def day_server(settings: Settings, mini: MiniRegistry) -> Any:
    """A server whose exercise clock starts at 06:30 WIB on voting day and runs 120x."""
    srv = start_server(
        settings.model_copy(
            update={"clock_start": wib(27, "06:30"), "clock_speed": SPEED, "sweep_interval_s": 0.1}
        )
    )
    yield srv
    srv.stop()


class Post:
    """The field and the command post, against the live server."""

    def __init__(self, srv: LiveServer, engine: Engine, mini: MiniRegistry) -> None:
        self.srv = srv
        self.mini = mini
        self.phones = [device_token(engine, oid) for oid in mini.officer_ids]
        self.cmd = {"authorization": f"Bearer {person_token(engine, Role.COMMANDER)}"}
        self.http = httpx.Client(base_url=srv.url, timeout=15)

    def now(self) -> datetime:
        """The server's exercise clock."""
        return datetime.fromisoformat(self.http.get("/api/v1/clock").json()["now"])

    def send(self, officer: int, *events: dict[str, Any]) -> list[dict[str, Any]]:
        """Field events from one officer's phone, through the webhook intake; their acks."""
        r = self.http.post(
            "/api/v1/events",
            json=list(events),
            headers={"authorization": f"Bearer {self.phones[officer]}"},
        )
        assert r.status_code == 200, r.text
        acks = r.json()
        assert all(a["result"] == "stored" for a in acks), acks
        return acks

    def snapshot(self) -> Snapshot:
        """What a commander's live screen loads: GET /api/v1/snapshot."""
        r = self.http.get("/api/v1/snapshot", params={"area": "16.08"}, headers=self.cmd)
        assert r.status_code == 200, r.text
        return Snapshot.model_validate(r.json())

    def quiet_picture(self) -> tuple[datetime, dict[str, Any]]:
        """The middle of three snapshots that agree, each a little apart: its moment and picture.

        A record is stamped when its transaction starts (a ping's receive time, a sweep's clock)
        and seen once it commits, a few milliseconds later: seconds of a 120x exercise clock.
        Three equal reads GAP_S apart pin the middle moment: what it showed was committed, so
        stamped, before it was taken; what was stamped by then had committed before the third.
        """
        shots = [self.snapshot()]
        for _ in range(60):
            time.sleep(GAP_S)
            shots.append(self.snapshot())
            pics = [picture(s.tps, s.incidents, s.alerts) for s in shots[-3:]]
            if len(pics) == 3 and pics[0] == pics[1] == pics[2]:
                return shots[-2].taken_at, pics[1]
        raise AssertionError("the live picture never held still")

    def replay(self, at: datetime) -> dict[str, Any]:
        """What replay rebuilds for `at`."""
        r = self.http.get(
            "/api/v1/replay/snapshot",
            params={"at": at.isoformat(), "area": "16.08"},
            headers=self.cmd,
        )
        assert r.status_code == 200, r.text
        s = Snapshot.model_validate(r.json())
        return picture(s.tps, s.incidents, s.alerts)

    def act(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A commander's step through the API."""
        r = self.http.request(method, path, json=body, headers=self.cmd)
        assert r.status_code in (200, 201), r.text
        return r.json()


def morning(post: Post) -> list[tuple[datetime, dict[str, Any]]]:
    """Pings, a claim, incidents, commander steps, alerts; the quiet live picture after each."""
    codes = post.mini.tps_codes
    seen = [post.quiet_picture()]

    def tick(*sends: tuple[int, dict[str, Any]]) -> None:
        for officer, event in sends:
            post.send(officer, event)
        seen.append(post.quiet_picture())

    t = post.now
    tick((0, ping(codes[0], "logistik_tiba", at=t())), (0, ping(codes[1], "persiapan", at=t())))
    tick(
        (0, ping(codes[0], "persiapan", at=t())),
        (0, ping(codes[2], "persiapan", "waspada", at=t())),
        (1, ping(codes[0], "pemungutan", at=t())),  # not assigned there: a claim
        (1, ping(codes[3], "persiapan", at=t())),
    )
    post.send(2, incident(codes[6], severity=4, at=t()))
    tick((3, incident(codes[6], severity=3, at=t())), (2, ping(codes[7], "persiapan", at=t())))
    open_ = post.http.get("/api/v1/incidents/open", headers=post.cmd).json()["data"]
    riot = next(i for i in open_ if i["tps"] == codes[6])
    post.act("POST", f"/api/v1/incidents/{riot['id']}/accept", {"version": riot["version"]})
    seen.append(post.quiet_picture())
    post.act(
        "POST",
        f"/api/v1/tps/{codes[2]}/correction",
        {"phase": "logistik_tiba", "situation": "aman", "reason": "salah tekan"},
    )
    tick((0, ping(codes[2], "persiapan", "gangguan", at=t() - timedelta(minutes=30))))
    alerts = post.snapshot().alerts
    if alerts:
        post.act("POST", f"/api/v1/alerts/{alerts[-1].id}/acknowledge", {})
    seen.append(post.quiet_picture())
    post.act(
        "POST",
        f"/api/v1/tps/{codes[0]}/confirm-phase",
        {"phase": "pemungutan"},
    )
    tick((0, ping(codes[1], "pemungutan", at=t())), (3, ping(codes[10], "persiapan", at=t())))
    return seen


def test_replay_of_recorded_live_moments_is_equal(
    day_server: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    post = Post(day_server, engine, mini)
    try:
        _check(post)
    finally:
        post.http.close()


def _check(post: Post) -> None:
    seen = morning(post)
    assert len(seen) >= 8
    assert any(p["alerts"] for _, p in seen) and any(p["incidents"] for _, p in seen)
    tps = [t for _, p in seen for t in p["tps"]]
    assert any(t["corrected_at"] for t in tps) and any(t["claimed_phase"] for t in tps)
    assert any(a["acknowledged_at"] for _, p in seen for a in p["alerts"])
    for moment, expected in seen:
        assert post.replay(moment) == expected, moment
    # The same question twice gives the same answer (nothing in replay depends on when asked).
    assert post.replay(seen[3][0]) == post.replay(seen[3][0])
