"""Who may see the dashboard, and what the dashboard reads, on the small registry."""

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from backend.runtime import Runtime
from dashboard.data import read_officers, read_picture, read_timeline, search_tps, silent_officers
from tests.conftest import LiveServer, Shared, shared_server
from tests.databases import Templates
from tests.factories import NOW, MiniRegistry, device_token, person_token
from tests.helpers import field_socket, ping, send


def _client(server: LiveServer, token: str | None = None) -> httpx.Client:
    # As a browser on the server's own pages: the cookie, and the page's origin on writes.
    cookies = {"posko_token": token} if token else {}
    return httpx.Client(
        base_url=server.url,
        cookies=cookies,
        headers={"origin": server.url},
        follow_redirects=False,
    )


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, db_templates: Templates) -> Iterator[Shared]:
    """One server for the refusals and redirects below, which change nothing that they read."""
    with shared_server(tmp_path_factory.mktemp("access"), db_templates) as it:
        yield it


@pytest.fixture
def reader(shared: Shared) -> LiveServer:
    """The shared server (the name `server` is each test's own, on a fresh database)."""
    return shared.server


@pytest.fixture
def reader_viewer(shared: Shared) -> str:
    """A viewer's token on the shared server."""
    return person_token(shared.engine)


@pytest.fixture
def reader_device(shared: Shared) -> str:
    """The first officer's device token on the shared server."""
    return device_token(shared.engine, shared.mini.officer_ids[0])


@pytest.mark.parametrize("path", ["/", "/wall", "/wall?lang=en"])
def test_pages_without_a_credential_send_the_browser_to_login(
    reader: LiveServer, path: str
) -> None:
    server = reader
    with _client(server) as c:
        r = c.get(path)
        assert r.status_code == 303
        assert r.headers["location"].startswith("/login?next=%2F")
        login = c.get(r.headers["location"])
    # The sign-in form, which also tells the wall's operator to use the token link.
    assert login.status_code == 200 and "tautan masuk" in login.text
    assert 'name="password"' in login.text and 'name="next" value="/' in login.text


@pytest.mark.parametrize(
    "path", ["/_dash-layout", "/_dash-dependencies", "/assets/live/90-startup.js", "/_favicon.ico"]
)
def test_dash_endpoints_and_assets_refuse_without_a_credential(
    reader: LiveServer, path: str
) -> None:
    server = reader
    with _client(server) as c:
        r = c.get(path)
    assert r.status_code == 401 and r.json()["detail"]["field"] == "authorization"


def test_callbacks_refuse_a_device_token(reader: LiveServer, reader_device: str) -> None:
    server, device = reader, reader_device
    with _client(server, device) as c:
        r = c.post("/_dash-update-component", json={})
    assert r.status_code == 403  # not 401: Dash's renderer mishandles a 401 (dashboard/guard.py)
    assert r.json()["detail"]["reason"] == "this credential cannot read state"


def test_the_token_link_opens_the_wall_and_it_stays_open(server: LiveServer, viewer: str) -> None:
    with _client(server) as c:
        r = c.get(f"/login?token={viewer}&next=/wall")
        assert r.status_code == 303 and r.headers["location"] == "/wall"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "Max-Age=315360000" in cookie
        page = c.get("/wall")
        assert page.status_code == 200 and "_dash-renderer" in page.text
        # The index is light: the layouts it embeds carry no data.
        assert len(page.content) < 20_000
        assert c.get("/_dash-layout").status_code == 200
        assert c.get("/assets/live/90-startup.js").status_code == 200


def test_a_bad_or_device_token_link_explains_itself_in_the_chosen_language(
    reader: LiveServer, reader_device: str
) -> None:
    server, device = reader, reader_device
    with _client(server) as c:
        bad = c.get("/login?token=pkk_nonsense&next=/wall")
        device_link = c.get(f"/login?token={device}&lang=en")
    assert bad.status_code == 401 and "set-cookie" not in bad.headers
    assert "Tautan tidak berlaku" in bad.text and 'lang="id"' in bad.text
    assert device_link.status_code == 403 and "set-cookie" not in device_link.headers
    assert "A device token cannot open the dashboard." in device_link.text


# Browsers read a backslash as a slash and drop tabs and newlines: each of these is "//evil".
OFFSITE_NEXT = ["/\\evil.example", "/\t/evil.example", "/\n/evil.example", "//evil.example"]


@pytest.mark.parametrize("target", OFFSITE_NEXT)
def test_login_next_never_sends_the_browser_to_another_site(
    reader: LiveServer, reader_viewer: str, target: str
) -> None:
    server, viewer = reader, reader_viewer
    with _client(server) as c:
        form = c.get("/login", params={"next": target})
        link = c.get("/login", params={"token": viewer, "next": target})
    # The form's script does location.replace(next) after signing in; the link redirects.
    assert 'name="next" value="/"' in form.text
    assert link.status_code == 303 and link.headers["location"] == "/"


def test_dash_websocket_is_refused_without_a_credential(reader: LiveServer) -> None:
    server = reader
    with pytest.raises(InvalidStatus):
        connect(f"{server.ws_url}/_dash-ws-callback", open_timeout=30).close()


def test_unknown_api_paths_stay_json_404_despite_dash_catch_all(reader: LiveServer) -> None:
    server = reader
    r = httpx.get(server.url + "/api/v1/nope")
    assert r.status_code == 404 and r.json()["detail"]["field"] == "path"


def test_big_javascript_is_compressed(reader: LiveServer, reader_viewer: str) -> None:
    server, viewer = reader, reader_viewer
    with _client(server, viewer) as c:
        r = c.get(
            "/_dash-component-suites/plotly/package_data/plotly.min.js",
            headers={"accept-encoding": "gzip"},
        )
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert int(r.headers["content-length"]) < len(r.content) / 3


def _runtime(server: LiveServer) -> Runtime:
    rt: Runtime = server.server.config.app.state.runtime
    return rt


def test_reads_for_the_screens(server: LiveServer, device: str, mini: MiniRegistry) -> None:
    code = mini.tps_codes[0]  # sangat rawan: 10 minutes of grace while voting
    with field_socket(server.ws_url, device) as ws:
        send(ws, ping(code, "persiapan", "aman", minutes=-60))
        send(ws, ping(code, "pemungutan", "waspada", minutes=-30))
    rt = _runtime(server)
    pic = read_picture(rt, area_code=None)
    assert len(pic.tps) == 12 and pic.grace["sangat_rawan"]["pemungutan"] == 600
    # The rows of the chosen TPS only, labelled by kecamatan name.
    tl = read_timeline(rt, area_code=None, codes={code})
    assert [r.code for r in tl.rows] == [code]
    assert tl.kecamatan_names == {"16.08.01": "Martapura"}
    officers = read_officers(rt, area_code=None)
    silent = silent_officers(officers, NOW + timedelta(hours=1))
    assert [o.nrp for o, _ in silent][-1] == mini.officer_nrps[0]  # after the never heard from
    assert silent[0][1] is None  # never heard from comes first
    assert search_tps(rt, code, area_code=None) == [code]
    assert search_tps(rt, "tanjung kemala", area_code=None) == mini.tps_codes[3:6]
    assert search_tps(rt, mini.officer_nrps[1], area_code=None) == mini.tps_codes[3:6]
    assert search_tps(rt, "16.08.03", area_code=None) == mini.tps_codes[6:]
    assert search_tps(rt, "nowhere", area_code=None) == []
