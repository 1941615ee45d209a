"""One record that breaks I-JSON is a bad record, not a bad page (docs/PROTOCOL.md 10.4):
``federation.canonical.loads_page`` marks it, ``checks.prepare`` refuses it, ingest
quarantines it alone and keeps the records before it; only a duplicate in the page object
itself makes the response unreadable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Response
from support.clock import Clock
from support.envelopes import sealed
from support.factories import member_body
from support.federation_world import run, sqlite_urls
from support.fedkit import Federation, get_json

from federation import digest
from federation.canonical import Duplicated, loads, loads_page
from federation.checks import check_page_bytes
from federation.errors import WireFormatError
from federation.signing import header_hash
from schemas.geo import Region


def test_a_record_with_a_repeated_name_is_marked_and_the_rest_are_not() -> None:
    text = (
        '{"origin":"o","after":0,"last_seq":3,"records":['
        '{"record":{"seq":1},"body":null,"sig":"s"},'
        '{"record":{"seq":2,"seq":3},"body":null,"sig":"s"},'
        '{"record":{"seq":3},"body":{"social":[{"x":1,"x":2}]},"sig":"s"}]}'
    )
    page = loads_page(text)
    first, second, third = page["records"]
    assert type(first) is dict and first["record"] == {"seq": 1}
    assert type(second) is Duplicated and second.duplicate == "seq"
    assert type(third) is Duplicated and third.duplicate == "x"  # found inside an array
    with pytest.raises(WireFormatError):
        loads(text)  # everywhere else a repeated name is refused outright


@pytest.mark.parametrize(
    "text", ['{"origin":"o","origin":"p","records":[]}', '{"records":[],"records":[]}']
)
def test_a_repeated_name_in_the_page_itself_makes_it_unreadable(text: str) -> None:
    with pytest.raises(WireFormatError, match="duplicate member name"):
        loads_page(text)


def test_a_page_without_repeats_parses_as_loads_does() -> None:
    text = '{"origin":"o","records":[{"record":{"seq":1,"a":[1,{"b":2}]}}]}'
    assert loads_page(text) == loads(text)
    assert all(type(r) is dict for r in loads_page(text)["records"])


def test_a_peer_page_with_one_bad_record_keeps_the_good_ones(tmp_path: Path, clock: Clock) -> None:
    async def scenario() -> None:
        fed = Federation(tmp_path, clock, sqlite_urls(tmp_path))
        hub = fed.add("hub", Region.NORTH_AMERICA, hub=True, name="Mayo Clinic")
        africa = fed.add("africa", Region.AFRICA, name="Kenyatta")
        try:
            await fed.converge()
            key, origin = africa.app.state.runtime.key, africa.node_id
            chain: list[dict[str, Any]] = []
            prev = None
            for n in (1, 2, 3):
                body = member_body(name=f"Clinic {n}", region="africa", country="KE")
                chain.append(sealed(key, origin, n, prev, body))
                prev = header_hash(chain[-1]["record"])
            texts = [json.dumps(e, separators=(",", ":")) for e in chain]
            # Record 2 repeats "seq" (its value is what it was): valid to a last-wins parser.
            texts[1] = texts[1].replace('"seq":2', '"seq":2,"seq":2', 1)
            head = header_hash(chain[-1]["record"])
            total = digest.combine([
                digest.element(e["record"]["id"], 1, header_hash(e["record"])) for e in chain
            ])  # fmt: skip
            app = FastAPI()

            @app.get("/federation/heads")
            def heads() -> Response:
                origins = [{"origin": origin, "last_seq": 3, "head": head, "count": 3,
                            "digest": total}]  # fmt: skip
                payload = {"node": origin, "roster_version": 2, "origins": origins}
                return Response(json.dumps(payload), media_type="application/json")

            @app.get("/federation/records")
            def records(after: int = 0) -> Response:
                served = ",".join(texts[after:])
                text = f'{{"origin":"{origin}","after":{after},"last_seq":3,"records":[{served}]}}'
                return Response(text, media_type="application/json")

            fed.net.add(africa.host, app)
            trust = hub.sync.trust.current
            assert trust is not None
            result = await hub.sync.puller.pull(trust.nodes[origin], force=True)
            assert result.ok and result.applied == 1, result
            assert result.stopped == [f"{origin}: malformed at seq 2"]
            status = await get_json(hub, "/federation/status")
            assert status["quarantine"]["by_reason"] == {"malformed": 1}
            row = next(p for p in status["peers"] if p["node_id"] == origin)
            assert row["healthy"] is True  # a bad record, not a bad peer response
            held = (await get_json(hub, "/federation/heads"))["origins"]
            assert next(o for o in held if o["origin"] == origin)["last_seq"] == 1
            # A far-behind pull checks its pages in a worker process, from the bytes: the
            # same verdict there.
            page = f'{{"origin":"{origin}","after":0,"last_seq":3,"records":[{",".join(texts)}]}}'
            checked = check_page_bytes(page.encode(), trust, origin)
            assert len(checked.passed) == 1 and checked.failure is not None
            assert checked.failure[0] == "malformed" and "'seq' appears twice" in checked.failure[1]
        finally:
            await fed.close()

    run(scenario())
