"""Fetch: real HTTP server on 127.0.0.1 and folder mirrors; every failure is one clear FetchError."""

from __future__ import annotations

import hashlib
import shutil
import socket
from pathlib import Path

from http.server import SimpleHTTPRequestHandler

import pytest

from scratchbench.data import fetch as F
from scratchbench.data.registry import RemoteFile, files

PAYLOAD = bytes(range(256)) * 64  # 16 KiB
SHA = hashlib.sha256(PAYLOAD).hexdigest()
REL = "toyset/sub dir/blob 1.bin"  # a space, so URL quoting is exercised


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    root = tmp_path / "the mirror"  # a space: file:// URLs must be decoded
    (root / REL).parent.mkdir(parents=True)
    (root / REL).write_bytes(PAYLOAD)
    return root


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    d = tmp_path / "raw"
    d.mkdir()
    return d


RF = RemoteFile(REL, SHA, ())


class TruncatingHandler(SimpleHTTPRequestHandler):
    """Announces the full Content-Length, sends half the body, then closes the connection."""

    def do_GET(self) -> None:  # noqa: N802
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def test_http_mirror_success(mirror: Path, dest: Path, http_server) -> None:
    url = http_server(mirror)
    out = F.fetch_file(RF, dest / "blob 1.bin", mirror=url, upstream=False)
    assert out.read_bytes() == PAYLOAD
    assert files_under(dest) == [out]


def test_http_checksum_mismatch_leaves_nothing(mirror: Path, dest: Path, http_server) -> None:
    bad = PAYLOAD[:-1] + b"\x00"
    (mirror / REL).write_bytes(bad)
    url = http_server(mirror)
    with pytest.raises(F.FetchError) as ei:
        F.fetch_file(RF, dest / "blob 1.bin", mirror=url, upstream=False)
    msg = str(ei.value)
    assert REL in msg and SHA in msg and hashlib.sha256(bad).hexdigest() in msg
    assert "SCRATCHBENCH_DATA_MIRROR" in msg and "sub%20dir/blob%201.bin" in msg
    assert ei.value.actual == hashlib.sha256(bad).hexdigest()
    assert files_under(dest) == []


def test_http_truncated_body_leaves_nothing(mirror: Path, dest: Path, http_server) -> None:
    url = http_server(mirror, TruncatingHandler)
    with pytest.raises(F.FetchError) as ei:
        F.fetch_file(RF, dest / "blob 1.bin", mirror=url, upstream=False)
    assert url in str(ei.value) and SHA in str(ei.value)
    assert "IncompleteRead" in str(ei.value) or "Connection broken" in str(ei.value)
    assert files_under(dest) == []


def test_http_404(mirror: Path, dest: Path, http_server) -> None:
    (mirror / REL).unlink()
    url = http_server(mirror)
    with pytest.raises(F.FetchError) as ei:
        F.fetch_file(RF, dest / "blob 1.bin", mirror=url, upstream=False)
    assert "404" in str(ei.value) and url in str(ei.value)
    assert files_under(dest) == []


def test_server_gone(dest: Path) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens on this port any more
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(F.FetchError) as ei:
        F.fetch_file(RF, dest / "blob 1.bin", mirror=url, upstream=False, timeout=5)
    assert f"127.0.0.1:{port}" in str(ei.value) and "Connection" in str(ei.value)
    assert files_under(dest) == []


def test_mirror_failure_falls_back_to_upstream(mirror: Path, dest: Path, http_server) -> None:
    upstream = http_server(mirror)
    rf = RemoteFile(REL, SHA, (f"{upstream}/{REL.replace(' ', '%20')}",))
    out = F.fetch_file(rf, dest / "x.bin", mirror=str(dest / "empty-mirror"), upstream=True)
    assert out.read_bytes() == PAYLOAD


def test_folder_mirror_plain_and_file_url(mirror: Path, dest: Path) -> None:
    a = F.fetch_file(RF, dest / "a.bin", mirror=str(mirror), upstream=False)
    assert "%20" in mirror.as_uri()
    b = F.fetch_file(RF, dest / "b.bin", mirror=mirror.as_uri(), upstream=False)
    assert a.read_bytes() == b.read_bytes() == PAYLOAD


def test_folder_mirror_mismatch(mirror: Path, dest: Path) -> None:
    (mirror / REL).write_bytes(b"short")
    with pytest.raises(F.FetchError) as ei:
        F.fetch_file(RF, dest / "a.bin", mirror=str(mirror), upstream=False)
    assert hashlib.sha256(b"short").hexdigest() in str(ei.value)
    assert files_under(dest) == []


