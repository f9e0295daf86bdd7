"""Fixtures for the implementation tests (helpers live in ``models_helpers``)."""

from __future__ import annotations

import pytest
from models_helpers import blobs, spec_for, split


@pytest.fixture(scope="session")
def three_blobs():
    x, y = blobs(n=300, n_classes=3, seed=1)
    train, test = split(x, y, 240)
    return spec_for(x, 3), train, test


@pytest.fixture(scope="session")
def two_blobs():
    x, y = blobs(n=240, n_classes=2, seed=2)
    train, test = split(x, y, 180)
    return spec_for(x, 2), train, test
