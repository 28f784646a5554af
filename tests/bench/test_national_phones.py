"""bench.national_phones, the national day's phones: offline queueing, resending, exactly once."""

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bench.load import python_env
from bench.prep import prepare_sqlite
from tests.scale.conftest import REPO, node_env, start_node


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_phones_queue_through_an_outage_and_every_ack_is_one_row(tmp_path: Path) -> None:
    """Phones cut off for 2 s keep their pings, send them after, and every ack is one stored row."""
    prepared = prepare_sqlite(tmp_path / "start.db", history=0, n_devices=12)
    node = start_node(node_env(prepared.url), tmp_path)
    try:
        now = time.time()
        cfg = {
            "nodes": [node.ws_url],
            "per_tps_rate": 1.0 / max(len(d.tps) for d in prepared.devices),  # ~1 ping/s each
            "segments": [[0.0, 6.0, 1.0]],
            "outage": {"province": "16", "from": 2.0, "to": 4.0},
            "clock": {"sim0": datetime.now(UTC).isoformat(), "real0": now, "speed": 1.0},
            "end": 6.0,
            "drain_s": 60.0,
            "devices": [
                {"token": d.token, "tps": d.tps, "kab": "16.08", "prov": "16"}
                for d in prepared.devices
            ],
            "out": str(tmp_path / "phones.json"),
        }
        (tmp_path / "cfg.json").write_text(json.dumps(cfg))
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.national_phones", "@" + str(tmp_path / "cfg.json")],
            cwd=REPO,
            env=python_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "ready"
        proc.stdin.write(f"go {time.time() + 0.2}\n")
        proc.stdin.flush()
        out, _ = proc.communicate(timeout=240)
        result = json.loads(out.strip().splitlines()[-1])
        acked = set((tmp_path / "phones.acked").read_text().split())
        lat = json.loads((tmp_path / "phones.lat").read_text())
    finally:
        node.stop()
    assert result["failures"] == [] and result["errors"] == 0 and result["rejected"] == 0
    assert result["made"] > 20 and result["unacked"] == 0
    assert len(acked) == result["acked"] == result["made"]
    # Nothing was sent while the network was down: every send offset lies outside 2-4 s, except
    # the queued pings, which all went out once it was back.
    assert not [off for off, _ in lat if 2.05 < off < 3.95]
    eng = create_engine(prepared.url)
    with eng.connect() as c:
        rows = [str(r[0]) for r in c.execute(text("SELECT event_id FROM ping"))]
    eng.dispose()
    normal = {r if "-" in r else f"{r[:8]}-{r[8:12]}-{r[12:16]}-{r[16:20]}-{r[20:]}" for r in rows}
    assert len(rows) == len(normal) == len(acked)
    assert normal == acked
