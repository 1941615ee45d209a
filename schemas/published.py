"""The published JSON Schema (draft 2020-12) documents of the wire format.

Other implementations validate against these instead of reading Python, so the documents
are generated from the pydantic models (never written by hand) and committed under
``schemas/json/``: ``healthnet schemas`` rewrites them and ``tests/test_json_schemas_*.py``
fails when they are stale. How each custom validator is carried (a keyword, or a note in a
description) is decided in ``schemas.published_rules``. docs/SCHEMAS.md is the reader's
guide.

Each document is self-contained (everything it refers to is in its own ``$defs``), so a
validator needs no registry and no network. Pure: no I/O; ``files()`` returns the exact
text of every file to publish.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode

from schemas.event import EventBody, EventPublic
from schemas.member import MemberBody, MemberPublic
from schemas.published_rules import UNCHECKED, Generator, add_note
from schemas.record import PROTOCOL_VERSION, Counter, Envelope, NodeId, RecordId, Timestamp
from schemas.roster import RosterBody

DIALECT = "https://json-schema.org/draft/2020-12/schema"
# Each document's ``$id`` is an absolute URI, as 2020-12 recommends for a root schema: a URN
# that carries the protocol version and names no internet host, so no validator is tempted
# to fetch it and no host is mistaken for an authority. It only names the document (and is
# the base its internal "#/$defs/..." refs resolve against); where a node serves the
# document is ``BASE`` + file name, listed in the index.
ID_PREFIX = f"urn:healthnet:schema:v{PROTOCOL_VERSION}:"
BASE = "/schemas/"
INDEX = "index.json"
GENERATED = "Generated from the pydantic models by `healthnet schemas`; do not edit by hand."


@dataclass(frozen=True)
class Spec:
    """One published document: ``root`` in ``mode``, plus the models ``finish`` refers to.

    Bodies that writers send and peers check are "validation" schemas; what a node returns
    to readers is a "serialization" schema.
    """

    name: str
    title: str
    description: str
    root: type[BaseModel]
    mode: JsonSchemaMode
    also: tuple[type[BaseModel], ...] = ()
    finish: Callable[[dict[str, Any]], None] | None = None

    @property
    def id(self) -> str:
        """``urn:healthnet:schema:v1:member`` for ``member.schema.json``."""
        return ID_PREFIX + self.name.removesuffix(".schema.json")

    @property
    def url(self) -> str:
        """The path every node serves the document at."""
        return BASE + self.name


def _typed_bodies(doc: dict[str, Any]) -> None:
    """docs/PROTOCOL.md 10.1 step 6: a body follows the schema ``record.kind`` names."""
    for kind, model in (("member", MemberBody), ("event", EventBody), ("roster", RosterBody)):
        body = {"anyOf": [{"type": "null"}, {"$ref": f"#/$defs/{model.__name__}"}]}
        doc["allOf"].append(
            {
                "if": {"properties": {"record": {"properties": {"kind": {"const": kind}}}}},
                "then": {"properties": {"body": body}},
            }
        )


def _roster_record(doc: dict[str, Any]) -> None:
    record = {"properties": {"kind": {"const": "roster"}, "deleted": {"const": False}}}
    body = {"$ref": f"#/$defs/{RosterBody.__name__}"}
    doc["allOf"].append({"properties": {"record": record, "body": body}})


def _read_shape(doc: dict[str, Any]) -> None:
    """The model declares what a node adds to a body as plain ``str`` and ``int``; they are
    the record's header values (and instants the node derives), so say so."""
    extra: dict[str, Any] = {"id": RecordId, "origin": NodeId, "version": Counter}
    extra |= dict.fromkeys(("updated_at", "starts_at_utc", "ends_at_utc"), Timestamp)
    for name, kind in extra.items():
        if name in doc["properties"]:
            doc["properties"][name] |= TypeAdapter(kind).json_schema(schema_generator=Generator)


_NORMAL_FORM = (
    " This is the normal form the origin signs: text trimmed, country codes in upper case, "
    "topics in lower case, no duplicate topics or languages. The admin API also accepts "
    "input that it can normalise, and normalises it before signing."
)
_READ = (
    " GET /{kind}s/{{id}} returns one, GET /{kind}s a page of them (`items`): the signed "
    "body as stored (optional fields may be absent), plus the record's id, origin, version "
    "and issue time (`updated_at`)."
)
_SHAPE_ONLY = (
    " The schema checks the shape (docs/PROTOCOL.md section 7, step 2) and the body; it "
    "cannot check the signature, that the body hashes to `body_hash`, the `prev` chain "
    "link, the key's validity or the origin's scope. JSON Schema also counts 5.0 as an "
    "integer, while the protocol requires integers written without fraction or exponent."
)

