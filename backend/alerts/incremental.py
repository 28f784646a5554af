"""The incremental alert sweep: between full reconciles, work in proportion to what changed.

The full sweep (`service.sweep`: read every fact, `rules.evaluate`, compare every open alert)
costs the size of the registry. Between two of them the sweeper keeps `AlertModel`, the facts
and the desired alerts as of its last tick, and each tick re-evaluates only

- the TPS and officers whose rows their writers marked changed (`changed_at`, real time) since
  the last tick, less an overlap: commit order is not timestamp order, and a row read twice
  is compared by value, so a re-read costs nothing;
- the TPS and officers whose answer may change by the clock alone, from a heap of the moments
  `rules.tps_next_change` / `rules.officer_next_change` give (grace running out, a kecamatan's
  silence window, the calendar's milestones, the duty window);
- the TPS and officers of each kecamatan whose outage appeared, cleared or changed its area
  (their alerts are held under it), and the outage counts of kabupaten where a TPS became
  watched, silent or heard again;
- the open incidents and unfinished boxes, read whole each tick (they are few, and their
  alerts depend on escorts' fixes and acknowledgements written elsewhere).

It calls the same rule functions the full sweep does, and only the keys whose desired alert
changed go to `service.apply_desired`. A registry write (its stamp), the end of an intake
stall (frozen kinds) and a failed tick rebuild the model from a full sweep (`reconcile`: every
open alert compared). Every `sweep_reconcile_s` the sweeper also reads a new model beside its
ticks (`rebuild`) and takes it over (`adopt`): whatever the old model drifted on from the
facts is set right, without holding the ticks for a national read.
"""

import heapq
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from backend.alerts.rules import (
    FIELD_KINDS,
    CustodyFacts,
    Desired,
    Facts,
    IncidentFacts,
    Key,
    OfficerFacts,
    TpsFacts,
    Watch,
    _custody_alerts,
    _incident_alerts,
    _intake_stalled,
    _silent_officers,
    _tps_alerts,
    evaluate,
    officer_next_change,
    outages_of,
    tps_next_change,
    tps_watch,
)
from backend.alerts.service import (
    TPS_COLUMNS,
    RawFacts,
    SweepChanges,
    apply_desired,
    custody_facts,
    incident_facts,
    load_facts,
    paced,
    paced_rows,
    tps_facts,
)
from backend.config import Settings, now_utc
from backend.incidents.service import situations_of
from backend.meta import REGISTRY_STAMP, get_value
from backend.officers.models import Officer
from backend.tps.models import Tps, TpsState
from schemas.ops import AlertKind

# How far before the last tick's read the next one reads again: a writer stamps its rows
# before it commits, so a slow commit lands with a mark already behind the watermark.
OVERLAP = timedelta(seconds=5)

TPS_KINDS = (AlertKind.PHASE_CLAIM, AlertKind.BEHIND_SCHEDULE, AlertKind.TPS_NOT_VISITED)
INCIDENT_KINDS = frozenset(
    {AlertKind.SOS, AlertKind.INCIDENT_SEVERE, AlertKind.INCIDENT_UNACKNOWLEDGED}
)
CUSTODY_KINDS = frozenset(
    {
        AlertKind.CUSTODY_NOT_DEPARTED,
        AlertKind.CUSTODY_OVERDUE,
        AlertKind.CUSTODY_STILL,
        AlertKind.CUSTODY_NO_BA,
    }
)
_TPS, _OFFICER = 0, 1  # what a deadline is about


def _kab(kecamatan_code: str) -> str:
    return kecamatan_code.rsplit(".", 1)[0]


def _same(a: Desired | None, b: Desired | None) -> bool:
    # Desired's equality leaves the detail out (it is not part of the identity); the table
    # keeps it, so a changed detail is a change to apply.
    return a == b and (a is None or b is None or a.detail == b.detail)


def _newest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max(a, b) if a and b else a or b


