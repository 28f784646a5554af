"""Reading the audit chain by action prefix: the prefix is text, not a LIKE pattern."""

from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from backend.audit.service import AuditRecord, append, list_entries
from tests.ops.harness import wib

T = wib(27, "08:00")


def test_an_action_prefix_with_like_wildcards_matches_only_itself(engine: Engine) -> None:
    with Session(engine) as s:
        append(
            session=s,
            records=[
                AuditRecord(
                    at=T + timedelta(seconds=i),
                    actor="test",
                    action=action,
                    subject_kind="tps",
                    subject="16.08.01.1007-001",
                    data={},
                )
                for i, action in enumerate(["incident.accepted", "credential.issued"])
            ],
        )
        s.commit()
        assert [e.action for e in list_entries(session=s, action_prefix="incident.")] == [
            "incident.accepted"
        ]
        # "%" and "_" are characters of a prefix, as "GET /api/v1/audit?action=%" means.
        for wildcard in ("%", "_", "incident_", "%.issued"):
            assert list_entries(session=s, action_prefix=wildcard) == [], wildcard
