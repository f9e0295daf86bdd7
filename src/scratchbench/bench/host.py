"""What machine and software a benchmark ran on: ``meta.host`` of every bench JSON."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import time
from typing import Any

from ..paths import project_root

CPU_FIELDS = {"vendor_id": "vendor", "cpu family": "family", "model": "model", "model name": "model_name", "cpu MHz": "mhz"}
FLAGS = ("avx2", "avx512f", "fma")
# key -> distribution names to try (TensorFlow ships as tensorflow, tensorflow-cpu, ...)
PACKAGES = {"numpy": ("numpy",), "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow_cpu", "tensorflow-intel"), "keras": ("keras",),
            "scikit-learn": ("scikit-learn",), "pybrain3": ("pybrain3",), "threadpoolctl": ("threadpoolctl",)}


def cpuinfo() -> dict[str, Any]:
    """The first processor's fields of ``/proc/cpuinfo`` (vendor, family, model, model name, MHz, flags)."""
    out: dict[str, Any] = {"model_name": platform.processor() or platform.machine()}
    try:
        text = open("/proc/cpuinfo", encoding="utf-8").read().split("\n\n")[0]
    except OSError:
        return out
    for line in text.splitlines():
        key, _, value = (s.strip() for s in line.partition(":"))
        if key in CPU_FIELDS:
            out[CPU_FIELDS[key]] = float(value) if key == "cpu MHz" else int(value) if key in ("cpu family", "model") else value
        elif key == "flags":
            flags = set(value.split())
            out["flags"] = {f: f in flags for f in FLAGS}
    return out


def cpu_label(host: dict[str, Any]) -> str:
    """How the README names the CPU: model name, family/model and the vector flags the machine reports."""
    cpu = host.get("cpu", {})
    flags = cpu.get("flags", {})
    vec = "AVX-512" if flags.get("avx512f") else "AVX2" if flags.get("avx2") else "no AVX2"
    return (f"{cpu.get('model_name', '?')} (family {cpu.get('family', '?')} model {cpu.get('model', '?')}, {vec}"
            f"{' + FMA' if flags.get('fma') else ''}), BLAS {blas_label(host)}")


def blas_label(host: dict[str, Any]) -> str:
    blas = [b for b in host.get("blas", []) if b.get("user_api") == "blas"]
    blas.sort(key=lambda b: "numpy" not in str(b.get("filepath", "")))  # NumPy's BLAS first (SciPy may bring its own)
    return ", ".join(f"{b.get('internal_api')} {b.get('version')} ({b.get('architecture')})" for b in blas[:1]) or "?"


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for key, dists in PACKAGES.items():
        out[key] = None
        for dist in dists:
            try:
                out[key] = importlib.metadata.version(dist)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    return out


def git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=project_root(), capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def blas_info() -> list[dict[str, Any]]:
    """threadpoolctl's view of the loaded BLAS/OpenMP pools (``architecture`` = the kernel actually used)."""
    import numpy  # noqa: F401  (loads the BLAS threadpoolctl reports)
    from threadpoolctl import threadpool_info

    keys = ("user_api", "internal_api", "architecture", "version", "num_threads", "filepath")
    return [{k: i.get(k) for k in keys} for i in threadpool_info()]


def host_meta() -> dict[str, Any]:
    from .floor import theoretical_peak

    cpu = cpuinfo()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    flags = [f for f, on in cpu.get("flags", {}).items() if on]
    return {
        "cpu": cpu, "cores_available": cores, "cpu_count": os.cpu_count(), "machine": platform.machine(),
        "blas": blas_info(), "versions": versions(),
        "onednn": {"TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
                   "meaning": "unset = TensorFlow's default (oneDNN on for x86 CPUs since TF 2.9)"},
        "load_average": list(os.getloadavg()),
        "git_commit": git_commit(), "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "theoretical_peak": theoretical_peak(flags, float(cpu.get("mhz", 0.0)), cores, cpu.get("vendor", ""), cpu.get("family")),
    }
