"""DVC stage `featurize@<dataset>`: write data/features/<dataset>/{features.npz,meta.json}.

Options come from params.yaml `featurize.<dataset>`.
"""

from __future__ import annotations

import sys

from scratchbench.data.errors import DataFormatError
from scratchbench.data.features import FeatureError, load_features
from scratchbench.data.featurize import featurize_dataset
from scratchbench.data.fetch import FetchError
from scratchbench.data.params import featurize_params


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python pipelines/featurize.py <dataset>", file=sys.stderr)
        return 2
    ds = argv[0]
    try:
        out = featurize_dataset(ds, featurize_params(ds))
        fs = load_features(ds, out)
    except (FetchError, DataFormatError, FeatureError, KeyError, ValueError) as e:
        print(f"featurize {ds} failed:\n{e}", file=sys.stderr)
        return 1
    print(f"featurize {ds}: x_train {fs.x_train.shape} {fs.x_train.dtype}, x_test {fs.x_test.shape}, "
          f"classes {fs.class_names} -> {out} (sha256 {fs.features_sha256[:12]})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
