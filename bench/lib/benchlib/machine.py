"""What the machine and its processes are doing, from /proc (Linux).

This machine is shared: wall-clock figures stretch when other work runs, CPU time does
not. So the benches charge CPU time to each process (``proc_cpu_seconds``), record the
load average, and sample how busy the whole machine was during a measurement.
"""

from __future__ import annotations

import os


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process so far, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and of every live descendant (``serve --workers N`` forks
    worker processes; their time is what serves requests). Children that exit are
    counted only once reaped, so call this while the workers are alive."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rpartition(")")[2].split()[1])
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            total += proc_cpu_seconds(current)
        except (FileNotFoundError, ProcessLookupError):
            continue
        todo.extend(children.get(current, []))
    return total


def proc_status_kb(pid: int, name: str) -> int | None:
    """One ``kB`` field of /proc/PID/status (``VmHWM``, ``VmRSS``), None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def machine_jiffies() -> tuple[int, int, int]:
    """(busy, total, steal) jiffies over all CPUs, from the first line of /proc/stat."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    steal = values[7] if len(values) > 7 else 0
    return total - idle, total, steal


def busy_share(before: tuple[int, int, int], after: tuple[int, int, int]) -> dict[str, float]:
    """How busy the whole machine was between two ``machine_jiffies`` readings."""
    busy, total, steal = (a - b for a, b in zip(after, before, strict=True))
    total = max(total, 1)
    return {"busy_pct": round(100 * busy / total, 1), "steal_pct": round(100 * steal / total, 1)}


def load_average() -> list[float]:
    """The 1, 5 and 15-minute load averages, rounded: above 2 on this 2-core machine, other
    work was running and wall-clock figures are not comparable with a quiet run."""
    return [round(x, 2) for x in os.getloadavg()]
