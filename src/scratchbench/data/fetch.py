"""Fetch raw files into ``data/raw/<dataset>/``, verifying every file's sha256.

Sources, in order: the mirror (``mirror=`` argument, else env ``SCRATCHBENCH_DATA_MIRROR``,
else the ``fetch.mirror`` param) when set, then the upstream URLs of the registry (unless
``upstream=False``). A mirror is a folder (plain path or ``file://``) or an ``http(s)://`` base
URL laid out like ``shared/datasets``. HTTP goes through pooch, which downloads to a temporary
file and moves it into place only when the hash matches; folder copies do the same by hand.
Files already present are re-hashed; a corrupt one is replaced. Any failure raises
:class:`FetchError` and leaves no partial file.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import quote, urlparse
from urllib.request import url2pathname

from scratchbench import paths
from scratchbench.data.features import sha256_file
from scratchbench.data.registry import FETCHED_DATASETS, RemoteFile, files

MIRROR_ENV = "SCRATCHBENCH_DATA_MIRROR"
MIRROR_HINT = (
    f"To use a mirror laid out like shared/datasets, set the environment variable {MIRROR_ENV} "
    "to its folder or http(s) base URL, or pass --mirror (params.yaml: fetch.mirror)."
)
MANY_FILES = 8  # above this many files a dataset is fetched in parallel with a per-file progress bar
log = logging.getLogger(__name__)


class FetchError(RuntimeError):
    """A raw file could not be obtained with the right sha256 from any source."""

    def __init__(self, file: str, expected: str, attempts: list[tuple[str, str]], actual: str | None = None):
        self.file, self.expected, self.attempts, self.actual = file, expected, attempts, actual
        lines = [f"could not fetch {file!r} (expected sha256 {expected})"]
        if actual:
            lines.append(f"  last file received had sha256 {actual}")
        if attempts:
            lines.append("  sources tried:")
            lines += [f"    - {src}: {why}" for src, why in attempts]
        else:
            lines.append("  no source to try (no mirror set and upstream disabled)")
        lines.append("  " + MIRROR_HINT)
        super().__init__("\n".join(lines))


def resolve_mirror(mirror: str | os.PathLike[str] | None = None) -> str | None:
    """The mirror to use: the argument, else ``$SCRATCHBENCH_DATA_MIRROR``; empty means none."""
    value = str(mirror) if mirror not in (None, "") else os.environ.get(MIRROR_ENV, "")
    return value.strip() or None


def _mirror_source(mirror: str, rf: RemoteFile) -> tuple[str, str]:
    """(kind, location) of ``rf`` on the mirror: ``("file", path)`` or ``("http", url)``."""
    scheme = urlparse(mirror).scheme.lower()
    if scheme in ("http", "https"):
        return "http", mirror.rstrip("/") + "/" + quote(rf.path)
    if scheme == "file":
        base = Path(url2pathname(urlparse(mirror).path))
        return "file", str(base / rf.path)
    if len(scheme) > 1:
        raise ValueError(f"mirror {mirror!r}: unsupported scheme {scheme!r} (use a folder, file://, http:// or https://)")
    return "file", str(Path(mirror).expanduser() / rf.path)


def _copy_verified(src: str, dest: Path, expected: str) -> str:
    """Copy ``src`` to ``dest`` via a temp file; move in place only if sha256 matches. Returns actual hash."""
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        actual = sha256_file(tmp)
        if actual == expected:
            os.replace(tmp, dest)
        return actual
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class _HashRecorder:
    """pooch downloader wrapper that remembers the sha256 of what it received."""

    def __init__(self, inner: Callable[..., Any]):
        self.inner, self.actual = inner, None

    def __call__(self, url: str, output_file: Any, pooch: Any, check_only: bool = False) -> Any:
        self.actual = None
        result = self.inner(url, output_file, pooch)
        name = output_file if isinstance(output_file, (str, os.PathLike)) else getattr(output_file, "name", None)
        if name and os.path.exists(name):
            self.actual = sha256_file(name)
        return result


def _download_verified(url: str, dest: Path, expected: str, progressbar: bool, timeout: float) -> str | None:
    """Download with pooch (temp file, hash check, then move). Returns the received hash if known."""
    import pooch

    pooch.get_logger().setLevel(logging.WARNING)
    recorder = _HashRecorder(pooch.HTTPDownloader(progressbar=progressbar, timeout=timeout))
    try:
        pooch.retrieve(url, known_hash=f"sha256:{expected}", fname=dest.name, path=dest.parent,
                       downloader=recorder, progressbar=progressbar)
    except ValueError as e:
        if recorder.actual and recorder.actual != expected:
            return recorder.actual
        raise RuntimeError(str(e).splitlines()[0]) from e
    return expected


def _describe(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {msg}"[:300]


def fetch_file(
    rf: RemoteFile,
    dest: Path,
    mirror: str | None = None,
    upstream: bool = True,
    progressbar: bool = False,
    timeout: float = 60.0,
) -> Path:
    """Make ``dest`` a verified copy of ``rf``; try the mirror, then upstream URLs."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file():
        have = sha256_file(dest)
        if have == rf.sha256:
            return dest
        log.warning("%s: sha256 %s != expected %s; fetching it again", dest, have, rf.sha256)
        dest.unlink()
    sources: list[tuple[str, str]] = []
    if mirror:
        sources.append(_mirror_source(mirror, rf))
    if upstream:
        sources += [("http", u) for u in rf.urls]
    attempts: list[tuple[str, str]] = []
    last_actual: str | None = None
    for kind, loc in sources:
        try:
            if kind == "file":
                if not os.path.isfile(loc):
                    attempts.append((loc, "no such file"))
                    continue
                actual = _copy_verified(loc, dest, rf.sha256)
            else:
                actual = _download_verified(loc, dest, rf.sha256, progressbar, timeout)
        except Exception as e:  # network, HTTP status, truncated body, I/O: try the next source
            attempts.append((loc, _describe(e)))
            continue
        if actual == rf.sha256 and dest.is_file():
            return dest
        last_actual = actual
        attempts.append((loc, f"sha256 mismatch: got {actual}, expected {rf.sha256}"))
    raise FetchError(rf.path, rf.sha256, attempts, last_actual)