@dataclass(slots=True)
class Tick:
    """What one incremental tick looked at (for the bench and the logs)."""

    changed_tps: int = 0
    changed_officers: int = 0
    due: int = 0
    evaluated_tps: int = 0
    evaluated_officers: int = 0
    changed: dict[Key, Desired | None] = field(default_factory=dict)


class NeedsReconcileError(Exception):
    """The model cannot follow this change (the registry was rewritten): sweep in full."""


class AlertModel:
    """The facts and desired alerts as of the last tick, kept by the sweeper on the lease."""

    def __init__(self, settings: Settings, listening_since: datetime) -> None:
        self.settings = settings
        self.listening_since = listening_since
        self.tps: dict[int, TpsFacts] = {}
        self.received: dict[int, datetime | None] = {}  # tps_state.last_received_at
        self.tps_officers: dict[int, list[int]] = defaultdict(list)
        self.kec_tps: dict[str, list[int]] = defaultdict(list)
        self.officers: dict[int, OfficerFacts] = {}
        self.officer_tps: dict[int, set[int]] = {}
        self.kec_officers: dict[str, set[int]] = defaultdict(set)
        self.nrp_of: dict[int, str] = {}
        self.watch: dict[int, Watch] = {}
        self.watched: dict[str, int] = defaultdict(int)
        self.silent: dict[str, int] = defaultdict(int)
        self.kab_kecs: dict[str, set[str]] = defaultdict(set)
        self.outages: dict[str, Desired] = {}  # by the area they cover
        self.desired: dict[Key, Desired] = {}
        # The keys of the groups read whole each tick (incidents, boxes), so that replacing
        # one costs its own size, not that of every desired alert.
        self.groups: dict[frozenset[AlertKind], set[Key]] = {}
        self.incidents: list[IncidentFacts] = []
        self.heap: list[tuple[datetime, int, int]] = []
        self.due: dict[tuple[int, int], datetime] = {}
        self.watermark: datetime | None = None  # real time of the last read
        self.stamp: str | None = None

    # --- building -----------------------------------------------------------------------------

    def load(
        self,
        facts: Facts,
        raw: RawFacts,
        desired: dict[Key, Desired],
        *,
        marked_at: datetime,
        stamp: str | None,
    ) -> None:
        """Take over a full sweep's facts and result (what `reconcile` read and applied)."""
        now = facts.now
        self.nrp_of = raw.nrp_of
        for tid, t in zip(raw.tps_ids, facts.tps, strict=True):
            self.tps[tid] = t
            self.received[tid] = raw.tps_received[tid]
            self.kec_tps[t.kecamatan_code].append(tid)
            self.kab_kecs[_kab(t.kecamatan_code)].add(t.kecamatan_code)
            w = tps_watch(t, now, self.listening_since, self.settings)
            self.watch[tid] = w
            self.watched[t.kecamatan_code] += w[0]
            self.silent[t.kecamatan_code] += w[1]
            self._schedule(_TPS, tid, tps_next_change(t, now, self.listening_since, self.settings))
        for oid, o in zip(raw.officer_ids, facts.officers, strict=True):
            self.officers[oid] = o
            tps_ids = raw.assigned.get(oid, set())
            self.officer_tps[oid] = tps_ids
            for tid in tps_ids:
                self.tps_officers[tid].append(oid)
            for kec in o.kecamatan_codes:
                self.kec_officers[kec].add(oid)
            self._schedule(
                _OFFICER, oid, officer_next_change(o, now, self.listening_since, self.settings)
            )
        heapq.heapify(self.heap)
        self.desired = dict(desired)
        self.groups = {
            kinds: {k for k in desired if k[0] in kinds}
            for kinds in (INCIDENT_KINDS, CUSTODY_KINDS)
        }
        self.outages = {
            d.subject: d for d in desired.values() if d.kind is AlertKind.NETWORK_OUTAGE
        }
        self.incidents = facts.incidents
        self.watermark = marked_at
        self.stamp = stamp

    def _schedule(self, kind: int, subject: int, at: datetime | None) -> None:
        if at is None:
            self.due.pop((kind, subject), None)
            return
        if self.due.get((kind, subject)) == at:
            return  # already in the heap
        self.due[(kind, subject)] = at
        self.heap.append((at, kind, subject))  # heapified on load, pushed after

    def _push(self, kind: int, subject: int, at: datetime | None) -> None:
        if at is None:
            self.due.pop((kind, subject), None)
        elif self.due.get((kind, subject)) != at:
            self.due[(kind, subject)] = at
            heapq.heappush(self.heap, (at, kind, subject))

    # --- one tick ------------------------------------------------------------------------------

    def advance(
        self,
        session: Session,
        now: datetime,
        stalled: bool,
        marked_at: datetime,
        pause: Callable[[], None] | None = None,
    ) -> Tick:
        """Bring the model to `now`: re-read what changed, re-evaluate what is affected.

        `marked_at` is the real time taken before this tick's reads (the next watermark).
        Returns the desired alerts that changed (None: no longer wanted). With `pause`, it
        stops there every few thousand rows (a model caught up beside the ticks, `catch_up`).
        """
        if get_value(session=session, key=REGISTRY_STAMP) != self.stamp:
            raise NeedsReconcileError("the registry was written")
        assert self.watermark is not None
        since = self.watermark - OVERLAP
        tick = Tick()
        tps_hit: set[int] = set()
        officers_hit: set[int] = set()
        self._read_officers(session, since, tick, tps_hit, officers_hit, pause)
        self._read_tps(session, since, tick, tps_hit, pause)
        while self.heap and self.heap[0][0] <= now:
            at, kind, subject = heapq.heappop(self.heap)
            if self.due.get((kind, subject)) != at:
                continue  # moved since it was pushed
            del self.due[(kind, subject)]
            tick.due += 1
            (tps_hit if kind == _TPS else officers_hit).add(subject)
        for kec in self._recount(now, tps_hit, tick.changed):
            # An outage now holds this kecamatan, or another one or none does: what it holds
            # (parent) changes with it.
            tps_hit.update(self.kec_tps.get(kec, ()))
            officers_hit.update(self.kec_officers.get(kec, ()))
        facts = Facts(
            now=now, tps=[], officers=[], incidents=[], listening_since=self.listening_since
        )
        self._evaluate_tps(facts, tps_hit, tick, pause)
        self._evaluate_officers(facts, officers_hit, tick, pause)
        self.incidents = incident_facts(session)
        self._replace_group(
            INCIDENT_KINDS,
            (d for i in self.incidents for d in _incident_alerts(i, now, self.settings)),
            tick.changed,
        )
        self._evaluate_custody(facts, custody_facts(session, now, self.settings), tick.changed)
        stall = _intake_stalled()
        self._put(stall.key, stall if stalled else None, tick.changed)
        self.watermark = marked_at
        return tick

    def _read_officers(
        self,
        session: Session,
        since: datetime,
        tick: Tick,
        tps_hit: set[int],
        officers_hit: set[int],
        pause: Callable[[], None] | None = None,
    ) -> None:
        """Officers heard since `since`: their own silence, and their TPS' network view."""
        for oid, received in paced_rows(
            session,
            sa_select(col(Officer.id), col(Officer.last_received_at)).where(
                col(Officer.changed_at) >= since
            ),
            pause,
        ):
            tick.changed_officers += 1
            o = self.officers.get(oid)
            if o is None:
                raise NeedsReconcileError(f"officer {oid} is not in the model")
            if o.last_received_at == received:
                continue
            self.officers[oid] = replace(o, last_received_at=received)
            officers_hit.add(oid)
            for tid in self.officer_tps.get(oid, ()):
                t = self.tps[tid]
                heard = _newest(self.received[tid], self._officers_heard(tid))
                if heard != t.last_heard_at:
                    self.tps[tid] = replace(t, last_heard_at=heard)
                    tps_hit.add(tid)

    def _officers_heard(self, tps_id: int) -> datetime | None:
        """The newest receipt from any officer assigned to the TPS (as load_facts sees it)."""
        out: datetime | None = None
        for oid in self.tps_officers.get(tps_id, ()):
            out = _newest(out, self.officers[oid].last_received_at)
        return out

    def _read_tps(
        self,
        session: Session,
        since: datetime,
        tick: Tick,
        tps_hit: set[int],
        pause: Callable[[], None] | None = None,
    ) -> None:
        """TPS states written since `since` (pings, claims, a commander's step)."""
        for row in paced_rows(
            session,
            sa_select(*TPS_COLUMNS)
            .join(TpsState, col(TpsState.tps_id) == col(Tps.id))
            .where(col(TpsState.changed_at) >= since),
            pause,
        ):
            tick.changed_tps += 1
            tid = row[0]
            if tid not in self.tps:
                raise NeedsReconcileError(f"TPS {tid} is not in the model")
            t = tps_facts(row, self._officers_heard(tid), self.nrp_of)
            self.received[tid] = row[7]
            if t != self.tps[tid]:
                self.tps[tid] = t
                tps_hit.add(tid)

    def _recount(
        self, now: datetime, tps_hit: Iterable[int], changed: dict[Key, Desired | None]
    ) -> set[str]:
        """Move the outage counts of the TPS hit; return the kecamatan held otherwise now."""
        dirty: set[str] = set()
        for tid in tps_hit:
            t = self.tps[tid]
            w = tps_watch(t, now, self.listening_since, self.settings)
            old = self.watch[tid]
            if w == old:
                continue
            kec = t.kecamatan_code
            self.watched[kec] += w[0] - old[0]
            self.silent[kec] += w[1] - old[1]
            self.watch[tid] = w
            dirty.add(_kab(kec))
        moved: set[str] = set()
        for kab in dirty:
            kecs = self.kab_kecs[kab]
            found = outages_of(
                {k: self.watched[k] for k in kecs}, {k: self.silent[k] for k in kecs}, self.settings
            )
            # The outages of a kabupaten cover it whole or some of its kecamatan.
            before = {a: self.outages[a] for a in (kab, *kecs) if a in self.outages}
            areas_moved = before.keys() != found.keys()
            held = {k: self.held(k) for k in kecs} if areas_moved else {}
            for area in before.keys() | found.keys():
                d = found.get(area)
                self._put((AlertKind.NETWORK_OUTAGE, area), d, changed)
                if d is None:
                    del self.outages[area]
                else:
                    self.outages[area] = d
            moved.update(k for k, was in held.items() if self.held(k) != was)
        return moved

    def held(self, kecamatan: str) -> Key | None:
        """The outage a kecamatan's silence is held under, if any (as `evaluate` says)."""
        area = self.outages.get(kecamatan) or self.outages.get(_kab(kecamatan))
        return area.key if area is not None else None

    def _evaluate_tps(
        self,
        facts: Facts,
        tps_hit: set[int],
        tick: Tick,
        pause: Callable[[], None] | None = None,
    ) -> None:
        now = facts.now
        for tid in paced(tps_hit, pause):
            t = self.tps[tid]
            found = {
                d.kind: d for d in _tps_alerts(t, facts, self.settings, self.held(t.kecamatan_code))
            }
            for kind in TPS_KINDS:
                self._put((kind, t.code), found.get(kind), tick.changed)
            self._push(_TPS, tid, tps_next_change(t, now, self.listening_since, self.settings))
        tick.evaluated_tps = len(tps_hit)

    def _evaluate_officers(
        self,
        facts: Facts,
        officers_hit: set[int],
        tick: Tick,
        pause: Callable[[], None] | None = None,
    ) -> None:
        now = facts.now
        mine = [self.officers[oid] for oid in paced(officers_hit, pause)]
        silent = {
            d.subject: d
            for d in _silent_officers(replace(facts, officers=mine), self.settings, self.held)
        }
        for oid, o in zip(officers_hit, mine, strict=True):
            self._put((AlertKind.OFFICER_SILENT, o.nrp), silent.get(o.nrp), tick.changed)
            self._push(
                _OFFICER, oid, officer_next_change(o, now, self.listening_since, self.settings)
            )
        tick.evaluated_officers = len(mine)

    def _evaluate_custody(
        self, facts: Facts, boxes: list[CustodyFacts], changed: dict[Key, Desired | None]
    ) -> None:
        found = (
            d
            for c in boxes
            for d in _custody_alerts(c, facts, self.settings, self.held(c.kecamatan_code))
        )
        self._replace_group(CUSTODY_KINDS, found, changed)

    def _replace_group(
        self,
        kinds: frozenset[AlertKind],
        found: Iterable[Desired],
        changed: dict[Key, Desired | None],
    ) -> None:
        """Make the desired alerts of `kinds` exactly `found` (a group read whole each tick)."""
        new = {d.key: d for d in found}
        for key in self.groups.get(kinds, set()) - new.keys():
            self._put(key, None, changed)
        for key, d in new.items():
            self._put(key, d, changed)
        self.groups[kinds] = set(new)

    def _put(self, key: Key, new: Desired | None, changed: dict[Key, Desired | None]) -> None:
        old = self.desired.get(key)
        if _same(old, new):
            return
        if new is None:
            del self.desired[key]
        else:
            self.desired[key] = new
        changed[key] = new


