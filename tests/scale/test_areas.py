"""Each command sees its own: a Polres credential reads and subscribes inside its kabupaten only."""

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import orjson
import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner
from websockets.sync.client import connect

from backend.alerts.models import Alert
from backend.alerts.service import list_alerts
from backend.areas import AreaError, contains, narrow
from backend.cli import app as cli_app
from backend.config import Settings
from backend.incidents.service import list_public as list_incidents
from backend.officers.service import list_public as list_officers
from backend.overview import area_rows
from backend.tps.service import list_views
from backend.users.cli import kiosk_app, user_app
from schemas.enums import Role
from schemas.ops import AlertKind, AlertSeverity, AlertSubjectKind
from tests.conftest import LiveServer, start_server
from tests.factories import NOW, MiniRegistry, device_token, person_token
from tests.helpers import count, field_socket, incident, ping, send
from tests.scale.conftest import Banyuasin, add_banyuasin

runner = CliRunner()


@pytest.fixture
def banyuasin(engine: Engine, mini: MiniRegistry) -> Banyuasin:
    """OKU Timur (16.08, the mini registry) and Banyuasin (16.07) side by side."""
    return add_banyuasin(engine)


@pytest.fixture
def two_kab_server(settings: Settings, banyuasin: Banyuasin) -> Iterator[LiveServer]:
    """A server on both kabupaten."""
    srv = start_server(settings)
    yield srv
    srv.stop()


def _get(server: LiveServer, token: str, path: str, **params: str) -> httpx.Response:
    return httpx.get(
        server.url + path, params=params, headers={"authorization": f"Bearer {token}"}, timeout=10
    )


def _live_first(server: LiveServer, token: str, area: str | None = None) -> dict:
    query = f"token={token}" + (f"&area={area}" if area else "")
    with connect(f"{server.ws_url}/ws/live?{query}", open_timeout=10) as ws:
        return orjson.loads(ws.recv(timeout=10))


def test_area_containment_is_by_whole_code_segments() -> None:
    assert contains(None, "16.08") and contains("16", "16.08") and contains("16.08", "16.08")
    assert not contains("16", "17.01") and not contains("16.1", "16.10")
    assert narrow("16", "16.08") == "16.08" and narrow("16.08", None) == "16.08"
    with pytest.raises(AreaError) as outside:
        narrow("16.08", "16.07")
    assert outside.value.status == 403
    with pytest.raises(AreaError) as malformed:
        narrow(None, "16.08.01")
    assert malformed.value.status == 422
    with pytest.raises(AreaError):
        narrow("1", "16")  # a prefix is not an area: "1" must not cover "16"


def test_polres_token_reads_only_its_kabupaten(
    two_kab_server: LiveServer, engine: Engine, mini: MiniRegistry, banyuasin: Banyuasin
) -> None:
    polres = person_token(engine, Role.COMMANDER, area="16.08")
    srv = two_kab_server
    tps = _get(srv, polres, "/api/v1/tps").json()
    assert {t["code"] for t in tps["data"]} == set(mini.tps_codes)
    # Another kabupaten's TPS by code: as if it did not exist.
    assert _get(srv, polres, f"/api/v1/tps/{banyuasin.tps_codes[0]}").status_code == 404
    assert _get(srv, polres, f"/api/v1/tps/{mini.tps_codes[0]}").status_code == 200
    for path in ("/api/v1/tps", "/api/v1/summary", "/api/v1/snapshot", "/api/v1/timeline"):
        assert _get(srv, polres, path, area="16.07").status_code == 403, path
        assert _get(srv, polres, path, area="16").status_code == 403, path  # widening
        assert _get(srv, polres, path, area="16.08").status_code == 200, path
    assert _get(srv, polres, "/api/v1/tps", area="16.0").status_code == 422
    snap = _get(srv, polres, "/api/v1/snapshot").json()
    assert snap["channel"] == "kab:16.08"
    assert {t["code"] for t in snap["tps"]} == set(mini.tps_codes)
    assert {
        k["kecamatan_code"][:5] for k in _get(srv, polres, "/api/v1/summary").json()["data"]
    } == {"16.08"}
    timeline = _get(srv, polres, "/api/v1/timeline").json()
    assert {r["code"] for r in timeline["rows"]} == set(mini.tps_codes)
    officers = _get(srv, polres, "/api/v1/officers").json()["data"]
    assert officers and all(o["nrp"] != "90010001" for o in officers)
    # The Polda (province 16) sees both and may narrow to either.
    polda = person_token(engine, Role.VIEWER, area="16")
    assert _get(srv, polda, f"/api/v1/tps/{banyuasin.tps_codes[0]}").status_code == 200
    assert _get(srv, polda, "/api/v1/tps", area="16.07").json()["count"] == 3
    assert _get(srv, polda, "/api/v1/tps").json()["count"] == 15


