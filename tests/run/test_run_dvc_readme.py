"""The README's DVC commands run as written, in a temp clone with a small matrix (real dvc, real git).

``dvc exp run experiment -S experiment=... -S model=...`` (one composed run) and
``dvc exp run -S profile=full`` (the whole pipeline: data, train matrix, experiment, report).
The clone's data stages keep the datasets the small matrix needs (catvnoncat from the mirror,
toy sets), so nothing downloads Fruits-360.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from run_helpers import REPO, all_runs, client_for, clone_with_matrix, dvc_ran, sh

SMALL_MATRIX = """# @package _global_
train_matrix:
  r1_single_neuron-numpy_mlp: {experiment: r1_single_neuron, model: numpy_mlp, dataset: r1_table}
  r2_two_layer_class-numpy_mlp: {experiment: r2_two_layer_class, model: numpy_mlp, dataset: xor3}
train_pipeline: {workers: 2, blas_threads: 1, record: spool}
"""


def readme_command(pattern: str) -> list[str]:
    """The README line running ``pattern`` (so the test runs what the README says), as argv after ``uv run``."""
    for line in (REPO / "README.md").read_text().splitlines():
        cmd = line.split("#")[0].strip()
        if re.fullmatch(pattern, cmd):
            return cmd.split()[2:]  # drop "uv run"
    raise AssertionError(f"README has no line matching {pattern!r}")


@pytest.mark.integration
def test_readme_dvc_exp_run_commands(tmp_path: Path, template_store: Path) -> None:
    if not os.environ.get("SCRATCHBENCH_DATA_MIRROR"):
        pytest.skip("SCRATCHBENCH_DATA_MIRROR is not set (catvnoncat comes from the mirror)")
    one_run = readme_command(r"uv run dvc exp run experiment -S experiment=\w+ -S model=\w+")
    full = readme_command(r"uv run dvc exp run -S profile=full")

    def only_catvnoncat_data(text: str) -> str:  # data stages: only what the small matrix and the one run read
        text = text.replace("foreach: [mnist, catvnoncat, fruits360]", "foreach: [catvnoncat]")
        text = re.sub(r"^      (mnist|fruits360|xor): \{input: .*\n", "", text, flags=re.M)
        assert "foreach: [catvnoncat]" in text and "fruits360: {input" not in text
        return text

    repo, env = clone_with_matrix(tmp_path, SMALL_MATRIX, template_store, only_catvnoncat_data)

    # README: `dvc exp run experiment -S experiment=r11_cat_tanh_intended -S model=keras_mlp`
    first = sh(one_run, repo, env)
    assert "experiment" in dvc_ran(first) and "featurize@catvnoncat" in dvc_ran(first), first
    experiment, model = (a.split("=")[1] for a in one_run if a.startswith(("experiment=", "model=")))
    (run,) = [r for r in all_runs(client_for(repo)) if r.data.tags.get("dvc_stage") == "experiment"]
    assert (run.data.tags["experiment"], run.data.tags["implementation"], run.info.status) == (
        experiment, model, "FINISHED")
    assert run.data.params["train.epochs_effective"] == "20"  # the clone's quick profile

    # README: `dvc exp run -S profile=full` (the whole pipeline, small matrix)
    second = sh(full, repo, env)
    ran = dvc_ran(second)
    assert {"train-r1_single_neuron", "train-r2_two_layer_class", "record", "report"} <= ran, second
    assert "profile:\n  name: full" in (repo / "params.yaml").read_text()
    trained = [r for r in all_runs(client_for(repo)) if r.data.tags.get("dvc_stage", "").startswith("train-")]
    assert sorted(r.data.tags["experiment"] for r in trained) == ["r1_single_neuron", "r2_two_layer_class"]
    assert all(r.data.tags["profile"] == "full" and r.data.params["train.epochs_capped"] == "False" for r in trained)
    r2 = next(r for r in trained if r.data.tags["experiment"] == "r2_two_layer_class")
    assert r2.data.params["train.epochs_effective"] == "1500"  # the preset's own epochs: nothing capped
    metrics = json.loads((repo / "reports" / "metrics.json").read_text())
    assert metrics["n_runs"] >= 3
