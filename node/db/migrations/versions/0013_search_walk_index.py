"""SQLite: the directory's name order with the searched words in it, for a bounded search.

A search for a common word ("health" matches two thirds of 100k members) cannot look its
matches up by rowid without reading them all. It walks the entries in name order instead
and stops after a page, checking each entry's words as it passes (``node.db.search``).
This index holds those words beside the sort key, so the walk reads the index alone
(about 0.2 µs an entry) instead of every entry's table row (about 2 µs).

SQLite only, and named as part of the full-text machinery (``entries_fts*``): PostgreSQL's
B-tree entries are capped at about 2.7 kB, which a long description would exceed, and there
the walk checks the row itself. Nothing writes to it: SQLite keeps it with the table, so
the projection needs no change and it is rebuilt with ``entries``. Members only (a partial
index): events are listed by start, and with this index in reach SQLite would walk it and
sort every event instead.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE INDEX IF NOT EXISTS entries_fts_walk "
            "ON entries (kind, sort_name, pk, name_tokens, search_text) WHERE kind = 'member'"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP INDEX IF EXISTS entries_fts_walk")
