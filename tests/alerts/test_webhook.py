"""The alert webhook: signed, retried with backoff and jitter from the outbox, never blocking."""

import hashlib
import hmac
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest
import time_machine
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from backend.alerts.models import AlertOutbox
from backend.alerts.rules import Desired
from backend.alerts.service import apply_desired
from backend.alerts.webhook import OutboxSender, backoff_s
from backend.config import Settings
from schemas.ops import AlertKind, AlertSeverity, AlertSubjectKind
from tests.conftest import start_server
from tests.factories import MiniRegistry, device_token
from tests.helpers import field_socket, incident, send
from tests.ops.harness import wib

SECRET = "webhook-test-secret"


@dataclass
class Receiver:
    """A local HTTP endpoint that answers 500 `fail_first` times, then 200."""

    fail_first: int
    hold: threading.Event = field(default_factory=threading.Event)
    got: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)
    url: str = ""

    def verify(self, headers: dict[str, str], body: bytes) -> bool:
        ts = headers["x-posko-timestamp"]
        mac = hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(headers["x-posko-signature"], "sha256=" + mac)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver(fail_first=3)
    rec.hold.set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            rec.hold.wait(timeout=30)
            code = 500 if len(rec.got) < rec.fail_first else 200
            rec.got.append(({k.lower(): v for k, v in self.headers.items()}, body, code))
            self.send_response(code)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    rec.url = f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    yield rec
    rec.hold.set()
    httpd.shutdown()
    httpd.server_close()


def _hooked(settings: Settings, url: str, **kw: object) -> Settings:
    return settings.model_copy(
        update={"alert_webhook_url": url, "alert_webhook_secret": SECRET, **kw}
    )


def _raise_and_clear(engine: Engine, code: str) -> None:
    d = Desired(
        kind=AlertKind.TPS_NOT_VISITED,
        subject_kind=AlertSubjectKind.TPS,
        subject=code,
        severity=AlertSeverity.WARNING,
        kabupaten_code="16.08",
    )
    with Session(engine) as s:
        apply_desired(session=s, desired={d.key: d}, now=wib(27, "10:00"), webhook=True)
    with Session(engine) as s:
        apply_desired(session=s, desired={}, now=wib(27, "10:05"), webhook=True)


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    import random

    rng = random.Random(1)
    for n, ceiling in [(1, 2), (2, 4), (3, 8), (4, 16), (12, 600)]:
        delays = [backoff_s(n, base=2, cap=600, rng=rng) for _ in range(200)]
        assert ceiling / 2 <= min(delays) and max(delays) <= ceiling
        assert len({round(d, 6) for d in delays}) > 100  # jittered, not lock-step


async def test_outbox_retries_a_failing_receiver_then_delivers_signed_and_in_order(
    engine: Engine, settings: Settings, mini: MiniRegistry, receiver: Receiver
) -> None:
    hooked = _hooked(settings, receiver.url)
    _raise_and_clear(engine, mini.tps_codes[0])
    sender = OutboxSender(engine, hooked)  # not started: the test drives its passes
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False) as clock:
        for attempt in range(1, 5):
            assert await sender.send_due() == (1 if attempt == 4 else 0)
            with Session(engine) as s:
                first = s.exec(select(AlertOutbox).order_by(col(AlertOutbox.id))).first()
            assert first is not None and first.attempts == attempt
            if attempt < 4:
                wait = (first.next_attempt_at - datetime.now(UTC)).total_seconds()
                ceiling = hooked.webhook_backoff_s * 2 ** (attempt - 1)
                assert ceiling / 2 <= wait <= ceiling  # exponential, jittered
                assert await sender.send_due() == 0  # not due yet: nothing is sent early
                clock.shift(timedelta(seconds=wait))
        assert await sender.send_due() == 1  # then the "cleared" that waited behind it
    await sender.stop()
    bodies = [(orjson.loads(b)["event"], code) for _, b, code in receiver.got]
    assert bodies == [("raised", 500)] * 3 + [("raised", 200), ("cleared", 200)]
    for headers, body, _ in receiver.got:
        assert receiver.verify(headers, body)
        assert headers["x-posko-event"] in ("raised", "cleared")
    alert = orjson.loads(receiver.got[0][1])["alert"]
    assert (alert["kind"], alert["subject"]) == ("tps_not_visited", mini.tps_codes[0])


async def test_a_receiver_that_never_recovers_is_given_up_after_the_last_attempt(
    engine: Engine, settings: Settings, mini: MiniRegistry, receiver: Receiver
) -> None:
    receiver.fail_first = 99
    hooked = _hooked(settings, receiver.url, webhook_max_attempts=3)
    _raise_and_clear(engine, mini.tps_codes[0])
    sender = OutboxSender(engine, hooked)
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        for _ in range(3):
            await sender.send_due()
            clock.shift(timedelta(minutes=10))
    await sender.stop()
    with Session(engine) as s:
        first = s.exec(select(AlertOutbox).order_by(col(AlertOutbox.id))).first()
    assert first is not None and first.failed_at is not None and first.attempts == 3
    assert first.last_error == "HTTP 500"


def test_server_pages_a_severe_incident_through_a_flaky_receiver_without_blocking_intake(
    settings: Settings, engine: Engine, mini: MiniRegistry, receiver: Receiver
) -> None:
    receiver.hold.clear()  # the receiver hangs until released
    hooked = _hooked(
        settings,
        receiver.url,
        clock_start=wib(27, "08:00"),
        sweep_interval_s=0.05,
        webhook_backoff_s=0.05,
        webhook_timeout_s=10.0,
    )
    server = start_server(hooked)
    try:
        phone = device_token(engine, mini.officer_ids[0])
        riot = incident(mini.tps_codes[0], severity=4)
        with field_socket(server.ws_url, phone) as ws:
            assert send(ws, riot)["result"] == "stored"
            # The webhook is stuck on a receiver that hangs: intake still acks at once.
            for i in range(20):
                more = incident(mini.tps_codes[0], severity=4, minutes=i)
                assert send(ws, more)["result"] == "stored"
        assert len(receiver.got) == 0  # nothing answered yet: the sender is the one waiting
        receiver.hold.set()

        def paged() -> list[dict[str, object]]:
            return [
                orjson.loads(b)
                for _, b, code in list(receiver.got)
                if code == 200 and b'"incident_severe"' in b
            ]

        deadline = datetime.now(UTC) + timedelta(seconds=20)
        while not paged() and datetime.now(UTC) < deadline:
            threading.Event().wait(0.05)
        (severe,) = paged()
        assert severe["event"] == "raised"
        assert [code for _, _, code in receiver.got][:3] == [500, 500, 500]
        assert all(receiver.verify(h, b) for h, b, _ in receiver.got)
    finally:
        receiver.hold.set()
        server.stop()
