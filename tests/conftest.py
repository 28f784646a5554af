"""Shared fixtures: settings on a fresh SQLite file, a real server on a free port, tokens."""

import asyncio
import os
import random
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from backend.app import create_app
from backend.config import Settings
from backend.db import make_engine
from backend.migrate import upgrade
from tests.databases import DROPPER, PG_ADMIN_URL, Templates, fresh_pg_database, pg_available
from tests.factories import MiniRegistry, device_token, person_token, seed_mini

__all__ = ["PG_ADMIN_URL", "fresh_pg_database", "pg_available"]  # imported from here by tests

TEST_SECRET = "test-secret-not-for-production"
# The suite runs on SQLite by default and on PostgreSQL with POSKO_TEST_DB=postgres (CI does
# both); each test gets a database of its own.
TEST_DB = os.environ.get("POSKO_TEST_DB", "sqlite")


# CI sets POSKO_TEST_STRICT=1: there a missing part of the machine (browser, PostgreSQL, Redis,
# schemathesis) fails the run instead of skipping quietly; on a laptop it skips with the reason.
STRICT = os.environ.get("POSKO_TEST_STRICT") == "1"
MISSING_PART = ("not reachable", "needs Debian chromium", "is not installed")

# A test touches this run's database when it uses one of these fixtures (db_templates: through a
# module's shared_server) or, for the few that pick the database themselves, when its module
# imports TEST_DB: only those run a second time on PostgreSQL (`--db-tests-only`); the others
# ran already in the SQLite pass.
DATABASE_FIXTURES = frozenset({"database_url", "make_db", "db_templates"})
# PostgreSQL whatever the run's database: left out of `make check` (-m "not postgres").
POSTGRES_FIXTURES = frozenset({"pg_url"})


def _share_default_ssl_context() -> None:
    """One default SSL context for every httpx client this process makes.

    httpx builds a context for each client, and each `httpx.get()` is a client: loading certifi's
    CA bundle costs 20-40 ms of CPU each time, and `make check` made ~2,500 of them (a tenth of
    its CPU), nearly all to talk plain HTTP to a test server. The shared context verifies exactly
    as a fresh one would (same bundle, same defaults; httpcore sets ALPN on it to http/1.1 only,
    no test uses HTTP/2); any other `verify=` is left alone.
    """
    from httpx._transports import default as transport  # where httpx calls it from

    made = transport.create_ssl_context
    shared: list[ssl.SSLContext] = []

    def create_ssl_context(
        verify: ssl.SSLContext | str | bool = True,
        cert: object = None,
        trust_env: bool = True,
    ) -> ssl.SSLContext:
        if verify is not True or cert is not None:
            return made(verify=verify, cert=cert, trust_env=trust_env)  # type: ignore[arg-type]
        if not shared:
            shared.append(made(verify=True, trust_env=trust_env))
        return shared[0]

    transport.create_ssl_context = create_ssl_context  # type: ignore[assignment]


_share_default_ssl_context()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under POSKO_TEST_STRICT, turn a skip for a missing service or tool into a failure."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if STRICT and report.skipped and any(m in str(report.longrepr) for m in MISSING_PART):
        report.outcome = "failed"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Options for the long runs that `make soak` uses, and for the PostgreSQL pass."""
    parser.addoption("--soak-minutes", default="1", help="length of the soak test (make soak: 30)")
    parser.addoption(
        "--db-tests-only",
        action="store_true",
        help="run only the tests that touch this run's database (make test's PostgreSQL pass)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Give every pytest-xdist worker the same hash seed (still a random one per run).

    Test ids printed from sets (test_hostile_input) follow the seed; workers that ordered them
    differently would collect different tests, and xdist refuses to run then.
    """
    if not hasattr(config, "workerinput"):  # the controller or a run without xdist
        os.environ.setdefault("PYTHONHASHSEED", str(random.SystemRandom().randint(1, 2**32 - 1)))


def touches_database(item: pytest.Item) -> bool:
    """Whether the test uses this run's database (the PostgreSQL pass repeats only those)."""
    if set(getattr(item, "fixturenames", ())) & DATABASE_FIXTURES:
        return True
    module = getattr(item, "module", None)
    return module is not None and _picks_database(module)