def fetch_dataset(
    dataset: str,
    mirror: str | os.PathLike[str] | None = None,
    dest_dir: str | os.PathLike[str] | None = None,
    upstream: bool = True,
    timeout: float = 60.0,
    only: Iterable[str] | None = None,
    workers: int = 8,
) -> list[Path]:
    """Fetch every registered raw file of ``dataset`` into ``dest_dir`` (default ``data/raw/<dataset>``).

    ``only``: optional subset of mirror-relative paths (e.g. for tests). Datasets with many files
    (Fruit-360: 2,624) are fetched by ``workers`` threads. Returns the local paths in registry order.
    """
    if dataset not in FETCHED_DATASETS:
        raise KeyError(f"nothing to fetch for {dataset!r}; fetchable datasets: {', '.join(FETCHED_DATASETS)}")
    if int(workers) < 1:
        raise ValueError(f"fetch workers must be >= 1, got {workers!r}")
    mirror_s = resolve_mirror(mirror)
    if mirror_s:
        _mirror_source(mirror_s, files(dataset)[0])  # validate the scheme early
    dest_root = Path(dest_dir) if dest_dir is not None else paths.raw_dir(dataset)
    wanted = files(dataset)
    if only is not None:
        only = set(only)
        unknown = only - {rf.path for rf in wanted}
        if unknown:
            raise KeyError(f"not in the {dataset} registry: {sorted(unknown)}")
        wanted = tuple(rf for rf in wanted if rf.path in only)
    tty = sys.stderr.isatty()
    if len(wanted) <= MANY_FILES:  # few large files: one at a time, pooch's byte progress bar
        return [fetch_file(rf, dest_root / rf.relpath, mirror_s, upstream, progressbar=tty, timeout=timeout)
                for rf in wanted]
    from tqdm import tqdm

    with ThreadPoolExecutor(max_workers=int(workers)) as pool, \
            tqdm(total=len(wanted), desc=f"fetch {dataset}", unit="file", disable=not tty) as bar:
        futures = [pool.submit(fetch_file, rf, dest_root / rf.relpath, mirror_s, upstream, False, timeout)
                   for rf in wanted]
        try:
            for fut in as_completed(futures):
                fut.result()
                bar.update()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return [f.result() for f in futures]


def verify_raw(dataset: str, raw_dir: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """Check every registered file of ``dataset`` under ``raw_dir``; return {relpath: sha256}.

    Raises :class:`FetchError` naming the first missing or corrupt file.
    """
    root = Path(raw_dir) if raw_dir is not None else paths.raw_dir(dataset)
    out = {}
    for rf in files(dataset):
        p = root / rf.relpath
        if not p.is_file():
            raise FetchError(rf.path, rf.sha256, [(str(p), f"missing; run `dvc repro fetch@{dataset}`")])
        actual = sha256_file(p)
        if actual != rf.sha256:
            raise FetchError(rf.path, rf.sha256, [(str(p), f"corrupt; run `dvc repro -f fetch@{dataset}`")], actual)
        out[rf.relpath] = actual
    return out
