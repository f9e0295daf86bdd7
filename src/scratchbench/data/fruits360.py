"""Fruit-360 (four classes) folder loader and R6's hue-histogram featurizer.

R6: RGB -> HSV (skimage ``rgb2hsv``), ``numpy.histogram(hue, bins=360)``, keep the bins whose
standard deviation over the TRAINING features is > 50; the same bins are applied to the test split.
``hue_range: per_image`` is seed-faithful (numpy uses each image's own min..max as the range);
``hue_range: fixed`` uses [0, 1] for every image.

``decoder`` picks the JPEG decoder, which decides how many bins survive (see ``DECODERS``): ``ijg``
(default) decodes with PyMuPDF, whose bundled MuPDF uses the IJG libjpeg; ``pillow`` uses Pillow's
libjpeg-turbo. PyMuPDF is AGPL-3.0 and is used only to decode the Fruit-360 JPEGs at featurize time.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from scratchbench.data.errors import DataFormatError

CLASSES: tuple[str, ...] = ("Apple Braeburn", "Lemon Meyer", "Mango", "Raspberry")  # labels 0..3
# R6 keeps 102 bins. The count depends only on the JPEG decoder (the bins near std 50 are dense):
# IJG libjpeg 9c (what the 2018 Pillow 5.3 wheels bundled) gives exactly R6's 102 bins, and MuPDF's
# bundled IJG libjpeg (via PyMuPDF) decodes all 2,624 Fruit-360 images to the same pixels as IJG 9c,
# so decoder=ijg reproduces 102 (confirmed). libjpeg-turbo (Pillow today, OpenCV, imagecodecs) gives
# 109, TensorFlow 105-109 depending on its chroma-upsampling / IDCT options. meta.json records both.
R6_PUBLISHED_N_FEATURES = 102
SPLITS = {"train": "Training", "test": "Test"}
HUE_RANGES = ("per_image", "fixed")
DECODERS = ("ijg", "pillow")  # ijg = PyMuPDF (MuPDF's IJG libjpeg) -> 102 bins; pillow = libjpeg-turbo -> 109
DEFAULTS: dict[str, Any] = {"bins": 360, "hue_range": "per_image", "std_threshold": 50.0, "keep_images": True,
                            "image_size": [100, 100], "decoder": "ijg"}


def list_images(raw_dir: Path, split: str, classes: Iterable[str] = CLASSES) -> tuple[list[Path], np.ndarray]:
    """Sorted JPEG paths of ``split`` and their int64 labels (class order = label)."""
    files: list[Path] = []
    labels: list[int] = []
    for label, name in enumerate(classes):
        folder = raw_dir / SPLITS[split] / name
        if not folder.is_dir():
            raise DataFormatError(f"{folder}: class folder missing (expected {raw_dir}/{SPLITS[split]}/<class>/*.jpg)")
        found = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
        if not found:
            raise DataFormatError(f"{folder}: no .jpg images")
        files += found
        labels += [label] * len(found)
    return files, np.asarray(labels, dtype=np.int64)


def _decode_pillow(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            return np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise DataFormatError(f"{path}: unreadable image ({e})") from e


def _decode_ijg(path: Path) -> np.ndarray:
    import pymupdf

    pymupdf.TOOLS.mupdf_warnings(reset=True)
    try:
        pix = pymupdf.Pixmap(str(path))
        if pix.alpha:
            pix = pymupdf.Pixmap(pix, 0)  # drop alpha
        if pix.colorspace is not None and pix.colorspace.name != pymupdf.csRGB.name:  # gray / CMYK -> RGB
            pix = pymupdf.Pixmap(pymupdf.csRGB, pix)
    except (pymupdf.mupdf.FzErrorBase, RuntimeError, ValueError) as e:  # MuPDF's own errors, not OSError
        raise DataFormatError(f"{path}: unreadable image ({e})") from e
    warnings = pymupdf.TOOLS.mupdf_warnings(reset=True)
    if warnings:  # e.g. a truncated JPEG decodes to grey padding with only a warning; Pillow raises
        raise DataFormatError(f"{path}: corrupt image ({warnings.strip()})")
    if pix.n != 3 or pix.stride != pix.width * 3:
        raise DataFormatError(f"{path}: decoded to {pix.n} channels (stride {pix.stride}), expected RGB")
    return np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width, 3).copy()


_DECODE = {"ijg": _decode_ijg, "pillow": _decode_pillow}


def check_decoder(decoder: str) -> None:
    """Unknown decoder name -> ValueError listing the valid ones."""
    if decoder not in DECODERS:
        raise ValueError(f"featurize.fruits360.decoder must be one of {DECODERS}, got {decoder!r}")


def decoder_version(decoder: str) -> str:
    """Library + version behind ``decoder`` (recorded in meta.json)."""
    check_decoder(decoder)
    if decoder == "ijg":
        import pymupdf

        return f"PyMuPDF {pymupdf.__version__} (MuPDF {pymupdf.mupdf_version}, IJG libjpeg)"
    import PIL
    from PIL import features

    return f"Pillow {PIL.__version__} (libjpeg-turbo {features.version('libjpeg_turbo')})"


def read_image(path: Path, size: tuple[int, int] = (100, 100), decoder: str = "ijg") -> np.ndarray:
    """Decode one image to uint8 RGB (H, W, 3); unreadable, corrupt or wrong-sized image -> DataFormatError."""
    check_decoder(decoder)
    arr = _DECODE[decoder](Path(path))
    if arr.shape[:2] != tuple(size):
        raise DataFormatError(f"{path}: image is {arr.shape[1]}x{arr.shape[0]}, expected {size[1]}x{size[0]}")
    return arr


def hue_histogram(image: np.ndarray, bins: int = 360, hue_range: str = "per_image") -> np.ndarray:
    """Histogram of the HSV hue channel (float64 counts)."""
    from skimage.color import rgb2hsv

    if hue_range not in HUE_RANGES:
        raise ValueError(f"featurize.fruits360.hue_range must be one of {HUE_RANGES}, got {hue_range!r}")
    hue = rgb2hsv(image)[:, :, 0]
    rng = None if hue_range == "per_image" else (0.0, 1.0)
    counts, _ = np.histogram(hue, bins=bins, range=rng)
    return counts.astype(np.float64)


def select_bins(train_features: np.ndarray, std_threshold: float) -> np.ndarray:
    """Indices of the columns whose std over the training rows (ddof=0, as numpy) is > threshold."""
    return np.flatnonzero(np.std(train_features, axis=0) > std_threshold).astype(np.int64)


def _progress(items: list[Path], desc: str) -> Iterable[Path]:
    if sys.stderr.isatty():
        from tqdm import tqdm

        return tqdm(items, desc=desc, unit="img")
    return items


def load_split(raw_dir: Path, split: str, size: tuple[int, int] = (100, 100),
               decoder: str = "ijg") -> tuple[np.ndarray, np.ndarray, list[Path]]:
    """All images (N, H, W, 3) uint8 of ``split``, labels, and their paths."""
    check_decoder(decoder)
    files, labels = list_images(raw_dir, split)
    images = np.stack([read_image(p, size, decoder) for p in _progress(files, f"decode fruits360/{SPLITS[split]}")])
    return images, labels, files


def featurize(raw_dir: Path, params: Mapping[str, Any] | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Hue histograms of every image, filtered to the bins selected on the training split."""
    p = {**DEFAULTS, **dict(params or {})}
    unknown = set(p) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"featurize.fruits360: unknown option(s) {sorted(unknown)}; valid: {sorted(DEFAULTS)}")
    if p["hue_range"] not in HUE_RANGES:
        raise ValueError(f"featurize.fruits360.hue_range must be one of {HUE_RANGES}, got {p['hue_range']!r}")
    check_decoder(p["decoder"])
    size = tuple(int(s) for s in p["image_size"])
    out: dict[str, np.ndarray] = {}
    hists: dict[str, np.ndarray] = {}
    for split in ("train", "test"):
        files, labels = list_images(raw_dir, split)
        images, rows = [], []
        for path in _progress(files, f"featurize fruits360/{SPLITS[split]}"):
            img = read_image(path, size, p["decoder"])
            rows.append(hue_histogram(img, int(p["bins"]), p["hue_range"]))
            if p["keep_images"]:
                images.append(img)
        hists[split] = np.stack(rows)
        out[f"y_{split}"] = labels
        if p["keep_images"]:
            out[f"images_{split}"] = np.stack(images)
    selected = select_bins(hists["train"], float(p["std_threshold"]))
    if selected.size == 0:
        raise ValueError(f"featurize.fruits360.std_threshold={p['std_threshold']} selects no bins")
    out["x_train"] = hists["train"][:, selected].astype(np.float32)
    out["x_test"] = hists["test"][:, selected].astype(np.float32)
    out["selected_bins"] = selected
    out["class_names"] = np.array(CLASSES)
    meta = {"resolved_params": p, "hue_range": p["hue_range"], "decoder": p["decoder"],
            "decoder_library": decoder_version(p["decoder"]), "selected_bins": selected.tolist(),
            "n_selected_bins": int(selected.size), "r6_published_n_features": R6_PUBLISHED_N_FEATURES}
    return out, meta
