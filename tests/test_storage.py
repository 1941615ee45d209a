"""Storage: migrations match the models, versions and sequences follow the rules, and
concurrent writers never produce a duplicate or a gap. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text
from sqlmodel import Session, SQLModel
from support.clock import Clock
from support.factories import event_body, member_body

from federation import keys
from federation.signing import verify_envelope
from node.db import migrate, store
from node.db.engine import make_engine, writer
from node.db.tables import SignedRecord
from node.errors import Conflict, NotFound
from node.publisher import Draft, Mode, decide, publish

ORIGIN_KEY = keys.from_seed(bytes(32))
ORIGIN = keys.node_id_for(ORIGIN_KEY.public_raw)


@pytest.fixture
def engine(database_url: str):  # type: ignore[no-untyped-def]
    eng = make_engine(database_url)
    migrate.upgrade(eng)
    with Session(eng) as session:
        store.ensure_origin(session, origin=ORIGIN)
        session.commit()
    yield eng
    eng.dispose()


def _publish(engine, clock: Clock, *drafts: Draft):  # type: ignore[no-untyped-def]
    with Session(writer(engine)) as session:
        out = publish(session, key=ORIGIN_KEY, origin=ORIGIN, drafts=list(drafts), now=clock())
        session.commit()
    return out


def _ignore_search_objects(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    # The full-text index is dialect-specific DDL that only the migration knows about.
    return not (
        name and (name.startswith("entries_fts") or name in ("search_tsv", "ix_entries_search"))
    )


def _compare_type(context, inspected, metadata, inspected_type, metadata_type):  # type: ignore[no-untyped-def]
    # SQLite has one 64-bit INTEGER type; BIGINT in the models is the same column there.
    if context.dialect.name == "sqlite" and {
        type(inspected_type).__name__,
        type(metadata_type).__name__,
    } <= {"INTEGER", "BigInteger", "Integer", "BIGINT"}:
        return False
    return None


def test_migration_matches_the_models(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"include_object": _ignore_search_objects, "compare_type": _compare_type}
        )
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == []


def test_downgrade_and_upgrade_again(engine) -> None:  # type: ignore[no-untyped-def]
    migrate.downgrade(engine, "base")
    assert migrate.current(engine) is None
    migrate.upgrade(engine)
    # The newest file under migrations/versions, whose number is its revision id: one
    # linear chain, so the highest number is the head.
    newest = max(p.name.split("_")[0] for p in (migrate.MIGRATIONS / "versions").glob("0*.py"))
    assert migrate.current(engine) == newest


def test_head_is_alembic_s_head_and_a_current_database_skips_alembic(
    engine, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    """``migrate.head()`` must name the newest migration (a file whose number is not its
    revision would leave every database a revision behind), and opening a database already there
    must not import Alembic (about 11 MB in every worker)."""
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(migrate._config()).get_heads() == [migrate.head()]
    assert migrate.stamped(engine) == [migrate.head()]
    check = (
        "import sys\n"
        "from node.db import migrate\n"
        "from node.db.engine import make_engine\n"
        f"e = make_engine({database_url!r})\n"
        "migrate.upgrade(e)\n"
        "print(migrate.stamped(e), 'alembic' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.split() == [f"['{migrate.head()}']", "False"]
    # One revision behind: upgrade does run Alembic, and brings it to the head.
    migrate.downgrade(engine, "0014")
    assert migrate.stamped(engine) == ["0014"]
    migrate.upgrade(engine)
    assert migrate.stamped(engine) == [migrate.head()] and migrate.current(engine) == migrate.head()


def test_a_database_alembic_never_touched_stamps_nothing(tmp_path: Path) -> None:
    eng = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        assert migrate.stamped(eng) == []
        migrate.upgrade(eng)
        assert migrate.stamped(eng) == [migrate.head()]
    finally:
        eng.dispose()


def test_0007_tags_the_events_already_held_by_how_one_takes_part(engine, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    """Events stored before 0007 gain their attendance tags on upgrade; members gain none."""
    online, hybrid, venue = (str(uuid.uuid4()) for _ in range(3))
    _publish(
        engine,
        clock,
        Draft("event", online, Mode.CREATE, event_body(venue=None, online_url="https://x.test/w")),
        Draft("event", hybrid, Mode.CREATE, event_body(online_url="https://x.test/h")),
        Draft("event", venue, Mode.CREATE, event_body()),
        Draft("member", str(uuid.uuid4()), Mode.CREATE, member_body()),
    )
    tags = (
        "SELECT e.record_id, t.value FROM entry_tags t JOIN entries e ON e.pk = t.entry_pk"
        " WHERE t.tag = 'attendance'"
    )
    expected = {(online, "online"), (hybrid, "online"), (hybrid, "in_person"), (venue, "in_person")}
    with engine.connect() as conn:
        assert set(conn.execute(text(tags)).all()) == expected  # the projection writes them
    migrate.downgrade(engine, "0006")
    with engine.connect() as conn:
        assert conn.execute(text(tags)).all() == []
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert set(conn.execute(text(tags)).all()) == expected


def test_0002_backfills_chain_summaries(engine, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    """Logs written before 0002 get their head, count and digest computed on upgrade."""
    rid = str(uuid.uuid4())
    _publish(engine, clock, Draft("member", rid, Mode.CREATE, member_body()))
    _publish(engine, clock, Draft("member", rid, Mode.UPDATE, member_body(city="Arnhem")))
    summary = "SELECT last_seq, head, count, digest FROM origin_sequences WHERE origin = :o"
    with engine.connect() as conn:
        before = conn.execute(text(summary), {"o": ORIGIN}).one()
    assert before.count == 2 and before.head is not None
    migrate.downgrade(engine, "0001")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        after = conn.execute(text(summary), {"o": ORIGIN}).one()
    assert tuple(after) == tuple(before)


def test_upgrade_keeps_data(engine, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    rid = str(uuid.uuid4())
    _publish(engine, clock, Draft("member", rid, Mode.CREATE, member_body()))
    migrate.upgrade(engine)  # a restart re-runs upgrade: must be a no-op that keeps rows
    with Session(engine) as session:
        assert session.get(SignedRecord, (ORIGIN, 1)).record_id == rid


@pytest.mark.parametrize(
    ("mode", "current", "expected", "outcome"),
    [
        (Mode.CREATE, None, None, 1),
        (Mode.CREATE, store.Current("member", 1, False, "h"), None, Conflict),
        (Mode.CREATE, store.Current("member", 2, True, None), None, Conflict),
        (Mode.UPDATE, None, None, NotFound),
        (Mode.UPDATE, store.Current("member", 3, False, "h"), None, 4),
        (Mode.UPDATE, store.Current("member", 3, False, "h"), 3, 4),
        (Mode.UPDATE, store.Current("member", 3, False, "h"), 2, Conflict),
        (Mode.UPDATE, store.Current("member", 3, True, None), None, NotFound),
        (Mode.UPDATE, store.Current("event", 3, False, "h"), None, NotFound),
        (Mode.DELETE, store.Current("member", 1, False, "h"), None, 2),
        (Mode.DELETE, store.Current("member", 2, True, None), None, NotFound),
        (Mode.UPSERT, None, None, 1),
        (Mode.UPSERT, store.Current("member", 2, True, None), None, 3),  # re-import revives
        (Mode.UPSERT, store.Current("member", 2, False, "other"), None, 3),
        (Mode.UPSERT, store.Current("event", 2, False, "h"), None, Conflict),
    ],
)
def test_decide(mode: Mode, current, expected, outcome) -> None:  # type: ignore[no-untyped-def]
    body = None if mode is Mode.DELETE else member_body()
    draft = Draft("member", "x", mode, body, expected)
    if isinstance(outcome, type):
        with pytest.raises(outcome):
            decide(draft, current)
    else:
        assert decide(draft, current) == outcome


def test_upsert_of_identical_body_issues_nothing() -> None:
    from federation.signing import body_hash

    body = member_body()
    current = store.Current("member", 5, False, body_hash(body))
    assert decide(Draft("member", "x", Mode.UPSERT, body), current) is None


def test_superseded_versions_become_stubs(engine, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    rid = str(uuid.uuid4())
    _publish(engine, clock, Draft("member", rid, Mode.CREATE, member_body()))
    _publish(engine, clock, Draft("member", rid, Mode.UPDATE, member_body(city="Arnhem")))
    _publish(engine, clock, Draft("member", rid, Mode.DELETE))
    with Session(engine) as session:
        rows = session.exec(select(SignedRecord).order_by(SignedRecord.seq)).scalars().all()
    assert [(r.seq, r.version, r.current, r.deleted, r.body is None) for r in rows] == [
        (1, 1, False, False, True),
        (2, 2, False, False, True),
        (3, 3, True, True, True),
    ]
    public = ORIGIN_KEY.private.public_key()
    for r in rows:  # every stored row still verifies: stubs keep header and signature
        verify_envelope({"record": json.loads(r.header), "body": None, "sig": r.sig}, public)
    with Session(engine) as session:
        assert session.execute(text("SELECT count(*) FROM entries")).scalar_one() == 0


def test_same_record_twice_in_one_batch(engine, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    rid = str(uuid.uuid4())
    out = _publish(
        engine,
        clock,
        Draft("member", rid, Mode.UPSERT, member_body(city="A")),
        Draft("member", rid, Mode.UPSERT, member_body(city="B")),
    )
    assert [o.envelope["record"]["version"] for o in out] == [1, 2]
    with Session(engine) as session:
        rows = session.exec(select(SignedRecord).order_by(SignedRecord.seq)).scalars().all()
        city = session.execute(text("SELECT city FROM entries")).scalar_one()
    assert [(r.version, r.current, r.body is None) for r in rows] == [
        (1, False, True),
        (2, True, False),
    ]
    assert city == "B"


def test_failed_batch_leaves_nothing(engine, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    rid = str(uuid.uuid4())
    _publish(engine, clock, Draft("member", rid, Mode.CREATE, member_body()))
    with pytest.raises(Conflict):
        _publish(
            engine,
            clock,
            Draft("member", str(uuid.uuid4()), Mode.CREATE, member_body(name="Fine")),
            Draft("member", rid, Mode.CREATE, member_body()),  # exists: the whole batch fails
        )
    with Session(engine) as session:
        assert store.last_seq(session, origin=ORIGIN) == 1
        assert session.execute(text("SELECT count(*) FROM records")).scalar_one() == 1
        assert session.execute(text("SELECT count(*) FROM entries")).scalar_one() == 1


def test_concurrent_writers_get_dense_unique_sequences(engine, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    """Several threads write at once; every write lands, and the sequence has no gap."""
    errors: list[BaseException] = []
    per_thread, threads = 15, 4

    def work(n: int) -> None:
        try:
            for i in range(per_thread):
                _publish(
                    engine,
                    clock,
                    Draft("member", str(uuid.uuid4()), Mode.CREATE, member_body(name=f"W{n}-{i}")),
                )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=120)
    assert not errors, errors
    with Session(engine) as session:
        seqs = session.execute(text("SELECT seq FROM records ORDER BY seq")).scalars().all()
        assert store.last_seq(session, origin=ORIGIN) == per_thread * threads
    assert seqs == list(range(1, per_thread * threads + 1))


def test_projection_rebuilds_from_records_alone(engine, clock: Clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The search index is disposable: re-applying the stored records reproduces it."""
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for i, rid in enumerate(ids):
        _publish(engine, clock, Draft("member", rid, Mode.CREATE, member_body(name=f"Org {i}")))
    _publish(engine, clock, Draft("member", ids[0], Mode.UPDATE, member_body(name="Renamed")))
    _publish(engine, clock, Draft("member", ids[1], Mode.DELETE))
    with Session(engine) as session:
        before = session.execute(
            text("SELECT record_id, name, version FROM entries ORDER BY record_id")
        ).all()
        current = session.exec(select(SignedRecord).where(SignedRecord.current)).scalars().all()
        envelopes = [
            {
                "record": json.loads(r.header),
                "body": None if r.body is None else json.loads(r.body),
                "sig": r.sig,
            }
            for r in current
        ]
    other = make_engine(f"sqlite:///{tmp_path / 'copy.db'}")
    migrate.upgrade(other)
    with Session(writer(other)) as session:
        store.apply(session, envelopes, received_at="2026-11-24T00:00:00Z")
        session.commit()
        after = session.execute(
            text("SELECT record_id, name, version FROM entries ORDER BY record_id")
        ).all()
    assert [tuple(r) for r in after] == [tuple(r) for r in before]
    assert {r[1] for r in after} == {"Renamed", "Org 2"}
