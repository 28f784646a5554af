"""Hostile input: generated HTTP requests and fuzzed websocket frames never break the server."""

import contextlib
import json
import os
import re
import socket
import sys
import time
from collections.abc import Iterator
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.conftest import LiveServer, shared_server
from tests.databases import Templates
from tests.factories import MiniRegistry, person_token
from tests.helpers import count, field_socket, ping

ST = Path(sys.executable).with_name("st")
FUZZ_EXAMPLES = int(os.environ.get("POSKO_FUZZ_EXAMPLES", "60"))
KEY_ID, TIMESTAMP, SIGNATURE = "x-posko-key-id", "x-posko-timestamp", "x-posko-signature"
SIGNED_HEADERS = {KEY_ID, TIMESTAMP, SIGNATURE}
AREA_CODE = re.compile(r"[0-9]{2}(\.[0-9]{2})?")  # what an answered ?area= may have been


# -- headers: the HMAC signature of the webhooks ---------------------------------------------


def _raw_post(server: LiveServer, headers: list[tuple[str, bytes]]) -> tuple[int, Any]:
    """POST {} to /api/v1/pings with header bytes exactly as given; (status, JSON body or None).

    A raw socket, since HTTP clients refuse to send what a hostile client would (non-ASCII
    bytes, padding): the server must cope with whatever reaches it.
    """
    host, port = server.url.removeprefix("http://").split(":")
    head = b"POST /api/v1/pings HTTP/1.1\r\nHost: posko\r\nConnection: close\r\n"
    head += b"Content-Type: application/json\r\nContent-Length: 2\r\n"
    head += b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(head + b"\r\n{}")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    body = data.partition(b"\r\n\r\n")[2]
    try:
        return status, orjson.loads(body)
    except orjson.JSONDecodeError:
        return status, None


def _now() -> bytes:
    return str(int(time.time())).encode()


GOOD_SIG = b"sha256=" + b"0" * 64
# Values that str.isdigit() or int() accept, or that int() chokes on, and plain junk.
ODD_NUMBERS = [
    "\u0663\u0664".encode(),  # Arabic-Indic 34, as UTF-8 bytes
    "\u00b2".encode("latin-1"),  # superscript two: isdigit() is true, int() refuses it
    "\u00b9\u00b2\u00b3".encode("latin-1"),
    b"1" * 5000,  # past int()'s digit limit (ValueError)
    str(10**30).encode(),  # past a 64-bit row id
    str(2**63).encode(),
    b"-1",
    b"1.5",
    b"1e3",
    b"+1",
    b"1_000",
    b"0x10",
    b"1 2",
    b"nan",
    b"",
]


def _hmac_cases() -> list[tuple[str, list[tuple[str, bytes]], str]]:
    cases = []
    for v in ODD_NUMBERS:
        cases.append(
            (f"key {v[:12]!r}", [(KEY_ID, v), (TIMESTAMP, b"NOW"), (SIGNATURE, GOOD_SIG)], KEY_ID)
        )
        cases.append(
            (f"ts {v[:12]!r}", [(KEY_ID, b"1"), (TIMESTAMP, v), (SIGNATURE, GOOD_SIG)], TIMESTAMP)
        )
    cases += [
        ("key zero", [(KEY_ID, b"0"), (TIMESTAMP, b"NOW"), (SIGNATURE, GOOD_SIG)], KEY_ID),
        ("no timestamp", [(KEY_ID, b"1"), (SIGNATURE, GOOD_SIG)], TIMESTAMP),
        ("stale timestamp", [(KEY_ID, b"1"), (TIMESTAMP, b"0"), (SIGNATURE, GOOD_SIG)], TIMESTAMP),
        ("no signature", [(KEY_ID, b"1"), (TIMESTAMP, b"NOW")], SIGNATURE),
        (
            "latin-1 signature",
            [(KEY_ID, b"1"), (TIMESTAMP, b"NOW"), (SIGNATURE, b"sha256=\xb2" * 9)],
            SIGNATURE,
        ),
        (
            "short signature",
            [(KEY_ID, b"1"), (TIMESTAMP, b"NOW"), (SIGNATURE, GOOD_SIG[:-1])],
            SIGNATURE,
        ),
        (
            "other scheme",
            [(KEY_ID, b"1"), (TIMESTAMP, b"NOW"), (SIGNATURE, b"md5=" + b"0" * 32)],
            SIGNATURE,
        ),
        ("unknown key", [(KEY_ID, b"999999"), (TIMESTAMP, b"NOW"), (SIGNATURE, GOOD_SIG)], KEY_ID),
    ]
    return cases


