"""Every implementation (NumPy engine and frameworks) behind one interface; see ``base``.

- ``registry``: name -> implementation (lazy imports; ``input_kind(name)`` without importing it)
- ``adapter``: feature files -> ``Split`` (flat/image reshape, ``input_scaling``, sample cap)
- ``measure``: one timing/peak-memory harness for all
- ``arch``: shared architecture/target/optimizer helpers (reuse the engine's ``normalize_layers``)
- ``numpy_net`` (numpy_mlp, numpy_cnn), ``keras_models`` (keras_mlp, keras_cnn),
  ``sklearn_mlp``, ``pybrain_net`` (+ ``pybrain_compat``, R4 ``quickstart_xor``)
"""
