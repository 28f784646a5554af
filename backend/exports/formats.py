"""Rows to bytes: CSV and GeoJSON chunk by chunk, XLSX row by row into a file (constant memory).

Times: CSV and XLSX carry each time twice, `<name>_wib` (WIB wall clock, what people read and
Excel takes as a date) and `<name>_utc` (ISO 8601 UTC with microseconds, exact for machines);
GeoJSON carries one ISO 8601 value with the WIB offset (+07:00). Headers are snake_case.
"""

import csv
import io
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import xlsxwriter  # constant_memory: each row goes to a temporary file as soon as it is written

from backend.config import WIB
from backend.exports.datasets import Column, Dataset, Kind

BOM = "\ufeff".encode()
XLSX_MAX_ROWS = 1_048_576  # Excel's rows per sheet, the header included
_WIB_OFFSET = timedelta(hours=7)  # WIB has no daylight saving
# A cell starting with one of these is a formula to Excel and LibreOffice (CSV injection): a
# text cell is written with a leading apostrophe instead. Every text cell, not only the field's
# free text: names and subjects come from people too, and no code or enum starts so.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Cell = Callable[[Any], Any]


def header(columns: Sequence[Column]) -> list[str]:
    """The header row of CSV and XLSX: a time column becomes `_wib` and `_utc`."""
    out: list[str] = []
    for c in columns:
        out.extend((f"{c.name}_wib", f"{c.name}_utc") if c.kind is Kind.TIME else (c.name,))
    return out


def wib_text(at: datetime | None) -> str:
    """`2024-11-27 08:00:00`: WIB wall clock to the second."""
    # Slicing the offset off is ~3x cheaper than datetime.replace (measured per row).
    return "" if at is None else (at + _WIB_OFFSET).isoformat(" ", "seconds")[:19]


def utc_text(at: datetime | None) -> str:
    """`2024-11-27T01:00:00.000000Z`: ISO 8601 UTC, exact to the microsecond."""
    # Times come back aware in UTC (db.UtcDateTime): "+00:00" becomes "Z".
    return "" if at is None else at.isoformat(timespec="microseconds")[:26] + "Z"


def wib_iso(at: datetime | None) -> str | None:
    """`2024-11-27T08:00:00.000000+07:00`: GeoJSON's time, ISO 8601 with the WIB offset."""
    return None if at is None else at.astimezone(WIB).isoformat(timespec="microseconds")


def _guarded(v: Any) -> str:
    if v is None:
        return ""
    s = str(v)
    return "'" + s if s.startswith(_FORMULA_START) else s


def _number(v: Any) -> Any:
    return "" if v is None else v


def _boolean(v: Any) -> str:
    return "" if v is None else ("true" if v else "false")


def _cells(columns: Sequence[Column], time_pair: tuple[Cell, Cell]) -> list[tuple[int, Cell]]:
    """(index in the row, converter) per output cell, in header order."""
    out: list[tuple[int, Cell]] = []
    for i, c in enumerate(columns):
        if c.kind is Kind.TIME:
            out += [(i, time_pair[0]), (i, time_pair[1])]
        elif c.kind is Kind.BOOL:
            out.append((i, _boolean))
        elif c.kind in (Kind.INT, Kind.FLOAT):
            out.append((i, _number))
        else:
            out.append((i, _guarded))
    return out


# --- CSV ----------------------------------------------------------------------------------------


def csv_chunks(
    columns: Sequence[Column], parts: Iterable[Sequence[Sequence[Any]]]
) -> Iterator[bytes]:
    """UTF-8 CSV with a BOM (Excel then reads it as UTF-8), RFC 4180; one chunk per part."""
    cells = _cells(columns, (wib_text, utc_text))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header(columns))
    yield BOM + buf.getvalue().encode()
    for part in parts:
        buf.seek(0)
        buf.truncate()
        w.writerows([[conv(row[i]) for i, conv in cells] for row in part])
        yield buf.getvalue().encode()


# --- GeoJSON ------------------------------------------------------------------------------------


def _properties(columns: Sequence[Column], skip: frozenset[str]) -> list[tuple[int, str, Cell]]:
    out: list[tuple[int, str, Cell]] = []
    for i, c in enumerate(columns):
        if c.name in skip:
            continue
        if c.kind is Kind.TIME:
            out.append((i, c.name, wib_iso))
        elif c.kind is Kind.JSON:
            out.append((i, c.name, _json_object))
        else:
            out.append((i, c.name, _same))
    return out


def _same(v: Any) -> Any:
    return v if v is None or isinstance(v, (int, float, bool)) else str(v)


def _json_object(v: Any) -> Any:
    return None if v is None else orjson.loads(v)


