"""Registry: names, lazy imports, clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scratchbench.models import registry


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as err:
        registry.get_implementation("torch_mlp")
    msg = str(err.value)
    assert "torch_mlp" in msg
    for name in ("numpy_mlp", "numpy_cnn", "keras_mlp", "keras_cnn", "sklearn_mlp", "pybrain"):
        assert name in msg


def test_input_kinds_and_classes_agree():
    assert registry.input_kind("numpy_cnn") == "image" and registry.input_kind("sklearn_mlp") == "flat"
    cls = registry.implementation_class("sklearn_mlp")
    assert cls.name == "sklearn_mlp" and cls.input_kind == registry.input_kind("sklearn_mlp")


def test_non_keras_implementations_do_not_import_tensorflow():
    code = (
        "import sys\n"
        "from scratchbench.models.registry import get_implementation, input_kind\n"
        "for n in ('sklearn_mlp', 'pybrain'):\n"
        "    get_implementation(n)\n"
        "input_kind('keras_cnn')\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]
