"""One measured figure of `make bench`, beside the baseline measured in the same run."""

from dataclasses import dataclass


@dataclass
class Figure:
    """A figure, its same-run baseline, and its target."""

    suite: str  # "intake", "pixel", "wire", "subscribers", "memory"
    name: str  # "ws 1 connection, SQLite"
    value: float
    unit: str  # "pings/s", "ms", "bytes", "MiB"
    baseline: str | None = None  # "bare websockets + grouped SQLite commits (ceiling)"
    baseline_value: float | None = None
    target: str | None = None  # "≥ 0.7 × ceiling and ≥ 25,000/s", "p95 ≤ 150 ms"  # noqa: RUF003
    met: bool | None = None  # None when there is no target
    note: str = ""  # cause of a gap, sample size, conditions
    # ratio = value / baseline_value, computed by the report
