"""The officer's phone app at /lapor/: its static files, their version, cache and security headers.

The app (dashboard/lapor/) is ES modules with no build step. At start the server reads every
file of it once and hashes them all: that hash is the app's version. It is written into sw.js
(the service worker's cache name, so a changed app is a changed worker and the phones fetch
the new shell) and into index.html (shown on "Status Posko"). Every file goes out with an
ETag and `Cache-Control: no-cache` (their URLs carry no version, so the browser revalidates;
the service worker is what makes a second open free of the network), and a Content-Security-
Policy that lets the page load and connect to this server only. No Dash, no credential: the
app is public; what it reads and sends is checked by the API with the phone's own credential.
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

ROOT = Path(__file__).resolve().parent / "lapor"
PREFIX = "/lapor/"
INDEX = "index.html"
WORKER = "sw.js"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
}
# The marks the server fills in; the files are valid as they are (ESLint reads them).
WORKER_VERSION_MARK = '/* POSKO_LAPOR_VERSION */ "dev"'
WORKER_SHELL_MARK = "/* POSKO_LAPOR_SHELL */ []"
INDEX_VERSION_MARK = "__POSKO_LAPOR_VERSION__"
# A Host header worth naming in the policy: a name or an address, and a port.
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$")


@dataclass(frozen=True, slots=True)
class Asset:
    """One file as it is served."""

    body: bytes
    media_type: str
    etag: str


@dataclass(frozen=True, slots=True)
class Shell:
    """The whole app: its version and its files by path under /lapor/ ("" is the index)."""

    version: str
    assets: dict[str, Asset]
    urls: tuple[str, ...]  # what the service worker caches


def _files(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.suffix in MEDIA_TYPES
    )


def load_shell(root: Path = ROOT) -> Shell:
    """Read the app's files, hash them into its version, and fill in the marks."""
    names = _files(root)
    raw = {name: (root / name).read_bytes() for name in names}
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode() + b"\0" + raw[name] + b"\0")
    version = digest.hexdigest()[:16]
    urls = (PREFIX, *(PREFIX + n for n in names if n not in (INDEX, WORKER)))
    worker = raw[WORKER].decode()
    for mark in (WORKER_VERSION_MARK, WORKER_SHELL_MARK):
        if mark not in worker:
            raise RuntimeError(f"{WORKER} lost its mark {mark!r}")
    raw[WORKER] = (
        worker.replace(WORKER_VERSION_MARK, orjson.dumps(version).decode())
        .replace(WORKER_SHELL_MARK, orjson.dumps(list(urls)).decode())
        .encode()
    )
    raw[INDEX] = raw[INDEX].replace(INDEX_VERSION_MARK.encode(), version.encode())
    assets = {
        name: Asset(
            body=body,
            media_type=MEDIA_TYPES[Path(name).suffix],
            etag=f'W/"{hashlib.sha256(body).hexdigest()[:20]}"',
        )
        for name, body in raw.items()
    }
    assets[""] = assets[INDEX]
    return Shell(version=version, assets=assets, urls=urls)


SHELL = load_shell()
router = APIRouter(include_in_schema=False)


def content_security_policy(host: str | None) -> str:
    """This server only: scripts, styles, images (and the photo previews), fetches, the socket."""
    sockets = f" wss://{host} ws://{host}" if host and _HOST.match(host) else ""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        # blob: for the previews of the photos the officer just took (never fetched anywhere).
        "img-src 'self' blob:; "
        # 'self' covers the socket in CSP 3 browsers; the explicit ws(s) origin is for the rest.
        f"connect-src 'self'{sockets}; "
        "worker-src 'self'; manifest-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def _serve(request: Request, name: str) -> Response:
    asset = SHELL.assets[name]
    headers = {
        "ETag": asset.etag,
        "Cache-Control": "no-cache",
        "Content-Security-Policy": content_security_policy(request.headers.get("host")),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if name == WORKER:
        headers["Service-Worker-Allowed"] = PREFIX
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    body = b"" if request.method == "HEAD" else asset.body
    return Response(body, media_type=asset.media_type, headers=headers)


@router.api_route("/lapor", methods=["GET", "HEAD"])
def lapor_bare() -> Response:
    """The app lives under /lapor/ (the service worker's scope)."""
    return RedirectResponse(PREFIX, status_code=308)


@router.api_route("/lapor/{path:path}", methods=["GET", "HEAD"])
def lapor_file(request: Request, path: str) -> Response:
    """A file of the app; any other page of it is the app's one page."""
    if path in SHELL.assets:
        return _serve(request, path)
    if "." in path.rsplit("/", 1)[-1]:
        return Response(
            orjson.dumps({"detail": {"field": "path", "reason": f"no file /lapor/{path}"}}),
            status_code=404,
            media_type="application/json",
        )
    return _serve(request, "")
