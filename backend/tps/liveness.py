"""How long a TPS may go unseen before it counts as "not visited": by risk rating and phase."""

from backend.config import Settings
from schemas.enums import Phase, RiskRating

# Phases in which nobody has to be at the TPS: before any report and once boxes are at the PPK.
UNWATCHED: frozenset[Phase | None] = frozenset({None, Phase.DITERIMA_PPK})


def grace_s(settings: Settings, risk: RiskRating, phase: Phase | None) -> float | None:
    """Seconds a TPS may go without a ping, or None when it is not watched in this phase."""
    if phase in UNWATCHED:
        return None
    minutes = settings.grace_voting_min[risk.value]
    if phase is not Phase.PEMUNGUTAN:
        minutes *= settings.grace_other_phase_factor
    return minutes * 60.0


def grace_table(settings: Settings) -> dict[str, dict[str, float | None]]:
    """Grace for every risk rating and phase, for screens that judge freshness themselves."""
    return {r.value: {p.value: grace_s(settings, r, p) for p in Phase} for r in RiskRating}