def _picks_database(module: ModuleType) -> bool:
    """Whether a test module picks the database itself: it reads TEST_DB, or uses a helper of a
    test module that does (browser tests share one server per module, made by such a helper)."""
    if getattr(module, "TEST_DB", None) is not None:
        return True
    for value in vars(module).values():
        home = sys.modules.get(getattr(value, "__module__", None) or "")
        if (
            home is not None
            and home is not module
            and home.__name__.startswith("tests.")
            and not home.__name__.endswith("conftest")
            and getattr(home, "TEST_DB", None) is not None
        ):
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark what needs PostgreSQL by its fixtures; with --db-tests-only, leave out the tests
    that never touch the database."""
    for item in items:
        if set(getattr(item, "fixturenames", ())) & POSTGRES_FIXTURES:
            item.add_marker(pytest.mark.postgres)
    if config.getoption("--db-tests-only"):
        keep = [i for i in items if touches_database(i)]
        if len(keep) < len(items):
            config.hook.pytest_deselected(items=[i for i in items if not touches_database(i)])
            items[:] = keep
    items[:] = longest_files_first(items)


# Rough cost of a test, for the order in which pytest-xdist hands out files (--dist loadfile,
# and pyproject's --no-loadscope-reorder, which keeps this order): a slow test runs for tens of
# seconds (the quick bench, schemathesis, a cluster), a browser test for several, one on a
# database (most start a server) for a fraction of a second, a pure one for milliseconds.
COST_S = {"slow": 30.0, "browser": 8.0}
COST_DATABASE_S = 0.4
COST_PURE_S = 0.02


def longest_files_first(items: list[pytest.Item]) -> list[pytest.Item]:
    """The items with their files ordered by estimated cost, the costliest first.

    Handed out in this order, the long files start while the other worker still has the many
    short ones to do, and the run ends on short files: a long file handed out last (xdist's
    own order puts files with fewest tests last, and most slow files hold one test) kept one
    worker busy for minutes after the other had finished.
    """
    cost: dict[str, float] = {}
    for item in items:
        # A slow test may say what it costs (`slow(cost_s=120)`): the longest go out first.
        costs = [
            m.kwargs.get("cost_s", COST_S[m.name]) for m in item.iter_markers() if m.name in COST_S
        ]
        usual = COST_DATABASE_S if touches_database(item) else COST_PURE_S
        each = max(costs, default=usual)
        cost[_file_of(item)] = cost.get(_file_of(item), 0.0) + each
    order = {f: i for i, f in enumerate(cost)}  # ties keep the collection order
    # sorted() is stable: a file's own tests keep their order.
    return sorted(items, key=lambda i: (-cost[_file_of(i)], order[_file_of(i)]))


def _file_of(item: pytest.Item) -> str:
    """The test file of an item (what --dist loadfile hands out as one unit)."""
    return item.nodeid.split("::", 1)[0]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Wait for the used PostgreSQL databases to be dropped."""
    DROPPER.wait()


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def db_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    """This process's migrated templates (made on first use)."""
    templates = Templates(TEST_DB, tmp_path_factory.mktemp("templates"))
    yield templates
    templates.close()


