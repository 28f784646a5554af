"""Webhook windows sent by wrk: requests signed just before each window, acks counted in Lua.

The Python load processes (bench/loadgen.py) sign every request as they go and topped out at
~3,200 signed requests/s against a trivial endpoint here: they could not show 4,000/s.
wrk (C, one epoll loop per thread) sends requests this module signed beforehand, each with its
own event id and its own signature (Posko refuses a signature it has seen, or one older than
its replay window), one request at a time per connection like the phones. bench/wrk.lua counts
the acks by result; the rows the database gained are compared with the "stored" acks.
"""

import hashlib
import hmac
import json
import math
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench.load import Load, Run
from bench.loadgen import Codes, make_frame
from bench.prep import count_pings

LUA = Path(__file__).with_name("wrk.lua")
# Requests, and pings, per second a window's pre-signed requests suffice for; past either a
# thread sends its first requests again, Posko refuses them as replays and the window fails
# (it says so).
MAX_RATE = 10_000
MAX_PINGS = 50_000
CYCLED = 2_000  # requests per thread against an endpoint that checks nothing (they repeat)


def wrk_path() -> str | None:
    """wrk on PATH, if installed (`apt-get install wrk`)."""
    return shutil.which("wrk")


def signed_requests(
    devices: list[dict[str, Any]], load: Load, host: str, n: int, rng: random.Random
) -> list[bytes]:
    """N raw HTTP requests, each a frame of new pings signed now by the next device in turn."""
    out = []
    ts = str(int(time.time()))
    for i in range(n):
        dev = devices[i % len(devices)]
        batch = make_frame(rng, Codes(dev["tps"], rng, False), load.frame, -4.1, 104.2)
        body = orjson.dumps(batch[0] if load.frame == 1 else batch)
        sig = hmac.new(dev["secret"].encode(), ts.encode() + b"." + body, hashlib.sha256)
        head = (
            f"POST {load.path} HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"X-Posko-Key-Id: {dev['key_id']}\r\nX-Posko-Timestamp: {ts}\r\n"
            f"X-Posko-Signature: sha256={sig.hexdigest()}\r\n\r\n"
        )
        out.append(head.encode() + body)
    return out


def write_requests(
    prefix: Path,
    base_url: str,
    devices: list[dict[str, Any]],
    load: Load,
    seconds: int,
    cycle: bool,
    max_rate: int = MAX_RATE,
) -> None:
    """Sign the requests of one invocation: PREFIX.<thread>, NUL-separated (bench/wrk.lua)."""
    threads = max(1, min(load.processes, load.connections))
    if cycle:
        per_thread = CYCLED
    else:
        per_s = min(max_rate, max(1, MAX_PINGS // load.frame))
        per_thread = math.ceil(per_s * seconds / threads) + load.connections
    host = base_url.split("//", 1)[1]
    rng = random.Random()
    for t in range(threads):
        # Each thread its own devices, as each load process had.
        devs = devices[t::threads] or devices
        reqs = signed_requests(devs, load, host, per_thread, rng)
        prefix.with_name(f"{prefix.name}.{t}").write_bytes(b"\0".join(reqs) + b"\0")


def send(wrk: str, prefix: Path, base_url: str, load: Load, seconds: int) -> dict[str, Any]:
    """Run wrk for `seconds` on the signed requests; its counts (bench/wrk.lua's done())."""
    threads = max(1, min(load.processes, load.connections))
    proc = subprocess.run(
        [
            wrk,
            "-t",
            str(threads),
            "-c",
            str(load.connections),
            "-d",
            f"{seconds}s",
            "--timeout",
            "60s",
            "-s",
            str(LUA),
            base_url + load.path,
            "--",
            str(prefix),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 180,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr[-2000:]}")
    line = [x for x in proc.stdout.splitlines() if x.startswith("{")][-1]
    return dict(json.loads(line))


def _wrk(
    wrk: str,
    base_url: str,
    devices: list[dict[str, Any]],
    load: Load,
    seconds: int,
    cycle: bool,
    max_rate: int = MAX_RATE,
) -> dict[str, Any]:
    """Sign, then send for `seconds`."""
    with tempfile.TemporaryDirectory(prefix="posko-wrk-") as d:
        prefix = Path(d) / "requests"
        write_requests(prefix, base_url, devices, load, seconds, cycle, max_rate)
        return send(wrk, prefix, base_url, load, seconds)


def run_wrk(
    wrk: str,
    base_url: str,
    db_url: str,
    devices: list[dict[str, Any]],
    load: Load,
    *,
    seconds: float,
    warmup: float,
    cycle: bool = False,
    max_rate: int = MAX_RATE,
) -> Run:
    """A warm-up invocation, then the measured one; rows counted before and after both.

    wrk takes whole seconds. It stops at its deadline with up to one request per connection
    unanswered (each sends one at a time): the server may have committed those, so the check is
    stored acks <= new rows <= stored acks + the pings of those requests.
    """
    before = count_pings(db_url)
    warm = _wrk(wrk, base_url, devices, load, max(1, round(warmup)), cycle, max_rate)
    meas = _wrk(wrk, base_url, devices, load, max(1, round(seconds)), cycle, max_rate)
    after = count_pings(db_url)
    both = [warm, meas]
    errors = sum(
        r["bad_status"] + r["connect"] + r["read"] + r["write"] + r["timeout"] for r in both
    )
    wrapped = sum(r["wrapped"] for r in both)
    failures = [
        f"{r['bad_status']} answers other than 200/207/422" for r in both if r["bad_status"]
    ]
    if wrapped and not cycle:
        errors += wrapped
        failures.append(f"pre-signed requests ran out {wrapped} time(s): raise MAX_RATE")
    return Run(
        rate=meas["stored"] / (meas["duration_us"] / 1e6),
        stored_total=sum(r["stored"] for r in both),
        new_rows=after - before,
        errors=errors,
        rejected=sum(r["rejected"] for r in both),
        failures=failures,
        # wrk's own count also holds requests it made ready but never wrote: bounded here.
        unanswered=sum(min(r["sent"] - r["answered"], load.connections) for r in both) * load.frame,
        generator=f"wrk, {max(1, min(load.processes, load.connections))} thread(s)",
    )
