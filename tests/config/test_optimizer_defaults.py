"""The optimizer presets in ``conf/optimizer/`` state the engine's own defaults, never other values.

The engine's ``optimizers.DEFAULTS`` is the one home of those numbers (the engine runs without
``conf/``); the presets spell them out so a run records them and Hydra can override them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scratchbench.scratch.optimizers import DEFAULTS

CONF = Path(__file__).resolve().parents[2] / "conf" / "optimizer"


@pytest.mark.parametrize("path", sorted(CONF.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_optimizer_preset_states_the_engine_defaults(path: Path):
    preset = yaml.safe_load(path.read_text())
    name = preset.pop("name")
    assert name == path.stem, f"{path.name}: name {name!r} differs from the file name"
    assert name in DEFAULTS, f"{path.name}: the engine has no optimizer {name!r}; valid: {', '.join(DEFAULTS)}"
    known = set().union(*DEFAULTS.values())  # other optimizers' keys are kept so every run logs the same keys
    unknown = set(preset) - known
    assert not unknown, f"{path.name}: options no engine optimizer takes: {sorted(unknown)}"
    missing = set(DEFAULTS[name]) - set(preset) - {"nesterov"}
    assert not missing, f"{path.name}: the engine's {name} options missing from the preset: {sorted(missing)}"
    differs = {k: (v, DEFAULTS[name][k]) for k, v in preset.items() if k in DEFAULTS[name] and v != DEFAULTS[name][k]}
    assert not differs, f"{path.name}: (preset, engine default) differ: {differs}"
