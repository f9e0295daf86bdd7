"""CLI and DVC stage entry points: exit codes, messages, params.yaml handling."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import pytest

from scratchbench.data import registry
from scratchbench.data.__main__ import main as cli
from scratchbench.data.params import featurize_params, fetch_params

REPO = Path(__file__).resolve().parents[2]


def _stage(name: str):
    spec = importlib.util.spec_from_file_location(f"stage_{name}", REPO / "pipelines" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SCRATCHBENCH_ROOT", str(tmp_path))
    monkeypatch.delenv("SCRATCHBENCH_DATA_MIRROR", raising=False)
    return tmp_path


def test_fetch_stage_fails_clearly_without_sources(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (root / "params.yaml").write_text("fetch:\n  mirror: null\n  upstream: false\n")
    assert _stage("fetch").main(["catvnoncat"]) == 1
    err = capsys.readouterr().err
    assert "fetch catvnoncat failed" in err and "SCRATCHBENCH_DATA_MIRROR" in err
    assert not any(p.is_file() for p in (root / "data").rglob("*"))


def test_fetch_stage_uses_params_mirror(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    # a fake dataset registry entry whose bytes we control, served by a folder mirror named in params.yaml
    mirror = tmp_path / "m"
    (mirror / "catvnoncat").mkdir(parents=True)
    fake = []
    for name in ("a.h5", "b.h5"):
        (mirror / "catvnoncat" / name).write_bytes(name.encode() * 10)
        fake.append(registry.RemoteFile(f"catvnoncat/{name}", hashlib.sha256(name.encode() * 10).hexdigest(), ()))
    monkeypatch.setattr("scratchbench.data.fetch.files", lambda ds: tuple(fake))
    (root / "params.yaml").write_text(f"fetch:\n  mirror: {mirror}\n  upstream: false\n")
    assert _stage("fetch").main(["catvnoncat"]) == 0
    assert (root / "data" / "raw" / "catvnoncat" / "b.h5").read_bytes() == b"b.h5" * 10
    assert "2 file(s) verified" in capsys.readouterr().out


def test_featurize_stage_and_cli(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (root / "params.yaml").write_text("featurize:\n  moons: {test_size: 0.2}\n")
    assert _stage("featurize").main(["moons"]) == 0
    assert "x_test (200, 2)" in capsys.readouterr().out
    assert cli(["featurize", "xor"]) == 0
    assert (root / "data" / "features" / "xor" / "meta.json").is_file()
    (root / "params.yaml").write_text("featurize:\n  moons: {tset_size: 0.2}\n")
    assert _stage("featurize").main(["moons"]) == 1
    assert "unknown option(s) ['tset_size']" in capsys.readouterr().err
    assert _stage("featurize").main(["mnist"]) == 1  # raw files not fetched
    assert "fetch@mnist" in capsys.readouterr().err


def test_params_validation(tmp_path: Path) -> None:
    p = tmp_path / "params.yaml"
    p.write_text("fetch:\n  mirorr: /x\n")
    with pytest.raises(ValueError, match=r"fetch: unknown key\(s\) \['mirorr'\]"):
        fetch_params(p)
    p.write_text("featurize:\n  fruits360: [1, 2]\n")
    with pytest.raises(ValueError, match="featurize.fruits360 must be a mapping"):
        featurize_params("fruits360", p)
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        fetch_params(tmp_path / "nope.yaml")


def test_repo_params_have_data_sections() -> None:
    assert featurize_params("fruits360", REPO / "params.yaml")["hue_range"] in ("per_image", "fixed")
    assert fetch_params(REPO / "params.yaml")["upstream"] is True


def test_registry_tsv_regenerates_identically(tmp_path: Path) -> None:
    lines = [f"{r.sha256}  {r.path}" for r in registry.files("fruits360")]
    sums = tmp_path / "checksums.sha256"
    sums.write_text("\n".join(["0" * 64 + "  mnist/x.gz", *lines]) + "\n")
    out = tmp_path / "reg.tsv"
    assert registry.generate_fruits_registry(sums, out) == 2624
    assert out.read_text() == registry.FRUITS_TSV.read_text()
    sums.write_text("nonsense\n")
    with pytest.raises(ValueError, match="not a sha256sum line"):
        registry.generate_fruits_registry(sums, out)
