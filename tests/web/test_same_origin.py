"""Only this server's own pages may act with its sign-in cookie (same-site request forgery).

A page on another port or a sibling host is "same site": SameSite=Lax lets the cookie ride on
its form posts and websockets. Each case below is what such a page, or a stripped-down client,
can make a browser send.
"""

import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
from sqlalchemy import Engine
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.conftest import LiveServer, start_server
from tests.factories import MiniRegistry
from tests.helpers import count, field_socket, incident, ping, send
from tests.intake.test_webhook import _hmac_headers as hmac_headers
from tests.web.conftest import PASSWORD, sign_in

FORM = {"content-type": "application/x-www-form-urlencoded"}


def _others(server: LiveServer) -> dict[str, dict[str, str]]:
    """Headers a browser sends for a request made by a page that is not one of ours."""
    port = urlsplit(server.url).port
    return {
        "another port": {"origin": f"http://127.0.0.1:{port + 1 if port else 1}"},
        "a sibling host": {"origin": f"http://peta.localhost:{port}"},
        "https instead of http": {"origin": f"https://127.0.0.1:{port}"},
        "an opaque origin": {"origin": "null"},
        "no origin, a foreign referer": {"referer": f"http://127.0.0.1:{port + 1}/x"},
        "no origin, no referer": {},
    }


def _ours(server: LiveServer) -> dict[str, dict[str, str]]:
    return {
        "the page's origin": {"origin": server.url},
        "upper-case host, default path": {"origin": server.url.upper().replace("HTTP", "http")},
        "a referer only": {"referer": server.url + "/?lang=en"},
        "the browser's own same-origin flag": {"origin": "null", "sec-fetch-site": "same-origin"},
    }


def _severe_alert(server: LiveServer, device: str, viewer: str, code: str) -> dict[str, Any]:
    with field_socket(server.ws_url, device) as ws:
        assert send(ws, incident(code, severity=4))["result"] == "stored"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        listed = httpx.get(
            server.url + "/api/v1/alerts", headers={"authorization": f"Bearer {viewer}"}
        ).json()["data"]
        found = [a for a in listed if a["kind"] == "incident_severe"]
        if found:
            return dict(found[0])
        time.sleep(0.05)
    raise AssertionError("no severe-incident alert")


def test_a_same_site_page_cannot_acknowledge_an_alert_with_a_plain_form_post(
    ops_server: LiveServer,
    device: str,
    viewer: str,
    commander_user: str,
    mini: MiniRegistry,
    engine: Engine,
) -> None:
    alert = _severe_alert(ops_server, device, viewer, mini.tps_codes[0])
    cookie = sign_in(ops_server, commander_user)
    path = f"{ops_server.url}/api/v1/alerts/{alert['id']}/acknowledge"
    port = urlsplit(ops_server.url).port
    # What <form method=post action=".../acknowledge"> on http://127.0.0.1:<other port> sends.
    forged = httpx.post(
        path,
        cookies={"posko_token": cookie},
        headers={**FORM, "origin": f"http://127.0.0.1:{port + 1 if port else 1}"},
    )
    assert forged.status_code == 403, forged.text
    assert forged.json()["detail"]["field"] == "origin"
    assert "another origin" in forged.json()["detail"]["reason"]
    still = httpx.get(
        ops_server.url + "/api/v1/alerts", headers={"authorization": f"Bearer {viewer}"}
    ).json()["data"]
    assert next(a for a in still if a["id"] == alert["id"])["acknowledged_at"] is None
    deadline = time.monotonic() + 10
    while count(engine, "auth_failure", "reason = 'request from another origin'") == 0:
        assert time.monotonic() < deadline, "the refusal was not kept"
        time.sleep(0.05)
    # The same button on the commander's own page works.
    own = httpx.post(
        path, cookies={"posko_token": cookie}, headers={**FORM, "origin": ops_server.url}
    )
    assert own.status_code == 200 and own.json()["acknowledged_at"] is not None


