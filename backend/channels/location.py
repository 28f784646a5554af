"""Where a chat location goes: one function the positions service is connected to.

WhatsApp location messages and Telegram shared and live locations are an officer's fix, not a
TPS ping. The positions table belongs to the tracker channels; until it is connected, a fix is
handed to whatever `set_sink` installed (nothing by default: it is counted, then dropped).
"""

import logging
from collections.abc import Callable
from datetime import datetime

log = logging.getLogger("posko.channels")

Sink = Callable[[int, float, float, datetime, str], None]
_sink: Sink | None = None


def set_sink(sink: Sink | None) -> None:
    """Install the function that stores an officer's fix (the positions service)."""
    global _sink
    _sink = sink


def on_location(officer_id: int, lat: float, lon: float, at: datetime, source: str) -> None:
    """Hand one officer's fix (degrees, provider time, channel name) to the positions service."""
    if _sink is None:
        log.debug("fix of officer %d from %s not kept: no positions service", officer_id, source)
        return
    _sink(officer_id, lat, lon, at, source)
