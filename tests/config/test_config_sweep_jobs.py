"""The command-line check composes a sweep's jobs as Hydra does, sharing the config groups' composition."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from scratchbench.config import register
from scratchbench.config.cli import _job_overrides, checked_jobs, check_hydra_command_line, job_configs

CONF = str(Path(__file__).resolve().parents[2] / "conf")
SWEEPS = [
    ["experiment=r1_single_neuron", "profile=full", "train.epochs=5", "seed=range(3)"],
    ["train.epochs=3", "model=numpy_mlp,sklearn_mlp", "seed=1,2", "experiment=r10_moons"],  # values before groups
    ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "experiment=r11_cat_tanh", "optimizer.learning_rate=0.1,0.2"],
    ["experiment=adhoc", "model.layers=null", "model.layers_dims=[2,4,1],[2,8,8,1]", "+model.init.scale=0.5",
     "model.bias_init={name:zeros}", "~model.sample_caps"],
]


@pytest.mark.parametrize(("overrides", "compositions"), zip(SWEEPS, [1, 2, 1, 1], strict=True),
                         ids=["values", "groups", "hydra", "add-delete-list-dict"])
def test_each_job_config_equals_its_own_composition(overrides: list[str], compositions: int,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import hydra

    register()
    jobs = _job_overrides(["--multirun", *overrides])
    assert jobs is not None and len(jobs) > 1
    calls: list[list[str]] = []
    monkeypatch.setattr(hydra, "compose", lambda **kw: calls.append(kw["overrides"]) or compose(**kw))
    with initialize_config_dir(CONF, version_base=None):
        got = [(job, OmegaConf.to_container(cfg)) for job, cfg in job_configs(jobs)]
        want = [(job, OmegaConf.to_container(compose(config_name="config", overrides=job))) for job in jobs]
    assert got == want
    assert len(calls) == compositions  # once per choice of config groups, not once per job


def test_a_bad_key_fails_as_in_its_own_composition() -> None:
    register()
    with initialize_config_dir(CONF, version_base=None):
        with pytest.raises(Exception) as own:
            compose(config_name="config", overrides=["seed=1", "train.epoch=3"])
        with pytest.raises(type(own.value)) as shared:
            list(job_configs([["seed=0"], ["seed=1", "train.epoch=3"]]))
    assert str(shared.value) == str(own.value) and "train.epoch" in str(own.value)


def test_the_check_records_the_jobs_it_validated() -> None:
    register()
    check_hydra_command_line(["--multirun", "experiment=r1_single_neuron", "seed=7,8"], CONF)
    assert {("experiment=r1_single_neuron", "seed=7"), ("experiment=r1_single_neuron", "seed=8")} <= checked_jobs()


def test_the_sweeper_composes_again_only_jobs_the_check_did_not(monkeypatch: pytest.MonkeyPatch) -> None:
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra_plugins.scratchbench_sweeper import CheckedSweeper

    register()
    check_hydra_command_line(["--multirun", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                              "experiment=r1_single_neuron", "seed=5,6"], CONF)
    validated: list = []
    monkeypatch.setattr(BasicSweeper, "validate_batch_is_legal", lambda self, batch: validated.append(batch))
    sweeper = CheckedSweeper(max_batch_size=None)
    job = ["experiment=r1_single_neuron"]  # a sweeper's jobs carry no hydra overrides
    sweeper.validate_batch_is_legal([[*job, "seed=5"], [*job, "seed=6"]])
    assert validated == []
    other = [[*job, "seed=5"], [*job, "seed=99"]]
    sweeper.validate_batch_is_legal(other)
    assert validated == [other]