def test_corrupt_existing_file_is_replaced(mirror: Path, dest: Path) -> None:
    target = dest / "a.bin"
    target.write_bytes(b"corrupt")
    F.fetch_file(RF, target, mirror=str(mirror), upstream=False)
    assert target.read_bytes() == PAYLOAD


def test_corrupt_existing_file_without_source_is_removed(dest: Path) -> None:
    target = dest / "a.bin"
    target.write_bytes(b"corrupt")
    with pytest.raises(F.FetchError, match="no source to try"):
        F.fetch_file(RF, target, mirror=None, upstream=False)
    assert not target.exists()


def test_env_mirror_and_bad_scheme(monkeypatch: pytest.MonkeyPatch, mirror: Path) -> None:
    monkeypatch.setenv(F.MIRROR_ENV, str(mirror))
    assert F.resolve_mirror(None) == str(mirror)
    assert F.resolve_mirror("/elsewhere") == "/elsewhere"
    with pytest.raises(ValueError, match="unsupported scheme 'ftp'"):
        F.fetch_dataset("mnist", mirror="ftp://example.org/x", upstream=False)
    with pytest.raises(KeyError, match="fetchable datasets"):
        F.fetch_dataset("moons")


def test_registry_contents() -> None:
    fr = files("fruits360")
    assert len(fr) == 2624 and len(files("mnist")) == 4 and len(files("catvnoncat")) == 2
    assert all(len(r.sha256) == 64 for r in fr)
    assert fr[0].urls[0].startswith("https://raw.githubusercontent.com/Horea94/") and "%20" in fr[0].urls[0]
    assert {r.relpath.split("/")[1] for r in fr} == {"Apple Braeburn", "Lemon Meyer", "Mango", "Raspberry"}


def test_verify_raw_catches_corruption(tmp_path: Path) -> None:
    with pytest.raises(F.FetchError, match="missing"):
        F.verify_raw("catvnoncat", tmp_path)


@pytest.mark.integration
def test_fetch_dataset_over_http_from_mirror_copy(mirror_dir: Path, tmp_path: Path, http_server) -> None:
    wanted = ["mnist/t10k-labels-idx1-ubyte.gz", "mnist/train-labels-idx1-ubyte.gz"]
    served = tmp_path / "served"
    for rel in wanted:
        (served / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(mirror_dir / rel, served / rel)
    url = http_server(served)
    got = F.fetch_dataset("mnist", mirror=url, dest_dir=tmp_path / "raw", upstream=False, only=wanted)
    assert [p.name for p in got] == sorted(Path(w).name for w in wanted)
    # the corrupted copy already present is caught and replaced on the next fetch
    got[0].write_bytes(b"garbage")
    F.fetch_dataset("mnist", mirror=url, dest_dir=tmp_path / "raw", upstream=False, only=wanted)
    assert F.sha256_file(got[0]) == {r.relpath: r.sha256 for r in files("mnist")}[got[0].name]


@pytest.mark.integration
def test_parallel_fetch_over_http(mirror_dir: Path, tmp_path: Path, http_server) -> None:
    wanted = [r.path for r in files("fruits360")[:24]]
    served = tmp_path / "served"
    for rel in wanted:
        (served / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(mirror_dir / rel, served / rel)
    url = http_server(served)
    got = F.fetch_dataset("fruits360", mirror=url, dest_dir=tmp_path / "ok", upstream=False, only=wanted, workers=4)
    assert len(got) == 24
    assert all(F.sha256_file(p) == r.sha256 for p, r in zip(got, files("fruits360")[:24], strict=True))
    # one corrupt file on the server: one FetchError naming it, no partial or corrupt file on disk
    bad = wanted[13]
    (served / bad).write_bytes(b"\xff\xd8 not the right jpeg")
    with pytest.raises(F.FetchError) as ei:
        F.fetch_dataset("fruits360", mirror=url, dest_dir=tmp_path / "bad", upstream=False, only=wanted, workers=4)
    assert bad in str(ei.value) and "sha256 mismatch" in str(ei.value)
    left = files_under(tmp_path / "bad")
    assert all(not p.name.endswith(".part") and not p.name.startswith("tmp") for p in left)
    expected = {r.relpath: r.sha256 for r in files("fruits360")}
    assert all(F.sha256_file(p) == expected[str(p.relative_to(tmp_path / "bad"))] for p in left)


def test_workers_must_be_positive() -> None:
    with pytest.raises(ValueError, match="workers must be >= 1"):
        F.fetch_dataset("fruits360", mirror="/nowhere", upstream=False, workers=0)
