"""Property tests of the published JSON Schemas against the models (docs/SCHEMAS.md).

1. Whatever the model accepts, the origin signs in normal form, and the schema accepts that.
2. On mutated bodies the schema and the model agree, wherever the rule is one JSON Schema
   can express: the model's verdict is "accepted *and* already in normal form", because the
   schema describes what is signed, not what the admin API will normalise.
3. Every published pattern means the same in ECMA-262 (node.js), Python's re and Rust's
   regex (pydantic).

Mutations only touch what the schema can check; what it cannot (assigned country codes, BCP
47 tags, time zones, charter scope, wall-clock rules, NUL) is left alone and is listed in
the documents' descriptions instead. The schema side runs on python-jsonschema with
ECMA-262's ``$`` (end of string), since Python's ``$`` also matches before a final line feed.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterator
from typing import Annotated, Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, ValidationError, validators
from pydantic import BaseModel, Field, TypeAdapter
from pydantic import ValidationError as ModelError
from support.factories import event_body
from support.json_schema_docs import NAMES, SPACES, ecma_verdicts, load, signed_as_is, walk

from schemas.event import EventBody, EventKind, EventStatus
from schemas.fields import URL_PATTERN
from schemas.member import MemberBody, MemberKind, NetworkRole, Platform

PROPS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)


# The schema side: python-jsonschema, with ECMA-262's end anchor.


@functools.cache
def _python(pattern: str) -> re.Pattern[str]:
    """``pattern`` for Python's re with ``$`` outside a class as ``\\Z``, ECMA-262's end."""
    out, in_class, escaped = [], False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            char = r"\Z"
        out.append(char)
    return re.compile("".join(out))


def _ecma_pattern(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _python(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


Ecma = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})


@functools.cache
def schema(name: str) -> Any:
    return Ecma(load(name), format_checker=Draft202012Validator.FORMAT_CHECKER)


def signed(model: type[BaseModel], candidate: dict[str, Any]) -> dict[str, Any] | None:
    """What the origin signs for ``candidate`` (node/writes.py), or None if refused."""
    try:
        return model.model_validate(candidate).model_dump(mode="json", exclude_none=True)
    except ModelError:
        return None


# Strategies. Candidates are what a writer might send: mostly valid, often not in normal
# form (padded text, upper-case topics and scheme). Text mixes ordinary characters with every
# kind of space (SPACES), so trimming and the e-mail and URL rules meet all of them. The
# mutations add what is plainly wrong.

DROP = object()
space = st.one_of(st.just(" "), st.sampled_from(SPACES))  # U+0020 half of the time
letters = st.sampled_from("aeiouRSTnmé-&'ü1")
word = st.text(letters, min_size=1, max_size=10)
pads = st.text(space, max_size=2)
text = st.one_of(  # mostly trimmed, sometimes padded (the model trims it) or spaced inside
    word,
    st.tuples(pads, word, pads).map("".join),
    st.tuples(word, space, word).map("".join),
)
anything = st.text(st.characters(exclude_characters="\x00") | space | letters, max_size=12)
raw = st.one_of(anything, text, st.integers(), st.none(), st.booleans())

host = st.sampled_from(["www.radboudumc.nl", "x.com/radboudumc", "example.org/a?b=c#d"])
url = st.one_of(
    st.tuples(st.sampled_from(["https://", "http://", "HTTPS://", "Http://"]), host).map("".join),
    st.tuples(pads, st.just("https://"), host, pads).map("".join),
)
bad_url = st.one_of(
    st.tuples(st.sampled_from(["ftp://", "https:/", "https://.", "www."]), host).map("".join),
    st.tuples(st.just("https://"), word, st.sampled_from(["", "/"]), space, word).map("".join),
)
email = st.tuples(word, st.just("@"), word, st.just("."), word).map("".join)
bad_email = st.one_of(
    st.tuples(word, space, word, st.just("@x.org")).map("".join),
    st.tuples(st.just("info@x.org"), space).map("".join),
    st.sampled_from(["info@x", "a@b@c.d", "@x.org"]),
    anything,
)
topic = st.one_of(
    st.sampled_from(["digital health", "e-health & care", "ai/ml", "c++"]),
    st.tuples(pads, st.sampled_from(["patient", "Innovation", "AI / ML"]), pads).map("".join),
)
# Not topics in normal form: a space at either end, upper case (K is the Kelvin sign), "_",
# empty.
bad_topic = st.one_of(
    st.tuples(st.sampled_from(["patient", "ai/ml"]), space).map("".join),
    st.sampled_from([" ai", "Innovation", "e\u212a", "mental_health", ""]),
    st.text(st.sampled_from("abcXY 1&+/-_"), max_size=8),
)
phone = st.sampled_from(["+31 24 361 11 11", "(024) 361-1111"])
date = st.sampled_from(["2012-06-01", "2024-02-29"])
bad_date = st.sampled_from(["2023-02-29", "2012-6-1", "2012-06-01 ", "20120601"])


def optional(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(DROP), st.none(), values)


def maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Absent or a value (for fields that may not be null)."""
    return st.one_of(st.just(DROP), values)


