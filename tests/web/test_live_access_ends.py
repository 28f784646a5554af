"""An open /ws/live ends soon after its credential does: sign-out, revocation, a disabled user."""

import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from backend.config import Settings
from tests.conftest import LiveServer
from tests.web.conftest import sign_in

# A deadline for the condition, not a timing claim: the server re-checks every few seconds and a
# credential is cached for a few more; the machine running the tests may be busy.
DEADLINE_S = 30.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Open screens re-check their credential every 0.2 s (2 s by default): the test waits less."""
    return settings.model_copy(update={"live_revalidate_s": 0.2})


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _live_with_cookie(server: LiveServer, token: str) -> ClientConnection:
    # As the dashboard opens it: the cookie, and the page's own origin (browsers always send it).
    headers = {"cookie": f"posko_token={token}", "origin": server.url}
    return connect(f"{server.ws_url}/ws/live", additional_headers=headers, open_timeout=10)


def _live_with_query(server: LiveServer, token: str) -> ClientConnection:
    return connect(f"{server.ws_url}/ws/live?token={token}", open_timeout=10)


def _hello(ws: ClientConnection) -> None:
    assert orjson.loads(ws.recv(timeout=10))["type"] == "hello"


def _until_closed(ws: ClientConnection) -> tuple[list[dict[str, Any]], int | None]:
    """Every frame until the server closes the socket, and the close code."""
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + DEADLINE_S
    try:
        while (left := deadline - time.monotonic()) > 0:
            frames.append(orjson.loads(ws.recv(timeout=left)))
    except ConnectionClosed as closed:
        return frames, closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        pass
    raise AssertionError(f"the socket stayed open for {DEADLINE_S} s; last frames {frames[-3:]}")


def _credential_id(server: LiveServer, admin: str, token: str) -> int:
    creds = httpx.get(server.url + "/api/v1/credentials", headers=_bearer(admin)).json()["data"]
    return int(next(c["id"] for c in creds if token.startswith(c["prefix"])))


def _assert_ended(ws: ClientConnection, reason: str) -> None:
    frames, code = _until_closed(ws)
    errors = [f for f in frames if f["type"] == "error"]
    assert errors == [{"type": "error", "error": {"field": "token", "reason": reason}}], frames
    assert code == 1008


def test_live_socket_closes_when_its_credential_is_revoked(
    server: LiveServer, admin: str, viewer: str
) -> None:
    with _live_with_query(server, viewer) as ws:
        _hello(ws)
        cid = _credential_id(server, admin, viewer)
        gone = httpx.delete(f"{server.url}/api/v1/credentials/{cid}", headers=_bearer(admin))
        assert gone.status_code == 200
        _assert_ended(ws, "revoked credential")


def test_live_socket_closes_when_its_kiosk_link_is_revoked(server: LiveServer, admin: str) -> None:
    issued = httpx.post(
        server.url + "/api/v1/kiosk-links", headers=_bearer(admin), json={"name": "dinding"}
    )
    assert issued.status_code == 201
    with httpx.Client(base_url=server.url) as wall:
        signed = wall.get(issued.json()["url"].replace(server.url, ""))
        assert signed.status_code == 303
        cookie = wall.cookies["posko_token"]
    with _live_with_cookie(server, cookie) as ws:
        _hello(ws)
        cid = issued.json()["credential"]["id"]
        gone = httpx.delete(f"{server.url}/api/v1/kiosk-links/{cid}", headers=_bearer(admin))
        assert gone.status_code == 200
        _assert_ended(ws, "revoked credential")


def _logout_api(server: LiveServer, cookie: str, admin: str) -> httpx.Response:
    return httpx.post(
        server.url + "/api/v1/auth/logout",
        cookies={"posko_token": cookie},
        headers={"origin": server.url},
    )


def _logout_button(server: LiveServer, cookie: str, admin: str) -> httpx.Response:
    return httpx.post(
        server.url + "/logout", cookies={"posko_token": cookie}, headers={"origin": server.url}
    )


def _disable_user(server: LiveServer, cookie: str, admin: str) -> httpx.Response:
    users = httpx.get(server.url + "/api/v1/users", headers=_bearer(admin)).json()["data"]
    uid = next(u["id"] for u in users if u["username"] == "komandan")
    return httpx.patch(
        f"{server.url}/api/v1/users/{uid}", headers=_bearer(admin), json={"is_active": False}
    )


@pytest.mark.parametrize(
    ("end", "status"),
    [(_logout_api, 204), (_logout_button, 303), (_disable_user, 200)],
    ids=["sign-out-api", "sign-out-button", "user-disabled"],
)
def test_live_socket_of_a_session_closes_when_the_session_ends(
    server: LiveServer,
    admin: str,
    commander_user: str,
    end: Callable[[LiveServer, str, str], httpx.Response],
    status: int,
) -> None:
    cookie = sign_in(server, commander_user)
    with _live_with_cookie(server, cookie) as ws:
        _hello(ws)
        assert end(server, cookie, admin).status_code == status
        _assert_ended(ws, "revoked credential")
