"""Loaders on files the tests make (good and corrupt), featurizers, the train-only std filter."""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from scratchbench.data import catvnoncat, fruits360, mnist, toy
from scratchbench.data.errors import DataFormatError
from scratchbench.data.features import FeatureError, features_sha256, load_features, save_features
from scratchbench.data.featurize import featurize_dataset
from scratchbench.data.fetch import FetchError


def write_idx(path: Path, arr: np.ndarray, magic: int | None = None, extra: bytes = b"") -> Path:
    magic = magic if magic is not None else 0x0800 | arr.ndim
    body = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in arr.shape)
    body += arr.astype(np.uint8).tobytes() + extra
    with gzip.open(path, "wb") as f:
        f.write(body)
    return path


# ---------------------------------------------------------------- MNIST IDX
def test_idx_roundtrip(tmp_path: Path) -> None:
    a = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    assert np.array_equal(mnist.read_idx(write_idx(tmp_path / "i.gz", a), 2051), a)


def test_idx_bad_magic(tmp_path: Path) -> None:
    p = write_idx(tmp_path / "i.gz", np.zeros((2, 28, 28)), magic=2049)
    with pytest.raises(DataFormatError, match=r"i\.gz: bad IDX magic number 2049, expected 2051"):
        mnist.read_idx(p, 2051)
    with pytest.raises(DataFormatError, match="bad IDX magic"):
        mnist.read_idx(write_idx(tmp_path / "j.gz", np.zeros((2, 3)), magic=0x0D02))  # float32 code


def test_idx_short_and_long(tmp_path: Path) -> None:
    p = tmp_path / "short.gz"
    with gzip.open(p, "wb") as f:
        f.write(struct.pack(">IIII", 2051, 5, 28, 28) + b"\0" * 100)
    with pytest.raises(DataFormatError, match=r"short\.gz: IDX size mismatch"):
        mnist.read_idx(p, 2051)
    q = write_idx(tmp_path / "long.gz", np.zeros((1, 28, 28)), extra=b"junk")
    with pytest.raises(DataFormatError, match="size mismatch"):
        mnist.read_idx(q, 2051)
    r = tmp_path / "tiny.gz"
    with gzip.open(r, "wb") as f:
        f.write(b"\0\0")
    with pytest.raises(DataFormatError, match="too short"):
        mnist.read_idx(r)


def test_idx_not_gzip(tmp_path: Path) -> None:
    p = tmp_path / "x.gz"
    p.write_bytes(b"definitely not gzip")
    with pytest.raises(DataFormatError, match=r"x\.gz: cannot read"):
        mnist.read_idx(p)


def test_mnist_split_label_count_mismatch(tmp_path: Path) -> None:
    write_idx(tmp_path / mnist.FILES["test_images"], np.zeros((3, 28, 28)))
    write_idx(tmp_path / mnist.FILES["test_labels"], np.zeros(2))
    with pytest.raises(DataFormatError, match="2 labels for 3 images|labels for 3 images"):
        mnist.load_split(tmp_path, "test")
    write_idx(tmp_path / mnist.FILES["test_labels"], np.array([0, 1, 9]))
    x, y = mnist.load_split(tmp_path, "test")
    assert x.shape == (3, 28, 28, 1) and x.dtype == np.uint8 and y.dtype == np.int64


# ---------------------------------------------------------------- cat vs non-cat
def write_cat(folder: Path, split: str, n: int = 3, x_shape=None, drop: str | None = None) -> Path:
    p = folder / catvnoncat.FILES[split]
    with h5py.File(p, "w") as f:
        data = {
            f"{split}_set_x": np.random.default_rng(0).integers(0, 256, x_shape or (n, 64, 64, 3), dtype=np.uint8),
            f"{split}_set_y": np.arange(n) % 2,
            "list_classes": np.array([b"non-cat", b"cat"]),
        }
        for k, v in data.items():
            if k != drop:
                f[k] = v
    return p


def test_cat_featurize_shapes(tmp_path: Path) -> None:
    write_cat(tmp_path, "train", 4)
    write_cat(tmp_path, "test", 2)
    arrays, _ = catvnoncat.featurize(tmp_path)
    assert arrays["x_train"].shape == (4, 12288) and arrays["x_train"].dtype == np.float32
    assert arrays["x_train"].max() <= 1.0 and arrays["images_test"].shape == (2, 64, 64, 3)
    assert np.allclose(arrays["x_train"][1], arrays["images_train"][1].reshape(-1) / 255.0)
    assert list(arrays["class_names"]) == ["non-cat", "cat"]


