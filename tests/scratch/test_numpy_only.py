"""The engine is NumPy only: no framework or autodiff import anywhere under ``scratchbench.scratch``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import scratchbench.scratch as scratch

FORBIDDEN = {"tensorflow", "keras", "torch", "jax", "sklearn", "autograd", "pybrain", "pybrain3", "scipy"}


def test_no_forbidden_imports_in_source():
    offenders = []
    for path in Path(scratch.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_training_loads_no_framework_module():
    code = (
        "import sys, numpy as np\n"
        "from scratchbench.scratch.network import Network\n"
        "net = Network.from_config({'layers': [{'units': 3, 'activation': 'relu'}, "
        "{'units': 2, 'activation': 'softmax'}]}, (4,), 2, 0)\n"
        "net.fit(np.random.default_rng(0).random((8, 4)), np.arange(8) % 2, epochs=1, batch_size=4)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(FORBIDDEN)!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
