"""Figure functions: state in, plain figure dicts out, checked without a browser."""

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from backend.config import Settings
from backend.tps.liveness import grace_table
from dashboard import theme
from dashboard.figures import (
    MAP_CORE,
    MAP_RING,
    MAP_TPS,
    TL_GANGGUAN,
    TL_PHASE,
    TL_STALE,
    TL_WASPADA,
    MapOptions,
    TimelineInput,
    day_figure,
    day_window,
    effective_situation,
    expand_runs,
    hover_text,
    map_figure,
    marker_state,
    not_seen_bins,
    progress_figure,
    timeline_figure,
)
from dashboard.i18n import browser_words, situation_name, t
from schemas.enums import IncidentCategory, IncidentStatus, Phase, RiskRating, Situation
from schemas.live import IncidentPublic, TimelineRow, TpsView

NOW = datetime(2024, 11, 27, 3, 15, tzinfo=UTC)  # 10:15 WIB
GRACE = grace_table(Settings(_env_file=None))  # type: ignore[call-arg]


def view(code: str = "16.08.01.1007-001", **kw: Any) -> TpsView:
    values: dict[str, Any] = {
        "code": code,
        "name": f"TPS {code[-3:]}",
        "desa_code": code[:13],
        "desa": "Dusun Martapura",
        "kecamatan_code": code[:8],
        "kecamatan": "Martapura",
        "lat": -4.3,
        "lon": 104.35,
        "voters": 420,
        "risk": RiskRating.KURANG_RAWAN,
        "officers": ["85010000"],
        "phase": Phase.PEMUNGUTAN,
        "situation": Situation.AMAN,
        "phase_at": NOW - timedelta(hours=3),
        "situation_at": NOW - timedelta(minutes=5),
        "last_seen_at": NOW - timedelta(minutes=5),
        "last_received_at": NOW - timedelta(minutes=5),
        "last_officer": "85010000",
        "version": 3,
    }
    values.update(kw)
    return TpsView(**values)


def incident(iid: int, severity: int, **kw: Any) -> IncidentPublic:
    values: dict[str, Any] = {
        "id": iid,
        "status": IncidentStatus.BARU,
        "category": IncidentCategory.KERICUHAN,
        "severity": severity,
        "tps": "16.08.01.1007-001",
        "kecamatan_code": "16.08.01",
        "kabupaten_code": "16.08",
        "lat": -4.3,
        "lon": 104.35,
        "description": "massa berkumpul",
        "opened_at": NOW - timedelta(minutes=20),
        "updated_at": NOW - timedelta(minutes=10),
        "reports": 2,
        "reported_by": ["85010000", "85010001"],
    }
    values.update(kw)
    return IncidentPublic(**values)


def test_every_tps_is_one_marker_found_by_its_code() -> None:
    tps = [view(f"16.08.01.1007-{n:03d}") for n in range(1, 6)]
    fig = map_figure(tps, [], now=NOW, grace=GRACE, opts=MapOptions())
    trace = fig["data"][MAP_TPS]
    assert trace["type"] == "scattermap"
    assert trace["ids"] == [v.code for v in tps]
    assert len(trace["lat"]) == len(trace["marker"]["color"]) == len(trace["hovertext"]) == 5
    orjson.dumps(fig)  # plain JSON all the way down: no plotly objects


def test_situation_sets_the_colour_and_not_seen_within_grace_is_a_state_of_its_own() -> None:
    # Kurang rawan while voting: 45 minutes of grace.
    tps = [
        view("16.08.01.1007-001", situation=Situation.AMAN),
        view("16.08.01.1007-002", situation=Situation.WASPADA),
        view("16.08.01.1007-003", situation=Situation.GANGGUAN),
        view("16.08.01.1007-004", last_seen_at=NOW - timedelta(minutes=46)),
        view("16.08.01.1007-005", phase=None, situation=None, last_seen_at=None),
    ]
    colours = map_figure(tps, [], now=NOW, grace=GRACE, opts=MapOptions())["data"][0]["marker"][
        "color"
    ]
    s = theme.SITUATION_COLOURS
    assert colours == [s["aman"], s["waspada"], s["gangguan"], s["stale"], s["belum"]]
    assert len(set(colours)) == 5


