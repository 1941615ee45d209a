"""Join requests received by the hub (issue 12, "Joining the network").

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "join_requests",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("node_id", sa.String(32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(19), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("received_at", sa.String(32), nullable=False),
        sa.Column("decided_at", sa.String(32), nullable=True),
        sa.Column("nonce", sa.String(64), nullable=False, unique=True),
        sa.Column("client", sa.String(64), nullable=False),
    )
    op.create_index("ix_join_requests_node_id", "join_requests", ["node_id"])
    op.create_index("ix_join_requests_status", "join_requests", ["status"])


def downgrade() -> None:
    op.drop_index("ix_join_requests_status", "join_requests")
    op.drop_index("ix_join_requests_node_id", "join_requests")
    op.drop_table("join_requests")
