"""Whatever a provider (or someone holding its secret) sends, correctly signed: a 4xx or a 200,
never a server error; everything stays answerable afterwards."""

import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.channels.conftest import SMSGATE_KEY, SMSSYNC_SECRET, TG_SECRET, WA_SECRET
from tests.conftest import LiveServer
from tests.factories import MiniRegistry

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["\x00", "wamid.\x00x", "9" * 40, "sms:received", "text", "location"])
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)
PROVIDER_KEYS = st.sampled_from(
    [
        "entry",
        "changes",
        "value",
        "messages",
        "statuses",
        "from",
        "id",
        "timestamp",
        "type",
        "text",
        "body",
        "location",
        "latitude",
        "longitude",
        "update_id",
        "message",
        "edited_message",
        "chat",
        "date",
        "edit_date",
        "event",
        "payload",
        "phoneNumber",
        "receivedAt",
        "field",
    ]
)
SHAPED = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(PROVIDER_KEYS, inner, max_size=6),
    max_leaves=30,
)


def signed(channel: str, body: bytes) -> dict[str, str]:
    """The headers that make `body` authentic for `channel`."""
    if channel == "whatsapp":
        sig = "sha256=" + hmac.new(WA_SECRET.encode(), body, hashlib.sha256).hexdigest()
        return {"x-hub-signature-256": sig}
    if channel == "telegram":
        return {"x-telegram-bot-api-secret-token": TG_SECRET}
    ts = str(int(time.time()))
    sig = hmac.new(SMSGATE_KEY.encode(), body + ts.encode(), hashlib.sha256).hexdigest()
    return {"x-signature": sig, "x-timestamp": ts}


@pytest.mark.parametrize("channel", ["whatsapp", "telegram", "smsgate"])
def test_fuzzed_signed_bodies_are_answered_never_a_server_error(
    server: LiveServer, linked: MiniRegistry, channel: str
) -> None:
    seen: list[int] = []

    @hsettings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=SHAPED | JSON)
    def check(data: Any) -> None:
        body = json.dumps(data).encode()
        headers = {"content-type": "application/json", **signed(channel, body)}
        r = httpx.post(f"{server.url}/api/v1/channels/{channel}", content=body, headers=headers)
        assert r.status_code < 500, (r.status_code, r.text, data)
        seen.append(r.status_code)

    check()
    assert 200 in seen
    assert httpx.get(server.url + "/healthz").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"object": "x", "entry": 5},
        {"entry": [{"changes": [{"field": "messages", "value": {"messages": 7}}]}]},
        {
            "entry": [
                {
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messages": [
                                    {"from": "6281234567890", "id": "wamid.\u0000", "type": "text"},
                                    {
                                        "from": "6281234567890",
                                        "id": "wamid.ok",
                                        "timestamp": "99999999999",
                                        "type": "text",
                                        "text": {"body": "TPS 3 coblos aman \u0000"},
                                    },
                                ]
                            },
                        }
                    ]
                }
            ]
        },
    ],
)
def test_odd_whatsapp_shapes_are_answered(
    server: LiveServer, linked: MiniRegistry, body: dict
) -> None:
    raw = json.dumps(body).encode()
    r = httpx.post(
        server.url + "/api/v1/channels/whatsapp",
        content=raw,
        headers={"content-type": "application/json", **signed("whatsapp", raw)},
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "form",
    [
        {"secret": SMSSYNC_SECRET},
        {"secret": SMSSYNC_SECRET, "from": "+6281234567890", "message": "x", "message_id": "\x00"},
        {
            "secret": SMSSYNC_SECRET,
            "from": "+6281234567890",
            "message": "TPS 3 aman \x00",
            "message_id": "m-1",
            "sent_timestamp": "9" * 15,
        },
    ],
)
def test_odd_smssync_forms_are_answered(
    server: LiveServer, linked: MiniRegistry, form: dict
) -> None:
    r = httpx.post(server.url + "/api/v1/channels/smssync", data=form)
    assert r.status_code in (200, 422), r.text
