"""The browser draws a TPS exactly as figures.py does: one table of cases, both implementations.

The server draws the map (dashboard/figures.py) and the browser keeps it current
(dashboard/assets/live/20-markers.js, through the store): the same TPS must get the same state,
colour, size and hover text from both, or a marker changes look on the first delta.
"""

import itertools
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.config import Settings
from backend.tps.liveness import grace_table
from dashboard.figures import effective_situation, hover_text, is_stale, marker_state, marker_style
from dashboard.i18n import LANGS, browser_words
from dashboard.theme import browser_theme
from schemas.enums import Phase, RiskRating, Situation
from schemas.live import TpsView

NOW = datetime(2024, 11, 27, 3, 15, tzinfo=UTC)  # 10:15 WIB on voting day
GRACE = grace_table(Settings(_env_file=None))  # type: ignore[call-arg]
SCRIPT = Path(__file__).resolve().parents[1] / "js" / "marker_rules.js"
NODE = shutil.which("node")

# Never seen, seen just now, exactly at its grace (still fresh), a second past it, long ago.
SEEN = ("never", "now", "at_grace", "past_grace", "long_ago")


def _ago(seen: str, grace: float | None) -> timedelta | None:
    if seen == "never":
        return None
    if seen == "now":
        return timedelta(seconds=42)
    if seen == "long_ago" or grace is None:
        return timedelta(hours=3, minutes=7)
    return timedelta(seconds=grace + (1 if seen == "past_grace" else 0))


def _cases() -> list[TpsView]:
    out = []
    grid = itertools.product(
        (None, *Phase),
        (None, *Situation),
        (None, Situation.WASPADA, Situation.GANGGUAN),
        RiskRating,
        SEEN,
    )
    for n, (phase, situation, raised, risk, when) in enumerate(grid):
        ago = _ago(when, GRACE[risk.value].get(phase.value) if phase else None)
        seen = NOW - ago if ago is not None else None
        out.append(
            TpsView(
                code=f"16.08.01.1007-{n:04d}",
                name=f"TPS {n:03d}",
                desa_code="16.08.01.1007",
                desa="Dusun Martapura",
                kecamatan_code="16.08.01",
                kecamatan="Martapura",
                lat=-4.3,
                lon=104.35,
                voters=400,
                risk=risk,
                officers=["85010000"],
                phase=phase,
                situation=situation,
                incident_situation=raised,
                phase_at=seen,
                situation_at=seen,
                last_seen_at=seen,
                last_received_at=seen,
                last_officer="85010000" if seen and n % 2 else None,
                version=1,
            )
        )
    return out


def _browser(cases: list[TpsView]) -> dict[str, Any]:
    if NODE is None:
        pytest.skip("Node.js is not installed (apt install nodejs): the browser's rules need it")
    payload = {
        "theme": browser_theme(),
        "i18n": {lang: browser_words(lang) for lang in LANGS},
        "grace": GRACE,
        "now": NOW.isoformat(),
        "tps": [v.model_dump(mode="json") for v in cases],
    }
    done = subprocess.run(
        [NODE, str(SCRIPT)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_browser_and_server_draw_every_tps_alike() -> None:
    cases = _cases()
    browser = _browser(cases)
    assert len(browser) == len(cases)
    seen_states = set()
    for v in cases:
        got = browser[v.code]
        state = marker_state(v, NOW, GRACE)
        seen_states.add(state)
        expected = {
            "stale": is_stale(v, NOW, GRACE),
            "effective": effective_situation(v),
            "state": state,
            "situation": list(marker_style(v, state, "situation")),
            "phase": list(marker_style(v, state, "phase")),
            "hover": {lang: hover_text(v, state, NOW, lang) for lang in LANGS},
        }
        assert got == expected, v.code
    # The table reaches every look a marker can have.
    assert seen_states == {"belum", "aman", "waspada", "gangguan", "stale"}
