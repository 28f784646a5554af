"""Live screens under load: N /ws/live subscribers that read, count and check sequence numbers.

    python -m bench.livesub CONFIG_JSON   ("ready" once every hello came; "stop" on stdin ends it)

Prints one JSON line: frames received, and per subscriber whether every sequence number after
its hello arrived, in order, with no resync.
"""

import asyncio
import json
import sys
from typing import Any

import orjson
from websockets.asyncio.client import connect


class Screen:
    """What one subscriber saw."""

    def __init__(self) -> None:
        self.frames = 0
        self.bytes = 0
        self.last_seq: int | None = None
        self.gaps = 0
        self.resyncs = 0


async def screen(
    url: str, token: str, s: Screen, hello: asyncio.Event, stop: asyncio.Event
) -> None:
    """Subscribe and read until told to stop."""
    async with connect(
        f"{url}/ws/live", additional_headers={"Authorization": f"Bearer {token}"}, max_size=None
    ) as ws:

        async def read() -> None:
            async for raw in ws:
                msg: dict[str, Any] = orjson.loads(raw)
                kind = msg.get("type")
                seq = msg.get("seq")
                if kind == "hello":
                    s.last_seq = seq
                    hello.set()
                    continue
                if kind == "heartbeat":
                    continue
                if kind == "resync":
                    s.resyncs += 1
                    s.last_seq = seq
                    continue
                s.frames += 1
                s.bytes += len(raw)
                if isinstance(seq, int):
                    # After a resync (which carries the seq current when it was sent) deltas
                    # queued behind it may repeat older numbers: covered by the snapshot.
                    if s.last_seq is not None and seq > s.last_seq + 1:
                        s.gaps += 1
                    s.last_seq = seq if s.last_seq is None else max(s.last_seq, seq)

        reader = asyncio.create_task(read())
        await stop.wait()
        reader.cancel()


async def main_async(cfg: dict[str, Any]) -> dict[str, Any]:
    """Open every subscriber, report ready, read until stop."""
    n = cfg["subscribers"]
    screens = [Screen() for _ in range(n)]
    hellos = [asyncio.Event() for _ in range(n)]
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(screen(cfg["url"], cfg["token"], s, h, stop))
        for s, h in zip(screens, hellos, strict=True)
    ]
    await asyncio.wait_for(asyncio.gather(*(h.wait() for h in hellos)), timeout=120)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    top = max((s.last_seq or 0) for s in screens)
    return {
        "subscribers": n,
        "frames": sum(s.frames for s in screens),
        "bytes": sum(s.bytes for s in screens),
        # Complete: every sequence number arrived, or the screen was told to resync (then it
        # reloads a snapshot): no silent loss. Behind: had not yet read up to the last one.
        "complete": sum(1 for s in screens if s.gaps == 0),
        "resynced": sum(1 for s in screens if s.resyncs),
        "behind": sum(1 for s in screens if s.last_seq != top),
        "gaps": sum(s.gaps for s in screens),
        "resyncs": sum(s.resyncs for s in screens),
        "last_seq": top,
    }


def main() -> None:
    """Read the config from the command line, print the result."""
    import uvloop

    print(json.dumps(uvloop.run(main_async(json.loads(sys.argv[1])))), flush=True)


if __name__ == "__main__":
    main()
