"""Loaders on the real dataset mirror, and `dvc repro fetch featurize` in a temp copy of the repo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scratchbench.data import catvnoncat, fruits360, mnist
from scratchbench.data.features import load_features
from scratchbench.data.fetch import verify_raw
from scratchbench.data.registry import FETCHED_DATASETS

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
FRUIT_DIGEST = "d2e4e3be41f0d1c49286d41c3ed5e2f8abfc8c30c22a2f9748b32b0e3a8f1802"  # MANIFEST.md
# R6's 102 hue bins (std > 50 over Training), reproduced by the default decoder (ijg = PyMuPDF's IJG libjpeg)
R6_BINS = [*range(43), *range(60, 64), *range(86, 106), 108, 180, 181, *range(183, 188), 190, 285, 287,
           *range(289, 309), 310, 313, 317, 359]
PILLOW_FRUIT_FEATURES = 109  # libjpeg-turbo decodes slightly differently: 9 more bins pass std > 50, 2 fewer


def test_mirror_matches_registry(mirror_dir: Path) -> None:
    for ds in FETCHED_DATASETS:
        assert len(verify_raw(ds, mirror_dir / ds)) > 0


def test_mnist_on_mirror(mirror_dir: Path) -> None:
    x, y = mnist.load_split(mirror_dir / "mnist", "train")
    assert x.shape == (60000, 28, 28, 1) and x.dtype == np.uint8
    assert np.bincount(y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    xt, yt = mnist.load_split(mirror_dir / "mnist", "test")
    assert xt.shape == (10000, 28, 28, 1) and len(yt) == 10000


def test_catvnoncat_on_mirror(mirror_dir: Path) -> None:
    x, y, classes = catvnoncat.load_split(mirror_dir / "catvnoncat", "train")
    assert x.shape == (209, 64, 64, 3) and int(y.sum()) == 72 and classes == ["non-cat", "cat"]
    xt, yt, _ = catvnoncat.load_split(mirror_dir / "catvnoncat", "test")
    assert xt.shape == (50, 64, 64, 3) and int(yt.sum()) == 33


def test_fruits_on_mirror(mirror_dir: Path) -> None:
    files, labels = fruits360.list_images(mirror_dir / "fruits360", "train")
    assert np.bincount(labels).tolist() == [492, 490, 490, 490]
    _, test_labels = fruits360.list_images(mirror_dir / "fruits360", "test")
    assert np.bincount(test_labels).tolist() == [164, 166, 166, 166]
    img = fruits360.read_image(files[0])
    assert img.shape == (100, 100, 3) and img.dtype == np.uint8
    turbo = fruits360.read_image(files[0], decoder="pillow")
    assert turbo.shape == img.shape and not np.array_equal(turbo, img)  # the decoders differ, slightly
    assert np.abs(turbo.astype(int) - img.astype(int)).mean() < 2


def test_fruits_pillow_decoder_keeps_109_bins(mirror_dir: Path) -> None:
    """decoder=pillow (libjpeg-turbo) on the whole mirror; the default decoder's 102 is checked by the dvc test."""
    arrays, meta = fruits360.featurize(mirror_dir / "fruits360", {"decoder": "pillow", "keep_images": False})
    assert len(R6_BINS) == fruits360.R6_PUBLISHED_N_FEATURES == 102
    assert arrays["x_train"].shape == (1962, PILLOW_FRUIT_FEATURES)
    assert arrays["x_test"].shape == (662, PILLOW_FRUIT_FEATURES)
    assert meta["decoder"] == "pillow" and meta["decoder_library"].startswith("Pillow")
    assert len(set(meta["selected_bins"]) & set(R6_BINS)) == 100


def _snapshot(folder: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in folder.glob("features/*/*")} if folder.is_dir() else {}


@pytest.mark.timeout(400)
def test_dvc_repro_fetch_featurize(mirror_dir: Path, tmp_path: Path) -> None:
    """Fresh copy of the tracked files: repro from the mirror, then everything is up to date."""
    work = tmp_path / "repo"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for rel in filter(None, tracked.decode().split("\0")):
        src = REPO / rel
        if src.is_file():
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, work / rel)
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    env = {**os.environ, "SCRATCHBENCH_ROOT": str(work), "SCRATCHBENCH_DATA_MIRROR": str(mirror_dir),
           "DVC_NO_ANALYTICS": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    dvc = [sys.executable, "-m", "dvc"]
    before = _snapshot(REPO / "data")
    # link instead of copying ~100 MB into the temp repo's cache (local config, not the tracked one)
    subprocess.run([*dvc, "config", "--local", "cache.type", "reflink,hardlink,copy"], cwd=work, env=env, check=True)

    first = subprocess.run([*dvc, "repro", "fetch", "featurize"], cwd=work, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    second = subprocess.run([*dvc, "repro", "fetch", "featurize"], cwd=work, env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Running stage" not in second.stdout
    assert "up to date" in second.stdout, second.stdout
    status = subprocess.run([*dvc, "status", "fetch", "featurize"], cwd=work, env=env, capture_output=True, text=True)
    assert "up to date" in status.stdout, status.stdout

    fruits = load_features("fruits360", work)
    assert fruits.x_train.shape == (1962, fruits360.R6_PUBLISHED_N_FEATURES)  # R6's 102, default decoder ijg
    assert fruits.x_test.shape == (662, fruits360.R6_PUBLISHED_N_FEATURES)
    assert fruits.meta["selected_bins"] == R6_BINS
    assert fruits.meta["decoder"] == "ijg" and fruits.meta["decoder_library"].startswith("PyMuPDF")
    assert fruits.meta["hue_range"] == "per_image" and len(fruits.meta["selected_bins"]) == fruits.n_features
    assert fruits.meta["raw_files_digest"] == FRUIT_DIGEST
    assert fruits.class_names == ["Apple Braeburn", "Lemon Meyer", "Mango", "Raspberry"]
    m = load_features("mnist", work)
    assert m.x_train.shape == (60000, 28, 28, 1) and m.x_test.dtype == np.uint8 and len(m.meta["raw_files"]) == 4
    cat = load_features("catvnoncat", work)
    assert cat.x_train.shape == (209, 12288) and cat.images_test.shape == (50, 64, 64, 3)
    assert load_features("moons", work).x_test.shape == (100, 2)
    assert {p.name for p in (work / "data" / "features").iterdir()} == {
        "mnist", "catvnoncat", "fruits360", "moons", "r1_table", "xor3", "xor"}
    # the checkout's own data/ was not touched (SCRATCHBENCH_ROOT redirected every path)
    assert _snapshot(REPO / "data") == before
