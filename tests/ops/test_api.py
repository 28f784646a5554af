"""The operations API over a real server: roles, lifecycle conflicts, sessions, kiosks, admin."""

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import orjson
import pytest
from sqlalchemy import Engine, text
from websockets.sync.client import connect

from backend.config import Settings
from backend.users.service import hasher
from schemas.enums import Role
from tests.conftest import LiveServer, start_server
from tests.factories import MiniRegistry
from tests.helpers import field_socket, incident, ping, send
from tests.ops.conftest import PASSWORD, add_user, auth


def _wait_for(fetch: Any, what: str, timeout: float = 10.0) -> Any:
    """Poll until the sweeper (woken by the commit) has done its part."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = fetch()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _riot(server: LiveServer, tokens: dict[str, str], code: str, severity: int = 4) -> int:
    with field_socket(server.ws_url, tokens["device"]) as ws:
        assert send(ws, incident(code, severity=severity))["result"] == "stored"
    opened = httpx.get(server.url + "/api/v1/incidents/open", headers=auth(tokens["viewer"]))
    return int(opened.json()["data"][0]["id"])


def _alert(server: LiveServer, token: str, kind: str, subject: str) -> dict[str, Any] | None:
    r = httpx.get(server.url + "/api/v1/alerts", headers=auth(token), params={"kind": kind})
    return next((a for a in r.json()["data"] if a["subject"] == subject), None)


def _post(server: LiveServer, token: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(server.url + path, headers=auth(token), json=body)


def test_operator_accepts_and_annotates_commander_does_the_rest_viewer_and_kiosk_cannot_act(
    ops_server: LiveServer, tokens: dict[str, str], mini: MiniRegistry
) -> None:
    iid = _riot(ops_server, tokens, mini.tps_codes[0])
    base = f"/api/v1/incidents/{iid}"
    for who in ("viewer", "kiosk", "device"):
        assert _post(ops_server, tokens[who], base + "/accept", {"version": 0}).status_code == 403
        assert _post(ops_server, tokens[who], base + "/notes", {"text": "x"}).status_code == 403
    r = _post(ops_server, tokens["operator"], base + "/accept", {"version": 0})
    assert r.status_code == 200 and r.json()["status"] == "diterima"
    again = _post(ops_server, tokens["operator"], base + "/accept", {"version": 1})
    assert again.status_code == 409 and again.json()["detail"]["field"] == "status"
    note = _post(ops_server, tokens["operator"], base + "/notes", {"text": "massa 50 orang"})
    assert note.status_code == 201
    nrp = mini.officer_nrps[1]
    for action, body in [
        ("dispatch", {"version": 1, "officer": nrp}),
        ("resolve", {"version": 1}),
        ("close", {"version": 1}),
        ("merge", {"version": 1, "others": [iid + 1]}),
        ("split", {"version": 1, "report_id": 1}),
    ]:
        r = _post(ops_server, tokens["operator"], f"{base}/{action}", body)
        assert r.status_code == 403, action  # operator cannot close (or dispatch, merge ...)
    cmd = tokens["commander"]
    early = _post(ops_server, cmd, base + "/close", {"version": 1})
    assert early.status_code == 409
    assert early.json()["detail"] == {
        "field": "status",
        "reason": "cannot close an incident that is diterima; it must be selesai",
    }
    stale = _post(ops_server, cmd, base + "/dispatch", {"version": 0, "officer": nrp})
    assert stale.status_code == 409 and stale.json()["detail"]["field"] == "version"
    unknown = _post(ops_server, cmd, base + "/dispatch", {"version": 1, "officer": "0"})
    assert unknown.status_code == 422 and unknown.json()["detail"]["field"] == "officer"
    both = _post(ops_server, cmd, base + "/dispatch", {"version": 1, "officer": nrp, "unit": "x"})
    assert both.status_code == 422
    for action, body in [
        ("dispatch", {"version": 1, "officer": nrp}),
        ("resolve", {"version": 2}),
        ("close", {"version": 3, "note": "aman kembali"}),
    ]:
        assert _post(ops_server, cmd, f"{base}/{action}", body).status_code == 200, action
    detail = httpx.get(ops_server.url + base, headers=auth(tokens["viewer"])).json()
    assert detail["status"] == "ditutup" and detail["assignee"] == f"officer:{nrp}"
    assert [(s["kind"], s["actor"].split(":")[1].split("#")[0]) for s in detail["steps"]] == [
        ("status", "test operator"),
        ("note", "test operator"),
        ("dispatch", "test commander"),
        ("status", "test commander"),
        ("status", "test commander"),
    ]


def test_alerts_roles_operator_acknowledges_commander_silences(
    ops_server: LiveServer, tokens: dict[str, str], mini: MiniRegistry
) -> None:
    iid = _riot(ops_server, tokens, mini.tps_codes[0])
    alert = _wait_for(
        lambda: _alert(ops_server, tokens["kiosk"], "incident_severe", str(iid)), "severe alert"
    )
    path = f"/api/v1/alerts/{alert['id']}"
    for who in ("viewer", "kiosk"):
        assert _post(ops_server, tokens[who], path + "/acknowledge", {}).status_code == 403
    assert _post(ops_server, tokens["operator"], path + "/silence", {}).status_code == 403
    ack = _post(ops_server, tokens["operator"], path + "/acknowledge", {})
    assert ack.status_code == 200 and ack.json()["acknowledged_by"].startswith("person:test")
    assert _post(ops_server, tokens["operator"], path + "/acknowledge", {}).status_code == 409
    silenced = _post(ops_server, tokens["commander"], path + "/silence", {"minutes": 15})
    assert silenced.status_code == 200 and silenced.json()["silenced_until"] is not None
    listed = httpx.get(ops_server.url + "/api/v1/alerts", headers=auth(tokens["viewer"])).json()
    assert listed["platform"]["intake_stalled"] is False
    assert listed["platform"]["queue_depth"] == 0 and listed["platform"]["sweeper_node"]
    health = httpx.get(ops_server.url + "/healthz").json()
    assert health["intake_stalled"] is False and health["sweeper_leader"] is True
    assert health["loop_lag_ms"] >= 0
    # The screens read the same health on its own, with any reading credential.
    own = httpx.get(ops_server.url + "/api/v1/platform", headers=auth(tokens["kiosk"]))
    assert own.status_code == 200 and own.json()["queue_depth"] == 0
    assert own.json()["loop_lag_ms"] >= 0
    refused = httpx.get(ops_server.url + "/api/v1/platform", headers=auth(tokens["device"]))
    assert refused.status_code in (401, 403)


def _loop_lag_total(server: LiveServer) -> float:
    """Seconds the event loop has woken late so far, all ticks added up (from /metrics)."""
    text = httpx.get(server.url + "/metrics").text
    line = next(x for x in text.splitlines() if x.startswith("posko_loop_lag_seconds_sum"))
    return float(line.split()[-1])


def test_a_storm_of_wrong_passwords_never_holds_the_event_loop(settings: Settings) -> None:
    # The real argon2 cost (the suite's settings make it cheap elsewhere).
    real = settings.model_copy(
        update={
            k: Settings.model_fields[k].default
            for k in ("password_time_cost", "password_memory_kib")
        }
    )
    t0 = time.perf_counter()
    hasher(real).hash(PASSWORD)
    one_hash = time.perf_counter() - t0
    assert one_hash > 0.1, "argon2 got too cheap for this test to tell blocking apart"
    server = start_server(real)
    try:
        before = _loop_lag_total(server)
        url = server.url + "/api/v1/auth/login"
        with ThreadPoolExecutor(max_workers=12) as pool:
            codes = list(
                pool.map(
                    lambda i: (
                        httpx.post(
                            url, json={"username": f"nobody{i}", "password": "salah"}, timeout=30
                        ).status_code
                    ),
                    range(12),
                )
            )
        assert codes == [401] * 12
        time.sleep(0.3)  # the lag watch's next tick
        # On the loop, the checks would have held it for 12 hashes in all (at least 12 hashes of
        # lag); off it, what is left is the machine's own noise, which on a 2-core machine running
        # both database passes at once reached ~7 hashes' worth: the line sits between the two.
        assert _loop_lag_total(server) - before < 9 * one_hash
    finally:
        server.stop()


def test_one_address_guessing_is_answered_429_before_any_hash_and_others_still_sign_in(
    settings: Settings, engine: Engine, mini: MiniRegistry
) -> None:
    add_user(engine, settings, "sari", Role.COMMANDER)
    server = start_server(settings.model_copy(update={"login_address_max_failures": 3}))
    try:
        url = server.url + "/api/v1/auth/login"
        # In parallel and across usernames (no account lockout helps): three get a password
        # check, the rest are refused while those three still wait for it.
        with ThreadPoolExecutor(max_workers=6) as pool:
            codes = pool.map(
                lambda name: (
                    httpx.post(url, json={"username": name, "password": "salah"}).status_code
                ),
                ["andi", "budi", "sari", "dodi", "eka", "fajar"],
            )
        assert sorted(codes) == [401, 401, 401, 429, 429, 429]
        # Even the right password: this address has used up its guesses for the window.
        r = httpx.post(url, json={"username": "sari", "password": PASSWORD})
        assert r.status_code == 429 and r.json()["detail"]["field"] == "address"
        assert 1 <= int(r.headers["retry-after"]) <= 600
        # Another address (as forwarded by the trusted proxy in front) signs in at once.
        other = {"x-forwarded-for": "10.16.8.3"}
        r = httpx.post(url, json={"username": "sari", "password": PASSWORD}, headers=other)
        assert r.status_code == 200
        kept = _wait_for(
            lambda: _rows(
                engine, "SELECT remote, reason FROM auth_failure WHERE reason LIKE 'too many%'"
            ),
            "the throttled attempt kept as an auth failure",
        )
        assert {remote for remote, _ in kept} == {"127.0.0.1"}
        # Refused before the password check: no audit row for it, the three guesses only.
        failed = _rows(engine, "SELECT seq FROM audit_entry WHERE action = 'auth.login_failed'")
        assert len(failed) == 3
    finally:
        server.stop()


def _rows(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql)))


def test_login_sets_a_session_cookie_logout_ends_it_and_guessing_makes_the_account_wait(
    ops_server: LiveServer, engine: Engine, settings: Settings
) -> None:
    add_user(engine, settings, "budi", Role.OPERATOR)
    url = ops_server.url + "/api/v1/auth/login"
    wrong = httpx.post(url, json={"username": "budi", "password": "salah"})
    assert wrong.status_code == 401 and wrong.json()["detail"]["field"] == "password"
    # Browsers on the server's own pages: the cookie, and the page's origin on every write.
    page = {"origin": ops_server.url}
    with httpx.Client(base_url=ops_server.url, headers=page) as c:
        r = c.post("/api/v1/auth/login", json={"username": "budi", "password": PASSWORD})
        assert r.status_code == 200 and r.json()["role"] == "operator"
        cookie = r.headers["set-cookie"].lower()
        assert "posko_token=pks_" in cookie and "httponly" in cookie and "max-age=43200" in cookie
        assert c.get("/api/v1/auth/me").json()["username"] == "budi"
        assert c.get("/api/v1/alerts").status_code == 200
        assert c.post("/api/v1/auth/logout").status_code == 204
    form = httpx.post(
        url,
        content="username=budi&password=" + PASSWORD + "&next=%2Fwall",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 303 and form.headers["location"] == "/wall"
    token = form.cookies["posko_token"]
    with httpx.Client(base_url=ops_server.url, cookies={"posko_token": token}, headers=page) as c:
        assert c.post("/api/v1/auth/logout").status_code == 204
        assert c.get("/api/v1/auth/me").status_code == 401  # revoked, not just forgotten
    browser = httpx.post(url, json={"username": "budi", "password": PASSWORD}).cookies
    with httpx.Client(base_url=ops_server.url, cookies=browser, headers=page) as c:
        assert c.post("/logout").status_code == 303  # the dashboard's sign-out link
    with httpx.Client(base_url=ops_server.url, cookies=browser) as c:
        assert c.get("/api/v1/auth/me").status_code == 401
    for _ in range(5):
        httpx.post(url, json={"username": "budi", "password": "salah"})
    waiting = httpx.post(url, json={"username": "budi", "password": PASSWORD})
    assert waiting.status_code == 429 and waiting.json()["detail"]["field"] == "username"
    assert 1 <= int(waiting.headers["retry-after"]) <= 10  # login_delay_s, not a lockout


def test_after_five_wrong_passwords_the_right_one_signs_in_once_the_short_wait_passed(
    settings: Settings, engine: Engine, mini: MiniRegistry
) -> None:
    add_user(engine, settings, "sari", Role.COMMANDER)
    server = start_server(settings.model_copy(update={"login_delay_s": 1.0}))
    try:
        url = server.url + "/api/v1/auth/login"
        for _ in range(5):
            r = httpx.post(url, json={"username": "sari", "password": "salah"})
            assert r.status_code == 401
        right = {"username": "sari", "password": PASSWORD}
        r = httpx.post(url, json=right)
        assert r.status_code == 429 and r.headers["retry-after"] == "1"
        # Waiting as told (a generous deadline, not a timing claim), the right password works.
        deadline = time.monotonic() + 15
        while r.status_code == 429 and time.monotonic() < deadline:
            time.sleep(int(r.headers["retry-after"]))
            r = httpx.post(url, json=right)
        assert r.status_code == 200 and r.json()["username"] == "sari"
        kept = _wait_for(
            lambda: _rows(
                engine, "SELECT prefix FROM auth_failure WHERE reason LIKE 'too many wrong%'"
            ),
            "the refused early attempt kept as an auth failure",
        )
        assert {prefix for (prefix,) in kept} == {"sari"}
    finally:
        server.stop()


def test_kiosk_link_opens_the_wall_read_only_until_revoked(
    ops_server: LiveServer, tokens: dict[str, str], mini: MiniRegistry
) -> None:
    body = {"name": "dinding posko"}
    denied = _post(ops_server, tokens["commander"], "/api/v1/kiosk-links", body)
    assert denied.status_code == 403
    r = _post(ops_server, tokens["admin"], "/api/v1/kiosk-links", body)
    assert r.status_code == 201
    link = urlparse(r.json()["url"])
    assert link.path == "/login" and parse_qs(link.query)["next"] == ["/wall"]
    with httpx.Client(base_url=ops_server.url) as wall:
        signed = wall.get("/login", params=parse_qs(link.query))
        assert signed.status_code == 303 and signed.headers["location"] == "/wall"
        assert wall.get("/api/v1/snapshot").status_code == 200
        assert wall.get("/api/v1/auth/me").json()["kind"] == "kiosk"
        iid = _riot(ops_server, tokens, mini.tps_codes[0])
        assert wall.post(f"/api/v1/incidents/{iid}/accept", json={"version": 0}).status_code == 403
        assert wall.get(f"/api/v1/tps/{mini.tps_codes[0]}/history").status_code == 403
        cid = r.json()["credential"]["id"]
        gone = httpx.delete(
            f"{ops_server.url}/api/v1/kiosk-links/{cid}", headers=auth(tokens["admin"])
        )
        assert gone.status_code == 200
        assert wall.get("/api/v1/snapshot").status_code == 401


def test_admin_issues_and_revokes_device_tokens_and_manages_users(
    ops_server: LiveServer, tokens: dict[str, str], mini: MiniRegistry
) -> None:
    admin = tokens["admin"]
    assert (
        _post(ops_server, tokens["commander"], "/api/v1/device-tokens", {"nrp": "x"}).status_code
        == 403
    )
    r = _post(ops_server, admin, "/api/v1/device-tokens", {"nrp": mini.officer_nrps[2]})
    assert r.status_code == 201 and r.json()["hmac_secret"]
    phone = r.json()["token"]
    with field_socket(ops_server.ws_url, phone) as ws:
        assert send(ws, ping(mini.tps_codes[6]))["result"] == "stored"
    cid = r.json()["credential"]["id"]
    assert (
        httpx.delete(f"{ops_server.url}/api/v1/credentials/{cid}", headers=auth(admin)).status_code
        == 200
    )
    stored = httpx.post(
        ops_server.url + "/api/v1/pings", headers=auth(phone), json=ping(mini.tps_codes[6])
    )
    assert stored.status_code == 401
    user = {"username": "ani", "full_name": "Ani", "role": "commander", "password": PASSWORD}
    assert _post(ops_server, admin, "/api/v1/users", user).status_code == 201
    assert _post(ops_server, admin, "/api/v1/users", user).status_code == 409
    with httpx.Client(base_url=ops_server.url) as c:
        c.post("/api/v1/auth/login", json={"username": "ani", "password": PASSWORD})
        assert c.get("/api/v1/auth/me").json()["role"] == "commander"
        users = httpx.get(ops_server.url + "/api/v1/users", headers=auth(admin)).json()["data"]
        uid = next(u["id"] for u in users if u["username"] == "ani")
        demoted = httpx.patch(
            f"{ops_server.url}/api/v1/users/{uid}", headers=auth(admin), json={"role": "viewer"}
        )
        assert demoted.status_code == 200 and demoted.json()["role"] == "viewer"
        assert c.get("/api/v1/auth/me").status_code == 401  # her session ended with the change
    audit = httpx.get(
        ops_server.url + "/api/v1/audit",
        headers=auth(tokens["commander"]),
        params={"action": "credential."},
    ).json()
    assert [e["action"] for e in audit] == ["credential.revoked", "credential.issued"]
    verified = httpx.get(ops_server.url + "/api/v1/audit/verify", headers=auth(tokens["commander"]))
    assert verified.json()["ok"] is True


def _deltas(live: Any, *wants: Any, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The first delta matching each of `wants`, in whatever order they arrive."""
    found: dict[int, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while len(found) < len(wants) and time.monotonic() < deadline:
        msg = orjson.loads(live.recv(timeout=timeout))
        if msg["type"] != "delta":
            continue
        for i, want in enumerate(wants):
            if i not in found and want(msg):
                found[i] = msg
    missing = [i for i in range(len(wants)) if i not in found]
    assert not missing, f"no delta for condition(s) {missing}"
    return [found[i] for i in range(len(wants))]


def test_incidents_raise_the_tps_situation_and_alerts_on_the_live_channel(
    ops_server: LiveServer, tokens: dict[str, str], mini: MiniRegistry
) -> None:
    code = mini.tps_codes[0]
    live_url = f"{ops_server.ws_url}/ws/live?token={tokens['kiosk']}"
    with connect(live_url, open_timeout=10) as live:
        assert orjson.loads(live.recv(timeout=10))["type"] == "hello"
        iid = _riot(ops_server, tokens, code)

        def tps_is(value: str | None) -> Any:
            return lambda m: any(
                t["code"] == code and t.get("incident_situation", "?") == value for t in m["tps"]
            )

        # The sweeper may read the new incident for the alert before it refreshes the TPS
        # situations (or the other way round): the two deltas come in either order.
        _, raised = _deltas(
            live,
            tps_is("gangguan"),
            lambda m: any(a["kind"] == "incident_severe" for a in m.get("alerts", [])),
        )
        assert (
            raised["alerts"][0]["subject"] == str(iid) and raised["alerts"][0]["cleared_at"] is None
        )
        with field_socket(ops_server.ws_url, tokens["device"]) as ws:
            send(ws, ping(code, "pemungutan", "aman"))
        # A ping delta carries the raised situation along with the officer's own.
        _deltas(
            live,
            lambda m: any(
                t["code"] == code
                and t["situation"] == "aman"
                and t["incident_situation"] == "gangguan"
                for t in m["tps"]
            ),
        )
        cmd = tokens["commander"]
        _post(ops_server, cmd, f"/api/v1/incidents/{iid}/accept", {"version": 0})
        [cleared] = _deltas(
            live,
            lambda m: any(
                a["kind"] == "incident_severe" and a["cleared_at"] for a in m.get("alerts", [])
            ),
        )
        assert cleared["alerts"][0]["id"] == raised["alerts"][0]["id"]
        _post(
            ops_server,
            cmd,
            f"/api/v1/incidents/{iid}/dispatch",
            {"version": 1, "unit": "polsek-belitang"},
        )
        _post(ops_server, cmd, f"/api/v1/incidents/{iid}/resolve", {"version": 2})
        _deltas(live, tps_is(None))
    snap = httpx.get(ops_server.url + "/api/v1/snapshot", headers=auth(tokens["viewer"])).json()
    row = next(t for t in snap["tps"] if t["code"] == code)
    assert row["incident_situation"] is None
    assert all(a["cleared_at"] is None for a in snap["alerts"])


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_tps_history_endpoint(
    ops_server: LiveServer, tokens: dict[str, str], mini: MiniRegistry, fmt: str
) -> None:
    code = mini.tps_codes[0]
    with field_socket(ops_server.ws_url, tokens["device"]) as ws:
        send(ws, ping(code, "persiapan", minutes=-60))
        send(ws, ping(code, "pemungutan"))
    r = httpx.get(
        f"{ops_server.url}/api/v1/tps/{code}/history",
        headers=auth(tokens["viewer"]),
        params={"format": fmt},
    )
    assert r.status_code == 200
    if fmt == "csv":
        assert r.headers["content-type"].startswith("text/csv")
        assert r.text.count("\n") == 1 + 2 + 3 + r.text.count(
            "alert_"
        )  # header, pings, transitions
    else:
        kinds = [row["kind"] for row in r.json()["rows"]]
        assert kinds.count("ping") == 2 and kinds.count("transition") == 3
    missing = httpx.get(
        f"{ops_server.url}/api/v1/tps/16.99.99.9999-001/history", headers=auth(tokens["viewer"])
    )
    assert missing.status_code == 404
