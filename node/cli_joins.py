"""``healthnet join`` and ``join-status`` (the applicant) and ``roster requests``, ``approve``
and ``decline`` (the hub): joining the network with a signed request (node.joins,
docs/PROTOCOL.md 10.7). Heavy imports happen inside each command (see node/cli_console.py).

The applicant's request id is kept in ``HOME/join-request.json`` (``node.joins``), so
that ``join-status`` needs only the home; it holds nothing secret (the id only lets one
read the status).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from node import cli_console as console
from node.cli_console import KEY_HELP, HomeArg
from node.cli_federation import roster_app

RequestIdArg = Annotated[
    str,
    typer.Argument(metavar="REQUEST_ID", help="As `roster requests` lists it.", show_default=False),
]


def join(
    home: HomeArg,
    hub_url: Annotated[str, typer.Option(metavar="URL", help="The hub's base URL.")],
    hub_key: Annotated[
        str, typer.Option(metavar="KEY", help=f"The hub's public key, {KEY_HELP} on the hub.")
    ],
    contact: Annotated[
        str,
        typer.Option(
            metavar="EMAIL", help="Where the hub's operator writes to you about the request."
        ),
    ],
) -> None:
    """Follow the network's hub, and ask it to list this node.

    Pins the hub's key, so the node fetches and follows the roster the hub signs, then
    sends the hub a join request signed with this node's key. Prints the request id and
    the key's fingerprint: read it to the hub's operator, who approves the request
    (`healthnet roster approve`). See the answer with `healthnet join-status HOME`. If
    the hub cannot be reached, prints the `healthnet roster add` line to send instead.
    """
    from federation.errors import HealthnetError
    from federation.joining import fingerprint, sign_join
    from federation.keys import node_id_for
    from node import joins, operator
    from node.runtime import utc_now

    console.public_key(hub_key, "--hub-key")
    try:
        operator.update_config(console.settings(home), hub_url=hub_url, hub_key=hub_key)
    except HealthnetError as exc:
        console.fail(exc, 2)
    settings = console.settings(home)
    key = console.signing_key(settings)
    fallback = f"  healthnet roster add HUB_HOME {settings.url} --key {key.public_b64}"
    console.say(f"{settings.node_id} now follows the hub at {settings.hub_url}")
    if node_id_for(key.public_raw) != settings.node_id:
        # A rotated key no longer proves the node id: only the out-of-band way is left.
        console.say("this node's key was rotated, so it cannot sign a join request; give")
        console.say(f"the hub operator:\n{fallback}")
        return
    try:
        body = joins.request_body(settings, key, contact=contact, now=utc_now())
        envelope = sign_join(key, body)
    except HealthnetError as exc:
        console.fail(exc, 2)
    answer = _send(f"{settings.hub_url}/federation/join", envelope, fallback)
    joins.remember_sent(settings.home, hub_url=settings.hub_url, request_id=answer["id"])
    console.say(f"join request {answer['id']} sent; it waits for the hub operator's approval")
    console.say(f"read this fingerprint to the hub's operator: {fingerprint(key.public_b64)}")
    console.say(f"see the answer with: healthnet join-status {home}")


def join_status(home: HomeArg) -> None:
    """Ask the hub what became of this node's join request (sent by `healthnet join`)."""
    import httpx

    from node import joins

    sent = joins.sent_request(Path(home))
    if sent is None:
        console.fail(f"no join request was sent from {home}: run `healthnet join` first", 2)
    url = f"{sent['hub_url']}/federation/join/{sent['id']}"
    try:
        response = httpx.get(url, timeout=10)
        state = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        console.fail(f"the hub at {sent['hub_url']} does not answer: {exc}")
    if response.status_code != 200:
        console.fail(f"the hub answered {response.status_code}: {joins.problem_text(state)}")
    console.say(f"join request {state['id']}: {state['status']}")
    if state.get("reason"):
        console.say(f"reason: {state['reason']}")


@roster_app.command("requests")
def roster_requests(
    home: HomeArg,
    every: Annotated[
        bool, typer.Option("--all", help="Decided and expired requests too, not only pending.")
    ] = False,
) -> None:
    """List the join requests the hub received, newest first."""
    from node import joins
    from node.db.session import Session
    from node.runtime import utc_now

    settings = console.settings(home)
    engine = console.database(settings)
    with Session(engine) as session:
        now = utc_now()
        views = joins.recent(session, now) if every else joins.pending(session, now)
    if not views:
        console.say("no join requests" if every else "no pending join requests")
    for v in views:
        r = v.request
        console.say(
            f"{v.id}  {v.status.value:<8}  {r.node_id}  {r.name} ({r.region.value})  {r.url}"
        )
        console.say(
            f"    fingerprint {v.fingerprint}  contact {r.contact}  received {v.received_at}"
            f" from {v.client}" + (f"  reason: {v.reason}" if v.reason else "")
        )


@roster_app.command("approve")
def roster_approve(home: HomeArg, request_id: RequestIdArg) -> None:
    """List the node of a join request in the roster (check its fingerprint first)."""
    from federation.errors import HealthnetError
    from node import joins
    from node.runtime import utc_now

    settings = console.settings(home)
    engine = console.database(settings)
    try:
        view, version = joins.approve(engine, settings, request_id, now=utc_now())
    except HealthnetError as exc:
        console.fail(exc)
    r = view.request
    console.say(f"admitted {r.node_id} ({r.name}, {r.region.value}): roster v{version}")


@roster_app.command("decline")
def roster_decline(
    home: HomeArg,
    request_id: RequestIdArg,
    reason: Annotated[
        str, typer.Option(metavar="TEXT", help="Why; the applicant reads it with join-status.")
    ],
) -> None:
    """Refuse a join request, with a reason the applicant sees."""
    from federation.errors import HealthnetError
    from node import joins
    from node.db.session import Session, writer
    from node.runtime import utc_now

    settings = console.settings(home)
    engine = console.database(settings)
    try:
        with Session(writer(engine), expire_on_commit=False) as session:
            view = joins.decline(session, request_id, reason, now=utc_now())
    except HealthnetError as exc:
        console.fail(exc)
    console.say(f"declined {view.id} ({view.node_id}): {view.reason}")


def _send(url: str, envelope: dict[str, Any], fallback: str) -> dict[str, Any]:
    """POST the envelope; the receipt, or exit 1 saying why (and, if the hub could not be
    reached at all, the out-of-band line)."""
    import httpx

    from node import joins

    try:
        response = httpx.post(url, json=envelope, timeout=10)
        answer: dict[str, Any] = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        console.say(f"the hub did not take the join request ({exc}); give the hub operator:")
        console.say(fallback)
        raise typer.Exit(1) from exc
    if response.status_code != 202:
        status = response.status_code
        console.fail(f"the hub refused the join request ({status}): {joins.problem_text(answer)}")
    return answer