def test_odd_hmac_headers_are_refused_naming_the_header_never_a_server_error(
    server: LiveServer, device: str, engine: Engine
) -> None:
    cases = _hmac_cases()
    for name, headers, field in cases:
        sent = [(h, _now() if v == b"NOW" else v) for h, v in headers]
        status, body = _raw_post(server, sent)
        assert status == 401, (name, status, body)
        assert body["detail"]["field"] == field, (name, body)
        assert body["detail"]["reason"], name
    assert count(engine, "ping") == 0
    # Every refusal is kept with its reason (the writer records them without waiting).
    deadline = time.monotonic() + 10
    while count(engine, "auth_failure") < len(cases) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert count(engine, "auth_failure") == len(cases)


HEADER_VALUES = st.one_of(
    st.integers().map(lambda n: str(n).encode()),
    st.floats().map(lambda f: repr(f).encode()),
    st.text(alphabet=st.characters(codec="latin-1", exclude_characters="\r\n\x00")).map(
        lambda t: t.encode("latin-1")
    ),
    st.text(alphabet=st.characters(categories=["Nd"]), min_size=1, max_size=12).map(str.encode),
    st.sampled_from(ODD_NUMBERS),
    st.just(b"NOW"),
)


def test_fuzzed_hmac_headers_never_get_a_server_error(server: LiveServer, device: str) -> None:
    @settings(
        max_examples=FUZZ_EXAMPLES * 4,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(key=HEADER_VALUES, ts=HEADER_VALUES, sig=st.one_of(HEADER_VALUES, st.just(GOOD_SIG)))
    def one(key: bytes, ts: bytes, sig: bytes) -> None:
        sent = [
            (h, _now() if v == b"NOW" else v)
            for h, v in ((KEY_ID, key), (TIMESTAMP, ts), (SIGNATURE, sig))
        ]
        status, body = _raw_post(server, sent)
        # 400: bytes the HTTP parser itself refuses (control characters) never reach us.
        assert status in (400, 401), (sent, status, body)
        if status == 401:
            assert body["detail"]["field"] in SIGNED_HEADERS, body

    one()
    assert httpx.get(server.url + "/healthz").json()["status"] == "ok"


# -- query parameters: the timeline's dates and every reader's area --------------------------

TIMELINE_CASES: list[tuple[dict[str, str], set[str]]] = [
    ({"start": "2024-11-27T00:00:00"}, {"start"}),  # naive: compared with an aware "now"
    ({"end": "2024-11-27T05:00:00"}, {"end"}),
    ({"start": "2024-11-27T00:00:00", "end": "2024-11-27T05:00:00+07:00"}, {"start"}),
    ({"end": "0001-01-01T00:00:00Z"}, {"end"}),  # minus 18 hours: before year 1
    ({"start": "0001-01-01T00:00:00Z", "end": "0001-01-02T00:00:00Z"}, {"start", "end"}),
    ({"start": "0001-01-01T00:00:00+14:00"}, {"start"}),
    ({"end": "9999-12-31T23:59:59-12:00"}, {"end"}),  # past year 9999 in UTC
    (  # the last bin ends after 9999-12-31
        {"start": "9999-12-30T00:30:00Z", "end": "9999-12-31T23:59:59Z", "bin_s": "3600"},
        {"start", "end"},
    ),
    ({"start": "1969-12-31T23:00:00Z", "end": "1970-01-01T05:00:00Z"}, {"start"}),
    ({"start": "99999999999999999999"}, {"start"}),
    ({"end": "1e30"}, {"end"}),
    ({"start": "2024-11-27T00:00:00+25:00"}, {"start"}),
    ({"end": "2024-11-27T05:00:00+07:00", "start": "2024-11-28T00:00:00+07:00"}, {"start"}),
    ({"bin_s": str(10**30)}, {"bin_s"}),
    ({"bin_s": "1" * 5000}, {"bin_s"}),
    ({"area": "%%"}, {"area"}),
    ({"area": "\u0661\u0666"}, {"area"}),  # Arabic-Indic "16"
]


def _named_field(body: Any) -> str | None:
    """The field a 4xx names, in our {"field", "reason"} shape or FastAPI's validation list."""
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, dict) and detail.get("reason"):
        return str(detail.get("field"))
    if isinstance(detail, list) and detail and detail[0].get("msg"):
        return str(detail[0]["loc"][-1])
    return None


@pytest.fixture(scope="module")
def reader(
    tmp_path_factory: pytest.TempPathFactory, db_templates: Templates
) -> Iterator[tuple[LiveServer, str]]:
    """One server and a viewer's token for the timeline cases, which only read."""
    with shared_server(tmp_path_factory.mktemp("timeline"), db_templates) as shared:
        yield shared.server, person_token(shared.engine)


