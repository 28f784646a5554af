"""The custody panels' pure pieces: the wall's rows, the map's boxes, the commander's timeline."""

from datetime import UTC, datetime, timedelta

from dashboard.custody import OVERDUE_COLOUR, boxes_trace, count_rows, timeline_list
from schemas.custody import (
    BoxOnRoad,
    CustodyStepPublic,
    CustodyTimeline,
    KecamatanCustody,
    PpkPlacePublic,
)
from schemas.enums import CustodyStep

AT = datetime(2024, 11, 27, 12, 0, tzinfo=UTC)  # 19:00 WIB


def _text(node: object) -> str:
    """Every string inside a Dash component tree."""
    if isinstance(node, str):
        return node
    if isinstance(node, list | tuple):
        return " ".join(_text(n) for n in node)
    children = getattr(node, "children", None)
    return _text(children) if children is not None else ""


def test_the_wall_lists_only_kecamatan_whose_boxes_moved() -> None:
    rows = [
        KecamatanCustody(
            kecamatan_code="16.08.01",
            name="Martapura",
            tps=6,
            sealed=2,
            on_road=1,
            arrived=0,
            received=3,
        ),
        KecamatanCustody(
            kecamatan_code="16.08.03",
            name="Belitang",
            tps=6,
            sealed=0,
            on_road=0,
            arrived=0,
            received=0,
        ),
    ]
    out = count_rows(rows, "id")
    assert isinstance(out, list) and len(out) == 2  # the head and Martapura
    assert _text(out[1]) == "Martapura 2 1 3/6"
    assert count_rows(rows[1:], "en") == "No boxes sealed yet."


def test_boxes_on_the_map_carry_their_tps_and_overdue_ones_stand_out() -> None:
    box = BoxOnRoad(
        tps="16.08.01.1007-001",
        kecamatan_code="16.08.01",
        departed_at=AT,
        expected_at=AT + timedelta(minutes=26),
        overdue=True,
        lat=-4.3,
        lon=104.35,
        position_at=None,
        ppk_lat=-4.31,
        ppk_lon=104.36,
    )
    trace = boxes_trace([box], "id")
    assert trace["ids"] == ["16.08.01.1007-001"]
    assert trace["marker"]["color"] == [OVERDUE_COLOUR]
    assert "19:00" in trace["hovertext"][0] and "19:26" in trace["hovertext"][0]
    assert "TERLAMBAT" in trace["hovertext"][0]


def test_the_timeline_says_who_when_where_and_a_missing_ba() -> None:
    def step(kind: CustodyStep, minutes: int, **kw: object) -> CustodyStepPublic:
        return CustodyStepPublic(
            step=kind,
            device_time=AT + timedelta(minutes=minutes),
            received_at=AT + timedelta(minutes=minutes),
            officer_nrp="85010000",
            officer_name="Petugas 0",
            source="ws",
            **kw,  # type: ignore[arg-type]
        )

    ppk = PpkPlacePublic(
        kecamatan_code="16.08.01", name="PPK Martapura", lat=-4.3, lon=104.3, is_default=True
    )
    on_road = CustodyTimeline(
        tps="16.08.01.1007-001",
        kecamatan_code="16.08.01",
        steps=[
            step(CustodyStep.SEGEL, 0, seal_numbers=["S1", "S2"], lat=-4.29, lon=104.34),
            step(CustodyStep.BERANGKAT, 10, vehicle="BG 1 X"),
        ],
        expected_at=AT + timedelta(minutes=40),
        ppk=ppk,
    )
    text = _text(timeline_list(on_road, "id"))
    assert "19:00 WIB Disegel Petugas 0 (85010000)" in text
    assert "Segel: S1, S2" in text and "di -4.29000, 104.34000" in text
    assert "Perkiraan tiba di PPK Martapura: 19:40 WIB" in text
    handed = on_road.model_copy(
        update={"steps": [*on_road.steps, step(CustodyStep.SERAH_TERIMA, 50, receiver_name="Siti")]}
    )
    text = _text(timeline_list(handed, "en"))
    assert "NO BA number, received by Siti" in text and "Expected" not in text
