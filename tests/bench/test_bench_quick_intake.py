"""The quick bench's intake and restart suites: figures finite and durable, on both databases."""

from pathlib import Path

import pytest

from tests.bench.quick import names_on_postgresql_when_reachable, run_quick
from tests.conftest import TEST_DB

SUITES = ["intake", "restart"]


@pytest.mark.slow(cost_s=100)
@pytest.mark.skipif(
    TEST_DB != "sqlite",
    reason="the harness measures both databases itself; it runs once, in the SQLite pass",
)
@pytest.mark.timeout(600)
def test_quick_intake_suites_produce_every_figure_finite(tmp_path: Path) -> None:
    """Each suite runs at its small sizes and writes results.md and results.json."""
    figures = run_quick(tmp_path, SUITES)
    names = {f["name"] for f in figures}
    assert any(n.startswith("webhook") and n.endswith("SQLite") for n in names), names
    assert any(n.startswith("ws ") and n.endswith("SQLite") for n in names), names
    names_on_postgresql_when_reachable(figures)
