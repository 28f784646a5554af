"""Durable acks per second of Posko nodes on PostgreSQL: phones on websockets, acks after commit.

    python -m bench.pg_intake [--nodes 1] [--connections 64] [--frame 20] [--seconds 20] [--redis]

Creates a fresh PostgreSQL database (POSKO_BENCH_PG_URL, default the test server), seeds OKU
Timur, starts `posko serve` processes from this checkout, and has `--connections` phones (one
officer each, round-robin over the nodes) send frames of `--frame` pings about their own TPS,
each frame waiting for its acks, for `--seconds`. Every ack counted is a committed event.
Prints one markdown table row; the database is dropped afterwards.
"""

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory

import orjson
from sqlmodel import Session, col, select
from websockets.asyncio.client import connect

from backend.auth.service import issue
from backend.db import make_engine
from backend.migrate import upgrade
from backend.officers.models import Assignment, Officer
from backend.registry.build import build_registry
from backend.registry.service import write_registry
from backend.tps.models import Tps
from bench.prep import bench_settings
from schemas.enums import CredentialKind, Phase, Situation
from tests.conftest import fresh_pg_database
from tests.scale.conftest import node_env, redis_url, start_node

PHASES = [p.value for p in Phase if p is not Phase.DITUNDA]


def uuid7() -> str:
    """Time-ordered event id, as phones make them."""
    ms = int(time.time() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms << 80) | (0x7 << 76) | ((rand >> 62) & 0xFFF) << 64 | (0b10 << 62)
    return str(uuid.UUID(int=value | (rand & ((1 << 62) - 1))))


def phones(url: str, n: int) -> list[tuple[str, list[str]]]:
    """Seed OKU Timur and issue device tokens for n officers: (token, their TPS codes)."""
    engine = make_engine(bench_settings(url))
    upgrade(engine)
    with Session(engine) as s:
        write_registry(session=s, registry=build_registry(seed=2024))
    out = []
    with Session(engine) as s:
        officers = list(s.exec(select(Officer).order_by(col(Officer.nrp)).limit(n)))
        for o in officers:
            assert o.id is not None
            codes = list(
                s.exec(
                    select(Tps.code)
                    .join(Assignment, col(Assignment.tps_id) == col(Tps.id))
                    .where(col(Assignment.officer_id) == o.id)
                )
            )
            _, token = issue(
                session=s,
                kind=CredentialKind.DEVICE,
                name="bench",
                officer_id=o.id,
                area_code=o.kabupaten_code,
                now=datetime.now(UTC),
            )
            out.append((token, codes))
    engine.dispose()
    return out


async def phone(
    ws_url: str, token: str, codes: list[str], frame: int, stop: float, out: dict[str, list[float]]
) -> None:
    """Send frames until `stop`, each after the previous one's acks."""
    rng = random.Random(token)
    async with connect(
        f"{ws_url}/ws/field",
        additional_headers={"Authorization": f"Bearer {token}"},
        compression=None,
        max_size=None,
    ) as ws:
        while time.monotonic() < stop:
            now = datetime.now(UTC).isoformat()
            batch = [
                {
                    "type": "ping",
                    "event_id": uuid7(),
                    "tps": rng.choice(codes),
                    "phase": rng.choice(PHASES),
                    "situation": rng.choice([s.value for s in Situation]),
                    "device_time": now,
                }
                for _ in range(frame)
            ]
            t0 = time.perf_counter()
            await ws.send(orjson.dumps(batch).decode())
            acks = orjson.loads(await ws.recv())
            out["latency"].append(time.perf_counter() - t0)
            out["stored"].append(sum(1 for a in acks if a["result"] == "stored"))


async def load(ws_urls: list[str], creds: list[tuple[str, list[str]]], frame: int, seconds: float):
    """Run every phone at once; return (stored events, frame latencies)."""
    out: dict[str, list[float]] = {"latency": [], "stored": []}
    stop = time.monotonic() + seconds
    await asyncio.gather(
        *(
            phone(ws_urls[i % len(ws_urls)], token, codes, frame, stop, out)
            for i, (token, codes) in enumerate(creds)
        )
    )
    return sum(out["stored"]), out["latency"]


def main() -> None:
    """Run the benchmark and print a markdown row."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--nodes", type=int, default=1)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--frame", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--redis", action="store_true", help="redis:// fan-out between the nodes")
    args = ap.parse_args()
    with ExitStack() as stack:
        url = stack.enter_context(fresh_pg_database())
        creds = phones(url, args.connections)
        extra = {"POSKO_BROADCAST_URL": redis_url(f"posko:bench:{uuid.uuid4().hex}:")}
        env = node_env(url, **(extra if args.redis else {}))
        logs = Path(stack.enter_context(TemporaryDirectory()))
        nodes = [start_node(env, logs) for _ in range(args.nodes)]
        for node in nodes:
            stack.callback(node.stop)
        time.sleep(1.0)
        stored, lat = asyncio.run(load([n.ws_url for n in nodes], creds, args.frame, args.seconds))
    lat.sort()
    p50 = statistics.median(lat) * 1000
    p99 = lat[int(len(lat) * 0.99)] * 1000
    print(
        f"| {args.nodes} | {args.connections} | {args.frame} | {args.seconds:g} s | "
        f"{stored / args.seconds:,.0f} | {p50:.0f} ms | {p99:.0f} ms |"
    )


if __name__ == "__main__":
    main()
