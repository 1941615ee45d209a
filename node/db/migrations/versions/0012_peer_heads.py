"""The heads each peer last showed, kept with its sync state (issue 13, several workers).

Before, the heads lived in the memory of the process that pulled, so with ``serve
--workers N`` the status, the node page and /metrics showed lag and agreement only when
the scheduling worker happened to answer. Stored here, every worker shows the same.

Revision ID: 0012
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("peers") as batch:
        batch.add_column(sa.Column("heads", sa.Text(), nullable=True))
        batch.add_column(sa.Column("heads_at", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("peers") as batch:
        batch.drop_column("heads_at")
        batch.drop_column("heads")