def _incident_id(server: LiveServer, device: str, viewer: str, code: str) -> int:
    with field_socket(server.ws_url, device) as ws:
        assert send(ws, incident(code, severity=2))["result"] == "stored"
    opened = httpx.get(
        server.url + "/api/v1/incidents/open", headers={"authorization": f"Bearer {viewer}"}
    )
    return int(opened.json()["data"][0]["id"])


def test_cookie_writes_from_other_origins_are_refused_and_from_our_pages_pass(
    ops_server: LiveServer, device: str, viewer: str, commander_user: str, mini: MiniRegistry
) -> None:
    iid = _incident_id(ops_server, device, viewer, mini.tps_codes[0])
    cookie = sign_in(ops_server, commander_user)
    url = f"{ops_server.url}/api/v1/incidents/{iid}/notes"
    for case, headers in _others(ops_server).items():
        r = httpx.post(url, cookies={"posko_token": cookie}, headers=headers, json={"text": case})
        assert r.status_code == 403, (case, r.status_code, r.text)
        assert r.json()["detail"]["field"] == "origin", case
    for case, headers in _ours(ops_server).items():
        r = httpx.post(url, cookies={"posko_token": cookie}, headers=headers, json={"text": case})
        assert r.status_code == 201, (case, r.status_code, r.text)
    notes = httpx.get(
        f"{ops_server.url}/api/v1/incidents/{iid}", headers={"authorization": f"Bearer {viewer}"}
    ).json()
    written = {s["note"] for s in notes["steps"] if s["kind"] == "note"}
    assert written == set(_ours(ops_server))


def test_a_webhook_post_carried_by_the_cookie_alone_is_held_to_the_origin_rule(
    server: LiveServer, viewer: str, mini: MiniRegistry, engine: Engine
) -> None:
    """Webhooks answer ahead of the router but behind the origin guard: a cookie is held to it."""
    r = httpx.post(
        server.url + "/api/v1/pings",
        cookies={"posko_token": viewer},
        headers={"origin": "http://elsewhere.example"},
        json=ping(mini.tps_codes[0]),
    )
    assert r.status_code == 403, r.text
    assert r.json()["detail"]["field"] == "origin"
    assert count(engine, "ping") == 0


def test_programs_with_their_own_credential_are_not_asked_where_they_come_from(
    server: LiveServer, device: str, viewer: str, mini: MiniRegistry, engine: Engine
) -> None:
    # Even with a stray cookie: the Bearer header or the HMAC signature is what authenticates.
    stray = {"posko_token": viewer}
    anywhere = {"origin": "http://elsewhere.example"}
    bearer = httpx.post(
        server.url + "/api/v1/pings",
        cookies=stray,
        headers={**anywhere, "authorization": f"Bearer {device}"},
        json=ping(mini.tps_codes[0]),
    )
    assert bearer.status_code == 200, bearer.text
    body = orjson.dumps(ping(mini.tps_codes[1]))
    signed = httpx.post(
        server.url + "/api/v1/pings",
        cookies=stray,
        content=body,
        headers={**anywhere, **hmac_headers(engine, device, body)},
    )
    assert signed.status_code == 200, signed.text


def test_a_sign_in_form_on_another_origin_cannot_sign_the_browser_in(
    server: LiveServer, commander_user: str
) -> None:
    body = f"username={commander_user}&password={PASSWORD}&next=%2Fwall"
    port = urlsplit(server.url).port
    for case, headers in _others(server).items():
        if not headers:
            continue  # no browser leaves both out on a cross-origin post: a program signing in
        r = httpx.post(server.url + "/api/v1/auth/login", content=body, headers={**FORM, **headers})
        assert r.status_code == 403, (case, r.status_code)
        assert "set-cookie" not in r.headers, case
    # text/plain is what a form can send as "JSON": refused from another port all the same.
    plain = httpx.post(
        server.url + "/api/v1/auth/login",
        content=orjson.dumps({"username": commander_user, "password": PASSWORD}),
        headers={"content-type": "text/plain", "origin": f"http://127.0.0.1:{port + 1}"},
    )
    assert plain.status_code == 403 and "set-cookie" not in plain.headers
    mine = httpx.post(
        server.url + "/api/v1/auth/login", content=body, headers={**FORM, "origin": server.url}
    )
    assert mine.status_code == 303 and mine.headers["location"] == "/wall"
    script = httpx.post(
        server.url + "/api/v1/auth/login",
        json={"username": commander_user, "password": PASSWORD},
    )
    assert script.status_code == 200 and "posko_token" in script.cookies


