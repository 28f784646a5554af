"""Prometheus metrics of the process: intake, the live stream, the loop (served at /metrics)."""

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from backend.intake.service import BatchOutcome


class Metrics:
    """One registry per process; every app in the process reports into it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events_in = Counter("posko_events_in", "Field events received", ["source"], registry=r)
        self.acks = Counter("posko_acks", "Acknowledgements sent by result", ["result"], registry=r)
        self.commit_seconds = Histogram(
            "posko_commit_seconds",
            "Duration of one group commit",
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
            registry=r,
        )
        self.batch_events = Histogram(
            "posko_batch_events",
            "Events per group commit",
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000),
            registry=r,
        )
        self.queue_depth = Gauge("posko_queue_depth", "Events waiting for commit", registry=r)
        self.commit_failures = Counter(
            "posko_commit_failures", "Group commits that failed", registry=r
        )
        self.writer_lock_waits = Counter(
            "posko_writer_lock_waits",
            "SQLite group commits that found the write lock taken and waited off the event loop",
            registry=r,
        )
        self.auth_failures = Counter(
            "posko_auth_failures", "Refused credentials", ["reason"], registry=r
        )
        self.live_subscribers = Gauge(
            "posko_live_subscribers", "Open /ws/live connections", registry=r
        )
        self.live_resyncs = Counter(
            "posko_live_resyncs", "Live subscribers told to resync after falling behind", registry=r
        )
        self.live_messages = Counter("posko_live_messages", "Live deltas published", registry=r)
        self.loop_lag = Histogram(
            "posko_loop_lag_seconds",
            "How late the event loop woke from a 100 ms sleep (blocking work on the loop)",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )

    def observe_commit(self, seconds: float, outcome: "BatchOutcome") -> None:
        """Record one commit and its acks."""
        self.commit_seconds.observe(seconds)
        self.batch_events.observe(len(outcome.acks))
        if outcome.stored:
            self.acks.labels("stored").inc(outcome.stored)
        if outcome.duplicates:
            self.acks.labels("duplicate").inc(outcome.duplicates)
        if outcome.rejected:
            self.acks.labels("rejected").inc(outcome.rejected)


METRICS = Metrics()
