"""The published JSON Schema documents of the wire format (docs/SCHEMAS.md).

Served from the files committed under ``schemas/json/`` (package data), byte for byte, not
regenerated per request: every node of one release then serves the identical contract, and
what a client fetches is exactly what the repository reviewed. Each document's ``$id`` is
a name (``urn:healthnet:schema:v1:<name>``) that carries the protocol version and is never
fetched; the index gives each id with the URL it is served at.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from fastapi import APIRouter, Response

from node.errors import NotFound
from node.problem_docs import responses
from schemas.published import INDEX

MEDIA_TYPE = "application/schema+json"

router = APIRouter(prefix="/schemas", tags=["schemas"], responses=responses(404))


@cache
def published() -> dict[str, bytes]:
    """File name -> bytes of the index and of every document it lists, read once."""
    folder = resources.files("schemas").joinpath("json")
    index = folder.joinpath(INDEX).read_bytes()
    names = [entry["name"] for entry in json.loads(index)["schemas"]]
    return {INDEX: index} | {name: folder.joinpath(name).read_bytes() for name in names}


_DOCUMENT: dict[int | str, dict[str, Any]] = {
    200: {"description": "A JSON Schema (draft 2020-12) document", "content": {MEDIA_TYPE: {}}}
}


@router.get("/", response_class=Response, responses={200: {"content": {"application/json": {}}}})
def schema_index() -> Response:
    """Every published schema, with the URL it is served at (relative to this node)."""
    return Response(published()[INDEX], media_type="application/json")


@router.get("/{name}", response_class=Response, responses=_DOCUMENT)
def schema_document(name: str) -> Response:
    """One published schema, e.g. ``envelope.schema.json``."""
    documents = published()
    if name not in documents:
        raise NotFound(f"no published schema {name!r}; GET /schemas/ lists them")
    media_type = "application/json" if name == INDEX else MEDIA_TYPE
    return Response(documents[name], media_type=media_type)