def test_cat_missing_key(tmp_path: Path) -> None:
    write_cat(tmp_path, "train", drop="train_set_y")
    with pytest.raises(DataFormatError, match=r"train_catvnoncat\.h5: missing HDF5 key\(s\) \['train_set_y'\]"):
        catvnoncat.load_split(tmp_path, "train")


def test_cat_wrong_shape(tmp_path: Path) -> None:
    write_cat(tmp_path, "test", x_shape=(3, 32, 32, 3))
    with pytest.raises(DataFormatError, match=r"test_set_x has shape \(3, 32, 32, 3\)"):
        catvnoncat.load_split(tmp_path, "test")


def test_cat_not_hdf5(tmp_path: Path) -> None:
    (tmp_path / catvnoncat.FILES["train"]).write_bytes(b"not an hdf5 file at all")
    with pytest.raises(DataFormatError, match="not a readable HDF5 file"):
        catvnoncat.load_split(tmp_path, "train")


# ---------------------------------------------------------------- Fruit-360
COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0)}


def make_fruits(root: Path, train: dict[str, list[str]], test: dict[str, list[str]]) -> Path:
    for split, spec in (("Training", train), ("Test", test)):
        for cls in fruits360.CLASSES:
            d = root / split / cls
            d.mkdir(parents=True)
            for i, colour in enumerate(spec.get(cls, ["red"])):
                Image.new("RGB", (100, 100), COLOURS[colour]).save(d / f"{i}_100.jpg", quality=95)
    return root


def test_std_filter_uses_training_only() -> None:
    train = np.array([[0.0, 10, 5], [100.0, 10, 5], [200.0, 10, 5]])  # only column 0 varies in train
    test = np.array([[0.0, 0, 5], [0.0, 1000, 5]])  # column 1 varies only in test
    sel = fruits360.select_bins(train, 50)
    assert sel.tolist() == [0]
    assert test[:, sel].shape == (2, 1)


def test_fruit_featurize_bins_from_train_only(tmp_path: Path) -> None:
    # train: red vs green; test adds blue, whose hue bin must not be selected
    train = {c: ["red", "green"] for c in fruits360.CLASSES}
    test = {c: ["blue", "red"] for c in fruits360.CLASSES}
    raw = make_fruits(tmp_path, train, test)
    arrays, meta = fruits360.featurize(raw, {"hue_range": "fixed", "std_threshold": 50})
    blue = fruits360.hue_histogram(fruits360.read_image(raw / "Test" / "Mango" / "0_100.jpg"), 360, "fixed")
    green = fruits360.hue_histogram(fruits360.read_image(raw / "Training" / "Mango" / "1_100.jpg"), 360, "fixed")
    assert int(blue.argmax()) not in arrays["selected_bins"]
    assert int(green.argmax()) in arrays["selected_bins"]
    assert arrays["x_train"].shape == (8, len(meta["selected_bins"])) and arrays["x_test"].shape[0] == 8
    assert arrays["x_train"].dtype == np.float32 and arrays["y_train"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert arrays["images_train"].shape == (8, 100, 100, 3) and meta["hue_range"] == "fixed"


def test_fruit_hue_range_modes_differ() -> None:
    img = np.zeros((10, 10, 3), np.uint8)
    img[:5] = (255, 0, 0)
    img[5:] = (0, 255, 0)
    per_image = fruits360.hue_histogram(img, 360, "per_image")
    fixed = fruits360.hue_histogram(img, 360, "fixed")
    assert per_image[0] == per_image[-1] == 50  # range = the image's own min..max
    assert fixed[0] == 50 and fixed[119:121].sum() == 50 and fixed[1:119].sum() == 0  # hue 1/3 of [0, 1]
    with pytest.raises(ValueError, match="hue_range"):
        fruits360.hue_histogram(img, 360, "global")


@pytest.mark.parametrize("decoder", fruits360.DECODERS)
def test_fruit_unreadable_and_wrong_size(tmp_path: Path, decoder: str) -> None:
    raw = make_fruits(tmp_path, {}, {})
    bad = raw / "Test" / "Lemon Meyer" / "0_100.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg")
    with pytest.raises(DataFormatError, match=r"Lemon Meyer/0_100\.jpg: unreadable image"):
        fruits360.load_split(raw, "test", decoder=decoder)
    bad.write_bytes(b"")
    with pytest.raises(DataFormatError, match=r"Lemon Meyer/0_100\.jpg: unreadable image"):
        fruits360.read_image(bad, decoder=decoder)
    Image.new("RGB", (50, 100)).save(bad)
    with pytest.raises(DataFormatError, match=r"0_100\.jpg: image is 50x100, expected 100x100"):
        fruits360.load_split(raw, "test", decoder=decoder)
    with pytest.raises(DataFormatError, match=r"missing\.jpg: unreadable image"):
        fruits360.read_image(raw / "missing.jpg", decoder=decoder)


