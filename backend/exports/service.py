"""An export: one read snapshot, its row count audited before a byte leaves, rows in chunks.

The rows are read with a server-side cursor on PostgreSQL (`stream_results`) and stepped on
SQLite, `CHUNK` at a time (`yield_per`), so a national export holds one chunk in memory, never
the table. Counting, auditing and streaming share one snapshot (REPEATABLE READ on PostgreSQL,
one read transaction on SQLite's WAL): the audited row count is the row count of the file.
The audit entry is committed on its own connection before the first row is read, so the
export of the audit trail does not contain its own entry.
"""

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlmodel import Session

from backend.audit.service import AuditRecord, append
from backend.config import WIB
from backend.exports.datasets import DATASETS, Dataset, Format, Scope
from backend.exports.formats import XlsxBook, csv_chunks, geojson_chunks, record_of

CHUNK = 2000  # rows per read and per written chunk: ~0.3 MB of CSV
ACTION = "export.read"
MEDIA_TYPES = {
    Format.CSV: "text/csv; charset=utf-8",
    Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    Format.GEOJSON: "application/geo+json",
}


class ExportError(ValueError):
    """An export that cannot be made: the field at fault, why, and the HTTP status."""

    def __init__(self, field_name: str, reason: str, *, status: int) -> None:
        super().__init__(reason)
        self.field = field_name
        self.reason = reason
        self.status = status


def resolve(dataset: str, file_format: str) -> tuple[Dataset, Format]:
    """The dataset and format asked for, or ExportError naming which one is wrong."""
    spec = DATASETS.get(dataset)
    if spec is None:
        known = ", ".join(DATASETS)
        raise ExportError("dataset", f"no dataset {dataset!r}; known: {known}", status=404)
    try:
        fmt = Format(file_format)
    except ValueError:
        known = ", ".join(f.value for f in Format)
        raise ExportError(
            "format", f"no format {file_format!r}; known: {known}", status=404
        ) from None
    if fmt is Format.GEOJSON and not spec.is_located:
        located = ", ".join(d.name for d in DATASETS.values() if d.is_located)
        raise ExportError(
            "format",
            f"geojson needs a position and {dataset} has none; use csv or xlsx "
            f"(geojson: {located})",
            status=422,
        )
    return spec, fmt


def check_window(since: datetime | None, until: datetime | None) -> None:
    """Refuse a window without a zone or ending before it starts."""
    for name, at in (("from", since), ("to", until)):
        if at is not None and at.tzinfo is None:
            raise ExportError(name, "give the offset, e.g. +07:00 for WIB", status=422)
    if since is not None and until is not None and until <= since:
        raise ExportError("to", "must be after from", status=422)


def filename(spec: Dataset, fmt: Format, scope: Scope, now: datetime) -> str:
    """`posko-incidents-16.08-20241127-0800.xlsx`: what, where, when (WIB)."""
    stamp = now.astimezone(WIB).strftime("%Y%m%d-%H%M")
    return f"posko-{spec.name}-{scope.area or 'nasional'}-{stamp}.{fmt.value}"


def _snapshot(engine: Engine) -> Connection:
    """A connection holding one read snapshot until it is closed."""
    if engine.dialect.name == "postgresql":
        return engine.connect().execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
    conn = engine.connect()
    # pysqlite opens no transaction for a SELECT: each would read its own moment.
    conn.exec_driver_sql("BEGIN")
    return conn


def _count(conn: Connection, spec: Dataset, scope: Scope) -> int:
    q = spec.query(scope).order_by(None).subquery()
    return int(conn.execute(select(func.count()).select_from(q)).scalar_one())


