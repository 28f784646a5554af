"""The running server's parts, built once by the app's lifespan and shared by every request."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from backend.auth.service import CredentialResolver, ReplayGuard
from backend.clock import Clock
from backend.config import Settings
from backend.intake.validate import Checker
from backend.intake.writer import Writer
from backend.loop_lag import LoopLag
from backend.realtime.hub import LiveHub
from backend.tps.index import RegistryIndex
from backend.users.throttle import AddressThrottle
from schemas.enums import Situation

if TYPE_CHECKING:
    from backend.alerts.sweeper import Sweeper
    from backend.alerts.webhook import OutboxSender
    from backend.positions.keys import TrackerKeys
    from backend.positions.writer import PositionWriter


@dataclass(eq=False)
class Runtime:
    """Everything a request handler may need, in one place."""

    settings: Settings
    engine: Engine
    clock: Clock
    index: RegistryIndex
    checker: Checker
    writer: Writer
    hub: LiveHub
    resolver: CredentialResolver
    replay: ReplayGuard
    login_throttle: AddressThrottle
    redeem_throttle: AddressThrottle  # refused enrolment links per address
    started_at: datetime
    last_event_at: datetime | None = field(default=None)
    # Operations: TPS id -> situation raised by open incidents (refreshed after incident
    # changes and on every sweep), the alert sweeper, and the webhook sender (if configured).
    incident_situations: dict[int, Situation] = field(default_factory=dict)
    situations_read_at: float = 0.0  # monotonic start of the read installed above
    sweeper: "Sweeper | None" = None
    loop_lag: LoopLag = field(default_factory=LoopLag)
    outbox: "OutboxSender | None" = None
    # Officers' positions (backend/positions): their writer and the tracker keys' cache.
    positions: "PositionWriter | None" = None
    tracker_keys: "TrackerKeys | None" = None
