"""Exports API: `GET /api/v1/exports/{dataset}.{format}`, cut to the caller's area, audited.

CSV and GeoJSON are streamed as they are read; XLSX is written to a temporary file (its zip
needs the whole sheet first) in constant memory, then streamed and deleted.
"""

import contextlib
import pathlib
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import Annotated

import anyio
from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Send
from starlette.types import Scope as Scope_

from backend.audit.service import actor_of
from backend.auth.service import Principal
from backend.deps import PrincipalDep, RuntimeDep, scoped_area
from backend.exports.datasets import DATASETS, Dataset, Format, Scope
from backend.exports.service import (
    MEDIA_TYPES,
    ExportError,
    check_window,
    filename,
    open_export,
    resolve,
)
from schemas.enums import CredentialKind
from schemas.errors import ProblemResponse, problem_responses

router = APIRouter(
    prefix="/api/v1", tags=["exports"], responses=problem_responses(401, 403, 404, 422)
)
FILE_CHUNK = 256 * 1024
# Exports running at once on this node: each holds a database connection to its end, and an
# XLSX one of the io_threads while it writes; a fourth reader waits a minute, nobody else does.
SLOTS = 3
_slots = threading.BoundedSemaphore(SLOTS)


@router.get(
    "/exports/{dataset}.{file_format}",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "the file (a download)",
            "content": {media: {} for media in MEDIA_TYPES.values()},
        },
        429: {"description": "too many exports running on this node", "model": ProblemResponse},
    },
)
def read_export(
    dataset: Annotated[str, Path(description=f"one of: {', '.join(DATASETS)}", examples=["tps"])],
    file_format: Annotated[str, Path(description="csv, xlsx or geojson", examples=["csv"])],
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
    if not _slots.acquire(blocking=False):
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail={"field": "dataset", "reason": f"{SLOTS} exports are running; try again soon"},
            headers={"Retry-After": "60"},
        )
    try:
        return _respond(rt, principal, spec, fmt, scope)
    except BaseException:
        _slots.release()
        raise


def _respond(
    rt: RuntimeDep, principal: Principal, spec: Dataset, fmt: Format, scope: Scope
) -> StreamingResponse:
    """Open, count and audit the export; the body streams it, then frees the slot."""
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
        return _Download(
            _pulled(export.chunks()), (export.close, _slots.release), MEDIA_TYPES[fmt], headers
        )
    folder = pathlib.Path(tempfile.mkdtemp(prefix="posko-export-"))
    try:
        path = folder / "export.xlsx"
        export.write_xlsx(path)
        headers["Content-Length"] = str(path.stat().st_size)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    done = (lambda: shutil.rmtree(folder, ignore_errors=True), _slots.release)
    return _Download(_pulled(_blocks(path)), done, MEDIA_TYPES[fmt], headers)


def _blocks(path: pathlib.Path) -> Iterator[bytes]:
    """A file's bytes, FILE_CHUNK at a time."""
    with path.open("rb") as f:
        while block := f.read(FILE_CHUNK):
            yield block


async def _pulled(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Each chunk made in a worker thread (the loop never waits for the database)."""
    try:
        while (chunk := await run_in_threadpool(next, chunks, None)) is not None:
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await run_in_threadpool(close)


class _Download(StreamingResponse):
    """A streamed download whose clean-up (close the snapshot, delete the file, free the slot)
    runs once whatever happens: also when the reader hangs up before the first chunk, when
    Starlette never starts the body and so never runs its `finally`."""

    def __init__(
        self,
        body: AsyncIterator[bytes],
        done: tuple[Callable[[], None], ...],
        media_type: str,
        headers: dict[str, str],
    ) -> None:
        super().__init__(body, media_type=media_type, headers=headers)
        self._body = body
        self._done = done

    async def __call__(self, scope: Scope_, receive: Receive, send: Send) -> None:
        """Send the file, then clean up."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                with contextlib.suppress(Exception):
                    await self._body.aclose()  # type: ignore[attr-defined]
                for step in self._done:
                    with contextlib.suppress(Exception):
                        await run_in_threadpool(step)
