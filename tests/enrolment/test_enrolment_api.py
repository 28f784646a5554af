"""Enrolment links over HTTP: made by commanders and admins of an area, each working once."""

import hashlib
import threading
import time
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from backend.audit.service import list_entries, verify
from backend.authority import SERVER
from backend.enrolment.service import EnrolmentError, create_links, redeem
from schemas.field import RedeemRefusal
from tests.enrolment.conftest import BELITANG, OTHER_NRP, Api, code_of
from tests.helpers import count
from tests.ops.harness import wib


def _officer_id(engine: Engine, nrp: str) -> int:
    with engine.connect() as c:
        return int(c.execute(text("SELECT id FROM officer WHERE nrp = :n"), {"n": nrp}).scalar())


def _wait_for(engine: Engine, table: str, where: str, n: int) -> int:
    # Refused credentials are written by the intake writer without waiting for the disk.
    deadline = time.monotonic() + 10
    while (got := count(engine, table, where)) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    return got


def test_a_commander_makes_links_for_a_polsek_and_each_link_works_once(api: Api) -> None:
    links = api.enrol(polsek=BELITANG)
    assert [link["officer"]["nrp"] for link in links] == api.mini.officer_nrps[2:]
    assert {link["officer"]["unit_code"] for link in links} == {BELITANG}
    first = links[0]
    assert first["url"].startswith(api.server.url + "/lapor/#daftar=pke_")
    r = api.redeem(code_of(first["url"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token"].startswith("pkd_")
    assert body["officer"] == first["officer"]
    # The credential is this officer's phone: it reads its home, and nothing else.
    me = api.call(body["token"], "GET", "/field/me")
    assert me.status_code == 200 and me.json()["officer"]["nrp"] == first["officer"]["nrp"]
    assert api.call(body["token"], "GET", "/tps").status_code == 403
    again = api.redeem(code_of(first["url"]))
    assert again.status_code == 410
    assert again.json()["detail"]["field"] == "code"
    assert again.json()["detail"]["code"] == RedeemRefusal.USED
    # The other officer's link is untouched.
    assert api.redeem(code_of(links[1]["url"])).status_code == 200


def test_codes_are_kept_only_as_their_sha256(api: Api, engine: Engine) -> None:
    links = api.enrol(nrp=api.mini.officer_nrps[0])
    code = code_of(links[0]["url"])
    assert len(code) == 4 + 43  # pke_ and 256 random bits
    with engine.connect() as c:
        stored = c.execute(text("SELECT code_hash FROM enrolment")).scalar()
        audit = " ".join(str(r[0]) for r in c.execute(text("SELECT data FROM audit_entry")))
    assert stored == hashlib.sha256(code.encode()).hexdigest()
    assert code not in audit and code[4:20] not in audit
    listed = api.call("commander", "GET", "/enrolments").json()["data"]
    assert code not in str(listed) and stored not in str(listed)


def test_links_last_the_configured_hours_and_the_request_may_say_fewer(
    api: Api, enrol_server: object
) -> None:
    made = api.enrol(nrp=api.mini.officer_nrps[0])
    listed = api.call("commander", "GET", "/enrolments").json()["data"][0]
    created = datetime.fromisoformat(listed["created_at"])
    assert datetime.fromisoformat(made[0]["expires_at"]) - created == timedelta(hours=48)
    short = api.enrol(nrp=api.mini.officer_nrps[1], expires_hours=1.5)
    listed = api.call("commander", "GET", "/enrolments").json()["data"][0]
    assert listed["officer"]["nrp"] == api.mini.officer_nrps[1]
    delta = datetime.fromisoformat(short[0]["expires_at"]) - datetime.fromisoformat(
        listed["created_at"]
    )
    assert delta == timedelta(hours=1.5)


def test_an_expired_link_is_refused_as_expired(engine: Engine, mini: object) -> None:
    t0 = wib(27, "06:00")
    with Session(engine) as s:
        links = create_links(
            session=s, authority=SERVER, actor="test", now=t0, hours=2, nrp="85010000"
        )
    with Session(engine) as s, pytest.raises(EnrolmentError) as err:
        redeem(session=s, code=links[0].code, now=t0 + timedelta(hours=2), remote=None)
    assert (err.value.status, err.value.code) == (410, RedeemRefusal.EXPIRED)
    with Session(engine) as s:  # a second before the end it still works
        done = redeem(
            session=s, code=links[0].code, now=t0 + timedelta(hours=2, seconds=-1), remote=None
        )
    assert done.token.startswith("pkd_")


def test_a_new_link_revokes_the_officers_earlier_unused_links(api: Api) -> None:
    nrp = api.mini.officer_nrps[0]
    old = api.enrol(nrp=nrp)[0]
    other = api.enrol(nrp=api.mini.officer_nrps[1])[0]
    new = api.enrol(nrp=nrp)[0]
    r = api.redeem(code_of(old["url"]))
    assert r.status_code == 410 and r.json()["detail"]["code"] == RedeemRefusal.REVOKED
    assert api.redeem(code_of(new["url"])).status_code == 200
    states = {e["id"]: e["state"] for e in api.call("admin", "GET", "/enrolments").json()["data"]}
    assert states == {old["id"]: "revoked", other["id"]: "waiting", new["id"]: "used"}


def test_enrolling_again_revokes_the_officers_previous_phone_only(api: Api, engine: Engine) -> None:
    nrp = api.mini.officer_nrps[0]
    first = api.redeem(code_of(api.enrol(nrp=nrp)[0]["url"])).json()
    assert api.call(first["token"], "GET", "/field/me").status_code == 200
    second = api.redeem(code_of(api.enrol(nrp=nrp)[0]["url"])).json()
    refused = api.call(first["token"], "GET", "/field/me")
    assert refused.status_code == 401
    assert refused.json()["detail"]["reason"] == "revoked credential"
    assert api.call(second["token"], "GET", "/field/me").status_code == 200
    # A device token issued otherwise (a program's, `posko token issue`) is not a phone's.
    assert api.call("device", "GET", "/field/me").status_code == 200
    with Session(engine) as s:
        entries = list_entries(session=s, action_prefix="enrolment.redeem")
    assert entries[0].data["revoked_credentials"] == [first["credential_id"]]
    assert entries[0].data["credential_id"] == second["credential_id"]


def test_two_phones_opening_the_same_link_at_once_get_one_credential(
    api: Api, engine: Engine
) -> None:
    code = code_of(api.enrol(nrp=api.mini.officer_nrps[2])[0]["url"])
    phones = 8
    start = threading.Barrier(phones)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def phone() -> None:
        with httpx.Client(base_url=api.server.url, timeout=60) as c:
            start.wait()
            r = c.post("/api/v1/enrolments/redeem", json={"code": code})
        with lock:
            answers.append(r)

    threads = [threading.Thread(target=phone) for _ in range(phones)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] + [410] * (phones - 1), [r.text for r in answers]
    assert {r.json()["detail"]["code"] for r in answers if r.status_code == 410} == {"used"}
    winner = next(r.json() for r in answers if r.status_code == 200)
    oid = _officer_id(engine, api.mini.officer_nrps[2])
    assert count(engine, "credential", f"officer_id = {oid}") == 1
    with engine.connect() as c:
        row = c.execute(text("SELECT credential_id, used_at FROM enrolment")).one()
    assert row[0] == winner["credential_id"] and row[1] is not None
    assert count(engine, "audit_entry", "action = 'enrolment.redeem'") == 1


def test_an_unknown_link_is_404_and_every_refusal_is_kept_without_the_code(
    api: Api, engine: Engine
) -> None:
    r = api.redeem("pke_" + "x" * 43)
    assert r.status_code == 404
    assert r.json()["detail"] == {
        "field": "code",
        "reason": "this link is not known: scan it again or ask for a new one",
        "code": "unknown",
    }
    code = code_of(api.enrol(nrp=api.mini.officer_nrps[0])[0]["url"])
    assert api.redeem(code).status_code == 200
    assert api.redeem(code).status_code == 410
    assert _wait_for(engine, "auth_failure", "path = '/api/v1/enrolments/redeem'", 2) == 2
    with engine.connect() as c:
        rows = c.execute(text("SELECT reason, prefix FROM auth_failure ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [
        ("enrolment link unknown", "pke_xxxx"),
        ("enrolment link used", code[:8]),
    ]


def test_bad_bodies_are_refused_naming_the_field(api: Api) -> None:
    cases = [
        ({"polsek": "polsek-tidak-ada"}, "polsek"),
        ({"nrp": "99999999"}, "nrp"),
        ({"nrp": OTHER_NRP, "polsek": BELITANG}, "nrp"),  # not in that Polsek
        ({"expires_hours": 0}, "expires_hours"),
        ({"expires_hours": 10_000}, "expires_hours"),
        ({"nrp": "8501\x000000"}, "nrp"),
        ({"polsek": BELITANG, "kabupaten": "16.08"}, "kabupaten"),
    ]
    for body, field in cases:
        r = api.call("commander", "POST", "/enrolments", body)
        assert r.status_code == 422, (body, r.text)
        detail = r.json()["detail"]
        named = detail[0]["loc"][-1] if isinstance(detail, list) else detail["field"]
        assert named == field, (body, detail)
    assert api.redeem("").status_code == 422
    assert api.call(None, "POST", "/enrolments/redeem", {"kode": "x"}).status_code == 422
    assert api.call("commander", "GET", "/enrolments").json()["count"] == 0


def test_only_commanders_and_admins_enrol(api: Api) -> None:
    link = api.enrol("admin", nrp=api.mini.officer_nrps[0])[0]
    for who in ("operator", "viewer", "kiosk", "device"):
        assert api.call(who, "POST", "/enrolments", {}).status_code == 403, who
        assert api.call(who, "GET", "/enrolments").status_code == 403, who
        assert api.call(who, "DELETE", f"/enrolments/{link['id']}").status_code == 403, who
    assert api.call(None, "GET", "/enrolments").status_code == 401
    assert api.call("oku-commander", "GET", "/enrolments").json()["count"] == 1


def test_a_scoped_actor_enrols_only_its_areas_officers_and_sees_only_their_links(
    api: Api,
) -> None:
    # 16.09's admin: the whole area is its one officer; 16.08's units and officers are absent.
    mine = api.enrol("okus-admin")
    assert [link["officer"]["nrp"] for link in mine] == [OTHER_NRP]
    for body, field in (({"polsek": BELITANG}, "polsek"), ({"nrp": "85010000"}, "nrp")):
        r = api.call("okus-admin", "POST", "/enrolments", body)
        assert r.status_code == 422 and r.json()["detail"]["field"] == field
    theirs = api.enrol("oku-commander")
    assert sorted(link["officer"]["nrp"] for link in theirs) == sorted(api.mini.officer_nrps)
    listed = api.call("okus-admin", "GET", "/enrolments").json()["data"]
    assert [e["id"] for e in listed] == [mine[0]["id"]]
    r = api.call("okus-admin", "DELETE", f"/enrolments/{theirs[0]['id']}")
    assert r.status_code == 404 and r.json()["detail"]["field"] == "id"
    assert api.redeem(code_of(theirs[0]["url"])).status_code == 200  # untouched
    assert api.call("commander", "GET", "/enrolments").json()["count"] == 5


def test_revoking_a_waiting_link_ends_it_and_a_used_one_is_a_conflict(api: Api) -> None:
    waiting, used = api.enrol(polsek=BELITANG)
    assert api.redeem(code_of(used["url"])).status_code == 200
    r = api.call("oku-commander", "DELETE", f"/enrolments/{waiting['id']}")
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    again = api.call("oku-commander", "DELETE", f"/enrolments/{waiting['id']}")
    assert again.status_code == 200 and again.json()["revoked_at"] == r.json()["revoked_at"]
    refused = api.redeem(code_of(waiting["url"]))
    assert refused.status_code == 410 and refused.json()["detail"]["code"] == "revoked"
    conflict = api.call("oku-commander", "DELETE", f"/enrolments/{used['id']}")
    assert (
        conflict.status_code == 409 and "device credential" in conflict.json()["detail"]["reason"]
    )
    assert api.call("commander", "DELETE", "/enrolments/999999").status_code == 404


def test_every_step_is_audited_in_the_officers_kabupaten_and_the_chain_holds(
    api: Api, engine: Engine
) -> None:
    made = api.enrol("oku-commander", polsek=BELITANG)
    redeemed = api.redeem(code_of(made[0]["url"])).json()
    api.call("oku-commander", "DELETE", f"/enrolments/{made[1]['id']}")
    api.enrol("okus-admin")
    with Session(engine) as s:
        entries = list_entries(session=s, action_prefix="enrolment.")
        result = verify(session=s)
    assert result.ok, result
    by_action = {(e.action, e.area_code): e for e in entries}
    create = by_action[("enrolment.create", "16.08")]
    assert create.actor.startswith("person:test commander#")
    assert create.subject == BELITANG
    assert create.data["officers"] == api.mini.officer_nrps[2:]
    assert create.data["enrolment_ids"] == [m["id"] for m in made]
    redeem_ = by_action[("enrolment.redeem", "16.08")]
    assert redeem_.subject == made[0]["officer"]["nrp"]
    assert redeem_.actor == f"device:lapor {redeem_.subject}#{redeemed['credential_id']}"
    assert redeem_.data["credential_id"] == redeemed["credential_id"]
    revoke = by_action[("enrolment.revoke", "16.08")]
    assert revoke.data == {"enrolment_id": made[1]["id"]}
    assert ("enrolment.create", "16.09") in by_action
    # The 16.09 admin's audit reader sees only its own kabupaten's entries.
    seen = api.call("okus-admin", "GET", "/audit?action=enrolment.").json()
    assert [(e["action"], e["area_code"]) for e in seen] == [("enrolment.create", "16.09")]


def test_links_use_the_public_url_when_one_is_set(
    settings: object, mini: object, engine: Engine
) -> None:
    from backend.config import Settings
    from schemas.enums import Role
    from tests.conftest import start_server
    from tests.factories import person_token

    assert isinstance(settings, Settings)
    srv = start_server(settings.model_copy(update={"public_url": "https://posko.example.id/"}))
    try:
        token = person_token(engine, Role.ADMIN)
        r = httpx.post(
            srv.url + "/api/v1/enrolments",
            json={"nrp": "85010000"},
            headers={"authorization": f"Bearer {token}"},
        )
    finally:
        srv.stop()
    assert r.json()["data"][0]["url"].startswith("https://posko.example.id/lapor/#daftar=pke_")


def test_one_address_sending_refused_links_waits_before_any_is_checked(
    settings: object, mini: object, engine: Engine
) -> None:
    from backend.config import Settings
    from tests.conftest import start_server

    assert isinstance(settings, Settings)
    srv = start_server(settings.model_copy(update={"enrolment_address_max_failures": 3}))
    try:
        with Session(engine) as s:
            good = create_links(
                session=s,
                authority=SERVER,
                actor="test",
                now=wib(27, "08:00"),
                hours=48,
                nrp="85010000",
            )[0].code
        url = srv.url + "/api/v1/enrolments/redeem"
        assert [httpx.post(url, json={"code": f"pke_{i}"}).status_code for i in range(3)] == [
            404
        ] * 3
        r = httpx.post(url, json={"code": good})
        assert r.status_code == 429, r.text
        assert r.json()["detail"]["field"] == "address"
        assert 1 <= int(r.headers["retry-after"]) <= 600
    finally:
        srv.stop()
    # The valid link was not even looked at: it still waits.
    with engine.connect() as c:
        assert c.execute(text("SELECT used_at FROM enrolment")).scalar() is None
    assert _wait_for(engine, "auth_failure", "reason LIKE 'too many refused%'", 1) == 1
