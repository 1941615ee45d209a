"""Indexes in the directory's sort orders, so a page is an index walk, not a sort.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_entries_kind_sort", "entries", ["kind", "sort_name", "pk"])
    op.create_index("ix_entries_kind_start", "entries", ["kind", "starts_at", "pk"])
    op.create_index("ix_entries_kind_geo", "entries", ["kind", "lat", "lon"])


def downgrade() -> None:
    op.drop_index("ix_entries_kind_geo", "entries")
    op.drop_index("ix_entries_kind_start", "entries")
    op.drop_index("ix_entries_kind_sort", "entries")