def test_events_log_and_incidents_stay_inside_the_area(
    two_kab_server: LiveServer, engine: Engine, mini: MiniRegistry, banyuasin: Banyuasin
) -> None:
    srv = two_kab_server
    with field_socket(srv.ws_url, device_token(engine, banyuasin.officer_id)) as ws:
        assert (
            send(ws, ping(banyuasin.tps_codes[0], "pemungutan", "gangguan"))["result"] == "stored"
        )
        assert send(ws, incident(banyuasin.tps_codes[0]))["result"] == "stored"
    polres = person_token(engine, Role.COMMANDER, area="16.08")
    assert _get(srv, polres, "/api/v1/log").json() == []
    assert _get(srv, polres, "/api/v1/incidents").json()["count"] == 0
    assert _get(srv, polres, "/api/v1/incidents/open").json()["count"] == 0
    national = person_token(engine, Role.VIEWER)
    assert {e["tps"] for e in _get(srv, national, "/api/v1/log").json()} == {banyuasin.tps_codes[0]}
    assert _get(srv, national, "/api/v1/incidents").json()["count"] == 1


def test_a_phone_cannot_report_another_kabupatens_tps_it_is_not_assigned_to(
    two_kab_server: LiveServer, engine: Engine, mini: MiniRegistry, banyuasin: Banyuasin
) -> None:
    with field_socket(two_kab_server.ws_url, device_token(engine, mini.officer_ids[0])) as ws:
        ack = send(ws, ping(banyuasin.tps_codes[0], "pemungutan", "gangguan"))
        # Inside its own kabupaten an unassigned TPS is only flagged, as before.
        own = send(ws, ping(mini.tps_codes[-1], "pemungutan", "aman"))
    assert ack["result"] == "rejected" and ack["error"]["field"] == "tps"
    assert own["result"] == "stored" and own["flags"] == ["unassigned"]


def test_polres_wall_cannot_subscribe_outside_and_gets_only_its_deltas(
    two_kab_server: LiveServer, engine: Engine, mini: MiniRegistry, banyuasin: Banyuasin
) -> None:
    srv = two_kab_server
    polres = person_token(engine, Role.VIEWER, area="16.08")
    for area in ("16.07", "16", "16.08.01", "1"):
        frame = _live_first(srv, polres, area)
        assert frame["type"] == "error" and frame["error"]["field"] == "area", area
    assert _live_first(srv, polres)["channel"] == "kab:16.08"
    with connect(f"{srv.ws_url}/ws/live?token={polres}", open_timeout=10) as live:
        assert orjson.loads(live.recv(timeout=10))["type"] == "hello"
        with field_socket(srv.ws_url, device_token(engine, banyuasin.officer_id)) as ws:
            send(ws, ping(banyuasin.tps_codes[1], "pemungutan", "waspada"))
        with field_socket(srv.ws_url, device_token(engine, mini.officer_ids[0])) as ws:
            send(ws, ping(mini.tps_codes[0], "pemungutan", "aman"))
        while (frame := orjson.loads(live.recv(timeout=10)))["type"] != "delta":
            pass
    # The first delta this wall sees is its own kabupaten's; Banyuasin's never came.
    assert [t["code"] for t in frame["tps"]] == [mini.tps_codes[0]]
    assert frame["channel"] == "kab:16.08"