@pytest.mark.parametrize(
    ("pinged", "raised", "shown"),
    [
        (Situation.AMAN, Situation.GANGGUAN, "gangguan"),  # an open severe incident raises it
        (Situation.AMAN, Situation.WASPADA, "waspada"),
        (Situation.GANGGUAN, Situation.WASPADA, "gangguan"),  # never lowers what was reported
        (None, Situation.WASPADA, "waspada"),  # before any report too
        (Situation.WASPADA, None, "waspada"),  # no open incident: the report alone
        (None, None, "belum"),
    ],
)
def test_an_open_incident_raises_the_shown_situation_to_the_worse_of_both(
    pinged: Situation | None, raised: Situation | None, shown: str
) -> None:
    v = view(situation=pinged, incident_situation=raised)
    assert effective_situation(v) == (None if shown == "belum" else shown)
    assert marker_state(v, NOW, GRACE) == shown
    fig = map_figure([v], [], now=NOW, grace=GRACE, opts=MapOptions())
    assert fig["data"][0]["marker"]["color"] == [theme.SITUATION_COLOURS[shown]]
    assert situation_name(shown, "id") in hover_text(v, shown, NOW, "id")
    # Not seen within grace still wins over both.
    quiet = view(situation=pinged, incident_situation=raised, last_seen_at=NOW - timedelta(hours=2))
    assert marker_state(quiet, NOW, GRACE) == theme.STALE


@pytest.mark.parametrize(
    ("risk", "phase", "quiet_min", "stale"),
    [
        (RiskRating.SANGAT_RAWAN, Phase.PEMUNGUTAN, 11, True),
        (RiskRating.SANGAT_RAWAN, Phase.PEMUNGUTAN, 9, False),
        (RiskRating.RAWAN, Phase.PERSIAPAN, 39, False),  # other phases: twice the grace
        (RiskRating.RAWAN, Phase.PERSIAPAN, 41, True),
        (RiskRating.KURANG_RAWAN, Phase.DITERIMA_PPK, 600, False),  # boxes delivered: unwatched
    ],
)
def test_grace_depends_on_risk_and_phase(
    risk: RiskRating, phase: Phase, quiet_min: int, stale: bool
) -> None:
    v = view(risk=risk, phase=phase, last_seen_at=NOW - timedelta(minutes=quiet_min))
    assert (marker_state(v, NOW, GRACE) == theme.STALE) is stale


def test_phase_colouring_still_shows_tps_not_seen() -> None:
    tps = [
        view("16.08.01.1007-001"),
        view("16.08.01.1007-002", last_seen_at=NOW - timedelta(hours=2)),
    ]
    fig = map_figure(tps, [], now=NOW, grace=GRACE, opts=MapOptions(mode="phase"))
    assert fig["data"][0]["marker"]["color"] == [
        theme.PHASE_COLOURS["pemungutan"],
        theme.SITUATION_COLOURS["stale"],
    ]
    assert fig["layout"]["meta"]["mode"] == "phase"


def test_hover_names_the_tps_its_place_state_and_who_saw_it_when_in_wib() -> None:
    v = view(last_seen_at=NOW - timedelta(minutes=12))
    text = hover_text(v, marker_state(v, NOW, GRACE), NOW, "id")
    for part in (
        "TPS 001 · 16.08.01.1007-001",
        "Dusun Martapura (16.08.01.1007)",
        "Martapura (16.08.01)",
        "Pemungutan",
        "Aman",
        "10:03 WIB (12 mnt lalu)",
        "oleh NRP 85010000",
    ):
        assert part in text
    english = hover_text(v, marker_state(v, NOW, GRACE), NOW, "en")
    assert "Voting" in english and "12 min ago" in english and "by NRP" in english


