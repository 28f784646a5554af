"""Domain enums: phases, situations, risk ratings, incident taxonomy, roles."""

from enum import StrEnum


class Phase(StrEnum):
    """Phase of a TPS on election day; ordered except `ditunda`."""

    LOGISTIK_TIBA = "logistik_tiba"
    PERSIAPAN = "persiapan"
    PEMUNGUTAN = "pemungutan"
    PENGHITUNGAN = "penghitungan"
    SELESAI_HITUNG = "selesai_hitung"
    KOTAK_DIKAWAL = "kotak_dikawal"
    DITERIMA_PPK = "diterima_ppk"
    DITUNDA = "ditunda"


# The ordered phases; `ditunda` (postponed) stands outside this order.
PHASE_ORDER: tuple[Phase, ...] = (
    Phase.LOGISTIK_TIBA,
    Phase.PERSIAPAN,
    Phase.PEMUNGUTAN,
    Phase.PENGHITUNGAN,
    Phase.SELESAI_HITUNG,
    Phase.KOTAK_DIKAWAL,
    Phase.DITERIMA_PPK,
)
PHASE_RANK: dict[Phase, int] = {p: i for i, p in enumerate(PHASE_ORDER)}


class CustodyStep(StrEnum):
    """A step in the chain of custody of a TPS's ballot boxes, TPS to PPK, in order."""

    SEGEL = "segel"  # sealed at the TPS
    BERANGKAT = "berangkat"  # left for the PPK under escort
    TIBA = "tiba"  # arrived at the PPK
    SERAH_TERIMA = "serah_terima"  # handed over to the PPK (berita acara penerimaan)


CUSTODY_RANK: dict[CustodyStep, int] = {s: i for i, s in enumerate(CustodyStep)}
# The phase each custody step proves a TPS has reached (at least).
CUSTODY_PHASE: dict[CustodyStep, Phase] = {
    CustodyStep.SEGEL: Phase.SELESAI_HITUNG,
    CustodyStep.BERANGKAT: Phase.KOTAK_DIKAWAL,
    CustodyStep.TIBA: Phase.KOTAK_DIKAWAL,
    CustodyStep.SERAH_TERIMA: Phase.DITERIMA_PPK,
}


class Situation(StrEnum):
    """Kamtibmas situation reported for a TPS."""

    AMAN = "aman"
    WASPADA = "waspada"
    GANGGUAN = "gangguan"


SITUATION_RANK: dict[Situation, int] = {s: i for i, s in enumerate(Situation)}


class RiskRating(StrEnum):
    """Risk rating of a TPS; sets how closely it is guarded."""

    KURANG_RAWAN = "kurang_rawan"
    RAWAN = "rawan"
    SANGAT_RAWAN = "sangat_rawan"


class IncidentCategory(StrEnum):
    """Election incident taxonomy."""

    KERICUHAN = "kericuhan"
    UNJUK_RASA = "unjuk_rasa"
    POLITIK_UANG = "politik_uang"
    INTIMIDASI = "intimidasi"
    LOGISTIK = "logistik"
    BENCANA_CUACA = "bencana_cuaca"
    KECELAKAAN = "kecelakaan"
    LAINNYA = "lainnya"


class IncidentStatus(StrEnum):
    """Lifecycle of an incident."""

    BARU = "baru"
    DITERIMA = "diterima"
    DITANGANI = "ditangani"
    SELESAI = "selesai"
    DITUTUP = "ditutup"


# Statuses of an incident still being handled: it raises its TPS and counts as open.
OPEN_STATUSES = (IncidentStatus.BARU, IncidentStatus.DITERIMA, IncidentStatus.DITANGANI)


class AckResult(StrEnum):
    """Outcome of one field event."""

    STORED = "stored"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class Role(StrEnum):
    """Roles of people and systems that read or act; devices have no role."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    COMMANDER = "commander"
    ADMIN = "admin"


ROLE_RANK: dict[Role, int] = {r: i for i, r in enumerate(Role)}


class CredentialKind(StrEnum):
    """What a credential belongs to."""

    DEVICE = "device"  # an officer's phone: sends field events
    PERSON = "person"  # an API token for a person or a reading system
    KIOSK = "kiosk"  # the wall display: watch only, never expires
    SESSION = "session"  # a browser login session


class UnitKind(StrEnum):
    """Police unit level."""

    POLRES = "polres"
    POLSEK = "polsek"


class RegionLevel(StrEnum):
    """Administrative level of a region (Kemendagri)."""

    PROVINSI = "provinsi"
    KABUPATEN = "kabupaten"
    KECAMATAN = "kecamatan"
    DESA = "desa"


class EventFlag(StrEnum):
    """Remarks the server attaches to a stored event."""

    LATE = "late"  # device time well behind receive time (a replayed buffer)
    CLOCK_SKEW = "clock_skew"  # device time ahead of the server: clamped for ordering
    UNASSIGNED = "unassigned"  # officer is not assigned to this TPS: its phase is only a claim
    # Device time before a commander's correction of this TPS: stored, merged no more.
    BEFORE_CORRECTION = "before_correction"


# A stored event's flags are one integer, a bit per EventFlag (in declaration order).
FLAG_BITS: dict[EventFlag, int] = {f: 1 << i for i, f in enumerate(EventFlag)}
_FLAG_LISTS: dict[int, list[str]] = {}


def flags_to_list(bits: int) -> list[str]:
    """Decode a stored flag bit set (a few distinct values: cached)."""
    out = _FLAG_LISTS.get(bits)
    if out is None:
        out = _FLAG_LISTS[bits] = [f.value for f, b in FLAG_BITS.items() if bits & b]
    return list(out)
