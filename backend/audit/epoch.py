"""Start the audit chain over, when the election data its entries vouch for is erased on purpose.

Only `posko registry seed --erase-election-data` does this. Intake batch entries carry digests of
their `tps_transition` rows and list their incident reports, so once those rows are deleted the old
chain can no longer be verified against the database: keeping it would leave `posko audit verify`
failing forever, and quietly editing it is what the chain exists to expose. So the old entries go
with the data they describe, and the new chain's first entry (`audit.epoch`) says who erased what,
when, and the length and head hash of the chain that ended, which identifies that chain in a
backup taken before (docs/operations.md asks for one). Uses only `append` and the chain's tables.
"""

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import delete, text, update
from sqlmodel import Session, col

from backend.audit.models import GENESIS_HASH, AuditEntry, AuditHead
from backend.audit.service import EPOCH_ACTION, AuditRecord, append


def start_new_chain(
    *, session: Session, at: datetime, actor: str, reason: str, erased: Mapping[str, int]
) -> tuple[int, str]:
    """Erase the chain and begin a new one with an entry naming what ended it (caller commits).

    Returns the length and head hash of the chain that ended.
    """
    conn = session.connection()
    # The head row first, as every appender takes it: on PostgreSQL its row lock makes appenders
    # of other transactions wait until this one commits (they then build on the new chain), and
    # the DELETE below sees every entry committed before it. SQLite: the write lock already.
    seq, head = conn.execute(
        text("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
    ).one()
    conn.execute(delete(AuditEntry))
    # The new chain is keyed from its first entry: the old boundary (entries written before
    # keyed chaining) ended with the chain it belonged to.
    conn.execute(
        update(AuditHead)
        .where(col(AuditHead.id) == 1)
        .values(seq=0, hash=GENESIS_HASH, keyed_from=1)
    )
    append(
        session=session,
        records=[
            AuditRecord(
                at=at,
                actor=actor,
                action=EPOCH_ACTION,
                data={
                    "reason": reason,
                    "erased": dict(erased),
                    "previous_chain": {"entries": seq, "head_hash": head},
                },
            )
        ],
    )
    return int(seq), str(head)
