"""Soak: an election day compressed, the server watched for growing memory, tasks and errors.

CI runs a short soak (`--soak-minutes`, default 1); `make soak` runs a whole day in about 30.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from backend.config import Settings
from backend.registry.build import build_registry
from backend.registry.service import write_registry
from tests.conftest import free_port

DAY_START = "2024-11-27T05:00:00+07:00"
DAY_HOURS = 31.0  # 27 Nov 05:00 to 28 Nov 12:00 WIB: setup to the last boxes at the PPK


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@pytest.mark.slow
def test_soak_memory_flat_no_errors_no_leaked_tasks(
    settings: Settings, engine, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    minutes = float(request.config.getoption("--soak-minutes"))
    # 30 minutes play the whole day (x62); a short CI soak plays part of it, no faster than
    # x300, since compressing a day into one minute measures overload, not leaks.
    speed = min(DAY_HOURS * 60 / minutes, 300.0)
    from sqlmodel import Session

    with Session(engine) as s:
        write_registry(
            session=s, registry=build_registry(seed=2024, region_data_dir=settings.region_data_dir)
        )
    env = {
        **os.environ,
        "POSKO_DATABASE_URL": settings.database_url,
        "POSKO_SECRET_KEY": settings.secret_key,
        "POSKO_CLOCK_START": DAY_START,
        "POSKO_CLOCK_SPEED": str(speed),
    }
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    devices = tmp_path / "devices.json"
    subprocess.run(
        [sys.executable, "-m", "backend.cli", "simulate", "provision", "--out", str(devices)],
        env=env,
        check=True,
        capture_output=True,
    )
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    sim = None
    try:
        deadline = time.monotonic() + 90  # a generous start on a busy machine
        while True:
            assert time.monotonic() < deadline and server.poll() is None, "server did not start"
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        base_tasks = httpx.get(url + "/healthz", timeout=10).json()["tasks"]
        sim_args = ["--url", url, "--devices", str(devices), "--progress", "60", "--seed", "7"]
        sim = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "simulate", *sim_args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        samples: list[tuple[float, int, int]] = []
        t0 = time.monotonic()
        end = t0 + minutes * 60
        while time.monotonic() < end:
            time.sleep(min(10.0, max(1.0, minutes * 60 / 30)))
            health = httpx.get(url + "/healthz", timeout=10).json()
            assert health["status"] == "ok", health
            samples.append((time.monotonic() - t0, _rss_kib(server.pid), health["tasks"]))
            assert server.poll() is None, "the server died"
        sim.send_signal(signal.SIGINT)
        sim.wait(timeout=30)
        # Every phone's connection is gone: so must be every task it made, once the server has
        # noticed the closed sockets (a deadline for that, not a claim about how fast).
        deadline = time.monotonic() + 30
        while True:
            left = httpx.get(url + "/healthz", timeout=10).json()["tasks"]
            if left <= base_tasks + 3 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert left <= base_tasks + 3, f"{left} tasks left, {base_tasks} before the phones"
    finally:
        for p in (sim, server):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in (sim, server):
            if p is not None:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
    text = log.read_text()
    assert "Traceback" not in text and " ERROR " not in text, text[-3000:]
    # Steady state starts once every phone is connected and the caches are warm.
    warm = max(minutes * 60 * 0.25, 30.0)
    steady = [s for s in samples if s[0] >= warm]
    assert len(steady) >= 3, samples
    rss = [s[1] for s in steady]
    print(
        f"\nsoak {minutes} min: steady RSS {min(rss) // 1024}-{max(rss) // 1024} MiB "
        f"({max(rss) / min(rss) - 1:.1%} spread) over {len(steady)} samples; {left} tasks left"
    )
    assert max(rss) <= min(rss) * 1.10, f"memory grew: {rss}"
