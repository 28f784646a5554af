"""Drafting a report from a seeded morning: every count checked against what was sent."""

from typing import Any

from sqlmodel import Session

from backend.config import Settings
from backend.reports.draft import draft
from tests.custody.builders import custody
from tests.helpers import ping
from tests.ops.harness import Field, wib
from tests.reports.conftest import Morning


def test_the_draft_counts_what_the_field_sent(
    field: Field, morning: Morning, settings: Settings
) -> None:
    tps, nrp = morning.mini.tps_codes, morning.mini.officer_nrps
    with Session(field.engine) as s:
        c = draft(
            s, "16.08", wib(27, "07:00"), wib(27, "08:00"), wib(27, "08:00"), settings=settings
        )
    kab = c.kabupaten
    assert (c.area_code, c.area_name) == ("16.08", "Ogan Komering Ulu Timur")
    assert [k.code for k in c.kecamatan] == ["16.08.01", "16.08.03"]
    assert [k.name for k in c.kecamatan] == ["Martapura", "Belitang"]
    assert kab.tps_total == 12
    assert kab.tps_by_phase == {
        "belum": 2,
        "diterima_ppk": 1,
        "kotak_dikawal": 1,
        "pemungutan": 7,
        "selesai_hitung": 1,
    }
    assert kab.behind_schedule == 2  # TPS 10 and 11 never opened by 07:30
    # Personnel: Polres (officers 0, 1) both heard since 07:00; Polsek: officer 3 last at 06:30.
    assert [(u.unit_code, u.deployed, u.heard) for u in kab.personnel] == [
        ("polres-oku-timur", 2, 2),
        ("polsek-belitang", 2, 1),
    ]
    mart, bel = c.kecamatan
    assert [(u.unit_code, u.deployed) for u in mart.personnel] == [("polres-oku-timur", 2)]
    assert [(u.unit_code, u.deployed) for u in bel.personnel] == [("polsek-belitang", 2)]
    # Incidents: two new in the period, one of them handled; the 06:30 one is still open.
    inc = kab.incidents
    assert (inc.new, inc.handled, inc.still_open) == (2, 1, 2)
    assert inc.by_category == {
        "kericuhan": {"new": 1, "handled": 0, "open": 1},
        "logistik": {"new": 0, "handled": 0, "open": 1},
        "politik_uang": {"new": 1, "handled": 1, "open": 0},
    }
    assert inc.by_severity["3"] == {"new": 1, "handled": 0, "open": 1}
    lines = {i.id: i for i in kab.incident_lines}
    assert set(lines) == {morning.kericuhan_id, morning.politik_uang_id, morning.logistik_id}
    assert lines[morning.politik_uang_id].status == "selesai"
    assert lines[morning.politik_uang_id].account == (
        f"TPS {tps[6]}: massa berkumpul di depan TPS; ditangani polsek-belitang"
    )
    assert [i.severity for i in kab.incident_lines] == [3, 2, 1]  # most severe first
    assert (mart.incidents.new, mart.incidents.still_open) == (1, 1)
    assert (bel.incidents.new, bel.incidents.handled, bel.incidents.still_open) == (1, 1, 1)
    # Silence, judged by the alert rules: officer 3 and his TPS 9 (unseen since 06:30).
    assert kab.silent_tps == [tps[9]] and bel.silent_tps == [tps[9]] and mart.silent_tps == []
    assert kab.silent_officers == [nrp[3]] and bel.silent_officers == [nrp[3]]
    # Boxes, from the custody steps: TPS 0 sealed, TPS 1 on the road, TPS 2 handed over.
    assert (kab.boxes.sealed, kab.boxes.on_road, kab.boxes.received) == (1, 1, 1)
    assert (bel.boxes.sealed, bel.boxes.on_road, bel.boxes.received) == (0, 0, 0)


def test_an_earlier_period_counts_only_its_own_incidents(
    field: Field, morning: Morning, settings: Settings
) -> None:
    with Session(field.engine) as s:
        c = draft(
            s, "16.08", wib(27, "06:00"), wib(27, "07:00"), wib(27, "08:00"), settings=settings
        )
    inc = c.kabupaten.incidents
    assert (inc.new, inc.handled, inc.still_open) == (1, 0, 1)  # only the 06:30 logistics report
    assert [i.id for i in c.kabupaten.incident_lines] == [morning.logistik_id]


def test_a_report_drafted_late_reads_its_period_as_it_stood_at_its_end(
    field: Field, morning: Morning, settings: Settings
) -> None:
    """Phases, personnel, silence and boxes as of the period's end, whatever came after it."""
    tps, nrp = morning.mini.tps_codes, morning.mini.officer_nrps

    def report(now: str, start: str = "07:00", end: str = "08:00") -> dict[str, Any]:
        with Session(field.engine) as s:
            c = draft(s, "16.08", wib(27, start), wib(27, end), wib(27, now), settings=settings)
        return c.model_dump(mode="json", exclude={"drafted_at"})

    on_time = report("08:00")  # drafted at the period's end: the state tables, as they are
    # After 08:00 the field moves on: the silent officer comes back, TPS open and count, the
    # boxes move, an officer goes quiet.
    at = wib(27, "08:40")
    field.send(
        [
            *[(nrp[3], ping(tps[i], "penghitungan", at=at)) for i in (9, 10, 11)],
            (nrp[2], ping(tps[6], "selesai_hitung", at=at)),
            (nrp[0], custody(tps[0], "berangkat", at=at)),
            (nrp[0], custody(tps[1], "tiba", at=at)),
            (nrp[0], custody(tps[1], "serah_terima", at=at, minutes=1)),
        ],
        at=at,
    )
    running = report("09:30", "08:00", "10:00")["kabupaten"]
    assert running["silent_officers"] != on_time["kabupaten"]["silent_officers"]
    assert running["tps_by_phase"] != on_time["kabupaten"]["tps_by_phase"]
    assert running["boxes"] != on_time["kabupaten"]["boxes"]
    # Drafted late (at 09:30) for 07:00-08:00: the very report drafted at 08:00.
    assert report("09:30") == on_time
    late = report("09:30")["kabupaten"]
    assert late["silent_officers"] == [nrp[3]] and late["silent_tps"] == [tps[9]]
    assert late["boxes"] == {"sealed": 1, "on_road": 1, "received": 1}
