"""Servers under test and load processes: start them, run a measured window, check durability."""

import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.prep import count_pings
from tests.conftest import free_port
from tests.scale.conftest import REPO, Node, node_env, start_node


def python_env() -> dict[str, str]:
    """Environment for helper processes: this checkout first on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSKO_")}
    env["PYTHONPATH"] = str(REPO)
    return env


@contextmanager
def posko_server(url: str, logs: Path, **extra: str) -> Iterator[Node]:
    """`posko serve` on the database, stopped afterwards."""
    node = start_node(node_env(url, **extra), logs)
    try:
        yield node
    finally:
        node.stop()


@contextmanager
def module_server(module: str, url: str, logs: Path, *args: str) -> Iterator[Node]:
    """A baseline server (`python -m bench.baselines.X --port P --database-url URL`)."""
    port = free_port()
    log = logs / f"{module.rsplit('.', 1)[-1]}-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, "--port", str(port), "--database-url", url, *args],
            cwd=REPO,
            env=python_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    node = Node(port, proc, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{module} exited: {log.read_text()[-3000:]}")
            try:
                if httpx.get(node.url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{module} did not start: {log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield node
    finally:
        node.stop()


@dataclass
class Load:
    """What the clients do: mode ws|http, path, connections, pings per frame, frames in flight."""

    mode: str
    path: str
    connections: int
    frame: int = 1
    window: int = 1
    processes: int = 2

    def describe(self, generator: str | None = None) -> str:
        """For notes: the load, and what sent it (default: the Python load processes)."""
        per = "ping" if self.frame == 1 else f"frames of {self.frame} pings"
        flight = (
            f"{self.window} frames in flight per connection"
            if self.mode == "ws"
            else ("one request at a time per connection")
        )
        sender = generator or f"{min(self.processes, self.connections)} client process(es)"
        return f"{self.connections} conn, {per}, {flight}, {sender}"


@dataclass
class Run:
    """One measured window."""

    rate: float
    stored_total: int
    new_rows: int
    errors: int
    rejected: int
    failures: list[str]
    # Pings in requests still unanswered when the generator stopped (wrk stops at its deadline,
    # the Python load processes drain): the server may have committed them, unacknowledged.
    unanswered: int = 0
    generator: str | None = None  # None: the Python load processes (bench/loadgen.py)

    @property
    def durable(self) -> bool:
        """Every stored ack is a new row and every new row was acked (or was still in flight)."""
        in_range = self.stored_total <= self.new_rows <= self.stored_total + self.unanswered
        return in_range and self.errors == 0


def run_load(
    base_url: str,
    db_url: str,
    devices: list[dict[str, Any]],
    load: Load,
    *,
    seconds: float,
    warmup: float,
    cycle: bool = False,
) -> Run:
    """Run the load processes for warmup + seconds, then count the rows the database gained."""
    before = count_pings(db_url)
    n_proc = max(1, min(load.processes, load.connections))
    procs = []
    cfg_files: list[Path] = []
    for p in range(n_proc):
        conns = load.connections // n_proc + (1 if p < load.connections % n_proc else 0)
        # Each process gets its own officers: no two connections share a device.
        devs = devices[p::n_proc] or devices
        cfg = {
            "url": base_url,
            "mode": load.mode,
            "path": load.path,
            "connections": conns,
            "frame": load.frame,
            "window": load.window,
            "devices": devs,
            "warmup": warmup,
            "seconds": seconds,
            "cycle": cycle,
        }
        # Through a file: a registry's worth of TPS codes is longer than one argument may be.
        cfg_file = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)  # noqa: SIM115
        with cfg_file:
            json.dump(cfg, cfg_file)
        cfg_files.append(Path(cfg_file.name))
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.loadgen", "@" + cfg_file.name],
            cwd=REPO,
            env=python_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
    # Every connection is open before the clock starts (200 handshakes take a while here).
    for proc in procs:
        assert proc.stdout is not None
        # Opening 200 connections takes seconds here; 3 minutes means something is wrong.
        ready, _, _ = select.select([proc.stdout], [], [], 180)
        line = proc.stdout.readline() if ready else "(no answer in 180 s)"
        if line.strip() != "ready":
            proc.kill()
            raise RuntimeError(f"load process did not get ready: {line!r} {proc.stderr.read()}")
    start_at = time.time() + 0.2
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(f"go {start_at}\n")
        proc.stdin.flush()
    results = []
    for proc in procs:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        proc.stdin.close()
        out = proc.stdout.read()  # the process ends by itself after its window and drain
        err = proc.stderr.read()
        proc.wait(timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"load process failed: {err[-2000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    for f in cfg_files:
        f.unlink(missing_ok=True)
    after = count_pings(db_url)
    return Run(
        rate=sum(r["in_window"] for r in results) / seconds,
        stored_total=sum(r["stored_total"] for r in results),
        new_rows=after - before,
        errors=sum(r["errors"] for r in results),
        rejected=sum(r["rejected"] for r in results),
        failures=[f for r in results for f in r["failures"]],
    )


def median_runs(fn: Callable[[], Run], runs: int) -> tuple[float, list[Run]]:
    """Median rate of `runs` runs and the runs themselves."""
    done = [fn() for _ in range(runs)]
    return statistics.median(r.rate for r in done), done


def durability_note(runs: list[Run]) -> str:
    """What the acks-vs-rows check found."""
    acked = sum(r.stored_total for r in runs)
    rows = sum(r.new_rows for r in runs)
    rejected = sum(r.rejected for r in runs)
    unanswered = sum(r.unanswered for r in runs)
    if all(r.durable for r in runs) and rows == acked:
        return f"acks = new rows ({acked:,} = {rows:,}) ✓, {rejected} rejected"
    if all(r.durable for r in runs):
        return (
            f"acks ≤ new rows ≤ acks + unanswered ({acked:,} ≤ {rows:,} ≤ {acked:,} + "
            f"{unanswered:,} in flight when wrk stopped) ✓, {rejected} rejected"
        )
    errs = sum(r.errors for r in runs)
    fails = "; ".join(f for r in runs for f in r.failures)[:200]
    return f"CHECK FAILED: {acked:,} stored acks vs {rows:,} new rows, {errs} errors {fails}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(pid: int, *, busy: float = 0.15, limit_s: float = 180.0) -> float:
    """Wait until a fresh server's startup work is done (under `busy` CPU seconds per second).

    A `posko serve` on a database holding an election day first drafts the situation reports
    it finds due (tens of seconds of CPU on 1M pings, on a worker thread): measured windows
    start after it, as on a server that has been running. Returns the seconds waited.
    """
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        before = cpu_seconds(pid)
        time.sleep(1.0)
        if cpu_seconds(pid) - before < busy:
            break
    return time.monotonic() - t0


def rss_mib(pid: int) -> float:
    """Resident memory of a process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")
