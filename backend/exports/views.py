"""Exports API: `GET /api/v1/exports/{dataset}.{format}`, cut to the caller's area, audited.

CSV and GeoJSON are streamed as they are read; XLSX is written to a temporary file (its zip
needs the whole sheet first) in constant memory, then streamed and deleted.
"""

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated

import anyio
from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from backend.audit.service import actor_of
from backend.deps import PrincipalDep, RuntimeDep, scoped_area
from backend.exports.datasets import Format, Scope
from backend.exports.service import (
    MEDIA_TYPES,
    ExportError,
    check_window,
    filename,
    open_export,
    resolve,
)
from schemas.enums import CredentialKind
from schemas.errors import problem_responses

router = APIRouter(
    prefix="/api/v1", tags=["exports"], responses=problem_responses(401, 403, 404, 422)
)
FILE_CHUNK = 256 * 1024


@router.get(
    "/exports/{dataset}.{file_format}",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "the file (a download)",
            "content": {media: {} for media in MEDIA_TYPES.values()},
        }
    },
)
def read_export(
    dataset: str,
    file_format: str,
    principal: PrincipalDep,
    rt: RuntimeDep,
    area: Annotated[str | None, Query(description="narrow to an area inside yours")] = None,
    since: Annotated[
        datetime | None, Query(alias="from", description="ISO 8601 with offset, inclusive")
    ] = None,
    until: Annotated[
        datetime | None, Query(alias="to", description="ISO 8601 with offset, exclusive")
    ] = None,
) -> StreamingResponse:
    """A dataset as CSV, XLSX or GeoJSON, cut to your area; audited with its row count."""
    try:
        spec, fmt = resolve(dataset, file_format)
        check_window(since, until)
    except ExportError as err:
        raise HTTPException(err.status, detail={"field": err.field, "reason": err.reason}) from None
    if principal.kind is CredentialKind.KIOSK or not principal.has_role(spec.role):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail={"field": "authorization", "reason": f"needs role {spec.role.value}"},
        )
    scope = Scope(area=scoped_area(principal.area_code, area), since=since, until=until)
    now = rt.clock.now()
    export = open_export(
        engine=rt.engine,
        spec=spec,
        fmt=fmt,
        scope=scope,
        actor=actor_of(principal),
        via="api",
        now=now,
    )
    headers = {
        "Content-Disposition": f'attachment; filename="{filename(spec, fmt, scope, now)}"',
        "Cache-Control": "no-store",
        "X-Export-Rows": str(export.rows),
    }
    if fmt is not Format.XLSX:
        body = _pulled(export.chunks(), export.close)
        return StreamingResponse(body, media_type=MEDIA_TYPES[fmt], headers=headers)
    folder = Path(tempfile.mkdtemp(prefix="posko-export-"))
    try:
        path = folder / "export.xlsx"
        export.write_xlsx(path)
        headers["Content-Length"] = str(path.stat().st_size)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    body = _pulled(_blocks(path), lambda: shutil.rmtree(folder, ignore_errors=True))
    return StreamingResponse(body, media_type=MEDIA_TYPES[fmt], headers=headers)


def _blocks(path: Path) -> Iterator[bytes]:
    """A file's bytes, FILE_CHUNK at a time."""
    with path.open("rb") as f:
        while block := f.read(FILE_CHUNK):
            yield block


async def _pulled(chunks: Iterator[bytes], done: Callable[[], None]) -> AsyncIterator[bytes]:
    """Each chunk read in a worker thread; `done` (close the snapshot, delete the file) runs
    whatever happens, also when the reader hangs up before the first chunk."""
    try:
        while (chunk := await run_in_threadpool(next, chunks, None)) is not None:
            yield chunk
    finally:
        # A reader that hangs up cancels us: close the cursor now, not at garbage collection.
        with anyio.CancelScope(shield=True):
            close = getattr(chunks, "close", None)
            with contextlib.suppress(Exception):
                if close is not None:
                    await run_in_threadpool(close)
                await run_in_threadpool(done)
