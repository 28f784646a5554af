"""Fuzzed moments on the replay reads: answered, or a 422 naming `at`; never a server error."""

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import LiveServer
from tests.faults.test_hostile_input import FUZZ_EXAMPLES, MOMENTS, _named_field

READS = ["snapshot", "log", "rollup", "positions", "incidents"]


def test_fuzzed_moments_are_answered_or_refused_naming_at(server: LiveServer, viewer: str) -> None:
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {viewer}"}, timeout=20
    ) as client:

        @settings(
            max_examples=FUZZ_EXAMPLES * 2,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(at=MOMENTS | st.text(max_size=30), read=st.sampled_from(READS))
        def one(at: str, read: str) -> None:
            r = client.get(f"/api/v1/replay/{read}", params={"at": at})
            assert r.status_code in (200, 422), (at, read, r.status_code, r.text[:300])
            if r.status_code == 422:
                assert _named_field(r.json()) == "at", r.text[:300]

        one()
