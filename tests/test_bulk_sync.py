"""Pulling an origin from far behind: pages checked in worker processes
(node.sync.verifier_pool) while the puller stores the page before.

The verdicts must be exactly those of the inline checks: every record verified before it
is stored, a bad record stopping its page (the records before it kept, itself
quarantined with the same reason, nothing after it stored), one page and its new tip per
transaction, and the same records, digests and directory as a pull checked inline.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.clock import Clock
from support.faults import (
    World,
    create_member,
    envelopes,
    heads_of,
    quarantined,
    stored,
    tip,
    total,
    update_member,
    world_test,
)
from support.federation_world import delete_member
from support.fedkit import FedNode, call
from support.procs import child_env, kill_pid, poll_until
from test_federation_faults import BAD_THIRD

from federation.checks import check_page, check_page_bytes


def far_behind(node: FedNode) -> None:
    """Make every pull of ``node`` count as far behind, so pages go to the process pool."""
    node.sync.puller.far_behind = 1


@pytest.mark.parametrize("case", list(BAD_THIRD))
def test_a_bad_record_in_a_pool_checked_page_stops_it(
    tmp_path: Path, clock: Clock, case: str
) -> None:
    make, reason = BAD_THIRD[case]

    async def body(w: World) -> None:
        far_behind(w.asia)
        for i in range(4):
            await create_member(w.eu, f"Europe member {i}")
        good = await envelopes(w.eu)
        bad = make(w, good)
        w.relay.logs[w.eu.node_id] = [good[0], good[1], *bad, good[3]]

        result = await w.pull_relay(w.asia)
        assert result.ok is True and result.applied == 2 and result.rejected == 1
        assert stored(w.asia, w.eu.node_id) == [(1, 1, True, True), (2, 1, True, True)]
        assert tip(w.asia, w.eu.node_id) == 2
        (q,) = quarantined(w.asia)
        assert (q.reason, q.peer) == (reason, w.relay_node.node_id)
        assert json.loads(q.envelope) == (good[3] if case == "gap" else bad[0])

        await w.pull(w.asia, w.eu)  # resumes from the committed tip, still from the pool
        assert (await heads_of(w.asia))[w.eu.node_id] == (await heads_of(w.eu))[w.eu.node_id]

    world_test(tmp_path, clock, body)


def test_a_pool_checked_pull_holds_what_an_inline_one_does(tmp_path: Path, clock: Clock) -> None:
    async def body(w: World) -> None:
        made = [await create_member(w.eu, f"Europe member {i}") for i in range(7)]
        await update_member(w.eu, made[0]["id"], "Europe member 0, renamed")
        await delete_member(w.eu, made[1]["id"])
        for node in (w.asia, w.hub):
            node.settings.sync_page_size = 3  # several pages, each its own transaction
        far_behind(w.asia)  # asia checks in worker processes; the hub inline

        await w.pull(w.asia, w.eu)
        assert w.asia.sync.puller.checkers.processes is not None  # made, never dropped as broken
        await w.pull(w.hub, w.eu)
        assert w.hub.sync.puller.checkers.processes is None  # near enough: no process started
        theirs = (await heads_of(w.eu))[w.eu.node_id]
        assert theirs[:2] == (9, 9)
        assert (await heads_of(w.asia))[w.eu.node_id] == theirs
        assert (await heads_of(w.hub))[w.eu.node_id] == theirs
        assert stored(w.asia, w.eu.node_id) == stored(w.hub, w.eu.node_id)
        assert await total(w.asia, region="europe") == await total(w.hub, region="europe") == 6
        renamed = await call(w.asia, "GET", f"/members/{made[0]['id']}")
        assert renamed.json()["name"] == "Europe member 0, renamed"
        assert (await call(w.asia, "GET", f"/members/{made[1]['id']}")).status_code in (404, 410)
        assert quarantined(w.asia) == []

    world_test(tmp_path, clock, body)


def test_the_worker_verdict_equals_the_inline_one(tmp_path: Path, clock: Clock) -> None:
    async def body(w: World) -> None:
        for i in range(3):
            await create_member(w.eu, f"Europe member {i}")
        good = await envelopes(w.eu)
        trust = w.asia.sync.trust.current
        for make, _ in BAD_THIRD.values():
            records = [good[0], good[1], *make(w, good)]
            page = {"origin": w.eu.node_id, "after": 0, "last_seq": 3, "records": records}
            inline = check_page(records, trust, w.eu.node_id)
            as_sent = json.dumps(page).encode()  # the bytes a peer would answer with
            assert check_page_bytes(as_sent, trust, w.eu.node_id) == inline
            assert len(inline.passed) == 2

    world_test(tmp_path, clock, body)


WORKER_PARENT = """
import sys, time
from federation.checks import check_page_bytes
from node.sync import verifier_pool
if __name__ == "__main__":
    pool = verifier_pool.make_pool()
    pool.submit(check_page_bytes, b'{"records": []}', None, "x").result()
    print(*pool._processes, flush=True)
    time.sleep(120)
"""


@pytest.mark.slow
def test_verify_workers_end_when_the_puller_process_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(WORKER_PARENT, encoding="utf-8")
    parent = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, env=child_env(), text=True
    )
    try:
        assert parent.stdout is not None
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert workers and all(Path(f"/proc/{pid}").exists() for pid in workers)
    finally:
        kill_pid(parent)  # SIGKILL: the pool is never shut down

    def gone() -> bool:
        return not any(_alive(pid) for pid in workers)

    poll_until(gone, timeout=20, what="the orphaned verify worker to exit")


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting for init to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
