"""Who a token lets write: here, apart from node.tokens, so the CLI can offer the roles
without importing the database layer."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # everything an editor can do, plus the audit log
    EDITOR = "editor"  # write members and events
