"""`posko demo`: a fresh SQLite database, the OKU Timur registry, the server on an exercise
clock and 298 simulated officers, with sign-in links printed for the wall and the laptop."""

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
from sqlmodel import Session

from backend.audit.service import cli_actor
from backend.auth.service import issue
from backend.clock import Clock
from backend.config import REPO_DIR, Settings
from backend.db import make_engine
from backend.migrate import upgrade
from backend.registry.build import build_registry
from backend.registry.service import registry_summary, write_registry
from backend.simulate.provision import provision, write_credentials
from schemas.enums import CredentialKind, Role

DEMO_DIR = REPO_DIR / "var" / "demo"


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("the server did not become healthy in time")


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: one the kernel picks)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        sock.bind((host, port))
        sock.listen(2048)  # uvicorn's backlog
    except OSError:
        sock.close()
        raise
    return sock


def run_demo(
    *,
    host: str,
    port: int,
    start: datetime,
    speed: float,
    fresh: bool,
    rate: float,
    demo_dir: Path = DEMO_DIR,
) -> int:
    """Prepare, start server and simulator, print the links, run until Ctrl-C."""
    demo_dir.mkdir(parents=True, exist_ok=True)
    db = demo_dir / "posko.db"
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    env = {
        **os.environ,
        "POSKO_DATABASE_URL": f"sqlite:///{db}",
        "POSKO_CLOCK_START": start.isoformat(),
        "POSKO_CLOCK_SPEED": str(speed),
    }
    settings = Settings(
        _env_file=None,
        database_url=env["POSKO_DATABASE_URL"],
        clock_start=start,
        clock_speed=speed,
    )
    engine = make_engine(settings)
    upgrade(engine)
    with Session(engine) as session:
        empty = registry_summary(session=session).tps == 0
    if empty:
        boundaries = settings.region_data_dir / "oku_timur_desa.geojson"
        registry = build_registry(
            seed=2024,
            region_data_dir=settings.region_data_dir,
            boundaries_path=boundaries if boundaries.is_file() else None,
        )
        with Session(engine) as session:
            write_registry(session=session, registry=registry, actor=cli_actor())
        print(f"registry: {len(registry.tps)} TPS, {len(registry.officers)} officers")
    devices = demo_dir / "devices.json"
    write_credentials(devices, provision(engine=engine, settings=settings, actor=cli_actor()))
    now = Clock.from_settings(settings).now()
    with Session(engine) as session:
        _, commander = issue(
            session=session,
            kind=CredentialKind.PERSON,
            name="demo commander",
            role=Role.COMMANDER,
            now=now,
        )
        _, kiosk = issue(session=session, kind=CredentialKind.KIOSK, name="demo wall", now=now)
    engine.dispose()

    # The socket is bound here and handed to the server process: a port chosen here and bound
    # by the child a moment later could be taken meanwhile (then the child exits, or another
    # server answers the health check). --port 0 takes a free port.
    listener = _listen(host, port)
    port = int(listener.getsockname()[1])
    url = f"http://{host}:{port}"
    fd = listener.fileno()
    with listener:
        server = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "serve", "--fd", str(fd)], env=env, pass_fds=[fd]
        )
    procs = [server]
    try:
        _wait_healthy(url, server)
        sim_cmd = [sys.executable, "-m", "backend.cli", "simulate", "--url", url]
        sim_cmd += ["--devices", str(devices), "--progress", "30"]
        if rate:
            sim_cmd += ["--rate", str(rate)]
        procs.append(subprocess.Popen(sim_cmd, env=env))
        print(
            "\nPosko demo is running (exercise clock from "
            f"{start.isoformat()} at x{speed:g}):\n"
            f"  wall display   {url}/login?token={kiosk}&next=/wall\n"
            f"  commander      {url}/login?token={commander}&next=/\n"
            f"  API docs       {url}/docs\n"
            f"  health         {url}/healthz\n"
            "Stop with Ctrl-C.\n",
            flush=True,
        )
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        return next(p.returncode for p in procs if p.poll() is not None) or 0
    except KeyboardInterrupt:
        return 0
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in reversed(procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