def body_of(**members: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object: each member drawn, and left out when it draws ``DROP``."""
    return st.fixed_dictionaries(members).map(
        lambda d: {k: v for k, v in d.items() if v is not DROP}
    )


def social(handle: Any = text, link: Any = url) -> st.SearchStrategy[dict[str, Any]]:
    platform = st.sampled_from([p.value for p in Platform])
    return st.one_of(
        body_of(platform=platform, handle=handle, url=optional(link)),
        body_of(platform=platform, handle=optional(handle), url=link),
    )


contact = body_of(
    name=optional(text), email=optional(email), phone=optional(phone), url=optional(url)
)
pair = st.one_of(
    st.just({}),
    st.fixed_dictionaries(
        {
            "latitude": st.floats(-90, 90, allow_nan=False),
            "longitude": st.floats(-180, 180, allow_nan=False),
        }
    ),
)
region_country = st.sampled_from(
    [("europe", "NL"), ("europe", "be"), ("north-america", " US "), ("asia", "JP")]
)


@st.composite
def member_candidates(draw: st.DrawFn) -> dict[str, Any]:
    region, country = draw(region_country)
    body = draw(
        body_of(
            name=text,
            kind=st.sampled_from([k.value for k in MemberKind]),
            city=optional(text),
            website=optional(url),
            social=maybe(st.lists(social(), max_size=3)),
            topics=maybe(st.lists(topic, max_size=4)),
            languages=maybe(st.lists(st.sampled_from(["en", "nl", "pt-BR", "EN"]), max_size=3)),
            network_role=maybe(st.sampled_from([r.value for r in NetworkRole])),
            joined=optional(date),
            contact=optional(contact),
            description=optional(st.one_of(text, st.just(""), st.just("  One.\nTwo.\n"))),
        )
    )
    return {**body, "region": region, "country": country, **draw(pair)}


venue = body_of(city=text, country=st.just("NL"), name=optional(text))


@st.composite
def event_candidates(draw: st.DrawFn) -> dict[str, Any]:
    """The times and the zone stay fixed: their rules are not JSON Schema's."""
    fixed = {k: v for k, v in event_body().items() if k in ("region", "timezone", "starts_at")}
    body = draw(
        body_of(
            title=text,
            kind=st.sampled_from([k.value for k in EventKind]),
            status=maybe(st.sampled_from([s.value for s in EventStatus])),
            topics=maybe(st.lists(topic, max_size=3)),
            description=optional(text),
            registration_url=optional(url),
            organizer=optional(text),
            ends_at=st.sampled_from(["2027-03-10T17:00", "2027-03-11T09:30:00"]),
        )
    )
    where = draw(st.sampled_from([("venue",), ("online_url",), ("venue", "online_url")]))
    if "venue" in where:
        body["venue"] = draw(venue)
    if "online_url" in where:
        body["online_url"] = draw(url)
    return {**fixed, **body}


def _set(body: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """A copy of ``body`` with the member at ``path`` set, or removed (``DROP``)."""
    body = copy.deepcopy(body)
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    if value is DROP:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return body


# Members whose text the schema cannot check (BCP 47 tags, IANA zones, wall-clock times).
UNCHECKED_TEXT = {"languages", "language", "timezone", "starts_at", "ends_at"}


def _strings(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """The path of every string in a body."""
    if isinstance(node, str):
        yield path
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, (*path, index))


@st.composite
def mutated(
    draw: st.DrawFn, base: st.SearchStrategy[dict[str, Any]], fields: dict[str, Any]
) -> dict[str, Any]:
    """A signed body with one to three changes: a space put into one of its strings (at
    either end or inside), or a member replaced, removed or added. ``fields`` has a
    strategy per member name, and for ``name[]`` (an item of that list) and ``name.`` (a
    member of that object)."""
    body = draw(base)
    for _ in range(draw(st.integers(1, 3))):
        texts = [p for p in _strings(body) if p[0] not in UNCHECKED_TEXT]
        if texts and draw(st.booleans()):
            path = draw(st.sampled_from(texts))
            value = functools.reduce(lambda node, key: node[key], path, body)
            at = draw(st.sampled_from([0, len(value), len(value) // 2]))
            body = _set(body, path, value[:at] + draw(space) + value[at:])
            continue
        name = draw(st.sampled_from(sorted(k for k in fields if k[-1] not in ".]")))
        value = body.get(name)
        path = (name,)
        values = fields[name]
        if isinstance(value, dict) and name + "." in fields and draw(st.booleans()):
            inner = draw(st.sampled_from([*sorted(value), "extra"]))
            path, values = (name, inner), fields[name + "."]
        elif isinstance(value, list) and value and name + "[]" in fields and draw(st.booleans()):
            path, values = (name, draw(st.integers(0, len(value) - 1))), fields[name + "[]"]
        body = _set(body, path, draw(values))
    return body


signed_members = member_candidates().map(lambda c: signed(MemberBody, c)).filter(bool)
signed_events = event_candidates().map(lambda c: signed(EventBody, c)).filter(bool)

MEMBER_MUTATIONS: dict[str, Any] = {
    "name": st.one_of(text, raw, st.just(DROP)),
    "kind": st.sampled_from(["hospital", "Hospital", "hospital ", "", 3, DROP]),
    "region": st.just(DROP),
    "country": st.sampled_from([DROP, "nl", "NLD", "N1", None]),
    "city": optional(st.one_of(text, raw)),
    "latitude": st.sampled_from([DROP, None, "51.8", 51.8, True, -91.0]),
    "longitude": st.sampled_from([DROP, None, 5.8, 200.0]),
    "website": optional(st.one_of(url, bad_url, raw)),
    "social": st.one_of(st.lists(social(st.one_of(text, raw), bad_url), max_size=3), raw),
    "social[]": st.one_of(social(st.one_of(text, raw), bad_url), st.just({"platform": "x"})),
    "topics": st.one_of(st.lists(st.one_of(topic, bad_topic), max_size=3), raw),
    "topics[]": st.one_of(topic, bad_topic, raw),
    "languages": st.lists(st.sampled_from(["en", "nl"]), max_size=3),
    "languages[]": st.sampled_from(["en", "nl", 7, None]),
    "network_role": st.sampled_from([DROP, "member", "Member", None]),
    "joined": optional(st.one_of(date, bad_date, raw)),
    "contact": optional(st.one_of(contact, raw)),
    "contact.": st.one_of(text, url, bad_url, email, bad_email, raw, st.just(DROP)),
    "description": optional(st.one_of(text, st.just(""), raw)),
    "extra": st.one_of(raw, st.just(DROP)),
}
EVENT_MUTATIONS: dict[str, Any] = {
    "title": st.one_of(text, raw, st.just(DROP)),
    "kind": st.sampled_from(["webinar", "Webinar", " webinar", DROP, None]),
    "status": st.sampled_from(["cancelled", "CANCELLED", DROP, None]),
    "description": optional(st.one_of(text, raw)),
    "online_url": optional(st.one_of(url, bad_url, raw)),
    "registration_url": optional(st.one_of(url, bad_url)),
    "organizer": optional(st.one_of(text, st.just(""), raw)),
    "topics": st.lists(st.one_of(topic, bad_topic), max_size=3),
    "topics[]": st.one_of(topic, bad_topic, raw),
    "venue": optional(st.one_of(venue, raw)),
    "venue.": st.one_of(text, raw, st.just(DROP)),
    "extra": st.one_of(raw, st.just(DROP)),
}


# 1. What the model signs, the schema accepts.


@PROPS
@given(signed_members)
def test_every_signed_member_body_is_valid(body: dict[str, Any]) -> None:
    errors = [e.message for e in schema("member.schema.json").iter_errors(body)]
    assert not errors, (errors, body)


@PROPS
@given(signed_events)
def test_every_signed_event_body_is_valid(body: dict[str, Any]) -> None:
    errors = [e.message for e in schema("event.schema.json").iter_errors(body)]
    assert not errors, (errors, body)


# 2. On mutated bodies the schema and the model agree.


@PROPS
@given(mutated(signed_members, MEMBER_MUTATIONS))
def test_schema_and_model_agree_on_member_bodies(body: dict[str, Any]) -> None:
    model = signed_as_is(MemberBody, body)
    event(f"the model signs it as is: {model}")
    assert schema("member.schema.json").is_valid(body) is model, (model, body)


@PROPS
@given(mutated(signed_events, EVENT_MUTATIONS))
def test_schema_and_model_agree_on_event_bodies(body: dict[str, Any]) -> None:
    model = signed_as_is(EventBody, body)
    event(f"the model signs it as is: {model}")
    assert schema("event.schema.json").is_valid(body) is model, (model, body)


# 3. Every pattern means the same in the three engines.

PATTERNS = sorted({i["pattern"] for n in NAMES for i in walk(load(n)) if "pattern" in i})
PROBES = [*SPACES, "\n", "ſ", "K", "٣", "１", "é", "\U0001f600", "$", "@", "/"]


def test_patterns_mean_the_same_in_every_engine() -> None:
    """Strings that match each pattern, then with a probe character (a space of any engine,
    a non-ASCII digit, a case-folding letter ...) put in: ECMA-262 (node.js), Python's re
    and Rust's regex (pydantic) give every one the same verdict. The URL pattern, which a
    model check runs on Python's re, admits only trimmed text."""
    cases: list[tuple[str, str]] = []

    @settings(max_examples=300, deadline=None, database=None)
    @given(st.data())
    def collect(data: st.DataObject) -> None:
        pattern = data.draw(st.sampled_from(PATTERNS))
        value = data.draw(st.from_regex(_python(pattern), fullmatch=True))
        if value and data.draw(st.booleans()):
            at = data.draw(st.integers(0, len(value)))
            keep = data.draw(st.booleans())
            probe = data.draw(st.sampled_from(PROBES))
            value = value[:at] + probe + value[at + (0 if keep else 1) :]
        cases.append((pattern, value))

    collect()
    verdicts = ecma_verdicts(cases)
    for index, (pattern, value) in enumerate(cases):
        python = _python(pattern).search(value) is not None
        plain = re.search(pattern, value) is not None  # Python's own $, no final line feed
        assert _rust(pattern, value) is python, (pattern, value, "Rust")
        if not value.endswith("\n"):
            assert plain is python, (pattern, value, "Python")
        if verdicts is not None:
            assert verdicts[index] is python, (pattern, value, "ECMA-262")
    for pattern, value in cases:  # Python's strip() trims a superset of Rust's trim()
        if pattern == URL_PATTERN and _python(pattern).search(value):
            assert value.strip() == value, value


@functools.cache
def _matcher(pattern: str) -> TypeAdapter[str]:
    """pydantic's own pattern check (Rust's regex)."""
    return TypeAdapter(Annotated[str, Field(pattern=pattern)])


def _rust(pattern: str, value: str) -> bool:
    try:
        _matcher(pattern).validate_python(value)
    except ModelError:
        return False
    return True
