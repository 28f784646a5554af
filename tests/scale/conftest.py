"""Scale-out fixtures: Redis with a private key prefix, a second kabupaten, a TCP proxy we can
cut, and real `posko serve` processes sharing one PostgreSQL database."""

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from backend.officers.models import Assignment, Officer, Unit
from backend.regions.models import Region
from backend.tps.models import Tps, TpsState
from backend.tps.rollup import rebuild as rebuild_rollup
from schemas.enums import RegionLevel, RiskRating, UnitKind
from tests.conftest import PG_ADMIN_URL, TEST_SECRET, free_port, fresh_pg_database, pg_available

REPO = Path(__file__).resolve().parents[2]
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def redis_available() -> bool:
    """Whether the test Redis answers PING."""
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards (never FLUSHALL)."""
    if not redis_available():
        pytest.skip(f"Redis not reachable at {REDIS_HOST}:{REDIS_PORT}")
    prefix = f"posko:test:{uuid.uuid4().hex}:"
    yield prefix
    from redis import Redis

    r = Redis(host=REDIS_HOST, port=REDIS_PORT)
    keys = list(r.scan_iter(match=prefix + "*", count=1000))
    if keys:
        r.delete(*keys)
    r.close()


def redis_url(prefix: str, port: int = REDIS_PORT) -> str:
    """A broadcast URL on the test Redis (or a proxy in front of it) with a private prefix."""
    return f"redis://{REDIS_HOST}:{port}/0?prefix={prefix}&maxlen=1000"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database, whatever this run's POSKO_TEST_DB (several nodes need it)."""
    if not pg_available():
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    with fresh_pg_database() as url:
        yield url


# --- a second kabupaten ----------------------------------------------------------------------


@dataclass
class Banyuasin:
    """Codes of the second kabupaten (16.07) added next to the mini OKU Timur registry."""

    tps_codes: list[str] = field(default_factory=list)
    officer_id: int = 0


def add_banyuasin(engine: Engine) -> Banyuasin:
    """Add Kabupaten Banyuasin (16.07): one kecamatan, one desa, three TPS, one officer."""
    out = Banyuasin()
    with Session(engine) as s:
        s.add(Region(code="16.07", name="Banyuasin", level=RegionLevel.KABUPATEN, parent_code="16"))
        s.add(
            Region(
                code="16.07.01",
                name="Banyuasin I",
                level=RegionLevel.KECAMATAN,
                parent_code="16.07",
            )
        )
        s.add(
            Region(
                code="16.07.01.1016",
                name="Mariana",
                level=RegionLevel.DESA,
                parent_code="16.07.01",
                lat=-2.95,
                lon=104.85,
            )
        )
        s.flush()
        unit = Unit(
            code="polres-banyuasin",
            name="Polres Banyuasin",
            kind=UnitKind.POLRES,
            kabupaten_code="16.07",
        )
        s.add(unit)
        s.flush()
        assert unit.id is not None
        officer = Officer(
            nrp="90010001",
            name="Petugas B",
            rank="Brigpol",
            unit_id=unit.id,
            kabupaten_code="16.07",
        )
        s.add(officer)
        s.flush()
        assert officer.id is not None
        out.officer_id = officer.id
        for n in range(1, 4):
            t = Tps(
                code=f"16.07.01.1016-{n:03d}",
                number=n,
                desa_code="16.07.01.1016",
                kecamatan_code="16.07.01",
                kabupaten_code="16.07",
                province_code="16",
                lat=-2.95 + n * 0.001,
                lon=104.85,
                voters=450,
                risk=RiskRating.KURANG_RAWAN,
            )
            s.add(t)
            s.flush()
            assert t.id is not None
            s.add(TpsState(tps_id=t.id))
            s.add(Assignment(officer_id=officer.id, tps_id=t.id))
            out.tps_codes.append(t.code)
        s.flush()
        rebuild_rollup(session=s)
        s.commit()
    return out


# --- a TCP proxy we can cut --------------------------------------------------------------------


class TcpProxy:
    """Forwards a local port to Redis in a thread of its own; `cut()` drops every connection
    and refuses new ones until `restore()`, as a broken network would."""

    def __init__(self, target_port: int = REDIS_PORT) -> None:
        self.port = free_port()
        self.target_port = target_port
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._call(self._start())

    def _call(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=5)  # type: ignore[arg-type]

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)
        try:
            up_r, up_w = await asyncio.open_connection(REDIS_HOST, self.target_port)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_w))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))
        self._writers.difference_update((writer, up_w))

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for w in list(self._writers):
            w.transport.abort()
        self._writers.clear()

    def cut(self) -> None:
        """Drop every proxied connection and stop accepting."""
        self._call(self._cut())

    def restore(self) -> None:
        """Accept connections again."""
        self._call(self._start())

    async def _shutdown(self) -> None:
        await self._cut()
        if self._handlers:
            await asyncio.wait(list(self._handlers), timeout=2)

    def close(self) -> None:
        """Stop the proxy, its connections and its thread."""
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    """A cuttable TCP proxy in front of the test Redis."""
    if not redis_available():
        pytest.skip(f"Redis not reachable at {REDIS_HOST}:{REDIS_PORT}")
    p = TcpProxy()
    yield p
    p.close()


# --- real server processes ---------------------------------------------------------------------


def node_env(database_url: str, **extra: str) -> dict[str, str]:
    """Environment of a `posko serve` node under test (election-day device times accepted)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSKO_") and k != "PYTHONPATH"}
    env.update(
        {
            "PYTHONPATH": str(REPO),  # this checkout's code, not an installed one
            "POSKO_DATABASE_URL": database_url,
            "POSKO_SECRET_KEY": TEST_SECRET,
            "POSKO_MAX_AGE_S": str(10 * 365 * 86400),
            "POSKO_MAX_FUTURE_S": str(10 * 365 * 86400),
            "POSKO_CLOCK_SKEW_TOLERANCE_S": str(10 * 365 * 86400),
            "POSKO_LATE_AFTER_S": str(10 * 365 * 86400),
            "POSKO_REGION_DATA_DIR": str(REPO / "no-reference-data"),
            **extra,
        }
    )
    return env


@dataclass
class Node:
    """One `posko serve` process."""

    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        """HTTP base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """Websocket base URL."""
        return f"ws://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """kill -9: no shutdown, no lease release."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Ask it to stop; kill it if it will not."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def start_node(env: dict[str, str], log_dir: Path, *, workers: int = 1) -> Node:
    """Start `posko serve` on a free port (this checkout, by module path) and wait for it."""
    # The port is chosen here and bound by the child a moment later; if another process took
    # it meanwhile the child exits at once, and starting again on another port is the cure.
    for _ in range(3):
        port = free_port()
        log = log_dir / f"node-{port}.log"
        with log.open("wb") as out:  # the child keeps its own descriptor
            proc = _popen(port, workers, env, out)
        node = Node(port, proc, log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                text = log.read_text()
                if "address already in use" in text.lower():
                    break
                raise RuntimeError(f"node exited: {text[-3000:]}")
            try:
                if httpx.get(node.url + "/healthz", timeout=2).status_code in (200, 503):
                    return node
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            node.kill()
            raise RuntimeError(f"node did not start: {log.read_text()[-3000:]}")
    raise RuntimeError("no free port for a node after three tries")


def _popen(port: int, workers: int, env: dict[str, str], out: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "backend.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        cwd=REPO,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[list[Node]]:
    """Started nodes are stopped after the test, whatever happens."""
    started: list[Node] = []
    yield started
    for node in started:
        node.stop()
