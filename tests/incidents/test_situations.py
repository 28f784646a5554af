"""The TPS situations open incidents raise, as each node keeps them in memory."""

from sqlalchemy import Engine

from backend.incidents.situations import Situations
from schemas.enums import Situation
from tests.factories import MiniRegistry
from tests.helpers import incident
from tests.ops.harness import Field, wib


def test_a_read_that_began_earlier_never_puts_back_what_a_later_one_saw(engine: Engine) -> None:
    situations = Situations(engine, {1: Situation.GANGGUAN})
    assert situations.swap({}, read_at=20.0) == [1]  # the later read: resolved
    assert situations.swap({1: Situation.GANGGUAN}, read_at=10.0) == []  # the earlier: ignored
    assert situations.get(1) is None


def test_only_the_tps_whose_situation_moved_are_named() -> None:
    none: Engine = None  # type: ignore[assignment]
    situations = Situations(none, {1: Situation.WASPADA, 2: Situation.GANGGUAN})
    fresh = {1: Situation.WASPADA, 2: Situation.WASPADA, 3: Situation.GANGGUAN}
    assert situations.swap(fresh, read_at=1.0) == [2, 3]


async def test_refresh_reads_the_open_incidents_from_the_database(
    engine: Engine, mini: MiniRegistry, field: Field
) -> None:
    situations = Situations(engine)
    field.send(
        [(mini.officer_nrps[0], incident(mini.tps_codes[0], severity=4))], at=wib(27, "08:00")
    )
    (changed,) = await situations.refresh()
    assert situations.get(changed) is Situation.GANGGUAN
    assert await situations.refresh() == []
