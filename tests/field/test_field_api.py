"""What the officer's phone reads: its home and a TPS search, with a device credential only."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event, text
from sqlmodel import Session

from backend.auth.service import issue
from backend.officers.models import Assignment
from schemas.enums import CredentialKind, Role
from tests.conftest import LiveServer, start_server
from tests.factories import NOW, MiniRegistry, device_token, person_token
from tests.helpers import field_socket, ping, send
from tests.ops.harness import wib


@pytest.fixture
def field_server(settings: Any, mini: MiniRegistry) -> Iterator[LiveServer]:
    """A server whose exercise clock starts at 08:00 WIB on voting day."""
    # A credential stays cached for the whole test (field003 counts the queries of a cached
    # one; the default 5 s ran out between two requests on a busy machine).
    update = {"clock_start": wib(27, "08:00"), "credential_cache_s": 600.0}
    srv = start_server(settings.model_copy(update=update))
    yield srv
    srv.stop()


def _get(server: LiveServer, token: str | None, path: str, **params: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.get(server.url + "/api/v1/field" + path, headers=headers, params=params)


@contextmanager
def _queries(server: LiveServer) -> Iterator[list[str]]:
    """The SQL statements the server runs meanwhile."""
    engine = server.server.config.app.state.runtime.engine  # type: ignore[attr-defined]
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_field001_home_is_the_officer_its_tps_with_state_and_the_expected_phase(
    field_server: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    mine = device_token(engine, mini.officer_ids[0])
    other = device_token(engine, mini.officer_ids[1])
    # Officer 1 reports on officer 0's TPS (a claim: phase stays, situation and last seen move).
    with field_socket(field_server.ws_url, other) as ws:
        ack = send(ws, ping(mini.tps_codes[1], "pemungutan", "waspada", at=wib(27, "07:55")))
        assert ack["result"] == "stored", ack
    with field_socket(field_server.ws_url, mine) as ws:
        ack = send(ws, ping(mini.tps_codes[0], "pemungutan", "aman", at=wib(27, "07:50")))
        assert ack["result"] == "stored", ack
    r = _get(field_server, mine, "/me")
    assert r.status_code == 200, r.text
    home = r.json()
    assert home["officer"] == {
        "nrp": mini.officer_nrps[0],
        "name": "Petugas 0",
        "rank": "Bripka",
        "unit_code": "polres-oku-timur",
        "unit_name": "Polres OKU Timur",
    }
    assert home["exercise"] is not None
    assert home["server_time"].startswith("2024-11-27T01:0")  # 08:0x WIB, in UTC
    assert [t["code"] for t in home["tps"]] == mini.tps_codes[:3]
    first, second, third = home["tps"]
    assert first["desa"] == "Dusun Martapura" and first["kecamatan"] == "Martapura"
    assert first["number"] == 1 and first["risk"] == "sangat_rawan"
    assert (first["phase"], first["situation"]) == ("pemungutan", "aman")
    assert first["last_officer"] == "Bripka Petugas 0"
    assert first["last_seen_at"].startswith("2024-11-27T00:50")
    assert (second["situation"], second["last_officer"]) == ("waspada", "Bripka Petugas 1")
    assert (third["phase"], third["last_seen_at"], third["last_officer"]) == (None, None, None)
    assert {t["expected_phase"] for t in home["tps"]} == {"pemungutan"}
    assert all(t["is_assigned"] for t in home["tps"])


def test_field002_only_a_device_credential_reads_the_field_api(
    field_server: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    with Session(engine) as s:
        _, kiosk = issue(session=s, kind=CredentialKind.KIOSK, name="wall", now=NOW)
    for token in (person_token(engine, Role.ADMIN), person_token(engine, Role.VIEWER), kiosk):
        for path in ("/me", "/tps"):
            r = _get(field_server, token, path)
            assert r.status_code == 403, (path, r.text)
            assert r.json()["detail"] == {
                "field": "authorization",
                "reason": "needs an officer's device credential",
            }
    assert _get(field_server, None, "/me").status_code == 401
    assert _get(field_server, "pkd_" + "x" * 43, "/tps").status_code == 401


def test_field003_home_costs_two_queries_however_many_tps_the_officer_has(
    field_server: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    token = device_token(engine, mini.officer_ids[0])
    assert _get(field_server, token, "/me").status_code == 200  # the credential is now cached
    with _queries(field_server) as few:
        assert len(_get(field_server, token, "/me").json()["tps"]) == 3
    with Session(engine) as s:  # all twelve TPS become this officer's
        ids = [r[0] for r in s.execute(text("SELECT id FROM tps"))]
        s.execute(text("DELETE FROM assignment"))
        for tps_id in ids:
            s.add(Assignment(officer_id=mini.officer_ids[0], tps_id=tps_id))
        s.commit()
    with _queries(field_server) as many:
        assert len(_get(field_server, token, "/me").json()["tps"]) == 12
    with _queries(field_server) as search:
        assert len(_get(field_server, token, "/tps", limit=50).json()["data"]) == 6
    assert len(few) == len(many) == len(search) == 2, (few, many, search)


def test_field004_search_finds_tps_of_the_units_kecamatan_by_desa_code_or_number(
    field_server: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    belitang = device_token(engine, mini.officer_ids[2])  # Polsek Belitang: kecamatan 16.08.03

    def codes(q: str, **params: Any) -> list[str]:
        r = _get(field_server, belitang, "/tps", q=q, **params)
        assert r.status_code == 200, r.text
        return [t["code"] for t in r.json()["data"]]

    gumawang = ["16.08.03.2001-001", "16.08.03.2001-002", "16.08.03.2001-003"]
    sumber = ["16.08.03.2002-001", "16.08.03.2002-002", "16.08.03.2002-003"]
    # Officer 2's own TPS (Gumawang) first, then the rest of the area by code.
    assert codes("") == gumawang + sumber
    assert codes("GUMAWANG") == gumawang
    assert codes("sumber 2") == ["16.08.03.2002-002"]
    assert codes("TPS 003") == ["16.08.03.2001-003", "16.08.03.2002-003"]
    assert codes("3", limit=1) == ["16.08.03.2001-003"]  # own first
    assert codes("2002-003") == ["16.08.03.2002-003"]
    assert codes("2002") == sumber  # more than three digits: part of a code
    assert codes("martapura") == []  # another unit's kecamatan
    assert codes("16.08.01") == []
    assert codes("%") == [] and codes("_") == []  # literals, not wildcards
    cards = _get(field_server, belitang, "/tps", q="sumber").json()["data"]
    assert {c["is_assigned"] for c in cards} == {False}
    assert {c["expected_phase"] for c in cards} == {"pemungutan"}


def test_field005_a_unit_listing_no_kecamatan_searches_its_whole_kabupaten(
    field_server: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    polres = device_token(engine, mini.officer_ids[0])
    r = _get(field_server, polres, "/tps", q="", limit=50)
    assert {t["code"][:8] for t in r.json()["data"]} == {"16.08.01"}
    with engine.begin() as c:  # the Polres as a seeded registry has it: no kecamatan rows
        c.execute(
            text(
                "DELETE FROM unit_kecamatan WHERE unit_id = "
                "(SELECT id FROM unit WHERE code = 'polres-oku-timur')"
            )
        )
    r = _get(field_server, polres, "/tps", q="", limit=50)
    assert len(r.json()["data"]) == 12


def test_field006_bad_search_parameters_are_422_naming_them(
    field_server: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    token = device_token(engine, mini.officer_ids[2])
    for params, name in (
        ({"q": "a\x00b"}, "q"),
        ({"q": "x" * 61}, "q"),
        ({"limit": 0}, "limit"),
        ({"limit": 51}, "limit"),
        ({"limit": "lima"}, "limit"),
    ):
        r = _get(field_server, token, "/tps", **params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["detail"][0]["loc"][-1] == name


def test_field007_every_endpoint_the_phone_uses_is_described_with_its_models(
    field_server: LiveServer,
) -> None:
    spec = httpx.get(field_server.url + "/openapi.json").json()
    schemas = spec["components"]["schemas"]
    uses = {
        ("post", "/api/v1/enrolments/redeem"): ("200", "RedeemedEnrolment"),
        ("get", "/api/v1/field/me"): ("200", "FieldHome"),
        ("get", "/api/v1/field/tps"): ("200", "TpsCards"),
        ("get", "/api/v1/clock"): ("200", "ServerClock"),
    }
    for (method, path), (status, model) in uses.items():
        op = spec["paths"][path][method]
        ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert ref == f"#/components/schemas/{model}", (path, ref)
        assert model in schemas
    redeem = spec["paths"]["/api/v1/enrolments/redeem"]["post"]
    assert redeem["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/EnrolmentRedeem"
    )
    for status in ("404", "410"):
        problem = redeem["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert problem.endswith("/RedeemProblemResponse")
    assert {"422", "429"} <= redeem["responses"].keys()
    assert set(schemas["RedeemProblem"]["properties"]) == {"field", "reason", "code"}
    card = schemas["TpsCard"]["properties"]
    assert set(card) == {
        "code", "number", "desa", "kecamatan", "risk", "lat", "lon", "phase", "situation",
        "last_seen_at", "last_officer", "expected_phase", "is_assigned",
    }  # fmt: skip
    # The fallback for reports when the socket cannot open.
    assert "post" in spec["paths"]["/api/v1/events"]
