"""Sequence numbers and versions as 64-bit integers; an index on record ids.

The wire format allows counters up to 2**53 - 1, but PostgreSQL's INTEGER stops at 2**31 - 1,
so a peer's record with a large seq could not even be quarantined there. SQLite integers
are already 64-bit; its column types are left as they are. The record-id index serves the
check that no origin reuses another origin's record id.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = [
    ("records", "seq"),
    ("records", "version"),
    ("entries", "version"),
    ("entries", "seq"),
    ("origin_sequences", "last_seq"),
    ("origin_sequences", "count"),
    ("audit_log", "version"),
    ("audit_log", "seq"),
    ("quarantine", "seq"),
]


def upgrade() -> None:
    # SQLite is left alone: its INTEGER is already 64-bit, and rebuilding ``entries`` in
    # batch mode would drop the full-text triggers.
    if op.get_bind().dialect.name == "postgresql":
        for table, column in COLUMNS:
            op.alter_column(table, column, type_=sa.BigInteger, existing_type=sa.Integer)
    op.create_index("ix_records_record_id", "records", ["record_id"])


def downgrade() -> None:
    op.drop_index("ix_records_record_id", "records")
    if op.get_bind().dialect.name == "postgresql":
        for table, column in COLUMNS:
            op.alter_column(table, column, type_=sa.Integer, existing_type=sa.BigInteger)
