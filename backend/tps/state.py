"""The merge that turns pings into a TPS's current state, independent of arrival order.

Who may move a TPS's phase: its assigned officers. A ping from anyone else (flagged
`unassigned`) still counts for the situation and for when the TPS was last seen (a roving
officer reporting trouble must be seen), but its phase is only a *claim*: the state keeps the
highest phase claimed, by whom and when, and the phase moves there only when a commander
confirms it (`confirm_claim`). A commander may also correct a TPS (`correct`), backwards too;
from then on pings with an earlier device time no longer count for its phase, situation or
claims, so a late ping can never undo the correction.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from schemas.enums import PHASE_ORDER, PHASE_RANK, SITUATION_RANK, Phase, Situation


@dataclass(slots=True)  # not frozen: built for every stored ping, and frozen init is slow
class PingFacts:
    """What one ping contributes: effective time (device time, clamped), claims, sender.

    A custody step (`backend/custody`) contributes the same way with the phase it proves and
    no situation (`None`: it says nothing about the TPS's kamtibmas).
    """

    at: datetime
    received_at: datetime
    phase: Phase
    situation: Situation | None
    officer_id: int
    claim: bool = False  # sender not assigned to the TPS: its phase is only claimed


@dataclass(frozen=True, slots=True)
class StateRow:
    """The merge-relevant columns of `tps_state`."""

    tps_id: int
    phase_rank: int = -1
    phase_at: datetime | None = None
    postponed_at: datetime | None = None
    situation: Situation | None = None
    situation_at: datetime | None = None
    last_seen_at: datetime | None = None
    last_received_at: datetime | None = None
    last_officer_id: int | None = None
    # Highest phase claimed by officers not assigned to the TPS: (rank, newest device time,
    # lowest officer id at that time).
    claimed_rank: int = -1
    claimed_at: datetime | None = None
    claimed_officer_id: int | None = None
    corrected_at: datetime | None = None  # a commander's correction; earlier pings do not count
    version: int = 0

    @property
    def claimed_phase(self) -> Phase | None:
        """The claimed phase while it is ahead of the phase reached (waits for confirmation)."""
        return PHASE_ORDER[self.claimed_rank] if self.claimed_rank > self.phase_rank else None

    @property
    def phase(self) -> Phase | None:
        """Derived phase: `ditunda` when postponed after the highest phase was last reported."""
        if self.postponed_at is not None and (
            self.phase_at is None or self.postponed_at > self.phase_at
        ):
            return Phase.DITUNDA
        return PHASE_ORDER[self.phase_rank] if self.phase_rank >= 0 else None


def _newer(a: datetime | None, b: datetime) -> bool:
    return a is None or b > a


def _claims(
    rank: int, at: datetime, officer: int, c_rank: int, c_at: datetime | None, c_off: int | None
) -> bool:
    """Whether a claim (rank, at, officer) wins over the claim held: max rank, newest, lowest id."""
    if rank != c_rank:
        return rank > c_rank
    if c_at is None or at != c_at:
        return c_at is None or at > c_at
    return c_off is None or officer < c_off


def merge(state: StateRow, ping: PingFacts) -> StateRow:
    """Fold one ping into the state; commutative, associative and idempotent.

    Because every column is a maximum (by device time, or by phase rank), a ping that arrives
    late, twice, or on another node can never roll a TPS back to an earlier phase or an older
    situation.
    """
    s = state
    if (
        s.last_seen_at is None
        or ping.at > s.last_seen_at
        or (
            ping.at == s.last_seen_at
            and s.last_officer_id is not None
            and ping.officer_id < s.last_officer_id
        )
    ):
        s = replace(s, last_seen_at=ping.at, last_officer_id=ping.officer_id)
    if s.last_received_at is None or ping.received_at > s.last_received_at:
        s = replace(s, last_received_at=ping.received_at)
    if s.corrected_at is not None and ping.at < s.corrected_at:
        return s  # older than the commander's correction: seen, but it changes nothing else
    if ping.claim:
        if ping.phase is not Phase.DITUNDA and _claims(
            PHASE_RANK[ping.phase],
            ping.at,
            ping.officer_id,
            s.claimed_rank,
            s.claimed_at,
            s.claimed_officer_id,
        ):
            s = replace(
                s,
                claimed_rank=PHASE_RANK[ping.phase],
                claimed_at=ping.at,
                claimed_officer_id=ping.officer_id,
            )
    elif ping.phase is Phase.DITUNDA:
        if _newer(s.postponed_at, ping.at):
            s = replace(s, postponed_at=ping.at)
    else:
        rank = PHASE_RANK[ping.phase]
        if rank > s.phase_rank:
            s = replace(s, phase_rank=rank, phase_at=ping.at)
        elif rank == s.phase_rank and _newer(s.phase_at, ping.at):
            s = replace(s, phase_at=ping.at)
    if ping.situation is not None and (
        s.situation_at is None
        or ping.at > s.situation_at
        # Equal device times: the graver report wins, so the result does not depend on order.
        or (
            ping.at == s.situation_at
            and s.situation is not None
            and SITUATION_RANK[ping.situation] > SITUATION_RANK[s.situation]
        )
    ):
        s = replace(s, situation=ping.situation, situation_at=ping.at)
    return s


def merge_all(state: StateRow, pings: list[PingFacts]) -> StateRow:
    """Fold many pings; bump the version once if anything changed.

    Same result as folding `merge` ping by ping (tested), in local variables: intake calls this
    for every TPS of every batch, and `dataclasses.replace` per ping dominated its profile.
    """
    s = state
    rank, phase_at, postponed_at = s.phase_rank, s.phase_at, s.postponed_at
    situation, situation_at = s.situation, s.situation_at
    seen_at, officer, received = s.last_seen_at, s.last_officer_id, s.last_received_at
    c_rank, c_at, c_off = s.claimed_rank, s.claimed_at, s.claimed_officer_id
    corrected = s.corrected_at
    for p in pings:
        at = p.at
        if (
            seen_at is None
            or at > seen_at
            or (at == seen_at and officer is not None and p.officer_id < officer)
        ):
            seen_at, officer = at, p.officer_id
        if received is None or p.received_at > received:
            received = p.received_at
        if corrected is not None and at < corrected:
            continue
        if p.claim:
            if p.phase is not Phase.DITUNDA:
                r = PHASE_RANK[p.phase]
                if _claims(r, at, p.officer_id, c_rank, c_at, c_off):
                    c_rank, c_at, c_off = r, at, p.officer_id
        elif p.phase is Phase.DITUNDA:
            if postponed_at is None or at > postponed_at:
                postponed_at = at
        else:
            r = PHASE_RANK[p.phase]
            if r > rank:
                rank, phase_at = r, at
            elif r == rank and (phase_at is None or at > phase_at):
                phase_at = at
        if p.situation is not None and (
            situation_at is None
            or at > situation_at
            or (
                at == situation_at
                and situation is not None
                and SITUATION_RANK[p.situation] > SITUATION_RANK[situation]
            )
        ):
            situation, situation_at = p.situation, at
    if (
        rank == s.phase_rank
        and phase_at == s.phase_at
        and postponed_at == s.postponed_at
        and situation == s.situation
        and situation_at == s.situation_at
        and seen_at == s.last_seen_at
        and received == s.last_received_at
        and officer == s.last_officer_id
        and c_rank == s.claimed_rank
        and c_at == s.claimed_at
        and c_off == s.claimed_officer_id
    ):
        return s
    # One frozen construction per changed TPS (each costs a setattr per field).
    return StateRow(
        tps_id=s.tps_id,
        phase_rank=rank,
        phase_at=phase_at,
        postponed_at=postponed_at,
        situation=situation,
        situation_at=situation_at,
        last_seen_at=seen_at,
        last_received_at=received,
        last_officer_id=officer,
        claimed_rank=c_rank,
        claimed_at=c_at,
        claimed_officer_id=c_off,
        corrected_at=corrected,
        version=s.version + 1,
    )


@dataclass(slots=True)
class TpsChange:
    """A TPS whose state this batch (or a commander) changed."""

    before: StateRow
    after: StateRow
    kecamatan_code: str = ""  # where it is counted in tps_rollup
    # A commander's action: the log names `officer_id` (whose claim was confirmed, or nobody),
    # not the officer who last reported the TPS.
    by_commander: bool = False
    officer_id: int | None = None

    @property
    def log_officer_id(self) -> int | None:
        """The officer the log line of this change names."""
        return self.officer_id if self.by_commander else self.after.last_officer_id


class StateConflictError(ValueError):
    """A commander's action does not fit the state as it is now: field and reason for a 409."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def confirm_claim(state: StateRow, phase: Phase) -> StateRow:
    """Move the phase to the claim a commander confirms (`phase`: the claim as they saw it).

    The confirmed claim becomes part of the join like an assigned officer's report: at the
    claimed phase and device time, so later reports go on merging as before.
    """
    claimed = state.claimed_phase
    if claimed is None:
        raise StateConflictError("phase", "no claimed phase ahead of the TPS's phase")
    if claimed is not phase:
        raise StateConflictError("phase", f"the claim is now {claimed.value}")
    return replace(
        state,
        phase_rank=state.claimed_rank,
        phase_at=state.claimed_at,
        version=state.version + 1,
    )


_TICK = timedelta(microseconds=1)


def correct(
    state: StateRow, *, phase: Phase, situation: Situation | None, at: datetime
) -> StateRow:
    """Set a TPS's phase (and situation) at `at`, also backwards; earlier pings stop counting.

    The correction takes effect after every ping already merged (`at` is moved past the newest
    device time seen if a phone's clock ran ahead), so whether an older ping arrived before the
    correction or after it, it is overruled the same way. Pending claims are dropped; the
    situation, if not given, is kept as of the correction. Last seen stays: those visits happened.
    """
    if state.last_seen_at is not None and state.last_seen_at >= at:
        at = state.last_seen_at + _TICK
    postponed = phase is Phase.DITUNDA
    kept = situation if situation is not None else state.situation
    return replace(
        state,
        phase_rank=-1 if postponed else PHASE_RANK[phase],
        phase_at=None if postponed else at,
        postponed_at=at if postponed else None,
        situation=kept,
        situation_at=at if kept is not None else None,
        claimed_rank=-1,
        claimed_at=None,
        claimed_officer_id=None,
        corrected_at=at,
        version=state.version + 1,
    )