def test_incidents_are_a_translucent_ring_and_a_core_sized_by_severity() -> None:
    incidents = [incident(1, 2), incident(2, 4), incident(3, 3, lat=None, lon=None, tps=None)]
    fig = map_figure([view()], incidents, now=NOW, grace=GRACE, opts=MapOptions())
    ring, core = fig["data"][MAP_RING], fig["data"][MAP_CORE]
    assert ring["ids"] == core["ids"] == ["1", "2"]  # no place, no mark
    assert ring["marker"]["opacity"] < 1 == core["marker"]["opacity"]
    assert ring["marker"]["size"][1] > ring["marker"]["size"][0] > core["marker"]["size"][1]
    assert core["marker"]["color"][1] == theme.SEVERITY_COLOURS[4]
    # What officers type is shown as text, not as markup.
    typed = map_figure(
        [view()],
        [incident(9, 1, description="<a href=x>klik</a>")],
        now=NOW,
        grace=GRACE,
        opts=MapOptions(),
    )
    assert "&lt;a href=x&gt;klik&lt;/a&gt;" in typed["data"][MAP_CORE]["hovertext"][0]
    # Plain circles only: symbols would fetch sprites from the internet.
    assert all("symbol" not in tr["marker"] for tr in fig["data"] if "marker" in tr)


def test_map_needs_nothing_from_the_internet_and_reads_boundaries_from_this_server() -> None:
    fig = map_figure([view()], [], now=NOW, grace=GRACE, opts=MapOptions())
    assert fig["layout"]["map"]["style"] == "white-bg"
    sources = [layer["source"] for layer in fig["layout"]["map"]["layers"]]
    assert sources == ["/api/v1/geo/desa", "/api/v1/geo/kecamatan"]
    assert all(tr.get("mode") == "markers" for tr in fig["data"])  # text would fetch glyphs
    bare = map_figure([view()], [], now=NOW, grace=GRACE, opts=MapOptions(boundaries_url=None))
    assert bare["layout"]["map"]["layers"] == []
    tiles = MapOptions(boundaries_url=None, tile_url="http://tiles.local/{z}/{x}/{y}.png")
    layers = map_figure([view()], [], now=NOW, grace=GRACE, opts=tiles)["layout"]["map"]["layers"]
    assert layers[0]["sourcetype"] == "raster" and layers[0]["below"] == "traces"


def test_map_fits_the_points_and_the_boundaries() -> None:
    tps = [
        view("16.08.01.1007-001", lat=-4.0, lon=104.5),
        view("16.08.01.1007-002", lat=-4.2, lon=104.6),
    ]
    alone = map_figure(tps, [], now=NOW, grace=GRACE, opts=MapOptions())["layout"]
    west, south, east, north = alone["meta"]["bounds"]
    assert west < 104.5 < 104.6 < east and south < -4.2 < -4.0 < north
    whole = MapOptions(extent=(104.1, -4.6, 104.9, -3.6))
    wide = map_figure(tps, [], now=NOW, grace=GRACE, opts=whole)["layout"]
    assert wide["meta"]["bounds"] == [104.1, -4.6, 104.9, -3.6]
    assert wide["map"]["zoom"] < alone["map"]["zoom"]


def test_expand_runs_and_the_day_window() -> None:
    assert expand_runs([(0, None), (2, "persiapan"), (5, "pemungutan")], 7) == [
        None,
        None,
        "persiapan",
        "persiapan",
        "persiapan",
        "pemungutan",
        "pemungutan",
    ]
    start, end = day_window(NOW)
    assert start.isoformat() == "2024-11-27T05:00:00+07:00" and end - start == timedelta(hours=24)
    # Counting runs past midnight: 02:00 WIB still belongs to election day.
    night = datetime(2024, 11, 27, 19, 0, tzinfo=UTC)
    assert day_window(night)[0] == start


def test_not_seen_bins_follow_the_pings_and_the_phase() -> None:
    start = datetime(2024, 11, 26, 22, 0, tzinfo=UTC)  # 05:00 WIB
    pings = [start + timedelta(minutes=m) for m in (2, 60)]
    phases = ["persiapan"] * 12 + ["pemungutan"] * 12  # 5-minute bins
    bins = not_seen_bins(phases, pings, risk="sangat_rawan", start=start, bin_s=300, grace=GRACE)
    # Preparation: 20 minutes of grace, so from the bin ending 05:25 until the 06:00 ping;
    # voting: 10 minutes, so again from the bin ending 06:15.
    assert bins == [*range(4, 12), *range(14, 24)]


