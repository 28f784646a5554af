"""bench.pixel turns raw probe samples into figures beside their idle baseline."""

import math

from bench.pixel import TARGET_BYTES_PER_TPS, figures_from, pct, split


def _samples(data: list[float], screen: list[float]) -> tuple[list[float], list[float], int]:
    return data, screen, 0


def _measured(load_screen: list[float], wire_bytes: float) -> dict:
    return {
        "probe": "16.08.11.2004-001",
        "gap_px": 18.0,
        "figure_bytes": 275_000,
        "method": "readPixels in MapLibre render event",
        "loadavg_idle": 1.0,
        "loadavg_load": 2.0,
        "idle": _samples([40.0] * 100, [300.0] * 100),
        "load": _samples([100.0] * 100, load_screen),
        "wire": {
            "stored": 5000.0,
            "seconds": 10.0,
            "bytes": wire_bytes,
            "frames": 100.0,
            "deltas": 100.0,
            "tps": 1000.0,
            "resyncs": 0.0,
        },
        "browser_bytes": 0,
        "browser_frames": 0,
        "browser_resyncs": 0,
        "browser_patches": 0,
    }


def test_percentiles_are_nearest_rank_and_nan_when_empty() -> None:
    values = [float(v) for v in range(1, 101)]
    assert pct(values, 50) == 51.0  # nearest rank of 99 * 0.5 = 49.5 -> index 50
    assert pct(values, 95) == 95.0
    assert pct(values, 99) == 99.0
    assert math.isnan(pct([], 95))


def test_p95_decides_the_screen_target_against_the_idle_baseline() -> None:
    slow_tail = [200.0] * 90 + [900.0] * 10
    figs = {f.name: f for f in figures_from(_measured(slow_tail, 400_000.0))}
    p95 = next(f for n, f in figs.items() if "on screen p95" in n)
    assert p95.value == 900.0 and p95.baseline_value == 300.0
    assert p95.met is False
    p50 = next(f for n, f in figs.items() if "on screen p50" in n)
    assert p50.met is None and p50.target is None
    data95 = next(f for n, f in figs.items() if "figure data p95" in n)
    assert data95.met is True


def test_bytes_per_changed_tps_are_held_to_one_kilobyte() -> None:
    under = figures_from(_measured([200.0] * 100, 400_000.0))[-1]
    assert under.suite == "wire" and under.value == 400.0 and under.met is True
    over = figures_from(_measured([200.0] * 100, (TARGET_BYTES_PER_TPS + 1) * 1000))[-1]
    assert over.met is False


def test_the_split_names_each_stage_over_the_probes_that_reached_the_screen() -> None:
    m = _measured([200.0] * 100, 400_000.0)
    reached = {"built": 10.0, "wire": 20.0, "socket": 30.0, "data": 40.0, "shown": 90.0}
    # A missed probe has its early stages only: it must not pull them towards its own times.
    missed = {"built": 3000.0, "wire": 3100.0, "socket": 4900.0, "data": None, "shown": None}
    m["load_stages"] = [reached] * 3 + [missed]
    m["loop_lag_load_ms"] = 12.0
    text = split(m, "load")
    assert text.startswith("delta built on the server 10 / 10 → delta on the wire 20 / 20")
    assert "frame handled in the page 30 / 30" in text and "next frame 90 / 90" in text
    assert "patch handed to Dash" not in text  # no probe had that stage
    assert text.endswith("(server loop lag peak 12 ms)")
    note = next(f.note for f in figures_from(m) if "on screen p95" in f.name)
    assert "under load: delta built on the server 10 / 10" in note
