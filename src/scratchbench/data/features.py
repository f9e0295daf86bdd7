"""Feature files: ``data/features/<dataset>/features.npz`` + ``meta.json`` (write and load).

The npz is written with fixed zip timestamps so the same arrays always give the same bytes,
which makes ``features_sha256`` (stored in ``meta.json``) a reproducible fingerprint.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from scratchbench import paths

DATASETS: tuple[str, ...] = ("mnist", "catvnoncat", "fruits360", "moons", "r1_table", "xor3", "xor")
REQUIRED_KEYS: tuple[str, ...] = ("x_train", "y_train", "x_test", "y_test", "class_names")
FEATURES_FILE = "features.npz"
META_FILE = "meta.json"


class FeatureError(RuntimeError):
    """A feature file is missing, malformed or does not match its meta.json."""


@dataclass
class FeatureSet:
    """Train/test features of one dataset as written by the featurize stage."""

    dataset: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    meta: dict[str, Any] = field(default_factory=dict)
    images_train: np.ndarray | None = None
    images_test: np.ndarray | None = None

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Per-sample input shape as stored, e.g. ``(28, 28, 1)`` or ``(102,)``."""
        return tuple(self.x_train.shape[1:])

    @property
    def n_features(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def features_sha256(self) -> str | None:
        return self.meta.get("features_sha256")


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _resolve_dir(dataset: str, root: str | os.PathLike[str] | None) -> Path:
    """Feature folder of ``dataset``; ``root`` is a project root, a ``features`` folder or the folder itself."""
    if root is None:
        return paths.features_dir(dataset)
    root = Path(root)
    for cand in (root / "data" / "features" / dataset, root / dataset, root):
        if (cand / FEATURES_FILE).is_file():
            return cand
    return root / "data" / "features" / dataset


def features_path(dataset: str, root: str | os.PathLike[str] | None = None) -> Path:
    return _resolve_dir(dataset, root) / FEATURES_FILE


def _check_name(dataset: str) -> None:
    if dataset not in DATASETS:
        raise FeatureError(f"unknown dataset {dataset!r}; valid names: {', '.join(DATASETS)}")


def features_sha256(dataset: str, root: str | os.PathLike[str] | None = None) -> str:
    """sha256 of the dataset's ``features.npz`` (what runs record as tag ``features_sha256``)."""
    _check_name(dataset)
    path = features_path(dataset, root)
    if not path.is_file():
        raise FeatureError(f"no feature file {path}; run `dvc repro featurize@{dataset}`")
    return sha256_file(path)


def _write_npz_deterministic(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed`` but with fixed zip timestamps (byte-identical reruns)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arrays[key]), allow_pickle=False)
            zf.writestr(info, buf.getvalue(), compresslevel=6)


