"""Alembic environment: Posko's tables, SQLite in batch mode so ALTERs work there too."""

from alembic import context
from sqlmodel import SQLModel

import backend.models  # noqa: F401  (registers every table)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    """Run with the connection Posko hands over (see backend.migrate)."""
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `posko db upgrade` or backend.migrate")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline migrations are not supported")
run_migrations_online()
