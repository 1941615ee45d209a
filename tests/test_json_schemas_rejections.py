"""The published JSON Schemas (docs/SCHEMAS.md) reject what the models reject, each for the
reason the case was written for; what a schema cannot check is said in the document; and
what the models sign, the schemas accept.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from support.factories import event_body, member_body
from support.json_schema_docs import DROP, _edit, _vector, assert_valid, load, validator

from schemas.event import EventBody
from schemas.member import MemberBody
from schemas.published_rules import UNCHECKED
from schemas.record import Envelope

# 4. The schemas reject what the models reject.


Loc = tuple[str | int, ...]
Case = tuple[str, dict[str, Any], str, Loc, Loc]


def _case(name: str, edits: dict[str, Any], layer: str, loc: Loc, at: Loc | None = None) -> Case:
    """One way to break the member vector. ``layer`` is the part of the model that refuses
    it: "envelope" (Envelope, while the body on its own is fine), "body" (MemberBody, while
    the envelope is fine) or "normal" (the model accepts and normalises it; only the schema,
    which describes the signed normal form, refuses it). ``loc`` is where pydantic reports
    the error, ``at`` where the schema does (in the envelope for an envelope case, in the
    body otherwise) when that differs."""
    return (name, edits, layer, loc, loc if at is None else at)


BODY, NORMAL, ENVELOPE = "body", "normal", "envelope"
ENVELOPE_CASES: list[Case] = [
    _case("extra envelope member", {"note": "hi"}, ENVELOPE, ("note",), ()),
    _case("extra header member", {"record.extra": 1}, ENVELOPE, ("record", "extra"), ("record",)),
    _case("extra body member", {"body.extra": 1}, BODY, ("extra",), ()),
    _case("missing sig", {"sig": DROP}, ENVELOPE, ("sig",), ()),
    _case(
        "missing header member", {"record.prev": DROP}, ENVELOPE, ("record", "prev"), ("record",)
    ),
    _case("missing body member", {"body.name": DROP}, BODY, ("name",), ()),
    _case("seq as text", {"record.seq": "2"}, ENVELOPE, ("record", "seq")),
    _case("deleted as number", {"record.deleted": 0}, ENVELOPE, ("record", "deleted")),
    _case("version 0", {"record.version": 0}, ENVELOPE, ("record", "version")),
    _case("unknown kind", {"record.kind": "person"}, ENVELOPE, ("record", "kind")),
    _case("bad signature alphabet", {"sig": "+" * 86}, ENVELOPE, ("sig",)),
    _case("latitude as text", {"body.latitude": "51.8"}, BODY, ("latitude",)),
    _case("country lower case", {"body.country": "nl"}, NORMAL, (), ("country",)),
    _case("topic upper case", {"body.topics": ["Digital Health"]}, NORMAL, (), ("topics", 0)),
    _case("duplicate languages", {"body.languages": ["nl", "nl"]}, NORMAL, (), ("languages",)),
    _case("name not trimmed", {"body.name": " Radboudumc\u3000"}, NORMAL, (), ("name",)),
    _case("city not trimmed", {"body.city": "Nijmegen\n"}, NORMAL, (), ("city",)),
    _case("description only a tab", {"body.description": "\t"}, NORMAL, (), ("description",)),
    _case("blank name", {"body.name": " \u00a0 "}, BODY, ("name",)),
    _case("blank contact name", {"body.contact.name": "\u2003"}, BODY, ("contact", "name")),
    _case("latitude without longitude", {"body.longitude": DROP}, BODY, ("longitude",), ()),
    _case(
        "social without handle or url", {"body.social.0": {"platform": "x"}}, BODY, ("social", 0)
    ),
    _case("url without scheme", {"body.website": "www.radboudumc.nl"}, BODY, ("website",)),
    _case("url with a space", {"body.website": "https://radboud umc.nl"}, BODY, ("website",)),
    _case("e-mail with a space", {"body.contact.email": "a b@x.org"}, BODY, ("contact", "email")),
    _case("live record without body_hash", {"record.body_hash": None}, ENVELOPE, ("record",)),
    _case("seq 1 with prev", {"record.seq": 1}, ENVELOPE, ("record",), ("record", "prev")),
    _case("seq 2 without prev", {"record.prev": None}, ENVELOPE, ("record",)),
    _case(
        "tombstone with body_hash",
        {"record.deleted": True, "body": None},
        ENVELOPE,
        ("record",),
        ("record", "body_hash"),
    ),
    _case(
        "tombstone with a body",
        {"record.deleted": True, "record.body_hash": None},
        ENVELOPE,
        (),
        ("body",),
    ),
    _case("event body on a member record", {"body": event_body()}, BODY, ("title",), ()),
]


def _locs(model: type[BaseModel], data: Any) -> set[Loc]:
    """Where the model reports errors in ``data``; empty when it accepts it."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return {tuple(error["loc"]) for error in exc.errors()}
    return set()


