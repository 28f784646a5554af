"""The large export's data: N position fixes over the mini registry's officers (test_streaming*)."""

from sqlalchemy import Engine

from bench.exports import T0
from bench.exports import fill_positions as fill
from tests.factories import MiniRegistry

N = 200_000
__all__ = ["T0", "N", "fill_positions"]


def fill_positions(engine: Engine, mini: MiniRegistry) -> None:
    """N position fixes, spread over the mini registry's four officers."""
    fill(engine, list(mini.officer_ids), N)
