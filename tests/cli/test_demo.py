"""`posko demo` (the README's first command) starts, plays the day, and stops cleanly."""

import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest

from backend.config import DEFAULT_REGION_DATA
from backend.registry.geometry import point_in_multipolygon
from backend.registry.reference import DESA_GEOJSON, load_boundaries


@pytest.mark.slow
def test_demo_serves_simulates_and_prints_working_links(tmp_path) -> None:
    # Port 0: the demo binds a free port itself before its server starts, and its links name it
    # (a port picked here could be taken before the demo's server bound it).
    cmd = ["demo", "--port", "0", "--speed", "60", "--dir", str(tmp_path)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", *cmd],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,  # a process group of its own: see the kill below
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        commander = None
        while time.monotonic() < deadline and commander is None:
            line = proc.stdout.readline()
            lines.append(line)
            m = re.search(r"commander\s+(\S+)", line)
            if m:
                commander = m.group(1)
        assert commander, "".join(lines)
        token = re.search(r"token=([^&]+)", commander)
        assert token
        headers = {"authorization": f"Bearer {token.group(1)}"}
        port = re.search(r"http://127\.0\.0\.1:(\d+)/", commander)
        assert port and port.group(1) != "0", commander
        url = f"http://127.0.0.1:{port.group(1)}"
        # A fresh clone draws the real OKU Timur: the shipped boundaries, TPS inside their desa.
        geo = httpx.get(url + "/api/v1/geo/kecamatan", headers=headers, timeout=10)
        assert geo.status_code == 200 and len(geo.json()["features"]) == 20
        desa = load_boundaries(DEFAULT_REGION_DATA / DESA_GEOJSON)
        listed = httpx.get(url + "/api/v1/tps", headers=headers, timeout=10).json()["data"]
        outside = [
            t["code"]
            for t in listed
            if not point_in_multipolygon(t["lon"], t["lat"], desa[t["desa_code"]])
        ]
        assert len(listed) == 1012 and outside == []
        phased = 0
        while time.monotonic() < deadline and phased < 500:
            time.sleep(2)
            tps = httpx.get(url + "/api/v1/tps", headers=headers, timeout=10).json()["data"]
            phased = sum(1 for t in tps if t["phase"] is not None)
        assert phased >= 500, "the simulated officers did not move the TPS"
        assert httpx.get(url + "/healthz").json()["status"] == "ok"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            # The whole group: the demo's server and simulator would outlive it (holding its
            # output open, so that communicate() waited for pytest's timeout) and load the
            # machine for every other test.
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
    assert proc.returncode == 0
