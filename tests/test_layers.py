"""The layers read one way: what the code imports, parsed from the sources."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STATE_DOMAINS = ("tps", "incidents", "officers", "custody")
ABOVE_STATE = ("backend.intake", "backend.alerts")
# tps/rollup.py's area_rows counts open TPS alerts for /nasional; dashboard/data.py imports it
# from there, so it moves out of tps together with that import (issue 13, still to do).
KNOWN = {("backend/tps/rollup.py", "backend.alerts.models")}
# What runs after a commit gets its collaborators, never the whole runtime.
NARROW = ("backend/aftercommit.py", "backend/alerts/sweeper.py", "backend/realtime/deltas.py")


def _imports(path: Path) -> set[str]:
    """Every module a source file imports (TYPE_CHECKING and function-level imports too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _reaching(path: Path, packages: tuple[str, ...]) -> set[tuple[str, str]]:
    """(file, module) for each module of `packages` the file imports."""
    rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
    return {
        (rel, name)
        for name in _imports(path)
        if any(name == p or name.startswith(p + ".") for p in packages)
    }


@pytest.mark.parametrize("domain", STATE_DOMAINS)
def test_a_state_domain_imports_neither_intake_nor_alerts(domain: str) -> None:
    paths = sorted((ROOT / "backend" / domain).rglob("*.py"))
    assert paths
    found = set().union(*(_reaching(p, ABOVE_STATE) for p in paths))
    assert found - KNOWN == set()


def test_the_known_exception_is_still_needed() -> None:
    """Once tps/rollup.py stops reading alerts, KNOWN must be emptied (it would hide a return)."""
    assert _reaching(ROOT / "backend/tps/rollup.py", ABOVE_STATE) >= KNOWN


@pytest.mark.parametrize("rel", NARROW)
def test_what_runs_after_a_commit_never_takes_the_runtime(rel: str) -> None:
    assert _reaching(ROOT / rel, ("backend.runtime",)) == set()


def test_an_import_under_type_checking_counts_too(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from backend.alerts import flows\n"
        "if TYPE_CHECKING:\n    import backend.intake.service\n"
    )
    assert {name for _, name in _reaching(source, ABOVE_STATE)} == {
        "backend.alerts",
        "backend.intake.service",
    }
