"""Schemathesis against a live server, as one role: tests/faults/test_schemathesis_<role>.py.

One file per role, so that pytest-xdist's workers (--dist loadfile) run the roles side by side.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from tests.conftest import LiveServer
from tests.helpers import count

ST = Path(sys.executable).with_name("st")
FUZZ_EXAMPLES = int(os.environ.get("POSKO_FUZZ_EXAMPLES", "60"))


def run_schemathesis(
    who: str, server: LiveServer, device: str, viewer: str, tmp_path: Path, engine: Engine
) -> None:
    """Bodies, query parameters and headers as the OpenAPI declares them, and their negatives.

    "signer" sends no bearer token, only to the webhooks: their HMAC headers (declared in the
    OpenAPI) are what decides, so the generated key ids, timestamps and signatures are parsed.
    """
    if not ST.exists() and shutil.which("st") is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[dev]')")
    cmd = [str(ST if ST.exists() else "st"), "run", f"{server.url}/openapi.json"]
    if who == "signer":
        cmd += ["--include-tag", "intake"]
    else:
        token = device if who == "device" else viewer
        cmd += ["--header", f"Authorization: Bearer {token}"]
    if who == "viewer":
        # A viewer's webhook calls all end at the bearer check (device and signer fuzz those).
        cmd += ["--exclude-tag", "intake"]
    cmd += [
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance",
        "--max-examples",
        str(FUZZ_EXAMPLES),
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
    if who == "signer":
        # Every generated signature was refused, and each refusal kept with its reason.
        assert count(engine, "auth_failure") > 0
        assert count(engine, "ping") == 0
