"""Storage tables: the storage model family, separate from the wire models in ``schemas``.

``records`` keeps every signed envelope this node holds, one row per (origin, seq), so
the sequence of each origin stays dense and provable. Only the current version of a record
keeps its body; superseded versions keep header and signature (a "stub"). ``entries`` is
the searchable projection of current, non-deleted records, rebuilt from ``records`` alone.
Changing these tables never changes signed bytes: the signed header is stored verbatim.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel


class SignedRecord(SQLModel, table=True):
    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("origin", "record_id", "version", name="uq_records_version"),
        Index("ix_records_origin_record", "origin", "record_id"),
        Index("ix_records_record_id", "record_id"),
        # Stubs only (superseded or withheld versions): finding withheld bodies is then a
        # walk over the few stubs instead of a scan of every record.
        Index(
            "ix_records_stubs",
            "origin",
            "seq",
            sqlite_where=text("body IS NULL"),
            postgresql_where=text("body IS NULL"),
        ),
    )

    origin: str = Field(primary_key=True, max_length=32)
    seq: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    record_id: str = Field(max_length=36)
    kind: str = Field(max_length=16)
    version: int = Field(sa_type=BigInteger)
    issued_at: str = Field(max_length=32)
    deleted: bool = False
    current: bool = True
    header: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON as signed
    sig: str = Field(max_length=90)
    body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    received_at: str = Field(max_length=32)


class Entry(SQLModel, table=True):
    """The current state of one member or event, shaped for filtering and search.

    ``pk`` is assigned once, on first insert, and never changes: listing cursors key on
    it, so a record that is edited during pagination never moves across the cursor.
    """

    __tablename__ = "entries"
    __table_args__ = (
        Index("ix_entries_kind_region", "kind", "region"),
        Index("ix_entries_kind_country", "kind", "country"),
        Index("ix_entries_kind_ends", "kind", "ends_at"),
        Index("ix_entries_lat", "lat"),
        Index("ix_entries_kind_sort", "kind", "sort_name", "pk"),
        Index("ix_entries_kind_start", "kind", "starts_at", "pk"),
        Index("ix_entries_kind_geo", "kind", "lat", "lon"),
        # SQLite also has ``entries_fts_walk`` (members' name order with their words, for a
        # bounded text search): dialect-specific DDL in migration 0013, like the FTS5 table.
    )

    pk: int | None = Field(default=None, primary_key=True)
    record_id: str = Field(max_length=36, unique=True)
    origin: str = Field(max_length=32)
    kind: str = Field(max_length=16)
    version: int = Field(sa_type=BigInteger)
    seq: int = Field(sa_type=BigInteger)
    name: str = Field(max_length=200)
    sort_name: str = Field(max_length=200)
    name_tokens: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    category: str = Field(max_length=40)
    region: str = Field(max_length=20)
    country: str | None = Field(default=None, max_length=2)
    city: str | None = Field(default=None, max_length=120)
    role: str | None = Field(default=None, max_length=30)
    status: str | None = Field(default=None, max_length=20)
    organizer: str | None = Field(default=None, max_length=64)
    lat: float | None = None
    lon: float | None = None
    starts_at: str | None = Field(default=None, max_length=32)
    ends_at: str | None = Field(default=None, max_length=32)
    search_text: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: str = Field(max_length=32)


class EntryTag(SQLModel, table=True):
    """Topics and languages, one row each, so filters use an index instead of LIKE."""

    __tablename__ = "entry_tags"
    __table_args__ = (Index("ix_entry_tags_lookup", "tag", "value", "entry_pk"),)

    entry_pk: int = Field(
        sa_column=Column(Integer, ForeignKey("entries.pk", ondelete="CASCADE"), primary_key=True)
    )
    tag: str = Field(primary_key=True, max_length=10)
    value: str = Field(primary_key=True, max_length=64)


class OriginSequence(SQLModel, table=True):
    """The last sequence number this node allocated, or holds, per origin.

    Allocation is ``UPDATE ... SET last_seq = last_seq + 1`` inside the write transaction:
    the row lock serialises writers and a rollback returns the number, so a failed write
    leaves no gap.
    """

    __tablename__ = "origin_sequences"

    origin: str = Field(primary_key=True, max_length=32)
    last_seq: int = Field(default=0, sa_type=BigInteger)
    # The held log of this origin, summarised: chain head (hash of the header at last_seq),
    # number of records, and the set digest of federation.digest. Updated with every apply.
    head: str | None = Field(default=None, max_length=60)
    count: int = Field(default=0, sa_type=BigInteger)
    digest: str = Field(default="0" * 64, max_length=64)


class ApiToken(SQLModel, table=True):
    """A bearer token. Only the SHA-256 of its secret is stored."""

    __tablename__ = "api_tokens"

    id: str = Field(primary_key=True, max_length=16)
    role: str = Field(max_length=10)
    secret_hash: str = Field(max_length=64)
    label: str = Field(default="", max_length=200)
    created_at: str = Field(max_length=32)
    revoked_at: str | None = Field(default=None, max_length=32)


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: str = Field(max_length=32, index=True)
    token_id: str | None = Field(default=None, max_length=16)
    action: str = Field(max_length=40)
    target_kind: str | None = Field(default=None, max_length=16)
    target_id: str | None = Field(default=None, max_length=36)
    version: int | None = Field(default=None, sa_type=BigInteger)
    seq: int | None = Field(default=None, sa_type=BigInteger)
    outcome: str = Field(max_length=20)
    detail: str = Field(default="", max_length=1000)


class ConsoleSession(SQLModel, table=True):
    """A signed-in person in the leaders' console (node.console). Only the SHA-256 of the
    session id is stored, as for tokens: a copy of the database cannot be used to sign in.
    In the database, not in a worker's memory, so every worker and replica knows it."""

    __tablename__ = "console_sessions"

    id_hash: str = Field(primary_key=True, max_length=64)
    token_id: str = Field(max_length=16, index=True)
    created_at: str = Field(max_length=32)
    seen_at: str = Field(max_length=32)
    ended_at: str | None = Field(default=None, max_length=32)


