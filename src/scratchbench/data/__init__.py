"""Data: fetch raw files (verified), parse them, and write/load feature files."""

from scratchbench.data.features import DATASETS, FeatureError, FeatureSet, features_sha256, load_features

__all__ = ["DATASETS", "FeatureError", "FeatureSet", "features_sha256", "load_features"]