class Turns:
    """Ticks go first: a model read beside them (`rebuild`) waits at its pauses while one runs.

    Both are Python on one interpreter: side by side they share the GIL, and the national tick
    (~0.4 s alone) took 1-2.5 s while a full read ran beside it.
    """

    def __init__(self) -> None:
        self._idle = threading.Event()
        self._idle.set()

    @contextmanager
    def tick(self) -> Iterator[None]:
        """Hold the reads beside while a tick runs (one tick at a time)."""
        self._idle.clear()
        try:
            yield
        finally:
            self._idle.set()

    def pause(self) -> None:
        """Where a read beside the ticks waits for the one running, if any."""
        self._idle.wait()


def _read_all(
    session: Session,
    model: AlertModel,
    now: datetime,
    intake_stalled: bool,
    pause: Callable[[], None] | None = None,
) -> tuple[Facts, RawFacts, dict[Key, Desired], str | None]:
    """Every fact, read for `model`, and what the rules want of them at `now`."""
    settings = model.settings
    stamp = get_value(session=session, key=REGISTRY_STAMP)
    raw = RawFacts()
    facts = load_facts(
        session=session,
        now=now,
        listening_since=model.listening_since,
        intake_stalled=intake_stalled,
        custody_still=timedelta(minutes=settings.custody_still_min),
        custody_radius_m=settings.custody_still_radius_m,
        raw=raw,
        pause=pause,
    )
    return facts, raw, evaluate(facts, settings), stamp


