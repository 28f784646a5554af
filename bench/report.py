"""bench/results.md and bench/results.json: the machine's facts, then a table per suite."""

import json
import math
import os
import platform
import sqlite3
import subprocess
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.figures import Figure

SUITE_TITLES = {
    "intake": "Intake throughput (durable, acknowledged pings/s)",
    "pixel": "Ping → pixel",
    "wire": "Bytes on the wire",
    "subscribers": "Live dashboards per node",
    "memory": "Memory (server RSS)",
    "lapor": "The officer's phone (/lapor) in Chromium",
    "sweep": "The alert sweep: full and incremental",
    "national_day": "A national election day (2 nodes, PostgreSQL + Redis, faults)",
    "reports": "Situation reports: drafting and printing",
    "custody": "Chain of custody: the sweeper's read",
    "exports": "Exports: throughput per format",
    "replay": "Replay: seek and rollups at a moment",
}


def ratio(f: Figure) -> float | None:
    """value / baseline_value, when there is a baseline."""
    if f.baseline_value is None or not f.baseline_value:
        return None
    return f.value / f.baseline_value


def to_json(f: Figure) -> dict[str, Any]:
    """A figure as a JSON-ready dict, ratio included."""
    out = asdict(f)
    out["ratio"] = ratio(f)
    return out


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _ram_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            return int(line.split()[1]) / 1024 / 1024
    return float("nan")


def _postgres_version() -> str:
    try:
        from sqlalchemy import create_engine, text

        from tests.conftest import PG_ADMIN_URL

        eng = create_engine(PG_ADMIN_URL)
        with eng.connect() as c:
            v = str(c.execute(text("SHOW server_version")).scalar_one())
        eng.dispose()
        return v
    except Exception as exc:  # any failure: not reachable
        return f"not reachable ({exc.__class__.__name__})"


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
        return out.stdout.strip()
    except Exception:
        return "unknown"


def machine() -> dict[str, Any]:
    """Facts about this machine and its software."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": round(_ram_gib(), 1),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "postgresql": _postgres_version(),
        "os": platform.platform(),
        "commit": _git_commit(),
    }


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def _num(v: float | None, unit: str = "") -> str:
    if v is None:
        return ""
    if isinstance(v, float) and not math.isfinite(v):
        return "n/a"
    if abs(v) >= 100:
        s = f"{v:,.0f}"
    elif abs(v) >= 10:
        s = f"{v:.1f}"
    else:
        s = f"{v:.2f}"
    return f"{s} {unit}".strip()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(
    figures: list[Figure], facts: dict[str, Any], command: str, skipped: dict[str, str]
) -> str:
    """The results page."""
    m = facts["machine"]
    lines = [
        "# Posko benchmark results",
        "",
        f"Command: `{command}`  ",
        f"Date: {facts['started']} → {facts['finished']} (UTC), {facts['seconds']:.0f} s  ",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['os']}  ",
        f"Software: Python {m['python']}, SQLite {m['sqlite']}, PostgreSQL {m['postgresql']}, "
        f"commit {m['commit']}  ",
        f"Load average before: {facts['load_before']}, after: {facts['load_after']} "
        "(the machine is shared: compare ratios, not absolute figures)",
        "",
    ]
    if facts.get("rerun"):
        lines += [f"Suites re-run: {facts['rerun']}", ""]
    if facts.get("quick"):
        lines += ["**Quick run** (small sizes, one short window): figures are indicative only.", ""]
    suites = list(dict.fromkeys(f.suite for f in figures))
    for suite in suites:
        lines += [
            f"## {SUITE_TITLES.get(suite, suite)}",
            "",
            "| figure | value | baseline | baseline value | ratio | target | met | note |",
            "|---|---:|---|---:|---:|---|:-:|---|",
        ]
        for f in (f for f in figures if f.suite == suite):
            r = ratio(f)
            met = "" if f.met is None else ("✓" if f.met else "✗")
            lines.append(
                "| "
                + " | ".join(
                    [
                        _cell(f.name),
                        _num(f.value, f.unit),
                        _cell(f.baseline or ""),
                        _num(f.baseline_value, f.unit),
                        "" if r is None else f"{r:.2f}",
                        _cell(f.target or ""),
                        met,
                        _cell(f.note),
                    ]
                )
                + " |"
            )
        lines.append("")
    if skipped:
        lines += ["## Not run", ""]
        lines += [f"- {suite}: {why}" for suite, why in skipped.items()]
        lines.append("")
    return "\n".join(lines)


def write(
    out_dir: Path,
    figures: list[Figure],
    facts: dict[str, Any],
    command: str,
    skipped: dict[str, str],
) -> tuple[Path, Path]:
    """Write results.json and results.md; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    js = out_dir / "results.json"
    md = out_dir / "results.md"

    def clean(v: Any) -> Any:
        return None if isinstance(v, float) and not math.isfinite(v) else v

    payload = {
        **facts,
        "command": command,
        "skipped": skipped,
        "figures": [{k: clean(v) for k, v in to_json(f).items()} for f in figures],
    }
    js.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    md.write_text(markdown(figures, facts, command, skipped))
    return js, md


def now_iso() -> str:
    """Now, UTC, to the second."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
