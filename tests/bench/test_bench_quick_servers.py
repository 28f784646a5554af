"""The quick bench's suites of `posko serve` under load: every figure finite."""

from pathlib import Path

import pytest

from tests.bench.quick import run_quick
from tests.conftest import TEST_DB

SUITES = ["subscribers", "memory", "channels", "positions"]


@pytest.mark.slow(cost_s=90)
@pytest.mark.skipif(
    TEST_DB != "sqlite",
    reason="the harness measures both databases itself; it runs once, in the SQLite pass",
)
@pytest.mark.timeout(600)
def test_quick_servers_suites_produce_every_figure_finite(tmp_path: Path) -> None:
    """Each suite runs at its small sizes and writes results.md and results.json."""
    figures = run_quick(tmp_path, SUITES)
    assert figures
