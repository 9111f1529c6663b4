"""The machine a page runs on: its CPU model and its physical cores, to read timings by."""

from __future__ import annotations

import platform
from pathlib import Path

__all__ = ["cpu_model", "physical_cores"]


def physical_cores(sysfs: str | Path = "/sys/devices/system/cpu") -> int | None:
    """How many physical cores lie behind the CPUs that Linux lists; ``None`` where it does not say.

    Two CPUs on one core are hyperthreads: they share that core's arithmetic,
    so two threads on them run less than twice as fast as one.
    """
    cores = set()
    for topology in Path(sysfs).glob("cpu[0-9]*/topology"):
        try:
            package = (topology / "physical_package_id").read_text().strip()
            core = (topology / "core_id").read_text().strip()
        except OSError:  # a topology folder without these files: the system does not say
            return None
        cores.add((package, core))
    return len(cores) or None


def cpu_model(cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    """The processor's model name (Linux's ``/proc/cpuinfo``), else what :mod:`platform` reports."""
    path = Path(cpuinfo)
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()
