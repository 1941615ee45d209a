"""Alembic environment. The connection is handed in by ``node.db.migrate``; no URL is read here."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from node.db import tables  # noqa: F401  (registers the tables on SQLModel.metadata)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
