"""Search text as plain words on both backends; PostgreSQL weights the name by name_tokens.

PostgreSQL's text-search parser keeps hosts, e-mail addresses, paths and signed numbers as
single tokens (``uzleuven@mastodon.social``), so ``q=mastodon`` found nothing there while
SQLite's FTS5 split them. Text is now split into words in Python before it is stored.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from node.db.text import index_text

    with op.batch_alter_table("entries") as batch:
        batch.add_column(sa.Column("name_tokens", sa.Text, nullable=False, server_default=""))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT pk, name, search_text FROM entries")).all()
    for pk, name, search_text in rows:
        bind.execute(
            sa.text("UPDATE entries SET name_tokens = :n, search_text = :s WHERE pk = :pk"),
            {"n": index_text(name), "s": index_text(search_text), "pk": pk},
        )
    if bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_entries_search")
        op.execute("ALTER TABLE entries DROP COLUMN search_tsv")
        op.execute(
            "ALTER TABLE entries ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('simple', name_tokens), 'A') || "
            "setweight(to_tsvector('simple', search_text), 'B')) STORED"
        )
        op.execute("CREATE INDEX ix_entries_search ON entries USING gin (search_tsv)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_entries_search")
        op.execute("ALTER TABLE entries DROP COLUMN search_tsv")
        op.execute(
            "ALTER TABLE entries ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('simple', sort_name), 'A') || "
            "setweight(to_tsvector('simple', search_text), 'B')) STORED"
        )
        op.execute("CREATE INDEX ix_entries_search ON entries USING gin (search_tsv)")
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("name_tokens")
