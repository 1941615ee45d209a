"""The FHIR history (incremental harvest): ``/fhir/_history`` and ``/fhir/{type}/_history``.

A harvester stores the Bundle's ``meta.lastUpdated`` and passes it as the next ``_since``;
these tests check that it then never misses a change, whatever the order in which writes
commit or the time their origin issued them.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from sqlmodel import Session
from support.clock import Clock
from support.envelopes import sealed
from support.factories import add_event, add_member, member_body
from support.fedkit import Federation
from support.fhir import entries, fhir, local, outcome, provenance, validate, walk
from support.nodes import Node

from federation.keys import generate, node_id_for
from federation.signing import header_hash
from federation.trust import Trust
from node.db import store
from node.db.engine import writer
from node.fhir import bundles, params
from node.sync.ingest import PageResult, ingest_page
from schemas.geo import Region
from schemas.roster import RosterKey, RosterNode


def changes(pages: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """(method, url, versionId or etag, response status) of every entry, in order."""
    out = []
    for e in entries(pages):
        version = e["response"]["etag"].removeprefix('W/"').removesuffix('"')
        if "resource" in e:
            assert e["resource"]["meta"]["versionId"] == version
            assert e["request"]["url"] == f"{e['resource']['resourceType']}/{e['resource']['id']}"
        out.append((e["request"]["method"], e["request"]["url"], version, e["response"]["status"]))
    return out


def harvest(node: Node, path: str = "/fhir/_history", **params: Any) -> tuple[list[Any], str]:
    """All pages from ``path``, and the ``_since`` for the next harvest."""
    pages = walk(node, path, **params)
    marks = {p["meta"]["lastUpdated"] for p in pages}
    assert len(marks) == 1, "every page of one harvest carries the same watermark"
    return pages, marks.pop()


def test_history_lists_creates_updates_and_deletions_in_receipt_order(
    node: Node, clock: Clock
) -> None:
    a = add_member(node, name="Alpha")
    clock.advance(minutes=1)
    e = add_event(node)
    clock.advance(minutes=1)
    b = add_member(node, name="Beta", city=None, latitude=None, longitude=None)
    clock.advance(minutes=1)
    r = node.client.put(
        f"/admin/members/{a}",
        json=member_body(name="Alpha 2"),
        headers={**node.editor, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    clock.advance(minutes=1)
    assert node.client.delete(f"/admin/events/{e}", headers=node.editor).status_code == 200
    clock.advance(minutes=1)
    assert node.client.delete(f"/admin/members/{b}", headers=node.editor).status_code == 200
    clock.advance(minutes=10)

    pages, _ = harvest(node)
    # Current versions only, in the order this node received them; a first version
    # without a site has no Location entry; a tombstone deletes both resources.
    assert changes(pages) == [
        ("PUT", f"Organization/{a}", "2", "200 OK"),
        ("PUT", f"Location/{a}", "2", "200 OK"),
        ("DELETE", f"Location/{e}", "2", "410 Gone"),
        ("DELETE", f"Organization/{b}", "2", "410 Gone"),
        ("DELETE", f"Location/{b}", "2", "410 Gone"),
    ]
    org = entries(pages)[0]["resource"]
    assert org["name"] == "Alpha 2"
    assert fhir(node, f"/fhir/Organization/{a}") == org  # the same resource as a read

    # From a _since between the writes: the earlier ones are left out.
    later, _ = harvest(node, _since="2026-11-24T12:03:30Z")
    assert [c[1] for c in changes(later)] == [f"Location/{e}", f"Organization/{b}", f"Location/{b}"]
    # _since is inclusive: a change at exactly that instant is included.
    exact, _ = harvest(node, _since="2026-11-24T12:05:00Z")
    assert [c[1] for c in changes(exact)] == [f"Organization/{b}", f"Location/{b}"]

    orgs, _ = harvest(node, "/fhir/Organization/_history")
    assert [c[1] for c in changes(orgs)] == [f"Organization/{a}", f"Organization/{b}"]
    locs, _ = harvest(node, "/fhir/Location/_history")
    assert [c[1] for c in changes(locs)] == [f"Location/{a}", f"Location/{e}", f"Location/{b}"]
    typed, _ = harvest(node, _type="Location")
    assert changes(typed) == changes(locs)


def test_creations_are_posts_and_deletions_carry_the_signed_tombstone(
    node: Node, clock: Clock
) -> None:
    mid = add_member(node)
    eid = add_event(node, organizer=mid)
    pages, _ = harvest(node)
    assert changes(pages) == [
        ("POST", f"Organization/{mid}", "1", "201 Created"),
        ("POST", f"Location/{mid}", "1", "201 Created"),
        ("POST", f"Location/{eid}", "1", "201 Created"),
    ]
    venue = entries(pages)[2]["resource"]
    assert venue["managingOrganization"] == {"reference": f"Organization/{mid}"}

    clock.advance(minutes=1)
    assert node.client.delete(f"/admin/members/{mid}", headers=node.editor).status_code == 200
    pages, _ = harvest(node, "/fhir/Organization/_history", _since="2026-11-24T12:01:00Z")
    (gone,) = entries(pages)
    assert "resource" not in gone
    assert gone["request"] == {"method": "DELETE", "url": f"Organization/{mid}"}
    assert gone["response"]["status"] == "410 Gone"
    tombstone = node.client.get(f"/records/{mid}").json()["record"]
    assert tombstone["deleted"] is True
    prov = provenance(gone)
    assert prov["seq"] == tombstone["seq"] == 3
    assert prov["origin"] == tombstone["origin"]
    assert prov["signature"] == "verified"


def test_a_late_commit_is_not_missed_by_the_next_harvest(node: Node, clock: Clock) -> None:
    """A write that read the clock before a harvest ran but committed after it (a slow
    transaction) is stamped before the harvest: it is found with _since = the watermark."""
    first = add_member(node, name="First")
    clock.advance(minutes=30)
    pages, since = harvest(node)
    assert [c[1] for c in changes(pages)] == [f"Organization/{first}", f"Location/{first}"]
    harvested_at = clock()
    assert since == "2026-11-24T12:25:00Z"  # the harvest time minus the settling window

    clock.advance(minutes=-2)  # this write's clock was read before the harvest ran
    late = add_member(node, name="Late")
    clock.advance(minutes=10)
    received = provenance(fhir(node, f"/fhir/Organization/{late}"))["received"]
    assert received < harvested_at.strftime("%Y-%m-%dT%H:%M:%SZ")

    # Stamped before the first harvest ran: a harvester that passed the time of its
    # harvest as the next _since would have missed it; the watermark does not.
    pages, _ = harvest(node, _since=since)
    got = [c[1] for c in changes(pages)]
    assert got == [f"Organization/{late}", f"Location/{late}"]


def test_history_paging_is_stable_while_records_change(node: Node, clock: Clock) -> None:
    made = [add_member(node, name=f"Member {i}") for i in range(5)]
    first = fhir(node, "/fhir/_history", _count=3)
    assert len(first["entry"]) == 3
    served = changes([first])
    assert served[:2] == [
        ("POST", f"Organization/{made[0]}", "1", "201 Created"),
        ("POST", f"Location/{made[0]}", "1", "201 Created"),
    ]
    # Between pages: an already served member changes, one not yet served is deleted, a
    # new one arrives, and time passes.
    clock.advance(minutes=1)
    r = node.client.put(
        f"/admin/members/{made[0]}", json=member_body(name="M0"), headers=node.editor
    )
    assert r.status_code == 200
    assert node.client.delete(f"/admin/members/{made[3]}", headers=node.editor).status_code == 200
    new = add_member(node, name="New")
    clock.advance(hours=1)
    nxt = next(x["url"] for x in first["link"] if x["relation"] == "next")
    rest = walk(node, local(nxt))
    assert {p["meta"]["lastUpdated"] for p in rest} == {first["meta"]["lastUpdated"]}
    got = served + changes(rest)
    assert len(got) == len(set(got))  # no entry twice
    urls = [c[1] for c in got]
    # Every member's final state is reached, in receipt order.
    assert got[-6:] == [
        ("PUT", f"Organization/{made[0]}", "2", "200 OK"),
        ("PUT", f"Location/{made[0]}", "2", "200 OK"),
        ("DELETE", f"Organization/{made[3]}", "2", "410 Gone"),
        ("DELETE", f"Location/{made[3]}", "2", "410 Gone"),
        ("POST", f"Organization/{new}", "1", "201 Created"),
        ("POST", f"Location/{new}", "1", "201 Created"),
    ]
    for mid in (made[1], made[2], made[4]):
        assert urls.count(f"Organization/{mid}") == 1 and urls.count(f"Location/{mid}") == 1
    # The page boundary fell between a member's Organization and its Location: both served.
    assert (
        served[2][1] == f"Organization/{made[1]}" and changes(rest)[0][1] == f"Location/{made[1]}"
    )


def test_history_parameters_are_checked(node: Node) -> None:
    add_member(node)
    assert outcome(node, "/fhir/_history", 400, _since="last week")["expression"] == ["_since"]
    assert outcome(node, "/fhir/_history", 400, _at="2026")["code"] == "not-supported"
    assert outcome(node, "/fhir/_history", 400, _type="Patient")["code"] == "not-supported"
    r = node.client.get("/fhir/Organization/_history", params={"_type": "Organization"})
    assert r.status_code == 400  # _type is for the system-wide history only
    assert outcome(node, "/fhir/Patient/_history", 404)["code"] == "not-supported"
    page = fhir(node, "/fhir/_history", _count=1)
    cursor = local(page["link"][1]["url"]).split("cursor=")[1]
    issue = outcome(node, "/fhir/Organization/_history", 400, _count=1, cursor=cursor)
    assert issue["expression"] == ["cursor"]
    issue = outcome(node, "/fhir/_history", 400, cursor=cursor, _since="2026-01-01")
    assert issue["code"] == "invalid"
    assert "entry" not in fhir(node, "/fhir/_history", _count=0)
    lenient = fhir(node, "/fhir/_history", headers={"Prefer": "handling=lenient"}, _at="2026")
    assert len(lenient["entry"]) == 2
    # A history Bundle has no place for an outcome entry: the self link shows what applied.
    assert "_at" not in lenient["link"][0]["url"]
    # Only ASCII digits, and an instant is checked whole.
    assert outcome(node, "/fhir/_history", 400, _since="٢٠٢٦")["expression"] == ["_since"]
    history = params.History(("Organization", "Location"))
    for watermark in ("2026-11-24T12:00:00Z\n", "٢٠٢٦-11-24T12:00:00Z"):
        forged = bundles.history_cursor(
            history, "_history", bundles.Position(watermark, "2026-11-24T12:00:00Z", "x", 1, 0)
        )
        assert outcome(node, "/fhir/_history", 400, cursor=forged)["expression"] == ["cursor"]


def test_since_accepts_an_unescaped_plus_in_its_offset(node: Node, clock: Clock) -> None:
    add_member(node, name="Early")
    clock.advance(hours=1)
    late = add_member(node, name="Late")
    for query in ("_since=2026-11-24T14:30:00%2B02:00", "_since=2026-11-24T14:30:00+02:00"):
        r = node.client.get(f"/fhir/Organization/_history?{query}")
        assert r.status_code == 200, r.text
        assert [e["request"]["url"] for e in validate(r.json())["entry"]] == [
            f"Organization/{late}"
        ]


# --------------------------------------------------------------------------- many origins


def test_a_record_issued_long_ago_but_received_now_is_in_the_next_harvest(
    node: Node, clock: Clock
) -> None:
    """``_since`` compares receipt time on this node, not the origin's issued_at: a record
    that another origin issued a month ago and that reaches this node only now (a peer
    that was offline) is still in the harvest. No roster vouches for that origin here, so
    its signature status is "unverifiable", not "verified"."""
    add_member(node, name="Local")
    clock.advance(minutes=30)
    _, since = harvest(node)

    other = generate()
    origin = node_id_for(other.public_raw)
    rid = str(uuid.uuid4())
    body = member_body(name="Far away")
    envelope = sealed(
        other, origin, 1, None, body, record_id=rid, issued_at="2026-10-20T08:00:00Z"
    )
    clock.advance(minutes=1)
    with Session(writer(node.engine)) as session:
        store.apply(session, [envelope], received_at="2026-11-24T12:31:00Z")
        session.commit()

    pages, _ = harvest(node, _since=since)
    (org,) = [e["resource"] for e in entries(pages) if e["request"]["url"] == f"Organization/{rid}"]
    assert org["meta"]["lastUpdated"] == "2026-10-20T08:00:00Z" < since
    assert org["meta"]["source"] == f"urn:healthnet:node:{origin}"
    prov = provenance(org)
    assert prov["origin"] == origin and prov["received"] == "2026-11-24T12:31:00Z"
    assert prov["signature"] == "unverifiable"


def test_a_withheld_body_restored_later_is_in_the_next_harvest(node: Node, clock: Clock) -> None:
    """A relay withheld the body of a record's current version: this node stored a stub
    and kept showing the version before it. When an honest peer later sends the body,
    ``store.fill`` makes that version current and stamps it as received now, so a
    harvest from the previous watermark returns it (it was stamped long before)."""
    other = generate()
    origin = node_id_for(other.public_raw)
    trust = Trust(
        origin,
        {
            origin: RosterNode(
                node_id=origin,
                name="Elsewhere",
                leader="Elsewhere UMC",
                region=Region.EUROPE,
                url="https://elsewhere.test",
                keys=[RosterKey(key_id=other.key_id, public_key=other.public_b64)],
            )
        },
        1,
    )
    rid = str(uuid.uuid4())
    v1 = sealed(
        other,
        origin,
        1,
        None,
        member_body(name="Restored v1"),
        record_id=rid,
        issued_at="2026-11-24T11:00:00Z",
    )
    v2 = sealed(
        other,
        origin,
        2,
        header_hash(v1["record"]),
        member_body(name="Restored v2"),
        record_id=rid,
        version=2,
        issued_at="2026-11-24T11:30:00Z",
    )

    def receive(records: list[dict[str, Any]], now: str) -> PageResult:
        with Session(writer(node.engine)) as session:
            result = ingest_page(
                session, origin=origin, records=records, trust=trust, peer="relay", now=now
            )
            session.commit()
        return result

    withheld = receive([v1, {**v2, "body": None}], "2026-11-24T12:00:00Z")
    assert withheld.withheld == [2] and withheld.applied == 1
    assert fhir(node, f"/fhir/Organization/{rid}")["meta"]["versionId"] == "1"

    clock.advance(minutes=30)
    pages, since = harvest(node)
    assert changes(pages) == [
        ("POST", f"Organization/{rid}", "1", "201 Created"),
        ("POST", f"Location/{rid}", "1", "201 Created"),
    ]
    assert since == "2026-11-24T12:25:00Z"  # after the stub was stored

    clock.advance(minutes=10)
    restored = receive([v1, v2], "2026-11-24T12:40:00Z")  # an honest peer's full copy
    assert restored.filled == 1
    org = fhir(node, f"/fhir/Organization/{rid}")
    assert org["name"] == "Restored v2"
    assert provenance(org)["received"] == "2026-11-24T12:40:00Z"

    pages, _ = harvest(node, _since=since)
    assert changes(pages) == [
        ("PUT", f"Organization/{rid}", "2", "200 OK"),
        ("PUT", f"Location/{rid}", "2", "200 OK"),
    ]
    assert entries(pages)[0]["resource"] == org


def test_federated_records_carry_their_origin_and_verify_on_the_receiving_node(
    tmp_path: Path, clock: Clock
) -> None:
    async def scenario() -> None:
        fed = Federation(tmp_path, clock, lambda host: f"sqlite:///{tmp_path}/{host}.db")
        try:
            hub = fed.add("hub", Region.NORTH_AMERICA, hub=True, name="Mayo Clinic")
            eu = fed.add("europe", Region.EUROPE, name="Radboud UMC")
            mid = await fed.post(eu, "/admin/members", member_body())
            clock.advance(hours=2)
            async with hub.client() as client:
                before = validate((await client.get("/fhir/_history")).json())
                assert "entry" not in before
                await fed.converge()
                after = await client.get(
                    "/fhir/_history", params={"_since": before["meta"]["lastUpdated"]}
                )
                bundle = validate(after.json())
                org = (await client.get(f"/fhir/Organization/{mid}")).json()
            assert [e["request"]["url"] for e in bundle["entry"]] == [
                f"Organization/{mid}",
                f"Location/{mid}",
            ]
            assert org["meta"]["lastUpdated"] < before["meta"]["lastUpdated"]
            prov = provenance(org)
            assert prov["origin"] == eu.node_id != hub.node_id
            assert org["meta"]["source"] == f"urn:healthnet:node:{eu.node_id}"
            assert prov["signature"] == "verified"  # against the hub's roster
            assert prov["envelope"] == f"http://hub.test/records/{mid}"
        finally:
            await fed.close()

    asyncio.run(scenario())
