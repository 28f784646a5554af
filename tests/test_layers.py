"""The layers read one way: what the code imports, parsed from the sources."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STATE_DOMAINS = ("tps", "incidents", "officers", "custody")
ABOVE_STATE = ("backend.intake", "backend.alerts")
# No exception: the rows that count open alerts with TPS (/nasional, /api/v1/rollup) are
# backend/overview.py's, above the state domains.
KNOWN: set[tuple[str, str]] = set()
# What runs after a commit, or on a schedule, gets its collaborators, never the whole runtime.
NARROW = (
    "backend/aftercommit.py",
    "backend/alerts/sweeper.py",
    "backend/realtime/deltas.py",
    "backend/reports/scheduler.py",
)


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


def test_every_known_exception_is_still_needed() -> None:
    """An exception no file needs any more must leave KNOWN (it would hide a return)."""
    for rel, module in KNOWN:
        assert (rel, module) in _reaching(ROOT / rel, ABOVE_STATE)


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