def reconcile(
    *,
    engine: Engine,
    settings: Settings,
    listening_since: datetime,
    now: datetime,
    intake_stalled: bool,
) -> tuple[SweepChanges, AlertModel]:
    """The full sweep (read everything, `evaluate`, compare every open alert) and a new model."""
    model = AlertModel(settings, listening_since)
    marked_at = now_utc()  # before the reads: rows written during them are read again
    with Session(engine) as session:
        facts, raw, desired, stamp = _read_all(session, model, now, intake_stalled)
        changes = apply_desired(
            session=session,
            desired=desired,
            now=now,
            frozen=FIELD_KINDS if intake_stalled else frozenset(),
            webhook=bool(settings.alert_webhook_url),
        )
    model.load(facts, raw, desired, marked_at=marked_at, stamp=stamp)
    changes.situations = situations_of((i.tps_id, i.severity) for i in facts.incidents)
    return changes, model


def rebuild(
    *,
    engine: Engine,
    settings: Settings,
    listening_since: datetime,
    now: datetime,
    clock: Callable[[], datetime] | None = None,
    pause: Callable[[], None] | None = None,
) -> AlertModel:
    """A new model from a full read of the facts at `now`; writes nothing.

    The sweeper builds it beside its incremental ticks (a national read takes tens of seconds)
    and then takes it over with `adopt`. With `clock`, the model then catches up to it here
    (`catch_up`), so the tick that takes it over re-reads only what was marked since. With
    `pause` (`Turns.pause`), the read, the rules and the loading stop at it every few thousand
    rows, so that the ticks beside go first.
    """
    model = AlertModel(settings, listening_since)
    marked_at = now_utc()
    with Session(engine) as session:
        facts, raw, desired, stamp = _read_all(session, model, now, False, pause)
    model.load(facts, raw, desired, marked_at=marked_at, stamp=stamp)
    if clock is not None:
        catch_up(engine=engine, model=model, now=clock(), pause=pause)
    return model


