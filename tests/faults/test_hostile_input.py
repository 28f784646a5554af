"""Hostile input: generated HTTP requests and fuzzed websocket frames never break the server."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from tests.conftest import TEST_DB, LiveServer
from tests.factories import MiniRegistry
from tests.helpers import count, field_socket, ping

ST = Path(sys.executable).with_name("st")


@pytest.mark.slow
@pytest.mark.skipif(
    TEST_DB != "sqlite",
    reason="HTTP validation is the same on every database; the SQLite pass fuzzes it",
)
@pytest.mark.parametrize("who", ["device", "viewer"])
def test_schemathesis_finds_no_server_error_in_thousands_of_cases(
    server: LiveServer, device: str, viewer: str, who: str, tmp_path: Path, engine: Engine
) -> None:
    if not ST.exists() and shutil.which("st") is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[dev]')")
    token = device if who == "device" else viewer
    cmd = [
        str(ST if ST.exists() else "st"),
        "run",
        f"{server.url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance",
        "--max-examples",
        os.environ.get("POSKO_FUZZ_EXAMPLES", "60"),
        "--phases",
        "examples,coverage,fuzzing",
        # One worker: CPython 3.11's AST recursion counter is not thread-safe (gh-106905), and
        # schemathesis parses lambdas in its worker threads.
        "--workers",
        "1",
        "--max-redirects",
        "0",
        "--seed",
        "2024",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-4000:]
    summary = result.stdout
    assert "test cases" in summary or "cases" in summary
    assert httpx.get(server.url + "/healthz").json()["status"] == "ok"
    if who == "device":
        # What the fuzzer sent to the webhooks and was refused is kept, with reasons.
        assert count(engine, "dead_letter") > 0


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
            max_examples=int(os.environ.get("POSKO_FUZZ_EXAMPLES", "60")) * 8,
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