def test_a_credential_with_a_malformed_area_sees_nothing(
    two_kab_server: LiveServer, engine: Engine
) -> None:
    odd = person_token(engine, Role.VIEWER, area="1")
    assert _get(two_kab_server, odd, "/api/v1/tps").status_code == 403
    assert _get(two_kab_server, odd, "/api/v1/incidents").status_code == 403
    assert _live_first(two_kab_server, odd)["type"] == "error"


# -- wildcards: "%%", "_", "16%" and foreign digits are never an area ------------------------

# Each of these once passed somewhere: LIKE wildcards into a prefix match ("%%" matched every
# kabupaten), Unicode digits past `\d`, a trailing newline past `$`.
NOT_AREAS = [
    "%%",
    "%",
    "_",
    "__",
    "16%",
    "16.0_",
    "1%",
    "16.%",
    "\u0661\u0666",  # Arabic-Indic "16"
    "16.\u0660\u0668",
    "16.08\n",
    " 16",
]
AREA_READS = (
    "/api/v1/tps",
    "/api/v1/summary",
    "/api/v1/rollup",
    "/api/v1/snapshot",
    "/api/v1/timeline",
    "/api/v1/log",
    "/api/v1/officers",
    "/api/v1/incidents",
)


def test_wildcard_or_foreign_digit_areas_are_refused_with_422_at_every_entry_point(
    two_kab_server: LiveServer, engine: Engine
) -> None:
    srv = two_kab_server
    admin = person_token(engine, Role.ADMIN)
    auth = {"authorization": f"Bearer {admin}"}
    person = {"username": "ani", "full_name": "Ani", "role": "viewer", "password": "0123456789ab"}
    ani = httpx.post(srv.url + "/api/v1/users", json=person, headers=auth, timeout=10).json()
    for area in NOT_AREAS:
        for path in AREA_READS:
            r = _get(srv, admin, path, area=area)
            assert r.status_code == 422, (area, path, r.text)
            assert r.json()["detail"] == {
                "field": "area",
                "reason": "not a province (16) or kabupaten (16.08) code",
            }
        with httpx.Client(base_url=srv.url, cookies={"posko_token": admin}, timeout=10) as c:
            for page in ("/", "/wall", "/nasional"):
                r = c.get(page, params={"area": area})
                assert r.status_code == 422, (area, page, r.status_code)
                assert c.get(page, params=[("area", "16"), ("area", area)]).status_code == 422
                assert r.json()["detail"]["field"] == "area"
        frame = _live_first(srv, admin, quote(area))
        assert frame["type"] == "error" and frame["error"]["field"] == "area", area
        # Credentials: a person's area, a kiosk link's area.
        bodies = [
            ("post", "/api/v1/users", person | {"username": "budi", "area_code": area}),
            ("patch", f"/api/v1/users/{ani['id']}", {"area_code": area}),
            ("post", "/api/v1/kiosk-links", {"name": "dinding", "area_code": area}),
        ]
        for method, path, body in bodies:
            r = httpx.request(method, srv.url + path, json=body, headers=auth, timeout=10)
            assert r.status_code == 422, (area, path, r.text)
            assert r.json()["detail"][0]["loc"][-1] == "area_code", r.text
    assert count(engine, "app_user") == 1
    assert count(engine, "credential", "kind = 'kiosk'") == 0
    # The real codes still pass everywhere.
    assert _get(srv, admin, "/api/v1/tps", area="16.07").json()["count"] == 3
    r = httpx.post(srv.url + "/api/v1/kiosk-links", json={"area_code": "16.08"}, headers=auth)
    assert r.status_code == 201


ADD_ANI = ["add", "ani", "--role", "viewer", "--name", "Ani", "--password", "0123456789ab"]


