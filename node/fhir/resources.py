"""Stored bodies → FHIR R4 resources (plain dicts). Pure: no database, no clock, no I/O.

The mapping follows IHE mCSD's shape (Organization for members, Location for places)
without claiming its profiles: mCSD asks for things the directory does not hold (for
example an ``Organization.partOf`` hierarchy). Everything the FHIR core has no element
for, and that a consumer needs to trust or classify a resource, travels in extensions
under one documented namespace, ``NS``. See docs/FHIR.md for the tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from federation import provenance

if TYPE_CHECKING:
    from node.db.fhir import Stored

NS = "https://healthnet.example/fhir"
PROVENANCE_URL = f"{NS}/StructureDefinition/record-provenance"
NETWORK_ROLE_URL = f"{NS}/StructureDefinition/network-role"
REGION_URL = f"{NS}/StructureDefinition/region"
SOCIAL_URL = f"{NS}/StructureDefinition/social-account"
MEMBER_KIND_SYSTEM = f"{NS}/CodeSystem/member-kind"
NETWORK_ROLE_SYSTEM = f"{NS}/CodeSystem/network-role"
REGION_SYSTEM = f"{NS}/CodeSystem/region"
LOCATION_ROLE_SYSTEM = f"{NS}/CodeSystem/location-role"
HL7_ORG_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
FHIR_VERSION = "4.0.1"
INT32_MAX = 2**31 - 1

# Our member kinds, with their display and the nearest HL7 organization-type code. The
# HL7 code is coarse (four of our kinds are all "prov"), so our own coding comes along.
MEMBER_KINDS: dict[str, tuple[str, str, str]] = {
    "health-system": ("Health system", "prov", "Healthcare Provider"),
    "hospital": ("Hospital", "prov", "Healthcare Provider"),
    "academic-medical-centre": ("Academic medical centre", "prov", "Healthcare Provider"),
    "clinic": ("Clinic", "prov", "Healthcare Provider"),
    "patient-organization": ("Patient organization", "cg", "Community Group"),
    "professional-society": ("Professional society", "other", "Other"),
    "other": ("Other", "other", "Other"),
}
NETWORK_ROLES = {
    "hub": "Hub",
    "community-leader": "Community leader",
    "charter-member": "Charter member",
    "member": "Member",
}
LOCATION_ROLES = {"member-site": "Member site", "event-venue": "Event venue"}


@dataclass(frozen=True)
class Provenance:
    """Where a version came from and how this node vouches for it."""

    origin: str  # node id of the signing origin
    seq: int  # the origin's sequence number of this version
    key_id: str  # which of the origin's keys signed it
    signature: str  # "verified", "failed" or "unverifiable" (federation/provenance.py)
    received_at: str  # when this node stored it (the clock `_since` compares against)
    envelope_url: str  # where the signed envelope can be fetched for offline checks
    # The origin's roster standing now: "active", or "suspended", "revoked", "unlisted".
    # A suspended origin's held records still verify; readers are told it beside them.
    standing: str = "active"


@dataclass(frozen=True)
class Version:
    """One stored version of a record, apart from its body."""

    record_id: str
    version: int
    updated_at: str  # the origin's issued_at: meta.lastUpdated
    provenance: Provenance


def version_of(stored: Stored, keys: provenance.KeyRing, node_url: str) -> Version:
    """A stored version's meta and provenance, its signature re-checked against the keys
    the roster vouches for now, so a suspended origin reads "suspended" here as it does
    on the pages (both call federation.provenance.check)."""
    checked = provenance.check(
        keys, header_text=stored.header, sig=stored.sig, body_text=stored.body
    )
    return Version(
        record_id=stored.record_id,
        version=stored.version,
        updated_at=stored.issued_at,
        provenance=Provenance(
            origin=stored.origin,
            seq=stored.seq,
            key_id=checked.key_id,
            signature=checked.status.value,
            received_at=stored.received_at,
            envelope_url=f"{node_url}/records/{stored.record_id}",
            standing=checked.standing.value,
        ),
    )


def source(origin: str) -> str:
    """``meta.source``: the origin node, as a URN (a node id is stable; its URL is not)."""
    return f"urn:healthnet:node:{origin}"


def meta(v: Version) -> dict[str, Any]:
    return {
        "versionId": str(v.version),
        "lastUpdated": v.updated_at,
        "source": source(v.provenance.origin),
    }


def provenance_extension(p: Provenance) -> dict[str, Any]:
    """The signed-record facts, as one complex extension (docs/FHIR.md, "Provenance").

    FHIR R4 ``integer`` is 32-bit while a sequence number may reach 2^53 - 1, so a number
    beyond 2^31 - 1 is written as ``valueDecimal`` (an exact integer-valued decimal).
    """
    seq: dict[str, Any] = (
        {"url": "seq", "valueInteger": p.seq}
        if p.seq <= INT32_MAX
        else {"url": "seq", "valueDecimal": p.seq}
    )
    return {
        "url": PROVENANCE_URL,
        "extension": [
            {"url": "origin", "valueId": p.origin},
            seq,
            {"url": "keyId", "valueString": p.key_id},
            {"url": "signature", "valueCode": p.signature},
            {"url": "received", "valueInstant": p.received_at},
            {"url": "envelope", "valueUrl": p.envelope_url},
            # Only when it is news: an active origin is the normal case.
            *([{"url": "originStatus", "valueCode": p.standing}] if p.standing != "active" else []),
        ],
    }


def _coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


def organization(member: Mapping[str, Any], v: Version) -> dict[str, Any]:
    """A member as an Organization.

    ``partOf`` is never set: members are independent organizations, and the network's
    structure (hubs, community leaders) is a role, not a parent, so it goes in the
    ``network-role`` extension. ``active`` is always true: a deleted member is not an
    inactive Organization, it is gone (410 on read, DELETE in the history).
    """
    kind = member["kind"]
    display, hl7_code, hl7_display = MEMBER_KINDS.get(kind, (kind, "other", "Other"))
    role = member.get("network_role") or "member"
    org: dict[str, Any] = {
        "resourceType": "Organization",
        "id": v.record_id,
        "meta": meta(v),
        "extension": [
            provenance_extension(v.provenance),
            {
                "url": NETWORK_ROLE_URL,
                "valueCoding": _coding(NETWORK_ROLE_SYSTEM, role, NETWORK_ROLES.get(role, role)),
            },
            {
                "url": REGION_URL,
                "valueCoding": _coding(
                    REGION_SYSTEM, member["region"], member["region"].replace("-", " ").title()
                ),
            },
        ],
        # Record ids are random UUIDs chosen by the origin: globally unique on their own.
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{v.record_id}"}],
        "active": True,
        "type": [
            {
                "coding": [
                    _coding(HL7_ORG_TYPE, hl7_code, hl7_display),
                    _coding(MEMBER_KIND_SYSTEM, kind, display),
                ],
                "text": display,
            }
        ],
        "name": member["name"],
    }
    telecom = _telecom(member)
    if telecom:
        org["telecom"] = telecom
    address = {k: member[f] for k, f in (("city", "city"), ("country", "country")) if member.get(f)}
    if address:
        org["address"] = [address]
    contact = _contact(member.get("contact"))
    if contact:
        org["contact"] = [contact]
    return org


def _telecom(member: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The website, then each social account. An account with a URL is a ``url`` contact
    point; one with only a handle (``@radboudumc``) is ``other``. The platform, and the
    handle when both are given, ride in the ``social-account`` extension."""
    out: list[dict[str, Any]] = []
    if member.get("website"):
        out.append({"system": "url", "value": member["website"], "use": "work"})
    for account in member.get("social") or []:
        url, handle = account.get("url"), account.get("handle")
        parts: list[dict[str, Any]] = [{"url": "platform", "valueCode": account["platform"]}]
        if handle:
            parts.append({"url": "handle", "valueString": handle})
        out.append(
            {
                "extension": [{"url": SOCIAL_URL, "extension": parts}],
                "system": "url" if url else "other",
                "value": url or handle,
                "use": "work",
            }
        )
    return out


