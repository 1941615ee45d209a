"""tests/vectors/merge.json against a real node: every case's ``after`` (what is stored,
served back, shown and quarantined, docs/PROTOCOL.md 12.3) is what ``node.sync.ingest``
does on SQLite and PostgreSQL, read back through the node's own HTTP API. After every case
the node's export passes its own offline check (``node.verifier``), so no verdict leaves
behind a chain that ``healthnet verify`` would reject.

test_protocol_vectors.py checks the verdicts against the pure ``federation.merge``; the
``after`` values were computed by the generator's model of section 10.4, written apart from
node/, so a node that stores, strips or restores differently fails here.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session
from support.clock import START, Clock
from support.merge_vectors import MERGE, ORIGIN, signed_records
from support.nodes import Node, make_node

from federation.keys import public_key
from federation.signing import header_hash
from federation.trust import Trust
from node.db import exports, quarantine
from node.db.engine import writer
from node.sync.ingest import PageResult, ingest_page
from node.verifier import verify_lines
from schemas.geo import Region
from schemas.roster import RosterKey, RosterNode

OTHER = MERGE["other_origin"]
CASES = [case for case in MERGE["cases"] if case["reachable"]]
NOW = "2026-12-07T09:00:00Z"


OTHER_KEY = MERGE["other_public_key"]


def _trust() -> Trust:
    def listed(node_id: str, key: str, name: str) -> RosterNode:
        return RosterNode(
            node_id=node_id,
            name=name,
            leader=name,
            region=Region.EUROPE,
            url=f"https://{name.lower()}.test",
            keys=[RosterKey(key_id="ed25519:1", public_key=key)],
        )

    return Trust(
        ORIGIN,
        {
            ORIGIN: listed(ORIGIN, MERGE["origin"]["public_key"], "Origin"),
            OTHER: listed(OTHER, OTHER_KEY, "Other"),
        },
        1,
    )


def _receive(node: Node, origin: str, records: list[dict[str, Any]]) -> PageResult:
    with Session(writer(node.engine)) as session:
        result = ingest_page(
            session, origin=origin, records=records, trust=_trust(), peer="peer.test", now=NOW
        )
        session.commit()
    return result


def _served(node: Node) -> list[dict[str, Any]]:
    response = node.client.get("/federation/records", params={"origin": ORIGIN, "after": 0})
    assert response.status_code == 200, response.text
    return [
        {"seq": e["record"]["seq"], "header_hash": header_hash(e["record"]),
         "body": e["body"] is not None}
        for e in response.json()["records"]
    ]  # fmt: skip


def _export_verdict(node: Node) -> list[str]:
    keys = {ORIGIN: public_key(MERGE["origin"]["public_key"]), OTHER: public_key(OTHER_KEY)}
    with Session(node.engine) as session:
        lines = list(exports.envelopes(session))
    verdict = verify_lines(lines, lambda origin, key_id, seq: keys.get(origin))
    return verdict.failures


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_a_node_stores_and_serves_what_the_vector_says(node: Node, case: dict[str, Any]) -> None:
    held, after, offered = case["held"], case["after"], case["offered"]
    if held["owner"] == OTHER:
        assert _receive(node, OTHER, MERGE["other_log"]).rejected == {}
    log = MERGE["log"][: held["last_seq"]]
    if log:
        first = _receive(node, ORIGIN, log)
        assert first.rejected == {} and first.tip == held["last_seq"]

    result = _receive(node, ORIGIN, [offered])

    # what is quarantined, and the tip
    assert result.tip == after["last_seq"]
    expected = after["quarantined"]
    assert result.rejected == ({expected: 1} if expected else {})
    with Session(node.engine) as session:
        assert quarantine.by_reason(session) == ({expected: 1} if expected else {})
    # what is served back, seq by seq, and the head that commits to it
    assert _served(node) == after["served"]
    heads = {h["origin"]: h for h in node.client.get("/federation/heads").json()["origins"]}
    if after["last_seq"]:
        assert heads[ORIGIN]["last_seq"] == after["last_seq"]
        assert heads[ORIGIN]["head"] == after["head"]
    else:
        assert heads.get(ORIGIN, {"last_seq": 0})["last_seq"] == 0
    # what the directory shows of the offered record
    header = offered["record"]
    shown = node.client.get(f"/{header['kind']}s/{header['id']}")
    if held["owner"] == OTHER:  # the other origin's record stays as it was
        assert shown.status_code == 200 and shown.json()["origin"] == OTHER
    elif after["shown"] is None:
        assert shown.status_code == 404, shown.text
    else:
        assert shown.status_code == 200 and shown.json()["version"] == after["shown"]
    # and what it exports is a chain its own verify accepts
    assert _export_verdict(node) == []


# --------------------------------------------------------------------------- any order


def test_a_page_that_repeats_a_withheld_body_restores_it_once(node: Node) -> None:
    """Found by the property below: two copies of one body in a page used to project the
    record twice in one statement, a database error (a 500, and a pull that never ends)."""
    stub, full = (
        MERGE["log"][0],
        next(c["offered"] for c in MERGE["cases"] if c["name"] == "withheld_body_restored"),
    )
    assert _receive(node, ORIGIN, [stub]).withheld == [1]
    result = _receive(node, ORIGIN, [full, full])
    assert (result.filled, result.duplicates, result.rejected) == (1, 2, {})
    assert node.client.get(f"/members/{stub['record']['id']}").json()["version"] == 1
    assert _export_verdict(node) == []


# every signed record of the origin, full where a body exists, in a fixed order
POOL = sorted(
    signed_records().values(), key=lambda e: (e["record"]["seq"], header_hash(e["record"]))
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pages=st.lists(
        st.lists(st.tuples(st.integers(0, len(POOL) - 1), st.booleans()), min_size=1, max_size=4),
        min_size=1,
        max_size=6,
    )
)
def test_whatever_peers_offer_the_node_serves_a_chain_its_verify_accepts(
    tmp_path_factory: pytest.TempPathFactory, pages: list[list[tuple[int, bool]]]
) -> None:
    """Relays that withhold bodies, replay old versions, send two histories or skip seqs,
    in any order and any grouping into pages: what the node then exports passes its own
    ``healthnet verify``, and the directory shows the one version that carries its body."""
    home = tmp_path_factory.mktemp("any-order")
    node = make_node(home / "home", f"sqlite:///{home / 'node.db'}", Clock(START))
    try:
        for page in pages:
            offers = [{**POOL[i], "body": None} if stub else POOL[i] for i, stub in page]
            # a page is in seq order and dense in what a peer serves; a hostile one is not
            _receive(node, ORIGIN, sorted(offers, key=lambda e: e["record"]["seq"]))
        assert _export_verdict(node) == []
        served = node.client.get("/federation/records", params={"origin": ORIGIN, "after": 0})
        records = served.json()["records"]
        assert [e["record"]["seq"] for e in records] == list(range(1, len(records) + 1))
        for rid, kind in {(e["record"]["id"], e["record"]["kind"]) for e in records}:
            live = [e for e in records if e["record"]["id"] == rid and e["body"] is not None]
            got = node.client.get(f"/{kind}s/{rid}")
            assert len(live) <= 1
            if live:
                assert got.status_code == 200
                assert got.json()["version"] == live[0]["record"]["version"]
            else:
                assert got.status_code == 404
    finally:
        node.client.close()
        node.engine.dispose()
