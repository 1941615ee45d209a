"""Stage timers and cProfile tables for the sync profile (phase 5) and phase 3.

The stages are named as strings and looked up when the profile runs (see
``benchlib.patching``): the sync path is being refactored, and a stage that no longer
exists is skipped rather than failing the bench.
"""

from __future__ import annotations

import asyncio
import cProfile
import importlib
import inspect
import pstats
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from benchlib.patching import Patch, resolve
from benchlib.provenance import REPO, code_root


class StageTimer:
    """Inclusive wall and thread-CPU time per call path (thread-local stack), for patched
    functions. CPU time tells work from waiting (for a peer, the verify pool, or a core)."""

    def __init__(self) -> None:
        self.total: dict[tuple[str, ...], float] = {}
        self.cpu: dict[tuple[str, ...], float] = {}
        self.calls: dict[tuple[str, ...], int] = {}
        self.local = threading.local()
        self.lock = threading.Lock()

    def _stack(self) -> list[str]:
        stack = getattr(self.local, "stack", None)
        if stack is None:
            stack = self.local.stack = []
        return stack

    def _add(self, path: tuple[str, ...], dt: float, dcpu: float) -> None:
        with self.lock:
            self.total[path] = self.total.get(path, 0.0) + dt
            self.cpu[path] = self.cpu.get(path, 0.0) + dcpu
            self.calls[path] = self.calls.get(path, 0) + 1

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            stack = self._stack()
            stack.append(name)
            path = tuple(stack)
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self._add(path, time.perf_counter() - t0, time.thread_time() - c0)
                stack.pop()

        return timed

    def wrap_async(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            stack = self._stack()
            stack.append(name)
            path = tuple(stack)
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return await fn(*args, **kwargs)
            finally:
                self._add(path, time.perf_counter() - t0, time.thread_time() - c0)
                stack.pop()

        return timed

    def rows(self, records: int) -> list[dict[str, Any]]:
        """Depth-first, children after parents, with the parent's self time."""
        out = []
        for path in sorted(self.total):
            kids = [p for p in self.total if len(p) == len(path) + 1 and p[: len(path)] == path]
            own = self.total[path] - sum(self.total[p] for p in kids)
            own_cpu = self.cpu[path] - sum(self.cpu[p] for p in kids)
            out.append(
                {
                    "stage": " > ".join(path),
                    "depth": len(path) - 1,
                    "us_per_record": round(self.total[path] / records * 1e6, 1),
                    "self_us_per_record": round(own / records * 1e6, 1),
                    "cpu_us_per_record": round(self.cpu[path] / records * 1e6, 1),
                    "self_cpu_us_per_record": round(own_cpu / records * 1e6, 1),
                    "calls_per_record": round(self.calls[path] / records, 3),
                }
            )
        return out


# What the stage timers wrap: (module, class or "", attribute, label). The application code may
# change between runs (functions renamed, merged): an attribute that does not exist is
# skipped, so the bench keeps working and simply reports fewer stages.
STAGES: list[tuple[str, str, str, str]] = [
    ("node.sync.client", "PeerClient", "records", "fetch page (HTTP, parse, validate)"),
    ("node.sync.client", "PeerClient", "_get", "HTTP GET + read + json.loads"),
    ("node.sync.client", "PeerClient", "_parse", "RecordPage/Heads model_validate"),
    ("node.sync.puller", "Puller", "_tip", "_tip (SELECT)"),
    ("node.sync.puller", "Puller", "_apply", "apply page (worker thread): ingest + commit"),
    ("node.sync.ingest", "", "ingest_page", "ingest_page"),
    ("node.sync.ingest", "", "_verified", "_verified (prepare all, then verify on the mapper)"),
    ("node.sync.ingest", "", "prepare", "prepare (all checks but the signature)"),
    ("node.sync.ingest", "", "check", "check (full verification)"),
    ("node.sync.ingest", "", "verify", "Ed25519 verify (on the verify pool if any)"),
    ("node.sync.ingest", "", "verify_envelope", "verify_envelope"),
    ("node.sync.ingest", "", "canonical_bytes", "canonical_bytes"),
    ("node.sync.ingest", "", "b64url_decode", "b64url_decode (sig)"),
    ("node.sync.ingest", "", "header_hash", "header_hash (canonical again)"),
    ("node.sync.ingest", "", "_current", "_current (SELECT per record)"),
    ("node.sync.ingest", "", "_currents", "_currents (SELECT per page)"),
    ("node.sync.ingest", "", "_held_at", "_held_at (SELECT)"),
    ("node.sync.ingest", "", "merge", "merge"),
    ("federation.trust", "Trust", "key_for", "trust.key_for"),
    ("federation.trust", "Trust", "check_scope", "trust.check_scope"),
    ("federation.signing", "", "verify_header", "verify_header (canonical + Ed25519)"),
    ("federation.signing", "", "check_body", "check_body (canonical body + sha256)"),
    ("federation.signing", "", "canonical_bytes", "canonical_bytes"),
    ("node.db.store", "", "apply", "store.apply"),
    ("node.db.store", "", "_row", "_row"),
    ("node.db.store", "", "canonical_bytes", "canonical_bytes"),
    ("node.db.store", "", "_summarise", "_summarise (chain head, digest)"),
    ("node.db.store", "", "_project", "_project (entries, tags, FTS)"),
    ("node.db.store", "", "project", "projection.project"),
]


def stage_patches(timer: StageTimer) -> list[Patch]:
    """Timers around every stage that exists, and around the pydantic validations that
    ``node.sync.ingest`` makes through its model classes (wrapped by a stand-in object)."""
    patches: list[Patch] = []
    for module_name, class_name, attr, label in STAGES:
        found = resolve(module_name, class_name, attr)
        if found is None:
            continue
        owner, fn = found
        wrap = timer.wrap_async if inspect.iscoroutinefunction(fn) else timer.wrap
        patches.append((owner, attr, wrap(label, fn)))
    ingest = importlib.import_module("node.sync.ingest")
    envelope = getattr(ingest, "Envelope", None)
    if envelope is not None:
        shim = SimpleNamespace(
            model_validate=timer.wrap("Envelope.model_validate", envelope.model_validate)
        )
        patches.append((ingest, "Envelope", shim))
    models = getattr(ingest, "BODY_MODELS", None)
    if isinstance(models, dict):
        shims = {
            kind: SimpleNamespace(
                model_validate=timer.wrap(f"{kind} body schema (pydantic)", m.model_validate)
            )
            for kind, m in models.items()
        }
        patches.append((ingest, "BODY_MODELS", shims))
    return patches


async def _inline_to_thread(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def sequential_patches() -> list[Patch]:
    """For cProfile (which sees one thread): run ``asyncio.to_thread`` work inline and, if
    the syncer verifies on a thread pool, verify with the built-in ``map`` instead."""
    from node.sync.puller import Puller

    patches: list[Patch] = [(asyncio, "to_thread", _inline_to_thread)]
    if hasattr(Puller, "_verifier_map"):
        patches.append((Puller, "_verifier_map", lambda self: map))
    return patches


def cprofile_rows(prof: cProfile.Profile, records: int, top: int = 30) -> list[dict[str, Any]]:
    """The ``top`` functions by own time and by cumulative time, per record, with paths
    relative to the code that ran (the repository or a snapshot)."""
    stats = pstats.Stats(prof)
    rows = []
    root = code_root()
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        short = filename.replace(root + "/", "").replace(str(REPO) + "/", "")
        if "site-packages/" in short:
            short = short.split("site-packages/", 1)[1]
        rows.append(
            {
                "function": f"{short}:{line}({func})",
                "tottime_us_per_record": round(tt / records * 1e6, 2),
                "cumtime_us_per_record": round(ct / records * 1e6, 2),
                "calls_per_record": round(nc / records, 3),
            }
        )
    by_tot = sorted(rows, key=lambda r: -r["tottime_us_per_record"])[:top]
    by_cum = sorted(rows, key=lambda r: -r["cumtime_us_per_record"])[:top]
    return [{"by": "tottime", **r} for r in by_tot] + [{"by": "cumtime", **r} for r in by_cum]
