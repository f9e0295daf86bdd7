"""Provenance tags: git commit of the checkout and hash of the dependency lockfile."""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import time
from pathlib import Path

from scratchbench import paths


def _code_root() -> Path:
    """The checkout holding this code (the commit that ran), else the project root."""
    here = Path(__file__).resolve().parents[3]
    return here if (here / "pyproject.toml").is_file() else paths.project_root()


@functools.lru_cache(maxsize=None)  # once per process: a sweep worker runs many jobs
def git_commit(root: Path | None = None) -> str:
    """``HEAD`` commit of the project checkout, ``+dirty`` when tracked files changed; ``unknown`` outside git."""
    root = root or _code_root()
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@functools.lru_cache(maxsize=None)
def lockfile_sha256(root: Path | None = None) -> str:
    """sha256 of ``uv.lock`` (``missing`` when there is none)."""
    lock = (root or _code_root()) / "uv.lock"
    if not lock.is_file():
        return "missing"
    return hashlib.sha256(lock.read_bytes()).hexdigest()


@functools.lru_cache(maxsize=None)
def cpu_description() -> str:
    """The CPU the run used: model name, family/model and whether AVX-512 is there (``/proc/cpuinfo``)."""
    import platform

    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, sep, value = line.partition(":")
                if not sep:
                    if fields:
                        break  # the first processor is enough
                    continue
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        return platform.processor() or platform.machine()
    flags = set(fields.get("flags", "").split())
    simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return (f"{fields.get('model name', platform.machine())} (family {fields.get('cpu family', '?')}, "
            f"model {fields.get('model', '?')}, {simd})")


def process_start_ms(pid: int | None = None) -> int:
    """When this process started (Unix ms, from ``/proc``): the time before a run opened is measurable.

    Falls back to now where ``/proc`` is missing.
    """
    try:
        stat = open(f"/proc/{pid or os.getpid()}/stat", encoding="utf-8").read()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22: starttime, clock ticks after boot
        with open("/proc/stat", encoding="utf-8") as fh:
            btime = next(int(line.split()[1]) for line in fh if line.startswith("btime"))
        return int((btime + ticks / os.sysconf("SC_CLK_TCK")) * 1000)
    except (OSError, ValueError, IndexError, StopIteration):
        return int(time.time() * 1000)


def process_disk_reads() -> dict[str, str]:
    """What this process has read from disk so far: ``/proc/self/io``'s ``read_bytes`` (bytes fetched from
    storage, page-ins of mapped libraries included) and its major page faults. A framework import whose
    files the kernel paged out (these VMs reclaim memory idle for about a minute) shows here."""
    import resource

    out = {"process_major_faults": str(resource.getrusage(resource.RUSAGE_SELF).ru_majflt)}
    try:
        with open("/proc/self/io", encoding="utf-8") as fh:
            io = dict(line.split(": ", 1) for line in fh.read().splitlines() if ": " in line)
        out["process_read_bytes"] = str(int(io["read_bytes"]))
    except (OSError, KeyError, ValueError):
        pass
    return out
