"""A real server on the mini registry plus a second kabupaten, and the callers of the enrolment API.

The mini registry is kabupaten 16.08 (Polres OKU Timur: officers 0 and 1; Polsek Belitang:
officers 2 and 3); 16.09 adds Polres OKU Selatan with one officer.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from backend.auth.service import issue
from backend.config import Settings
from backend.officers.models import Officer, Unit
from backend.regions.models import Region
from schemas.enums import CredentialKind, RegionLevel, Role, UnitKind
from tests.conftest import LiveServer, start_server
from tests.factories import NOW, MiniRegistry, device_token, person_token
from tests.ops.harness import wib

OTHER_NRP = "85090001"  # the officer of kabupaten 16.09
BELITANG = "polsek-belitang"


def add_sibling_kabupaten(engine: Engine) -> None:
    """Kabupaten 16.09 with its Polres and one officer."""
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


@dataclass
class Api:
    """The server and the callers: tokens by who holds them."""

    server: LiveServer
    engine: Engine
    mini: MiniRegistry
    tokens: dict[str, str]

    def call(
        self, who: str | None, method: str, path: str, body: Any = None, **kw: Any
    ) -> httpx.Response:
        """One API call with the Bearer token of `who` (None: no credential)."""
        headers = dict(kw.pop("headers", {}))
        if who is not None:
            headers["authorization"] = f"Bearer {self.tokens.get(who, who)}"
        return httpx.request(
            method,
            self.server.url + "/api/v1" + path,
            json=body,
            headers=headers,
            timeout=30,
            **kw,
        )

    def enrol(self, who: str = "commander", **body: Any) -> list[dict[str, Any]]:
        """Make links; return them."""
        r = self.call(who, "POST", "/enrolments", body)
        assert r.status_code == 201, r.text
        links: list[dict[str, Any]] = r.json()["data"]
        return links

    def redeem(self, code: str, **kw: Any) -> httpx.Response:
        """Open a link's code as the phone does."""
        return self.call(None, "POST", "/enrolments/redeem", {"code": code}, **kw)


def code_of(url: str) -> str:
    """The code in a link's fragment."""
    base, _, code = url.partition("#daftar=")
    assert base.endswith("/lapor/") and code, url
    return code


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings on an exercise clock at 08:00 WIB of voting day."""
    return settings.model_copy(update={"clock_start": wib(27, "08:00")})


@pytest.fixture
def enrol_server(settings: Settings, mini: MiniRegistry, engine: Engine) -> Iterator[LiveServer]:
    """A real server on both kabupaten."""
    add_sibling_kabupaten(engine)
    srv = start_server(settings)
    yield srv
    srv.stop()


@pytest.fixture
def api(enrol_server: LiveServer, engine: Engine, mini: MiniRegistry) -> Api:
    """Callers: national commander and admin, scoped ones, and those who may not enrol."""
    tokens = {
        "commander": person_token(engine, Role.COMMANDER),
        "admin": person_token(engine, Role.ADMIN),
        "oku-commander": person_token(engine, Role.COMMANDER, area="16.08"),
        "okus-admin": person_token(engine, Role.ADMIN, area="16.09"),
        "operator": person_token(engine, Role.OPERATOR),
        "viewer": person_token(engine, Role.VIEWER),
        "device": device_token(engine, mini.officer_ids[0]),
    }
    with Session(engine) as s:
        _, tokens["kiosk"] = issue(session=s, kind=CredentialKind.KIOSK, name="wall", now=NOW)
    return Api(enrol_server, engine, mini, tokens)
