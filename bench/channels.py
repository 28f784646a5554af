"""Intake through each chat/SMS webhook, beside the plain webhook in the same run.

    python -m bench.channels [--quick]

One `posko serve` process on a fresh SQLite file holding the mini registry, every channel
configured, its providers faked by a local HTTP server that takes the replies. One officer is
bound to a phone number and a Telegram chat. For each channel, 20 concurrent clients send
distinct signed messages (`TPS 3 COBLOS AMAN`, each a stored ping and an outbox reply); the
baseline is the plain webhook `POST /api/v1/pings` (one ping per request, Bearer device token)
at the same concurrency. Windows alternate (plain, channel, plain, ...), so load from elsewhere
on the shared machine hits both; each figure is the median of its windows.
After the run, the pings the database gained are compared with the "stored" answers.

What a channel message costs beyond a plain ping: the signature, a look-up of the message id
and the sender's TPS, the grammar, and a second transaction recording the message with its
reply; the reply itself goes out later (the fake provider), on the same event loop.
"""

import argparse
import asyncio
import itertools
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
from sqlalchemy import text
from sqlmodel import Session

from backend.authority import SERVER
from backend.channels import samples
from backend.channels.service import link
from backend.config import Settings
from backend.db import make_engine
from backend.migrate import upgrade
from bench.figures import Figure
from bench.load import posko_server
from tests.channels.fakes import start_fake
from tests.conftest import TEST_SECRET
from tests.factories import NOW, device_token, seed_mini

SUITE = "channels"
CLIENTS = 20
PHONE = "6281234567890"
CHAT = 38057730
BASELINE = "plain webhook POST /api/v1/pings, one ping a request (same run, same clients)"
TARGET_RATIO = 0.2
TARGET_RATE = 100.0  # messages/s: 298 officers sending one a minute is 5/s
TARGET = f"≥ {TARGET_RATIO} x plain webhook and ≥ {TARGET_RATE:.0f}/s"
CHANNELS = ("whatsapp", "telegram", "smsgate", "smssync")

Build = Callable[[int], tuple[str, bytes, dict[str, str]]]


def _env(fake_url: str) -> dict[str, str]:
    """The channels' settings of the server, as `posko serve` reads them."""
    return {
        "POSKO_WHATSAPP_APP_SECRET": "bench-wa",
        "POSKO_WHATSAPP_ACCESS_TOKEN": "bench-wa-access",
        "POSKO_WHATSAPP_PHONE_NUMBER_ID": "1065",
        "POSKO_WHATSAPP_GRAPH_URL": fake_url + "/v21.0",
        "POSKO_TELEGRAM_BOT_TOKEN": "1:bench",
        "POSKO_TELEGRAM_SECRET_TOKEN": "bench-tg",
        "POSKO_TELEGRAM_API_URL": fake_url,
        "POSKO_SMSGATE_SIGNING_KEY": "bench-smsgate",
        "POSKO_SMSGATE_URL": fake_url + "/smsgate",
        "POSKO_SMSSYNC_SECRET": "bench-smssync",
    }


def _settings(db: Path, env: dict[str, str]) -> Settings:
    """The same settings in this process (to sign the samples and seed the database)."""
    values = {k.removeprefix("POSKO_").lower(): v for k, v in env.items()}
    # model_validate: the values given, nothing read from this process's environment.
    return Settings.model_validate(
        {"database_url": f"sqlite:///{db}", "secret_key": TEST_SECRET, **values}
    )


def _builders(settings: Settings, token: str, tps: str) -> dict[str, Build]:
    message = "TPS 3 COBLOS AMAN"

    def plain(n: int) -> tuple[str, bytes, dict[str, str]]:
        body = orjson.dumps(
            {
                "type": "ping",
                "event_id": str(uuid.uuid4()),
                "tps": tps,
                "phase": "pemungutan",
                "situation": "aman",
                "device_time": datetime.now(UTC).isoformat(),
            }
        )
        headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
        return "/api/v1/pings", body, headers

    def of(sample: samples.Sample) -> tuple[str, bytes, dict[str, str]]:
        return sample.path, sample.body, sample.headers

    return {
        "plain": plain,
        "whatsapp": lambda n: of(samples.whatsapp(settings, f"wamid.b{n}", PHONE, message)),
        "telegram": lambda n: of(samples.telegram(settings, n, CHAT, message)),
        "smsgate": lambda n: of(samples.smsgate(settings, f"ev{n}", PHONE, message)),
        "smssync": lambda n: of(samples.smssync(settings, f"m{n}", PHONE, message)),
    }


