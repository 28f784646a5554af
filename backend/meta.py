"""A small key-value table for server-wide stamps (registry version, schema facts)."""

from sqlmodel import Field, Session, SQLModel, select


class Meta(SQLModel, table=True):
    """One named value."""

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=500)


REGISTRY_STAMP = "registry_stamp"
EXERCISE_CLOCK = "exercise_clock"  # start, speed and real origin of a running exercise


def get_value(*, session: Session, key: str) -> str | None:
    """Read a value, or None."""
    row = session.exec(select(Meta).where(Meta.key == key)).first()
    return row.value if row else None


def set_value(*, session: Session, key: str, value: str) -> None:
    """Write a value (caller commits)."""
    row = session.get(Meta, key)
    if row is None:
        session.add(Meta(key=key, value=value))
    else:
        row.value = value
        session.add(row)
