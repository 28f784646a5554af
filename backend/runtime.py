"""The running server's parts, built once by the app's lifespan and shared by every request."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from backend.aftercommit import AfterCommit
from backend.alerts.sweeper import Sweeper
from backend.alerts.webhook import OutboxSender
from backend.auth.service import CredentialResolver, ReplayGuard
from backend.clock import Clock
from backend.config import Settings
from backend.incidents.situations import Situations
from backend.intake.validate import Checker
from backend.intake.writer import Writer
from backend.loop_lag import LoopLag
from backend.realtime.hub import LiveHub
from backend.tps.index import RegistryIndex
from backend.users.throttle import AddressThrottle

if TYPE_CHECKING:
    from backend.channels.outbox import ReplySender
    from backend.channels.recorder import Recorder
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
    # Operations: what open incidents raise at each TPS (refreshed after incident changes and
    # on every sweep), what follows each commit, the alert sweeper, the webhook sender (if
    # configured).
    situations: Situations
    after: AfterCommit
    sweeper: Sweeper | None = None
    loop_lag: LoopLag = field(default_factory=LoopLag)
    outbox: OutboxSender | None = None
    channel_outbox: "ReplySender | None" = None  # replies to chat and SMS (backend/channels)
    channel_recorder: "Recorder | None" = None  # group commits of handled chat/SMS messages
    # Officers' positions (backend/positions): their writer and the tracker keys' cache.
    positions: "PositionWriter | None" = None
    tracker_keys: "TrackerKeys | None" = None
