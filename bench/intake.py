"""Intake throughput: durable, acknowledged pings per second, beside the ceiling and the naive path.

Every server starts on its own copy of the same prepared database (the OKU Timur registry and
an election day of pings already stored). For each load shape, the servers being compared run
side by side and their measured windows alternate (A, B, A, B, ...), so a burst of load from
elsewhere on this shared machine hits both; each figure is the median of the windows.
After every window the rows the database gained are counted and compared with the acks.
A Posko server is measured once its startup work is done (bench.load.settle: the reports it
drafts first on a database holding an election day).
The webhook windows are sent by wrk when it is installed (bench/wrk.py: the Python load
processes could not sign and send 4,000 requests/s here), else by the Python load processes;
each figure's note says which, and the trivial endpoint measures that generator's own ceiling.

POSKO_BENCH_INTAKE=webhook runs the webhook rows only (SQLite and PostgreSQL); with
`bench.run --keep-others` the suite's other figures are then kept from the last run.
"""

import os
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.figures import Figure
from bench.load import (
    Load,
    Run,
    durability_note,
    module_server,
    posko_server,
    run_load,
    settle,
)
from bench.prep import Prepared, copy_pg, copy_sqlite, prepare_pg, shared_sqlite
from bench.wrk import run_wrk, wrk_path
from tests.scale.conftest import Node

CEILING = "bare websockets + grouped SQLite commits (ceiling)"
PG_CEILING = "bare websockets + grouped PostgreSQL COPY commits (ceiling)"
TRIVIAL = "the load generator against a trivial HTTP endpoint (its own ceiling)"
NAIVE = "FastAPI + SQLModel add()+commit() per request (naive)"
WS_TARGET = "≥ 0.7 x ceiling and ≥ 25,000/s"
HTTP_TARGET = "≥ 3 x naive and ≥ 4,000/s"


@dataclass
class Sizes:
    """How big and how long."""

    history: int
    seconds: float
    warmup: float
    runs: int
    quick: bool = False

    @classmethod
    def of(cls, quick: bool) -> "Sizes":
        """Full: 1M rows, 3 windows of 8 s; quick (a smoke test): 10k rows, 1 window of 1 s."""
        if quick:
            return cls(history=10_000, seconds=1.0, warmup=0.25, runs=1, quick=True)
        return cls(history=1_000_000, seconds=8.0, warmup=1.5, runs=3)


WS_SHAPES = [
    ("ws 1 connection, single-ping frames", Load("ws", "/ws/field", 1, 1, 1000, 1)),
    ("ws 1 connection, frames of 50 pings", Load("ws", "/ws/field", 1, 50, 20, 1)),
    ("ws 200 connections, single-ping frames", Load("ws", "/ws/field", 200, 1, 32, 2)),
    ("ws 200 connections, frames of 20 pings", Load("ws", "/ws/field", 200, 20, 4, 2)),
]


def shapes(quick: bool) -> tuple[list[tuple[str, Load]], list[tuple[str, Load]]]:
    """The websocket shapes on SQLite and on PostgreSQL (quick: the batched 200 on each)."""
    if quick:
        return [WS_SHAPES[3]], [WS_SHAPES[3]]
    return WS_SHAPES, WS_SHAPES[2:]


HTTP_SINGLE = Load("http", "/api/v1/pings", 200, 1, 1, 2)
HTTP_BATCH = Load("http", "/api/v1/pings", 200, 50, 1, 2)


class Bench:
    """Servers on copies of the prepared database, and the windows run against them."""

    def __init__(self, prepared: Prepared, sizes: Sizes, work: Path, stack: ExitStack) -> None:
        self.prepared = prepared
        self.sizes = sizes
        self.work = work
        self.stack = stack
        self.n = 0
        self.trivial: set[int] = set()  # ports of trivial endpoints (wrk may repeat requests)

    def db(self) -> str:
        """A fresh copy of the starting database."""
        self.n += 1
        if self.prepared.url.startswith("sqlite"):
            return copy_sqlite(self.prepared, self.work / f"run-{self.n}.db")
        return self.stack.enter_context(copy_pg(self.prepared))

    def window(self, node: Node, db: str, load: Load) -> Run:
        """One measured window."""
        base = node.ws_url if load.mode == "ws" else node.url
        wrk = wrk_path() if load.mode == "http" else None
        if wrk is not None:
            return run_wrk(
                wrk,
                base,
                db,
                self.prepared.devices_json(),
                load,
                seconds=self.sizes.seconds,
                warmup=self.sizes.warmup,
                cycle=node.port in self.trivial,
            )
        return run_load(
            base,
            db,
            self.prepared.devices_json(),
            load,
            seconds=self.sizes.seconds,
            warmup=self.sizes.warmup,
        )


