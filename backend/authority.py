"""Who may act on what, and grant what: the one rule for administration.

An actor holds a role and an area (None = national, "16" a province, "16.08" a kabupaten). It
reaches a thing only if the thing's area lies inside its own (a thing with no area is national:
only a national actor reaches it) and the thing's role, if it has one, is not above its own. It
grants at most what it holds: a role no higher than its own, an area inside its own; an area
not given means the actor's own. Things out of reach are treated as absent (404, left out of
lists), so a scoped admin cannot even learn which ids other areas use.

Users, credentials, device tokens and kiosk links use this; so will binding a phone or a chat to
an officer and changing the registry: call `reaches`/`where_reached` to see, `check_grant` to give.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, true

from backend.areas import contains, is_area_code
from backend.auth.service import Principal
from schemas.enums import ROLE_RANK, Role


class GrantError(Exception):
    """A grant beyond what the actor holds (403) or a malformed area (422): field and reason."""

    def __init__(self, field: str, reason: str, status: int = 403) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.status = status


@dataclass(frozen=True, slots=True)
class Authority:
    """What an actor holds: a role (None for a kiosk or a device) and an area (None = national)."""

    role: Role | None
    area_code: str | None

    @classmethod
    def of(cls, principal: Principal) -> "Authority":
        """What a caller holds."""
        return cls(principal.role, principal.area_code)

    def reaches(self, area: str | None, role: Role | None = None) -> bool:
        """Whether this actor may see and act on a thing of `area` (and `role`, if it has one)."""
        return reaches(self.area_code, area) and _role_within(self.role, role)

    def where_reached(self, area: Any, role: Any = None) -> ColumnElement[bool]:
        """The same rule as `reaches`, as a WHERE clause over an area (and role) column."""
        clause = where_reached(self.area_code, area)
        if role is None:
            return clause
        allowed = [r for r in Role if _role_within(self.role, r)]
        return and_(clause, or_(role.is_(None), role.in_(allowed)))

    def grantable_area(self, wanted: str | None) -> str | None:
        """The area a new or changed thing gets: `wanted` if inside the actor's own, else refuse.

        Not given (None) means the actor's own area: a scoped admin's kiosk link or new user
        lands in its area, and it can never make a national one.
        """
        if self.area_code is not None and not is_area_code(self.area_code):
            raise GrantError("area", "your credential's area is not a province or kabupaten code")
        if wanted is None or wanted == "":
            return self.area_code
        if not is_area_code(wanted):
            raise GrantError("area_code", "not a province (16) or kabupaten (16.08) code", 422)
        if not contains(self.area_code, wanted):
            raise GrantError("area_code", f"{wanted} is outside your area")
        return wanted

    def check_role(self, role: Role) -> None:
        """Refuse to grant a role above the actor's own."""
        if not _role_within(self.role, role):
            raise GrantError("role", f"{role.value} is above your own role")

    def check_grant(self, *, role: Role, area: str | None) -> str | None:
        """Refuse a role above the actor's own or an area outside it; return the area granted."""
        self.check_role(role)
        return self.grantable_area(area)


# A command run on the server itself (the `posko` CLI): whoever has the machine holds everything.
SERVER = Authority(Role.ADMIN, None)


def _role_within(held: Role | None, role: Role | None) -> bool:
    if role is None:
        return True
    return held is not None and ROLE_RANK[role] <= ROLE_RANK[held]


def reaches(scope: str | None, area: str | None) -> bool:
    """Whether an actor scoped to `scope` reaches a thing of `area` (None = national)."""
    if scope is None:
        return True
    if area is None or not is_area_code(scope):
        # National things only for national actors; a malformed scope reaches nothing rather
        # than a prefix's worth ("1" would cover "16", "17" ...).
        return False
    return contains(scope, area)


def where_reached(scope: str | None, area: Any) -> ColumnElement[bool]:
    """`reaches(scope, area)` as a WHERE clause over an area column (whole code segments)."""
    if scope is None:
        return true()
    if not is_area_code(scope):
        return false()
    # LIKE's wildcards cannot occur: an area code is digits and dots only.
    return or_(area == scope, area.like(scope + ".%"))
