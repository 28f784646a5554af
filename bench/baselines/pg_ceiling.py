"""The PostgreSQL ceiling: a bare `websockets` server that stores pings with grouped COPY commits.

    python -m bench.baselines.pg_ceiling --port P --database-url postgresql+psycopg://...

The PostgreSQL counterpart of bench/baselines/ceiling.py: parse the JSON (orjson), COPY each
group of whatever arrived meanwhile into a temporary table and move it into the same `ping`
table (same unique event-id index, same rows already in it) with ON CONFLICT DO NOTHING, one
commit per group, on one connection on its own thread (as Posko's PostgreSQL writer does),
and ack each frame after its commit, in order. No authentication, no validation, no TPS
state, no live fan-out: those are what Posko adds on top.
"""

import argparse
import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import psycopg
from websockets.asyncio.server import serve

from bench.baselines.ceiling import COLS, handler, health

Batch = list[tuple[list[dict[str, Any]], "asyncio.Future[list[dict[str, Any]]]"]]


class PgStore:
    """One connection on one thread; grouped COPY commits while the loop keeps reading."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))
        self.tps: dict[str, int] = dict(self.conn.execute("SELECT code, id FROM tps").fetchall())
        row = self.conn.execute("SELECT min(id) FROM officer").fetchone()
        assert row is not None
        self.officer = row[0]
        self.conn.execute(
            "CREATE TEMPORARY TABLE ping_in (LIKE ping INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        self.conn.commit()
        self.pool = ThreadPoolExecutor(max_workers=1)
        self.queue: Batch = []
        self.wake = asyncio.Event()

    def enqueue(self, events: list[dict[str, Any]]) -> "asyncio.Future[list[dict[str, Any]]]":
        """Queue a frame's events; the future resolves to their acks after the commit."""
        fut: asyncio.Future[list[dict[str, Any]]] = asyncio.get_running_loop().create_future()
        self.queue.append((events, fut))
        self.wake.set()
        return fut

    def _commit(self, batch: Batch) -> str:
        now = datetime.now(UTC)
        n = 0
        with self.conn.cursor() as cur:
            with cur.copy(f"COPY ping_in ({COLS}) FROM STDIN") as copy:
                for events, _ in batch:
                    for e in events:
                        copy.write_row(
                            (
                                uuid.UUID(e["event_id"]),
                                self.officer,
                                self.tps[e["tps"]],
                                e["phase"],
                                e["situation"],
                                datetime.fromisoformat(e["device_time"]),
                                now,
                                e.get("lat"),
                                e.get("lon"),
                                e.get("note"),
                                0,
                                "ws",
                            )
                        )
                        n += 1
            cur.execute(
                f"INSERT INTO ping ({COLS}) SELECT {COLS} FROM ping_in "
                "ON CONFLICT (event_id) DO NOTHING"
            )
            all_new = cur.rowcount == n
        self.conn.commit()
        # A ceiling does not track which rows were duplicates; the benchmark sends none.
        return "stored" if all_new else "unknown"

    async def run(self) -> None:
        """Commit whatever accumulated (on the thread), resolve the waiters, repeat."""
        loop = asyncio.get_running_loop()
        while True:
            await self.wake.wait()
            self.wake.clear()
            batch, self.queue = self.queue, []
            if not batch:
                continue
            result = await loop.run_in_executor(self.pool, self._commit, batch)
            for events, fut in batch:
                fut.set_result(
                    [{"type": "ack", "event_id": e["event_id"], "result": result} for e in events]
                )


async def main_async(port: int, url: str) -> None:
    """Serve until killed."""
    store = PgStore(url)
    writer = asyncio.create_task(store.run())
    async with serve(
        lambda ws: handler(ws, store),  # type: ignore[arg-type]
        "127.0.0.1",
        port,
        process_request=health,
        compression=None,
        max_size=None,
    ) as server:
        await server.serve_forever()
    writer.cancel()


def main() -> None:
    """Parse arguments and serve."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--database-url", required=True)
    args = ap.parse_args()
    import uvloop

    uvloop.run(main_async(args.port, args.database_url))


if __name__ == "__main__":
    main()