def _live_frames(server: LiveServer, path: str, headers: dict[str, str]) -> tuple[list[Any], Any]:
    frames: list[Any] = []
    with connect(f"{server.ws_url}{path}", additional_headers=headers, open_timeout=10) as ws:
        try:
            frames.append(orjson.loads(ws.recv(timeout=10)))
            frames.append(orjson.loads(ws.recv(timeout=10)))
        except ConnectionClosed as closed:
            return frames, closed.rcvd.code if closed.rcvd else None
        except TimeoutError:
            pass
    return frames, None


def test_live_socket_with_the_cookie_opens_only_from_our_pages(
    server: LiveServer, viewer: str
) -> None:
    cookie = {"cookie": f"posko_token={viewer}"}
    for case, headers in _others(server).items():
        frames, code = _live_frames(server, "/ws/live", {**cookie, **headers})
        assert code == 1008, (case, frames)
        assert [f["error"]["field"] for f in frames] == ["origin"], (case, frames)
    frames, code = _live_frames(server, "/ws/live", {**cookie, "origin": server.url})
    assert frames and frames[0]["type"] == "hello" and code is None
    # Not the cookie: a program with its token in the query or a header opens from anywhere.
    elsewhere = {"origin": "http://elsewhere.example"}
    frames, _ = _live_frames(server, f"/ws/live?token={viewer}", elsewhere)
    assert frames[0]["type"] == "hello"
    frames, _ = _live_frames(server, "/ws/live", {**elsewhere, "authorization": f"Bearer {viewer}"})
    assert frames[0]["type"] == "hello"


def test_dash_callbacks_run_only_from_our_pages(server: LiveServer, viewer: str) -> None:
    cookies = {"posko_token": viewer}
    port = urlsplit(server.url).port
    forged = httpx.post(
        server.url + "/_dash-update-component",
        cookies=cookies,
        headers={"origin": f"http://127.0.0.1:{port + 1}"},
        json={},
    )
    assert forged.status_code == 403 and forged.json()["detail"]["field"] == "origin"
    own = httpx.post(
        server.url + "/_dash-update-component",
        cookies=cookies,
        headers={"origin": server.url},
        json={},
    )
    assert own.status_code != 403


@pytest.mark.parametrize(
    ("public_url", "forwarded", "secure"),
    [
        (None, {}, False),
        ("https://posko.polres.example", {}, True),  # TLS ends at a proxy on another host
        (None, {"x-forwarded-proto": "https"}, True),  # a proxy on this host (trusted by uvicorn)
    ],
)
def test_the_cookie_is_secure_whenever_people_reach_the_server_over_https(
    settings: Any,
    mini: MiniRegistry,
    commander_user: str,
    viewer: str,
    public_url: str | None,
    forwarded: dict[str, str],
    secure: bool,
) -> None:
    srv = start_server(settings.model_copy(update={"public_url": public_url}))
    try:
        login = httpx.post(
            srv.url + "/api/v1/auth/login",
            json={"username": commander_user, "password": PASSWORD},
            headers=forwarded,
        )
        link = httpx.get(srv.url + "/login", params={"token": viewer}, headers=forwarded)
    finally:
        srv.stop()
    for r in (login, link):
        assert "posko_token=" in r.headers["set-cookie"]
        assert ("secure" in r.headers["set-cookie"].lower()) is secure, r.headers["set-cookie"]
