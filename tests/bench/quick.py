"""`python -m bench.run --quick --only ...` for the tests/bench/test_bench_quick_*.py files.

The quick run is split into groups of suites, one test file each, so that pytest-xdist's two
workers (--dist loadfile) share it instead of one worker running all of it.
"""

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import pg_available

REPO = Path(__file__).resolve().parents[2]


def run_quick(tmp_path: Path, suites: list[str], *, timeout: float = 560) -> list[dict[str, Any]]:
    """Run the named suites at their quick sizes; check what every run must hold; the figures."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--quick",
            "--only",
            ",".join(suites),
            "--out",
            tmp_path,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    figures: list[dict[str, Any]] = results["figures"]
    got = {f["suite"] for f in figures}
    assert set(suites) <= got, (got, results["skipped"])
    for f in figures:
        assert isinstance(f["value"], int | float) and math.isfinite(f["value"]), f
        if f["baseline"] is not None:
            assert f["baseline_value"] is not None and math.isfinite(f["baseline_value"]), f
    # Every throughput figure passed the durability check: acks = rows the database gained.
    for f in figures:
        if f["unit"] == "pings/s":
            assert "CHECK FAILED" not in f["note"] and "ACKS != NEW ROWS" not in f["note"], f
    md = (tmp_path / "results.md").read_text()
    assert "| figure | value | baseline" in md and results["machine"]["cores"]
    return figures


def names_on_postgresql_when_reachable(figures: list[dict[str, Any]]) -> None:
    """A suite that measures both databases has PostgreSQL figures when a server answers."""
    if pg_available():
        names = {f["name"] for f in figures}
        assert any(n.endswith("PostgreSQL") for n in names), names