@contextmanager
def servers(b: Bench, kinds: list[str]) -> Iterator[list[tuple[Node, str]]]:
    """Start the named servers (posko, ceiling, naive), each on its own database copy."""
    with ExitStack() as stack:
        out = []
        for kind in kinds:
            db = b.db()
            if kind == "posko":
                node = stack.enter_context(posko_server(db, b.work))
                waited = settle(node.proc.pid)
                print(f"[bench] intake: posko settled in {waited:.0f} s", flush=True)
            else:
                node = stack.enter_context(module_server(f"bench.baselines.{kind}", db, b.work))
            if kind == "trivial_http":
                b.trivial.add(node.port)
            out.append((node, db))
        yield out


def alternate(b: Bench, pairs: list[tuple[Node, str, Load]]) -> list[list[Run]]:
    """Run the windows of every server in turn, `runs` rounds."""
    runs: list[list[Run]] = [[] for _ in pairs]
    for _ in range(b.sizes.runs):
        for i, (node, db, load) in enumerate(pairs):
            runs[i].append(b.window(node, db, load))
    return runs


def med(runs: list[Run]) -> float:
    """Median rate."""
    return statistics.median(r.rate for r in runs)


def ws_figure(
    name: str, db_label: str, posko: list[Run], ceiling: float, load: Load, label: str = CEILING
) -> Figure:
    """A websocket figure beside the ceiling."""
    value = med(posko)
    return Figure(
        suite="intake",
        name=f"{name}, {db_label}",
        value=value,
        unit="pings/s",
        baseline=label,
        baseline_value=ceiling,
        target=WS_TARGET,
        met=value >= 0.7 * ceiling and value >= 25_000 and all(r.durable for r in posko),
        note=f"{load.describe()}; median of {len(posko)}; {durability_note(posko)}",
    )


def http_figure(
    name: str, db_label: str, posko: list[Run], naive: float, load: Load, trivial: float | None
) -> Figure:
    """A webhook figure beside the naive path (and the load generator's own ceiling)."""
    value = med(posko)
    of_trivial = (
        f"; {value / trivial:.2f} x the load generator's own ceiling ({trivial:,.0f}/s, same run)"
        if trivial
        else ""
    )
    return Figure(
        suite="intake",
        name=f"{name}, {db_label}",
        value=value,
        unit="pings/s",
        baseline=NAIVE,
        baseline_value=naive,
        target=HTTP_TARGET,
        met=value >= 3 * naive and value >= 4_000 and all(r.durable for r in posko),
        note=f"HMAC-signed; {load.describe(posko[0].generator)}; median of {len(posko)}; "
        f"{durability_note(posko)}" + of_trivial,
    )


def baseline_figure(name: str, runs: list[Run], load: Load, history: int) -> Figure:
    """A baseline's own figure (so its durability check is reported too)."""
    return Figure(
        suite="intake",
        name=name,
        value=med(runs),
        unit="pings/s",
        note=f"{load.describe(runs[0].generator)}; {history:,} rows before; median of {len(runs)}; "
        f"{durability_note(runs)}",
    )


def webhook_only() -> bool:
    """POSKO_BENCH_INTAKE=webhook: only the webhook rows are measured."""
    return os.environ.get("POSKO_BENCH_INTAKE", "") == "webhook"


def keeps(name: str) -> bool:
    """Whether bench.run --keep-others keeps this figure of the last run (not measured now)."""
    return webhook_only() and "webhook" not in name


