"""How many worker processes the server runs: ``WEB_CONCURRENCY``, else the CPUs it may use."""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["available_cpus", "worker_count"]

#: cgroup v2's CPU limit of this process's group: "<quota> <period>", or "max <period>".
_CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def _cgroup_limit(cpu_max: Path) -> int | None:
    """The CPUs a cgroup v2 quota allows (rounded up), or ``None`` without a quota."""
    try:
        quota, period = cpu_max.read_text(encoding="ascii").split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return max(1, math.ceil(int(quota) / int(period)))


def available_cpus(cpu_max: Path = _CGROUP_CPU_MAX) -> int:
    """The CPUs this process may run on: its affinity, capped by a container's CPU limit.

    ``os.cpu_count()`` counts the host's CPUs, which in a container limited to one CPU would
    start a worker per host CPU, each throttled.
    """
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    limit = _cgroup_limit(cpu_max)
    return max(1, min(cpus or 1, limit or cpus or 1))


def worker_count(configured: int | None, cpu_max: Path = _CGROUP_CPU_MAX) -> int:
    """``WEB_CONCURRENCY`` when set, else one worker per available CPU."""
    return configured if configured is not None else available_cpus(cpu_max)