SPECS: tuple[Spec, ...] = (
    Spec(
        "member.schema.json",
        "healthnet member body",
        "The body of a record of kind `member` (docs/PROTOCOL.md 8.1)." + _NORMAL_FORM,
        MemberBody,
        "validation",
    ),
    Spec(
        "member-public.schema.json",
        "healthnet member, as read",
        "A member as a node returns it to readers." + _READ.format(kind="member"),
        MemberPublic,
        "serialization",
        finish=_read_shape,
    ),
    Spec(
        "event.schema.json",
        "healthnet event body",
        "The body of a record of kind `event` (docs/PROTOCOL.md 8.2)." + _NORMAL_FORM,
        EventBody,
        "validation",
    ),
    Spec(
        "event-public.schema.json",
        "healthnet event, as read",
        "An event as a node returns it to readers."
        + _READ.format(kind="event")
        + " `starts_at_utc` and `ends_at_utc` are derived by the node, never signed.",
        EventPublic,
        "serialization",
        finish=_read_shape,
    ),
    Spec(
        "envelope.schema.json",
        "healthnet signed record envelope",
        "A record as it travels (docs/PROTOCOL.md 3-5): the signed header, the body or null "
        "(a stub or a tombstone) and the signature. A body follows the schema that "
        "`record.kind` names." + _SHAPE_ONLY,
        Envelope,
        "validation",
        also=(MemberBody, EventBody, RosterBody),
        finish=_typed_bodies,
    ),
    Spec(
        "roster.schema.json",
        "healthnet roster body",
        "The body of the hub's record of kind `roster`: the nodes of the network, their keys "
        "and status (docs/PROTOCOL.md 10.1).",
        RosterBody,
        "validation",
    ),
    Spec(
        "roster-record.schema.json",
        "healthnet roster record",
        "The current roster as GET /federation/roster returns it: an envelope of kind "
        "`roster` with its body." + _SHAPE_ONLY,
        Envelope,
        "validation",
        also=(RosterBody,),
        finish=_roster_record,
    ),
)


def _unchecked(description: str | None) -> list[str]:
    return [p for p in (description or "").split("\n\n") if p.startswith(UNCHECKED)]


def document(spec: Spec) -> dict[str, Any]:
    """One self-contained document: the root model inline, the rest in ``$defs``."""
    generator = Generator()
    _, generated = generator.generate_definitions(
        [(m, spec.mode, m.__pydantic_core_schema__) for m in (spec.root, *spec.also)]
    )
    defs: dict[str, Any] = {str(name): value for name, value in generated.items()}
    for model, _validator, rule in sorted(generator.model_rules, key=lambda r: r[:2]):
        target = defs[model]
        if rule.on_model and rule.on_model not in target.get("allOf", []):
            target.setdefault("allOf", []).append(copy.deepcopy(rule.on_model))
        if rule.note:
            target["description"] = add_note(target.get("description"), rule.note)
    for other in SPECS:  # a body inside the envelope reads as its own document does
        if other.root.__name__ in defs and other.mode == spec.mode and other.root is not spec.root:
            held = defs[other.root.__name__]
            held["title"] = other.title
            held["description"] = "\n\n".join(
                [other.description, *_unchecked(held.get("description"))]
            )
    root = defs.pop(spec.root.__name__)
    doc: dict[str, Any] = {
        **root,
        "$schema": DIALECT,
        "$id": spec.id,
        "$comment": GENERATED,
        "title": spec.title,
        "description": "\n\n".join([spec.description, *_unchecked(root.get("description"))]),
        "allOf": root.get("allOf", []),
    }
    if defs:
        doc["$defs"] = defs
    if spec.finish is not None:
        spec.finish(doc)
    if not doc["allOf"]:
        del doc["allOf"]
    _portable(doc, root_ref=f"#/$defs/{spec.root.__name__}")
    return doc


# Escapes whose meaning differs between Rust regex (pydantic's patterns), Python's re and
# ECMA-262 (JSON Schema's patterns): \d is any Unicode digit in Rust and Python but ASCII
# in ECMA-262, \s is a different whitespace set in each, and \w and \b follow \d.
AMBIGUOUS_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\[dDsSwWbB]")


def _portable(doc: dict[str, Any], *, root_ref: str) -> None:
    """Refs to the root model point at ``#``. A pattern must mean the same to the model and
    to an ECMA-262 validator, so one with an ambiguous escape (``AMBIGUOUS_ESCAPE``) stops
    the generation: spell the class out, as ``schemas.fields.WHITESPACE`` does. Docstrings
    lose their hard line breaks (paragraphs stay)."""
    for item in _walk(doc):
        if item.get("$ref") == root_ref:
            item["$ref"] = "#"
        pattern = item.get("pattern")
        if isinstance(pattern, str) and AMBIGUOUS_ESCAPE.search(pattern):
            raise ValueError(f"pattern {pattern!r} has an escape that differs between engines")
        if isinstance(item.get("description"), str):
            item["description"] = re.sub(r"(?<!\n)\n(?!\n)", " ", item["description"])


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def index() -> dict[str, Any]:
    """What GET /schemas/ lists: each document with its ``$id`` and the URL (a path on the
    same node) it is served at."""
    return {
        "$comment": GENERATED,
        "protocol_version": PROTOCOL_VERSION,
        "dialect": DIALECT,
        "schemas": [{"name": s.name, "id": s.id, "url": s.url, "title": s.title} for s in SPECS],
    }


def render(value: Any) -> str:
    """Sorted keys, two-space indents and a final newline: stable, readable diffs."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def files() -> dict[str, str]:
    """File name -> exact text, for every file under ``schemas/json/``."""
    texts = {spec.name: render(document(spec)) for spec in SPECS}
    texts[INDEX] = render(index())
    return texts
