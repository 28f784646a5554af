"""Area scopes: None is national, "16" a province (Polda), "16.08" a kabupaten (Polres).

Every credential carries one; every read, export and live subscription is cut to it. A request
may narrow its view inside its own area (`?area=`), never widen it. Containment is by whole
code segments: "16.08" lies in "16", "16.10" does not lie in "16.1".
"""

import re
from collections.abc import Iterable
from typing import Any

from schemas.areas import AREA_CODE_PATTERN, AREA_CODE_REASON

_AREA = re.compile(AREA_CODE_PATTERN)


class AreaError(ValueError):
    """A requested area is malformed (422) or outside the caller's own (403)."""

    def __init__(self, reason: str, *, status: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def is_area_code(code: object) -> bool:
    """Whether `code` is a province ("16") or kabupaten ("16.08") code, in ASCII digits."""
    # Any object: a Dash callback's page data is whatever the browser posted.
    return isinstance(code, str) and _AREA.fullmatch(code) is not None


def contains(outer: str | None, inner: str) -> bool:
    """Whether area `inner` (or a region code below it) lies inside area `outer`."""
    return outer is None or inner == outer or inner.startswith(outer + ".")


def narrow(scope: str | None, wanted: str | None) -> str | None:
    """The area a request sees: `wanted` if it lies inside `scope`, else `scope`; or raise."""
    if scope is not None and not is_area_code(scope):
        # A credential with a malformed area sees nothing rather than a prefix's worth.
        raise AreaError("your credential's area is not a province or kabupaten code", status=403)
    if wanted is None or wanted == "":
        return scope
    if not is_area_code(wanted):
        raise AreaError(AREA_CODE_REASON, status=422)
    if not contains(scope, wanted):
        raise AreaError("outside your area", status=403)
    return wanted


def area_of(code: str) -> str:
    """The narrowest area (province or kabupaten) holding a region or TPS code."""
    return ".".join(code.split(".", 2)[:2])


def common_area(codes: Iterable[str | None]) -> str | None:
    """The narrowest area holding every code (None, national, when they span provinces).

    A None (or empty) code among `codes` is national, and so is an empty `codes`.
    """
    common: list[str] | None = None
    for code in set(codes):  # an intake batch names the same few kabupaten thousands of times
        if not code:
            return None
        parts = area_of(code).split(".")
        if common is None:
            common = parts
            continue
        n = 0
        while n < min(len(common), len(parts)) and common[n] == parts[n]:
            n += 1
        if n == 0:
            return None
        common = common[:n]
    return ".".join(common) if common else None


def kabupaten_in(column: Any, area_code: str) -> Any:
    """SQL: a kabupaten-code column inside an area (a province's kabupaten, or one kabupaten).

    The province prefix goes to LIKE escaped: an area that slipped past validation ("%%", "1_")
    then matches only codes that literally start with it, i.e. nothing, never everything.
    """
    if len(area_code) == 2:
        return column.startswith(area_code + ".", autoescape=True)
    return column == area_code
