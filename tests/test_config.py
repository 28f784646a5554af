"""Settings: the placeholder secret is refused in production and said out loud in local mode."""

import logging

import httpx
import pytest
from pydantic import ValidationError

from backend.config import PLACEHOLDER_SECRET, Settings
from tests.conftest import start_server


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "POSKO_SECRET_KEY" in r.getMessage()
    ]


def test_production_refuses_the_placeholder_secret() -> None:
    with pytest.raises(ValidationError, match="POSKO_SECRET_KEY must be set"):
        Settings(_env_file=None, environment="production", secret_key=PLACEHOLDER_SECRET)  # type: ignore[call-arg]


def test_local_mode_warns_of_the_placeholder_secret_at_every_start_and_on_health(
    settings: Settings, viewer: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "posko")
    insecure = settings.model_copy(update={"secret_key": PLACEHOLDER_SECRET})
    for start in (1, 2):
        srv = start_server(insecure)
        try:
            health = httpx.get(srv.url + "/healthz", timeout=10).json()
            platform = httpx.get(
                srv.url + "/api/v1/platform",
                headers={"Authorization": f"Bearer {viewer}"},
                timeout=10,
            ).json()
        finally:
            srv.stop()
        assert len(_warnings(caplog)) == start  # once per start, every start
        assert health["insecure"] == ["placeholder secret"]
        assert health["status"] == "ok"  # up and serving, only not fit for real use
        assert platform["insecure"] == ["placeholder secret"]
    assert "forge" in _warnings(caplog)[0]


def test_a_real_secret_is_neither_warned_of_nor_flagged(
    settings: Settings, viewer: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "posko")
    srv = start_server(settings)
    try:
        health = httpx.get(srv.url + "/healthz", timeout=10).json()
        platform = httpx.get(
            srv.url + "/api/v1/platform",
            headers={"Authorization": f"Bearer {viewer}"},
            timeout=10,
        ).json()
    finally:
        srv.stop()
    assert _warnings(caplog) == []
    assert health["insecure"] == [] and platform["insecure"] == []