def test_cli_refuses_wildcard_areas_for_tokens_kiosks_and_users(
    settings: Settings, engine: Engine
) -> None:
    env = {"POSKO_DATABASE_URL": settings.database_url, "POSKO_SECRET_KEY": settings.secret_key}
    url = ["--database-url", settings.database_url]
    for area in NOT_AREAS:
        commands = [
            (cli_app, ["token", "issue", "--role", "viewer", "--name", "x", "--area", area]),
            (cli_app, ["token", "issue", "--kiosk", "--area", area]),
            (kiosk_app, ["issue", "--area", area, *url]),
            (user_app, [*ADD_ANI, "--area", area, *url]),
        ]
        for app, args in commands:
            r = runner.invoke(app, args, env=env)
            assert r.exit_code == 2, (area, args, r.output)
            said = " ".join(r.output.replace("\u2502", " ").split())  # unwrap rich's box
            assert "not a province (16) or kabupaten (16.08) code" in said, r.output
    assert count(engine, "credential") == 0 and count(engine, "app_user") == 0
    ok = runner.invoke(kiosk_app, ["issue", "--area", "16.08", *url], env=env)
    assert ok.exit_code == 0, ok.output


def test_a_wildcard_area_that_reaches_a_query_matches_nothing(
    two_kab_server: LiveServer, engine: Engine, mini: MiniRegistry, banyuasin: Banyuasin
) -> None:
    """Defence in depth: an area that slipped past every check is a literal, not a pattern."""
    reporters = [
        (mini.officer_ids[0], mini.tps_codes[0]),
        (banyuasin.officer_id, banyuasin.tps_codes[0]),
    ]
    for officer_id, tps in reporters:
        with field_socket(two_kab_server.ws_url, device_token(engine, officer_id)) as ws:
            assert send(ws, incident(tps))["result"] == "stored"
    with Session(engine) as s:
        for kab in ("16.08", "16.07"):
            s.add(
                Alert(
                    kind=AlertKind.NETWORK_OUTAGE,
                    subject_kind=AlertSubjectKind.KABUPATEN,
                    subject=f"test {kab}",  # the running sweeper may raise its own
                    kabupaten_code=kab,
                    severity=AlertSeverity.WARNING,
                    raised_at=NOW,
                )
            )
        s.commit()
        # What the province sees, for comparison: both kabupaten.
        assert len(list_incidents(session=s, area_code="16")) == 2
        province_alerts = list_alerts(session=s, area_code="16")
        assert {a.kabupaten_code for a in province_alerts} >= {"16.07", "16.08"}
        assert "90010001" in {o.nrp for o in list_officers(session=s, area_code="16")}
        assert len(list_officers(session=s, area_code="16")) == len(mini.officer_ids) + 1
        for area in ("%%", "1%", "1_", "_%", "16%", "%.08", "16.0_"):
            assert list_incidents(session=s, area_code=area) == [], area
            # Alerts about the server itself (no kabupaten) concern every area.
            alerts = list_alerts(session=s, area_code=area)
            assert [a.kabupaten_code for a in alerts if a.kabupaten_code] == [], area
            assert list_officers(session=s, area_code=area) == [], area
            assert list_views(session=s, area_code=area) == [], area
            for level in ("kabupaten", "kecamatan"):
                assert area_rows(session=s, level=level, area_code=area) == [], (area, level)


def test_a_credential_stored_with_a_wildcard_area_is_turned_away_by_the_dashboard(
    two_kab_server: LiveServer, engine: Engine
) -> None:
    # Issued before areas were checked at issue: the API refused it already (403), the
    # dashboard showed it everything its LIKE matched.
    for area in ("%%", "1%"):
        odd = person_token(engine, Role.VIEWER, area=area)
        with httpx.Client(
            base_url=two_kab_server.url, cookies={"posko_token": odd}, timeout=10
        ) as c:
            for page in ("/", "/wall", "/nasional"):
                r = c.get(page)
                assert r.status_code == 303 and r.headers["location"].startswith("/login"), page
            # From the page's own origin, as the browser sends it (the origin guard passes it).
            r = c.post("/_dash-update-component", json={}, headers={"origin": two_kab_server.url})
            assert r.status_code == 403  # callbacks: 403, see dashboard/guard.py
            assert r.json()["detail"]["reason"] == "this credential's area is malformed"
