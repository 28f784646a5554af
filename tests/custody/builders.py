"""A custody step as a device sends it."""

from datetime import datetime, timedelta
from typing import Any

from tests.factories import NOW
from tests.helpers import uuid7

_DEFAULTS: dict[str, dict[str, Any]] = {
    "segel": {"seal_numbers": ["SGL-0001", "SGL-0002"]},
    "berangkat": {"vehicle": "BG 1234 XY", "escort_nrps": ["85010001"]},
    "tiba": {},
    "serah_terima": {"ba_number": "BA-PPK/017", "receiver_name": "Hj. Siti Aminah"},
}


def custody(
    tps: str, step: str = "segel", *, at: datetime = NOW, minutes: float = 0, **extra: Any
) -> dict[str, Any]:
    """A valid custody step (override or drop fields with `extra`; None drops a field)."""
    body: dict[str, Any] = {
        "type": "custody",
        "event_id": str(uuid7()),
        "tps": tps,
        "step": step,
        "device_time": (at + timedelta(minutes=minutes)).isoformat(),
        **_DEFAULTS.get(step, {}),
        **extra,
    }
    return {k: v for k, v in body.items() if v is not None}
