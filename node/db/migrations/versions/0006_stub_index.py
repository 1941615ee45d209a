"""A partial index over stubs (records without a body), for the withheld-body check.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_records_stubs",
        "records",
        ["origin", "seq"],
        sqlite_where=sa.text("body IS NULL"),
        postgresql_where=sa.text("body IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_records_stubs", "records")
