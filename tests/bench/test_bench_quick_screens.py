"""The quick bench's suites in a browser: every figure finite."""

import importlib.util
from pathlib import Path

import pytest

from tests.bench.quick import run_quick
from tests.conftest import TEST_DB

# bench.pixel may be left out of a checkout (bench.run then skips it with a note).
SUITES = ["lapor"] + (["pixel"] if importlib.util.find_spec("bench.pixel") else [])


@pytest.mark.slow(cost_s=80)
@pytest.mark.skipif(
    TEST_DB != "sqlite",
    reason="the harness measures both databases itself; it runs once, in the SQLite pass",
)
@pytest.mark.timeout(600)
def test_quick_screens_suites_produce_every_figure_finite(tmp_path: Path) -> None:
    """Each suite runs at its small sizes and writes results.md and results.json."""
    figures = run_quick(tmp_path, SUITES)
    assert figures