def _contact(contact: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not contact:
        return None
    out: dict[str, Any] = {}
    if contact.get("name"):
        out["name"] = {"text": contact["name"]}
    telecom = [
        {"system": system, "value": contact[field], "use": "work"}
        for system, field in (("email", "email"), ("phone", "phone"), ("url", "url"))
        if contact.get(field)
    ]
    if telecom:
        out["telecom"] = telecom
    return out or None


def has_site(kind: str, body: Mapping[str, Any]) -> bool:
    """Whether a live record has a Location: a member with a city or coordinates, an
    event with a venue (a venue always names its city)."""
    if kind == "member":
        return bool(body.get("city")) or body.get("latitude") is not None
    return bool(body.get("venue"))


def location(kind: str, body: Mapping[str, Any], v: Version) -> dict[str, Any] | None:
    """The Location of a member (its site) or of an event (its venue), or None.

    A Location has the id of the record it comes from. Record ids are UUIDs, unique across
    members and events, so the id is deterministic, stable across edits and the same on
    every node, and ``Location/<id>`` next to ``Organization/<id>`` is the member's site.
    """
    if not has_site(kind, body):
        return None
    if kind == "member":
        return _member_site(body, v)
    return _event_venue(body, v)


def _base_location(v: Version) -> dict[str, Any]:
    return {
        "resourceType": "Location",
        "id": v.record_id,
        "meta": meta(v),
        "extension": [provenance_extension(v.provenance)],
    }


def _place(loc: dict[str, Any], place: Mapping[str, Any], role: str) -> None:
    loc["type"] = [{"coding": [_coding(LOCATION_ROLE_SYSTEM, role, LOCATION_ROLES[role])]}]
    address = {k: place[k] for k in ("city", "country") if place.get(k)}
    if address:
        loc["address"] = address
    if place.get("latitude") is not None and place.get("longitude") is not None:
        loc["position"] = {"longitude": place["longitude"], "latitude": place["latitude"]}


def _member_site(member: Mapping[str, Any], v: Version) -> dict[str, Any]:
    loc = _base_location(v)
    loc.update(status="active", name=member["name"], mode="instance")
    _place(loc, member, "member-site")
    loc["managingOrganization"] = {
        "reference": f"Organization/{v.record_id}",
        "display": member["name"],
    }
    return loc


def _event_venue(event: Mapping[str, Any], v: Version) -> dict[str, Any]:
    """An event's venue. Its name is the venue's own name when given, else the event
    title; the title is always findable (as ``alias`` when the venue has a name). A
    cancelled event's venue is ``inactive``. The organizer, when named, is a member id."""
    venue: Mapping[str, Any] = event["venue"]
    loc = _base_location(v)
    status = "inactive" if event.get("status") == "cancelled" else "active"
    loc.update(status=status, name=venue.get("name") or event["title"])
    if venue.get("name"):
        loc["alias"] = [event["title"]]
    loc["mode"] = "instance"
    _place(loc, venue, "event-venue")
    if event.get("organizer"):
        loc["managingOrganization"] = {"reference": f"Organization/{event['organizer']}"}
    return loc


def operation_outcome(
    code: str, diagnostics: str, *, severity: str = "error", expression: str | None = None
) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


_SEARCH_PARAMS: dict[str, list[tuple[str, str, str, str]]] = {
    "Organization": [
        ("_id", "Resource-id", "token", "The record id"),
        ("_lastUpdated", "Resource-lastUpdated", "date", "The origin's issued_at"),
        ("name", "Organization-name", "string", "Starts with; :exact, :contains; folded"),
        ("address-country", "Organization-address-country", "string", "ISO 3166-1 alpha-2"),
    ],
    "Location": [
        ("_id", "Resource-id", "token", "The member or event id"),
        ("_lastUpdated", "Resource-lastUpdated", "date", "The origin's issued_at"),
        (
            "name",
            "Location-name",
            "string",
            "name | alias: a member's name; a venue's own name or its event's title",
        ),
        ("address-country", "Location-address-country", "string", "ISO 3166-1 alpha-2"),
        ("organization", "Location-organization", "reference", "Organization/<id>"),
    ],
}


def capability_statement(
    *, base: str, node_name: str, software_version: str, date: str
) -> dict[str, Any]:
    """What this server does: read, search and history of two resource types, JSON only."""
    resources = []
    for rtype, params in _SEARCH_PARAMS.items():
        resources.append(
            {
                "type": rtype,
                "interaction": [
                    {"code": "read"},
                    {"code": "search-type"},
                    {"code": "history-type"},
                ],
                "versioning": "versioned",
                "readHistory": False,
                "updateCreate": False,
                "searchParam": [
                    {
                        "name": name,
                        "definition": f"http://hl7.org/fhir/SearchParameter/{definition}",
                        "type": ptype,
                        "documentation": doc,
                    }
                    for name, definition, ptype, doc in params
                ],
            }
        )
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": node_name,
        "kind": "instance",
        "software": {"name": "healthnet", "version": software_version},
        "implementation": {"description": f"healthnet node {node_name}", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Read-only view of a federated directory; every resource is a record "
                    "signed by its origin node (see the record-provenance extension). "
                    "Unknown search parameters are refused unless 'Prefer: handling=lenient'."
                ),
                "resource": resources,
                "interaction": [{"code": "history-system"}],
            }
        ],
    }