async def _window(
    url: str, build: Build, counter: itertools.count, seconds: float
) -> tuple[int, int]:
    """Messages answered 200 (and how many said stored) by CLIENTS clients within `seconds`."""
    done = stored = 0
    deadline = time.monotonic() + seconds

    async def client(c: httpx.AsyncClient) -> None:
        nonlocal done, stored
        while time.monotonic() < deadline:
            path, body, headers = build(next(counter))
            r = await c.post(url + path, content=body, headers=headers)
            if r.status_code != 200:
                raise RuntimeError(f"{path}: {r.status_code} {r.text[:200]}")
            done += 1
            stored += b"stored" in r.content

    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(limits=limits, timeout=30) as c:
        t0 = time.monotonic()
        await asyncio.gather(*(client(c) for _ in range(CLIENTS)))
        elapsed = time.monotonic() - t0
    return round(done / elapsed * seconds), stored


def measure(quick: bool) -> dict[str, list[float]]:
    """Rates per shape (messages/s per window), and the durability check's note."""
    seconds, runs = (2.0, 1) if quick else (6.0, 3)
    fake, httpd = start_fake()
    with tempfile.TemporaryDirectory(prefix="posko-bench-channels-") as tmp:
        env = _env(fake.url)
        settings = _settings(Path(tmp) / "posko.db", env)
        engine = make_engine(settings)
        upgrade(engine)
        mini = seed_mini(engine)
        with Session(engine) as s:
            for kind, address in (("phone", PHONE), ("telegram", str(CHAT))):
                link(
                    session=s,
                    authority=SERVER,
                    actor="bench",
                    now=NOW,
                    nrp=mini.officer_nrps[0],
                    kind=kind,
                    address=address,
                )
        token = device_token(engine, mini.officer_ids[0])
        builders = _builders(settings, token, mini.tps_codes[2])
        rates: dict[str, list[float]] = {k: [] for k in builders}
        stored_total = 0
        counter = itertools.count(1)
        with posko_server(settings.database_url, Path(tmp), **env) as node:
            asyncio.run(_window(node.url, builders["plain"], counter, 0.5))  # warm up
            for _ in range(runs):
                for channel in CHANNELS:
                    for shape in ("plain", channel):
                        n, stored = asyncio.run(
                            _window(node.url, builders[shape], counter, seconds)
                        )
                        rates[shape].append(n / seconds)
                        stored_total += stored
        with engine.connect() as c:
            pings = int(c.execute(text("SELECT count(*) FROM ping")).scalar_one())
        engine.dispose()
    httpd.shutdown()
    httpd.server_close()
    rates["_check"] = [float(pings), float(stored_total)]
    return rates


def figures_from(rates: dict[str, list[float]]) -> list[Figure]:
    """One figure per channel, the plain webhook's median as its baseline."""
    pings, stored = rates["_check"]
    plain = statistics.median(rates["plain"])
    # The warm-up's pings are stored too and not counted in `stored`: at most a window's worth.
    check = "durability check: pings gained ≥ stored answers" + (
        "" if pings >= stored else " CHECK FAILED"
    )
    out = []
    for channel in CHANNELS:
        value = statistics.median(rates[channel])
        out.append(
            Figure(
                suite=SUITE,
                name=f"{channel} webhook, {CLIENTS} clients, SQLite",
                value=round(value, 1),
                unit="messages/s",
                baseline=BASELINE,
                baseline_value=round(plain, 1),
                target=TARGET,
                met=value >= TARGET_RATIO * plain and value >= TARGET_RATE,
                note=f"median of {len(rates[channel])} window(s); {check}",
            )
        )
    return out


def run(quick: bool) -> list[Figure]:
    """Measure intake through each webhook channel."""
    return figures_from(measure(quick))


def main() -> None:
    """Print this suite's figures."""
    parser = argparse.ArgumentParser(description="Intake through each chat/SMS webhook.")
    parser.add_argument("--quick", action="store_true", help="one window of 2 s per shape")
    args = parser.parse_args()
    for f in run(args.quick):
        met = "" if f.met is None else (" met" if f.met else " MISSED")
        print(f"{f.name}: {f.value:g} {f.unit} (plain {f.baseline_value:g}){met} — {f.note}")


if __name__ == "__main__":
    main()
