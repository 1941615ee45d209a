"""The machine's raw limits over the whole run, and each figure as a ratio to them.

The raw rates are measured before the import and again after the HTTP tests, and the
median of all rounds is the denominator: the two halves bracket the run, so a machine
that got busier (or quieter) half way shows in the spread rather than in one ratio.
"""

from __future__ import annotations

from typing import Any

import cryptography
from benchlib.output import say
from benchlib.timing import med

IMPORT_TARGET = 0.25  # import rec/s ÷ raw single-core sign/s
SEARCH_P95_TARGET_MS = 10.0


def raw_limits(
    c1: dict[str, list[float]], c2: dict[str, list[float]], record_bytes: int
) -> dict[str, Any]:
    """``raw`` of the JSON: medians over both halves of ``benchlib.limits.crypto_rates``."""
    return {
        "record_bytes": record_bytes,
        "sign_per_s": round(med(c1["sign"] + c2["sign"])),
        "verify_per_s": round(med(c1["verify"] + c2["verify"])),
        "sign_per_cpu_s": round(med(c1["sign_cpu"] + c2["sign_cpu"])),
        "verify_per_cpu_s": round(med(c1["verify_cpu"] + c2["verify_cpu"])),
        "sign_runs": [round(x) for x in c1["sign"] + c2["sign"]],
        "verify_runs": [round(x) for x in c1["verify"] + c2["verify"]],
        "canonical_bytes_per_s": round(med(c1["canonical"] + c2["canonical"])),
    }


def ratios(
    c1: dict[str, list[float]],
    c2: dict[str, list[float]],
    *,
    imp_m: dict[str, Any],
    imp_e: dict[str, Any],
    w1: dict[str, Any],
    lat_res: dict[str, Any],
    record_bytes: int,
    rounds: int,
) -> dict[str, Any]:
    """``ratios`` of the JSON, printed with the raw limits and a verdict per target."""
    sign = med(c1["sign"] + c2["sign"])
    verify = med(c1["verify"] + c2["verify"])
    canon = med(c1["canonical"] + c2["canonical"])
    sign_cpu = med(c1["sign_cpu"] + c2["sign_cpu"])
    verify_cpu = med(c1["verify_cpu"] + c2["verify_cpu"])
    ratio_m = imp_m["signed_per_s"] / sign
    ratio_e = imp_e["signed_per_s"] / sign
    worst_p95 = max(v["p95_ms"] for v in lat_res.values())
    out = {
        "import_members_over_sign": round(ratio_m, 3),
        "import_events_over_sign": round(ratio_e, 3),
        "import_members_over_verify": round(imp_m["signed_per_s"] / verify, 3),
        # The same ratios on CPU time (records per CPU second of the importing thread
        # over signs per CPU second): much less sensitive to other load on the machine.
        "import_members_over_sign_cpu": round(imp_m["signed_per_cpu_s"] / sign_cpu, 3),
        "import_events_over_sign_cpu": round(imp_e["signed_per_cpu_s"] / sign_cpu, 3),
        "http_write_seq_over_sign": round(w1["writes_per_s"] / sign, 4),
        "import_target": IMPORT_TARGET,
        "search_p95_target_ms": SEARCH_P95_TARGET_MS,
        "search_worst_p95_ms": worst_p95,
        "search_queries_over_p95_target": sorted(
            k for k, v in lat_res.items() if v["p95_ms"] > SEARCH_P95_TARGET_MS
        ),
        "import_meets_target": ratio_m >= IMPORT_TARGET and ratio_e >= IMPORT_TARGET,
        "search_meets_target": worst_p95 <= SEARCH_P95_TARGET_MS,
    }
    say(
        f"\n[raw] Ed25519 (cryptography {cryptography.__version__}), one core, "
        f"{record_bytes} B record, median of {2 * rounds} runs: "
        f"sign {sign:,.0f}/s ({1e6 / sign:.1f} µs), verify {verify:,.0f}/s "
        f"({1e6 / verify:.1f} µs); federation.canonical.canonical_bytes "
        f"{canon:,.0f}/s ({1e6 / canon:.1f} µs). Per CPU second: sign {sign_cpu:,.0f}, "
        f"verify {verify_cpu:,.0f}"
    )
    say("\n[ratios]")
    for label, r, imp in (("members", ratio_m, imp_m), ("events", ratio_e, imp_e)):
        verdict = "OK" if r >= IMPORT_TARGET else "BELOW TARGET"
        say(
            f"  import {label:<8} ÷ raw sign = {r:.3f}  (target ≥ {IMPORT_TARGET}) {verdict}"
            f"; on CPU time {imp['signed_per_cpu_s'] / sign_cpu:.3f}"
        )
    for name, v in lat_res.items():
        verdict = "OK" if v["p95_ms"] <= SEARCH_P95_TARGET_MS else "ABOVE TARGET"
        say(
            f"  search {name:<13} p95 {v['p95_ms']:>8.2f} ms vs {SEARCH_P95_TARGET_MS:g} ms "
            f"target: {verdict}"
        )
    return out
