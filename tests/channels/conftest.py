"""Channel tests: the server configured for every channel, its providers faked locally."""

from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session

from backend.authority import SERVER
from backend.channels.service import link
from backend.config import Settings
from tests.channels.fakes import FakeProvider, start_fake
from tests.factories import NOW, MiniRegistry

WA_SECRET = "wa-app-secret"
WA_VERIFY = "wa-verify-token"
TG_SECRET = "tg-secret_token-1"
TG_TOKEN = "123456:ABC-test"
SMSGATE_KEY = "smsgate-signing-key"
SMSSYNC_SECRET = "smssync-secret"
PHONE = "6281234567890"  # officer 0 (WhatsApp and SMS)
TELEGRAM_CHAT = 38057730  # officer 0


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    """A local fake of the providers' APIs."""
    provider, httpd = start_fake()
    yield provider
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def settings(settings: Settings, fake: FakeProvider) -> Settings:
    """Every channel configured, every provider URL on the fake, quick retries."""
    return settings.model_copy(
        update={
            "whatsapp_verify_token": SecretStr(WA_VERIFY),
            "whatsapp_app_secret": SecretStr(WA_SECRET),
            "whatsapp_access_token": SecretStr("wa-access"),
            "whatsapp_phone_number_id": "106540352242922",
            "whatsapp_graph_url": fake.url + "/v21.0",
            "whatsapp_template": "posko_balasan",
            "telegram_bot_token": SecretStr(TG_TOKEN),
            "telegram_secret_token": SecretStr(TG_SECRET),
            "telegram_api_url": fake.url,
            "smsgate_signing_key": SecretStr(SMSGATE_KEY),
            "smsgate_url": fake.url + "/smsgate",
            "smsgate_username": "sms",
            "smsgate_password": SecretStr("gatepass"),
            "smssync_secret": SecretStr(SMSSYNC_SECRET),
            "channel_backoff_s": 0.05,
            "channel_backoff_max_s": 0.2,
            "channel_max_attempts": 3,
        }
    )


@pytest.fixture
def linked(engine: Engine, mini: MiniRegistry) -> MiniRegistry:
    """Officer 0 reachable by phone (WhatsApp, SMS) and Telegram, bound by the admin."""
    with Session(engine) as s:
        for kind, address in (("phone", PHONE), ("telegram", str(TELEGRAM_CHAT))):
            link(
                session=s,
                authority=SERVER,
                actor="test:admin",
                now=NOW,
                nrp=mini.officer_nrps[0],
                kind=kind,
                address=address,
            )
    return mini
