"""MLflow's first import and store use skip pandas (an extra it loads for datasets this project never
logs), which then imports normally, and the store works as ever; the sweep callback that Hydra's joblib
launcher pickles for every job carries no MLflow client to its workers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CODE = """
import sys
from scratchbench.tracking.store import init_store
client = init_store(sys.argv[1])
skipped = "pandas" not in sys.modules
exp = client.create_experiment("e")
run = client.create_run(exp)
client.log_metric(run.info.run_id, "m", 1.5)
import pandas
print(skipped, client.get_run(run.info.run_id).data.metrics["m"], pandas.__name__)
"""


def test_store_opens_without_pandas_which_imports_normally_afterwards(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    p = subprocess.run([sys.executable, "-c", CODE, uri], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.split() == ["True", "1.5", "pandas"], p.stdout


def test_sweep_callback_reaches_joblib_workers_without_its_mlflow_run() -> None:
    import pickle

    from scratchbench.tracking.callback import MlflowSweepCallback

    cb = MlflowSweepCallback()
    cb.run = object()  # the parent's run: stays in the launching process
    copy = pickle.loads(pickle.dumps(cb))
    assert copy.run is None and cb.run is not None
