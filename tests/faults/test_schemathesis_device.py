"""Schemathesis as a device's bearer token: every operation, the webhooks' bodies parsed."""

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.conftest import TEST_DB, LiveServer
from tests.faults.schemathesis_run import run_schemathesis


@pytest.mark.slow(cost_s=240)
@pytest.mark.skipif(
    TEST_DB != "sqlite",
    reason="HTTP validation is the same on every database; the SQLite pass fuzzes it",
)
# The run may take its own 600 s on a busy machine: the suite's 300 s default would cut it off
# before schemathesis says anything.
@pytest.mark.timeout(660)
def test_schemathesis_as_device_finds_no_server_error(
    server: LiveServer, device: str, viewer: str, tmp_path: Path, engine: Engine
) -> None:
    """Generated requests and their negatives never get a server error or an undeclared answer."""
    run_schemathesis("device", server, device, viewer, tmp_path, engine)
