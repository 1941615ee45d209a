"""Per-peer sync state as node/db/peers.py writes it, on each backend: the first write of a
peer creates its row, later ones update it, and the counters add up across pulls."""

from __future__ import annotations

from sqlmodel import Session

from node.db import peers
from node.db.session import writer
from node.db.setup import open_database
from schemas.sync import Heads

PEER = "hn-" + "a" * 24
FIRST = Heads(node=PEER, roster_version=1, origins=[])
LATER = Heads(node=PEER, roster_version=2, origins=[], evidence=1)


def test_success_failure_and_heads_write_one_row_per_peer(database_url: str) -> None:
    engine = open_database(database_url, origin="hn-" + "b" * 24)
    try:
        with Session(writer(engine)) as s:
            assert peers.get(s, node_id=PEER, url="http://x") == peers.PeerState(PEER, "http://x")
            assert peers.failures(s, node_id=PEER) == 0
            # First seen through its heads: a row with no URL yet.
            peers.record_heads(
                s, node_id=PEER, heads=FIRST.model_dump_json(), now="2026-12-08T00:00:00Z"
            )
            s.commit()
        with Session(engine) as s:
            assert peers.get(s, node_id=PEER, url="?") == peers.PeerState(PEER, "")
            assert peers.heads_seen(s) == {PEER: FIRST}

        with Session(writer(engine)) as s:
            for n in range(2):
                peers.record_failure(
                    s,
                    node_id=PEER,
                    url="http://peer",
                    now=f"2026-12-08T00:0{n + 1}:00Z",
                    error=f"refused {n}",
                    next_attempt="2026-12-08T01:00:00Z",
                )
            s.commit()
        with Session(engine) as s:
            state = peers.get(s, node_id=PEER, url="?")
            assert (state.failures, state.last_error, state.next_attempt) == (
                2,
                "refused 1",
                "2026-12-08T01:00:00Z",
            )
            assert not state.healthy and peers.failures(s, node_id=PEER) == 2

        with Session(writer(engine)) as s:
            for applied in (3, 4):
                peers.record_success(
                    s,
                    node_id=PEER,
                    url="http://peer",
                    now="2026-12-08T00:05:00Z",
                    applied=applied,
                    note="",
                    heads=LATER.model_dump_json() if applied == 4 else None,
                )
            s.commit()
        with Session(engine) as s:
            state = peers.get(s, node_id=PEER, url="?")
            assert state == peers.PeerState(
                PEER,
                "http://peer",
                last_attempt="2026-12-08T00:05:00Z",
                last_success="2026-12-08T00:05:00Z",
                failures=0,
                next_attempt=None,
                last_error="",
                records_in=7,
            )
            assert state.healthy
            assert list(peers.every(s)) == [PEER]
            assert peers.heads_seen_of(s, node_id=PEER) == LATER
    finally:
        engine.dispose()


def test_a_first_success_creates_the_row_with_its_count(database_url: str) -> None:
    engine = open_database(database_url, origin="hn-" + "b" * 24)
    try:
        with Session(writer(engine)) as s:
            peers.record_success(
                s, node_id=PEER, url="http://peer", now="t1", applied=5, note="a" * 2000
            )
            s.commit()
        with Session(engine) as s:
            state = peers.get(s, node_id=PEER, url="?")
            assert (state.records_in, state.failures, len(state.last_error)) == (5, 0, 1000)
    finally:
        engine.dispose()