@pytest.mark.parametrize("decoder", fruits360.DECODERS)
def test_fruit_truncated_jpeg(tmp_path: Path, decoder: str) -> None:
    """A JPEG cut mid-scan is an error for both decoders (libjpeg alone would pad it with grey)."""
    raw = make_fruits(tmp_path, {}, {})
    bad = raw / "Training" / "Mango" / "0_100.jpg"
    noise = np.random.default_rng(0).integers(0, 256, (100, 100, 3), dtype=np.uint8)
    Image.fromarray(noise).save(bad, quality=95)
    assert fruits360.read_image(bad, decoder=decoder).shape == (100, 100, 3)
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    with pytest.raises(DataFormatError, match=r"Mango/0_100\.jpg: (unreadable|corrupt) image"):
        fruits360.read_image(bad, decoder=decoder)
    with pytest.raises(DataFormatError, match=r"Mango/0_100\.jpg"):
        fruits360.featurize(raw, {"decoder": decoder})


def test_fruit_decoders_agree_on_flat_colours_and_convert_gray(tmp_path: Path) -> None:
    raw = make_fruits(tmp_path, {}, {})
    red = raw / "Training" / "Mango" / "0_100.jpg"
    ijg, pil = (fruits360.read_image(red, decoder=d) for d in fruits360.DECODERS)
    assert ijg.dtype == pil.dtype == np.uint8 and ijg.shape == pil.shape == (100, 100, 3)
    assert np.abs(ijg.astype(int) - pil.astype(int)).max() <= 2 and ijg[..., 0].min() > 240
    gray = tmp_path / "gray.jpg"
    Image.new("L", (100, 100), 128).save(gray)
    for d in fruits360.DECODERS:
        img = fruits360.read_image(gray, decoder=d)
        assert img.shape == (100, 100, 3) and np.all(np.abs(img.astype(int) - 128) <= 1), d


def test_fruit_missing_class_folder(tmp_path: Path) -> None:
    raw = make_fruits(tmp_path, {}, {})
    for p in (raw / "Training" / "Mango").iterdir():
        p.unlink()
    (raw / "Training" / "Mango").rmdir()
    with pytest.raises(DataFormatError, match="Training/Mango: class folder missing"):
        fruits360.list_images(raw, "train")


