"""Initial schema: signed records, the directory projection, tokens and the audit log.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

S = sa.String


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("origin", S(32), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("record_id", S(36), nullable=False),
        sa.Column("kind", S(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("issued_at", S(32), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("current", sa.Boolean, nullable=False),
        sa.Column("header", sa.Text, nullable=False),
        sa.Column("sig", S(90), nullable=False),
        sa.Column("body", sa.Text, nullable=True),
        sa.Column("received_at", S(32), nullable=False),
        sa.UniqueConstraint("origin", "record_id", "version", name="uq_records_version"),
    )
    op.create_index("ix_records_origin_record", "records", ["origin", "record_id"])

    op.create_table(
        "entries",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_id", S(36), nullable=False, unique=True),
        sa.Column("origin", S(32), nullable=False),
        sa.Column("kind", S(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("name", S(200), nullable=False),
        sa.Column("sort_name", S(200), nullable=False),
        sa.Column("category", S(40), nullable=False),
        sa.Column("region", S(20), nullable=False),
        sa.Column("country", S(2), nullable=True),
        sa.Column("city", S(120), nullable=True),
        sa.Column("role", S(30), nullable=True),
        sa.Column("status", S(20), nullable=True),
        sa.Column("organizer", S(64), nullable=True),
        sa.Column("lat", sa.Float, nullable=True),
        sa.Column("lon", sa.Float, nullable=True),
        sa.Column("starts_at", S(32), nullable=True),
        sa.Column("ends_at", S(32), nullable=True),
        sa.Column("search_text", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("updated_at", S(32), nullable=False),
    )
    op.create_index("ix_entries_kind_region", "entries", ["kind", "region"])
    op.create_index("ix_entries_kind_country", "entries", ["kind", "country"])
    op.create_index("ix_entries_kind_ends", "entries", ["kind", "ends_at"])
    op.create_index("ix_entries_lat", "entries", ["lat"])

    op.create_table(
        "entry_tags",
        sa.Column(
            "entry_pk",
            sa.Integer,
            sa.ForeignKey("entries.pk", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("tag", S(10), primary_key=True),
        sa.Column("value", S(64), primary_key=True),
    )
    op.create_index("ix_entry_tags_lookup", "entry_tags", ["tag", "value", "entry_pk"])

    op.create_table(
        "origin_sequences",
        sa.Column("origin", S(32), primary_key=True),
        sa.Column("last_seq", sa.Integer, nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", S(16), primary_key=True),
        sa.Column("role", S(10), nullable=False),
        sa.Column("secret_hash", S(64), nullable=False),
        sa.Column("label", S(200), nullable=False),
        sa.Column("created_at", S(32), nullable=False),
        sa.Column("revoked_at", S(32), nullable=True),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", S(32), nullable=False),
        sa.Column("token_id", S(16), nullable=True),
        sa.Column("action", S(40), nullable=False),
        sa.Column("target_kind", S(16), nullable=True),
        sa.Column("target_id", S(36), nullable=True),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("seq", sa.Integer, nullable=True),
        sa.Column("outcome", S(20), nullable=False),
        sa.Column("detail", S(1000), nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    _create_search_index()


def _create_search_index() -> None:
    """Full-text search over folded (lower-case, accent-free) text, per dialect.

    The text is folded in Python before it is stored and before a query is built, so both
    backends see the same tokens; the index only has to do prefix matching and column
    weights (name vs. everything else).
    """
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE entries_fts USING fts5(sort_name, search_text, "
            "content='entries', content_rowid='pk', "
            "tokenize='unicode61 remove_diacritics 2', prefix='2 3')"
        )
        op.execute(
            "CREATE TRIGGER entries_fts_ai AFTER INSERT ON entries BEGIN "
            "INSERT INTO entries_fts(rowid, sort_name, search_text) "
            "VALUES (new.pk, new.sort_name, new.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER entries_fts_ad AFTER DELETE ON entries BEGIN "
            "INSERT INTO entries_fts(entries_fts, rowid, sort_name, search_text) "
            "VALUES ('delete', old.pk, old.sort_name, old.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER entries_fts_au AFTER UPDATE OF sort_name, search_text ON entries "
            "BEGIN "
            "INSERT INTO entries_fts(entries_fts, rowid, sort_name, search_text) "
            "VALUES ('delete', old.pk, old.sort_name, old.search_text); "
            "INSERT INTO entries_fts(rowid, sort_name, search_text) "
            "VALUES (new.pk, new.sort_name, new.search_text); END"
        )
    else:
        op.execute(
            "ALTER TABLE entries ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('simple', sort_name), 'A') || "
            "setweight(to_tsvector('simple', search_text), 'B')) STORED"
        )
        op.execute("CREATE INDEX ix_entries_search ON entries USING gin (search_tsv)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS entries_fts")
    for table in (
        "audit_log",
        "api_tokens",
        "origin_sequences",
        "entry_tags",
        "entries",
        "records",
    ):
        op.drop_table(table)