def _timeline() -> TimelineInput:
    start = datetime(2024, 11, 26, 22, 0, tzinfo=UTC)
    rows = [
        TimelineRow(
            code="16.08.01.1007-001",
            kecamatan_code="16.08.01",
            phase=[(0, None), (2, "persiapan"), (4, "pemungutan")],
            situation=[(0, None), (2, "aman"), (5, "waspada")],
        ),
        TimelineRow(
            code="16.08.01.1007-002",
            kecamatan_code="16.08.01",
            phase=[(0, "logistik_tiba")],
            situation=[(0, "gangguan")],
        ),
        TimelineRow(
            code="16.08.03.2001-001",
            kecamatan_code="16.08.03",
            phase=[(0, None)],
            situation=[(0, None)],
        ),
    ]
    return TimelineInput(
        start=start,
        now=start + timedelta(minutes=30),
        bin_s=300,
        bins=6,
        rows=rows,
        kecamatan_names={"16.08.01": "Martapura", "16.08.03": "Belitang"},
        not_seen={"16.08.01.1007-002": [4, 5]},
    )


def test_timeline_is_a_barcode_of_phases_grouped_by_kecamatan_with_problems_marked() -> None:
    fig = timeline_figure(_timeline(), lang="id", rev="r1")
    heat = fig["data"][TL_PHASE]
    assert heat["type"] == "heatmap" and heat["y"][0] == "16.08.01.1007-001"
    idx = theme.PHASE_INDEX
    assert heat["z"][0] == [idx["belum"]] * 2 + [idx["persiapan"]] * 2 + [idx["pemungutan"]] * 2
    assert heat["x"][0] == "2024-11-27 05:02:30"  # bin centres in WIB
    waspada, gangguan, stale = (fig["data"][k] for k in (TL_WASPADA, TL_GANGGUAN, TL_STALE))
    assert waspada["y"] == ["16.08.01.1007-001"]
    assert gangguan["y"] == ["16.08.01.1007-002"] * 4  # the last two bins were not seen
    assert stale["y"] == ["16.08.01.1007-002"] * 2
    labels = [a["text"] for a in fig["layout"]["annotations"]]
    assert labels == ["Martapura", "Belitang"]
    assert fig["layout"]["meta"]["bins"] == 6 and fig["layout"]["meta"]["rev"] == "r1"


def test_progress_counts_tps_of_each_kecamatan_per_phase() -> None:
    tps = [
        view("16.08.01.1007-001"),
        view("16.08.01.1007-002", phase=Phase.PERSIAPAN),
        view("16.08.03.2001-001", kecamatan_code="16.08.03", kecamatan="Belitang", phase=None),
    ]
    fig = progress_figure(tps, lang="en", rev="r")
    by_phase = {tr["meta"]: tr["x"] for tr in fig["data"]}
    assert by_phase["pemungutan"] == [1, 0] and by_phase["persiapan"] == [1, 0]
    assert by_phase["belum"] == [0, 1]
    assert fig["layout"]["yaxis"]["ticktext"] == ["Martapura", "Belitang"]
    assert fig["data"][0]["name"] == "No report yet"


def test_phases_over_the_day_stack_to_the_number_of_tps() -> None:
    fig = day_figure(_timeline(), lang="id", rev="r")
    totals = [sum(tr["y"][b] for tr in fig["data"]) for b in range(6)]
    assert totals == [3] * 6


def test_words_exist_in_both_languages() -> None:
    for lang in ("id", "en"):
        words = browser_words(lang)
        assert all(words["words"].values())
        assert set(words["phases"]) >= set(theme.PHASE_KEYS)
    assert t("live", "id") == "LANGSUNG" and t("live", "en") == "LIVE"


def test_kecamatan_labels_that_would_overlap_are_left_out() -> None:
    cramped = timeline_figure(_timeline(), lang="id", rev="r", height_px=20)
    assert [a["text"] for a in cramped["layout"]["annotations"]] == ["Martapura"]
    # Every group keeps its separator line.
    assert len(cramped["layout"]["shapes"]) == 2  # "now" and one separator
