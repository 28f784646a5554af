"""Administration cut to the admin's area: outside is invisible, nothing granted beyond it.

The mini registry is kabupaten 16.08 (OKU Timur, province 16); a sibling kabupaten 16.09 with
one officer is added, and admins are scoped to 16.08, to 16 or national.
"""

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from backend.auth.service import issue
from backend.config import Settings
from backend.officers.models import Officer, Unit
from backend.regions.models import Region
from schemas.enums import CredentialKind, RegionLevel, Role, UnitKind
from tests.conftest import LiveServer
from tests.factories import NOW, MiniRegistry, device_token, person_token
from tests.helpers import field_socket, ping, send
from tests.ops.conftest import PASSWORD, add_user, auth

OTHER_NRP = "85090001"  # an officer of kabupaten 16.09
NEW_PASSWORD = "kata-sandi-yang-baru"


@dataclass
class World:
    """Two kabupaten of one province, their admins, users and credentials."""

    server: LiveServer
    engine: Engine
    mini: MiniRegistry
    oku: str  # admin token scoped to 16.08
    sumsel: str  # admin token scoped to province 16
    national: str  # national admin token
    users: dict[str, int]  # username -> id
    sessions: dict[str, str]  # username -> session token
    other_device: int  # credential id: device token of the 16.09 officer
    national_kiosk: int  # credential id: a national wall

    def call(self, token: str, method: str, path: str, body: Any = None) -> httpx.Response:
        """One API call with a Bearer token."""
        return httpx.request(
            method, self.server.url + "/api/v1" + path, headers=auth(token), json=body
        )

    def sign_in(self, username: str, password: str = PASSWORD) -> httpx.Response:
        """A password sign-in."""
        body = {"username": username, "password": password}
        return httpx.post(self.server.url + "/api/v1/auth/login", json=body)


def _add_sibling_kabupaten(engine: Engine) -> None:
    with Session(engine) as s:
        s.add(
            Region(code="16.09", name="OKU Selatan", level=RegionLevel.KABUPATEN, parent_code="16")
        )
        s.flush()
        unit = Unit(
            code="polres-oku-selatan",
            name="Polres OKU Selatan",
            kind=UnitKind.POLRES,
            kabupaten_code="16.09",
        )
        s.add(unit)
        s.flush()
        assert unit.id is not None
        s.add(
            Officer(
                nrp=OTHER_NRP,
                name="Petugas Selatan",
                rank="Bripda",
                unit_id=unit.id,
                kabupaten_code="16.09",
            )
        )
        s.commit()


def _officer_id(engine: Engine, nrp: str) -> int:
    with engine.connect() as c:
        return int(c.execute(text("SELECT id FROM officer WHERE nrp = :n"), {"n": nrp}).scalar())


def _credential_id(engine: Engine, token: str) -> int:
    with engine.connect() as c:
        prefix = token[:12]
        row = c.execute(text("SELECT id FROM credential WHERE prefix = :p"), {"p": prefix})
        return int(row.scalar())


def _counts(engine: Engine) -> tuple[int, int, int, int]:
    """Users, credentials, revoked credentials, audit entries."""
    with engine.connect() as c:
        return (
            int(c.execute(text("SELECT count(*) FROM app_user")).scalar()),
            int(c.execute(text("SELECT count(*) FROM credential")).scalar()),
            int(
                c.execute(
                    text("SELECT count(*) FROM credential WHERE revoked_at IS NOT NULL")
                ).scalar()
            ),
            int(c.execute(text("SELECT count(*) FROM audit_entry")).scalar()),
        )