def sqlite_suite(b: Bench) -> tuple[list[Figure], dict[str, float]]:
    """Every shape on SQLite; returns the figures and the ceilings by shape."""
    figs: list[Figure] = []
    ceilings: dict[str, float] = {}
    h = b.prepared.history
    for name, load in [] if webhook_only() else shapes(b.sizes.quick)[0]:
        with servers(b, ["ceiling", "posko"]) as ((cn, cdb), (pn, pdb)):
            c_runs, p_runs = alternate(b, [(cn, cdb, load), (pn, pdb, load)])
        ceilings[name] = med(c_runs)
        figs.append(baseline_figure(f"ceiling: {name}, SQLite", c_runs, load, h))
        figs.append(ws_figure(name, "SQLite", p_runs, ceilings[name], load))
    http = [HTTP_SINGLE] if b.sizes.quick else [HTTP_SINGLE, HTTP_BATCH]
    with servers(b, ["trivial_http", "naive", "posko"]) as ((tn, tdb), (nn, ndb), (pn, pdb)):
        t_runs, n_runs, *http_runs = alternate(
            b, [(tn, tdb, HTTP_SINGLE), (nn, ndb, HTTP_SINGLE)] + [(pn, pdb, x) for x in http]
        )
    naive = med(n_runs)
    trivial = trivial_figure(t_runs, HTTP_SINGLE)
    figs.append(trivial)
    figs.append(
        baseline_figure("naive: webhook, one ping per request, SQLite", n_runs, HTTP_SINGLE, h)
    )
    for load, runs in zip(http, http_runs, strict=True):
        per = "one ping" if load.frame == 1 else f"{load.frame} pings"
        figs.append(
            http_figure(
                f"webhook, {per} per request",
                "SQLite",
                runs,
                naive,
                load,
                trivial.value if load.frame == 1 else None,
            )
        )
    return figs, ceilings


def trivial_figure(runs: list[Run], load: Load) -> Figure:
    """The load generator's own ceiling: signed single-ping requests against a trivial endpoint."""
    return Figure(
        suite="intake",
        name="load generator's ceiling: webhook, one ping per request, trivial endpoint",
        value=med(runs),
        unit="requests/s",
        note=f"{TRIVIAL}; {load.describe(runs[0].generator)}; median of {len(runs)}; "
        "the endpoint stores nothing",
    )


def pg_suite(b: Bench, ceilings: dict[str, float]) -> list[Figure]:
    """The 200-connection shapes and the webhooks on PostgreSQL, beside the PostgreSQL ceiling."""
    figs: list[Figure] = []
    h = b.prepared.history
    for name, load in [] if webhook_only() else shapes(b.sizes.quick)[1]:
        with servers(b, ["pg_ceiling", "posko"]) as ((cn, cdb), (pn, pdb)):
            c_runs, runs = alternate(b, [(cn, cdb, load), (pn, pdb, load)])
        ceiling = med(c_runs)
        figs.append(baseline_figure(f"ceiling: {name}, PostgreSQL", c_runs, load, h))
        fig = ws_figure(name, "PostgreSQL", runs, ceiling, load, PG_CEILING)
        if ceilings.get(name):
            fig.note += f"; {med(runs) / ceilings[name]:.2f} x the SQLite ceiling of this run"
        figs.append(fig)
    with servers(b, ["naive", "posko"]) as ((nn, ndb), (pn, pdb)):
        n_runs, p_single = alternate(b, [(nn, ndb, HTTP_SINGLE), (pn, pdb, HTTP_SINGLE)])
    naive = med(n_runs)
    figs.append(
        baseline_figure("naive: webhook, one ping per request, PostgreSQL", n_runs, HTTP_SINGLE, h)
    )
    figs.append(
        http_figure(
            "webhook, one ping per request", "PostgreSQL", p_single, naive, HTTP_SINGLE, None
        )
    )
    return figs


def run(quick: bool) -> list[Figure]:
    """Measure intake on SQLite and, when reachable, PostgreSQL."""
    sizes = Sizes.of(quick)
    figs: list[Figure] = []
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="posko-bench-")))
        prepared = shared_sqlite(sizes.history)
        b = Bench(prepared, sizes, work, stack)
        sqlite_figs, ceilings = sqlite_suite(b)
        figs += sqlite_figs
        pg = stack.enter_context(prepare_pg(history=sizes.history))
        if pg is None:
            # The machine facts at the top of results.md say "PostgreSQL not reachable".
            print("[bench] intake: PostgreSQL not reachable, its figures are left out", flush=True)
        else:
            with ExitStack() as pg_stack:
                figs += pg_suite(Bench(pg, sizes, work, pg_stack), ceilings)
    return figs
