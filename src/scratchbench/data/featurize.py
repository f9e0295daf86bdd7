"""Featurize one dataset: verify its raw files, build features, write ``data/features/<dataset>/``."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Mapping

from scratchbench import __version__, paths
from scratchbench.data import catvnoncat, fruits360, mnist, toy
from scratchbench.data.features import DATASETS, save_features
from scratchbench.data.fetch import verify_raw
from scratchbench.data.registry import FETCHED_DATASETS, files

_FEATURIZERS = {"mnist": mnist.featurize, "catvnoncat": catvnoncat.featurize, "fruits360": fruits360.featurize}
MAX_LISTED_RAW_FILES = 10  # above this, meta.json records only the aggregate digest


def raw_digest(dataset: str) -> str:
    """sha256 of the dataset's ``sha256sum``-style lines (C-sorted), like MANIFEST.md's fruit digest."""
    lines = [f"{rf.sha256}  {rf.path}\n" for rf in sorted(files(dataset), key=lambda r: r.path.encode())]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def featurize_dataset(
    dataset: str,
    params: Mapping[str, Any] | None = None,
    raw_dir: str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the feature files of ``dataset``; return their folder.

    The files hold no timings or paths, so the same raw data and params give the same bytes
    (and DVC hash) on every run and machine; callers time the call themselves.
    """
    if dataset not in DATASETS:
        raise KeyError(f"unknown dataset {dataset!r}; valid names: {', '.join(DATASETS)}")
    params = dict(params or {})
    meta: dict[str, Any] = {"scratchbench_version": __version__, "featurize_params": params}
    if dataset in FETCHED_DATASETS:
        raw = Path(raw_dir) if raw_dir is not None else paths.raw_dir(dataset)
        hashes = verify_raw(dataset, raw)  # every file checked before use
        meta["raw_files_count"] = len(hashes)
        meta["raw_files_digest"] = raw_digest(dataset)
        if len(hashes) <= MAX_LISTED_RAW_FILES:
            meta["raw_files"] = hashes
        arrays, extra = _FEATURIZERS[dataset](raw, params)
    elif dataset == "moons":
        arrays, extra = toy.moons_features(params)
    else:
        if params:
            raise ValueError(f"featurize.{dataset} takes no options, got {sorted(params)}")
        arrays, extra = toy.table_features(dataset)
    meta.update(extra)
    return save_features(dataset, arrays, meta, out_dir)
