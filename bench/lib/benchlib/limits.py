"""This machine's own limits, measured in the same run as the figures they divide.

The yardstick (/work/shared/guides/performance.md) states every figure as a ratio to the
best this machine does for the step that dominates it: Ed25519 signing for an import,
verification for a sync. The machine is shared and noisy, so the denominator is measured
by the bench itself, minutes from the figure, in rounds whose median is used.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from benchlib.app import canonical_bytes
from benchlib.timing import rate


def crypto_rates(message: bytes, *, rounds: int, seconds: float) -> dict[str, list[float]]:
    """Raw single-core Ed25519 (cryptography/OpenSSL) sign and verify, and the project's own
    canonicaliser (federation.canonical.canonical_bytes, RFC 8785), per second; with
    ``_cpu`` the same per CPU second. One figure per round for each."""
    key = Ed25519PrivateKey.generate()
    pub = key.public_key()
    sig = key.sign(message)
    body = json.loads(message)
    out: dict[str, list[float]] = {}
    for _ in range(rounds):
        for name, fn, secs in (
            ("sign", lambda: key.sign(message), seconds),
            ("verify", lambda: pub.verify(sig, message), seconds),
            ("canonical", lambda: canonical_bytes(body), seconds / 2),
        ):
            wall, cpu = rate(fn, secs)
            out.setdefault(name, []).append(wall)
            out.setdefault(name + "_cpu", []).append(cpu)
    return out


def verify_rates(
    public: Any, sig: bytes, msg: bytes, *, rounds: int, seconds: float
) -> tuple[list[float], list[float]]:
    """Verifies of one real record per wall second and per CPU second of this thread, one
    figure per round: the denominator of the sync ratios."""
    rates, cpu_rates = [], []
    for _ in range(rounds):
        wall, cpu = rate(lambda: public.verify(sig, msg), seconds, batch=200)
        rates.append(wall)
        cpu_rates.append(cpu)
    return rates, cpu_rates
