"""`posko channels test`: a sample through each configured channel's real route, and its fate."""

import pytest
from typer.testing import CliRunner

from backend.cli import app
from backend.config import Settings
from tests.channels.conftest import (
    PHONE,
    SMSGATE_KEY,
    SMSSYNC_SECRET,
    TELEGRAM_CHAT,
    TG_SECRET,
    TG_TOKEN,
    WA_SECRET,
)
from tests.channels.fakes import FakeProvider
from tests.conftest import TEST_SECRET, LiveServer
from tests.factories import MiniRegistry


@pytest.fixture
def same_env(monkeypatch: pytest.MonkeyPatch, fake: FakeProvider) -> None:
    """The command reads the server's settings from the environment, as on the post's machine."""
    for name, value in {
        "SECRET_KEY": TEST_SECRET,
        "WHATSAPP_APP_SECRET": WA_SECRET,
        "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
        "TELEGRAM_SECRET_TOKEN": TG_SECRET,
        "TELEGRAM_BOT_TOKEN": TG_TOKEN,
        "SMSGATE_SIGNING_KEY": SMSGATE_KEY,
        "SMSSYNC_SECRET": SMSSYNC_SECRET,
    }.items():
        monkeypatch.setenv(f"POSKO_{name}", value)


def test_channels_test_shows_each_reply_sent(
    server: LiveServer, settings: Settings, linked: MiniRegistry, fake: FakeProvider, same_env: None
) -> None:
    args = ["channels", "test", "--url", server.url, "--database-url", settings.database_url]
    r = CliRunner().invoke(app, [*args, "--phone", "+" + PHONE, "--telegram", str(TELEGRAM_CHAT)])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    for channel in ("whatsapp", "telegram", "smsgate"):
        at = next(i for i, line in enumerate(lines) if line.startswith(channel))
        assert "-> 200" in lines[at], r.output
        assert "reply sent" in lines[at + 1], r.output
    assert "reply handed to SMSSync" in r.output
    assert len(fake.sent("/smsgate/message")) == 3  # BANTUAN: three SMS


def test_channels_test_without_senders_checks_the_signatures(
    server: LiveServer, settings: Settings, mini: MiniRegistry, same_env: None
) -> None:
    args = ["channels", "test", "--url", server.url, "--database-url", settings.database_url]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert r.output.count("signature/secret accepted") == 4


def test_channels_test_fails_on_a_wrong_secret(
    server: LiveServer,
    settings: Settings,
    mini: MiniRegistry,
    same_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POSKO_SMSGATE_SIGNING_KEY", "not-the-servers-key")
    args = ["channels", "test", "--url", server.url, "--database-url", settings.database_url]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 1
    assert "smsgate   POST /api/v1/channels/smsgate -> 401" in r.output
