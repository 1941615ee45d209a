"""The session and engine types the rest of the node uses, so that nothing outside
node/db imports sqlalchemy or sqlmodel (the one database seam)."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from node.db.engine import writer

__all__ = ["Engine", "Session", "writer"]