@pytest.fixture
def world(ops_server: LiveServer, engine: Engine, settings: Settings, mini: MiniRegistry) -> World:
    """Admins of 16.08, 16 and the nation; users of 16.08, 16.09 and the nation, signed in."""
    _add_sibling_kabupaten(engine)
    users = {
        "pusat": add_user(engine, settings, "pusat", Role.ADMIN),
        "oku-admin": add_user(engine, settings, "oku-admin", Role.ADMIN, "16.08"),
        "oku-op": add_user(engine, settings, "oku-op", Role.OPERATOR, "16.08"),
        "okus-admin": add_user(engine, settings, "okus-admin", Role.ADMIN, "16.09"),
        "okus-op": add_user(engine, settings, "okus-op", Role.OPERATOR, "16.09"),
    }
    w = World(
        server=ops_server,
        engine=engine,
        mini=mini,
        oku=person_token(engine, Role.ADMIN, area="16.08"),
        sumsel=person_token(engine, Role.ADMIN, area="16"),
        national=person_token(engine, Role.ADMIN),
        users=users,
        sessions={},
        other_device=0,
        national_kiosk=0,
    )
    for name in users:
        r = w.sign_in(name)
        assert r.status_code == 200, r.text
        w.sessions[name] = r.cookies["posko_token"]
    w.other_device = _credential_id(engine, device_token(engine, _officer_id(engine, OTHER_NRP)))
    with Session(engine) as s:
        kiosk, _ = issue(session=s, kind=CredentialKind.KIOSK, name="dinding pusat", now=NOW)
    assert kiosk.id is not None
    w.national_kiosk = kiosk.id
    return w


def _field(body: Any) -> str:
    """The field a refusal names: ours ({"field", "reason"}) or FastAPI's validation list."""
    detail = body["detail"]
    return str(detail[0]["loc"][-1] if isinstance(detail, list) else detail["field"])


def test_a_scoped_admin_sees_only_its_area_in_every_list(world: World) -> None:
    users = world.call(world.oku, "GET", "/users").json()["data"]
    assert sorted(u["username"] for u in users) == ["oku-admin", "oku-op"]
    creds = world.call(world.oku, "GET", "/credentials").json()["data"]
    assert {c["area_code"] for c in creds} == {"16.08"}
    assert {c["username"] for c in creds if c["kind"] == "session"} == {"oku-admin", "oku-op"}
    assert world.other_device not in {c["id"] for c in creds}
    assert world.call(world.oku, "GET", "/kiosk-links").json()["data"] == []
    devices = world.call(world.oku, "GET", "/credentials?kind=device").json()["data"]
    assert devices == []  # the 16.08 officers have no phone yet; the 16.09 one is not shown
    # The province sees both kabupaten, still not the nation's.
    users = world.call(world.sumsel, "GET", "/users").json()["data"]
    assert sorted(u["username"] for u in users) == ["oku-admin", "oku-op", "okus-admin", "okus-op"]
    devices = world.call(world.sumsel, "GET", "/credentials?kind=device").json()["data"]
    assert [(d["id"], d["officer"], d["area_code"]) for d in devices] == [
        (world.other_device, OTHER_NRP, "16.09")  # the officer's unit's area
    ]


def test_a_scoped_admin_gets_404_for_what_lies_outside_and_nothing_changes(
    world: World,
) -> None:
    before = _counts(world.engine)
    pusat, okus = world.users["pusat"], world.users["okus-admin"]
    attacks = [
        ("PATCH", f"/users/{pusat}", {"password": NEW_PASSWORD}),  # reset a national admin
        ("PATCH", f"/users/{pusat}", {"is_active": False}),
        ("PATCH", f"/users/{okus}", {"role": "viewer"}),  # a sibling kabupaten's admin
        ("POST", f"/users/{pusat}/unlock", None),
        ("POST", f"/users/{okus}/unlock", None),
        ("DELETE", f"/credentials/{world.other_device}", None),
        ("DELETE", f"/credentials/{_credential_id(world.engine, world.sessions['pusat'])}", None),
        ("DELETE", f"/kiosk-links/{world.national_kiosk}", None),
        ("PATCH", "/users/999999", {"role": "viewer"}),  # one that does not exist: the same
    ]
    for method, path, body in attacks:
        r = world.call(world.oku, method, path, body)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["detail"]["field"] == "id"
    assert _counts(world.engine) == before
    assert world.sign_in("pusat").status_code == 200  # the old password still works
    assert world.sign_in("pusat", NEW_PASSWORD).status_code == 401
    with httpx.Client(
        base_url=world.server.url, cookies={"posko_token": world.sessions["pusat"]}
    ) as c:
        assert c.get("/api/v1/auth/me").status_code == 200  # the session was not revoked
    assert world.call(world.national, "GET", "/kiosk-links").json()["count"] == 1


