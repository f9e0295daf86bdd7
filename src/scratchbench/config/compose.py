"""Compose ``conf/`` into ``params.yaml`` exactly as ``dvc exp run`` does (Hydra composition on).

``python -m scratchbench.config.compose [override ...]`` rewrites ``params.yaml`` so that a
plain ``dvc repro`` sees the same params a ``dvc exp run`` would generate. Never edit
``params.yaml`` by hand: change ``conf/`` and recompose.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Sequence

import yaml

from scratchbench import paths

CONFIG_NAME = "config"


def conf_dir(root: Path | None = None) -> Path:
    return (root or paths.project_root()) / "conf"


def compose_params(overrides: Sequence[str] = (), root: Path | None = None, out: Path | None = None) -> Path:
    """Write the composition of ``<root>/conf`` (+ Hydra ``overrides``) to ``<root>/params.yaml``."""
    from dvc.utils.hydra import compose_and_dump

    root = root or paths.project_root()
    out = out or root / "params.yaml"
    compose_and_dump(out, str(conf_dir(root).resolve()), None, CONFIG_NAME, str(root), list(overrides))
    return out


def compose_run(overrides: Sequence[str] = (), root: Path | None = None) -> dict[str, Any]:
    """The resolved run config of ``conf/`` with ``overrides`` (no Hydra runtime, no params file)."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(str(conf_dir(root).resolve()), version_base=None):
        cfg = compose(config_name=CONFIG_NAME, overrides=list(overrides))
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]


def read_params(root: Path | None = None) -> dict[str, Any]:
    path = (root or paths.project_root()) / "params.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; run `python -m scratchbench.config.compose`")
    return yaml.safe_load(path.read_text()) or {}


def main(argv: Sequence[str] | None = None) -> None:
    out = compose_params(list(sys.argv[1:] if argv is None else argv))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