def record_of(
    columns: Sequence[Column], skip: frozenset[str] = frozenset()
) -> Callable[[Sequence[Any]], dict[str, Any]]:
    """A row as a JSON object (times ISO 8601 with the WIB offset), leaving out `skip`."""
    props = _properties(columns, skip)

    def record(row: Sequence[Any]) -> dict[str, Any]:
        return {name: conv(row[i]) for i, name, conv in props}

    return record


def geojson_chunks(
    dataset: Dataset,
    parts: Iterable[Sequence[Sequence[Any]]],
    nest: Callable[[Sequence[Sequence[Any]]], dict[int, dict[str, list[dict[str, Any]]]]]
    | None = None,
) -> Iterator[bytes]:
    """A FeatureCollection of points ([lon, lat]; null geometry where a row has no place).

    `nest` gives, for a part's rows, the child records of each row's id (first column): an
    incident's reports and steps, nested in its properties.
    """
    names = dataset.names
    lat_i, lon_i = names.index("lat"), names.index("lon")
    record = record_of(dataset.columns, frozenset({"lat", "lon"}))
    yield b'{"type":"FeatureCollection","name":' + orjson.dumps(dataset.name) + b',"features":['
    first = True
    for part in parts:
        children = nest(part) if nest is not None else {}
        features: list[dict[str, Any]] = []
        for row in part:
            lat, lon = row[lat_i], row[lon_i]
            props = record(row)
            if children:
                props.update(children.get(row[0], {}))
            features.append(
                {
                    "type": "Feature",
                    "geometry": None
                    if lat is None or lon is None
                    else {"type": "Point", "coordinates": [lon, lat]},
                    "properties": props,
                }
            )
        if features:
            # One dump per chunk: orjson gives each small dump a 4 KiB buffer (measured:
            # 2,000 features held 8 MiB as separate dumps, 0.7 MiB as one).
            body = orjson.dumps(features)[1:-1]
            yield body if first else b"," + body
            first = False
    yield b"]}"


# --- XLSX ---------------------------------------------------------------------------------------


def _wib_naive(v: datetime | None) -> datetime | None:
    return None if v is None else (v + _WIB_OFFSET).replace(tzinfo=None)


def _xlsx_utc(v: datetime | None) -> str | None:
    return None if v is None else utc_text(v)


def _xlsx_text(v: Any) -> str | None:
    return None if v is None else str(v)


def _xlsx_number(v: Any) -> Any:
    # Excel has no NaN or infinity: an empty cell rather than a file Excel repairs.
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v


def _xlsx_cells(columns: Sequence[Column]) -> list[tuple[int, Cell]]:
    out: list[tuple[int, Cell]] = []
    for i, c in enumerate(columns):
        if c.kind is Kind.TIME:
            out += [(i, _wib_naive), (i, _xlsx_utc)]
        elif c.kind in (Kind.INT, Kind.FLOAT):
            out.append((i, _xlsx_number))
        elif c.kind is Kind.BOOL:
            out.append((i, lambda v: None if v is None else bool(v)))
        else:
            out.append((i, _xlsx_text))
    return out


class XlsxBook:
    """A workbook written row by row to `path`: one sheet per dataset, more past Excel's limit."""

    def __init__(self, path: Path) -> None:
        self.book = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                "tmpdir": str(path.parent),
                # Every string is a string: never a formula, a number or a link (the field's text
                # must not run in the reader's Excel).
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
                "default_date_format": "yyyy-mm-dd hh:mm:ss",
            },
        )
        self.bold = self.book.add_format({"bold": True})

    def write(
        self, name: str, columns: Sequence[Column], parts: Iterable[Sequence[Sequence[Any]]]
    ) -> int:
        """Write the dataset `name` as one sheet (or more); return its row count."""
        cells = _xlsx_cells(columns)
        head = header(columns)
        sheet, row_no, n, sheets = None, 0, 0, 0
        for part in parts:
            for row in part:
                if sheet is None or row_no >= XLSX_MAX_ROWS:
                    if sheet is not None:
                        sheet.autofilter(0, 0, row_no - 1, len(head) - 1)
                    sheets += 1
                    sheet = self._sheet(name if sheets == 1 else f"{name} ({sheets})", head)
                    row_no = 1
                sheet.write_row(row_no, 0, [conv(row[i]) for i, conv in cells])
                row_no += 1
                n += 1
        if sheet is None:
            sheet, row_no = self._sheet(name, head), 1
        sheet.autofilter(0, 0, max(row_no - 1, 0), len(head) - 1)
        return n

    def _sheet(self, name: str, head: list[str]) -> Any:
        sheet = self.book.add_worksheet(name[:31])
        sheet.write_row(0, 0, head, self.bold)
        sheet.freeze_panes(1, 0)
        for j, h in enumerate(head):
            sheet.set_column(j, j, 20 if h.endswith(("_wib", "_utc")) else max(10, len(h) + 2))
        return sheet

    def close(self) -> None:
        """Finish the file (the zip is assembled from the sheets' temporary files)."""
        self.book.close()