class Peer(SQLModel, table=True):
    """Sync state per peer, kept in the database so backoff survives a restart."""

    __tablename__ = "peers"

    node_id: str = Field(primary_key=True, max_length=32)
    url: str = Field(max_length=500)
    last_attempt: str | None = Field(default=None, max_length=32)
    last_success: str | None = Field(default=None, max_length=32)
    failures: int = 0
    next_attempt: str | None = Field(default=None, max_length=32)
    last_error: str = Field(default="", max_length=1000)
    records_in: int = 0
    # The heads the peer showed at its last pull (schemas.sync.Heads as JSON), and when:
    # every worker of the node reads them here, whichever process pulled.
    heads: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    heads_at: str | None = Field(default=None, max_length=32)


class RateBucket(SQLModel, table=True):
    """One key's token bucket of one rate limit (node.ratelimit.SharedBuckets): kept here
    so that every worker and replica of the node spends the same allowance. ``key`` is a
    hash of the client's address or token id; ``stamp`` is wall-clock seconds."""

    __tablename__ = "rate_buckets"

    scope: str = Field(primary_key=True, max_length=20)
    key: str = Field(primary_key=True, max_length=32)
    tokens: float
    stamp: float


class Quarantine(SQLModel, table=True):
    """Records refused from peers, with the reason and, for equivocation, the evidence."""

    __tablename__ = "quarantine"
    __table_args__ = (Index("ix_quarantine_origin", "origin", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    at: str = Field(max_length=32)
    peer: str = Field(max_length=32)
    origin: str | None = Field(default=None, max_length=32)
    seq: int | None = Field(default=None, sa_type=BigInteger)
    record_id: str | None = Field(default=None, max_length=36)
    reason: str = Field(max_length=30)
    detail: str = Field(default="", max_length=1000)
    envelope: str = Field(sa_column=Column(Text, nullable=False))
    evidence: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class JoinRequestRow(SQLModel, table=True):
    """A signed join request received by the hub (node.joins), and what became of it.

    ``body`` is the envelope as verified (canonical JSON), so the decision can be checked
    against the applicant's signature later. ``nonce`` is unique: the same request sent
    twice, or replayed by anyone, cannot create a second row. Rows are kept once decided:
    the applicant polls the outcome, and the nonces must stay known."""

    __tablename__ = "join_requests"

    id: str = Field(primary_key=True, max_length=16)
    node_id: str = Field(max_length=32, index=True)
    body: str = Field(sa_column=Column(Text, nullable=False))
    fingerprint: str = Field(max_length=19)
    status: str = Field(max_length=16, index=True)
    reason: str = Field(default="", max_length=500)
    received_at: str = Field(max_length=32)
    decided_at: str | None = Field(default=None, max_length=32)
    nonce: str = Field(max_length=64, unique=True)
    client: str = Field(default="", max_length=64)


class ImportJob(SQLModel, table=True):
    """A file import started in the console (node.import_jobs), and how far it got.

    In the database, not in the worker's memory, so that whichever worker answers the
    status page can show it. ``heartbeat_at`` is moved while the import runs: a job whose
    heartbeat stopped (the process was restarted) is read as interrupted, never as running
    forever. ``errors`` is the report's bad rows as JSON ``[[line, field, reason], ...]``.
    """

    __tablename__ = "import_jobs"

    id: str = Field(primary_key=True, max_length=32)
    token_id: str = Field(max_length=16, index=True)
    kind: str = Field(max_length=16)
    filename: str = Field(default="", max_length=200)
    status: str = Field(max_length=16)
    total: int = 0
    done: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    detail: str = Field(default="", max_length=1000)
    started_at: str = Field(max_length=32)
    heartbeat_at: str = Field(max_length=32)
    finished_at: str | None = Field(default=None, max_length=32)


class CosignatureRow(SQLModel, table=True):
    """The newest checkpoint cosignature of each witness for each origin
    (federation.witness): this node's own, and those its peers served, each verified
    before it was stored. An export carries them, so that a record can be shown to be in
    the log that these nodes saw."""

    __tablename__ = "cosignatures"

    origin: str = Field(primary_key=True, max_length=32)
    witness: str = Field(primary_key=True, max_length=32)
    size: int = Field(sa_type=BigInteger)
    head: str = Field(max_length=60)
    key_id: str = Field(max_length=20)
    time: str = Field(max_length=32)
    sig: str = Field(max_length=90)
    received_at: str = Field(max_length=32)


class EvidenceRow(SQLModel, table=True):
    """A checked equivocation proof (federation.evidence): two headers one origin signed
    that cannot both be in its log. Kept for good and served to peers; one row per pair of
    headers, however many peers showed it."""

    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("hash_a", "hash_b", name="uq_evidence_pair"),)

    id: int | None = Field(default=None, primary_key=True)
    origin: str = Field(max_length=32, index=True)
    seq: int = Field(sa_type=BigInteger)
    shape: str = Field(max_length=20)
    hash_a: str = Field(max_length=60)
    hash_b: str = Field(max_length=60)
    proof: str = Field(sa_column=Column(Text, nullable=False))
    learned_from: str = Field(max_length=32)
    at: str = Field(max_length=32)


# Core table handles for statements in node/db (SQLAlchemy Core is used for the batched
# paths, where ORM objects would cost more than the writes themselves).
RECORDS = SignedRecord.__table__  # type: ignore[attr-defined]
ENTRIES = Entry.__table__  # type: ignore[attr-defined]
TAGS = EntryTag.__table__  # type: ignore[attr-defined]
SEQUENCES = OriginSequence.__table__  # type: ignore[attr-defined]
QUARANTINE = Quarantine.__table__  # type: ignore[attr-defined]
PEERS = Peer.__table__  # type: ignore[attr-defined]
COSIGNATURES = CosignatureRow.__table__  # type: ignore[attr-defined]
EVIDENCE = EvidenceRow.__table__  # type: ignore[attr-defined]
RATE_BUCKETS = RateBucket.__table__  # type: ignore[attr-defined]