@pytest.mark.parametrize(("params", "fields"), TIMELINE_CASES, ids=lambda v: str(v)[:60])
def test_odd_timeline_dates_are_refused_with_422_naming_the_field(
    reader: tuple[LiveServer, str], params: dict[str, str], fields: set[str]
) -> None:
    server, viewer = reader
    r = httpx.get(
        server.url + "/api/v1/timeline",
        params=params,
        headers={"Authorization": f"Bearer {viewer}"},
        timeout=20,
    )
    assert r.status_code == 422, (r.status_code, r.text[:300])
    assert _named_field(r.json()) in fields, r.text[:300]


def test_a_timeline_with_offsets_still_answers(reader: tuple[LiveServer, str]) -> None:
    server, viewer = reader
    params = {"start": "2024-11-27T00:00:00+07:00", "end": "2024-11-27T05:00:00+07:00"}
    r = httpx.get(
        server.url + "/api/v1/timeline",
        params=params,
        headers={"Authorization": f"Bearer {viewer}"},
        timeout=20,
    )
    assert r.status_code == 200 and r.json()["bins"] == 60


MOMENTS = st.datetimes(
    timezones=st.none() | st.timedeltas(-timedelta(hours=23), timedelta(hours=23)).map(timezone)
).map(lambda d: d.isoformat())


def test_fuzzed_timeline_dates_are_answered_or_refused_never_a_server_error(
    server: LiveServer, viewer: str
) -> None:
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {viewer}"}, timeout=20
    ) as client:

        @settings(
            max_examples=FUZZ_EXAMPLES * 3,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(
            start=st.none() | MOMENTS,
            end=st.none() | MOMENTS | st.text(max_size=30),
            bin_s=st.none() | st.integers(min_value=-(10**20), max_value=10**20),
        )
        def one(start: str | None, end: str | None, bin_s: int | None) -> None:
            params = {"start": start, "end": end, "bin_s": bin_s}
            r = client.get(
                "/api/v1/timeline", params={k: v for k, v in params.items() if v is not None}
            )
            assert r.status_code in (200, 422), (params, r.status_code, r.text[:300])
            if r.status_code == 422:
                assert _named_field(r.json()) in {"start", "end", "bin_s"}, r.text[:300]

        one()


AREA_READS = ["/api/v1/tps", "/api/v1/officers", "/api/v1/incidents", "/api/v1/snapshot"]


def test_fuzzed_area_values_are_refused_or_read_exactly_that_area(
    server: LiveServer, viewer: str, mini: MiniRegistry
) -> None:
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {viewer}"}, timeout=20
    ) as client:

        @settings(
            max_examples=FUZZ_EXAMPLES * 3,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(
            area=st.one_of(
                st.text(max_size=8),
                st.text(alphabet="0123456789.%_\\*[]", max_size=6),
                st.text(alphabet=st.characters(categories=["Nd"]), max_size=2).map(
                    lambda d: d + ".08"
                ),
            ),
            path=st.sampled_from(AREA_READS),
        )
        def one(area: str, path: str) -> None:
            r = client.get(path, params={"area": area})
            assert r.status_code in (200, 422), (area, path, r.status_code, r.text[:300])
            if r.status_code == 422:
                assert r.json()["detail"]["field"] == "area"
                return
            # Answered: then it was an area code in ASCII digits (or none), and nothing outside
            # it came back: "%" or "_" never reached a LIKE as a wildcard.
            assert area == "" or AREA_CODE.fullmatch(area), area
            if path == "/api/v1/tps" and area:
                assert all(t["code"].startswith(area + ".") for t in r.json()["data"]), area

        one()


QUERY_VALUES = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="0123456789.%_&=+#", max_size=8),
    # Digits of any script: "\u0661\u0666" is "16" in Arabic-Indic, and `\d` matches it.
    st.text(alphabet=st.characters(categories=["Nd"]), min_size=2, max_size=2),
    st.text(alphabet=st.characters(categories=["Nd"]), min_size=2, max_size=2).map(
        lambda d: "16." + d
    ),
    st.sampled_from(["%%", "16%", "16.0_", "\u0661\u0666", "16", "16.08", "x" * 5000]),
)