def save_features(
    dataset: str,
    arrays: Mapping[str, np.ndarray],
    meta: Mapping[str, Any],
    out_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Write ``features.npz`` + ``meta.json`` atomically; return the folder.

    ``arrays`` must hold ``x_train, y_train, x_test, y_test, class_names`` (optional
    ``images_*``, ``selected_bins``). ``meta`` gets shapes, dtypes and ``features_sha256`` added.
    """
    _check_name(dataset)
    missing = [k for k in REQUIRED_KEYS if k not in arrays]
    if missing:
        raise FeatureError(f"{dataset}: feature arrays lack keys {missing}")
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if len(x) != len(y):
            raise FeatureError(f"{dataset}: x_{split} has {len(x)} rows but y_{split} has {len(y)}")
    out = Path(out_dir) if out_dir is not None else paths.features_dir(dataset)
    out.mkdir(parents=True, exist_ok=True)
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    arrays["y_train"] = arrays["y_train"].astype(np.int64)
    arrays["y_test"] = arrays["y_test"].astype(np.int64)
    arrays["class_names"] = np.asarray([str(c) for c in arrays["class_names"]])

    fd, tmp_npz = tempfile.mkstemp(prefix=".features-", suffix=".npz.tmp", dir=out)
    os.close(fd)
    tmp_meta = Path(tmp_npz).with_suffix(".json.tmp")
    try:
        _write_npz_deterministic(Path(tmp_npz), arrays)
        full_meta = dict(meta)
        full_meta.update(
            dataset=dataset,
            class_names=[str(c) for c in arrays["class_names"]],
            shapes={k: list(v.shape) for k, v in sorted(arrays.items())},
            dtypes={k: str(v.dtype) for k, v in sorted(arrays.items())},
            n_train=int(len(arrays["x_train"])),
            n_test=int(len(arrays["x_test"])),
            n_features=int(np.prod(arrays["x_train"].shape[1:])),
            features_sha256=sha256_file(tmp_npz),
        )
        tmp_meta.write_text(json.dumps(full_meta, indent=2, sort_keys=True, default=_json_default) + "\n")
        os.replace(tmp_npz, out / FEATURES_FILE)
        os.replace(tmp_meta, out / META_FILE)
    finally:
        for p in (Path(tmp_npz), tmp_meta):
            if p.exists():
                p.unlink()
    return out


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


_CACHE: dict[tuple, FeatureSet] = {}


def load_features_cached(dataset: str) -> FeatureSet:
    """:func:`load_features` once per feature-file version in this process (keyed by path, size and
    mtime): the pipeline's train stage plans its runs and then forks its workers with the arrays
    in place. Callers must not modify the arrays."""
    npz = _resolve_dir(dataset, None) / FEATURES_FILE
    try:
        st = npz.stat()
    except OSError:
        return load_features(dataset)  # raises the usual error naming the file
    key = (str(npz.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _CACHE:
        _CACHE.clear()  # one dataset at a time is what the runs need; keeps memory bounded
        _CACHE[key] = load_features(dataset)
    return _CACHE[key]


def load_features(dataset: str, root: str | os.PathLike[str] | None = None, verify: bool = True,
                  test_only: bool = False) -> FeatureSet:
    """Load ``data/features/<dataset>`` (``root``: project root or features folder; default from paths).

    With ``verify`` the npz's sha256 is checked against ``meta.json``. With ``test_only`` the
    training arrays are not read: they come back empty (0 rows) with their stored per-sample
    shape and dtype, so the set still describes the data (``models.adapter.data_spec``).
    """
    _check_name(dataset)
    folder = _resolve_dir(dataset, root)
    npz_path, meta_path = folder / FEATURES_FILE, folder / META_FILE
    if not npz_path.is_file():
        raise FeatureError(f"no feature file {npz_path}; run `dvc repro featurize@{dataset}` first")
    if not meta_path.is_file():
        raise FeatureError(f"feature file {npz_path} has no {META_FILE} beside it; "
                           f"rerun `dvc repro featurize@{dataset}`")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as e:
        raise FeatureError(f"{meta_path}: invalid JSON ({e})") from e
    if verify and meta.get("features_sha256"):
        actual = sha256_file(npz_path)
        if actual != meta["features_sha256"]:
            raise FeatureError(
                f"{npz_path}: sha256 {actual} does not match meta.json features_sha256 "
                f"{meta['features_sha256']}; rerun `dvc repro featurize@{dataset}`"
            )
    shapes, dtypes = meta.get("shapes") or {}, meta.get("dtypes") or {}
    skip = {k for k in ("x_train", "y_train", "images_train") if k in shapes and k in dtypes} if test_only else set()
    try:
        with np.load(npz_path, allow_pickle=False) as z:  # members are read (decompressed) only when asked for
            arrays = {k: z[k] for k in z.files if k not in skip}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise FeatureError(f"{npz_path}: cannot read ({e})") from e
    arrays.update({k: np.empty((0, *shapes[k][1:]), dtype=dtypes[k]) for k in skip})
    missing = [k for k in REQUIRED_KEYS if k not in arrays]
    if missing:
        raise FeatureError(f"{npz_path}: missing keys {missing}")
    return FeatureSet(
        dataset=dataset,
        x_train=arrays["x_train"],
        y_train=arrays["y_train"],
        x_test=arrays["x_test"],
        y_test=arrays["y_test"],
        class_names=[str(c) for c in arrays["class_names"]],
        meta=meta,
        images_train=arrays.get("images_train"),
        images_test=arrays.get("images_test"),
    )
