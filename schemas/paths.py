"""Local paths: where a sign-in may send the browser next (a page of this server, never another)."""

from typing import Annotated
from urllib.parse import unquote

from pydantic import AfterValidator

MAX_PATH = 2000
DECODE_ROUNDS = 3  # `%25` nests: a path is judged as given and as each decoding would read it


def _reads_as_local(form: str) -> bool:
    # Browsers read `/\host` and `\/\/host` as `//host` (backslash is a slash in http URLs), drop
    # tabs and newlines anywhere (`/\t/host`) and trim leading spaces (` //host`); `/.//host` is
    # `//host` once the dot segment is removed. So: one leading slash, no backslash, nothing
    # unprintable or blank, and no empty or dot segment before the last one.
    if not form.startswith("/") or "\\" in form or " " in form or not form.isprintable():
        return False
    segments = form.split("?", 1)[0].split("#", 1)[0].split("/")[1:]
    if any(seg in (".", "..") for seg in segments):
        return False
    return "" not in segments[:-1]


def local_path(target: object) -> str | None:
    """`target` if every reading of it is a path on this server (`/wall?lang=en`), else None."""
    if not isinstance(target, str) or not target or len(target) > MAX_PATH:
        return None
    form = target
    for _ in range(DECODE_ROUNDS):
        if not _reads_as_local(form):
            return None
        decoded = unquote(form)
        if decoded == form:
            return target
        form = decoded
    return None  # still encoded after that many rounds: nobody writes a link like that


def _require_local(value: str) -> str:
    if local_path(value) is None:
        raise ValueError("give a path on this server, such as /wall")
    return value


# A `next` that a client gives: a page of this server, refused with 422 otherwise.
LocalPath = Annotated[str, AfterValidator(_require_local)]
