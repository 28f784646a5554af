"""What load processes need to make pings, importing nothing heavy (they start in a second)."""

import os
import time
import uuid

from schemas.enums import Phase, Situation

PHASES = [p.value for p in Phase if p is not Phase.DITUNDA]
SITUATIONS = [s.value for s in Situation]


def uuid7(ms: int | None = None) -> str:
    """Time-ordered event id, as phones make them."""
    if ms is None:
        ms = int(time.time() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms << 80) | (0x7 << 76) | ((rand >> 62) & 0xFFF) << 64 | (0b10 << 62)
    return str(uuid.UUID(int=value | (rand & ((1 << 62) - 1))))
