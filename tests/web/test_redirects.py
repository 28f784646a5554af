"""After signing in, the browser goes on only to a page of this server (no open redirect)."""

from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from backend.config import Settings
from backend.users.cli import kiosk_app
from schemas.paths import local_path
from tests.conftest import LiveServer
from tests.helpers import count
from tests.web.conftest import PASSWORD

# What browsers (or a later decoding) read as another site, or as no path at all.
HOSTILE = [
    "//evil.example",
    "/\\evil.example",
    "\\/\\/evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "\t//evil.example",
    "/%5Cevil.example",
    "/%5cevil.example",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "/%252F/evil.example",
    "/%09/evil.example",
    "/.//evil.example",
    "/./\\evil.example",
    "/x/..//evil.example",
    "/../evil.example",
    "/wall/%2e%2e//evil.example",
    "/\x00/evil.example",
    "/\u3000/evil.example",
    "/\u200b/evil.example",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "evil.example",
    "",
    "/" + "a" * 3000,
]
LOCAL = ["/", "/wall", "/wall?lang=en", "/?lang=en&area=16.08", "/nasional?area=16", "/admin"]


@pytest.mark.parametrize("target", HOSTILE)
def test_hostile_next_is_not_a_local_path(target: str) -> None:
    assert local_path(target) is None


@pytest.mark.parametrize("target", LOCAL)
def test_pages_of_this_server_are_local_paths(target: str) -> None:
    assert local_path(target) == target


def test_password_sign_in_form_never_redirects_off_site(
    server: LiveServer, commander_user: str
) -> None:
    headers = {"content-type": "application/x-www-form-urlencoded", "origin": server.url}
    for target in HOSTILE:
        body = urlencode({"username": commander_user, "password": PASSWORD, "next": target})
        r = httpx.post(server.url + "/api/v1/auth/login", content=body, headers=headers)
        # Signed in, but answered in place (JSON) instead of being sent anywhere.
        assert r.status_code == 200 and "location" not in r.headers, (target, r.headers)
    body = urlencode({"username": commander_user, "password": PASSWORD, "next": "/wall?lang=en"})
    r = httpx.post(server.url + "/api/v1/auth/login", content=body, headers=headers)
    assert r.status_code == 303 and r.headers["location"] == "/wall?lang=en"


def test_token_link_and_sign_in_page_never_send_the_browser_off_site(
    server: LiveServer, viewer: str
) -> None:
    for target in HOSTILE:
        link = httpx.get(server.url + "/login", params={"token": viewer, "next": target})
        assert link.status_code == 303 and link.headers["location"] == "/", target
        form = httpx.get(server.url + "/login", params={"next": target})
        assert form.status_code == 200 and 'name="next" value="/"' in form.text, target
    link = httpx.get(server.url + "/login", params={"token": viewer, "next": "/wall?lang=en"})
    assert link.headers["location"] == "/wall?lang=en"


def test_a_kiosk_link_to_another_site_is_refused_when_issued(
    server: LiveServer, admin: str
) -> None:
    bearer = {"authorization": f"Bearer {admin}"}
    for target in ["/\\evil.example", "/%5Cevil.example", "/.//evil.example", "/\t/evil"]:
        r = httpx.post(
            server.url + "/api/v1/kiosk-links", headers=bearer, json={"name": "x", "next": target}
        )
        assert r.status_code == 422, (target, r.text)
        assert r.json()["detail"][0]["loc"][-1] == "next", r.text
    ok = httpx.post(server.url + "/api/v1/kiosk-links", headers=bearer, json={"next": "/wall"})
    assert ok.status_code == 201


def test_posko_kiosk_issue_refuses_a_page_of_another_site(
    engine: Engine, settings: Settings
) -> None:
    url = ["--database-url", settings.database_url]
    r = CliRunner().invoke(kiosk_app, ["issue", "--next", "/\\evil.example", *url])
    assert r.exit_code != 0 and "path on this server" in r.output, r.output
    assert count(engine, "credential", "kind = 'kiosk'") == 0  # nothing issued
    ok = CliRunner().invoke(kiosk_app, ["issue", "--next", "/nasional", *url])
    assert ok.exit_code == 0 and "&next=%2Fnasional" in ok.output, ok.output
