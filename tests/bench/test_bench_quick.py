"""`python -m bench.run --quick`: every suite produces its figures, all finite."""

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_DB, pg_available

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.skipif(
    TEST_DB != "sqlite",
    reason="the harness measures both databases itself; it runs once, in the SQLite pass",
)
@pytest.mark.timeout(600)
def test_quick_bench_produces_every_figure_finite(tmp_path: Path) -> None:
    """The harness runs each suite at small sizes and writes results.md and results.json."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=580,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    figures = results["figures"]
    suites = {f["suite"] for f in figures}
    expected = {
        "intake",
        "subscribers",
        "memory",
        "restart",
        "channels",
        "positions",
        "lapor",
        "reports",
        "custody",
        "exports",
        "replay",
    }
    if importlib.util.find_spec("bench.pixel") is not None:
        expected |= {"pixel"}
    assert expected <= suites, (suites, results["skipped"])
    for f in figures:
        assert isinstance(f["value"], int | float) and math.isfinite(f["value"]), f
        if f["baseline"] is not None:
            assert f["baseline_value"] is not None and math.isfinite(f["baseline_value"]), f
    names = {f["name"] for f in figures}
    assert any(n.startswith("webhook") and n.endswith("SQLite") for n in names), names
    assert any(n.startswith("ws ") and n.endswith("SQLite") for n in names), names
    if pg_available():
        assert any(n.endswith("PostgreSQL") for n in names), names
    # Every throughput figure passed the durability check: acks = rows the database gained.
    for f in figures:
        if f["unit"] == "pings/s":
            assert "CHECK FAILED" not in f["note"] and "ACKS != NEW ROWS" not in f["note"], f
    md = (tmp_path / "results.md").read_text()
    assert "| figure | value | baseline" in md and results["machine"]["cores"]
