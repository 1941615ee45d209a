"""A two-faced origin for the multi-process tests: it shows each peer its own history.

A tiny FastAPI app run by uvicorn on the port of a node the hub really admitted, signing
with that node's real key (the test signs the records and hands them over in a JSON file
named by ``TWO_FACED_DATA``, read again on every request). Each request is answered from
the view of the node that sent it, told by the ``node hn-…`` its User-Agent names
(node.sync.peer_http), else from the ``"*"`` view::

    {"node": {...}, "roster_version": 3,
     "views": {"hn-…": [<envelope>, ...], "*": [<envelope>, ...]}}

Each view is a dense, correctly linked chain, so each victim alone sees nothing wrong:
``/federation/heads`` states its true tip, head, count and digest; ``/federation/records``
pages it with the exclusive cursor. Checkpoints and evidence are empty (the origin has no
reason to help; in-process tests may set ``OVERRIDES`` to serve doctored ones), nudges
are accepted and ignored. With ``TWO_FACED_LOG`` every heads and
records request is appended to that file as a JSON line (path, viewer, seqs served).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response

from federation import digest
from federation.signing import header_hash

DATA_ENV = "TWO_FACED_DATA"
LOG_ENV = "TWO_FACED_LOG"
_VIEWER = re.compile(r"node (hn-[a-z2-7]{24})")

app = FastAPI(title="two-faced origin")
# In-process tests may set "checkpoints" or "evidence" here: served as is instead.
OVERRIDES: dict[str, Any] = {}


def _data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(os.environ[DATA_ENV]).read_text(encoding="utf-8"))
    return data


def _viewer(request: Request) -> str:
    found = _VIEWER.search(request.headers.get("user-agent", ""))
    return found.group(1) if found else "*"


def _view(data: dict[str, Any], viewer: str) -> list[dict[str, Any]]:
    views: dict[str, list[dict[str, Any]]] = data["views"]
    return views.get(viewer, views["*"])


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
def heads(request: Request) -> Response:
    data, viewer = _data(), _viewer(request)
    chain = _view(data, viewer)
    me = data["node"]["node_id"]
    hashes = [header_hash(e["record"]) for e in chain]
    total = digest.combine(
        [digest.element(e["record"]["id"], e["record"]["version"], h)
         for e, h in zip(chain, hashes, strict=True)]
    )  # fmt: skip
    _log({"path": "heads", "viewer": viewer})
    origin = {"origin": me, "last_seq": len(chain), "head": hashes[-1] if hashes else None,
              "count": len(chain), "digest": total}  # fmt: skip
    proofs = len(OVERRIDES.get("evidence", {}).get("evidence", []))
    return _json({"node": me, "roster_version": data["roster_version"], "origins": [origin],
                  "evidence": proofs})  # fmt: skip


@app.get("/federation/records")
def records(request: Request, origin: str, after: int = 0, limit: int = 500) -> Response:
    data, viewer = _data(), _viewer(request)
    chain = _view(data, viewer) if origin == data["node"]["node_id"] else []
    served = [e for e in chain if e["record"]["seq"] > after][:limit]
    _log({"path": "records", "viewer": viewer, "seqs": [e["record"]["seq"] for e in served]})
    return _json({"origin": origin, "after": after, "last_seq": len(chain), "records": served})


@app.get("/federation/checkpoints")
def checkpoints() -> Response:
    if "checkpoints" in OVERRIDES:
        return _json(OVERRIDES["checkpoints"])
    return _json({"node": _data()["node"]["node_id"], "cosignatures": []})


@app.get("/federation/evidence")
def evidence() -> Response:
    if "evidence" in OVERRIDES:
        return _json(OVERRIDES["evidence"])
    return _json({"node": _data()["node"]["node_id"], "evidence": []})


@app.get("/federation/roster")
def roster() -> Response:
    return _json({"title": "this node holds no roster"}, status_code=404)


@app.post("/federation/nudge", status_code=202)
async def nudge(request: Request) -> Response:
    await request.body()
    return _json({"accepted": False}, status_code=202)
