"""Checkpoint cosignatures and equivocation proofs (issue 14, split views caught).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cosignatures",
        sa.Column("origin", sa.String(32), primary_key=True),
        sa.Column("witness", sa.String(32), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("head", sa.String(60), nullable=False),
        sa.Column("key_id", sa.String(20), nullable=False),
        sa.Column("time", sa.String(32), nullable=False),
        sa.Column("sig", sa.String(90), nullable=False),
        sa.Column("received_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("shape", sa.String(20), nullable=False),
        sa.Column("hash_a", sa.String(60), nullable=False),
        sa.Column("hash_b", sa.String(60), nullable=False),
        sa.Column("proof", sa.Text(), nullable=False),
        sa.Column("learned_from", sa.String(32), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.UniqueConstraint("hash_a", "hash_b", name="uq_evidence_pair"),
    )
    op.create_index("ix_evidence_origin", "evidence", ["origin"])


def downgrade() -> None:
    op.drop_index("ix_evidence_origin", table_name="evidence")
    op.drop_table("evidence")
    op.drop_table("cosignatures")