def test_a_scoped_admin_cannot_grant_beyond_its_area_or_role(world: World) -> None:
    before = _counts(world.engine)
    new = {"username": "baru", "full_name": "Baru", "role": "admin", "password": PASSWORD}
    refused = [
        ("POST", "/users", {**new, "area_code": "16"}, 403, "area_code"),  # the province
        ("POST", "/users", {**new, "area_code": "16.09"}, 403, "area_code"),  # a sibling
        ("POST", "/users", {**new, "area_code": "1"}, 422, "area_code"),  # malformed
        ("PATCH", f"/users/{world.users['oku-op']}", {"area_code": "16"}, 403, "area_code"),
        ("PATCH", f"/users/{world.users['oku-op']}", {"area_code": "16.09"}, 403, "area_code"),
        ("POST", "/device-tokens", {"nrp": OTHER_NRP}, 422, "nrp"),  # like an unknown NRP
        ("POST", "/kiosk-links", {"area_code": "16"}, 403, "area_code"),
        ("POST", "/kiosk-links", {"area_code": "16.09"}, 403, "area_code"),
    ]
    for method, path, body, code, field in refused:
        r = world.call(world.oku, method, path, body)
        assert (r.status_code, _field(r.json())) == (code, field), (path, body, r.text)
    # An officer of another area is answered exactly like one who does not exist.
    for nrp in (OTHER_NRP, "00000000"):
        r = world.call(world.oku, "POST", "/device-tokens", {"nrp": nrp})
        assert r.json() == {"detail": {"field": "nrp", "reason": f"no officer with NRP {nrp}"}}
    assert _counts(world.engine) == before
    # Not naming an area means its own: never a national admin, never a national wall.
    r = world.call(world.oku, "POST", "/users", new)
    assert (r.status_code, r.json()["area_code"], r.json()["role"]) == (201, "16.08", "admin")
    r = world.call(world.oku, "POST", "/users", {**new, "username": "baru2", "area_code": None})
    assert r.json()["area_code"] == "16.08"
    r = world.call(world.oku, "PATCH", f"/users/{world.users['oku-op']}", {"area_code": None})
    assert r.json()["area_code"] == "16.08"
    r = world.call(world.oku, "POST", "/kiosk-links", {"name": "dinding oku"})
    assert (r.status_code, r.json()["credential"]["area_code"]) == (201, "16.08")
    with httpx.Client(base_url=world.server.url) as wall:
        token = r.json()["url"].split("token=")[1].split("&")[0]
        assert wall.get("/api/v1/auth/me", headers=auth(token)).json()["area_code"] == "16.08"
    with Session(world.engine) as s:
        areas = set(
            s.execute(text("SELECT area_code FROM app_user WHERE role = 'admin'")).scalars()
        )
    assert areas == {None, "16.08", "16.09"}  # the nation's one admin, no new one


