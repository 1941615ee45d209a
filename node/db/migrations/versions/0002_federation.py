"""Federation: per-origin chain head, count and digest; peers; quarantine.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

S = sa.String


def upgrade() -> None:
    with op.batch_alter_table("origin_sequences") as batch:
        batch.add_column(sa.Column("head", S(60), nullable=True))
        batch.add_column(sa.Column("count", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("digest", S(64), nullable=False, server_default="0" * 64))
    op.create_table(
        "peers",
        sa.Column("node_id", S(32), primary_key=True),
        sa.Column("url", S(500), nullable=False),
        sa.Column("last_attempt", S(32), nullable=True),
        sa.Column("last_success", S(32), nullable=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("next_attempt", S(32), nullable=True),
        sa.Column("last_error", S(1000), nullable=False),
        sa.Column("records_in", sa.Integer, nullable=False),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", S(32), nullable=False),
        sa.Column("peer", S(32), nullable=False),
        sa.Column("origin", S(32), nullable=True),
        sa.Column("seq", sa.Integer, nullable=True),
        sa.Column("record_id", S(36), nullable=True),
        sa.Column("reason", S(30), nullable=False),
        sa.Column("detail", S(1000), nullable=False),
        sa.Column("envelope", sa.Text, nullable=False),
        sa.Column("evidence", sa.Text, nullable=True),
    )
    op.create_index("ix_quarantine_origin", "quarantine", ["origin", "seq"])
    _backfill()


def _backfill() -> None:
    """Compute head, count and digest for logs written before this revision."""
    import json

    from federation import digest
    from federation.canonical import sha256_tag

    bind = op.get_bind()
    origins = [r[0] for r in bind.execute(sa.text("SELECT origin FROM origin_sequences"))]
    for origin in origins:
        total, elements, head = 0, [], None
        rows = bind.execute(
            sa.text("SELECT header FROM records WHERE origin = :o ORDER BY seq"), {"o": origin}
        )
        for (header,) in rows:
            h = sha256_tag(header.encode("utf-8"))
            data = json.loads(header)
            elements.append(digest.element(data["id"], data["version"], h))
            total, head = total + 1, h
        bind.execute(
            sa.text(
                "UPDATE origin_sequences SET head = :h, count = :c, digest = :d WHERE origin = :o"
            ),
            {"h": head, "c": total, "d": digest.combine(elements), "o": origin},
        )


def downgrade() -> None:
    op.drop_table("quarantine")
    op.drop_table("peers")
    with op.batch_alter_table("origin_sequences") as batch:
        batch.drop_column("digest")
        batch.drop_column("count")
        batch.drop_column("head")