@dataclass
class Export:
    """An export whose snapshot is open, counted and audited: write it, then close it."""

    spec: Dataset
    fmt: Format
    scope: Scope
    conn: Connection
    rows: int
    child_rows: dict[str, int] = field(default_factory=dict)

    def parts(self, spec: Dataset | None = None) -> Iterator[Sequence[Any]]:
        """The rows of `spec` (default: this export's dataset), CHUNK at a time."""
        q = (spec or self.spec).query(self.scope)
        result = self.conn.execution_options(stream_results=True, yield_per=CHUNK).execute(q)
        try:
            yield from result.partitions()
        finally:
            result.close()

    def chunks(self) -> Iterator[bytes]:
        """The file as bytes, chunk by chunk (CSV, GeoJSON); closes the snapshot at the end."""
        try:
            if self.fmt is Format.CSV:
                yield from csv_chunks(self.spec.columns, self.parts())
            elif self.fmt is Format.GEOJSON:
                nest = self._nest if self.spec.children else None
                yield from geojson_chunks(self.spec, self.parts(), nest)
            else:
                raise ValueError("xlsx is written to a file: write_xlsx")
        finally:
            self.close()

    def write_xlsx(self, path: Path) -> None:
        """Write the XLSX file (the dataset, then each child dataset as a sheet); close."""
        try:
            book = XlsxBook(path)
            try:
                book.write(self.spec.name, self.spec.columns, self.parts())
                for name in self.spec.children:
                    child = DATASETS[name]
                    book.write(name, child.columns, self.parts(child))
            finally:
                book.close()
        finally:
            self.close()

    def _nest(self, part: Sequence[Sequence[Any]]) -> dict[int, dict[str, list[dict[str, Any]]]]:
        """The children of a part's rows, by parent id (reports and steps of incidents)."""
        ids = [row[0] for row in part]
        out: dict[int, dict[str, list[dict[str, Any]]]] = defaultdict(
            lambda: {name: [] for name in self.spec.children}
        )
        for name in self.spec.children:
            child = DATASETS[name]
            assert child.parent_key is not None
            key = child.parent_key
            record = record_of(child.columns, frozenset({key}))
            key_i = child.names.index(key)
            column = child.query(self.scope).selected_columns[key_i]
            # A part is at most CHUNK ids: one IN list each, never the whole table.
            q = child.query(self.scope).where(column.in_(ids))
            for row in self.conn.execute(q):
                out[row[key_i]][name].append(record(row))
        return out

    def close(self) -> None:
        """End the snapshot and give the connection back."""
        self.conn.close()


def open_export(
    *,
    engine: Engine,
    spec: Dataset,
    fmt: Format,
    scope: Scope,
    actor: str,
    via: str,
    now: datetime,
) -> Export:
    """Open a snapshot, count the rows, and audit the export (committed) before any row is read."""
    conn = _snapshot(engine)
    try:
        rows = _count(conn, spec, scope)
        children = (
            {name: _count(conn, DATASETS[name], scope) for name in spec.children}
            if fmt is not Format.CSV
            else {}
        )
        with Session(engine) as session:
            append(
                session=session,
                records=[_record(spec, fmt, scope, actor, via, now, rows, children)],
            )
            session.commit()
    except BaseException:
        conn.close()
        raise
    return Export(spec=spec, fmt=fmt, scope=scope, conn=conn, rows=rows, child_rows=children)


def _record(
    spec: Dataset,
    fmt: Format,
    scope: Scope,
    actor: str,
    via: str,
    now: datetime,
    rows: int,
    children: Mapping[str, int],
) -> AuditRecord:
    data: dict[str, Any] = {
        "dataset": spec.name,
        "format": fmt.value,
        "area": scope.area,
        "from": scope.since.astimezone(UTC).isoformat() if scope.since else None,
        "to": scope.until.astimezone(UTC).isoformat() if scope.until else None,
        "rows": rows,
        "via": via,
    }
    if children:
        data["child_rows"] = dict(children)
    return AuditRecord(
        at=now,
        actor=actor,
        action=ACTION,
        subject_kind="export",
        subject=f"{spec.name}.{fmt.value}",
        data=data,
        # The export's own area: its reader's colleagues see it, a national one is national.
        area_code=scope.area,
    )
