"""Requests as each provider sends them, signed with this server's settings.

`posko channels test` sends them to the server's own routes to check a setup end to end, and
the bench drives the channels with them. A request with a sender and text is a real message;
without, it is a delivery the channel must take and ignore, which checks only the signature.
"""

import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import orjson

from backend.config import Settings

PATHS = {
    "whatsapp": "/api/v1/channels/whatsapp",
    "telegram": "/api/v1/channels/telegram",
    "smsgate": "/api/v1/channels/smsgate",
    "smssync": "/api/v1/channels/smssync",
}


@dataclass(frozen=True, slots=True)
class Sample:
    """One request: where, its exact body, its headers."""

    channel: str
    path: str
    body: bytes
    headers: dict[str, str]


def configured(settings: Settings) -> dict[str, str | None]:
    """Each channel: None when configured, else the setting it lacks."""
    return {
        "whatsapp": None if settings.whatsapp_app_secret else "POSKO_WHATSAPP_APP_SECRET",
        "telegram": None if settings.telegram_secret_token else "POSKO_TELEGRAM_SECRET_TOKEN",
        "smsgate": None if settings.smsgate_signing_key else "POSKO_SMSGATE_SIGNING_KEY",
        "smssync": None if settings.smssync_secret else "POSKO_SMSSYNC_SECRET",
    }


def whatsapp(settings: Settings, key: str, sender: str | None, text: str) -> Sample:
    """A Cloud API delivery: one text message, or (no sender) one delivery status."""
    assert settings.whatsapp_app_secret is not None
    value: dict[str, object] = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": settings.whatsapp_phone_number_id or "0"},
    }
    now = str(int(time.time()))
    if sender:
        value["messages"] = [
            {"from": sender, "id": key, "timestamp": now, "type": "text", "text": {"body": text}}
        ]
    else:
        value["statuses"] = [{"id": key, "status": "delivered", "timestamp": now}]
    body = orjson.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "0", "changes": [{"field": "messages", "value": value}]}],
        }
    )
    secret = settings.whatsapp_app_secret.get_secret_value().encode()
    sig = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    headers = {"content-type": "application/json", "x-hub-signature-256": sig}
    return Sample("whatsapp", PATHS["whatsapp"], body, headers)


def telegram(settings: Settings, update_id: int, chat: int | None, text: str) -> Sample:
    """A Bot API update: a private text message, or (no chat) an update with nothing in it."""
    assert settings.telegram_secret_token is not None
    update: dict[str, object] = {"update_id": update_id}
    if chat is not None:
        update["message"] = {
            "message_id": update_id % 100_000,
            "date": int(time.time()),
            "from": {"id": chat, "is_bot": False, "first_name": "Posko test"},
            "chat": {"id": chat, "type": "private"},
            "text": text,
        }
    headers = {
        "content-type": "application/json",
        "x-telegram-bot-api-secret-token": settings.telegram_secret_token.get_secret_value(),
    }
    return Sample("telegram", PATHS["telegram"], orjson.dumps(update), headers)


def smsgate(settings: Settings, key: str, sender: str | None, text: str) -> Sample:
    """An SMSGate webhook call: sms:received, or (no sender) a system:ping event."""
    assert settings.smsgate_signing_key is not None
    event: dict[str, object] = {
        "deviceId": "posko-test",
        "event": "sms:received" if sender else "system:ping",
        "id": key,
        "webhookId": "posko-test",
        "payload": {
            "messageId": key[:8],
            "message": text,
            "phoneNumber": f"+{sender}",
            "receivedAt": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        }
        if sender
        else {"health": "pass"},
    }
    body = orjson.dumps(event)
    ts = str(int(time.time()))
    key_bytes = settings.smsgate_signing_key.get_secret_value().encode()
    sig = hmac.new(key_bytes, body + ts.encode(), hashlib.sha256).hexdigest()
    headers = {"content-type": "application/json", "x-signature": sig, "x-timestamp": ts}
    return Sample("smsgate", PATHS["smsgate"], body, headers)


def smssync(settings: Settings, key: str, sender: str | None, text: str) -> Sample:
    """An SMSSync form post (with no sender: no message, so only the secret is checked)."""
    assert settings.smssync_secret is not None
    form = {"secret": settings.smssync_secret.get_secret_value(), "message_id": key}
    if sender:
        form |= {
            "from": f"+{sender}",
            "message": text,
            "sent_timestamp": str(time.time_ns() // 10**6),
        }
    headers = {"content-type": "application/x-www-form-urlencoded"}
    return Sample("smssync", PATHS["smssync"], urlencode(form).encode(), headers)
