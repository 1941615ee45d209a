"""The session and engine types the rest of the node uses, and the one database error a
caller may catch (a URL that cannot be opened), so that nothing outside node/db imports
sqlalchemy or sqlmodel (the one database seam)."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError as DatabaseError
from sqlmodel import Session

from node.db.engine import writer

__all__ = ["DatabaseError", "Engine", "Session", "ping", "writer"]


def ping(session: Session) -> str:
    """One round trip to the database (a health check must touch it, not just the
    process), answering the dialect's name."""
    session.execute(text("SELECT 1"))
    return session.get_bind().dialect.name