def test_a_scoped_admin_manages_its_own_area(world: World) -> None:
    oku = world.oku
    r = world.call(
        oku,
        "POST",
        "/users",
        {
            "username": "ani",
            "full_name": "Ani",
            "role": "commander",
            "password": PASSWORD,
            "area_code": "16.08",
        },
    )
    assert r.status_code == 201, r.text
    ani = r.json()["id"]
    assert world.call(oku, "PATCH", f"/users/{ani}", {"role": "viewer"}).json()["role"] == "viewer"
    assert world.call(oku, "PATCH", f"/users/{ani}", {"password": NEW_PASSWORD}).status_code == 200
    assert world.sign_in("ani", NEW_PASSWORD).status_code == 200
    for _ in range(5):
        world.sign_in("ani", "salah-lagi-salah")
    assert world.sign_in("ani", NEW_PASSWORD).status_code == 429
    unlocked = world.call(oku, "POST", f"/users/{ani}/unlock")
    assert (unlocked.status_code, unlocked.json()["failed_logins"]) == (200, 0)
    assert world.sign_in("ani", NEW_PASSWORD).status_code == 200
    off = world.call(oku, "PATCH", f"/users/{ani}", {"is_active": False})
    assert off.json()["is_active"] is False
    # A phone for one of its officers: issued, used, revoked.
    r = world.call(oku, "POST", "/device-tokens", {"nrp": world.mini.officer_nrps[2]})
    assert (r.status_code, r.json()["credential"]["area_code"]) == (201, "16.08")
    phone, cid = r.json()["token"], r.json()["credential"]["id"]
    with field_socket(world.server.ws_url, phone) as ws:
        assert send(ws, ping(world.mini.tps_codes[6]))["result"] == "stored"
    listed = world.call(oku, "GET", "/credentials?kind=device").json()["data"]
    assert [c["id"] for c in listed] == [cid]
    assert world.call(oku, "DELETE", f"/credentials/{cid}").json()["data"][0]["revoked_at"]
    # A wall for one kecamatan? No: areas are provinces and kabupaten; its own kabupaten.
    r = world.call(oku, "POST", "/kiosk-links", {"area_code": "16.08"})
    kid = r.json()["credential"]["id"]
    assert [c["id"] for c in world.call(oku, "GET", "/kiosk-links").json()["data"]] == [kid]
    assert world.call(oku, "DELETE", f"/kiosk-links/{kid}").status_code == 200
    me = f"person:test admin#{_credential_id(world.engine, oku)}"
    audit = world.call(world.national, "GET", "/audit?limit=100").json()
    assert {e["action"] for e in audit if e["actor"] == me} == {
        "user.created",
        "user.updated",
        "user.unlocked",
        "credential.issued",
        "credential.revoked",
    }


def test_a_national_admin_still_manages_every_area(world: World) -> None:
    nat = world.national
    users = world.call(nat, "GET", "/users").json()["data"]
    assert {u["username"] for u in users} >= {"pusat", "oku-admin", "okus-admin", "okus-op"}
    r = world.call(
        nat,
        "POST",
        "/users",
        {
            "username": "pusat2",
            "full_name": "Pusat Dua",
            "role": "admin",
            "password": PASSWORD,
        },
    )
    assert (r.status_code, r.json()["area_code"]) == (201, None)
    okus = world.users["okus-op"]
    assert world.call(nat, "PATCH", f"/users/{okus}", {"area_code": "16.08"}).status_code == 200
    assert world.call(nat, "DELETE", f"/credentials/{world.other_device}").status_code == 200
    r = world.call(nat, "POST", "/device-tokens", {"nrp": OTHER_NRP})
    assert (r.status_code, r.json()["credential"]["area_code"]) == (201, "16.09")
    r = world.call(nat, "POST", "/kiosk-links", {})
    assert (r.status_code, r.json()["credential"]["area_code"]) == (201, None)
    assert world.call(nat, "DELETE", f"/kiosk-links/{world.national_kiosk}").status_code == 200
    # The province admin manages both its kabupaten, and nothing national.
    sumsel = world.sumsel
    r = world.call(sumsel, "POST", "/device-tokens", {"nrp": OTHER_NRP})
    assert r.status_code == 201
    assert (
        world.call(
            sumsel, "PATCH", f"/users/{world.users['oku-op']}", {"area_code": "16.09"}
        ).status_code
        == 200
    )
    assert (
        world.call(
            sumsel, "PATCH", f"/users/{world.users['pusat']}", {"role": "viewer"}
        ).status_code
        == 404
    )