def test_fruit_bad_options(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown option"):
        fruits360.featurize(tmp_path, {"binz": 3})
    with pytest.raises(ValueError, match="hue_range"):
        fruits360.featurize(tmp_path, {"hue_range": "nope"})
    with pytest.raises(ValueError, match=r"decoder must be one of \('ijg', 'pillow'\), got 'turbo'"):
        fruits360.featurize(tmp_path, {"decoder": "turbo"})
    with pytest.raises(ValueError, match="decoder must be one of"):
        fruits360.read_image(tmp_path / "x.jpg", decoder="cv2")


def test_fruit_meta_records_decoder(tmp_path: Path) -> None:
    raw = make_fruits(tmp_path, {c: ["red", "green"] for c in fruits360.CLASSES}, {})
    for d, lib in (("ijg", "PyMuPDF"), ("pillow", "Pillow")):
        arrays, meta = fruits360.featurize(raw, {"hue_range": "fixed", "decoder": d, "keep_images": False})
        assert meta["decoder"] == meta["resolved_params"]["decoder"] == d and meta["decoder_library"].startswith(lib)
        assert "images_train" not in arrays
    _, meta = fruits360.featurize(raw, {"hue_range": "fixed"})
    assert meta["decoder"] == "ijg"


# ---------------------------------------------------------------- toy sets
def test_moons_split_deterministic() -> None:
    a, meta = toy.moons_features()
    b, _ = toy.moons_features()
    assert a["x_train"].shape == (900, 2) and a["x_test"].shape == (100, 2) and a["x_train"].dtype == np.float64
    assert np.array_equal(a["x_test"], b["x_test"]) and meta["resolved_params"]["random_state"] == 100
    c, _ = toy.moons_features({"split_seed": 7})
    assert not np.array_equal(a["x_test"], c["x_test"])
    with pytest.raises(ValueError, match="featurize.moons: unknown option"):
        toy.moons_features({"n": 3})


def test_tables() -> None:
    r1, _ = toy.table_features("r1_table")
    assert np.array_equal(r1["y_train"], r1["x_train"][:, 0])  # R1: target = first input
    xor3, _ = toy.table_features("xor3")
    assert xor3["y_train"].tolist() == [0, 1, 1, 0] and xor3["x_train"].shape == (4, 3)
    xor, _ = toy.table_features("xor")
    assert np.array_equal(xor["y_train"], np.logical_xor(xor["x_train"][:, 0], xor["x_train"][:, 1]))


# ---------------------------------------------------------------- feature files
def test_featurize_and_load_roundtrip(tmp_path: Path) -> None:
    out = featurize_dataset("moons", {}, out_dir=tmp_path / "moons")
    fs = load_features("moons", tmp_path)
    assert fs.x_train.shape == (900, 2) and fs.class_names == ["0", "1"] and fs.n_classes == 2
    assert fs.meta["features_sha256"] == features_sha256("moons", tmp_path)
    first, first_meta = fs.meta["features_sha256"], (out / "meta.json").read_bytes()
    featurize_dataset("moons", {}, out_dir=out)
    assert features_sha256("moons", tmp_path) == first  # byte-identical rerun
    assert (out / "meta.json").read_bytes() == first_meta  # no timings: the DVC hash is stable
    assert sorted(p.name for p in out.iterdir()) == ["features.npz", "meta.json"]  # no temp files left


def test_test_only_load_leaves_the_training_arrays_unread(tmp_path: Path) -> None:
    from scratchbench.models.adapter import data_spec

    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 255, (10, 4, 4, 3)).astype(np.uint8)
    save_features("catvnoncat", {"x_train": imgs[:7].reshape(7, -1) / 255.0, "y_train": [0, 1] * 3 + [0],
                                 "x_test": imgs[7:].reshape(3, -1) / 255.0, "y_test": [1, 0, 1],
                                 "images_train": imgs[:7], "images_test": imgs[7:], "class_names": ["a", "b"]},
                  {}, tmp_path / "catvnoncat")
    full, test = load_features("catvnoncat", tmp_path), load_features("catvnoncat", tmp_path, test_only=True)
    for key in ("x_train", "y_train", "images_train"):  # empty, same per-sample shape and dtype
        a, b = getattr(full, key), getattr(test, key)
        assert len(b) == 0 and b.shape[1:] == a.shape[1:] and b.dtype == a.dtype, key
    for key in ("x_test", "y_test", "images_test"):
        assert np.array_equal(getattr(full, key), getattr(test, key)), key
    assert test.class_names == full.class_names and data_spec(test) == data_spec(full)


def test_load_detects_tampering_and_missing(tmp_path: Path) -> None:
    with pytest.raises(FeatureError, match=r"dvc repro featurize@xor"):
        load_features("xor", tmp_path)
    with pytest.raises(FeatureError, match="unknown dataset 'iris'"):
        load_features("iris", tmp_path)
    out = featurize_dataset("xor", {}, out_dir=tmp_path / "xor")
    meta = json.loads((out / "meta.json").read_text())
    meta["features_sha256"] = "0" * 64
    (out / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(FeatureError, match="does not match meta.json"):
        load_features("xor", tmp_path)


def test_save_rejects_bad_arrays(tmp_path: Path) -> None:
    with pytest.raises(FeatureError, match=r"lack keys \['y_test'\]"):
        save_features("xor", {"x_train": [1], "y_train": [1], "x_test": [1], "class_names": ["a"]}, {}, tmp_path)
    with pytest.raises(FeatureError, match="x_train has 2 rows but y_train has 1"):
        save_features("xor", {"x_train": [1, 2], "y_train": [1], "x_test": [1], "y_test": [1], "class_names": ["a"]},
                      {}, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_featurize_verifies_raw_files_first(tmp_path: Path) -> None:
    write_cat(tmp_path, "train", 4)
    write_cat(tmp_path, "test", 2)  # valid HDF5, but not the registered bytes
    with pytest.raises(FetchError, match="corrupt"):
        featurize_dataset("catvnoncat", {}, raw_dir=tmp_path, out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()
