"""Prometheus counters of the chat and SMS channels, per channel (served at /metrics)."""

from prometheus_client import Counter

from backend.metrics import METRICS

CHANNELS = ("whatsapp", "telegram", "smsgate", "smssync")

MESSAGES = Counter(
    "posko_channel_messages",
    "Chat/SMS messages by channel and result: received, then one of stored, duplicate, "
    "refused (not understood, unknown sender, tallies), answered (help, status), location, "
    "ignored (delivery statuses, edits)",
    ["channel", "result"],
    registry=METRICS.registry,
)
REPLIES = Counter(
    "posko_channel_replies",
    "Replies by channel: sent, failed (an attempt), given_up (after the last attempt)",
    ["channel", "result"],
    registry=METRICS.registry,
)
for _c in CHANNELS:  # every series from the start, so a rate() has its zero
    for _r in ("received", "stored", "duplicate", "refused", "answered", "location", "ignored"):
        MESSAGES.labels(_c, _r)
    for _r in ("sent", "failed", "given_up"):
        REPLIES.labels(_c, _r)
