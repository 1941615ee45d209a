"""The console's member and event screens: list, create, edit, delete.

Built once per kind (``records_router``), like the admin API's write routes, and written
through the same ``node.writes.write``: a form is checked by the same models, signed by
the same key and audited under the signed-in token. A form with errors is shown again as
typed, each error beside its field, and nothing is written. An edit carries the version
it was opened at (``If-Match`` in the API): if someone changed the record meanwhile, the
person sees what changed and decides, instead of silently overwriting it.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from node.db import entries
from node.db.engine import writer
from node.db.search import COUNT_CAP, search
from node.db.search import Query as Search
from node.db.session import Session
from node.deps import AnnounceDep, KeysDep, RuntimeDep, SessionDep
from node.dialects import PageRoute
from node.entries import item
from node.errors import Conflict, InvalidInput, NotFound, UnknownRecord
from node.publisher import Mode
from node.runtime import Runtime
from node.signins import SignedIn
from node.web.console import fields
from node.web.console.auth import FormDep, SignedInDep
from node.web.console.screen import go, show
from node.web.pages import verify_stored
from node.web.paging import count_text
from node.writes import organizer_exists, write

RecordId = Annotated[
    str, Path(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
]
LIST_LIMIT = 100
NOUN = {"member": "member", "event": "event"}
PUBLIC = {"member": "/m", "event": "/e"}


def _values(kind: str, form: FormData) -> dict[str, str]:
    """What was typed, as the form shows it again (``languages`` is a multi-select)."""
    values = {name: str(form.get(name) or "") for name in fields.FIELDS[kind]}
    if kind == "member":
        values["languages"] = ";".join(str(v) for v in form.getlist("languages") if v)
    return values


def _own(session: Session, runtime: Runtime, kind: str, record_id: str) -> dict[str, Any]:
    """A record this node publishes (only those can be edited here), as a flat dict."""
    row = entries.one(session, kind=kind, record_id=record_id)
    if row is None:
        raise UnknownRecord(kind, record_id)
    data = item(row, kind)
    if data["origin"] != runtime.settings.node_id:
        raise NotFound(f"this {kind} is published by another node; only it can change it")
    return data


def _organizers(session: Session, runtime: Runtime, chosen: str) -> list[tuple[str, str]]:
    """The organizer picker: this region's members, and the one chosen already (an
    organizer may be a member of any region), so an edit never drops it."""
    query = Search(kind="member", limit=200, region=runtime.settings.region.value)
    page = search(session, query, cursor=None, count=False)
    found = [(r.record_id, str(item(r, "member")["name"])) for r in page.rows]
    if chosen and chosen not in {rid for rid, _ in found}:
        row = entries.one(session, kind="member", record_id=chosen)
        found.append((chosen, str(item(row, "member")["name"]) if row else chosen))
    return found


def records_router(kind: str) -> APIRouter:
    short = "m" if kind == "member" else "e"
    base = f"/admin/{short}"
    router = APIRouter(prefix=base, include_in_schema=False, route_class=PageRoute)

    def form_page(
        request: Request,
        session: Session,
        runtime: Runtime,
        who: SignedIn,
        *,
        values: dict[str, str],
        record: dict[str, Any] | None,
        version: int | None,
        errors: list[tuple[str, str]] = (),  # type: ignore[assignment]
        conflict: dict[str, Any] | None = None,
        saved: dict[str, Any] | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        region = runtime.settings.region
        named = record.get("name") or record.get("title") if record else None
        context = {
            "title": f"Edit {named}" if record else f"New {kind}",
            "kind": kind,
            "base": base,
            "public": PUBLIC[kind],
            "values": values,
            "record": record,
            "version": version,
            "errors": list(errors),
            "by_field": dict(errors),
            "conflict": conflict,
            "saved": saved,
            "countries": fields.countries(region),
            "all_countries": fields.countries(None),
            "languages": fields.languages(),
            "timezones": fields.timezones(),
            "organizers": (
                _organizers(session, runtime, values["organizer"]) if kind == "event" else []
            ),
            **fields.choices(),
        }
        return show(request, who, f"{kind}_form.html", context, status=status)

    def save(
        request: Request,
        session: Session,
        runtime: Runtime,
        who: SignedIn,
        form: FormData,
        background: BackgroundTasks,
        announce: Any,
        *,
        record_id: str | None,
    ) -> Response:
        values = _values(kind, form)
        record = _own(session, runtime, kind, record_id) if record_id else None
        opened = str(form.get("version") or "") or None
        parsed = fields.read(kind, values, region=runtime.settings.region)
        errors = parsed.errors
        if parsed.model is not None:
            runtime.write_limiter.hit(who.token.id, now=runtime.rate_clock())
            try:
                with Session(writer(runtime.engine), expire_on_commit=False) as write_session:
                    if kind == "event":
                        organizer_exists(write_session, parsed.model)
                    result = write(
                        write_session, runtime, who.token,
                        background=background, announce=announce, kind=kind,
                        record_id=record_id or str(uuid.uuid4()),
                        mode=Mode.UPDATE if record_id else Mode.CREATE,
                        body=parsed.model, if_match=opened if record_id else None,
                    )  # fmt: skip
                return go(f"{base}/{result.id}?saved={result.version}")
            except InvalidInput as exc:
                errors = [(f.removeprefix("body."), r) for f, r in exc.errors]
            except Conflict as exc:
                # Someone saved a newer version since this form was opened: show theirs.
                session.expire_all()
                latest = _own(session, runtime, kind, record_id) if record_id else None
                if latest is None:
                    raise
                theirs = fields.flat(kind, latest)
                conflict = {
                    "version": latest["version"],
                    "changed": fields.changed(kind, values, theirs),
                    "theirs": theirs,
                    "detail": str(exc),
                }
                return form_page(
                    request, session, runtime, who, values=values, record=latest,
                    version=latest["version"], conflict=conflict, status=409,
                )  # fmt: skip
        return form_page(
            request, session, runtime, who, values=values, record=record,
            version=int(opened) if opened and opened.isdigit() else None, errors=errors,
            status=422,
        )  # fmt: skip

    @router.get("", response_class=HTMLResponse)
    def listing(
        request: Request,
        session: SessionDep,
        runtime: RuntimeDep,
        who: SignedInDep,
        q: Annotated[str, Query(max_length=200)] = "",
        deleted: Annotated[str, Query(max_length=200)] = "",
    ) -> Response:
        query = Search(
            kind=kind, limit=LIST_LIMIT, region=runtime.settings.region.value, q=q.strip() or None
        )
        try:
            page = search(session, query, cursor=None, count=True, count_cap=COUNT_CAP)
        except InvalidInput as exc:
            raise InvalidInput([("q", reason) for _, reason in exc.errors]) from exc
        rows = [item(r, kind) for r in page.rows]
        context = {
            "title": f"{kind.capitalize()}s", "kind": kind, "base": base, "rows": rows,
            "q": q, "total": page.total, "limit": LIST_LIMIT, "public": PUBLIC[kind],
            "total_text": count_text(page.total, capped=page.total_capped), "deleted": deleted,
        }  # fmt: skip
        return show(request, who, "records.html", context)

    @router.get("/new", response_class=HTMLResponse)
    def new(
        request: Request, session: SessionDep, runtime: RuntimeDep, who: SignedInDep
    ) -> Response:
        values = {name: "" for name in fields.FIELDS[kind]}
        if kind == "event":
            values.update(kind="conference", status="scheduled")
        else:
            values.update(network_role="member")  # a new organization is a member
        return form_page(request, session, runtime, who, values=values, record=None, version=None)

    @router.post("/new", response_class=HTMLResponse)
    def create(
        request: Request, session: SessionDep, runtime: RuntimeDep, who: SignedInDep,
        form: FormDep, background: BackgroundTasks, announce: AnnounceDep,
    ) -> Response:  # fmt: skip
        return save(request, session, runtime, who, form, background, announce, record_id=None)

    @router.get("/{record_id}", response_class=HTMLResponse)
    def edit(
        request: Request, session: SessionDep, runtime: RuntimeDep, who: SignedInDep,
        keys: KeysDep, record_id: RecordId,
        saved: Annotated[int | None, Query(ge=1, le=2**53)] = None,
    ) -> Response:  # fmt: skip
        record = _own(session, runtime, kind, record_id)
        done = None
        if saved is not None:
            done = {"version": saved, "check": verify_stored(session, keys, record_id)}
        values = fields.flat(kind, record)
        return form_page(
            request, session, runtime, who, values=values, record=record,
            version=record["version"], saved=done,
        )  # fmt: skip

    @router.post("/{record_id}", response_class=HTMLResponse)
    def update(
        request: Request, session: SessionDep, runtime: RuntimeDep, who: SignedInDep,
        form: FormDep, background: BackgroundTasks, announce: AnnounceDep, record_id: RecordId,
    ) -> Response:  # fmt: skip
        return save(request, session, runtime, who, form, background, announce, record_id=record_id)

    @router.get("/{record_id}/delete", response_class=HTMLResponse)
    def confirm_delete(
        request: Request, session: SessionDep, runtime: RuntimeDep, who: SignedInDep,
        record_id: RecordId,
    ) -> Response:  # fmt: skip
        record = _own(session, runtime, kind, record_id)
        context = {"title": f"Delete this {kind}?", "kind": kind, "base": base, "record": record}
        return show(request, who, "delete.html", context)

    @router.post("/{record_id}/delete", response_class=HTMLResponse)
    def delete(
        request: Request, session: SessionDep, runtime: RuntimeDep, who: SignedInDep,
        form: FormDep, background: BackgroundTasks, announce: AnnounceDep, record_id: RecordId,
    ) -> Response:  # fmt: skip
        record = _own(session, runtime, kind, record_id)
        opened = str(form.get("version") or "") or None
        runtime.write_limiter.hit(who.token.id, now=runtime.rate_clock())
        try:
            with Session(writer(runtime.engine), expire_on_commit=False) as write_session:
                write(
                    write_session, runtime, who.token, background=background, announce=announce,
                    kind=kind, record_id=record_id, mode=Mode.DELETE, if_match=opened,
                )  # fmt: skip
        except Conflict:
            session.expire_all()
            latest = _own(session, runtime, kind, record_id)
            context = {
                "title": f"Delete this {kind}?", "kind": kind, "base": base, "record": latest,
                "conflict": {"version": latest["version"], "opened": opened},
            }  # fmt: skip
            return show(request, who, "delete.html", context, status=409)
        name = str(record.get("name") or record.get("title"))[:200]
        return go(f"{base}?{urlencode({'deleted': name})}")

    return router
