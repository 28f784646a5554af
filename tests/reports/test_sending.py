"""A signed report goes to the Polda: the signed webhook and chat recipients, to real receivers."""

import hashlib
import hmac
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session

from backend.alerts.webhook import OutboxSender
from backend.channels.outbox import ReplySender
from backend.config import Settings
from backend.reports.service import create_draft, sign
from schemas.reports import ReportKind
from tests.ops.harness import wib
from tests.reports.conftest import Morning

SECRET = "report-webhook-secret"


@dataclass
class Receiver:
    """A local HTTP endpoint that keeps what it got (path, headers, body) and answers 200."""

    got: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            rec.got.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            answer = b'{"ok": true}'
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    rec.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield rec
    httpd.shutdown()
    httpd.server_close()


def _sign(engine: Engine, settings: Settings) -> tuple[int, str]:
    with Session(engine) as s:
        r = create_draft(
            session=s,
            area="16.08",
            kind=ReportKind.HOURLY,
            period_start=wib(27, "07:00"),
            period_end=wib(27, "08:00"),
            now=wib(27, "08:00"),
            settings=settings,
            actor="test",
        )
        assert r.id is not None
        r = sign(
            session=s,
            report_id=r.id,
            name="Kapolres",
            rank="AKBP",
            nrp="76050123",
            now=wib(27, "08:05"),
            actor="test",
            settings=settings,
        )
        assert r.id is not None and r.content_sha256 is not None
        return r.id, r.content_sha256


async def test_a_signed_report_goes_out_by_the_signed_webhook_and_telegram(
    engine: Engine, settings: Settings, morning: Morning, receiver: Receiver
) -> None:
    sending = settings.model_copy(
        update={
            "alert_webhook_url": receiver.url + "/polda",
            "alert_webhook_secret": SECRET,
            "report_recipients": ["webhook", "telegram:-100200300"],
            "telegram_bot_token": SecretStr("123:abc"),
            "telegram_api_url": receiver.url,
        }
    )
    rid, sha = _sign(engine, sending)
    hook = OutboxSender(engine, sending)
    chat = ReplySender(engine, sending)
    try:
        assert await hook.send_due() == 1
        assert await chat.send_due() == 1
        assert await hook.send_due() == 0  # delivered once
    finally:
        await hook.stop()
        await chat.stop()
    by_path = {path: (headers, body) for path, headers, body in receiver.got}
    headers, body = by_path["/polda"]
    assert headers["x-posko-event"] == "report"
    mac = hmac.new(
        SECRET.encode(), headers["x-posko-timestamp"].encode() + b"." + body, hashlib.sha256
    )
    assert headers["x-posko-signature"] == "sha256=" + mac.hexdigest()
    sent = orjson.loads(body)["report"]
    assert (sent["id"], sent["status"], sent["content_sha256"]) == (rid, "signed", sha)
    assert sent["content"]["kabupaten"]["tps_total"] == 12
    _, tg = by_path["/bot123:abc/sendMessage"]
    message = orjson.loads(tg)
    assert message["chat_id"] == -100200300
    assert message["text"].startswith(
        "LAPSIT Ogan Komering Ulu Timur 27-11 07:00-27-11 08:00 WIB v1"
    )
    assert sha in message["text"]


def test_nothing_is_queued_without_recipients(
    engine: Engine, settings: Settings, morning: Morning
) -> None:
    from sqlalchemy import text

    _sign(engine, settings.model_copy(update={"report_recipients": []}))
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM alert_outbox")).scalar() == 0
        assert c.execute(text("SELECT count(*) FROM channel_outbox")).scalar() == 0


def test_erasing_the_election_data_erases_its_reports_and_the_chain_still_verifies(
    engine: Engine, settings: Settings, morning: Morning
) -> None:
    from sqlalchemy import text

    from backend.audit.service import verify
    from backend.registry.build import build_registry
    from backend.registry.service import write_registry

    _sign(engine, settings.model_copy(update={"report_recipients": []}))
    with Session(engine) as s:
        write_registry(session=s, registry=build_registry(seed=7), erase_election_data=True)
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM situation_report")).scalar() == 0
    with Session(engine) as s:
        assert verify(session=s).ok
