"""The session and engine types the rest of the node uses, and the one database error a
caller may catch (a URL that cannot be opened), so that nothing outside node/db imports
sqlalchemy or sqlmodel (the one database seam)."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError as DatabaseError
from sqlmodel import Session

from node.db.engine import writer

__all__ = ["DatabaseError", "Engine", "Session", "writer"]
