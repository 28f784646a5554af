"""The ceiling: a bare `websockets` server that stores pings with grouped SQLite commits.

    python -m bench.baselines.ceiling --port P --database-url sqlite:///FILE

What any Python intake on this machine could at best do with the same disk rules: parse the
JSON (orjson), insert into the same `ping` table (same unique event-id index, same rows
already in it) with Posko's pragmas (WAL, synchronous=FULL), one commit per group of whatever
arrived meanwhile, and ack each frame after its commit, in order. No authentication, no
validation, no TPS state, no live fan-out: those are what Posko adds on top.
"""

import argparse
import asyncio
import sqlite3
import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import orjson
from websockets.asyncio.server import Request, Response, ServerConnection, serve

COLS = (
    "event_id, officer_id, tps_id, phase, situation, device_time, received_at, lat, lon, "
    "note, flags, source"
)


class Store:
    """One connection, grouped commits on the event loop (as Posko's SQLite writer does)."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            "busy_timeout=30000",
            "cache_size=-65536",
            "temp_store=MEMORY",
        ):
            self.conn.execute(f"PRAGMA {pragma}")
        self.tps = dict(self.conn.execute("SELECT code, id FROM tps"))
        self.officer = self.conn.execute("SELECT min(id) FROM officer").fetchone()[0]
        self.queue: list[tuple[list[dict[str, Any]], asyncio.Future[list[dict[str, Any]]]]] = []
        self.wake = asyncio.Event()

    def enqueue(self, events: list[dict[str, Any]]) -> "asyncio.Future[list[dict[str, Any]]]":
        """Queue a frame's events; the future resolves to their acks after the commit."""
        fut: asyncio.Future[list[dict[str, Any]]] = asyncio.get_running_loop().create_future()
        self.queue.append((events, fut))
        self.wake.set()
        return fut

    def _commit(self, batch: list[tuple[list[dict[str, Any]], Any]]) -> list[list[str]]:
        now = datetime.now(UTC).isoformat(" ", "microseconds")[:26]
        rows = []
        for events, _ in batch:
            for e in events:
                dt = datetime.fromisoformat(e["device_time"]).astimezone(UTC)
                rows.append(
                    (
                        uuid.UUID(e["event_id"]).hex,
                        self.officer,
                        self.tps[e["tps"]],
                        e["phase"],
                        e["situation"],
                        dt.isoformat(" ", "microseconds")[:26],
                        now,
                        e.get("lat"),
                        e.get("lon"),
                        e.get("note"),
                        0,
                        "ws",
                    )
                )
        self.conn.execute("BEGIN IMMEDIATE")
        before = self.conn.total_changes
        self.conn.executemany(
            f"INSERT INTO ping ({COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT (event_id) DO NOTHING",
            rows,
        )
        all_new = self.conn.total_changes - before == len(rows)
        self.conn.execute("COMMIT")
        out = []
        for events, _ in batch:
            # A ceiling does not track which rows were duplicates; the benchmark sends none.
            out.append(["stored" if all_new else "unknown"] * len(events))
        return out

    async def run(self) -> None:
        """Commit whatever accumulated, resolve the waiters, repeat."""
        while True:
            await self.wake.wait()
            self.wake.clear()
            batch, self.queue = self.queue, []
            if not batch:
                continue
            results = self._commit(batch)
            for (events, fut), res in zip(batch, results, strict=True):
                fut.set_result(
                    [
                        {"type": "ack", "event_id": e["event_id"], "result": r}
                        for e, r in zip(events, res, strict=True)
                    ]
                )
            await asyncio.sleep(0)  # let handlers read what piled up during the commit


async def handler(ws: ServerConnection, store: Store) -> None:
    """Read frames, queue them, send acks in order after commit."""
    pending: asyncio.Queue[tuple[asyncio.Future[list[dict[str, Any]]], bool] | None] = (
        asyncio.Queue()
    )

    async def acks() -> None:
        while (entry := await pending.get()) is not None:
            fut, single = entry
            res = await fut
            await ws.send(orjson.dumps(res[0] if single else res).decode())

    sender = asyncio.create_task(acks())
    try:
        async for raw in ws:
            msg = orjson.loads(raw)
            single = isinstance(msg, dict)
            await pending.put((store.enqueue([msg] if single else msg), single))
    finally:
        await pending.put(None)
        await sender


def health(conn: ServerConnection, request: Request) -> Response | None:
    """Answer /healthz over plain HTTP."""
    if request.path == "/healthz":
        return conn.respond(HTTPStatus.OK, "ok\n")
    return None


async def main_async(port: int, path: str) -> None:
    """Serve until killed."""
    store = Store(path)
    writer = asyncio.create_task(store.run())
    async with serve(
        lambda ws: handler(ws, store),
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

    uvloop.run(main_async(args.port, args.database_url.split("///", 1)[1]))


if __name__ == "__main__":
    main()
