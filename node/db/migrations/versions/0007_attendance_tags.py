"""Attendance tags on events (online, in person, or both), for the ``attendance`` filter.

New writes get the tags from the projection; events already held get them here, from
the body the projection keeps, so no record is re-fetched or re-verified.

Revision ID: 0007
Revises: 0006
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from node.db.projection import attendance

    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT pk, body FROM entries WHERE kind = 'event'")).all()
    tags = [{"pk": pk, "way": way} for pk, body in rows for way in attendance(json.loads(body))]
    if tags:
        bind.execute(
            sa.text(
                "INSERT INTO entry_tags (entry_pk, tag, value) VALUES (:pk, 'attendance', :way)"
            ),
            tags,
        )


def downgrade() -> None:
    op.execute("DELETE FROM entry_tags WHERE tag = 'attendance'")