def _schema_locs(name: str, instance: Any, *, deep: bool = False) -> set[Loc]:
    """Where the schema reports errors; ``deep`` adds those inside ``anyOf`` branches (an
    optional field's type and null)."""
    errors = list(validator(name).iter_errors(instance))
    locs = set()
    while errors:
        error = errors.pop()
        locs.add(tuple(error.absolute_path))
        if deep:
            errors += error.context or []
    return locs


@pytest.mark.parametrize(
    ("case", "edits", "layer", "loc", "schema_loc"),
    ENVELOPE_CASES,
    ids=[c[0] for c in ENVELOPE_CASES],
)
def test_envelope_schema_rejects(
    case: str, edits: dict[str, Any], layer: str, loc: Loc, schema_loc: Loc
) -> None:
    """The schema and the model refuse each case for the reason it was written for, and
    nothing else fails on the way: a case broken by accident would prove nothing."""
    bad = _edit(_vector("member"), edits)
    body = bad.get("body")
    envelope_schema = _schema_locs("envelope.schema.json", bad)
    if layer == ENVELOPE:
        assert loc in _locs(Envelope, bad)
        assert schema_loc in envelope_schema
        if isinstance(body, dict):  # the body is not what fails
            assert not _locs(MemberBody, body)
            assert not _schema_locs("member.schema.json", body)
        return
    assert not _locs(Envelope, bad)  # the envelope is not what fails
    assert envelope_schema == {("body",)}  # the typed body, and only it
    assert schema_loc in _schema_locs("member.schema.json", body, deep=True)
    if layer == BODY:
        assert loc in _locs(MemberBody, body)
    else:  # accepted and normalised by the model; the normal form passes the schema
        normal = MemberBody.model_validate(body).model_dump(mode="json", exclude_none=True)
        assert normal != body
        assert_valid("member.schema.json", normal)


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("member.schema.json", {**member_body(), "extra": 1}),
        ("member.schema.json", member_body(kind=7)),
        ("member.schema.json", {k: v for k, v in member_body().items() if k != "name"}),
        ("event.schema.json", event_body(venue=None)),  # neither venue nor online_url
        ("event.schema.json", event_body(starts_at="2027-03-10 09:00")),
        ("event.schema.json", event_body(venue={"city": "Nijmegen", "country": "NL", "x": 1})),
        ("member.schema.json", member_body(name="   ")),  # the model refuses it
        ("member.schema.json", member_body(city=" Nijmegen")),  # the model trims it
        ("event.schema.json", event_body(title="\u3000")),
        ("event.schema.json", event_body(description="Online only\n")),
        ("event.schema.json", event_body(topics=["social media "])),
        ("roster.schema.json", {"hub": "hn-" + "a" * 24, "network": "\t", "nodes": []}),
        ("roster.schema.json", {"hub": "hn-" + "a" * 24, "nodes": []}),
        ("roster.schema.json", {"hub": "hn-" + "a" * 24}),
    ],
)
def test_body_schemas_reject(name: str, body: dict[str, Any]) -> None:
    assert not validator(name).is_valid(body)


@pytest.mark.parametrize(
    ("field", "value"),
    [("country", "XX"), ("country", "US"), ("languages", ["not a tag!"])],
)
def test_what_the_schema_cannot_check_is_said(field: str, value: Any) -> None:
    """A gap is documented, not hidden: the schema accepts, the model refuses, and the
    field's description says what is left unchecked."""
    body = member_body(**{field: value})
    assert validator("member.schema.json").is_valid(body)
    with pytest.raises(ValidationError):
        MemberBody.model_validate(body)
    prop = load("member.schema.json")["properties"][field]
    assert UNCHECKED in json.dumps(prop), prop


def test_models_output_is_valid_for_the_schemas() -> None:
    """The other direction, on the sample bodies: what the model signs, the schema accepts."""
    samples = (("member", MemberBody, member_body()), ("event", EventBody, event_body()))
    for name, model, body in samples:
        signed = model.model_validate(body).model_dump(mode="json", exclude_none=True)
        assert_valid(f"{name}.schema.json", signed)
