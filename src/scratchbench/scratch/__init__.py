"""The from-scratch engine: NumPy only. No framework or autodiff import may appear under this package.

Modules, one job each:

- ``layer``: the ``Layer`` protocol (build / forward / backward side by side);
- ``activations``, ``losses``, ``initializers``: small tables of functions (+ fused
  sigmoid/BCE and softmax/CCE output heads in ``losses``);
- ``layers``: ``Dense`` and ``Activation``; ``conv``: ``Conv2D``, ``MaxPool2D``, ``Flatten``, ``Dropout``;
- ``optimizers``: ``make_optimizer`` (sgd, momentum, adam, Keras formulas);
- ``architecture``: ``normalize_layers`` (config -> checked canonical layer list), ``build_layers``;
- ``network``: ``Network`` (from_config, fit, predict_proba, predict, save/load).
"""
