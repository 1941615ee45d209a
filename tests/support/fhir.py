"""Helpers for the FHIR tests: requests, and independent validation of every answer.

Validation uses ``fhir.resources`` (8.x), whose top-level package is R5; FHIR R4 models are
not shipped in 8.x, so the R4B subpackage is used (``fhir.resources.R4B``): R4B changed
nothing in Organization, Location, Bundle, OperationOutcome or the CapabilityStatement
elements served here. The pydantic models check structure, cardinality, primitive formats
and unknown elements, but not required code bindings, so those are checked here too.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.organization import Organization

from .nodes import Node

FHIR_JSON = "application/fhir+json"
MODELS: dict[str, Any] = {
    "Bundle": Bundle,
    "CapabilityStatement": CapabilityStatement,
    "Location": Location,
    "OperationOutcome": OperationOutcome,
    "Organization": Organization,
}
# Required bindings (R4) of the coded elements the node serves.
ISSUE_TYPES = {
    "invalid", "structure", "required", "value", "invariant", "security", "login", "unknown",
    "expired", "forbidden", "suppressed", "processing", "not-supported", "duplicate",
    "multiple-matches", "not-found", "deleted", "too-long", "code-invalid", "extension",
    "too-costly", "business-rule", "conflict", "transient", "lock-error", "no-store",
    "exception", "timeout", "incomplete", "throttled", "informational",
}  # fmt: skip
CONTACT_SYSTEMS = {"phone", "fax", "email", "pager", "url", "sms", "other"}
CONTACT_USES = {"home", "work", "temp", "old", "mobile"}


def _codes(doc: Any, where: str = "") -> None:
    if isinstance(doc, list):
        for item in doc:
            _codes(item, where)
        return
    if not isinstance(doc, dict):
        return
    rtype = doc.get("resourceType")
    if rtype == "Bundle":
        assert doc["type"] in ("searchset", "history"), doc["type"]
        for entry in doc.get("entry", []):
            if "request" in entry:
                assert entry["request"]["method"] in ("POST", "PUT", "DELETE")
                assert doc["type"] == "history" and "response" in entry  # bdl-3, bdl-4
            if "search" in entry:
                assert doc["type"] == "searchset"  # bdl-2
                assert entry["search"]["mode"] in ("match", "include", "outcome")
            assert "resource" in entry or "request" in entry  # bdl-5
    if rtype == "Location":
        assert doc.get("status", "active") in ("active", "suspended", "inactive")
        assert doc.get("mode", "instance") in ("instance", "kind")
    if rtype == "OperationOutcome":
        for issue in doc["issue"]:
            assert issue["severity"] in ("fatal", "error", "warning", "information")
            assert issue["code"] in ISSUE_TYPES, issue
    if rtype == "CapabilityStatement":
        assert doc["status"] in ("draft", "active", "retired", "unknown")
        assert doc["kind"] in ("instance", "capability", "requirements")
    for contact in doc.get("telecom", []):
        assert contact["system"] in CONTACT_SYSTEMS, contact
        assert contact.get("use", "work") in CONTACT_USES, contact
    for key, value in doc.items():
        if isinstance(value, dict | list):
            _codes(value, f"{where}.{key}")


def validate(doc: dict[str, Any]) -> dict[str, Any]:
    """Validate a served document with the R4B models; returns it for chaining."""
    model = MODELS[doc["resourceType"]]
    model.model_validate(doc)
    _codes(doc)
    for entry in doc.get("entry", []):
        if "resource" in entry:
            MODELS[entry["resource"]["resourceType"]].model_validate(entry["resource"])
    return doc


def local(url: str) -> str:
    """An absolute link the node served (its public URL) as a path for the test client."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def fhir(
    node: Node,
    path: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **params: Any,
) -> dict[str, Any]:
    """GET a FHIR path; checks status and media type, validates the body, returns it."""
    r = node.client.get(path, params=params or None, headers=headers)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(FHIR_JSON), r.headers["content-type"]
    body: dict[str, Any] = r.json()
    return validate(body)


def outcome(node: Node, path: str, status: int, **params: Any) -> dict[str, Any]:
    """GET expecting an OperationOutcome with ``status``; returns its single issue."""
    body = fhir(node, path, status, **params)
    assert body["resourceType"] == "OperationOutcome", body
    issue: dict[str, Any] = body["issue"][0]
    assert issue["severity"] == "error"
    return issue


def walk(node: Node, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of a Bundle, following ``next`` links; each page is validated."""
    pages = [fhir(node, path, **params)]
    for _ in range(200):
        nxt = [link["url"] for link in pages[-1]["link"] if link["relation"] == "next"]
        if not nxt:
            return pages
        assert pages[-1].get("entry"), "a page with a next link must not be empty"
        pages.append(fhir(node, local(nxt[0])))
    raise AssertionError("paging did not end")


def entries(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for page in pages for e in page.get("entry", [])]


def ext(resource: dict[str, Any], url: str) -> dict[str, Any]:
    found = [e for e in resource.get("extension", []) if e["url"] == url]
    assert len(found) == 1, resource.get("extension")
    return found[0]


def provenance(resource: dict[str, Any]) -> dict[str, Any]:
    """The record-provenance extension as ``{sub-url: value}``."""
    outer = ext(resource, "https://healthnet.example/fhir/StructureDefinition/record-provenance")
    out: dict[str, Any] = {}
    for sub in outer["extension"]:
        value = [v for k, v in sub.items() if k.startswith("value")]
        assert len(value) == 1
        out[sub["url"]] = value[0]
    return out
