"""The writers on their own: headers, times, the formula guard, Excel's row limit."""

from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import orjson
import pytest

from backend.exports import formats
from backend.exports.datasets import Column, Dataset, Kind, Scope
from backend.exports.formats import XlsxBook, csv_chunks, geojson_chunks, header

AT = datetime(2024, 11, 27, 1, 2, 3, 456789, tzinfo=UTC)  # 08:02:03 WIB
COLUMNS = (
    Column("name"),
    Column("note", Kind.FREE),
    Column("n", Kind.INT),
    Column("ok", Kind.BOOL),
    Column("at", Kind.TIME),
    Column("lat", Kind.FLOAT),
    Column("lon", Kind.FLOAT),
)


def test_a_time_column_is_written_in_wib_and_in_utc() -> None:
    assert header(COLUMNS) == ["name", "note", "n", "ok", "at_wib", "at_utc", "lat", "lon"]
    body = b"".join(csv_chunks(COLUMNS, [[("a", "b", 1, True, AT, -4.5, 104.25)]]))
    assert body.startswith(b"\xef\xbb\xbf")
    line = body.decode("utf-8-sig").splitlines()[1]
    assert line == "a,b,1,true,2024-11-27 08:02:03,2024-11-27T01:02:03.456789Z,-4.5,104.25"


@pytest.mark.parametrize("text", ["=1+1", "+62812", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_any_text_cell_a_spreadsheet_would_run_gets_an_apostrophe(text: str) -> None:
    body = b"".join(csv_chunks(COLUMNS, [[(text, text, None, None, None, None, None)]]))
    cells = body.decode("utf-8-sig").split("\r\n")[1]
    assert cells.count("'" + text[0]) == 2, cells  # the registry's text and the field's alike


def test_geojson_is_points_lon_lat_and_null_without_a_place() -> None:
    spec = Dataset("d", COLUMNS, lambda scope: None, is_located=True)  # type: ignore[arg-type,return-value]
    rows = [("a", "x", 1, False, AT, -4.5, 104.25), ("b", None, None, None, None, None, None)]
    doc = orjson.loads(b"".join(geojson_chunks(spec, [rows[:1], [], rows[1:]])))
    first, second = doc["features"]
    assert first["geometry"] == {"type": "Point", "coordinates": [104.25, -4.5]}
    assert first["properties"]["at"] == "2024-11-27T08:02:03.456789+07:00"
    assert "lat" not in first["properties"]
    assert second["geometry"] is None and second["properties"]["name"] == "b"
    assert Scope().area is None


def test_an_xlsx_past_excels_row_limit_goes_on_in_a_second_sheet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(formats, "XLSX_MAX_ROWS", 4)  # header + 3 rows per sheet
    path = tmp_path / "x.xlsx"
    book = XlsxBook(path)
    rows = [(f"r{i}", "=HYPERLINK(1)", i, True, AT, -4.5, 104.25) for i in range(7)]
    assert book.write("d", COLUMNS, [rows[:5], rows[5:]]) == 7
    book.close()
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        assert wb.sheetnames == ["d", "d (2)", "d (3)"]
        got = [r for ws in wb.worksheets for r in list(ws.iter_rows(values_only=True))[1:]]
        heads = {tuple(next(ws.iter_rows(values_only=True))) for ws in wb.worksheets}
    finally:
        wb.close()
    assert heads == {tuple(header(COLUMNS))}
    assert [r[0] for r in got] == [f"r{i}" for i in range(7)]
    assert got[0][1] == "=HYPERLINK(1)"  # a string cell, never a formula
    assert got[0][4] == datetime(2024, 11, 27, 8, 2, 3, 457000)  # Excel keeps milliseconds
    assert got[0][5] == "2024-11-27T01:02:03.456789Z"