def test_fuzzed_socket_query_values_get_a_hello_or_an_error_frame(
    server: LiveServer, viewer: str, device: str
) -> None:
    """`?token=` and `?area=` of /ws/live and /ws/field: answered with a frame, never a 500."""

    @settings(
        max_examples=FUZZ_EXAMPLES * 2,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        path=st.sampled_from(["/ws/live", "/ws/field"]),
        # Mostly real tokens, so that the area is what is tested (a flat one_of would pick a
        # real token once in seven: QUERY_VALUES's branches count one by one).
        token=st.sampled_from([viewer, device, ""]).flatmap(
            lambda t: st.just(t) if t else QUERY_VALUES
        ),
        area=st.none() | QUERY_VALUES,
    )
    def one(path: str, token: str, area: str | None) -> None:
        query = {"token": token} | ({"area": area} if area is not None else {})
        url = f"{server.ws_url}{path}?{urlencode(query)}"
        if len(url) > 7000:
            # Near or past the server's 8 KiB request head: refused before any of ours runs,
            # with a 414, or answered as any other.
            try:
                connect(url, open_timeout=10).close()
            except InvalidStatus as refused:
                assert refused.response.status_code == 414
            return
        with connect(url, open_timeout=10) as ws:
            frame = orjson.loads(ws.recv(timeout=10)) if path == "/ws/live" else None
            if path == "/ws/field":
                # A refused device gets its error frame at once, perhaps before this is sent.
                with contextlib.suppress(ConnectionClosed):
                    ws.send(orjson.dumps(ping("16.08.01.1007-001")).decode())
                frame = orjson.loads(ws.recv(timeout=10))
        assert frame is not None
        if frame["type"] == "error":
            assert frame["error"]["field"] in ("token", "area") and frame["error"]["reason"]
        else:
            assert frame["type"] in ("hello", "ack"), frame
            if path == "/ws/live":  # subscribed: to no area or to a real one, never "%%"
                assert not area or AREA_CODE.fullmatch(area), area

    one()
    assert httpx.get(server.url + "/healthz").json()["status"] == "ok"


def test_fuzzed_dashboard_query_values_are_refused_or_served_never_a_server_error(
    server: LiveServer, viewer: str
) -> None:
    with httpx.Client(base_url=server.url, cookies={"posko_token": viewer}, timeout=20) as client:

        @settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(
            page=st.sampled_from(["/", "/wall", "/nasional", "/login", "/admin", "/metrics"]),
            name=st.sampled_from(["area", "lang", "next", "token", "x"]),
            value=QUERY_VALUES,
        )
        def one(page: str, name: str, value: str) -> None:
            r = client.get(page, params={name: value})
            assert r.status_code < 500, (page, name, value, r.status_code)
            if r.status_code == 422:
                assert r.json()["detail"]["field"] == name
            if page in ("/", "/wall", "/nasional") and name == "area" and r.status_code == 200:
                assert not value or AREA_CODE.fullmatch(value), value

        one()


# -- websocket frames ------------------------------------------------------------------------


FRAMES = st.one_of(
    st.binary(max_size=2048),
    st.text(max_size=2048),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
        lambda children: (
            st.lists(children, max_size=5)
            | st.dictionaries(st.text(max_size=12), children, max_size=8)
        ),
        max_leaves=40,
    ).map(json.dumps),  # stdlib: big integers and NaN, which orjson refuses to write
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["ping", "incident", "PING", "", "x"]),
            "event_id": st.one_of(st.uuids().map(str), st.text(max_size=40), st.integers()),
            "tps": st.one_of(st.just("16.08.01.1007-001"), st.text(max_size=30), st.none()),
            "phase": st.one_of(st.sampled_from(["pemungutan", "selesai"]), st.integers()),
            "situation": st.one_of(st.just("aman"), st.floats()),
            "device_time": st.one_of(
                st.datetimes().map(lambda d: d.isoformat()), st.just("2024-11-27T08:00:00+07:00")
            ),
            "severity": st.integers(min_value=-5, max_value=10),
            "lat": st.one_of(st.floats(allow_nan=True), st.none()),
        }
    ).map(json.dumps),
)


@pytest.mark.slow
def test_fuzzed_websocket_frames_are_all_answered_explained_and_kept(
    server: LiveServer, device: str, mini: MiniRegistry, engine: Engine
) -> None:
    answered = {"rejected": 0, "stored": 0, "duplicate": 0}
    with field_socket(server.ws_url, device) as ws:

        @settings(
            max_examples=FUZZ_EXAMPLES * 8,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(frame=FRAMES)
        def one(frame: str | bytes) -> None:
            ws.send(frame)
            reply = orjson.loads(ws.recv(timeout=10))
            acks = reply if isinstance(reply, list) else [reply]
            for ack in acks:
                assert ack["type"] == "ack", reply
                answered[ack["result"]] += 1
                if ack["result"] == "rejected":
                    assert ack["error"]["field"] and ack["error"]["reason"]

        one()
        # The connection survived everything and still works.
        ok = ping(mini.tps_codes[0])
        ws.send(orjson.dumps(ok).decode())
        assert orjson.loads(ws.recv(timeout=10))["result"] == "stored"
    assert answered["rejected"] > 300
    assert count(engine, "dead_letter") == answered["rejected"]
    assert httpx.get(server.url + "/healthz").json()["status"] == "ok"
