"""The published JSON Schemas (docs/SCHEMAS.md): up to date with the models, valid draft
2020-12, and true to what a node really serves.

The checks run on ``jsonschema``, an implementation independent of pydantic: the point of
publishing is that other tools can rely on the documents, so they are tested the way those
tools would use them, against real responses of a node on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from referencing import Registry, Resource
from sqlmodel import Session
from support.cli import hn
from support.clock import Clock
from support.envelopes import vector_envelope
from support.factories import event_body, member_body
from support.nodes import Node, make_node

from federation import keys
from federation.roster import with_node
from node import roster
from node.cli_schemas import PUBLISHED_DIR, stale
from node.db.engine import writer
from schemas import published
from schemas.event import EventBody
from schemas.member import MemberBody
from schemas.published_rules import UNCHECKED
from schemas.record import PROTOCOL_VERSION, Envelope
from schemas.roster import RosterKey, RosterNode

VECTORS = Path(__file__).parent / "vectors" / "record_vectors.json"


def load(name: str) -> dict[str, Any]:
    return dict(json.loads((PUBLISHED_DIR / name).read_text(encoding="utf-8")))


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(load(name), format_checker=Draft202012Validator.FORMAT_CHECKER)


def assert_valid(name: str, instance: Any) -> None:
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in validator(name).iter_errors(instance)
    ]
    assert not errors, (name, errors[:5], instance)


def ecma_verdicts(cases: list[tuple[str, str]]) -> list[bool] | None:
    """Whether each string matches its pattern under ECMA-262 (node.js, with the ``u`` flag
    as ajv compiles patterns), or None without node.js."""
    if shutil.which("node") is None:
        return None
    script = (
        "const cs = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(cs.map(([p, s]) => new RegExp(p, 'u').test(s))));"
    )
    done = subprocess.run(
        ["node", "-e", script], input=json.dumps(cases), text=True, check=True, capture_output=True
    )
    return [bool(v) for v in json.loads(done.stdout)]


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


NAMES = [spec.name for spec in published.SPECS]


# 1. The committed files are what the models generate.


def test_published_files_match_the_models() -> None:
    problems = stale(PUBLISHED_DIR, published.files())
    assert not problems, (
        "the published JSON Schemas are stale (models changed?): "
        + "; ".join(problems)
        + ". Run `healthnet schemas` and commit schemas/json/."
    )


def test_schemas_command_writes_and_checks(tmp_path: Path) -> None:
    hn("schemas", "--check")
    hn("schemas", "--out", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(published.files())
    hn("schemas", "--check", "--out", tmp_path)
    (tmp_path / "member.schema.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "old.schema.json").write_text("{}\n", encoding="utf-8")
    result = hn("schemas", "--check", "--out", tmp_path, code=1)
    assert "member.schema.json: out of date" in result.stderr
    assert "old.schema.json: no longer generated" in result.stderr
    assert "run `healthnet schemas`" in result.stderr
    hn("schemas", "--out", tmp_path)  # rewrites the stale file, leaves the stray one alone
    assert (tmp_path / "member.schema.json").read_text() == published.files()["member.schema.json"]
    assert (tmp_path / "old.schema.json").exists()


def test_a_validator_without_a_rule_stops_the_generation() -> None:
    """A custom check that JSON Schema would silently drop must be decided on, not lost."""

    class Stricter(MemberBody):
        @field_validator("name")
        @classmethod
        def _no_shouting(cls, value: str) -> str:
            return value

    spec = published.Spec("x.schema.json", "x", "x", Stricter, "validation")
    with pytest.raises(LookupError, match="Stricter._no_shouting has no entry"):
        published.document(spec)


def test_a_normalising_string_without_a_rule_stops_the_generation() -> None:
    """``to_lower`` would make the signed form lower case: the schema must say so."""

    class Lowered(BaseModel):
        model_config = ConfigDict(extra="forbid")
        tag: Annotated[str, StringConstraints(to_lower=True)]

    spec = published.Spec("x.schema.json", "x", "x", Lowered, "validation")
    with pytest.raises(LookupError, match="string flag to_lower has no entry"):
        published.document(spec)


@pytest.mark.parametrize("escape", ["\\s", "\\S", "\\d", "\\w", "\\b"])
def test_an_engine_dependent_escape_stops_the_generation(escape: str) -> None:
    """A model pattern is run by Rust's regex (pydantic), a published one by ECMA-262: an
    escape that means different characters in the two would make them disagree."""

    class Loose(BaseModel):
        model_config = ConfigDict(extra="forbid")
        code: Annotated[str, Field(pattern=f"^a{escape}z$")]

    spec = published.Spec("x.schema.json", "x", "x", Loose, "validation")
    with pytest.raises(ValueError, match="differs between engines"):
        published.document(spec)


# 2. Every document is a valid 2020-12 schema, self-contained, with portable patterns.


@pytest.mark.parametrize("name", NAMES)
def test_documents_are_valid_2020_12(name: str) -> None:
    doc = load(name)
    Draft202012Validator.check_schema(doc)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    # an absolute URI (2020-12 8.2.1) naming no host, with the protocol version
    assert doc["$id"] == f"urn:healthnet:schema:v{PROTOCOL_VERSION}:" + name.split(".")[0]
    assert doc["title"] and doc["description"]
    refs = {item["$ref"] for item in walk(doc) if isinstance(item.get("$ref"), str)}
    for ref in refs:  # self-contained: every ref points into this document's $defs
        assert ref == "#" or ref.removeprefix("#/$defs/") in doc.get("$defs", {}), ref
    # ... and resolves against the id, with nothing else in the registry
    resolver = Registry().with_resource(doc["$id"], Resource.from_contents(doc)).resolver()
    for ref in refs:
        assert resolver.lookup(doc["$id"] + ref).contents is not None, ref
    # extra="forbid" on every model: no model schema lets unknown members through
    for model in [doc, *doc.get("$defs", {}).values()]:
        if "properties" in model:
            assert model["additionalProperties"] is False, model["title"]


def test_index_lists_every_document() -> None:
    index = load("index.json")
    assert [s["name"] for s in index["schemas"]] == NAMES
    assert all(s["url"] == f"/schemas/{s['name']}" for s in index["schemas"])
    assert all(s["id"] == load(s["name"])["$id"] for s in index["schemas"])
    assert sorted(p.name for p in PUBLISHED_DIR.glob("*.json")) == sorted([*NAMES, "index.json"])


def test_other_schemas_can_refer_to_the_documents_by_id() -> None:
    """The use docs/SCHEMAS.md describes: load the files into a registry under their ids,
    and ``$ref`` an id. Nothing is fetched (``retrieve`` would fail the test)."""

    def retrieve(uri: str) -> Resource:
        raise AssertionError(f"tried to fetch {uri}")

    docs = [load(name) for name in NAMES]
    registry = Registry(retrieve=retrieve).with_resources(
        (doc["$id"], Resource.from_contents(doc)) for doc in docs
    )
    mine = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "array",
        "items": {"$ref": f"urn:healthnet:schema:v{PROTOCOL_VERSION}:envelope"},
    }
    check = Draft202012Validator(mine, registry=registry)
    good = _vector("member")
    assert check.is_valid([good, _vector("event")])
    assert not check.is_valid([good, _edit(good, {"body.name": "   "})])


def test_patterns_are_ecma_262() -> None:
    """2020-12 patterns are ECMA-262 regular expressions, not Python ones. Some escapes are
    valid in ECMA-262, Python's ``re`` and Rust's regex but mean different characters: ``\\d``
    is any Unicode digit in Rust and Python, ``\\s`` a different set of spaces in each (U+FEFF
    only in ECMA-262, U+001C-U+001F only in Python), and ``\\w``/``\\b`` follow. The documents
    avoid them and spell the class out."""
    python_only = re.compile(r"\(\?P|\(\?[aiLmsux]|\\[AZz]|\(\?#|\[\[:")
    ambiguous = re.compile(r"(?<!\\)(?:\\\\)*\\[dDsSwWbB]")
    patterns = sorted({i["pattern"] for n in NAMES for i in walk(load(n)) if "pattern" in i})
    for pattern in patterns:
        assert not python_only.search(pattern), pattern
        assert not ambiguous.search(pattern), pattern
        assert pattern.startswith("^") and pattern.endswith("$"), pattern  # anchored
    if shutil.which("node") is None:
        pytest.skip("no node.js to compile the patterns as ECMA-262")
    script = (
        "const ps = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "for (const p of ps) new RegExp(p, 'u');"
    )
    subprocess.run(["node", "-e", script], input=json.dumps(patterns), text=True, check=True)


# Every character some engine calls a space: Unicode's White_Space (Rust), U+001C-U+001F
# (Python only), U+FEFF (ECMA-262 only), and lookalikes that none counts.
SPACES = sorted(
    {chr(c) for c in range(0x3001) if re.match(r"\s", chr(c))}
    | {"\ufeff", "\u180e", "\u200b", "\u2060"}
)


def signed_as_is(model: type[BaseModel], body: dict[str, Any]) -> bool:
    """The model accepts the body and would sign it unchanged (it is in normal form)."""
    try:
        parsed = model.model_validate(body)
    except ValidationError:
        return False
    return parsed.model_dump(mode="json", exclude_unset=True) == body


def test_spaces_mean_the_same_to_the_model_and_the_schema() -> None:
    """For each of ``SPACES`` in an e-mail address, a URL and a name, the model (pydantic's
    Rust regex, Python's re, strip_whitespace) and the schema agree, both in
    python-jsonschema and in ECMA-262 (node.js). The review's case: the node signs
    ``a\\ufeffb@x.org``, so an ECMA validator must accept it."""
    member = _vector("member")["body"]
    doc = load("member.schema.json")
    email = doc["$defs"]["Contact"]["properties"]["email"]["anyOf"][0]["pattern"]
    url = doc["properties"]["website"]["anyOf"][0]["pattern"]
    padded = doc["properties"]["name"]["not"]["pattern"]
    rows: list[tuple[str, str, str, bool]] = []  # field, value, pattern, valid iff it matches
    for c in SPACES:
        rows += [
            ("contact.email", f"a{c}b@x.org", email, True),
            ("contact.email", f"a@x.org{c}", email, True),
            ("website", f"https://a{c}b.org", url, True),
            ("website", f"https://x.org/{c}", url, True),
            ("name", f"{c}Radboudumc", padded, False),
            ("name", f"Radboudumc{c}", padded, False),
            ("name", f"Radboud{c}umc", padded, False),
        ]
    check = validator("member.schema.json")
    ecma = ecma_verdicts([(pattern, value) for _, value, pattern, _ in rows])
    for index, (field, value, _pattern, if_match) in enumerate(rows):
        model = signed_as_is(MemberBody, _edit(member, {field: value}))
        # python-jsonschema uses Python's re, whose $ also matches before a final line feed
        # (docs/SCHEMAS.md): an ECMA-262 validator refuses "a@x.org\n", it accepts it.
        if not (value.endswith("\n") and field != "name"):
            assert check.is_valid(_edit(member, {field: value})) is model, (field, value)
        if ecma is not None:
            assert (ecma[index] is if_match) is model, (field, value, "ECMA-262")
    assert signed_as_is(MemberBody, _edit(member, {"contact.email": "a\ufeffb@x.org"}))
    if ecma is None:
        pytest.skip("no node.js to run the patterns as ECMA-262")


def test_envelope_schema_agrees_with_the_golden_vectors() -> None:
    """Section 12: each invalid vector says whether the envelope's shape is valid."""
    vectors = json.loads(VECTORS.read_text(encoding="utf-8"))
    check = validator("envelope.schema.json")
    for case in vectors["valid"]:
        assert_valid("envelope.schema.json", vector_envelope(case))
    for case in vectors["invalid"]:
        assert check.is_valid(case["envelope"]) is case["shape_valid"], case["name"]


# 3. Real responses of a node validate.


def _populate(node: Node) -> dict[str, str]:
    """Members and events through the admin API, with a stub (an update) and a tombstone."""

    def write(method: str, path: str, body: Any = None, status: int = 200) -> str:
        r = node.client.request(method, path, json=body, headers=node.editor)
        assert r.status_code == status, r.text
        assert_valid("envelope.schema.json", r.json()["record"])
        return str(r.json()["id"])

    contact = {"name": "Communicatie", "email": "info@radboudumc.nl", "phone": "+31 24 361 11"}
    social = [{"platform": "x", "handle": "@radboudumc", "url": "https://x.com/radboudumc"}]
    full = member_body(
        contact=contact, social=social, joined="2012-06-01", description="UMC – Nijmegen"
    )
    member = write("POST", "/admin/members", full, 201)
    minimal = {"name": "Patiëntenfederatie", "kind": "patient-organization", "region": "europe"}
    plain = write("POST", "/admin/members", {**minimal, "country": "NL"}, 201)
    write("PUT", f"/admin/members/{plain}", {**minimal, "country": "BE"})
    event = write("POST", "/admin/events", event_body(organizer=member), 201)
    online = event_body(venue=None, online_url="https://example.org/live", title="Webinar")
    write("DELETE", f"/admin/events/{write('POST', '/admin/events', online, 201)}")
    return {"member": member, "plain": plain, "event": event}


def test_read_responses_validate(node: Node) -> None:
    ids = _populate(node)
    for key in ("member", "plain"):
        r = node.client.get(f"/members/{ids[key]}")
        assert r.status_code == 200, r.text
        assert_valid("member-public.schema.json", r.json())
    r = node.client.get(f"/events/{ids['event']}")
    assert r.status_code == 200, r.text
    assert_valid("event-public.schema.json", r.json())
    items = node.client.get("/members").json()["items"]
    near = node.client.get("/members", params={"near": "51.8,5.8"}).json()["items"]
    assert len(items) == 2 and "distance_km" in near[0]  # only members with coordinates
    for item in items + near:
        assert_valid("member-public.schema.json", item)
    items = node.client.get("/events").json()["items"]
    assert len(items) == 1
    for item in items:
        assert_valid("event-public.schema.json", item)
    for key in ids.values():
        assert_valid("envelope.schema.json", node.client.get(f"/records/{key}").json())


def test_federation_pages_and_exports_validate(node: Node, tmp_path: Path) -> None:
    _populate(node)
    page = node.client.get("/federation/records", params={"origin": node.settings.node_id})
    records = page.json()["records"]
    assert len(records) == 6  # two members, one replaced (a stub); three events, one deleted
    assert any(r["body"] is None and not r["record"]["deleted"] for r in records)  # stub
    assert any(r["record"]["deleted"] for r in records)  # tombstone
    for record in records:
        assert_valid("envelope.schema.json", record)
    out = tmp_path / "export.jsonl"
    hn("export", node.settings.home, "--output", out)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 6
    for line in lines:
        assert_valid("envelope.schema.json", json.loads(line))


@pytest.fixture
def hub(tmp_path: Path, database_url: str, clock: Clock) -> Iterator[Node]:
    """A hub node, whose roster then lists a second node with a rotated key."""
    n = make_node(tmp_path / "hub", database_url, clock, hub=True)
    runtime = n.app.state.runtime
    old, new = keys.generate("ed25519:1"), keys.generate("ed25519:2")
    other = RosterNode(
        node_id=keys.node_id_for(old.public_raw),
        name="Mayo Clinic",
        leader="Mayo Clinic",
        region="north-america",
        url="https://mayo.example",
        keys=[
            RosterKey(key_id="ed25519:1", public_key=old.public_b64, until_seq=41),
            RosterKey(key_id="ed25519:2", public_key=new.public_b64, from_seq=42),
        ],
        latitude=44.0121,
        longitude=-92.4802,
    )
    with Session(writer(runtime.engine)) as session:
        body, _ = roster.current(session, hub=n.settings.node_id)  # type: ignore[misc]
        roster.publish_roster(
            session, settings=n.settings, key=runtime.key, body=with_node(body, other), now=clock()
        )
        session.commit()
    n.app.state.sync.trust.reload()
    yield n
    n.client.close()
    n.engine.dispose()


def test_roster_record_validates(hub: Node) -> None:
    record = hub.client.get("/federation/roster").json()
    assert record["record"]["version"] == 2 and len(record["body"]["nodes"]) == 2
    assert_valid("roster-record.schema.json", record)
    assert_valid("envelope.schema.json", record)
    assert_valid("roster.schema.json", record["body"])
    page = hub.client.get("/federation/records", params={"origin": hub.settings.node_id}).json()
    assert [r["body"] is None for r in page["records"]] == [True, False]  # v1 is a stub now
    for item in page["records"]:
        assert_valid("envelope.schema.json", item)
    assert not validator("roster-record.schema.json").is_valid(page["records"][0])


def test_served_documents_are_the_files(sqlite_node: Node) -> None:
    client = sqlite_node.client
    r = client.get("/schemas/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.content == (PUBLISHED_DIR / "index.json").read_bytes()
    for entry in r.json()["schemas"]:
        doc = client.get(entry["url"])
        assert doc.status_code == 200
        assert doc.headers["content-type"] == "application/schema+json"
        assert doc.content == (PUBLISHED_DIR / entry["name"]).read_bytes()
    assert client.get("/schemas").json() == r.json()  # redirected to /schemas/
    missing = client.get("/schemas/nope.schema.json")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    paths = client.get("/openapi.json").json()["paths"]
    assert "/schemas/" in paths and "/schemas/{name}" in paths


# 4. The schemas reject what the models reject.


def _vector(name: str) -> dict[str, Any]:
    case = next(c for c in json.loads(VECTORS.read_text())["valid"] if c["name"] == name)
    return vector_envelope(case)


DROP = object()


def _edit(doc: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    """A copy with members at dotted paths set, or removed (``DROP``)."""
    doc = copy.deepcopy(doc)
    for path, value in edits.items():
        *parents, last = path.split(".")
        target: Any = doc
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        slot: Any = int(last) if isinstance(target, list) else last
        if value is DROP:
            del target[slot]
        else:
            target[slot] = value
    return doc


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
