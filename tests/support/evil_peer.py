"""A malicious peer for the multi-process tests: a tiny FastAPI app run by uvicorn.

It takes the port of a node the hub really admitted (so the hub trusts the roster entry that
points here) and speaks just enough of the sync protocol (docs/PROTOCOL.md 10.2) to serve
crafted envelopes: ``GET /node`` (a copy of the real node's answer), ``GET
/federation/heads``, ``GET /federation/records`` and ``POST /federation/nudge`` (accepted
and ignored), plus ``GET /healthz`` so the test can wait for it.

Everything it serves comes from a JSON file named by the ``EVIL_PEER_DATA`` environment
variable, read again on every request, so the test can move it from one stage of the attack
to the next by replacing that file (atomically)::

    {"stage": "...", "node": {...}, "roster_version": 3,
     "origins": {"hn-...": {"last_seq": 5, "records": [<envelope>, ...]}}}

``/federation/heads`` claims ``last_seq`` for every listed origin (a claim, nothing more);
``/federation/records`` answers a request for a listed origin with exactly the listed
records, whatever cursor was asked for (a relay that serves whatever it was told to: a
record at or below the cursor is how a replay or an equivocation reaches the receiver).

With ``"drip_seconds": N`` in the file, ``/federation/heads`` sends its answer one byte
(JSON whitespace) a second for N seconds before the JSON itself: a peer so slow that no
per-read timeout ever fires.

When ``EVIL_PEER_LOG`` names a file, every heads and records request is appended to it as
one JSON line (path, stage, and for records the origin, cursor and seqs served), so the
test can tell that the hub really asked and was served a given stage.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import StreamingResponse

DATA_ENV = "EVIL_PEER_DATA"
LOG_ENV = "EVIL_PEER_LOG"

app = FastAPI(title="evil peer")


def _data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(os.environ[DATA_ENV]).read_text(encoding="utf-8"))
    return data


def _json(payload: Any, status_code: int = 200) -> Response:
    return Response(json.dumps(payload), status_code=status_code, media_type="application/json")


def _log(entry: dict[str, Any]) -> None:
    path = os.environ.get(LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")


@app.get("/healthz")
def healthz() -> Response:
    return _json({"status": "ok", "database": "none"})


@app.get("/node")
def node() -> Response:
    return _json(_data()["node"])


@app.get("/federation/heads")
async def heads() -> Response:
    data = _data()
    _log({"path": "heads", "stage": data["stage"]})
    origins = [
        {
            "origin": origin,
            "last_seq": item["last_seq"],
            "head": None,
            "count": item["last_seq"],
            "digest": "0" * 64,
        }
        for origin, item in data["origins"].items()
    ]
    payload = {
        "node": data["node"]["node_id"],
        "roster_version": data["roster_version"],
        "origins": origins,
    }
    drip = float(data.get("drip_seconds", 0))
    if drip <= 0:
        return _json(payload)

    async def slowly() -> AsyncIterator[bytes]:
        for _ in range(int(drip)):
            yield b" "
            await asyncio.sleep(1.0)
        yield json.dumps(payload).encode("utf-8")

    return StreamingResponse(slowly(), media_type="application/json")


@app.get("/federation/records")
def records(origin: str, after: int = 0, limit: int = 500) -> Response:
    data = _data()
    item = data["origins"].get(origin, {"last_seq": 0, "records": []})
    served = item["records"][:limit]
    _log(
        {
            "path": "records",
            "stage": data["stage"],
            "origin": origin,
            "after": after,
            "seqs": [
                e["record"].get("seq") if isinstance(e.get("record"), dict) else None
                for e in served
            ],
        }
    )
    return _json(
        {"origin": origin, "after": after, "last_seq": item["last_seq"], "records": served}
    )


@app.get("/federation/roster")
def roster() -> Response:
    return _json({"title": "this node holds no roster"}, status_code=404)


@app.post("/federation/nudge", status_code=202)
async def nudge(request: Request) -> Response:
    await request.body()
    return _json({"accepted": False}, status_code=202)