def catch_up(
    *,
    engine: Engine,
    model: AlertModel,
    now: datetime,
    pause: Callable[[], None] | None = None,
) -> None:
    """Bring a model not yet taken over to `now` (what changed is applied when it is).

    Beside the ticks it re-reads every row marked during the full read (minutes of them on
    a busy national day): with `pause`, it lets the ticks go first as that read does.
    """
    marked_at = now_utc()
    with Session(engine) as session:
        model.advance(session, now, False, marked_at, pause)


def adopt(
    *, engine: Engine, old: AlertModel, new: AlertModel, now: datetime, intake_stalled: bool
) -> tuple[SweepChanges, Tick]:
    """Take over `new` (from `rebuild`) from `old`, the model the ticks kept meanwhile.

    `new` is brought to `now` like any model (the rows marked since its read, the moments
    passed since), then every key where it wants otherwise than `old`, whose wishes the alert
    table holds, is applied: whatever `old` had drifted on is set right.
    """
    marked_at = now_utc()
    with Session(engine) as session:
        tick = new.advance(session, now, intake_stalled, marked_at)
        session.rollback()  # end the reads' transaction before the writes
        before, after = old.desired, new.desired
        keys = [k for k in before.keys() | after.keys() if not _same(before.get(k), after.get(k))]
        tick.changed = {k: after.get(k) for k in keys}
        changes = apply_desired(
            session=session,
            desired={k: after[k] for k in keys if k in after},
            now=now,
            frozen=FIELD_KINDS if intake_stalled else frozenset(),
            webhook=bool(new.settings.alert_webhook_url),
            keys=keys,
        )
    changes.situations = situations_of((i.tps_id, i.severity) for i in new.incidents)
    return changes, tick


def advance(
    *,
    engine: Engine,
    model: AlertModel,
    now: datetime,
    intake_stalled: bool,
) -> tuple[SweepChanges, Tick]:
    """One incremental tick: bring the model to `now` and apply the alerts that changed."""
    settings = model.settings
    marked_at = now_utc()
    with Session(engine) as session:
        tick = model.advance(session, now, intake_stalled, marked_at)
        session.rollback()  # end the reads' transaction before the writes
        if tick.changed:
            changes = apply_desired(
                session=session,
                desired={k: d for k, d in tick.changed.items() if d is not None},
                now=now,
                frozen=FIELD_KINDS if intake_stalled else frozenset(),
                webhook=bool(settings.alert_webhook_url),
                keys=list(tick.changed),
            )
        else:
            changes = SweepChanges()
    changes.situations = situations_of((i.tps_id, i.severity) for i in model.incidents)
    return changes, tick