@pytest.fixture
def database_url(
    tmp_path: Path, db_templates: Templates, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A fresh database of the kind this run tests: empty, or already migrated (and seeded) for
    a test that uses the shared `engine` (and `mini`) fixtures, as a copy of a template."""
    if TEST_DB == "postgres" and not pg_available():
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    migrated = _uses_shared(request, "engine")
    seeded = migrated and _uses_shared(request, "mini")
    with db_templates.database(tmp_path, migrated=migrated, seeded=seeded) as url:
        yield url


def _uses_shared(request: pytest.FixtureRequest, name: str) -> bool:
    """Whether the test uses this file's fixture `name` (not an override of a conftest below)."""
    item = request.node
    defs = getattr(item, "_fixtureinfo", None)
    if defs is None or name not in defs.name2fixturedefs:
        return False
    func = defs.name2fixturedefs[name][-1].func
    return bool(func.__module__ == __name__ and func.__name__ == name)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings on a fresh database, untouched by the environment's .env."""
    return settings_on(database_url)


def settings_on(database_url: str) -> Settings:
    """The suite's settings on `database_url` (the `settings` fixture's, for a wider scope)."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        secret_key=TEST_SECRET,
        # Tests pin device times to election day 2024: accept them as if they were fresh.
        max_age_s=10 * 365 * 24 * 3600.0,
        max_future_s=10 * 365 * 24 * 3600.0,
        clock_skew_tolerance_s=10 * 365 * 24 * 3600.0,
        late_after_s=10 * 365 * 24 * 3600.0,
        # Drafting situation reports on a schedule adds audit entries to every test server;
        # tests/reports turns it on where it is what is tested.
        report_schedule=False,
    )


@pytest.fixture
def engine(settings: Settings, db_templates: Templates) -> Iterator[Engine]:
    """A migrated database (a template's copy: the migrations ran once in this process)."""
    eng = make_engine(settings)
    if not db_templates.migrated(settings.database_url):
        upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def mini(engine: Engine, db_templates: Templates, request: pytest.FixtureRequest) -> MiniRegistry:
    """A small registry: 12 TPS, 4 officers (already there when the database is a seeded copy)."""
    if _uses_shared(request, "engine"):
        found = db_templates.mini_in(request.getfixturevalue("database_url"))
        if found is not None:
            return found
    return seed_mini(engine)


@dataclass
class LiveServer:
    """A real uvicorn server in a background thread."""

    url: str
    ws_url: str
    server: uvicorn.Server
    thread: threading.Thread
    sock: socket.socket | None = None

    def stop(self) -> None:
        """Shut the server down and wait for it."""
        self.server.should_exit = True
        self.thread.join(timeout=15)
        if self.sock is not None:
            self.sock.close()  # already closed by a clean shutdown; not after a failed start


def bound_socket(port: int | None = None) -> socket.socket:
    """A TCP socket on 127.0.0.1, bound now to `port` (or to one the kernel picks)."""
    # Picking a free port and letting the server bind it later leaves a gap in which any
    # process's outgoing connection may take that port (the shared machine opens thousands);
    # a socket bound here and handed to uvicorn has no such gap.
    # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on sockets that say TCP, and
    # without it every response after a connection's first waits ~40 ms for a delayed ACK
    # (uvicorn's own listening socket says TCP; `posko serve` never had this delay).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port or 0))
    return sock


def start_server(
    settings: Settings, port: int | None = None, *, log_level: str = "warning"
) -> LiveServer:
    """Start create_app(settings) under uvicorn on `port` (or a free one); wait until it answers."""
    sock = bound_socket(port)
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level=log_level,
        ws_max_size=settings.ws_max_message_bytes,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    # Generous: starting is migrations, the registry index and the Dash app, on a busy machine.
    deadline = time.monotonic() + 60
    # One client for the polls, without a CA bundle (plain HTTP): httpx.get() builds a client
    # and loads certifi's bundle each time, ~20-40 ms of CPU per poll, per server started.
    with httpx.Client(timeout=2, verify=False) as probe:
        while time.monotonic() < deadline:
            if server.started:
                try:
                    if probe.get(url + "/healthz").status_code in (200, 503):
                        break
                except httpx.HTTPError:
                    pass
            if not thread.is_alive():
                sock.close()
                raise RuntimeError("server exited while starting")
            time.sleep(0.05)
        else:
            sock.close()
            raise RuntimeError("server did not start")
    return LiveServer(
        url=url, ws_url=f"ws://127.0.0.1:{port}", server=server, thread=thread, sock=sock
    )


@dataclass
class Shared:
    """A server on its own copy of the mini registry, shared by a module's tests."""

    server: LiveServer
    engine: Engine
    mini: MiniRegistry


@contextmanager
def shared_server(tmp: Path, templates: Templates) -> Iterator[Shared]:
    """A server on the mini registry for tests that only read or are refused (a module's many
    parametrised cases): one start instead of one each. Tests that write take `server`."""
    if TEST_DB == "postgres" and not pg_available():
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    with templates.database(tmp, migrated=True, seeded=True) as url:
        settings = settings_on(url)
        eng = make_engine(settings)
        mini = templates.mini_in(url)
        assert mini is not None
        srv = start_server(settings)
        try:
            yield Shared(srv, eng, mini)
        finally:
            srv.stop()
            eng.dispose()


@pytest.fixture
def server(settings: Settings, mini: MiniRegistry) -> Iterator[LiveServer]:
    """A running server on the mini registry."""
    srv = start_server(settings)
    yield srv
    srv.stop()


@pytest.fixture
def device(engine: Engine, mini: MiniRegistry) -> str:
    """A device token of the first officer (assigned to the first three TPS)."""
    return device_token(engine, mini.officer_ids[0])


@pytest.fixture
def viewer(engine: Engine, mini: MiniRegistry) -> str:
    """A viewer's API token."""
    return person_token(engine)
