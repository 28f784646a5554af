"""What a signature covers: the canonical bytes of a signed report, their hash, and the check.

Kept apart from the service so that the audit chain's verifier can re-hash signed reports
without importing what appends to the chain.
"""

import hashlib
from datetime import UTC, datetime

import orjson
from sqlmodel import Session

from backend.reports.models import SituationReport
from schemas.reports import ReportStatus

SIGN_ACTION = "report.signed"


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def signed_payload(r: SituationReport) -> bytes:
    """The canonical bytes a signature covers: everything a reader of the report sees."""
    return orjson.dumps(
        [
            "posko-laporan-situasi-v1",
            r.id,
            r.area_code,
            r.kind.value,
            _iso(r.period_start),
            _iso(r.period_end),
            r.version,
            orjson.loads(r.content),
            r.remarks,
            r.plan_next,
            r.signer_name,
            r.signer_rank,
            r.signer_nrp,
            _iso(r.signed_at) if r.signed_at else None,
        ],
        option=orjson.OPT_SORT_KEYS,
    )


def signed_sha256(r: SituationReport) -> str:
    """SHA-256 of what was signed."""
    return hashlib.sha256(signed_payload(r)).hexdigest()


def check_signed(*, session: Session, report_id: int, sha256: str) -> str | None:
    """Why a signed report's stored copy does not match its audit record (None: it does)."""
    r = session.get(SituationReport, report_id)
    if r is None:
        return f"signed report {report_id} is missing (deleted?)"
    if r.status is not ReportStatus.SIGNED:
        return f"signed report {report_id} is no longer marked signed (edited?)"
    if r.content_sha256 != sha256:
        return f"signed report {report_id}'s stored hash differs from its audit record (edited?)"
    try:
        digest = signed_sha256(r)
    except orjson.JSONDecodeError:
        return f"signed report {report_id}'s content is not JSON any more (edited?)"
    if digest != sha256:
        return f"signed report {report_id} differs from what was signed (edited?)"
    return None
