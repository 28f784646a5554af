"""The incident lifecycle as data: which action moves which status where, and who may take it.

baru -> diterima (accept) -> ditangani (dispatch; again to re-dispatch) -> selesai (resolve)
-> ditutup (close). Notes may be added at any time. Pure: no I/O.
"""

from enum import StrEnum

from schemas.enums import IncidentStatus, Role

S = IncidentStatus


class Action(StrEnum):
    """A lifecycle step a person takes."""

    ACCEPT = "accept"
    DISPATCH = "dispatch"
    RESOLVE = "resolve"
    CLOSE = "close"


TRANSITIONS: dict[Action, tuple[frozenset[IncidentStatus], IncidentStatus]] = {
    Action.ACCEPT: (frozenset({S.BARU}), S.DITERIMA),
    Action.DISPATCH: (frozenset({S.DITERIMA, S.DITANGANI}), S.DITANGANI),
    Action.RESOLVE: (frozenset({S.DITANGANI}), S.SELESAI),
    Action.CLOSE: (frozenset({S.SELESAI}), S.DITUTUP),
}

# The least role that may take each action (and annotate: operator).
REQUIRED_ROLE: dict[Action, Role] = {
    Action.ACCEPT: Role.OPERATOR,
    Action.DISPATCH: Role.COMMANDER,
    Action.RESOLVE: Role.COMMANDER,
    Action.CLOSE: Role.COMMANDER,
}
NOTE_ROLE = Role.OPERATOR
MERGE_SPLIT_ROLE = Role.COMMANDER


class InvalidTransitionError(Exception):
    """The action does not apply to the incident's status."""

    def __init__(self, action: Action, status: IncidentStatus) -> None:
        allowed, _ = TRANSITIONS[action]
        need = " or ".join(sorted(s.value for s in allowed))
        super().__init__(
            f"cannot {action.value} an incident that is {status.value}; it must be {need}"
        )
        self.action = action
        self.status = status


def next_status(action: Action, status: IncidentStatus) -> IncidentStatus:
    """The status after `action`, or InvalidTransitionError."""
    allowed, to = TRANSITIONS[action]
    if status not in allowed:
        raise InvalidTransitionError(action, status)
    return to
