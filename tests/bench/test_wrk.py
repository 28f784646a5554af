"""bench.wrk, the webhook windows sent by wrk: pre-signed requests, acks counted against rows."""

from pathlib import Path

import pytest

from bench.load import Load, posko_server
from bench.prep import prepare_sqlite
from bench.wrk import run_wrk, wrk_path

WRK = wrk_path()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(WRK is None, reason="wrk is not installed (apt-get install wrk)"),
]


@pytest.mark.timeout(300)
def test_wrk_window_stores_every_signed_ping_it_counts_as_acked(tmp_path: Path) -> None:
    """Every "stored" ack wrk read is a new row, and no row appears beyond the unanswered ones."""
    assert WRK is not None
    prepared = prepare_sqlite(tmp_path / "start.db", history=0, n_devices=12)
    load = Load("http", "/api/v1/pings", 8, 1, 1, 2)
    with posko_server(prepared.url, tmp_path) as node:
        run = run_wrk(
            WRK, node.url, prepared.url, prepared.devices_json(), load, seconds=1, warmup=1
        )
    assert run.failures == [] and run.errors == 0 and run.rejected == 0
    assert run.stored_total > 50 and run.rate > 0
    assert run.stored_total <= run.new_rows <= run.stored_total + run.unanswered
    # Unacknowledged rows: only requests in flight when wrk stopped, one per connection at most.
    assert run.new_rows - run.stored_total <= 2 * load.connections
    assert run.durable and run.generator == "wrk, 2 thread(s)"


@pytest.mark.timeout(300)
def test_wrk_window_that_runs_out_of_signatures_fails_as_replayed(tmp_path: Path) -> None:
    """Requests sent twice carry a seen signature: Posko refuses them and the window fails."""
    assert WRK is not None
    prepared = prepare_sqlite(tmp_path / "start.db", history=0, n_devices=4)
    load = Load("http", "/api/v1/pings", 2, 1, 1, 1)
    with posko_server(prepared.url, tmp_path) as node:
        run = run_wrk(
            WRK,
            node.url,
            prepared.url,
            prepared.devices_json(),
            load,
            seconds=1,
            warmup=1,
            max_rate=1,  # 3 requests per invocation: the rest are repeats
        )
    assert not run.durable and run.errors > 0
    assert any("ran out" in f for f in run.failures)
    assert any("answers other than" in f for f in run.failures)  # the 401s of the replays
    assert run.stored_total == run.new_rows == 6  # each first sending stored once, no more
